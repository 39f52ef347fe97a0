// Package daneverify is the appliance's daneverify: it checks DANE for SMTP
// (RFC 7672) for the mail servers of a domain as a delivery would, and says so
// in the appliance's words, ending in "DANE SUCCESS for DOMAIN", "DANE FAILED
// for DOMAIN: reason" or "DANE UNSUPPORTED for DOMAIN: reason".
//
// engine/dane gathers what DNS says (the MX RRset, each host's addresses and
// TLSA records, with their DNSSEC status). Every MX host whose TLSA records
// require TLS is then tried: a connection to port 25 of its first address that
// answers, EHLO, STARTTLS and a TLS handshake with the TLSA base domain as SNI,
// the server's certificate authenticated by the usable records
// (engine/smtp.Probe, dane.Verify). Hosts to which DANE does not apply, and
// hosts that must not be used (bogus or failed lookups), are not connected to.
//
// With --json the command prints one JSON object (DESIGN.md, "daneverify
// --json") and nothing else on its output. The exit status is 0 for success and
// unsupported (the domain does not publish DANE: not an error of the check),
// 1 for failed and tempfail; the closing line of a failure is the error the
// shell prints.
package daneverify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/segcli/segcli/engine/dane"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/smtp"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

const usage = "daneverify [DOMAIN] [--json]"

// Commands returns daneverify.
func Commands() []shell.Command {
	return []shell.Command{{
		Name:    "daneverify",
		Usage:   usage,
		Summary: "Check DANE (TLSA) authentication of the mail servers of a domain.",
		Description: `Checks DANE for SMTP (RFC 7672) for DOMAIN as a delivery would: the MX records and
their DNSSEC status, the addresses and TLSA records of each MX host, then, for each
host whose TLSA records require TLS, a connection to port 25, STARTTLS, and the
authentication of the server's certificate by the records. Every MX host is checked.
Without arguments it asks for the domain.

The last line says:
  DANE SUCCESS for DOMAIN           DANE applies, and every MX host authenticated
  DANE FAILED for DOMAIN: ...       an MX host did not authenticate (no STARTTLS,
                                    no matching record), or a lookup failed or did
                                    not validate (bogus)
  DANE UNSUPPORTED for DOMAIN: ...  DANE applies to no MX host (insecure MX or
                                    address, no TLSA record, only unusable ones)

  --json  print one JSON object instead: domain, mx_secure, mx_hosts (host,
          address_secure, tlsa, tls, dane, error), result (success, failed,
          unsupported or tempfail)

Exit status: 0 for SUCCESS and UNSUPPORTED, 1 for FAILED and bad arguments.
Lookups go to the session's resolvers (dnsconfig, or --resolver); their DNSSEC
status counts only from a loopback resolver or one dnsconfig marks as trusted.`,
		Run: run,
	}}
}

// options are the parsed arguments.
type options struct {
	domain string
	json   bool
}

// parseArgs reads "DOMAIN [--json]", in any order.
func parseArgs(args []string) (options, error) {
	var o options
	for _, a := range args {
		switch {
		case a == "--json":
			o.json = true
		case strings.HasPrefix(a, "-"):
			return options{}, fmt.Errorf("daneverify: unknown option %q; usage: %s", a, usage)
		case o.domain != "":
			return options{}, fmt.Errorf("daneverify: give one domain; usage: %s", usage)
		default:
			d, err := checkDomain(a)
			if err != nil {
				return options{}, fmt.Errorf("daneverify: %w", err)
			}
			o.domain = d
		}
	}
	if o.json && o.domain == "" {
		return options{}, fmt.Errorf("daneverify: --json needs a DOMAIN; usage: %s", usage)
	}
	return o, nil
}

// checkDomain returns a mail domain in lower case without its final dot, or
// why it is not one.
func checkDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return "", fmt.Errorf("%q is an IP address: give a mail domain such as example.com", s)
	}
	if d == "" || store.ValidHostname(d) != nil {
		return "", fmt.Errorf("%q is not a domain name: give a mail domain such as example.com", s)
	}
	return d, nil
}

