// Package tlsverify is the appliance's tlsverify: it opens an outbound TLS
// connection to a mail server on demand, as a delivery would, and says whether the
// server's certificate verifies for the TLS domain: "TLS connection to HOST
// succeeded." or the reason it failed.
//
// The host is the one given, or the first MX host of the domain that answers (the
// domain itself when it has no MX record). The connection goes to port 25 unless a
// port is given, sends EHLO and STARTTLS, and completes the TLS handshake (TLS 1.0
// or higher, SNI the host name); then the certificate chain must lead to a CA of the
// trust pool (certconfig, --ca-file) and the certificate must name the TLS domain,
// the name the Verify TLS settings check. A certificate that names the MX host but
// not the domain verifies too, and the report says that Required - Verify Hosted
// Domains accepts it where Required - Verify does not.
//
// With --json the command prints one JSON object (DESIGN.md, "tlsverify --json")
// and nothing else on its output. The exit status is 0 when the connection
// succeeded and verified, 1 otherwise.
package tlsverify

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segcli/segcli/engine/delivery"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/smtp"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

const usage = "tlsverify [DOMAIN [HOST[:PORT]]] [--json]"

// Command returns tlsverify.
func Command() shell.Command {
	return shell.Command{
		Name:    "tlsverify",
		Usage:   usage,
		Summary: "Open an outbound TLS connection to a mail server and verify its certificate.",
		Description: `Connects to HOST (port 25, or PORT) as a delivery would: EHLO, STARTTLS, the TLS
handshake; then verifies the server's certificate: a chain to a trusted CA
(certconfig, --ca-file) and the name DOMAIN, as the Verify TLS settings require. A
certificate naming the MX host instead verifies too, and the report says that only
Required - Verify Hosted Domains accepts it. HOST defaults to DOMAIN, which means the
first MX host of DOMAIN that answers (DOMAIN itself when it has no MX record).
Without arguments it asks for the domain and the host.

The last line says "TLS connection to HOST succeeded." or why it failed.

  --json  print one JSON object instead: domain, host, port, address, starttls,
          tls_version, cipher, verified, matched_name, error, result (pass or fail)

Exit status: 0 when the connection succeeded and the certificate verified, 1
otherwise and for bad arguments.`,
		Run: run,
	}
}

// options are the parsed arguments.
type options struct {
	domain string
	host   string // "" when not given: the domain's MX hosts
	port   int
	json   bool
}

// parseArgs reads "[DOMAIN [HOST[:PORT]]] [--json]".
func parseArgs(args []string) (options, error) {
	o := options{port: 25}
	var pos []string
	for _, a := range args {
		switch {
		case a == "--json":
			o.json = true
		case strings.HasPrefix(a, "-"):
			return options{}, fmt.Errorf("tlsverify: unknown option %q; usage: %s", a, usage)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) > 2 {
		return options{}, fmt.Errorf("tlsverify: give a domain and at most one host; usage: %s", usage)
	}
	if len(pos) > 0 {
		d, err := checkDomain(pos[0])
		if err != nil {
			return options{}, fmt.Errorf("tlsverify: %w", err)
		}
		o.domain = d
	}
	if len(pos) > 1 {
		h, port, err := ParseHost(pos[1])
		if err != nil {
			return options{}, fmt.Errorf("tlsverify: %w", err)
		}
		o.host, o.port = h, port
		if h == o.domain {
			o.host = ""
		}
	}
	if o.json && o.domain == "" {
		return options{}, fmt.Errorf("tlsverify: --json needs a DOMAIN; usage: %s", usage)
	}
	return o, nil
}

// checkDomain returns a mail domain in lower case without its final dot, or why it
// is not one.
func checkDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return "", fmt.Errorf("%q is an IP address: give the TLS domain, such as example.com", s)
	}
	if d == "" || store.ValidHostname(d) != nil {
		return "", fmt.Errorf("%q is not a domain name: give the TLS domain, such as example.com", s)
	}
	return d, nil
}

