package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// DefaultDataTimeout bounds the wait for the reply to the end of a message's
// data when ClientConfig.DataTimeout is zero (RFC 5321 §4.5.3.2.6: 10
// minutes).
const DefaultDataTimeout = 10 * time.Minute

// More steps of a delivery conversation, after those of a probe.
const (
	StepMail  Step = "mail"
	StepRcpt  Step = "rcpt"
	StepData  Step = "data"
	StepReset Step = "rset"
)

// Errors of the delivery client a caller branches on.
var (
	// ErrTooBig: the message is larger than the SIZE the server announced
	// (RFC 1870 §6): it is not sent, and sending it again will not help.
	ErrTooBig = errors.New("message size exceeds the server's fixed maximum message size")
	// ErrBadAddress: an address holds characters that cannot go in a MAIL
	// or RCPT command (CR, LF, angle brackets).
	ErrBadAddress = errors.New("address not usable in an SMTP command")
	// ErrClosed: the client was closed, or an earlier failure left the
	// conversation out of step; no more commands can be sent.
	ErrClosed = errors.New("connection closed")
)

// ClientConfig says where and how to deliver.
type ClientConfig struct {
	// Addr is "ip:port" ("[ip]:port" for IPv6): the caller resolves names.
	Addr string
	// EHLOName is the name sent with EHLO/HELO (default "localhost").
	EHLOName string
	// Timeout bounds the connect, each command with its reply, each write
	// of message data and the TLS handshake (default DefaultTimeout).
	Timeout time.Duration
	// DataTimeout bounds the wait for the reply to the end of the data
	// (default DefaultDataTimeout).
	DataTimeout time.Duration
	// Dial opens the TCP connection (default a net.Dialer). Tests point it
	// at local listeners.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ClientError is the error the delivery client returns: the address, the
// step, the server's reply when there was one, and the cause.
type ClientError struct {
	Addr  string
	Step  Step
	Reply Reply
	Err   error
}

// Error returns "smtp: 192.0.2.1:25: starttls: unexpected reply: 454 4.7.0
// TLS not available".
func (e *ClientError) Error() string {
	return fmt.Sprintf("smtp: %s: %s: %v", e.Addr, e.Step, e.Err)
}

// Unwrap returns the cause.
func (e *ClientError) Unwrap() error { return e.Err }

// Client is one SMTP connection that delivers messages (RFC 5321), with
// STARTTLS (RFC 3207), SIZE (RFC 1870) and 8BITMIME (RFC 6152). Each method
// takes a context that bounds it; cancelling it closes the connection. A
// Client is used by one goroutine at a time.
//
// Every read and write has a deadline; replies are bounded (MaxLineLength,
// MaxReplyLines). When a failure leaves the conversation out of step (a
// network error, a timeout, bytes pipelined ahead of the TLS handshake) the
// connection is closed and Usable reports false; a negative reply alone
// leaves it usable.
type Client struct {
	cfg     ClientConfig
	timeout time.Duration
	name    string

	conn       net.Conn
	br         *bufio.Reader
	banner     Reply
	hello      string
	helloReply Reply
	ext        []string
	tls        *tls.ConnectionState
	closed     bool
}

// Dial connects to cfg.Addr, reads the greeting and sends EHLO (HELO when
// EHLO is refused with 5xx). A greeting other than 220, or a refused
// EHLO/HELO, ends the connection (with QUIT) and returns a *ClientError that
// holds the reply.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	c := &Client{cfg: cfg, timeout: cfg.Timeout, name: cfg.EHLOName}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.cfg.DataTimeout <= 0 {
		c.cfg.DataTimeout = DefaultDataTimeout
	}
	if c.name == "" {
		c.name = "localhost"
	}
	dial := cfg.Dial
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	conn, err := dial(dctx, "tcp", cfg.Addr)
	cancel()
	if err != nil {
		return nil, c.fail(ctx, StepConnect, Reply{}, err)
	}
	c.conn = conn
	c.br = bufio.NewReaderSize(conn, MaxLineLength)
	defer c.watch(ctx)()

	if c.banner, err = c.read(c.timeout); err != nil {
		return nil, c.fail(ctx, StepBanner, c.banner, err)
	}
	if c.banner.Code != 220 {
		c.quit()
		return nil, c.fail(ctx, StepBanner, c.banner, fmt.Errorf("%w: %s", ErrUnexpectedReply, oneLine(c.banner)))
	}
	if err := c.ehlo(); err != nil {
		return nil, c.fail(ctx, StepHello, c.helloReply, err)
	}
	return c, nil
}

