package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segcli/segcli/internal/hostiletest"
)

// Behaviours of a hostile SMTP server (hostileSMTP.behave).
const (
	silentBanner    = "silent-banner"     // never greets
	dripBanner      = "drip-banner"       // greets one byte a second
	endlessBanner   = "endless-banner"    // "220-" continuation lines for ever
	hugeBannerLine  = "huge-banner-line"  // a 10 MiB greeting line without LF
	dropAfterBanner = "drop-after-banner" // greets, then closes
	endlessEHLO     = "endless-ehlo"      // "250-" continuation lines for ever after EHLO
	dripEHLO        = "drip-ehlo"         // a continuation line every 300 ms for ever after EHLO
	silentTLS       = "silent-tls"        // 220 to STARTTLS, then silence
	dripTLS         = "drip-tls"          // 220 to STARTTLS, then the handshake one byte a second
	dropMidData     = "drop-mid-data"     // reads 64 KiB of the data, then closes
	stallData       = "stall-data"        // stops reading in the middle of the data
	dropAfterData   = "drop-after-data"   // reads the data, closes without a reply
	silentAfterData = "silent-after-data" // reads the data, never replies
	endlessFinal    = "endless-final"     // reads the data, replies with continuation lines for ever
	dripFinal       = "drip-final"        // reads the data, replies one byte a second
)

// socketBuffer is the size of the socket buffers between a hostile server
// and the client.
const socketBuffer = 32 << 10

// dialSmall connects with a small send buffer (see socketBuffer).
func dialSmall(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		c.(*net.TCPConn).SetWriteBuffer(socketBuffer)
	}
	return c, err
}

// hostileSMTP is an SMTP server on 127.0.0.1 that misbehaves as behave
// says, and otherwise answers like a plain server with STARTTLS.
type hostileSMTP struct {
	*hostiletest.Peer
	addr   string
	behave string
	tls    *tls.Config

	mu   sync.Mutex
	data int // bytes of message data read
}

func startHostileSMTP(tb testing.TB, behave string, conf *tls.Config) *hostileSMTP {
	tb.Helper()
	s := &hostileSMTP{Peer: hostiletest.New(tb), behave: behave, tls: conf}
	s.addr = s.Listen(tb, func(c net.Conn, _ int) {
		// Small socket buffers: a server that stops reading stalls the
		// client's writes after kilobytes, not megabytes.
		c.(*net.TCPConn).SetReadBuffer(socketBuffer)
		s.serve(c)
	})
	return s
}

// longLine is a continuation line just under MaxLineLength: a flood of them
// costs the client the most memory a reply can hold.
var longLine = []byte("250-" + strings.Repeat("x", MaxLineLength-8) + "\r\n")

func (s *hostileSMTP) serve(c net.Conn) {
	var conn net.Conn = c
	switch s.behave {
	case silentBanner:
		<-s.Done()
		return
	case dripBanner:
		s.Drip(conn, []byte("220 mx.test ESMTP\r\n"), time.Second)
	case endlessBanner:
		s.Flood(conn, []byte(strings.Replace(string(longLine), "250-", "220-", 1)), 0)
		return
	case hugeBannerLine:
		s.Flood(conn, []byte(strings.Repeat("2", 16<<10)), 640) // 10 MiB
		return
	default:
		io.WriteString(conn, "220 mx.test ESMTP\r\n")
	}
	if s.behave == dropAfterBanner {
		return
	}
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			switch s.behave {
			case endlessEHLO:
				s.Flood(conn, longLine, 0)
				return
			case dripEHLO:
				for s.Pause(300 * time.Millisecond) {
					if _, err := io.WriteString(conn, "250-still thinking\r\n"); err != nil {
						return
					}
				}
				return
			}
			io.WriteString(conn, "250-mx.test\r\n250-SIZE 100000000\r\n250 STARTTLS\r\n")
		case "STARTTLS":
			io.WriteString(conn, "220 2.0.0 go ahead\r\n")
			switch s.behave {
			case silentTLS:
				<-s.Done()
				return
			case dripTLS:
				tls.Server(s.DripConn(conn, time.Second), s.tls).Handshake()
				return
			}
			tc := tls.Server(conn, s.tls)
			if tc.Handshake() != nil {
				return
			}
			conn, br = tc, bufio.NewReader(tc)
		case "MAIL", "RCPT", "RSET":
			io.WriteString(conn, "250 2.0.0 ok\r\n")
		case "DATA":
			io.WriteString(conn, "354 go ahead\r\n")
			if !s.readData(br) {
				return
			}
			switch s.behave {
			case dropAfterData:
				return
			case silentAfterData:
				<-s.Done()
				return
			case endlessFinal:
				s.Flood(conn, longLine, 0)
				return
			case dripFinal:
				s.Drip(conn, []byte("250 2.0.0 queued\r\n"), time.Second)
				return
			}
			io.WriteString(conn, "250 2.0.0 queued\r\n")
		case "QUIT":
			io.WriteString(conn, "221 2.0.0 bye\r\n")
			return
		default:
			io.WriteString(conn, "500 5.5.2 what\r\n")
		}
	}
}