// ParseHost reads HOST[:PORT]: a host name, an IPv4 address, or an IPv6 address
// (in brackets when a port follows); the port is 25 when none is given. The host
// comes back in lower case without a final dot, an address in canonical form.
func ParseHost(s string) (string, int, error) {
	s = strings.TrimSpace(s)
	host, portText := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("%q: a bracket is not closed; give HOST, HOST:PORT or [IPv6]:PORT", s)
		}
		host, portText = s[1:end], s[end+1:]
		if portText != "" {
			p, ok := strings.CutPrefix(portText, ":")
			if !ok {
				return "", 0, fmt.Errorf("%q: give HOST, HOST:PORT or [IPv6]:PORT", s)
			}
			portText = p
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return "", 0, fmt.Errorf("%q: only IPv6 addresses go in brackets", s)
		}
	case strings.Count(s, ":") == 1:
		host, portText, _ = strings.Cut(s, ":")
	}
	port := 25
	if portText != "" {
		p, err := strconv.Atoi(portText)
		if err != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
		}
		port = p
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", 0, fmt.Errorf("%q: an address with a zone is not accepted", s)
		}
		return a.Unmap().String(), port, nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "" || store.ValidHostname(h) != nil {
		return "", 0, fmt.Errorf("%q is not a host name or IP address: give one such as mx.example.com or mx.example.com:26", s)
	}
	return h, port, nil
}

// Report is the outcome of tlsverify: the `tlsverify --json` object. The keys of
// DESIGN.md are always present (empty strings when there is nothing to say);
// matched_name only when the certificate matched.
type Report struct {
	Domain string `json:"domain"`
	// Host is the host connected to (an MX host when none was given), or the
	// host tried last when no connection was made.
	Host    string `json:"host"`
	Port    int    `json:"port"`
	Address string `json:"address"`
	// STARTTLS reports whether the server offered STARTTLS.
	STARTTLS   bool   `json:"starttls"`
	TLSVersion string `json:"tls_version"`
	Cipher     string `json:"cipher"`
	// Verified: the chain leads to a trusted CA and the certificate names the
	// domain or the host; MatchedName is the name it matched.
	Verified    bool   `json:"verified"`
	MatchedName string `json:"matched_name,omitempty"`
	Error       string `json:"error"`
	// Result is "pass" (TLS established and verified) or "fail".
	Result string `json:"result"`
}

// Results.
const (
	ResultPass = "pass"
	ResultFail = "fail"
)

func run(ctx context.Context, e *shell.Env, args []string) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	if o.domain == "" {
		if o, err = dialog(e); err != nil {
			return err
		}
	}
	var w io.Writer = e.Out
	if o.json {
		w = nil
	}
	rep, err := verify(ctx, e, o, w)
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(e.Out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("tlsverify: %w", err)
		}
	}
	if rep.Result != ResultPass {
		return fmt.Errorf("TLS connection to %s failed: %s.", rep.Host, strings.TrimSuffix(rep.Error, "."))
	}
	if !o.json {
		fmt.Fprintf(e.Out, "TLS connection to %s succeeded.\n", rep.Host)
	}
	return nil
}

// dialog asks for the domain and the host, as the appliance does.
func dialog(e *shell.Env) (options, error) {
	o := options{port: 25}
	d, err := e.P.Text("Enter the TLS domain to verify against:", "", func(s string) error {
		if s == "" {
			return errors.New("Enter a domain such as example.com.")
		}
		if _, err := checkDomain(s); err != nil {
			return fmt.Errorf("%v.", err)
		}
		return nil
	})
	if err != nil {
		return o, err
	}
	o.domain, _ = checkDomain(d)
	h, err := e.P.Text("Enter the destination host to connect to. Append the port (example.com:26) if you are not connecting on port 25:", o.domain, func(s string) error {
		if _, _, err := ParseHost(s); err != nil {
			return fmt.Errorf("%v.", err)
		}
		return nil
	})
	if err != nil {
		return o, err
	}
	o.host, o.port, _ = ParseHost(h)
	if o.host == o.domain {
		o.host = ""
	}
	return o, nil
}

// reporter prints the progress lines to the screen (w; nil under --json) and the
// mail log.
type reporter struct {
	w   io.Writer
	log maillog.Logger
}

// failed logs why the check failed; the screen gets it as the closing line.
func (p *reporter) failed(why string) {
	if p.log != nil {
		p.log.Logf(maillog.Warning, "TLS verification failed: %s", why)
	}
}

func (p *reporter) say(level maillog.Level, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	if p.w != nil {
		fmt.Fprintln(p.w, text)
	}
	if p.log != nil {
		p.log.Logf(level, "%s", text)
	}
}

// target is a host to try, with its addresses.
type target struct {
	name  string
	addrs []netip.Addr
	err   error // why there is no address
}

