package telnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/transcripts/fixtures"
)

// syncBuffer is a screen written by the pump and the command at once.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	max    int // longest single write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.max = max(s.max, len(p))
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fast are short limits for tests.
func fast() limits {
	return limits{connect: 2 * time.Second, quiet: 100 * time.Millisecond, greet: 300 * time.Millisecond,
		reply: time.Second, line: 64}
}

var testNow = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// testEnv returns a piped session's Env: answers from in, no terminal.
func testEnv(in io.Reader, out io.Writer) *shell.Env {
	lr := shell.NewPlainReader(in, out)
	return &shell.Env{
		Out: out, Err: out, In: lr, P: shell.NewPrompter(lr, out),
		Now:      func() time.Time { return testNow },
		Hostname: func() string { return "esa.test" },
	}
}

// runTelnet runs telnet against addr ("127.0.0.1:PORT") with the given input and
// returns the screen and the time it took.
func runTelnet(t *testing.T, addr, in string, lim limits) (string, time.Duration) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out := &syncBuffer{}
	start := time.Now()
	if err := run(context.Background(), testEnv(strings.NewReader(in), out), []string{host, port}, lim); err != nil {
		t.Fatalf("telnet %s: %v\n%s", addr, err, out)
	}
	return out.String(), time.Since(start)
}

func TestConversation(t *testing.T) {
	srv := fixtures.StartSMTP(t, fixtures.SMTPOptions{})
	got, _ := runTelnet(t, srv.Addr, "EHLO esa.test\r\nQUIT\n", fast())
	want := `Trying 127.0.0.1...
Connected to 127.0.0.1.
Escape character is '^]'.
220 smtp.example.test ESMTP segcli fixture
EHLO esa.test
250-smtp.example.test Hello esa.test
250-PIPELINING
250-SIZE 10240000
250-STARTTLS
250 8BITMIME
QUIT
221 2.0.0 Bye
Connection closed by foreign host.
`
	if got != want {
		t.Errorf("screen:\n%s\nwant:\n%s", got, want)
	}
}

func TestStartTLSVerified(t *testing.T) {
	srv := fixtures.StartSMTP(t, fixtures.SMTPOptions{})
	lim := fast()
	lim.roots = srv.PKI.Pool
	got, _ := runTelnet(t, srv.Addr, "^]\nstarttls\nEHLO esa.test\nQUIT\n", lim)
	for _, want := range []string{
		"STARTTLS\n220 2.0.0 Ready to start TLS\nTLS connection established: protocol TLSv1.3",
		"    Subject: CN=smtp.example.test\n",
		"    Alternative names: DNS:smtp.example.test, DNS:localhost, IP:127.0.0.1\n",
		"    Valid until: Fri Jan  1 00:00:00 2027 UTC\n",
		"Certificate verification successful.\nEHLO esa.test\n250-smtp.example.test Hello esa.test\n250-PIPELINING\n250-SIZE 10240000\n250 8BITMIME\nQUIT\n221 2.0.0 Bye\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%s", want, got)
		}
	}
}

func TestStartTLSExpired(t *testing.T) {
	srv := fixtures.StartSMTP(t, fixtures.SMTPOptions{})
	lim := fast()
	lim.roots = srv.PKI.Pool
	host, port, _ := net.SplitHostPort(srv.Addr)
	out := &syncBuffer{}
	e := testEnv(strings.NewReader("^]\nstarttls\n"), out)
	e.Now = func() time.Time { return time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC) }
	if err := run(context.Background(), e, []string{host, port}, lim); err != nil {
		t.Fatal(err)
	}
	if want := "Certificate verification failed: x509: certificate has expired or is not yet valid"; !strings.Contains(out.String(), want) {
		t.Errorf("screen lacks %q:\n%s", want, out)
	}
}

