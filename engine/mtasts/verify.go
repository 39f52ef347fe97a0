package mtasts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/smtp"
)

// MaxVerifyMX is the most MX hosts Verify probes; further ones are listed
// without a probe.
const MaxVerifyMX = 10

// Verdict is the overall result of Verify; the values are those of the
// mtastsverify JSON ("result").
type Verdict string

// The verdicts (DESIGN.md, "What the values mean").
const (
	// VerdictPass: a valid policy of mode enforce or testing, and at least
	// one MX host that matches it and passes the TLS checks.
	VerdictPass Verdict = "pass"
	// VerdictFail: a record exists but the policy cannot be fetched or is
	// invalid, or no MX host passes.
	VerdictFail Verdict = "fail"
	// VerdictNone: no (single, valid) STS record, or mode none.
	VerdictNone Verdict = "none"
	// VerdictTempFail: a lookup failed temporarily.
	VerdictTempFail Verdict = "tempfail"
)

// PolicyStatus is the state of the policy in a Report ("policy.status").
type PolicyStatus string

// The policy statuses.
const (
	PolicyValid      PolicyStatus = "valid"       // fetched (or cached) and parsed
	PolicyInvalid    PolicyStatus = "invalid"     // fetched, does not parse
	PolicyFetchError PolicyStatus = "fetch-error" // HTTP, TLS, redirect, type, size, time
	PolicyNotFetched PolicyStatus = "not-fetched" // no record to fetch it for
)

// Report is what Verify found; its JSON is the mtastsverify --json contract
// (DESIGN.md), with a few more fields for the human report.
type Report struct {
	Domain  string       `json:"domain"`
	Record  RecordReport `json:"record"`
	Policy  PolicyReport `json:"policy"`
	MXHosts []MXReport   `json:"mx_hosts"`
	Result  Verdict      `json:"result"`
	// Fixes says what to change, one sentence each, when the result is not
	// pass.
	Fixes []string `json:"fixes,omitempty"`
	// Error is a problem with the MX lookup.
	Error string `json:"error,omitempty"`
}

// RecordReport describes the TXT lookup.
type RecordReport struct {
	Status RecordStatus `json:"status"`
	ID     string       `json:"id,omitempty"`
	Error  string       `json:"error,omitempty"`
	// Name is the name asked; TXT every TXT record found there.
	Name string   `json:"name"`
	TXT  []string `json:"txt,omitempty"`
}

// PolicyReport describes the fetch and the policy.
type PolicyReport struct {
	Status PolicyStatus `json:"status"`
	Source Source       `json:"source,omitempty"`
	Mode   Mode         `json:"mode,omitempty"`
	MX     []string     `json:"mx,omitempty"`
	// MaxAge is the max_age applied (capped); nil without a policy.
	MaxAge   *int64   `json:"max_age,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	// URL, HTTPStatus (0: no response), ContentType and Text describe the
	// fetch; ViaProxy says it went through the configured proxy.
	URL         string `json:"url,omitempty"`
	HTTPStatus  int    `json:"http_status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Text        string `json:"text,omitempty"`
	ViaProxy    bool   `json:"via_proxy,omitempty"`
}

// MXReport describes one MX host.
type MXReport struct {
	Host          string `json:"host"`
	Preference    uint16 `json:"preference"`
	MatchesPolicy bool   `json:"matches_policy"`
	STARTTLS      bool   `json:"starttls"`
	TLSVersion    string `json:"tls_version,omitempty"`
	PKIXValid     bool   `json:"pkix_valid"`
	Error         string `json:"error,omitempty"`
	// Address is the address probed ("192.0.2.1:25"); Cipher the TLS cipher
	// suite; Implicit marks the domain itself used as its MX (RFC 5321
	// §5.1, no MX records).
	Address  string `json:"address,omitempty"`
	Cipher   string `json:"cipher,omitempty"`
	Implicit bool   `json:"implicit,omitempty"`

	// failed is the probe step that failed ("" also when the host could
	// not be resolved: then unchecked is set).
	failed    smtp.Step
	unchecked bool
}

// passes reports whether the host passed the TLS checks of §4.2.
func (m MXReport) passes() bool { return m.STARTTLS && m.TLSVersion != "" && m.PKIXValid }