// verify runs the check. An error means it could not run (no resolver,
// interrupted); the verdict is in the report.
func verify(ctx context.Context, e *shell.Env, o options, w io.Writer) (Report, error) {
	p := &reporter{w: w, log: e.Log}
	rep := Report{Domain: o.domain, Host: cmp.Or(o.host, o.domain), Port: o.port, Result: ResultFail}
	var targets []target
	if a, err := netip.ParseAddr(o.host); err == nil {
		targets = []target{{name: o.host, addrs: []netip.Addr{a}}}
	} else {
		if e.Resolver == nil {
			return rep, errors.New("tlsverify: no DNS servers are configured: use dnsconfig to enter one")
		}
		r, err := e.Resolver()
		if err != nil {
			return rep, fmt.Errorf("tlsverify: %w", err)
		}
		if o.host == "" {
			targets, err = mxTargets(ctx, r, o.domain, p)
		} else {
			var t target
			t, err = addresses(ctx, r, o.host)
			targets = []target{t}
		}
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return rep, fmt.Errorf("tlsverify: %w", cerr)
			}
			rep.Error = err.Error()
			p.failed(rep.Error)
			return rep, nil
		}
	}
	var conn net.Conn
	var last error
	for _, t := range targets {
		rep.Host = t.name
		if len(t.addrs) == 0 {
			last = cmp.Or(t.err, fmt.Errorf("no address for %s", t.name))
			p.say(maillog.Warning, "%s.", capital(last.Error()))
			continue
		}
		for _, a := range t.addrs {
			p.say(maillog.Info, "Connecting to %s on port %d.", a, o.port)
			dctx, cancel := context.WithTimeout(ctx, smtp.DefaultTimeout)
			c, err := e.DialContext(dctx, "tcp", netip.AddrPortFrom(a, uint16(o.port)).String(), t.name)
			cancel()
			if err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return rep, fmt.Errorf("tlsverify: %w", cerr)
				}
				p.say(maillog.Warning, "Connection to %s on port %d failed: %v.", a, o.port, err)
				last = fmt.Errorf("could not connect to port %d of %s: %v", o.port, t.name, err)
				continue
			}
			local := "unknown"
			if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
				local = ta.IP.String()
			}
			p.say(maillog.Info, "Connected to %s from interface %s.", a, local)
			conn, rep.Address = c, a.String()
			break
		}
		if conn != nil {
			break
		}
	}
	if conn == nil {
		rep.Error = last.Error()
		p.failed(rep.Error)
		return rep, nil
	}
	return check(ctx, e, o, conn, rep, p)
}

// mxTargets returns the MX hosts of domain in preference order with their
// addresses (the domain itself when it has no MX record).
func mxTargets(ctx context.Context, r *dns.Resolver, domain string, p *reporter) ([]target, error) {
	res, err := r.Lookup(ctx, domain, dns.TypeMX)
	switch {
	case res.Status == dns.TempFail || res.Status == dns.Bogus:
		return nil, fmt.Errorf("the MX lookup for %s failed: %v", domain, err)
	case res.NXDomain:
		return nil, fmt.Errorf("the domain %s does not exist", domain)
	}
	var mxs []dns.MX
	null := false
	for _, rr := range res.Records {
		m, ok := rr.MX()
		switch {
		case !ok:
		case m.IsNull():
			null = true
		default:
			mxs = append(mxs, m)
		}
	}
	if len(mxs) == 0 {
		if null {
			return nil, fmt.Errorf("%s accepts no mail (null MX)", domain)
		}
		p.say(maillog.Info, "No MX record found for %s: connecting to %s itself.", domain, domain)
		t, err := addresses(ctx, r, domain)
		return []target{t}, err
	}
	slices.SortStableFunc(mxs, func(a, b dns.MX) int {
		return cmp.Or(cmp.Compare(a.Pref, b.Pref), strings.Compare(a.Host, b.Host))
	})
	var out []target
	for _, m := range mxs {
		name := strings.TrimSuffix(strings.ToLower(m.Host), ".")
		p.say(maillog.Info, "MX record(%s) found for %s", name, domain)
		t, _ := addresses(ctx, r, name) // t.err says why it has no address
		out = append(out, t)
	}
	return out, nil
}

// addresses looks up the IPv4, then IPv6, addresses of host; the error says why
// there is none.
func addresses(ctx context.Context, r *dns.Resolver, host string) (target, error) {
	t := target{name: host}
	var failed error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		res, err := r.Lookup(ctx, host, qt)
		if res.Status == dns.TempFail || res.Status == dns.Bogus {
			failed = fmt.Errorf("the address lookup for %s failed: %v", host, err)
			continue
		}
		for _, rr := range res.Records {
			if a, ok := rr.Addr(); ok {
				t.addrs = append(t.addrs, a.Unmap())
			}
		}
	}
	if len(t.addrs) == 0 {
		t.err = cmp.Or(failed, fmt.Errorf("no address for %s", host))
		return t, t.err
	}
	return t, nil
}