func TestStartTLSNotOffered(t *testing.T) {
	srv := fixtures.StartSMTP(t, fixtures.SMTPOptions{NoSTARTTLS: true})
	got, _ := runTelnet(t, srv.Addr, "^]\nstarttls\nQUIT\n", fast())
	if want := "250 8BITMIME\nThe server does not offer STARTTLS.\nQUIT\n221 2.0.0 Bye\n"; !strings.Contains(got, want) {
		t.Errorf("screen lacks %q:\n%s", want, got)
	}
}

// TestStartTLSInjection: data after the 220 reply, before the handshake, stops the
// upgrade (RFC 3207 §4).
func TestStartTLSInjection(t *testing.T) {
	srv := fixtures.StartSMTP(t, fixtures.SMTPOptions{AfterSTARTTLS: "250 injected\r\n"})
	got, _ := runTelnet(t, srv.Addr, "^]\nstarttls\nQUIT\n", fast())
	// The data normally comes with the 220 reply and is caught before the handshake;
	// should TCP deliver it later, the handshake fails on it. Either way there is no
	// TLS session and the connection is closed.
	caught := "220 2.0.0 Ready to start TLS\ntelnet: starttls: the server sent data after its 220 reply, before the TLS handshake: the connection is not safe\nConnection closed.\n"
	late := "220 2.0.0 Ready to start TLS\ntelnet: starttls: TLS handshake failed: tls: first record does not look like a TLS handshake\nConnection closed.\n"
	if !strings.HasSuffix(got, caught) && !strings.HasSuffix(got, late) {
		t.Errorf("screen does not end with %q:\n%s", caught, got)
	}
}

// TestStartTLSOnHTTPS: starttls on a server that is not SMTP ends the connection.
func TestStartTLSOnHTTPS(t *testing.T) {
	srv := fixtures.StartHTTPS(t)
	got, d := runTelnet(t, srv.Addr, "^]\nstarttls\n", fast())
	if !strings.HasSuffix(got, "Connection closed by foreign host.\n") && !strings.HasSuffix(got, "Connection closed.\n") {
		t.Errorf("screen:\n%s", got)
	}
	if d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// silentServer accepts connections, reads what comes and never answers.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().String()
}

// TestSilentServer: a server that never answers costs a bounded wait per line, and
// the end of the input ends the command.
func TestSilentServer(t *testing.T) {
	addr := silentServer(t)
	got, d := runTelnet(t, addr, "EHLO esa.test\nQUIT\n", fast())
	want := "Escape character is '^]'.\nEHLO esa.test\nQUIT\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("screen does not end with %q:\n%s", want, got)
	}
	// Three waits of quiet (100ms) each, after connecting and after each line.
	if d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("took %v, want about 300ms", d)
	}
}

// TestInterrupted: Ctrl-C (the context) ends a session waiting on a silent server.
func TestInterrupted(t *testing.T) {
	addr := silentServer(t)
	host, port, _ := net.SplitHostPort(addr)
	lim := fast()
	lim.quiet, lim.reply = time.Minute, time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	out := &syncBuffer{}
	if err := run(ctx, testEnv(strings.NewReader("EHLO esa.test\n"), out), []string{host, port}, lim); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v after the interruption", d)
	}
}

// floodServer sends data without end: lines of line bytes, or one endless line when
// line is 0.
func floodServer(t *testing.T, line int) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	if line > 0 {
		chunk = bytes.Repeat(append(bytes.Repeat([]byte("y"), line), '\r', '\n'), (32<<10)/(line+2))
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	return l.Addr().String()
}

// memWriter counts what it is given and samples the heap every 4 MiB.
type memWriter struct {
	mu      sync.Mutex
	n, next int
	maxLen  int
	maxHeap uint64
}

func (w *memWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += len(p)
	w.maxLen = max(w.maxLen, len(p))
	if w.n >= w.next {
		w.next = w.n + 4<<20
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.maxHeap = max(w.maxHeap, m.HeapAlloc)
	}
	return len(p), nil
}