// Verify checks domain's MTA-STS setup live, for mtastsverify: the TXT
// record, a fresh fetch of the policy (neither the cache nor the fetch
// hold-off is used, and nothing is cached; only when the TXT lookup fails
// temporarily is a cached policy shown, with source "cache"), and for each
// MX host whether it matches the policy, offers STARTTLS and presents a
// certificate valid for its name over TLS 1.2 or higher. The lookups, the
// fetch and the probes overlap.
func (e *Engine) Verify(ctx context.Context, domain string) Report {
	rep := Report{Domain: domain, MXHosts: []MXReport{}, Policy: PolicyReport{Status: PolicyNotFetched}}
	d, err := NormalizeDomain(domain)
	if err != nil {
		rep.Record = RecordReport{Status: RecordNone, Error: err.Error()}
		rep.Result = VerdictNone
		rep.Error = err.Error()
		return rep
	}
	rep.Domain = d
	rep.Policy.URL = PolicyURL(d)

	var pre *addrFuture
	if e.cfg.Proxy == nil {
		pctx, cancel := context.WithCancel(ctx)
		pre = e.prefetch(pctx, "mta-sts."+d)
		defer func() {
			cancel()
			<-pre.done
		}()
	}
	var (
		wg     sync.WaitGroup
		mxErr  error
		mxTemp bool
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rep.MXHosts, mxErr, mxTemp = e.verifyMX(ctx, d)
	}()

	lk := LookupRecord(ctx, e.resolver, d)
	rep.Record = RecordReport{Name: lk.Name, Status: lk.Status, TXT: lk.TXT}
	if lk.Err != nil {
		rep.Record.Error = lk.Err.Error()
	}
	var policy *Policy
	switch lk.Status {
	case RecordFound:
		rep.Record.ID = lk.Record.ID
		out := e.fetchParse(ctx, d, pre)
		policy = e.reportPolicy(&rep.Policy, out)
	case RecordTempFail:
		if entry, ok := e.cacheGet(ctx, d); ok && entry.Valid(e.now()) {
			p := entry.Policy
			policy = &p
			rep.Record.ID = entry.ID
			fillPolicy(&rep.Policy, p, nil)
			rep.Policy.Source = SourceCache
			rep.Policy.Text = entry.Text
		}
	}
	wg.Wait()
	if mxErr != nil {
		rep.Error = mxErr.Error()
	}
	for i := range rep.MXHosts {
		rep.MXHosts[i].MatchesPolicy = policy != nil && policy.Match(rep.MXHosts[i].Host)
	}
	rep.Result, rep.Fixes = verdict(rep, lk, policy, mxTemp)
	return rep
}

// reportPolicy fills pr from a fetch and returns the policy when valid.
func (e *Engine) reportPolicy(pr *PolicyReport, out fetchOutcome) *Policy {
	f := out.fetched
	pr.URL, pr.HTTPStatus, pr.ContentType, pr.Text, pr.ViaProxy = f.URL, f.StatusCode, f.ContentType, f.Text, f.ViaProxy
	pr.Warnings = out.warnings
	switch {
	case out.err == nil:
		pr.Status = PolicyValid
		pr.Source = SourceFetched
		fillPolicy(pr, out.policy, out.warnings)
		p := out.policy
		return &p
	case errors.Is(out.err, ErrInvalidPolicy):
		pr.Status = PolicyInvalid
		pr.Source = SourceFetched
	default:
		pr.Status = PolicyFetchError
	}
	pr.Error = out.err.Error()
	return nil
}

func fillPolicy(pr *PolicyReport, p Policy, warnings []string) {
	pr.Status = PolicyValid
	pr.Mode, pr.MX, pr.Warnings = p.Mode, p.MX, warnings
	age := p.MaxAge
	pr.MaxAge = &age
}

// verifyMX looks up domain's MX hosts and probes them at once. The error
// is a problem with the lookup; temp says it was temporary.
func (e *Engine) verifyMX(ctx context.Context, d string) (hosts []MXReport, err error, temp bool) {
	hosts = []MXReport{}
	mxs, res, err := e.resolver.MX(ctx, d)
	if err != nil {
		return hosts, fmt.Errorf("MX lookup for %s failed: %w", d, err), true
	}
	implicit := false
	switch {
	case len(mxs) == 1 && mxs[0].IsNull():
		return hosts, fmt.Errorf("%s has a null MX (RFC 7505): it accepts no mail", d), false
	case len(mxs) == 0 && res.NXDomain:
		return hosts, fmt.Errorf("%s does not exist (NXDOMAIN)", d), false
	case len(mxs) == 0:
		// RFC 5321 §5.1, RFC 8461 §4.1: the implicit MX.
		mxs = []dns.MX{{Host: d + ".", Pref: 0}}
		implicit = true
	}
	hosts = make([]MXReport, len(mxs))
	var wg sync.WaitGroup
	for i, mx := range mxs {
		hosts[i] = MXReport{Host: strings.TrimSuffix(mx.Host, "."), Preference: mx.Pref, Implicit: implicit}
		if mx.IsNull() {
			hosts[i].Error = "null MX"
			continue
		}
		if i >= MaxVerifyMX {
			hosts[i].Error = fmt.Sprintf("not probed (only the first %d MX hosts are)", MaxVerifyMX)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.probeMX(ctx, &hosts[i])
		}()
	}
	wg.Wait()
	return hosts, nil, false
}

