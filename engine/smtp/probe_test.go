package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/internal/pkitest"
)

// testPKI is a CA and a leaf certificate for mx.test signed by it.
type testPKI struct {
	pool *x509.CertPool
	leaf tls.Certificate
}

func newPKI(t testing.TB) testPKI {
	t.Helper()
	nb, na := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	ca := pkitest.Issue(t, pkitest.Spec{CN: "smtp test CA", CA: true, NotBefore: nb, NotAfter: na, Serial: 1}, nil)
	leaf := pkitest.Issue(t, pkitest.Spec{CN: "mx.test", DNSNames: []string{"mx.test"}, NotBefore: nb, NotAfter: na, Serial: 2}, ca)
	return testPKI{pool: pkitest.Pool(ca), leaf: leaf.TLS()}
}

// script is what a fakeSMTP says.
type script struct {
	banner  string
	replies map[string]string
	tlsConf *tls.Config
}

// fakeSMTP is a canned SMTP server: it sends banner on connect, answers each
// command line with replies[VERB] (raw text, CRLFs included), and records
// the lines the client sent. After a 220 reply to STARTTLS it runs the TLS
// handshake with tlsConf. A reply "FLOOD" sends continuation lines until the
// client goes away; a banner "" never greets.
type fakeSMTP struct {
	script

	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	got  []string
	sni  string
	done chan struct{}
}

func startSMTP(t *testing.T, s *fakeSMTP) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.done = make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(s.stop)
	return ln.Addr().String()
}

// stop closes the listener and waits for every connection to end.
func (s *fakeSMTP) stop() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.ln.Close()
	s.wg.Wait()
}

func (s *fakeSMTP) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	go func() {
		<-s.done
		c.Close()
	}()
	if s.banner == "" {
		<-s.done
		return
	}
	if s.write(c, s.banner) != nil {
		return
	}
	var conn net.Conn = c
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.got = append(s.got, line)
		s.mu.Unlock()
		verb, _, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		reply, ok := s.replies[verb]
		if !ok {
			reply = "500 5.5.1 unknown command\r\n"
			if verb == "QUIT" {
				reply = "221 2.0.0 bye\r\n"
			}
		}
		if s.write(conn, reply) != nil {
			return
		}
		switch {
		case verb == "QUIT":
			return
		case verb == "STARTTLS" && strings.HasPrefix(reply, "220 ") && s.tlsConf != nil:
			conf := s.tlsConf.Clone()
			conf.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
				s.mu.Lock()
				s.sni = hi.ServerName
				s.mu.Unlock()
				return nil, nil
			}
			tc := tls.Server(conn, conf)
			if tc.Handshake() != nil {
				return
			}
			conn = tc
			br = bufio.NewReader(tc)
		}
	}
}