// TestFlood: a server that sends without end is printed in bounded pieces, holds no
// growing buffer, and the command still ends (the wait for a reply is bounded).
func TestFlood(t *testing.T) {
	for _, line := range []int{0, 40, 1000} {
		t.Run(strconv.Itoa(line), func(t *testing.T) {
			addr := floodServer(t, line)
			host, port, _ := net.SplitHostPort(addr)
			lim := fast()
			lim.line = 256
			lim.reply = 700 * time.Millisecond
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			w := &memWriter{}
			start := time.Now()
			if err := run(context.Background(), testEnv(strings.NewReader("QUIT\n"), w), []string{host, port}, lim); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if w.n < 1<<20 {
				t.Fatalf("only %d bytes printed: the server did not flood", w.n)
			}
			if w.maxLen > lim.line+len("\n")*2+len("QUIT") {
				t.Errorf("a write of %d bytes, want at most one line of %d", w.maxLen, lim.line)
			}
			if grew := int64(w.maxHeap) - int64(before.HeapAlloc); grew > 32<<20 {
				t.Errorf("the heap grew by %d MiB while %d MiB were printed", grew>>20, w.n>>20)
			}
			t.Logf("%d MiB printed, heap grew by at most %d KiB", w.n>>20, (int64(w.maxHeap)-int64(before.HeapAlloc))>>10)
		})
	}
}

// lines is a LineReader fed by the test, for the terminal mode.
type lines struct {
	c   chan string
	out io.Writer
}

func (l *lines) ReadLine(prompt string, _ shell.Completer) (string, error) {
	io.WriteString(l.out, prompt)
	s, ok := <-l.c
	if !ok {
		return "", io.EOF
	}
	return s, nil
}
func (l *lines) ReadSecret(string) (string, error) { return "", io.EOF }
func (l *lines) AddHistory(string)                 {}
func (l *lines) Close() error                      { return nil }

// TestTerminal: at a terminal, lines go out without waiting and the server's lines
// are printed as they come, also while the command waits for the operator's line.
func TestTerminal(t *testing.T) {
	srv := fixtures.StartSMTP(t, fixtures.SMTPOptions{})
	host, port, _ := net.SplitHostPort(srv.Addr)
	out := &syncBuffer{}
	in := &lines{c: make(chan string), out: out}
	e := &shell.Env{Out: out, Err: out, In: in, P: shell.NewPrompter(in, out), Terminal: true,
		Now: func() time.Time { return testNow }, Hostname: func() string { return "esa.test" }}
	errc := make(chan error, 1)
	go func() { errc <- run(context.Background(), e, []string{host, port}, fast()) }()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q on the screen:\n%s", s, out)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("220 smtp.example.test")
	in.c <- "QUIT"
	waitFor("Connection closed by foreign host.")
	close(in.c) // the operator presses Enter (here: the input ends)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"CRLF and LF", "220 a\r\n250 b\nc\r\n", 64, []string{"220 a", "250 b", "c"}},
		{"empty lines", "\r\n\n", 64, []string{"", ""}},
		{"last line without newline", "abc", 64, []string{"abc"}},
		{"long line in pieces", "aaaaaaaaaa\r\n", 4, []string{"aaaa", "aaaa", "aa"}},
		{"exactly max", "aaaa\n", 4, []string{"aaaa", ""}},
		{"bare CR kept inside", "a\rb\n", 64, []string{"a\rb"}},
	}
	for _, tt := range tests {
		r := newReader(strings.NewReader(tt.in), tt.max)
		var got []string
		for {
			l, err := r.next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Errorf("%s: %v", tt.name, err)
				}
				break
			}
			got = append(got, l)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: lines %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestReaderTimeout: a read that times out in the middle of a line keeps the part