// probeMX probes m.Host on port 25: the first address that accepts a
// connection.
func (e *Engine) probeMX(ctx context.Context, m *MXReport) {
	addrs, err := e.resolve(ctx, m.Host)
	if err != nil {
		m.Error = fmt.Sprintf("resolve %s: %v", m.Host, err)
		m.unchecked = true
		return
	}
	timeout := e.cfg.ProbeTimeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	for i, a := range addrs {
		var pk pkixCheck
		addr := netip.AddrPortFrom(a, 25).String()
		res, err := smtp.Probe(ctx, smtp.ProbeConfig{
			Addr:     addr,
			EHLOName: e.cfg.EHLOName,
			TLS:      reportingTLSConfig(m.Host, e.roots, e.now, &pk),
			Timeout:  timeout,
			Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return e.dial(ctx, network, addr, m.Host)
			},
		})
		if res.Failed == smtp.StepConnect && i+1 < len(addrs) && ctx.Err() == nil {
			continue
		}
		m.Address = addr
		m.failed = res.Failed
		m.STARTTLS = res.STARTTLS
		if res.TLS != nil {
			m.TLSVersion = TLSVersionName(res.TLS.Version)
			m.Cipher = tls.CipherSuiteName(res.TLS.CipherSuite)
			m.PKIXValid = pk.checked && pk.err == nil
		}
		switch {
		case err != nil:
			m.Error = err.Error()
		case pk.err != nil:
			m.Error = "certificate not valid for " + m.Host + ": " + pk.err.Error()
		}
		return
	}
}

// verdict computes the result and what to fix.
func verdict(rep Report, lk RecordLookup, policy *Policy, mxTemp bool) (Verdict, []string) {
	var fixes []string
	d := rep.Domain
	switch lk.Status {
	case RecordTempFail:
		return VerdictTempFail, []string{"the TXT lookup of " + lk.Name + " failed temporarily; check the domain's name servers and try again"}
	case RecordNone:
		return VerdictNone, nil
	case RecordInvalid:
		return VerdictNone, []string{"senders ignore the TXT record at " + lk.Name + ": publish \"v=STSv1; id=...;\" with an id of 1 to 32 letters and digits (" + rep.Record.Error + ")"}
	case RecordMultiple:
		return VerdictNone, []string{"senders ignore MTA-STS while " + lk.Name + " has more than one v=STSv1 record: keep exactly one"}
	}
	switch rep.Policy.Status {
	case PolicyFetchError:
		return VerdictFail, []string{"serve the policy at " + rep.Policy.URL + " with status 200, Content-Type text/plain, no redirect, and a certificate valid for mta-sts." + d + " (" + rep.Policy.Error + ")"}
	case PolicyInvalid:
		return VerdictFail, []string{"fix the policy text (" + rep.Policy.Error + ")"}
	}
	if policy == nil || policy.Mode == ModeNone {
		return VerdictNone, nil
	}
	if mxTemp {
		return VerdictTempFail, []string{"the MX lookup of " + d + " failed temporarily; try again"}
	}
	pass := false
	for _, m := range rep.MXHosts {
		switch {
		case !m.MatchesPolicy:
			fixes = append(fixes, "MX host "+m.Host+" matches no mx pattern of the policy: add it to the policy (senders skip it in mode enforce)")
		case m.passes():
			pass = true
		case m.unchecked || m.failed == smtp.StepConnect || m.failed == smtp.StepBanner || m.failed == smtp.StepHello || (m.Error != "" && m.Address == ""):
			fixes = append(fixes, "MX host "+m.Host+" could not be checked: "+m.Error)
		case !m.STARTTLS:
			fixes = append(fixes, "MX host "+m.Host+" does not offer STARTTLS: enable TLS on it")
		default:
			fixes = append(fixes, "MX host "+m.Host+" fails the TLS checks (TLS 1.2 or higher, a certificate from a trusted CA naming "+m.Host+"): "+m.Error)
		}
	}
	if len(rep.MXHosts) == 0 && rep.Error != "" {
		fixes = append(fixes, rep.Error)
	}
	if pass {
		return VerdictPass, fixes
	}
	if len(fixes) == 0 {
		fixes = append(fixes, "no MX host of "+d+" passes the policy")
	}
	return VerdictFail, fixes
}
