package delivery

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/segcli/segcli/engine/dane"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/tlspolicy"
)

// Plan is where mail for a destination goes and what each host's TLS must
// achieve. When Bounce or Defer is set, no host is tried.
type Plan struct {
	Domain string
	// Routed: the hosts are an SMTP route's.
	Routed bool
	// Implicit: the domain has no MX RRset and is its own mail host.
	Implicit bool
	// Hosts are in the order to try.
	Hosts []PlanHost
	// Bounce is the reason mail for the domain bounces (null MX, the domain
	// does not exist); Defer the reason it waits (a lookup failed
	// temporarily, a policy forbids every host now).
	Bounce string
	Defer  string
	// STS is the MTA-STS decision, when one was asked for.
	STS *mtasts.Result
}

// PlanHost is one host of a plan.
type PlanHost struct {
	// Name is the host name (an IP address for a route given as one).
	Name string
	Pref uint16
	Port int
	// Addrs are its addresses in the IP sort preference's order.
	Addrs []netip.Addr
	// Req is what the connection must achieve; Action Skip means the host
	// is not used (Req.Why says why).
	Req tlspolicy.Requirement
	// DANE is what the TLSA records require (Req.Kind DANE).
	DANE *dane.Target
	// Err says why the host cannot be used although policy allows it (no
	// address, a failed lookup).
	Err string
}

// Plan resolves dest and decides, for each host, the TLS requirement.
func (e *Engine) Plan(ctx context.Context, dest Destination) *Plan {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(dest.Domain)), ".")
	p := &Plan{Domain: d}
	c := dest.Controls
	if c.TLS == 0 {
		c.TLS = tlspolicy.TLSPreferred
	}
	if len(dest.Routes) > 0 {
		e.planRoute(ctx, p, c, dest)
		return p
	}
	if e.resolver == nil {
		p.Defer = "no DNS resolver configured"
		return p
	}
	daneOn := c.TLS != tlspolicy.TLSNo && (c.DANE == tlspolicy.DANEOpportunistic || c.DANE == tlspolicy.DANEMandatory)
	var hosts []PlanHost
	var findings []tlspolicy.Findings
	var targets []*dane.Target
	if daneOn {
		gr, err := dane.Gather(ctx, e.resolver, d, e.log)
		if err != nil {
			p.Bounce = "5.1.2 bad destination domain: " + err.Error()
			return p
		}
		switch {
		case gr.Err != nil:
			p.Defer = "MX lookup failed: " + gr.Err.Error()
			return p
		case gr.NXDomain:
			p.Bounce = "5.1.2 domain " + d + " does not exist"
			return p
		case gr.NullMX:
			p.Bounce = "556 5.1.10 domain " + d + " accepts no mail (null MX)"
			return p
		}
		p.Implicit = gr.Implicit
		for i := range gr.Hosts {
			f := &gr.Hosts[i]
			h := PlanHost{Name: f.Host, Pref: f.Pref, Port: e.port, Addrs: dest.IPSort.sort(f.Addresses)}
			var fd tlspolicy.Findings
			switch f.State {
			case dane.StateAuthenticate:
				t := f.Target()
				fd.DANE, fd.DANENames, fd.DANEBase = tlspolicy.DANEUsable, t.Names, t.BaseDomain
				targets = append(targets, &t)
			case dane.StateTLSRequired:
				fd.DANE = tlspolicy.DANEUnusable
				targets = append(targets, nil)
			case dane.StateTempFail, dane.StateBogus:
				fd.DANE = tlspolicy.DANELookupFailed
				targets = append(targets, nil)
			default:
				targets = append(targets, nil)
			}
			if len(h.Addrs) == 0 && f.State != dane.StateTempFail && f.State != dane.StateBogus {
				h.Err = "no address for " + f.Host
				if f.AddressStatus == dns.TempFail {
					h.Err = "address lookup for " + f.Host + " failed temporarily"
				}
			}
			hosts = append(hosts, h)
			findings = append(findings, fd)
		}
	} else {
		var ok bool
		if hosts, ok = e.resolveMX(ctx, p, dest.IPSort); !ok {
			return p
		}
		findings = make([]tlspolicy.Findings, len(hosts))
		targets = make([]*dane.Target, len(hosts))
	}
	if p.Implicit && len(hosts) == 1 && len(hosts[0].Addrs) == 0 && hosts[0].Err != "" && !strings.Contains(hosts[0].Err, "temporarily") {
		p.Bounce = "5.1.2 domain " + d + " has no mail host (no MX and no address record)"
		return p
	}

	// MTA-STS, asked for only when some host needs it (DANE did not decide).
	stsAsked := false
	var sts mtasts.Result
	for i := range hosts {
		h := &hosts[i]
		f := &findings[i]
		needSTS := c.MTASTS && c.TLS != tlspolicy.TLSNo &&
			(!daneOn || (f.DANE == tlspolicy.DANEAbsent && c.DANE == tlspolicy.DANEOpportunistic))
		if needSTS {
			if !stsAsked {
				stsAsked = true
				sts = e.policy(ctx, d)
				p.STS = &sts
			}
			f.STS = stsFinding(sts, h.Name)
		}
		h.Req = tlspolicy.Decide(c, false, d, h.Name, *f)
		h.DANE = targets[i]
		switch h.Req.Action {
		case tlspolicy.Defer:
			p.Defer = h.Req.Why
			e.log.Logf(maillog.Warning, "Delivery to %s deferred: %s", d, h.Req.Why)
			p.Hosts = nil
			return p
		case tlspolicy.Skip:
			e.log.Logf(maillog.Warning, "MX(%s) in %s not used: %s", h.Name, d, h.Req.Why)
		}
		if h.Req.ReportOnly && sts.Policy != nil && !sts.Policy.Match(h.Name) {
			e.log.Logf(maillog.Warning, "MTA-STS policy of %s (testing): MX(%s) does not match the policy; delivering per the TLS setting", d, h.Name)
		}
		e.log.Logf(maillog.Debug, "MX(%s) in %s: %s requirement (%s): %s", h.Name, d, h.Req.Kind, h.Req.Rule, h.Req.Why)
		p.Hosts = append(p.Hosts, *h)
	}
	return p
}