func run(ctx context.Context, e *shell.Env, args []string) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	if o.domain == "" {
		if o.domain, err = dialog(e); err != nil {
			return err
		}
	}
	if o.json {
		rep, err := verify(ctx, e, o.domain, nil)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.Out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("daneverify: %w", err)
		}
		if failed(rep) {
			return errors.New(rep.Summary())
		}
		return nil
	}
	rep, err := verify(ctx, e, o.domain, e.Out)
	if err != nil {
		return err
	}
	if failed(rep) {
		return errors.New(rep.Summary()) // the shell prints it, and the status is 1
	}
	fmt.Fprintln(e.Out, rep.Summary())
	return nil
}

// dialog asks for the domain, as the appliance's commands do without arguments.
func dialog(e *shell.Env) (string, error) {
	s, err := e.P.Text("Enter the domain to verify.", "", func(s string) error {
		if s == "" {
			return errors.New("Enter a mail domain such as example.com.")
		}
		if _, err := checkDomain(s); err != nil {
			return fmt.Errorf("%v.", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return checkDomain(s)
}

// Check runs daneverify's human report for domain, closing line included, on
// e.Out: destconfig offers it when DANE is switched on for a destination. It
// returns nil whatever DANE's verdict (the report says it); an error means
// that the check could not run (not a domain name, no resolver, interrupted),
// and its text is for the operator.
func Check(ctx context.Context, e *shell.Env, domain string) error {
	d, err := checkDomain(domain)
	if err != nil {
		return fmt.Errorf("daneverify: %w", err)
	}
	rep, err := verify(ctx, e, d, e.Out)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.Out, rep.Summary())
	return nil
}

// failed reports whether a report ends in DANE FAILED (exit status 1).
func failed(rep dane.Report) bool {
	return rep.Result == dane.ResultFailed || rep.Result == dane.ResultTempFail
}

// reporter prints the progress lines of a check to the screen (w; nil under
// --json) and the lines it adds to the engine's to the mail log.
type reporter struct {
	w   io.Writer
	log maillog.Logger
}

// line prints a line of the engine (which logged it already).
func (p *reporter) line(l dane.Line) {
	if p.w != nil {
		fmt.Fprintln(p.w, l.Text)
	}
}

// say prints and logs a line of daneverify's own.
func (p *reporter) say(level maillog.Level, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if p.w != nil {
		fmt.Fprintln(p.w, text)
	}
	if p.log != nil {
		p.log.Logf(level, "%s", text)
	}
}

// verify gathers DANE for domain, tries every MX host that DANE requires TLS
// of, and returns the report. The progress goes to w unless it is nil.
func verify(ctx context.Context, e *shell.Env, domain string, w io.Writer) (dane.Report, error) {
	if e.Resolver == nil {
		return dane.Report{}, errors.New("daneverify: no DNS servers are configured: use dnsconfig to enter one")
	}
	r, err := e.Resolver()
	if err != nil {
		return dane.Report{}, fmt.Errorf("daneverify: %w", err)
	}
	res, err := dane.Gather(ctx, r, domain, e.Log)
	if err != nil {
		return dane.Report{}, fmt.Errorf("daneverify: %w", err)
	}
	p := &reporter{w: w, log: e.Log}
	for _, l := range res.Lines {
		p.line(l)
	}
	outcomes := make(map[string]dane.Outcome)
	for i := range res.Hosts {
		f := &res.Hosts[i]
		for _, l := range f.AddressLines {
			p.line(l)
		}
		if !f.RequiresTLS() {
			// DANE does not apply, or the host must not be used: no
			// connection.
			for _, l := range f.TLSALines {
				p.line(l)
			}
			continue
		}
		outcomes[f.Host] = p.try(ctx, e, res.Domain, f)
	}
	if err := ctx.Err(); err != nil {
		return dane.Report{}, fmt.Errorf("daneverify: %w", err)
	}
	rep := res.Report(outcomes)
	if e.Log != nil {
		e.Log.Logf(maillog.Info, "%s", rep.Summary())
	}
	return rep, nil
}

// try connects to an MX host that DANE requires TLS of, and checks the TLS
// connection: STARTTLS, the handshake with the TLSA base domain as SNI, and
// the server's certificate by the usable records (none: TLS required without
// authentication).
func (p *reporter) try(ctx context.Context, e *shell.Env, domain string, f *dane.Finding) dane.Outcome {
	conn, ip, err := p.connect(ctx, e, f)
	for _, l := range f.TLSALines {
		p.line(l)
	}
	if err != nil {
		return dane.Outcome{Err: err}
	}
	p.say(maillog.Info, "Checking TLS connection.")

	now := e.Now
	if now == nil {
		now = time.Now
	}
	t := f.Target()
	cfg := t.TLSConfig(now)
	var (
		seen  *tls.ConnectionState // the handshake, also when verification fails
		match dane.Match
		verr  error
	)
	// The same check as the target's VerifyConnection (dane.Verify), kept
	// here to show what matched, and the protocol when nothing did.
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		seen = &cs
		if len(t.Records) == 0 {
			return nil // only unusable records: TLS without authentication
		}
		match, verr = dane.Verify(t.Records, t.Names, cs, now())
		return verr
	}
	ehlo := "localhost"
	if e.Hostname != nil && e.Hostname() != "" {
		ehlo = e.Hostname()
	}
	given := false
	res, err := smtp.Probe(ctx, smtp.ProbeConfig{
		Addr:     netip.AddrPortFrom(ip, 25).String(),
		EHLOName: ehlo,
		TLS:      cfg,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			if given {
				return nil, errors.New("daneverify: the connection was used")
			}
			given = true
			return conn, nil
		},
	})
	established := func(cs *tls.ConnectionState) {
		p.say(maillog.Info, "TLS connection established: protocol %s, cipher %s.", protocolName(cs.Version), cipherName(cs.CipherSuite))
	}
	switch {
	case err == nil:
		established(res.TLS)
		if len(t.Records) == 0 {
			p.say(maillog.Info, "Certificate not verified: no usable TLSA record, TLS is required without authentication.")
		} else {
			p.say(maillog.Info, "%s.", match)
			p.say(maillog.Info, "Certificate verification successful")
		}
		p.say(maillog.Info, "TLS connection succeeded %s.", domain)
		return dane.Outcome{TLS: res.TLS}
	case verr != nil && seen != nil:
		established(seen)
		why := strings.TrimPrefix(verr.Error(), "dane: ")
		p.say(maillog.Warning, "Certificate verification failed: %s.", why)
		return dane.Outcome{TLS: seen, Err: fmt.Errorf("certificate verification failed: %s", why)}
	}
	var why string
	var pe *smtp.ProbeError
	switch {
	case errors.Is(err, smtp.ErrNoSTARTTLS):
		why = fmt.Sprintf("STARTTLS is not offered by %s, and DANE requires TLS", ip)
	case errors.As(err, &pe) && pe.Step == smtp.StepTLS:
		why = fmt.Sprintf("TLS handshake with %s failed: %v", ip, pe.Err)
	case errors.As(err, &pe):
		why = fmt.Sprintf("SMTP conversation with %s failed at %s: %v", ip, strings.ToUpper(string(pe.Step)), pe.Err)
	default:
		why = err.Error()
	}
	p.say(maillog.Warning, "TLS connection failed: %s.", why)
	return dane.Outcome{Err: errors.New(why)}
}

// connect opens a connection to port 25 of the first address of f that
// answers, and says so as the appliance does.
func (p *reporter) connect(ctx context.Context, e *shell.Env, f *dane.Finding) (net.Conn, netip.Addr, error) {
	var last error
	for _, a := range f.Addresses {
		p.say(maillog.Info, "Connecting to %s on port 25.", a)
		dctx, cancel := context.WithTimeout(ctx, smtp.DefaultTimeout)
		conn, err := e.DialContext(dctx, "tcp", netip.AddrPortFrom(a, 25).String(), f.Host)
		cancel()
		if err != nil {
			p.say(maillog.Warning, "Connection to %s on port 25 failed: %v.", a, err)
			last = err
			continue
		}
		local := "unknown"
		if ta, ok := conn.LocalAddr().(*net.TCPAddr); ok {
			local = ta.IP.String()
		}
		p.say(maillog.Info, "Connected to %s from interface %s.", a, local)
		return conn, a, nil
	}
	if last == nil {
		return nil, netip.Addr{}, fmt.Errorf("no address to connect to for %s", f.Host)
	}
	return nil, netip.Addr{}, fmt.Errorf("could not connect to port 25 of %s: %v", f.Host, last)
}