// read, as the pump's pause for starttls needs.
func TestReaderTimeout(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	r := newReader(a, 64)
	go b.Write([]byte("par"))
	a.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := r.next(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("next = %v, want a timeout", err)
	}
	if !r.buffered() {
		t.Error("buffered() = false after a partial line")
	}
	a.SetReadDeadline(time.Time{})
	go b.Write([]byte("tial\r\n"))
	if l, err := r.next(); l != "partial" || err != nil {
		t.Errorf("next = %q, %v, want \"partial\"", l, err)
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		in       string
		want     lineKind
		wantCode int
	}{
		{"250 OK", smtpFinal, 250},
		{"250", smtpFinal, 250},
		{"250-SIZE 1000", smtpContinue, 250},
		{"220 smtp.example.test ESMTP", smtpFinal, 220},
		{"25", other, 0},
		{"HTTP/1.0 400 Bad Request", other, 0},
		{"2x0 OK", other, 0},
		{"250:x", other, 0},
		{"", other, 0},
	}
	for _, tt := range tests {
		if k, code := kind(tt.in); k != tt.want || code != tt.wantCode {
			t.Errorf("kind(%q) = %v, %d; want %v, %d", tt.in, k, code, tt.want, tt.wantCode)
		}
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"250 OK", "250 OK"},
		{"tab\there", "tab\there"},
		{"\x1b[2J\x07bell", "^[[2J^Gbell"},
		{"del\x7f", "del^?"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{"café", "café"},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantHost string
		wantPort int
		wantErr  string
	}{
		{"host only", "mx.example.com", "mx.example.com", 25, ""},
		{"port", "mx.example.com 587", "mx.example.com", 587, ""},
		{"service name", "mta-sts.example.com https", "mta-sts.example.com", 443, ""},
		{"IPv4", "192.0.2.25 25", "192.0.2.25", 25, ""},
		{"IPv6 in brackets", "[2001:db8::25]", "2001:db8::25", 25, ""},
		{"IPv6", "2001:DB8::25 2525", "2001:db8::25", 2525, ""},
		{"no host", "", "", 0, "usage: telnet"},
		{"three words", "a b c", "", 0, "usage: telnet"},
		{"bad host", "mx_1.example.com", "", 0, `"mx_1.example.com" is not a host name or an IP address`},
		{"port 0", "mx.example.com 0", "", 0, `"0" is not a port`},
		{"port too big", "mx.example.com 65536", "", 0, `"65536" is not a port`},
		{"unknown service", "mx.example.com gopher", "", 0, `"gopher" is not a port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port, err := parseArgs(strings.Fields(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseArgs(%q) = %v, want an error containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || host != tt.wantHost || port != tt.wantPort {
				t.Errorf("parseArgs(%q) = %q, %d, %v; want %q, %d", tt.in, host, port, err, tt.wantHost, tt.wantPort)
			}
		})
	}
}

func TestReason(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		in   error
		want string
	}{
		{op(syscall.ECONNREFUSED), "Connection refused"},
		{op(syscall.EHOSTUNREACH), "No route to host"},
		{op(syscall.ENETUNREACH), "Network is unreachable"},
		{op(syscall.ETIMEDOUT), "Connection timed out"},
		{context.DeadlineExceeded, "Connection timed out"},
		{op(syscall.EACCES), "Permission denied"},
	}
	for _, tt := range tests {
		if got := reason(tt.in); got != tt.want {
			t.Errorf("reason(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestResolveByName: a host name is looked up with the session's resolver, IPv4
// first; a name without address is refused in getaddrinfo's words.
func TestResolveByName(t *testing.T) {
	server := fixtures.StartDNS(t)
	e := testEnv(strings.NewReader(""), io.Discard)
	e.Resolver = func() (*dns.Resolver, error) {
		return dns.New(dns.Config{Servers: []dns.Server{{Addr: server}}}), nil
	}
	addrs, err := resolve(context.Background(), e, "example.test", 25)
	if err != nil || fmt.Sprint(addrs) != "[192.0.2.10 2001:db8::10]" {
		t.Errorf("resolve(example.test) = %v, %v", addrs, err)
	}
	if _, err := resolve(context.Background(), e, "nothere.example.test", 25); err == nil || !strings.Contains(err.Error(), "Name or service not known") {
		t.Errorf("resolve(nothere.example.test) = %v", err)
	}
}
