package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Special replies of a conversation script.
const (
	drop   = "DROP"   // close the connection instead of replying
	silent = "SILENT" // never reply; wait until the client goes away
	// dropInData, as the reply that follows a 354, closes the connection
	// after reading two lines of data.
	dropInData = "DROP-IN-DATA"
)

// conversation is a canned server on one end of a net.Pipe: it sends
// replies[0] as the greeting, then one reply per line the client sends; after
// a 354 reply it reads the data up to the lone "." and sends the next reply.
// After a 220 reply to STARTTLS it runs the handshake with tlsConf. It
// records every line the client sent, data lines included; a line that
// ended in a bare LF is recorded with a "<LF>" suffix.
type conversation struct {
	replies []string
	tlsConf *tls.Config

	mu   sync.Mutex
	got  []string
	done chan struct{}
}

// start runs the server and returns the Dial function of a client config.
func (cv *conversation) start(t *testing.T) func(ctx context.Context, network, addr string) (net.Conn, error) {
	t.Helper()
	client, server := net.Pipe()
	cv.done = make(chan struct{})
	go func() {
		defer close(cv.done)
		defer server.Close()
		cv.serve(server)
	}()
	t.Cleanup(func() {
		client.Close()
		server.Close()
		<-cv.done
	})
	return func(context.Context, string, string) (net.Conn, error) { return client, nil }
}

func (cv *conversation) lines() []string {
	<-cv.done
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return append([]string(nil), cv.got...)
}

func (cv *conversation) record(line string) {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		line = strings.TrimSuffix(line, "\r\n")
	case strings.HasSuffix(line, "\n"):
		line = strings.TrimSuffix(line, "\n") + "<LF>"
	}
	cv.mu.Lock()
	cv.got = append(cv.got, line)
	cv.mu.Unlock()
}

func (cv *conversation) serve(conn net.Conn) {
	br := bufio.NewReader(conn)
	next := func() (string, bool) {
		if len(cv.replies) == 0 {
			return "", false
		}
		r := cv.replies[0]
		cv.replies = cv.replies[1:]
		return r, true
	}
	send := func(r string) bool {
		switch r {
		case drop:
			return false
		case silent:
			io.Copy(io.Discard, br) // until the client closes
			return false
		}
		_, err := conn.Write([]byte(r))
		return err == nil
	}
	r, ok := next()
	if !ok || !send(r) {
		return
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		cv.record(line)
		r, ok := next()
		if !ok {
			return
		}
		if !send(r) {
			return
		}
		switch {
		case strings.HasPrefix(r, "354"):
			n := 0
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				cv.record(line)
				n++
				if len(cv.replies) > 0 && cv.replies[0] == dropInData && n == 2 {
					return
				}
				if line == ".\r\n" {
					break
				}
			}
			r, ok := next()
			if !ok || !send(r) {
				return
			}
		case strings.EqualFold(strings.TrimSpace(line), "STARTTLS") && strings.HasPrefix(r, "220 ") && cv.tlsConf != nil:
			tc := tls.Server(conn, cv.tlsConf)
			if tc.Handshake() != nil {
				return
			}
			conn = tc
			br = bufio.NewReader(tc)
		}
	}
}

const (
	greet     = "220 mx.test ESMTP\r\n"
	ehloPlain = "250-mx.test\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
	ok250     = "250 2.0.0 ok\r\n"
	go354     = "354 go ahead\r\n"
	queued    = "250 2.0.0 queued as 1\r\n"
	bye       = "221 2.0.0 bye\r\n"
)

func clientConfig(dial func(context.Context, string, string) (net.Conn, error)) ClientConfig {
	return ClientConfig{Addr: "192.0.2.1:25", EHLOName: "client.test", Timeout: 2 * time.Second, DataTimeout: 2 * time.Second, Dial: dial}
}