// policy asks the MTA-STS engine for d's policy.
func (e *Engine) policy(ctx context.Context, d string) mtasts.Result {
	if e.sts == nil {
		e.log.Logf(maillog.Warning, "MTA-STS is On for %s but no MTA-STS engine is available: the policy is not applied", d)
		return mtasts.Result{Action: mtasts.NoPolicy, Domain: d, Reason: "no MTA-STS engine"}
	}
	res, err := e.sts.Policy(ctx, d)
	if err != nil {
		e.log.Logf(maillog.Debug, "MTA-STS for %s: %v", d, err)
	}
	return res
}

// stsFinding maps the MTA-STS decision to tlspolicy's finding for host.
func stsFinding(r mtasts.Result, host string) tlspolicy.STSFinding {
	switch {
	case r.Action == mtasts.Defer:
		return tlspolicy.STSTempFail
	case r.Action != mtasts.Apply || r.Policy == nil:
		return tlspolicy.STSNoPolicy
	case r.Policy.Mode == mtasts.ModeTesting:
		return tlspolicy.STSTesting
	case r.Policy.Match(host):
		return tlspolicy.STSEnforceMatch
	}
	return tlspolicy.STSEnforceNoMatch
}

// planRoute fills p with the route's hosts: the TLS setting only.
func (e *Engine) planRoute(ctx context.Context, p *Plan, c tlspolicy.Controls, dest Destination) {
	p.Routed = true
	var names []string
	for _, r := range dest.Routes {
		names = append(names, r.Name)
	}
	e.log.Logf(maillog.Info, "Delivery to %s via SMTP route %s: DANE and MTA-STS are not applied", p.Domain, strings.Join(names, ", "))
	for _, r := range dest.Routes {
		name := strings.TrimSuffix(strings.ToLower(strings.Trim(r.Name, "[]")), ".")
		h := PlanHost{Name: name, Port: r.Port}
		if h.Port == 0 {
			h.Port = DefaultPort
		}
		if a, err := netip.ParseAddr(name); err == nil {
			h.Addrs = dest.IPSort.sort([]netip.Addr{a})
			if len(h.Addrs) == 0 {
				h.Err = "route host " + name + " excluded by the IP sort preference"
			}
		} else if e.resolver == nil {
			h.Err = "no DNS resolver configured to resolve " + name
		} else {
			addrs, temp := e.addresses(ctx, name, dest.IPSort)
			h.Addrs = addrs
			if len(addrs) == 0 {
				h.Err = "no address for route host " + name
				if temp != "" {
					h.Err = temp
				}
			}
		}
		h.Req = tlspolicy.Decide(c, true, p.Domain, name, tlspolicy.Findings{})
		p.Hosts = append(p.Hosts, h)
	}
}

