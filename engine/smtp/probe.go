// Package smtp is segcli's SMTP client. Probe is the STARTTLS check that
// mtastsverify, daneverify and tlsverify run against each MX host; Client
// delivers messages (RFC 5321) over STARTTLS (RFC 3207), with SIZE (RFC 1870)
// and 8BITMIME (RFC 6152) when the server offers them, several transactions
// per connection, and the replies of each recipient kept apart. The caller
// builds the tls.Config (SNI, versions, verification) from the destination's
// requirement.
//
// Every read and write has a deadline, every reply line is bounded by
// MaxLineLength and every reply by MaxReplyLines, so a server that never
// greets, drips bytes or floods continuation lines costs a bounded time and
// memory. After the 220 reply to STARTTLS the client refuses any byte the
// server sent ahead of the TLS handshake (the STARTTLS command injection of
// CVE-2011-0411, RFC 3207 §5).
package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// DefaultTimeout bounds each step of a probe (connect, each command and its
// reply, the TLS handshake) when ProbeConfig.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// quitWait bounds the wait for the reply to QUIT.
const quitWait = 2 * time.Second

// Step names a stage of a probe; ProbeResult.Failed and ProbeError.Step say
// which one went wrong.
type Step string

// The steps of a probe, in order.
const (
	StepConnect  Step = "connect"
	StepBanner   Step = "banner"
	StepHello    Step = "ehlo"
	StepSTARTTLS Step = "starttls"
	StepTLS      Step = "tls"
)

// Errors a caller branches on, wrapped by ProbeError.
var (
	// ErrNoSTARTTLS: the server's EHLO reply does not offer STARTTLS (or it
	// answered only HELO).
	ErrNoSTARTTLS = errors.New("STARTTLS not offered")
	// ErrUnexpectedReply: the server answered with a code the step does not
	// accept (a 554 greeting, a 454 to STARTTLS).
	ErrUnexpectedReply = errors.New("unexpected reply")
	// ErrPipelinedData: the server sent bytes after its 220 reply to
	// STARTTLS and before the TLS handshake.
	ErrPipelinedData = errors.New("data sent ahead of the TLS handshake")
)