// TestClientConversation runs single transactions against canned servers and
// compares the client's side of the conversation and the outcome of each
// recipient.
func TestClientConversation(t *testing.T) {
	tests := []struct {
		name     string
		replies  []string
		env      Envelope
		data     string
		want     []string // the client's lines
		outcomes []int    // code deciding each recipient (0: unknown)
		wantErr  error
	}{
		{
			name:    "one recipient, dot-stuffing, SIZE",
			replies: []string{greet, ehloPlain, ok250, ok250, go354, queued, bye},
			env:     Envelope{From: "a@client.test", To: []string{"b@mx.test"}, Size: 40},
			data:    "Subject: hi\r\n\r\n.leading dot\r\n..two\r\nend\r\n",
			want: []string{"EHLO client.test", "MAIL FROM:<a@client.test> SIZE=40", "RCPT TO:<b@mx.test>", "DATA",
				"Subject: hi", "", "..leading dot", "...two", "end", ".", "QUIT"},
			outcomes: []int{250},
		},
		{
			name:    "bare LF becomes CRLF, a missing final line break is added, a lone dot is stuffed",
			replies: []string{greet, ehloPlain, ok250, ok250, go354, queued, bye},
			env:     Envelope{From: "a@client.test", To: []string{"b@mx.test"}},
			data:    "Subject: lf\n\n.\nlast line without break",
			want: []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test>", "DATA",
				"Subject: lf", "", "..", "last line without break", ".", "QUIT"},
			outcomes: []int{250},
		},
		{
			name: "multi-line replies everywhere",
			replies: []string{"220-mx.test ESMTP\r\n220 no UCE\r\n", "250-mx.test\r\n250-PIPELINING\r\n250 SIZE\r\n",
				"250-sender\r\n250 ok\r\n", "250-rcpt\r\n250 ok\r\n", "354-go\r\n354 ahead\r\n", "250-queued\r\n250 as 2\r\n", bye},
			env:      Envelope{From: "", To: []string{"b@mx.test"}, Size: 5},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<> SIZE=5", "RCPT TO:<b@mx.test>", "DATA", "x", ".", "QUIT"},
			outcomes: []int{250},
		},
		{
			name:    "4xx and 5xx per recipient are kept apart",
			replies: []string{greet, ehloPlain, ok250, ok250, "452 4.2.2 mailbox full\r\n", "550 5.1.1 no such user\r\n", go354, queued, bye},
			env:     Envelope{From: "a@client.test", To: []string{"b@mx.test", "full@mx.test", "nobody@mx.test"}},
			data:    "x\r\n",
			want: []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test>", "RCPT TO:<full@mx.test>",
				"RCPT TO:<nobody@mx.test>", "DATA", "x", ".", "QUIT"},
			outcomes: []int{250, 452, 550},
		},
		{
			name:     "every recipient refused: RSET, no DATA",
			replies:  []string{greet, ehloPlain, ok250, "550 5.1.1 no\r\n", "450 4.2.1 later\r\n", ok250, bye},
			env:      Envelope{From: "a@client.test", To: []string{"x@mx.test", "y@mx.test"}},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<x@mx.test>", "RCPT TO:<y@mx.test>", "RSET", "QUIT"},
			outcomes: []int{550, 450},
		},
		{
			name:     "MAIL refused: no RCPT",
			replies:  []string{greet, ehloPlain, "553 5.7.1 sender rejected\r\n", bye},
			env:      Envelope{From: "a@client.test", To: []string{"x@mx.test", "y@mx.test"}},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "QUIT"},
			outcomes: []int{553, 553},
		},
		{
			name:     "DATA refused: RSET",
			replies:  []string{greet, ehloPlain, ok250, ok250, "554 5.5.1 no valid recipients\r\n", ok250, bye},
			env:      Envelope{From: "a@client.test", To: []string{"x@mx.test"}},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<x@mx.test>", "DATA", "RSET", "QUIT"},
			outcomes: []int{554},
		},
		{
			name:     "final reply 4xx applies to every accepted recipient",
			replies:  []string{greet, ehloPlain, ok250, ok250, ok250, go354, "451 4.3.0 try later\r\n", bye},
			env:      Envelope{From: "a@client.test", To: []string{"x@mx.test", "y@mx.test"}},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<x@mx.test>", "RCPT TO:<y@mx.test>", "DATA", "x", ".", "QUIT"},
			outcomes: []int{451, 451},
		},
		{
			name:     "8BITMIME declared when offered",
			replies:  []string{greet, ehloPlain, ok250, ok250, go354, queued, bye},
			env:      Envelope{From: "a@client.test", To: []string{"b@mx.test"}, EightBit: true, Size: 7},
			data:     "caf\xc3\xa9\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test> SIZE=7 BODY=8BITMIME", "RCPT TO:<b@mx.test>", "DATA", "caf\xc3\xa9", ".", "QUIT"},
			outcomes: []int{250},
		},
		{
			name:     "EHLO refused, HELO: no extensions, no parameters",
			replies:  []string{greet, "502 5.5.2 what\r\n", "250 mx.test\r\n", ok250, ok250, go354, queued, bye},
			env:      Envelope{From: "a@client.test", To: []string{"b@mx.test"}, EightBit: true, Size: 7},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "HELO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test>", "DATA", "x", ".", "QUIT"},
			outcomes: []int{250},
		},
		{
			name:     "421 to RCPT closes: the rest get the 421",
			replies:  []string{greet, ehloPlain, ok250, ok250, "421 4.3.2 shutting down\r\n", bye},
			env:      Envelope{From: "a@client.test", To: []string{"x@mx.test", "y@mx.test", "z@mx.test"}},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<x@mx.test>", "RCPT TO:<y@mx.test>", "QUIT"},
			outcomes: []int{0, 421, 421},
		},
		{
			name:     "the server drops the connection in the middle of the data",
			replies:  []string{greet, ehloPlain, ok250, ok250, go354, dropInData},
			env:      Envelope{From: "a@client.test", To: []string{"b@mx.test"}},
			data:     "one\r\ntwo\r\nthree\r\n" + strings.Repeat("more data\r\n", 10000),
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test>", "DATA", "one", "two"},
			outcomes: []int{0},
			wantErr:  errAny,
		},
		{
			name:     "the server drops the connection after the data, before its reply",
			replies:  []string{greet, ehloPlain, ok250, ok250, go354, drop},
			env:      Envelope{From: "a@client.test", To: []string{"b@mx.test"}},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test>", "DATA", "x", "."},
			outcomes: []int{0},
			wantErr:  errAny,
		},
		{
			name:     "message above SIZE: nothing sent, connection usable",
			replies:  []string{greet, ehloPlain, bye},
			env:      Envelope{From: "a@client.test", To: []string{"b@mx.test"}, Size: 1001},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "QUIT"},
			outcomes: []int{0},
			wantErr:  ErrTooBig,
		},
		{
			name:     "CRLF in an address: nothing sent",
			replies:  []string{greet, ehloPlain, bye},
			env:      Envelope{From: "a@client.test", To: []string{"b@mx.test>\r\nRCPT TO:<evil@mx.test"}},
			data:     "x\r\n",
			want:     []string{"EHLO client.test", "QUIT"},
			outcomes: []int{0},
			wantErr:  ErrBadAddress,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cv := &conversation{replies: tt.replies}
			c, err := Dial(t.Context(), clientConfig(cv.start(t)))
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			res, err := c.Send(t.Context(), tt.env, strings.NewReader(tt.data))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Send: %v", err)
			case tt.wantErr == errAny && err == nil:
				t.Errorf("Send: no error, want one")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("Send: %v, want %v", err, tt.wantErr)
			}
			var got []int
			for i := range tt.env.To {
				got = append(got, res.Outcome(i).Code)
			}
			if diff := cmp.Diff(tt.outcomes, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			c.Quit()
			if diff := cmp.Diff(tt.want, cv.lines()); diff != "" {
				t.Errorf("client lines (-want +got):\n%s", diff)
			}
		})
	}
}

