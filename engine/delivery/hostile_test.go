package delivery

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/internal/hostiletest"
)

// Behaviours of a hostile MX host (hostileMX.behave), all after a 354 to
// DATA.
const (
	hxDropMidData     = "drop-mid-data"     // reads 64 KiB of the data, then closes
	hxDropAfterData   = "drop-after-data"   // reads the data, closes without a reply
	hxSilentAfterData = "silent-after-data" // reads the data, never replies
	hxEndlessFinal    = "endless-final"     // reads the data, "250-" lines for ever
	hxMalformedFinal  = "malformed-final"   // reads the data, "250-" then a line with another code
)

// hostileMX is an SMTP server on 127.0.0.1, without STARTTLS, that accepts
// the envelope and then fails as behave says.
type hostileMX struct {
	*hostiletest.Peer
	addr   string
	behave string

	mu   sync.Mutex
	data int // bytes of data read
}

func startHostileMX(tb testing.TB, behave string) *hostileMX {
	tb.Helper()
	s := &hostileMX{Peer: hostiletest.New(tb), behave: behave}
	s.addr = s.Listen(tb, func(c net.Conn, _ int) { s.serve(c) })
	return s
}

func (s *hostileMX) dataRead() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

func (s *hostileMX) serve(c net.Conn) {
	br := bufio.NewReader(c)
	io.WriteString(c, "220 mx.hostile.test ESMTP\r\n")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			io.WriteString(c, "250-mx.hostile.test\r\n250 8BITMIME\r\n")
		case "MAIL", "RCPT", "RSET":
			io.WriteString(c, "250 2.0.0 ok\r\n")
		case "DATA":
			io.WriteString(c, "354 go ahead\r\n")
			if !s.readData(br) {
				return
			}
			switch s.behave {
			case hxDropAfterData:
				return
			case hxSilentAfterData:
				<-s.Done()
				return
			case hxEndlessFinal:
				s.Flood(c, []byte("250-"+strings.Repeat("x", 1000)+"\r\n"), 0)
				return
			case hxMalformedFinal:
				io.WriteString(c, "250-2.0.0 queued\r\n554 5.0.0 or not\r\n")
				<-s.Done()
				return
			}
			io.WriteString(c, "250 2.0.0 queued\r\n")
		case "QUIT":
			io.WriteString(c, "221 2.0.0 bye\r\n")
			return
		default:
			io.WriteString(c, "500 5.5.2 what\r\n")
		}
	}
}

// readData reads the data up to the lone dot; false means the connection
// is to end (the drop in the middle of the data).
func (s *hostileMX) readData(br *bufio.Reader) bool {
	n := 0
	defer func() {
		s.mu.Lock()
		s.data += n
		s.mu.Unlock()
	}()
	for {
		if s.behave == hxDropMidData && n >= 64<<10 {
			return false
		}
		line, err := br.ReadSlice('\n')
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

// TestHostileMX: an MX host that drops the connection in the middle of the
// data, or after it without a reply, or never replies, or replies with an
// endless or malformed reply, has not taken the message (RFC 5321
// §4.1.1.4: the message is the receiver's only after its reply to the end
// of the data; §6.1: the sender must not lose it): the message stays
// queued, deferred, with one attempt counted, never reported delivered,
// never bounced; each case costs the data timeout at most, plus a margin.
func TestHostileMX(t *testing.T) {
	const (
		timeout = 2 * time.Second
		slow    = timeout + 3*time.Second // the data timeout plus a margin for a loaded machine
		fast    = timeout                 // the fault is seen before the timeout could fire
		// Less than the 1 MiB message: it is streamed from the queue,
		// never held whole in memory.
		maxAlloc = 1 << 20
	)
	tests := []struct {
		name    string
		behave  string
		maxTime time.Duration
	}{
		{name: "connection dropped in the middle of the data", behave: hxDropMidData, maxTime: fast},
		{name: "connection dropped after the data, before the reply", behave: hxDropAfterData, maxTime: fast},
		{name: "no reply to the end of the data: data timeout §4.5.3.2.6", behave: hxSilentAfterData, maxTime: slow},
		{name: "endless 250- continuation lines after the data §4.2.1", behave: hxEndlessFinal, maxTime: fast},
		{name: "250- then a 554 line: a malformed reply §4.2.1", behave: hxMalformedFinal, maxTime: fast},
	}
	// A message of 1 MiB: more than the socket buffers, so that the drop in
	// the middle of the data comes while the client is still writing.
	body := []byte("From: sender@esa.test\r\nSubject: hostile\r\n\r\n" + strings.Repeat(strings.Repeat("z", 1022)+"\r\n", 1<<10))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.dns.Add("hostile.test. 300 IN MX 10 mx.hostile.test.", "mx.hostile.test. 300 IN A 127.0.0.1")
			checkLeaks := hostiletest.LeakCheck(t)
			mx := startHostileMX(t, tt.behave)
			eng := New(Config{
				Resolver: w.resolver(), Trust: w.pool, Log: w.log, IDs: w.ids, EHLOName: "esa.test",
				Timeout: timeout, DataTimeout: timeout,
				Dial: func(ctx context.Context, network, addr, host string) (net.Conn, error) {
					if addr != "127.0.0.1:25" || host != "mx.hostile.test" {
						return nil, fmt.Errorf("test dialer: unexpected %s %s", host, addr)
					}
					var d net.Dialer
					return d.DialContext(ctx, network, mx.addr)
				},
			})
			m, err := w.queue.Enqueue(context.Background(), queue.Envelope{From: "sender@esa.test", To: []string{"rcpt@hostile.test"}}, body)
			if err != nil {
				t.Fatal(err)
			}
			r := NewRunner(RunnerConfig{Queue: w.queue, Engine: eng})

			var res Result
			cost := hostiletest.Measure(func() { res, err = r.DeliverMID(context.Background(), m.MID) })
			bound := hostiletest.Bound{Time: tt.maxTime, Alloc: maxAlloc}
			t.Logf("%s: %s %q", cost.Against(bound), res.Status, res.Reason)
			if err != nil {
				t.Fatalf("DeliverMID: %v", err)
			}

			if res.Status != StatusDeferred {
				t.Errorf("status %q (reason %q), want %q", res.Status, res.Reason, StatusDeferred)
			}
			for _, rr := range res.Recipients {
				if rr.Status != StatusDeferred {
					t.Errorf("recipient %s: %s %.80q, want deferred", rr.To, rr.Status, rr.Reply)
				}
			}
			q, err := w.queue.Get(context.Background(), m.MID)
			if err != nil {
				t.Fatalf("the message left the queue: %v", err)
			}
			if len(q.Pending()) != 1 || q.Recipients[0].State != queue.Queued || q.Lease != nil {
				t.Errorf("queued message %+v, want its recipient queued and no lease", q)
			}
			if n := q.Recipients[0].Attempts; n != 1 {
				t.Errorf("%d attempts counted, want 1", n)
			}
			if ok, _ := afero.Exists(w.fs, w.queue.BouncePath(m.MID, 0)); ok {
				t.Errorf("a bounce was written for a message that was never refused")
			}
			if w.hasLine("Info: Message done") {
				t.Errorf("the mail log reports the message done:\n%s", strings.Join(w.lines(), "\n"))
			}
			if got := mx.dataRead(); tt.behave == hxDropMidData && got >= len(body) {
				t.Errorf("the server read %d bytes of %d: the drop was not in the middle", got, len(body))
			}
			if n := mx.Conns(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
			cost.Check(t, "DeliverMID", bound)
			mx.Stop()
			checkLeaks()
		})
	}
}