// ProbeConfig says where and how to probe.
type ProbeConfig struct {
	// Addr is "ip:port" ("[ip]:port" for IPv6): the caller resolves names.
	Addr string
	// EHLOName is the name sent with EHLO/HELO (default "localhost").
	EHLOName string
	// TLS is used for the handshake after STARTTLS; the caller sets
	// ServerName (SNI), RootCAs, MinVersion, VerifyConnection. Nil stops the
	// probe after EHLO: it only reports whether STARTTLS is offered.
	TLS *tls.Config
	// Timeout bounds each step (default DefaultTimeout); ctx bounds the
	// whole probe.
	Timeout time.Duration
	// Dial opens the TCP connection (default a net.Dialer). Tests point it
	// at local listeners.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ProbeResult is what a probe saw. Fields after the failed step are zero.
type ProbeResult struct {
	Addr string
	// Banner is the server's greeting (code 220 when the probe went on).
	Banner Reply
	// Hello is the command that was accepted, "EHLO" or "HELO" (after a 5xx
	// to EHLO); empty when neither was.
	Hello string
	// HelloReply is the reply to Hello.
	HelloReply Reply
	// Extensions are the EHLO keywords with their parameters, one per line
	// of the reply after the first ("STARTTLS", "SIZE 10240000").
	Extensions []string
	// STARTTLS reports whether the server offered STARTTLS.
	STARTTLS bool
	// STARTTLSReply is the reply to STARTTLS, when it was sent.
	STARTTLSReply Reply
	// TLS is the state of the established TLS connection (version, cipher,
	// peer certificates); nil when no handshake completed.
	TLS *tls.ConnectionState
	// Failed is the step that failed, "" when the probe went through.
	Failed Step
}

// Offers reports whether the EHLO reply lists the extension keyword ext
// (case-insensitive).
func (r ProbeResult) Offers(ext string) bool {
	for _, e := range r.Extensions {
		kw, _, _ := strings.Cut(e, " ")
		if strings.EqualFold(kw, ext) {
			return true
		}
	}
	return false
}

// ProbeError is the error Probe returns: the address, the step that failed,
// and the cause (a network error, a TLS error, or ErrUnexpectedReply and
// the other sentinels with the server's reply).
type ProbeError struct {
	Addr string
	Step Step
	Err  error
}

// Error returns "smtp: 192.0.2.1:25: starttls: unexpected reply: 454 4.7.0
// TLS not available".
func (e *ProbeError) Error() string {
	return fmt.Sprintf("smtp: %s: %s: %v", e.Addr, e.Step, e.Err)
}

// Unwrap returns the cause.
func (e *ProbeError) Unwrap() error { return e.Err }

// Probe connects to cfg.Addr, reads the greeting, sends EHLO (HELO when EHLO
// is refused with 5xx), and when cfg.TLS is set and the server offers it,
// sends STARTTLS, expects 220 and completes the TLS handshake with cfg.TLS.
// It ends with QUIT whenever the conversation is still in step. On failure
// the result holds what was seen so far, Failed names the step, and the
// error is a *ProbeError.
func Probe(ctx context.Context, cfg ProbeConfig) (ProbeResult, error) {
	res := ProbeResult{Addr: cfg.Addr}
	p := &prober{cfg: cfg, timeout: cfg.Timeout}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	name := cfg.EHLOName
	if name == "" {
		name = "localhost"
	}
	fail := func(step Step, err error) (ProbeResult, error) {
		res.Failed = step
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return res, &ProbeError{Addr: cfg.Addr, Step: step, Err: err}
	}

	if err := p.dial(ctx); err != nil {
		return fail(StepConnect, err)
	}
	defer func() { p.conn.Close() }()
	// Cancelling ctx closes the connection, which unblocks any read or write.
	raw := p.conn
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()

	var err error
	if res.Banner, err = p.read(); err != nil {
		return fail(StepBanner, err)
	}
	if res.Banner.Code != 220 {
		p.quit()
		return fail(StepBanner, fmt.Errorf("%w: %s", ErrUnexpectedReply, res.Banner))
	}

	reply, err := p.cmd("EHLO " + name)
	if err != nil {
		return fail(StepHello, err)
	}
	hello := "EHLO"
	if reply.Code >= 500 {
		// RFC 5321 §3.2: a server that does not know EHLO answers 5xx; HELO
		// then works, without extensions.
		hello = "HELO"
		if reply, err = p.cmd("HELO " + name); err != nil {
			return fail(StepHello, err)
		}
	}
	if reply.Code != 250 {
		p.quit()
		return fail(StepHello, fmt.Errorf("%w to %s: %s", ErrUnexpectedReply, hello, reply))
	}
	res.Hello, res.HelloReply = hello, reply
	if hello == "EHLO" && len(reply.Lines) > 1 {
		for _, l := range reply.Lines[1:] {
			res.Extensions = append(res.Extensions, strings.TrimSpace(l))
		}
	}
	res.STARTTLS = res.Offers("STARTTLS")
	if cfg.TLS == nil {
		p.quit()
		return res, nil
	}
	if !res.STARTTLS {
		p.quit()
		return fail(StepSTARTTLS, ErrNoSTARTTLS)
	}

	if res.STARTTLSReply, err = p.cmd("STARTTLS"); err != nil {
		return fail(StepSTARTTLS, err)
	}
	if res.STARTTLSReply.Code != 220 {
		p.quit()
		return fail(StepSTARTTLS, fmt.Errorf("%w: %s", ErrUnexpectedReply, res.STARTTLSReply))
	}
	if n := p.br.Buffered(); n > 0 {
		return fail(StepSTARTTLS, fmt.Errorf("%w (%d bytes)", ErrPipelinedData, n))
	}

	tc := tls.Client(p.conn, cfg.TLS)
	hctx, cancel := context.WithTimeout(ctx, p.timeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		return fail(StepTLS, err)
	}
	st := tc.ConnectionState()
	res.TLS = &st
	p.conn = tc
	p.br = bufio.NewReaderSize(tc, MaxLineLength)
	p.quit()
	return res, nil
}

// prober holds the connection of one probe.
type prober struct {
	cfg     ProbeConfig
	timeout time.Duration
	conn    net.Conn
	br      *bufio.Reader
}

func (p *prober) dial(ctx context.Context) error {
	dial := p.cfg.Dial
	if dial == nil {
		d := &net.Dialer{}
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	conn, err := dial(dctx, "tcp", p.cfg.Addr)
	if err != nil {
		return err
	}
	p.conn = conn
	p.br = bufio.NewReaderSize(conn, MaxLineLength)
	return nil
}

// read reads one reply within the step timeout.
func (p *prober) read() (Reply, error) {
	if err := p.conn.SetReadDeadline(time.Now().Add(p.timeout)); err != nil {
		return Reply{}, err
	}
	return readReply(p.br)
}

// cmd sends one command line and reads its reply, each within the step
// timeout.
func (p *prober) cmd(line string) (Reply, error) {
	if err := p.conn.SetWriteDeadline(time.Now().Add(p.timeout)); err != nil {
		return Reply{}, err
	}
	if _, err := p.conn.Write([]byte(line + "\r\n")); err != nil {
		return Reply{}, err
	}
	return p.read()
}

// quit sends QUIT and waits briefly for the 221; errors do not matter any
// more.
func (p *prober) quit() {
	wait := min(p.timeout, quitWait)
	_ = p.conn.SetDeadline(time.Now().Add(wait))
	if _, err := p.conn.Write([]byte("QUIT\r\n")); err != nil {
		return
	}
	_, _ = readReply(p.br)
}