// ehlo sends EHLO, or HELO after a 5xx, and keeps the extensions.
func (c *Client) ehlo() error {
	reply, err := c.cmd("EHLO " + c.name)
	if err != nil {
		return err
	}
	hello := "EHLO"
	if reply.Code >= 500 {
		// RFC 5321 §3.2: a server that does not know EHLO answers 5xx;
		// HELO then works, without extensions.
		hello = "HELO"
		if reply, err = c.cmd("HELO " + c.name); err != nil {
			return err
		}
	}
	c.helloReply = reply
	if reply.Code != 250 {
		c.quit()
		return fmt.Errorf("%w to %s: %s", ErrUnexpectedReply, hello, oneLine(reply))
	}
	c.hello = hello
	c.ext = nil
	if hello == "EHLO" && len(reply.Lines) > 1 {
		for _, l := range reply.Lines[1:] {
			c.ext = append(c.ext, strings.TrimSpace(l))
		}
	}
	return nil
}

// Banner returns the server's greeting.
func (c *Client) Banner() Reply { return c.banner }

// Hello returns the command the server accepted, "EHLO" or "HELO", and its
// reply.
func (c *Client) Hello() (string, Reply) { return c.hello, c.helloReply }

// Extensions returns the EHLO keywords with their parameters ("SIZE
// 10240000"), as of the last EHLO (after STARTTLS, the second one).
func (c *Client) Extensions() []string { return append([]string(nil), c.ext...) }

// Offers reports whether the last EHLO reply lists the keyword ext.
func (c *Client) Offers(ext string) bool {
	_, ok := c.extension(ext)
	return ok
}

func (c *Client) extension(ext string) (string, bool) {
	for _, e := range c.ext {
		kw, param, _ := strings.Cut(e, " ")
		if strings.EqualFold(kw, ext) {
			return strings.TrimSpace(param), true
		}
	}
	return "", false
}

// MaxSize returns the fixed maximum message size the server announced with
// SIZE (RFC 1870 §4), 0 when it announced none or no limit.
func (c *Client) MaxSize() int64 {
	p, ok := c.extension("SIZE")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(p, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// TLS returns the state of the TLS connection, nil before STARTTLS.
func (c *Client) TLS() *tls.ConnectionState { return c.tls }

// LocalAddr returns the local address of the connection (the interface the
// mail log names).
func (c *Client) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Usable reports whether more commands can be sent.
func (c *Client) Usable() bool { return !c.closed }

// StartTLS sends STARTTLS, completes the handshake with cfg and sends EHLO
// again (RFC 3207 §4.2). When the server does not offer STARTTLS
// (ErrNoSTARTTLS) or answers other than 220 (ErrUnexpectedReply, step
// starttls), the connection is still usable in clear text. A failed
// handshake (step tls), or bytes the server sent ahead of the handshake
// (ErrPipelinedData, RFC 3207 §5), close it.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	if c.closed {
		return &ClientError{Addr: c.cfg.Addr, Step: StepSTARTTLS, Err: ErrClosed}
	}
	if !c.Offers("STARTTLS") {
		return &ClientError{Addr: c.cfg.Addr, Step: StepSTARTTLS, Err: ErrNoSTARTTLS}
	}
	defer c.watch(ctx)()
	reply, err := c.cmd("STARTTLS")
	if err != nil {
		return c.fail(ctx, StepSTARTTLS, reply, err)
	}
	if reply.Code != 220 {
		if reply.Code == 421 {
			c.quit()
		}
		return c.fail(ctx, StepSTARTTLS, reply, fmt.Errorf("%w: %s", ErrUnexpectedReply, oneLine(reply)))
	}
	if n := c.br.Buffered(); n > 0 {
		c.close()
		return c.fail(ctx, StepSTARTTLS, reply, fmt.Errorf("%w (%d bytes)", ErrPipelinedData, n))
	}
	tc := tls.Client(c.conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.timeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		c.close()
		return c.fail(ctx, StepTLS, Reply{}, err)
	}
	st := tc.ConnectionState()
	c.tls = &st
	c.conn = tc
	c.br = bufio.NewReaderSize(tc, MaxLineLength)
	if err := c.ehlo(); err != nil {
		c.close()
		return c.fail(ctx, StepHello, c.helloReply, err)
	}
	return nil
}

// Envelope is what one transaction sends besides the data.
type Envelope struct {
	// From is the reverse path ("" for the null sender of bounces).
	From string
	// To are the recipients, in order.
	To []string
	// Size is the size of the data in bytes, for the SIZE parameter and
	// check (0: unknown, no parameter).
	Size int64
	// EightBit says that the data holds bytes above 127: BODY=8BITMIME is
	// declared when the server offers 8BITMIME (otherwise the data goes as
	// it is, as most MTAs do).
	EightBit bool
}