// errAny marks rows that want some error.
var errAny = errors.New("any error")

// TestClientReuse sends two messages on one connection, the second after a
// transaction whose recipients were all refused.
func TestClientReuse(t *testing.T) {
	cv := &conversation{replies: []string{greet, ehloPlain,
		ok250, "550 5.1.1 no\r\n", ok250, // first: refused, RSET
		ok250, ok250, go354, queued, // second
		ok250, ok250, go354, queued, // third
		bye}}
	c, err := Dial(t.Context(), clientConfig(cv.start(t)))
	if err != nil {
		t.Fatal(err)
	}
	for i, to := range []string{"x@mx.test", "y@mx.test", "z@mx.test"} {
		res, err := c.Send(t.Context(), Envelope{From: "a@client.test", To: []string{to}}, strings.NewReader("m\r\n"))
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		if want := []int{550, 250, 250}[i]; res.Outcome(0).Code != want {
			t.Errorf("Send %d: outcome %v, want %d", i, res.Outcome(0), want)
		}
		if !c.Usable() {
			t.Fatalf("after Send %d: not usable", i)
		}
	}
	c.Quit()
	want := []string{"EHLO client.test",
		"MAIL FROM:<a@client.test>", "RCPT TO:<x@mx.test>", "RSET",
		"MAIL FROM:<a@client.test>", "RCPT TO:<y@mx.test>", "DATA", "m", ".",
		"MAIL FROM:<a@client.test>", "RCPT TO:<z@mx.test>", "DATA", "m", ".",
		"QUIT"}
	if diff := cmp.Diff(want, cv.lines()); diff != "" {
		t.Errorf("client lines (-want +got):\n%s", diff)
	}
}