// check runs EHLO, STARTTLS and the handshake over conn, then verifies the
// certificate.
func check(ctx context.Context, e *shell.Env, o options, conn net.Conn, rep Report, p *reporter) (Report, error) {
	now := e.Now
	if now == nil {
		now = time.Now
	}
	sni := rep.Host
	if _, err := netip.ParseAddr(sni); err == nil {
		sni = o.domain
	}
	ehlo := "localhost"
	if e.Session != nil {
		if _, c := e.Session.Committed(); c.Hostname != "" {
			ehlo = c.Hostname
		}
	}
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, Time: now}
	given := false
	p.say(maillog.Info, "Checking TLS connection.")
	res, err := smtp.Probe(ctx, smtp.ProbeConfig{
		Addr:     net.JoinHostPort(rep.Address, strconv.Itoa(o.port)),
		EHLOName: ehlo,
		TLS:      cfg,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			if given {
				return nil, errors.New("tlsverify: the connection was used")
			}
			given = true
			return conn, nil
		},
	})
	rep.STARTTLS = res.STARTTLS
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return rep, fmt.Errorf("tlsverify: %w", cerr)
		}
		var pe *smtp.ProbeError
		switch {
		case errors.Is(err, smtp.ErrNoSTARTTLS):
			rep.Error = fmt.Sprintf("STARTTLS is not offered by %s", rep.Host)
		case errors.As(err, &pe) && pe.Step == smtp.StepSTARTTLS:
			rep.Error = fmt.Sprintf("STARTTLS refused by %s: %v", rep.Host, pe.Err)
		case errors.As(err, &pe) && pe.Step == smtp.StepTLS:
			rep.Error = fmt.Sprintf("TLS handshake with %s failed: %v", rep.Host, pe.Err)
		case errors.As(err, &pe):
			rep.Error = fmt.Sprintf("SMTP conversation with %s failed at %s: %v", rep.Host, strings.ToUpper(string(pe.Step)), pe.Err)
		default:
			rep.Error = err.Error()
		}
		p.failed(rep.Error)
		return rep, nil
	}
	st := res.TLS
	rep.TLSVersion, rep.Cipher = mtasts.TLSVersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)
	p.say(maillog.Info, "TLS connection established: protocol %s, cipher %s.", maillog.TLSVersion(st.Version), maillog.CipherName(st.CipherSuite))

	p.say(maillog.Info, "Verifying peer certificate.")
	if e.Trust == nil {
		return rep, errors.New("tlsverify: no trust pool: the certificate cannot be verified")
	}
	pool, err := e.Trust()
	if err != nil {
		return rep, fmt.Errorf("tlsverify: %w", err)
	}
	if _, err := pool.Verify(st.PeerCertificates, "", now()); err != nil {
		rep.Error = "certificate verification failed: " + delivery.VerifyError(err)
		p.failed(rep.Error)
		return rep, nil
	}
	names := []string{o.domain}
	if _, err := netip.ParseAddr(rep.Host); err != nil && rep.Host != o.domain {
		names = append(names, rep.Host)
	}
	var first error
	for _, n := range names {
		p.say(maillog.Info, "Verifying certificate name %s.", n)
		if _, err := pool.Verify(st.PeerCertificates, n, now()); err != nil {
			first = cmp.Or(first, err)
			p.say(maillog.Info, "TLS certificate does not match %s.", n)
			continue
		}
		rep.MatchedName = n
		p.say(maillog.Info, "TLS certificate match %s", n)
		break
	}
	if rep.MatchedName == "" {
		rep.Error = "certificate verification failed: " + delivery.VerifyError(first)
		p.failed(rep.Error)
		return rep, nil
	}
	if rep.MatchedName != o.domain {
		p.say(maillog.Info, "The certificate names the MX host, not %s: TLS Required - Verify Hosted Domains accepts it, Required - Verify does not.", o.domain)
	}
	p.say(maillog.Info, "TLS certificate verified.")
	rep.Verified, rep.Result = true, ResultPass
	if p.log != nil {
		p.log.Logf(maillog.Info, "TLS connection to %s succeeded.", rep.Host)
	}
	return rep, nil
}

// capital makes the first letter upper case.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