// SendResult holds the server's replies of one transaction. A zero Reply
// means the command was not sent (or its reply never came).
type SendResult struct {
	Mail Reply
	// Rcpt has one reply per recipient, in Envelope.To's order.
	Rcpt []Reply
	// Data is the reply to DATA (354 to go on), Final the reply to the end
	// of the data.
	Data  Reply
	Final Reply
}

// Outcome returns the reply that decides recipient i: the reply to MAIL when
// it was refused, the reply to RCPT when it was refused, else the reply to
// DATA when it was refused, else the final reply. A zero Reply means that
// the outcome is unknown (the connection failed before it).
func (r SendResult) Outcome(i int) Reply {
	switch {
	case !r.Mail.Positive():
		return r.Mail
	case i >= len(r.Rcpt):
		return Reply{}
	case !r.Rcpt[i].Positive():
		return r.Rcpt[i]
	case r.Data.Code != 354:
		return r.Data
	}
	return r.Final
}

// Send runs one mail transaction: MAIL FROM, RCPT TO for each recipient,
// DATA and the data, dot-stuffed with CRLF line endings (bare LFs become
// CRLF), ending with CRLF.CRLF. Refusals are in the result, not errors: a
// refused MAIL stops there, recipients refused one by one are skipped, and
// with no recipient accepted the transaction is reset (RSET). The error is
// for what leaves the outcome unknown: a network failure, a timeout, a
// malformed reply (the connection is then closed), a message above the
// server's SIZE (ErrTooBig) or an unusable address (ErrBadAddress), both
// before anything is sent.
func (c *Client) Send(ctx context.Context, env Envelope, data io.Reader) (SendResult, error) {
	var res SendResult
	if c.closed {
		return res, &ClientError{Addr: c.cfg.Addr, Step: StepMail, Err: ErrClosed}
	}
	for _, a := range append([]string{env.From}, env.To...) {
		if strings.ContainsAny(a, "\r\n<>") {
			return res, &ClientError{Addr: c.cfg.Addr, Step: StepMail, Err: fmt.Errorf("%w: %q", ErrBadAddress, a)}
		}
	}
	if len(env.To) == 0 {
		return res, &ClientError{Addr: c.cfg.Addr, Step: StepRcpt, Err: errors.New("no recipient")}
	}
	if max := c.MaxSize(); max > 0 && env.Size > max {
		return res, &ClientError{Addr: c.cfg.Addr, Step: StepMail, Err: fmt.Errorf("%w (%d bytes, the limit is %d)", ErrTooBig, env.Size, max)}
	}
	defer c.watch(ctx)()

	mail := "MAIL FROM:<" + env.From + ">"
	if c.Offers("SIZE") && env.Size > 0 {
		mail += " SIZE=" + strconv.FormatInt(env.Size, 10)
	}
	if env.EightBit && c.Offers("8BITMIME") {
		mail += " BODY=8BITMIME"
	}
	var err error
	if res.Mail, err = c.cmd(mail); err != nil {
		return res, c.fail(ctx, StepMail, res.Mail, err)
	}
	if !res.Mail.Positive() {
		if res.Mail.Code == 421 {
			c.quit()
		}
		return res, nil
	}
	res.Rcpt = make([]Reply, len(env.To))
	accepted := 0
	for i, to := range env.To {
		if res.Rcpt[i], err = c.cmd("RCPT TO:<" + to + ">"); err != nil {
			return res, c.fail(ctx, StepRcpt, res.Rcpt[i], err)
		}
		if res.Rcpt[i].Positive() {
			accepted++
		}
		if res.Rcpt[i].Code == 421 {
			// The server is closing the channel (RFC 5321 §3.8): the
			// remaining recipients get its reply.
			for j := i + 1; j < len(env.To); j++ {
				res.Rcpt[j] = res.Rcpt[i]
			}
			c.quit()
			return res, nil
		}
	}
	if accepted == 0 {
		c.reset()
		return res, nil
	}
	if res.Data, err = c.cmd("DATA"); err != nil {
		return res, c.fail(ctx, StepData, res.Data, err)
	}
	if res.Data.Code != 354 {
		if res.Data.Code == 421 {
			c.quit()
		} else {
			c.reset()
		}
		return res, nil
	}
	if err := c.writeData(data); err != nil {
		c.close()
		return res, c.fail(ctx, StepData, Reply{}, err)
	}
	if res.Final, err = c.read(c.cfg.DataTimeout); err != nil {
		c.close()
		return res, c.fail(ctx, StepData, res.Final, err)
	}
	if res.Final.Code == 421 {
		c.quit()
	}
	return res, nil
}