// TestClientSTARTTLS covers STARTTLS: success (EHLO again, the second
// EHLO's extensions count), refused (the session goes on in clear text),
// not offered, and a handshake that fails.
func TestClientSTARTTLS(t *testing.T) {
	pki := newPKI(t)
	other := newPKI(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.leaf}}
	clientTLS := &tls.Config{ServerName: "mx.test", RootCAs: pki.pool}
	ehloTLSOnly := "250-mx.test\r\n250 STARTTLS\r\n"
	ehloAfter := "250-mx.test\r\n250 SIZE 500\r\n"

	tests := []struct {
		name      string
		replies   []string
		server    *tls.Config
		wantStep  Step
		wantErr   error
		usable    bool
		wantTLS   bool
		wantLines []string
	}{
		{
			name:    "success, then a transaction under TLS",
			replies: []string{greet, ehloTLSOnly, "220 2.0.0 ready\r\n", ehloAfter, ok250, ok250, go354, queued, bye},
			server:  serverTLS, usable: true, wantTLS: true,
			wantLines: []string{"EHLO client.test", "STARTTLS", "EHLO client.test", "MAIL FROM:<a@client.test> SIZE=3",
				"RCPT TO:<b@mx.test>", "DATA", "x", ".", "QUIT"},
		},
		{
			name:     "454 refused: clear text goes on",
			replies:  []string{greet, ehloTLSOnly, "454 4.7.0 TLS not available\r\n", ok250, ok250, go354, queued, bye},
			wantStep: StepSTARTTLS, wantErr: ErrUnexpectedReply, usable: true,
			wantLines: []string{"EHLO client.test", "STARTTLS", "MAIL FROM:<a@client.test>", "RCPT TO:<b@mx.test>", "DATA", "x", ".", "QUIT"},
		},
		{
			name:     "not offered",
			replies:  []string{greet, ehloPlain, ok250, ok250, go354, queued, bye},
			wantStep: StepSTARTTLS, wantErr: ErrNoSTARTTLS, usable: true,
			wantLines: []string{"EHLO client.test", "MAIL FROM:<a@client.test> SIZE=3", "RCPT TO:<b@mx.test>", "DATA", "x", ".", "QUIT"},
		},
		{
			name:     "handshake fails: untrusted certificate, connection closed",
			replies:  []string{greet, ehloTLSOnly, "220 2.0.0 ready\r\n"},
			server:   &tls.Config{Certificates: []tls.Certificate{other.leaf}},
			wantStep: StepTLS, wantErr: errAny,
			wantLines: []string{"EHLO client.test", "STARTTLS"},
		},
		{
			name:     "bytes pipelined after the 220: connection closed",
			replies:  []string{greet, ehloTLSOnly, "220 2.0.0 ready\r\n250 injected\r\n"},
			server:   serverTLS,
			wantStep: StepSTARTTLS, wantErr: ErrPipelinedData,
			wantLines: []string{"EHLO client.test", "STARTTLS"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cv := &conversation{replies: tt.replies, tlsConf: tt.server}
			c, err := Dial(t.Context(), clientConfig(cv.start(t)))
			if err != nil {
				t.Fatal(err)
			}
			err = c.StartTLS(t.Context(), clientTLS)
			var ce *ClientError
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("StartTLS: %v", err)
			case tt.wantErr != nil && (!errors.As(err, &ce) || ce.Step != tt.wantStep):
				t.Fatalf("StartTLS: %v, want a ClientError at step %s", err, tt.wantStep)
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("StartTLS: %v, want %v", err, tt.wantErr)
			}
			if c.Usable() != tt.usable {
				t.Errorf("Usable() = %v, want %v", c.Usable(), tt.usable)
			}
			if (c.TLS() != nil) != tt.wantTLS {
				t.Errorf("TLS() = %v, want TLS %v", c.TLS(), tt.wantTLS)
			}
			if c.Usable() {
				res, err := c.Send(t.Context(), Envelope{From: "a@client.test", To: []string{"b@mx.test"}, Size: 3}, strings.NewReader("x\r\n"))
				if err != nil || res.Outcome(0).Code != 250 {
					t.Errorf("Send after StartTLS: %v, %v", res.Outcome(0), err)
				}
			}
			c.Quit()
			if diff := cmp.Diff(tt.wantLines, cv.lines()); diff != "" {
				t.Errorf("client lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientDialFailures: refusals at the greeting or EHLO end the connection
// with QUIT and a ClientError holding the reply.
func TestClientDialFailures(t *testing.T) {
	tests := []struct {
		name      string
		replies   []string
		wantStep  Step
		wantCode  int
		wantLines []string
	}{
		{"554 greeting", []string{"554 5.7.1 go away\r\n", bye}, StepBanner, 554, []string{"QUIT"}},
		{"421 to EHLO", []string{greet, "421 4.3.2 busy\r\n", bye}, StepHello, 421, []string{"EHLO client.test", "QUIT"}},
		{"EHLO and HELO refused", []string{greet, "500 no\r\n", "501 no\r\n", bye}, StepHello, 501, []string{"EHLO client.test", "HELO client.test", "QUIT"}},
		{"garbage greeting", []string{"hello\r\n"}, StepBanner, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cv := &conversation{replies: tt.replies}
			_, err := Dial(t.Context(), clientConfig(cv.start(t)))
			var ce *ClientError
			if !errors.As(err, &ce) || ce.Step != tt.wantStep || ce.Reply.Code != tt.wantCode {
				t.Fatalf("Dial: %v, want a ClientError at %s with code %d", err, tt.wantStep, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantLines, cv.lines()); diff != "" {
				t.Errorf("client lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientBounded: a server that never greets costs one timeout; one that
// never answers the end of data costs the data timeout; cancelling the
// context ends a wait at once.
func TestClientBounded(t *testing.T) {
	t.Run("banner never sent", func(t *testing.T) {
		cv := &conversation{replies: []string{silent}}
		cfg := clientConfig(cv.start(t))
		cfg.Timeout = 150 * time.Millisecond
		start := time.Now()
		_, err := Dial(t.Context(), cfg)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Dial: %v, want a timeout", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Dial took %v", d)
		}
	})
	t.Run("end of data never answered", func(t *testing.T) {
		cv := &conversation{replies: []string{greet, ehloPlain, ok250, ok250, go354, silent}}
		cfg := clientConfig(cv.start(t))
		cfg.DataTimeout = 150 * time.Millisecond
		c, err := Dial(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Send(t.Context(), Envelope{From: "a@client.test", To: []string{"b@mx.test"}}, strings.NewReader("x\r\n"))
		var ce *ClientError
		if !errors.As(err, &ce) || ce.Step != StepData || c.Usable() {
			t.Errorf("Send: %v (usable %v), want a data step timeout and a closed connection", err, c.Usable())
		}
	})
	t.Run("context cancelled while waiting for the greeting", func(t *testing.T) {
		cv := &conversation{replies: []string{silent}}
		cfg := clientConfig(cv.start(t))
		cfg.Timeout = time.Minute
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := Dial(ctx, cfg)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dial: %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Dial took %v", d)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = Dial(t.Context(), ClientConfig{Addr: addr, Timeout: time.Second})
		var ce *ClientError
		if !errors.As(err, &ce) || ce.Step != StepConnect {
			t.Errorf("Dial: %v, want a connect error", err)
		}
	})
}

func TestClientExtensions(t *testing.T) {
	cv := &conversation{replies: []string{greet, "250-mx.test\r\n250-size 2048\r\n250-8bitmime\r\n250 STARTTLS\r\n", bye}}
	c, err := Dial(t.Context(), clientConfig(cv.start(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if c.MaxSize() != 2048 || !c.Offers("SIZE") || !c.Offers("8BITMIME") || c.Offers("PIPELINING") {
		t.Errorf("MaxSize %d, SIZE %v, 8BITMIME %v, PIPELINING %v", c.MaxSize(), c.Offers("SIZE"), c.Offers("8BITMIME"), c.Offers("PIPELINING"))
	}
	if hello, r := c.Hello(); hello != "EHLO" || r.Code != 250 {
		t.Errorf("Hello() = %s %v", hello, r)
	}
	if diff := cmp.Diff([]string{"size 2048", "8bitmime", "STARTTLS"}, c.Extensions()); diff != "" {
		t.Errorf("Extensions (-want +got):\n%s", diff)
	}
	if c.Banner().Code != 220 {
		t.Errorf("Banner() = %v", c.Banner())
	}
}

func TestReplyText(t *testing.T) {
	tests := []struct {
		in         Reply
		want       string
		temp, perm bool
	}{
		{Reply{}, "", false, false},
		{Reply{Code: 250, Lines: []string{"ok"}}, "250 ok", false, false},
		{Reply{Code: 452, Lines: []string{"4.2.2 full", "try later"}}, "452 4.2.2 full try later", true, false},
		{Reply{Code: 550, Lines: []string{""}}, "550", false, true},
	}
	for _, tt := range tests {
		if got := tt.in.Text(); got != tt.want || tt.in.Temporary() != tt.temp || tt.in.Permanent() != tt.perm {
			t.Errorf("%+v: Text %q Temporary %v Permanent %v, want %q %v %v", tt.in, got, tt.in.Temporary(), tt.in.Permanent(), tt.want, tt.temp, tt.perm)
		}
	}
}