// readData reads the message data up to the lone dot, or as much as
// behave allows; false means the connection is to end.
func (s *hostileSMTP) readData(br *bufio.Reader) bool {
	n := 0
	defer func() {
		s.mu.Lock()
		s.data += n
		s.mu.Unlock()
	}()
	for {
		switch {
		case s.behave == dropMidData && n >= 64<<10:
			return false
		case s.behave == stallData && n >= 64<<10:
			<-s.Done()
			return false
		}
		line, err := br.ReadSlice('\n') // no allocation: the server's reads are not the client's cost
		if errors.Is(err, bufio.ErrBufferFull) {
			n += len(line)
			continue
		}
		if err != nil {
			return false
		}
		n += len(line)
		if string(line) == ".\r\n" {
			return true
		}
	}
}

func (s *hostileSMTP) dataRead() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// stepOf returns the step of a *ProbeError or *ClientError, "" for others.
func stepOf(err error) Step {
	var pe *ProbeError
	var ce *ClientError
	switch {
	case errors.As(err, &pe):
		return pe.Step
	case errors.As(err, &ce):
		return ce.Step
	}
	return ""
}

// TestHostileServer: SMTP servers that never greet, drip, flood
// continuation lines or overlong lines, stall the TLS handshake, or fail in
// the middle of a message cost one step's timeout at most (RFC 5321
// §4.5.3.2: a timeout per command and reply; the initial 220 and the end of
// data get their own, here the test's short ones), plus a margin, and a
// bounded memory (MaxLineLength × MaxReplyLines for a reply, RFC 5321
// §4.5.3.1.5 suggests 512 octets a line); each fails at the step where the
// server went wrong, and leaves no goroutine behind.
func TestHostileServer(t *testing.T) {
	const (
		timeout = 2 * time.Second
		slow    = timeout + 3*time.Second // the step timeout plus a margin for a loaded machine
		fast    = timeout                 // the fault is seen before the timeout could fire
		// A reply holds at most MaxReplyLines lines of MaxLineLength
		// bytes: 400 KiB, counted twice (read, then kept as text).
		replyBound = 2*MaxReplyLines*MaxLineLength + 256<<10
		small      = 256 << 10
	)
	pki := newPKI(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.leaf}}
	clientTLS := &tls.Config{ServerName: "mx.test", RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
	// The messages are byte slices read through a bytes.Reader, as the
	// queue's are: its WriteTo hands the client the slice, no copy.
	message := []byte("Subject: hostile\r\n\r\n" + strings.Repeat(strings.Repeat("y", 1022)+"\r\n", 1<<10)) // 1 MiB
	bigMessage := bytes.Repeat(message, 10)                                                                 // 10 MiB

	tests := []struct {
		name     string
		behave   string
		api      string // "probe", "dial", "starttls" (Dial and StartTLS), "send" (Dial and Send)
		wantStep Step
		wantErr  error // errTimeout: a net.Error that is a timeout; errAny: some error
		maxTime  time.Duration
		maxAlloc uint64
	}{
		{name: "probe: no banner: timeout §4.5.3.2.1", behave: silentBanner, api: "probe", wantStep: StepBanner, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "client: no banner: timeout §4.5.3.2.1", behave: silentBanner, api: "dial", wantStep: StepBanner, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "probe: banner one byte a second: timeout for the whole reply §4.5.3.2.1", behave: dripBanner, api: "probe", wantStep: StepBanner, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "client: banner one byte a second: timeout for the whole reply §4.5.3.2.1", behave: dripBanner, api: "dial", wantStep: StepBanner, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "probe: endless banner continuation lines: refused after MaxReplyLines §4.2.1", behave: endlessBanner, api: "probe", wantStep: StepBanner, wantErr: ErrTooManyLines, maxTime: fast, maxAlloc: replyBound},
		{name: "client: endless banner continuation lines: refused after MaxReplyLines §4.2.1", behave: endlessBanner, api: "dial", wantStep: StepBanner, wantErr: ErrTooManyLines, maxTime: fast, maxAlloc: replyBound},
		{name: "probe: 10 MiB banner line: refused after MaxLineLength §4.5.3.1.5", behave: hugeBannerLine, api: "probe", wantStep: StepBanner, wantErr: ErrLineTooLong, maxTime: fast, maxAlloc: small},
		{name: "client: 10 MiB banner line: refused after MaxLineLength §4.5.3.1.5", behave: hugeBannerLine, api: "dial", wantStep: StepBanner, wantErr: ErrLineTooLong, maxTime: fast, maxAlloc: small},
		{name: "probe: closes after the banner: EHLO fails at once", behave: dropAfterBanner, api: "probe", wantStep: StepHello, wantErr: errAny, maxTime: fast, maxAlloc: small},
		{name: "probe: endless EHLO continuation lines: refused after MaxReplyLines §4.2.1", behave: endlessEHLO, api: "probe", wantStep: StepHello, wantErr: ErrTooManyLines, maxTime: fast, maxAlloc: replyBound},
		{name: "client: endless EHLO continuation lines: refused after MaxReplyLines §4.2.1", behave: endlessEHLO, api: "dial", wantStep: StepHello, wantErr: ErrTooManyLines, maxTime: fast, maxAlloc: replyBound},
		{name: "probe: an EHLO line every 300 ms for ever: timeout for the whole reply §4.5.3.2", behave: dripEHLO, api: "probe", wantStep: StepHello, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "client: an EHLO line every 300 ms for ever: timeout for the whole reply §4.5.3.2", behave: dripEHLO, api: "dial", wantStep: StepHello, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "probe: 220 to STARTTLS, then silence: handshake timeout", behave: silentTLS, api: "probe", wantStep: StepTLS, wantErr: errAny, maxTime: slow, maxAlloc: small},
		{name: "client: 220 to STARTTLS, then silence: handshake timeout", behave: silentTLS, api: "starttls", wantStep: StepTLS, wantErr: errAny, maxTime: slow, maxAlloc: small},
		{name: "probe: TLS handshake one byte a second: handshake timeout", behave: dripTLS, api: "probe", wantStep: StepTLS, wantErr: errAny, maxTime: slow, maxAlloc: small},
		{name: "client: TLS handshake one byte a second: handshake timeout", behave: dripTLS, api: "starttls", wantStep: StepTLS, wantErr: errAny, maxTime: slow, maxAlloc: small},
		{name: "client: connection dropped in the middle of the data: outcome unknown §4.1.1.4", behave: dropMidData, api: "send", wantStep: StepData, wantErr: errAny, maxTime: fast, maxAlloc: small},
		{name: "client: server stops reading in the middle of the data: write timeout §4.5.3.2.5", behave: stallData, api: "send", wantStep: StepData, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "client: connection dropped after the data, before the reply: outcome unknown §4.1.1.4", behave: dropAfterData, api: "send", wantStep: StepData, wantErr: errAny, maxTime: fast, maxAlloc: small},
		{name: "client: no reply to the end of the data: data timeout §4.5.3.2.6", behave: silentAfterData, api: "send", wantStep: StepData, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
		{name: "client: endless continuation lines after the data: refused after MaxReplyLines", behave: endlessFinal, api: "send", wantStep: StepData, wantErr: ErrTooManyLines, maxTime: fast, maxAlloc: replyBound},
		{name: "client: reply to the data one byte a second: data timeout §4.5.3.2.6", behave: dripFinal, api: "send", wantStep: StepData, wantErr: errTimeout, maxTime: slow, maxAlloc: small},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks := hostiletest.LeakCheck(t)
			srv := startHostileSMTP(t, tt.behave, serverTLS)
			ctx := t.Context()
			data := message
			if tt.behave == stallData {
				data = bigMessage // more than the socket buffers hold
			}
			var (
				err  error
				sent SendResult
				c    *Client
			)
			cost := hostiletest.Measure(func() {
				switch tt.api {
				case "probe":
					_, err = Probe(ctx, ProbeConfig{Addr: srv.addr, EHLOName: "client.test", TLS: clientTLS, Timeout: timeout, Dial: dialSmall})
				default:
					c, err = Dial(ctx, ClientConfig{Addr: srv.addr, EHLOName: "client.test", Timeout: timeout, DataTimeout: timeout, Dial: dialSmall})
					if err != nil {
						return
					}
					switch tt.api {
					case "starttls":
						err = c.StartTLS(ctx, clientTLS)
					case "send":
						sent, err = c.Send(ctx, Envelope{From: "a@client.test", To: []string{"b@mx.test"}, Size: int64(len(data))}, bytes.NewReader(data))
					}
				}
			})
			bound := hostiletest.Bound{Time: tt.maxTime, Alloc: tt.maxAlloc}
			t.Logf("%s: %v", cost.Against(bound), err)

			var ne net.Error
			switch {
			case err == nil:
				t.Fatalf("no error, want one at step %s", tt.wantStep)
			case tt.wantErr == errTimeout && !(errors.As(err, &ne) && ne.Timeout()):
				t.Errorf("error = %v, want a timeout", err)
			case tt.wantErr != errTimeout && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if step := stepOf(err); step != tt.wantStep {
				t.Errorf("failed at step %q, want %q (%v)", step, tt.wantStep, err)
			}
			if tt.api == "send" {
				// RFC 5321 §4.1.1.4, §6.1: without the reply to the end of
				// the data, the message is not delivered.
				if code := sent.Outcome(0).Code; code != 0 {
					t.Errorf("outcome %d, want unknown (0)", code)
				}
				if c.Usable() {
					t.Errorf("the connection is still usable after a failure in the data")
				}
				if got := srv.dataRead(); tt.behave == dropMidData && got >= len(data) {
					t.Errorf("the server read all %d bytes: the drop was not in the middle", got)
				}
			}
			if c != nil {
				c.Close()
			}
			cost.Check(t, "", bound)
			srv.Stop()
			checkLeaks()
		})
	}
}