// resolveMX finds the MX hosts of p.Domain and their addresses (when DANE is
// off). It sets p.Bounce or p.Defer and returns false when no host can be
// tried.
func (e *Engine) resolveMX(ctx context.Context, p *Plan, sortPref IPSort) ([]PlanHost, bool) {
	d := p.Domain
	res, err := e.resolver.Lookup(ctx, d, dns.TypeMX)
	switch {
	case res.Status == dns.TempFail || res.Status == dns.Bogus:
		p.Defer = fmt.Sprintf("MX lookup for %s failed: %v", d, err)
		e.log.Logf(maillog.Warning, "MX record lookup for %s failed: %v", d, err)
		return nil, false
	case res.NXDomain:
		p.Bounce = "5.1.2 domain " + d + " does not exist"
		return nil, false
	}
	var mxs []dns.MX
	null := false
	for _, rr := range res.Records {
		m, ok := rr.MX()
		switch {
		case !ok:
			e.log.Logf(maillog.Warning, "Bad MX record (%s) ignored for %s", rr.Data, d)
		case m.IsNull():
			null = true
		default:
			mxs = append(mxs, m)
		}
	}
	sortMX(mxs)
	switch {
	case len(mxs) == 0 && null:
		p.Bounce = "556 5.1.10 domain " + d + " accepts no mail (null MX)"
		return nil, false
	case len(mxs) == 0:
		p.Implicit = true
		e.log.Logf(maillog.Debug, "No MX record for %s: implicit MX(%s)", d, d)
		mxs = []dns.MX{{Host: d + "."}}
	}
	var hosts []PlanHost
	seen := map[string]bool{}
	for _, m := range mxs {
		name := strings.TrimSuffix(m.Host, ".")
		if seen[name] {
			continue // each host once, at its best preference
		}
		seen[name] = true
		addrs, temp := e.addresses(ctx, name, sortPref)
		h := PlanHost{Name: name, Pref: m.Pref, Port: e.port, Addrs: addrs}
		if len(addrs) == 0 {
			h.Err = "no address for " + name
			if temp != "" {
				h.Err = temp
			}
		}
		hosts = append(hosts, h)
	}
	return hosts, true
}

// addresses looks up the addresses of host that the preference allows; temp
// explains a temporary failure when there is none.
func (e *Engine) addresses(ctx context.Context, host string, pref IPSort) (addrs []netip.Addr, temp string) {
	var types []uint16
	switch pref {
	case RequireV4:
		types = []uint16{dns.TypeA}
	case RequireV6:
		types = []uint16{dns.TypeAAAA}
	default:
		types = []uint16{dns.TypeA, dns.TypeAAAA}
	}
	for _, t := range types {
		res, err := e.resolver.Lookup(ctx, host, t)
		if res.Status == dns.TempFail || res.Status == dns.Bogus {
			temp = fmt.Sprintf("address lookup for %s failed temporarily: %v", host, err)
			continue
		}
		for _, rr := range res.Records {
			if a, ok := rr.Addr(); ok {
				addrs = append(addrs, a)
			}
		}
	}
	return pref.sort(addrs), temp
}

// sortMX sorts by preference, then host name (resolveMX keeps each host once,
// at its best preference).
func sortMX(mxs []dns.MX) {
	slices.SortStableFunc(mxs, func(a, b dns.MX) int {
		return cmp.Or(cmp.Compare(a.Pref, b.Pref), strings.Compare(a.Host, b.Host))
	})
}