// writeData sends the data dot-stuffed, each write within the timeout.
func (c *Client) writeData(data io.Reader) error {
	bw := bufio.NewWriterSize(deadlineWriter{c.conn, c.timeout}, 32<<10)
	dw := textproto.NewWriter(bw).DotWriter()
	if _, err := io.Copy(dw, data); err != nil {
		_ = dw.Close()
		return err
	}
	return dw.Close()
}

// deadlineWriter sets a write deadline before each write, so that a stalled
// server costs one timeout however long the message is.
type deadlineWriter struct {
	conn    net.Conn
	timeout time.Duration
}

// Write sets the deadline and writes p.
func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.conn.SetWriteDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, err
	}
	return w.conn.Write(p)
}

// Reset sends RSET, ending any transaction in progress.
func (c *Client) Reset(ctx context.Context) error {
	if c.closed {
		return &ClientError{Addr: c.cfg.Addr, Step: StepReset, Err: ErrClosed}
	}
	defer c.watch(ctx)()
	reply, err := c.cmd("RSET")
	if err != nil {
		return c.fail(ctx, StepReset, reply, err)
	}
	if reply.Code != 250 {
		c.quit()
		return c.fail(ctx, StepReset, reply, fmt.Errorf("%w: %s", ErrUnexpectedReply, oneLine(reply)))
	}
	return nil
}

// reset sends RSET after a failed transaction; a failure closes the
// connection (the result of the transaction stands).
func (c *Client) reset() {
	reply, err := c.cmd("RSET")
	if err != nil || reply.Code != 250 {
		c.quit()
	}
}

// Quit sends QUIT, waits briefly for the reply and closes the connection.
func (c *Client) Quit() error {
	if c.closed {
		return nil
	}
	c.quit()
	return nil
}

// Close closes the connection without QUIT.
func (c *Client) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.conn.Close()
}

// quit sends QUIT, waits briefly for the 221 and closes.
func (c *Client) quit() {
	if c.closed {
		return
	}
	wait := min(c.timeout, quitWait)
	_ = c.conn.SetDeadline(time.Now().Add(wait))
	if _, err := c.conn.Write([]byte("QUIT\r\n")); err == nil {
		_, _ = readReply(c.br)
	}
	c.close()
}

func (c *Client) close() {
	if !c.closed {
		c.closed = true
		_ = c.conn.Close()
	}
}

// watch closes the connection when ctx ends while a method runs; the
// returned function stops watching.
func (c *Client) watch(ctx context.Context) func() {
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return func() { stop() }
}

// read reads one reply within d.
func (c *Client) read(d time.Duration) (Reply, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return Reply{}, err
	}
	return readReply(c.br)
}

// cmd sends one command line and reads its reply, each within the timeout.
func (c *Client) cmd(line string) (Reply, error) {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return Reply{}, err
	}
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		return Reply{}, err
	}
	return c.read(c.timeout)
}

// fail closes the connection unless the failure is only a reply (err wraps
// ErrUnexpectedReply or a sentinel that leaves it usable), and returns the
// *ClientError. A cancelled ctx shows in the error.
func (c *Client) fail(ctx context.Context, step Step, reply Reply, err error) error {
	keep := errors.Is(err, ErrUnexpectedReply) || errors.Is(err, ErrNoSTARTTLS)
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		keep = false
	}
	if !keep && c.conn != nil {
		c.close()
	}
	return &ClientError{Addr: c.cfg.Addr, Step: step, Reply: reply, Err: err}
}

// oneLine renders a reply on one line, its lines joined by spaces:
// "554 5.7.1 no service for you".
func oneLine(r Reply) string {
	return strings.ReplaceAll(r.String(), "\n", " ")
}

// Text returns the reply on one line, without the repeated codes of a
// multi-line reply: "550 5.1.1 <x@example.com>: no such user here".
func (r Reply) Text() string {
	if r.Code == 0 {
		return ""
	}
	return strings.TrimSpace(strconv.Itoa(r.Code) + " " + strings.Join(r.Lines, " "))
}

// Temporary reports whether the code is 4xx (RFC 5321 §4.2.1: a transient
// negative completion; the same command may succeed later).
func (r Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

// Permanent reports whether the code is 5xx.
func (r Reply) Permanent() bool { return r.Code >= 500 && r.Code < 600 }