// TestHostileCancel: cancelling the context ends a wait on a hostile server
// at once, whatever the step timeout.
func TestHostileCancel(t *testing.T) {
	tests := []struct {
		name   string
		behave string
		api    string
	}{
		{name: "probe waiting for a banner that never comes", behave: silentBanner, api: "probe"},
		{name: "client waiting for the reply to the end of the data", behave: silentAfterData, api: "send"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks := hostiletest.LeakCheck(t)
			srv := startHostileSMTP(t, tt.behave, nil)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var err error
			elapsed := hostiletest.Measure(func() {
				time.AfterFunc(200*time.Millisecond, cancel)
				switch tt.api {
				case "probe":
					_, err = Probe(ctx, ProbeConfig{Addr: srv.addr, Timeout: time.Minute})
				case "send":
					var c *Client
					c, err = Dial(ctx, ClientConfig{Addr: srv.addr, Timeout: time.Minute, DataTimeout: time.Minute})
					if err != nil {
						return
					}
					defer c.Close()
					_, err = c.Send(ctx, Envelope{From: "a@client.test", To: []string{"b@mx.test"}}, strings.NewReader("x\r\n"))
				}
			}).Time
			t.Logf("elapsed %v (bound 2s): %v", elapsed.Round(time.Millisecond), err)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			if elapsed > 2*time.Second {
				t.Errorf("took %v after a cancel at 200ms, bound 2s (the step timeout is a minute)", elapsed)
			}
			srv.Stop()
			checkLeaks()
		})
	}
}
