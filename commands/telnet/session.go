package telnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segcli/segcli/shell"
)

// session is one connection: the pump goroutine prints what the server sends, the
// command's goroutine sends what the operator types.
type session struct {
	e    *shell.Env
	lim  limits
	host string
	port int
	out  *lockedWriter

	mu     sync.Mutex
	conn   net.Conn // plain, or TLS after starttls
	secure bool
	local  bool // closed by us: the pump says nothing
	closed bool // the connection is over
	gen    int  // lines received
	last   lineKind
	code   int       // SMTP code of the last line
	lastAt time.Time // when the last line came
	// mark and markAt: gen and the time when the last line was sent (or at connect).
	mark   int
	markAt time.Time

	rd       *reader       // owned by the pump while it runs
	notify   chan struct{} // poked when a line comes or the connection closes
	done     chan struct{} // closed when the pump returns
	stopping atomic.Bool   // the pump is being paused (starttls)
}

// lockedWriter serializes the lines of the pump and of the command.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) println(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, s+"\n")
}

func newSession(e *shell.Env, lim limits, host string, port int, conn net.Conn) *session {
	return &session{
		e: e, lim: lim, host: host, port: port, conn: conn,
		out:    &lockedWriter{w: e.Out},
		rd:     newReader(conn, lim.line),
		notify: make(chan struct{}, 1),
		markAt: time.Now(),
	}
}

// run is the conversation; it returns when the connection is over.
func (s *session) run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, s.closeLocal)
	defer func() {
		stop()
		s.closeLocal()
		<-s.done
	}()
	s.start()
	first, waitReply := true, true
	inData := false
	for {
		if waitReply && !s.e.Terminal {
			s.settle(ctx, first)
			if k, code := s.lastReply(); k == smtpFinal && code == 354 {
				inData = true // message lines follow, answered only after "."
			}
		}
		first = false
		if s.isClosed() {
			return nil
		}
		line, err := s.e.In.ReadLine("", nil)
		if s.isClosed() {
			return nil // the server closed while we waited for a line
		}
		if err != nil {
			// The end of the input (or Ctrl-C) closes the connection quietly: a
			// screen of piped input ends where the input ended.
			s.closeLocal()
			return nil
		}
		if isEscape(line) {
			if s.command(ctx) {
				return nil
			}
			waitReply = false
			continue
		}
		if !s.send(line) {
			return nil
		}
		waitReply = !inData || line == "."
		if line == "." {
			inData = false
		}
	}
}

// isEscape reports whether the operator typed the escape character: 0x1d, or ^] as
// two characters, alone on the line.
func isEscape(line string) bool {
	t := strings.TrimSpace(line)
	return t == "\x1d" || t == "^]"
}

// start runs the pump on the current connection.
func (s *session) start() {
	s.done = make(chan struct{})
	go s.pump(s.rd, s.done)
}

// pump prints the server's lines until the connection ends or the pump is paused.
func (s *session) pump(rd *reader, done chan struct{}) {
	defer close(done)
	for {
		line, err := rd.next()
		if err == nil {
			s.out.println(printable(line))
			s.received(line)
			continue
		}
		if s.stopping.Load() && isTimeout(err) {
			return
		}
		s.mu.Lock()
		local := s.local
		s.closed = true
		s.mu.Unlock()
		s.poke()
		if !local {
			s.out.println("Connection closed by foreign host.")
		}
		return
	}
}

// received records a line from the server.
func (s *session) received(line string) {
	k, code := kind(line)
	s.mu.Lock()
	s.gen++
	s.last, s.code, s.lastAt = k, code, time.Now()
	s.mu.Unlock()
	s.poke()
}

func (s *session) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *session) lastReply() (lineKind, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == s.mark {
		return other, 0
	}
	return s.last, s.code
}

// closeLocal closes the connection from our side.
func (s *session) closeLocal() {
	s.mu.Lock()
	s.local, s.closed = true, true
	c := s.conn
	s.mu.Unlock()
	c.Close()
	s.poke()
}