// write sends a canned reply; "FLOOD" floods continuation lines and "DRIP"
// sends a greeting one byte at a time.
func (s *fakeSMTP) write(c net.Conn, reply string) error {
	switch reply {
	case "FLOOD":
		for {
			if _, err := c.Write([]byte("250-" + strings.Repeat("x", 60) + "\r\n")); err != nil {
				return err
			}
		}
	case "DRIP":
		for _, b := range []byte("220 slowly greeting you\r\n") {
			select {
			case <-s.done:
				return net.ErrClosed
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := c.Write([]byte{b}); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := c.Write([]byte(reply))
	return err
}

const (
	ehloTLS    = "250-mx.test greets probe.test\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
	ehloNoTLS  = "250-mx.test greets probe.test\r\n250 SIZE 10240000\r\n"
	banner220  = "220 mx.test ESMTP\r\n"
	startTLSOK = "220 2.0.0 Ready to start TLS\r\n"
)

// TestProbeConversation runs the probe against canned servers and compares
// the client's side of the conversation.
func TestProbeConversation(t *testing.T) {
	pki := newPKI(t)
	other := newPKI(t) // a CA the client does not trust
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.leaf}}
	untrustedTLS := &tls.Config{Certificates: []tls.Certificate{other.leaf}}
	clientTLS := &tls.Config{ServerName: "mx.test", RootCAs: pki.pool, MinVersion: tls.VersionTLS12}

	tests := []struct {
		name       string
		server     script
		noTLS      bool // probe without a TLS config
		wantLines  []string
		wantFailed Step
		wantErr    error
		wantTLS    bool
		wantOffer  bool
		wantHello  string
	}{
		{
			name:      "STARTTLS and handshake",
			server:    script{banner: banner220, replies: map[string]string{"EHLO": ehloTLS, "STARTTLS": startTLSOK}, tlsConf: serverTLS},
			wantLines: []string{"EHLO probe.test", "STARTTLS", "QUIT"},
			wantTLS:   true, wantOffer: true, wantHello: "EHLO",
		},
		{
			name:      "multi-line banner",
			server:    script{banner: "220-mx.test ESMTP\r\n220-no UCE\r\n220 welcome\r\n", replies: map[string]string{"EHLO": ehloTLS, "STARTTLS": startTLSOK}, tlsConf: serverTLS},
			wantLines: []string{"EHLO probe.test", "STARTTLS", "QUIT"},
			wantTLS:   true, wantOffer: true, wantHello: "EHLO",
		},
		{
			name:      "LF-only replies",
			server:    script{banner: "220 mx.test\n", replies: map[string]string{"EHLO": "250-mx.test\n250 STARTTLS\n", "STARTTLS": "220 go\n"}, tlsConf: serverTLS},
			wantLines: []string{"EHLO probe.test", "STARTTLS", "QUIT"},
			wantTLS:   true, wantOffer: true, wantHello: "EHLO",
		},
		{
			name:       "STARTTLS not offered",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": ehloNoTLS}},
			wantLines:  []string{"EHLO probe.test", "QUIT"},
			wantFailed: StepSTARTTLS, wantErr: ErrNoSTARTTLS, wantHello: "EHLO",
		},
		{
			name:      "no TLS config: only whether STARTTLS is offered",
			server:    script{banner: banner220, replies: map[string]string{"EHLO": ehloTLS}},
			noTLS:     true,
			wantLines: []string{"EHLO probe.test", "QUIT"},
			wantOffer: true, wantHello: "EHLO",
		},
		{
			name:       "454 to STARTTLS",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": ehloTLS, "STARTTLS": "454 4.7.0 TLS not available due to temporary reason\r\n"}},
			wantLines:  []string{"EHLO probe.test", "STARTTLS", "QUIT"},
			wantFailed: StepSTARTTLS, wantErr: ErrUnexpectedReply, wantOffer: true, wantHello: "EHLO",
		},
		{
			name:       "502 to STARTTLS",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": ehloTLS, "STARTTLS": "502 5.5.1 not implemented\r\n"}},
			wantLines:  []string{"EHLO probe.test", "STARTTLS", "QUIT"},
			wantFailed: StepSTARTTLS, wantErr: ErrUnexpectedReply, wantOffer: true, wantHello: "EHLO",
		},
		{
			name:       "EHLO refused, HELO accepted, so no STARTTLS",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": "502 5.5.2 what?\r\n", "HELO": "250 mx.test\r\n"}},
			wantLines:  []string{"EHLO probe.test", "HELO probe.test", "QUIT"},
			wantFailed: StepSTARTTLS, wantErr: ErrNoSTARTTLS, wantHello: "HELO",
		},
		{
			name:       "EHLO 421",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": "421 4.3.2 shutting down\r\n"}},
			wantLines:  []string{"EHLO probe.test", "QUIT"},
			wantFailed: StepHello, wantErr: ErrUnexpectedReply,
		},
		{
			name:       "554 greeting",
			server:     script{banner: "554 5.7.1 no service for you\r\n"},
			wantLines:  []string{"QUIT"},
			wantFailed: StepBanner, wantErr: ErrUnexpectedReply,
		},
		{
			name:       "TLS handshake fails: untrusted certificate",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": ehloTLS, "STARTTLS": startTLSOK}, tlsConf: untrustedTLS},
			wantLines:  []string{"EHLO probe.test", "STARTTLS"},
			wantFailed: StepTLS, wantErr: &tls.CertificateVerificationError{}, wantOffer: true, wantHello: "EHLO",
		},
		{
			name:       "bytes pipelined after 220 to STARTTLS",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": ehloTLS, "STARTTLS": startTLSOK + "250 injected\r\n"}, tlsConf: serverTLS},
			wantLines:  []string{"EHLO probe.test", "STARTTLS"},
			wantFailed: StepSTARTTLS, wantErr: ErrPipelinedData, wantOffer: true, wantHello: "EHLO",
		},
		{
			name:       "endless continuation lines in the EHLO reply",
			server:     script{banner: banner220, replies: map[string]string{"EHLO": "FLOOD"}},
			wantLines:  []string{"EHLO probe.test"},
			wantFailed: StepHello, wantErr: ErrTooManyLines,
		},
		{
			name:       "endless continuation lines in the banner",
			server:     script{banner: "FLOOD"},
			wantFailed: StepBanner, wantErr: ErrTooManyLines,
		},
		{
			name:       "banner line longer than the cap",
			server:     script{banner: "220 " + strings.Repeat("x", 2*MaxLineLength) + "\r\n"},
			wantFailed: StepBanner, wantErr: ErrLineTooLong,
		},
		{
			name:       "garbage greeting",
			server:     script{banner: "hello there\r\n"},
			wantFailed: StepBanner, wantErr: ErrMalformedReply,
		},
		{
			name:       "codes differ inside one reply",
			server:     script{banner: "220-mx.test\r\n250 ok\r\n"},
			wantFailed: StepBanner, wantErr: ErrMalformedReply,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fakeSMTP{script: tt.server}
			addr := startSMTP(t, srv)
			cfg := ProbeConfig{Addr: addr, EHLOName: "probe.test", TLS: clientTLS, Timeout: 2 * time.Second}
			if tt.noTLS {
				cfg.TLS = nil
			}
			res, err := Probe(t.Context(), cfg)
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatalf("Probe() error = %v", err)
				}
			case *tls.CertificateVerificationError:
				if !errors.As(err, &want) {
					t.Fatalf("Probe() error = %v, want a certificate verification error", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("Probe() error = %v, want %v", err, want)
				}
			}
			var pe *ProbeError
			if err != nil && (!errors.As(err, &pe) || pe.Step != tt.wantFailed) {
				t.Errorf("Probe() error = %#v, want a ProbeError at step %q", err, tt.wantFailed)
			}
			if res.Failed != tt.wantFailed {
				t.Errorf("Failed = %q, want %q", res.Failed, tt.wantFailed)
			}
			if (res.TLS != nil) != tt.wantTLS {
				t.Errorf("TLS established = %v, want %v", res.TLS != nil, tt.wantTLS)
			}
			if res.STARTTLS != tt.wantOffer {
				t.Errorf("STARTTLS offered = %v, want %v", res.STARTTLS, tt.wantOffer)
			}
			if res.Hello != tt.wantHello {
				t.Errorf("Hello = %q, want %q", res.Hello, tt.wantHello)
			}
			srv.stop()
			if diff := cmp.Diff(tt.wantLines, srv.lines()); diff != "" {
				t.Errorf("client lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeDetails checks what a successful probe reports.
func TestProbeDetails(t *testing.T) {
	pki := newPKI(t)
	srv := &fakeSMTP{script: script{
		banner:  "220-mx.test ESMTP\r\n220 second line\r\n",
		replies: map[string]string{"EHLO": ehloTLS, "STARTTLS": startTLSOK},
		tlsConf: &tls.Config{Certificates: []tls.Certificate{pki.leaf}, MaxVersion: tls.VersionTLS12},
	}}
	addr := startSMTP(t, srv)
	res, err := Probe(t.Context(), ProbeConfig{
		Addr: addr, EHLOName: "probe.test", Timeout: 2 * time.Second,
		TLS: &tls.Config{ServerName: "mx.test", RootCAs: pki.pool, MinVersion: tls.VersionTLS12},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Banner, (Reply{Code: 220, Lines: []string{"mx.test ESMTP", "second line"}}); !cmp.Equal(got, want) {
		t.Errorf("Banner = %+v, want %+v", got, want)
	}
	if diff := cmp.Diff([]string{"SIZE 10240000", "8BITMIME", "STARTTLS"}, res.Extensions); diff != "" {
		t.Errorf("Extensions (-want +got):\n%s", diff)
	}
	if !res.Offers("8bitmime") || res.Offers("PIPELINING") {
		t.Errorf("Offers: 8BITMIME %v, PIPELINING %v; want true, false", res.Offers("8bitmime"), res.Offers("PIPELINING"))
	}
	if res.TLS.Version != tls.VersionTLS12 || len(res.TLS.PeerCertificates) == 0 || res.TLS.PeerCertificates[0].Subject.CommonName != "mx.test" {
		t.Errorf("TLS = version %x, %d peer certificates; want TLS 1.2 with mx.test", res.TLS.Version, len(res.TLS.PeerCertificates))
	}
	if res.STARTTLSReply.Code != 220 {
		t.Errorf("STARTTLSReply = %v, want 220", res.STARTTLSReply)
	}
	srv.stop()
	if srv.sni != "mx.test" {
		t.Errorf("SNI = %q, want mx.test", srv.sni)
	}
}

// TestProbeBounded: servers that never greet, or drip their greeting, cost
// one step timeout; cancelling the context ends the probe at once.
func TestProbeBounded(t *testing.T) {
	const timeout = 200 * time.Millisecond
	tests := []struct {
		name   string
		banner string
		cancel time.Duration // cancel the context after this long (0: never)
		want   error
	}{
		{name: "banner never sent", banner: "", want: errTimeout},
		{name: "banner dripped one byte at a time", banner: "DRIP", want: errTimeout},
		{name: "context cancelled while waiting", banner: "", cancel: 50 * time.Millisecond, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &fakeSMTP{script: script{banner: tt.banner}}
			addr := startSMTP(t, srv)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stepTimeout := timeout
			if tt.cancel > 0 {
				stepTimeout = time.Minute
				time.AfterFunc(tt.cancel, cancel)
			}
			start := time.Now()
			res, err := Probe(ctx, ProbeConfig{Addr: addr, Timeout: stepTimeout})
			elapsed := time.Since(start)
			if res.Failed != StepBanner {
				t.Errorf("Failed = %q, want banner", res.Failed)
			}
			if tt.want == errTimeout {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("Probe() error = %v, want a timeout", err)
				}
			} else if !errors.Is(err, tt.want) {
				t.Errorf("Probe() error = %v, want %v", err, tt.want)
			}
			if elapsed > 2*time.Second {
				t.Errorf("Probe took %v, want about %v", elapsed, timeout)
			}
		})
	}
}

// errTimeout marks rows that want a net.Error with Timeout().
var errTimeout = errors.New("timeout")

func TestProbeConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, err := Probe(t.Context(), ProbeConfig{Addr: addr, Timeout: time.Second})
	if res.Failed != StepConnect || err == nil {
		t.Errorf("Probe() = failed %q, %v; want a connect error", res.Failed, err)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Reply
		wantErr error
	}{
		{name: "one line", in: "250 ok\r\n", want: Reply{Code: 250, Lines: []string{"ok"}}},
		{name: "code only", in: "250\r\n", want: Reply{Code: 250, Lines: []string{""}}},
		{name: "multi-line", in: "250-a\r\n250-b\r\n250 c\r\n", want: Reply{Code: 250, Lines: []string{"a", "b", "c"}}},
		{name: "LF only", in: "220 hi\n", want: Reply{Code: 220, Lines: []string{"hi"}}},
		{name: "code mismatch", in: "250-a\r\n251 b\r\n", wantErr: ErrMalformedReply},
		{name: "bad separator", in: "250_a\r\n", wantErr: ErrMalformedReply},
		{name: "code out of range", in: "650 no\r\n", wantErr: ErrMalformedReply},
		{name: "too many lines", in: strings.Repeat("250-x\r\n", MaxReplyLines+1), wantErr: ErrTooManyLines},
		{name: "line too long", in: "250 " + strings.Repeat("x", MaxLineLength) + "\r\n", wantErr: ErrLineTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReaderSize(strings.NewReader(tt.in), MaxLineLength))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("readReply(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if err == nil && !cmp.Equal(got, tt.want) {
				t.Errorf("readReply(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestReplyString(t *testing.T) {
	tests := []struct {
		in   Reply
		want string
	}{
		{Reply{}, ""},
		{Reply{Code: 250}, "250"},
		{Reply{Code: 250, Lines: []string{"ok"}}, "250 ok"},
		{Reply{Code: 250, Lines: []string{"a", "b"}}, "250-a\n250 b"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}