// settle waits, with piped input, until the server's reply to the last line sent
// seems complete (see the package documentation).
func (s *session) settle(ctx context.Context, first bool) {
	deadline := time.NewTimer(s.lim.reply)
	defer deadline.Stop()
	smtpPort := s.port == 25 || s.port == 587 || s.port == 2525
	for {
		s.mu.Lock()
		closed, gen, last, code, lastAt, mark, markAt := s.closed, s.gen, s.last, s.code, s.lastAt, s.mark, s.markAt
		s.mu.Unlock()
		if closed {
			return
		}
		var wait time.Duration
		since := markAt
		switch {
		case gen == mark && first && smtpPort:
			wait = s.lim.greet
		case gen == mark:
			wait = s.lim.quiet
		case last == smtpFinal && (code == 221 || code == 421):
			// The server says it closes the connection: let it.
			wait, since = s.lim.quiet, lastAt
		case last == smtpFinal:
			return
		case last == smtpContinue:
			wait, since = s.lim.reply, lastAt
		default:
			wait, since = s.lim.quiet, lastAt
		}
		left := wait - time.Since(since)
		if left <= 0 {
			return
		}
		t := time.NewTimer(left)
		select {
		case <-s.notify:
		case <-t.C:
		case <-deadline.C:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// send writes one line with CR LF. It reports false when the connection is over.
func (s *session) send(line string) bool {
	s.mu.Lock()
	c := s.conn
	s.mark, s.markAt = s.gen, time.Now()
	s.mu.Unlock()
	c.SetWriteDeadline(time.Now().Add(s.lim.reply))
	_, err := io.WriteString(c, line+"\r\n")
	c.SetWriteDeadline(time.Time{})
	if err != nil {
		if !s.isClosed() {
			s.closeLocal()
			s.out.println("Connection closed by foreign host.")
		}
		return false
	}
	return true
}

// command is the "telnet>" prompt; it reports whether the session is over.
func (s *session) command(ctx context.Context) bool {
	line, err := s.e.In.ReadLine("telnet> ", nil)
	if err != nil {
		s.closeLocal()
		s.out.println("Connection closed.")
		return true
	}
	word := strings.ToLower(strings.TrimSpace(line))
	if word == "" {
		return false
	}
	var match []string
	for _, c := range []string{"close", "quit", "starttls", "status", "help"} {
		if strings.HasPrefix(c, word) {
			match = append(match, c)
		}
	}
	if word == "?" {
		match = []string{"help"}
	}
	switch {
	case len(match) == 0:
		s.out.println("?Invalid command")
		return false
	case len(match) > 1:
		s.out.println("?Ambiguous command")
		return false
	}
	switch match[0] {
	case "close", "quit":
		s.closeLocal()
		s.out.println("Connection closed.")
		return true
	case "starttls":
		return s.starttls(ctx)
	case "status":
		s.mu.Lock()
		secure := s.secure
		s.mu.Unlock()
		how := "in clear text"
		if secure {
			how = "over TLS"
		}
		s.out.println(fmt.Sprintf("Connected to %s, port %d, %s.", s.host, s.port, how))
		s.out.println("Escape character is '^]'.")
	case "help":
		s.out.println("Commands may be abbreviated.  Commands are:\n\n" +
			"close       close current connection\n" +
			"quit        exit telnet\n" +
			"starttls    upgrade an SMTP session to TLS and show the certificate\n" +
			"status      print status information\n" +
			"?           print help information")
	}
	return s.isClosed()
}

// pause stops the pump so that the command can read the connection itself. It
// reports false when the connection is over.
func (s *session) pause() bool {
	s.stopping.Store(true)
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	c.SetReadDeadline(time.Unix(1, 0))
	<-s.done
	s.stopping.Store(false)
	c.SetReadDeadline(time.Time{})
	return !s.isClosed()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
