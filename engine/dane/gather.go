package dane

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
)

// Resolver answers DNS queries with their DNSSEC status; *dns.Resolver is
// one. Lookup follows CNAME chains; a query of type CNAME does not.
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype uint16) (*dns.Result, error)
}

// State is what DANE requires of the connection to one MX host.
type State string

// The states of a Finding.
const (
	// StateAuthenticate: a secure TLSA RRset with usable records. TLS is
	// required and must authenticate the server by them; a failure skips
	// the MX host, with no fallback (RFC 7672 §2.2).
	StateAuthenticate State = "authenticate"
	// StateTLSRequired: a secure TLSA RRset with only unusable records.
	// TLS is required, without authentication (RFC 7672 §2.2).
	StateTLSRequired State = "tls-required-unauthenticated"
	// StateNotApplicable: DANE does not apply to the host (insecure
	// address, insecure or securely denied TLSA, no address).
	StateNotApplicable State = "not-applicable"
	// StateTempFail: a lookup failed temporarily (SERVFAIL without a DNSSEC
	// reason, timeout): the MX host must not be used now (RFC 7672 §2.1.1).
	StateTempFail State = "unusable-tempfail"
	// StateBogus: DNSSEC validation failed: the MX host must not be used
	// (RFC 7672 §2.1.1).
	StateBogus State = "bogus"
)

// TLSAStatus is the outcome of the TLSA lookup of one MX host, as daneverify
// reports it.
type TLSAStatus string

// The TLSA statuses. NotQueried is the zero value.
const (
	TLSANotQueried TLSAStatus = ""
	TLSASecure     TLSAStatus = "secure"   // a validated RRset
	TLSAInsecure   TLSAStatus = "insecure" // records, or a denial, without validation
	TLSANone       TLSAStatus = "none"     // a validated denial (NXDOMAIN, NODATA)
	TLSABogus      TLSAStatus = "bogus"    // DNSSEC validation failed
	TLSATempFail   TLSAStatus = "tempfail" // SERVFAIL without a DNSSEC reason, timeout
)

// Line is a log line with its level, in the appliance's wording.
type Line struct {
	Level maillog.Level
	Text  string
}

// Finding is what DNS says about DANE for one MX host (RFC 7672 §2.2).
type Finding struct {
	// Host is the MX host name (lower case, no trailing dot); for the
	// implicit MX, the domain.
	Host string
	// Pref is the MX preference; 0 for the implicit MX.
	Pref uint16
	// Addresses are the host's IPv4 then IPv6 addresses.
	Addresses []netip.Addr
	// AddressStatus is Secure when one address family validated with
	// records (RFC 7672 §2.2.2 asks for one, not both); else the weakest
	// status met.
	AddressStatus dns.Status
	// Expanded is the host name at the end of its CNAME chain (Host when it
	// is not an alias); ExpandedSecure says that the chain and the address
	// records at its end validated.
	Expanded       string
	ExpandedSecure bool
	// TLSAName is the last TLSA name queried ("_25._tcp.HOST"); TLSAStatus
	// its outcome, TLSANotQueried when the address did not allow a query.
	TLSAName   string
	TLSAStatus TLSAStatus
	// Records are the TLSA RRset found at TLSAName, with verdicts.
	Records []Record
	// BaseDomain is the TLSA base domain: the SNI name and the first
	// reference identifier (RFC 7672 §2.2.2, §8.1). Names are all the
	// reference identifiers for DANE-TA(2) (RFC 7672 §3.2.2), at most 4.
	BaseDomain string
	Names      []string
	// State is what DANE requires; Reason explains it.
	State  State
	Reason string
	// Err is the lookup failure behind StateTempFail and StateBogus.
	Err error
	// AddressLines and TLSALines are the log lines of the address and
	// TLSA steps, in the appliance's wording.
	AddressLines []Line
	TLSALines    []Line
}

// RequiresTLS reports whether DANE forbids clear text to this host: TLS is
// required, authenticated or not (RFC 7672 §2.2).
func (f *Finding) RequiresTLS() bool {
	return f.State == StateAuthenticate || f.State == StateTLSRequired
}

// Usable returns the number of records verification uses.
func (f *Finding) Usable() int { return countUsed(f.Records) }

// Target returns what a connection to the host must satisfy: the TLSA base
// domain for SNI, the reference names and the records to verify by (none for
// StateTLSRequired).
func (f *Finding) Target() Target {
	t := Target{Host: f.Host, BaseDomain: f.BaseDomain, Names: append([]string(nil), f.Names...)}
	if f.State == StateAuthenticate {
		t.Records = Used(f.Records)
	}
	return t
}

// FailureType returns the TLSRPT result type (RFC 8460 §4.3) of a host that
// must not be used: "dnssec-invalid" for StateBogus, "" otherwise.
func (f *Finding) FailureType() string {
	if f.State == StateBogus {
		return "dnssec-invalid" // RFC 8460 §4.3.2.1
	}
	return ""
}

// DomainResult is what DNS says about DANE for a destination domain.
type DomainResult struct {
	// Domain is the next-hop domain as asked (lower case, no trailing dot);
	// NextHop is the name at the end of its CNAME chain.
	Domain  string
	NextHop string
	// MXStatus is the DNSSEC status of the MX lookup (RFC 7672 §2.2.1).
	MXStatus dns.Status
	// Implicit: the domain has no MX RRset, and is its own MX host
	// (RFC 5321 §5.1, RFC 7672 §2.2.2).
	Implicit bool
	// NullMX: the domain accepts no mail (RFC 7505); no host is looked up.
	NullMX bool
	// NXDomain: the domain does not exist.
	NXDomain bool
	// Hosts are the MX hosts by preference, with their findings.
	Hosts []Finding
	// Err is the MX lookup failure when MXStatus is TempFail or Bogus.
	Err error
	// Lines are the log lines of the MX step.
	Lines []Line
}

// MXSecure reports whether the MX RRset (or its denial) validated.
func (r *DomainResult) MXSecure() bool { return r.MXStatus == dns.Secure }

// Gather looks up what DANE needs for mail to domain (RFC 7672 §2): the MX
// RRset and its status, then for each MX host (or the domain itself when it
// has no MX RRset) the addresses, and the TLSA records when the addresses
// allow it, and decides what each host requires. Lookup failures are part of
// the result, not errors: the error is only for a domain name that is not
// one. Every line is also logged to log (which may be nil).
func Gather(ctx context.Context, r Resolver, domain string, log maillog.Logger) (*DomainResult, error) {
	d := normalize(domain)
	res := &DomainResult{Domain: d, NextHop: d}
	mx, err := r.Lookup(ctx, d, dns.TypeMX)
	if errors.Is(err, dns.ErrInvalidName) || d == "" {
		return nil, fmt.Errorf("dane: %q is not a domain name: %w", domain, dns.ErrInvalidName)
	}
	res.MXStatus = mx.Status
	defer func() { logLines(log, res) }()
	switch mx.Status {
	case dns.TempFail:
		res.Err = fmt.Errorf("dane: MX lookup for %s failed temporarily: %w", d, err)
		res.add(maillog.Warning, "MX record lookup for %s failed temporarily: %v", d, err)
		return res, nil
	case dns.Bogus:
		res.Err = fmt.Errorf("dane: MX lookup for %s: %w", d, err)
		res.add(maillog.Warning, "BOGUS MX record for %s: %v", d, err)
		return res, nil
	}
	res.NextHop = normalize(mx.Target)
	word := statusWord(mx.Status)
	if mx.NXDomain {
		res.NXDomain = true
		res.add(maillog.Info, "%s NXDOMAIN for %s: the domain does not exist", word, d)
		return res, nil
	}
	var all []dns.MX
	null := false
	for _, rr := range mx.Records {
		m, ok := rr.MX()
		switch {
		case !ok:
			res.add(maillog.Warning, "Bad MX record (%s) ignored for %s", rr.Data, d)
		case m.IsNull():
			null = true
		default:
			all = append(all, m)
		}
	}
	slices.SortStableFunc(all, func(a, b dns.MX) int {
		return cmp.Or(cmp.Compare(a.Pref, b.Pref), strings.Compare(a.Host, b.Host))
	})
	var hosts []dns.MX // by preference, each host once at its best
	for _, m := range all {
		if !slices.ContainsFunc(hosts, func(h dns.MX) bool { return h.Host == m.Host }) {
			hosts = append(hosts, m)
		}
	}
	switch {
	case len(hosts) == 0 && null:
		// RFC 7505 §3: the domain accepts no mail; nothing more is asked.
		res.NullMX = true
		res.add(maillog.Info, "%s null MX record found for %s: the domain accepts no mail", word, d)
		return res, nil
	case len(hosts) == 0:
		// RFC 5321 §5.1, RFC 7672 §2.2.2: no MX RRset, the domain is its
		// own mail host (non-MX destination).
		res.Implicit = true
		res.add(maillog.Info, "%s denial of MX record found for %s: implicit MX(%s)", word, d, d)
		hosts = []dns.MX{{Host: d + "."}}
	default:
		for _, h := range hosts {
			res.add(maillog.Info, "%s MX record(%s) found for %s", word, normalize(h.Host), d)
		}
	}
	pre := prefetch(ctx, r, hosts)
	defer pre.stop()
	for i, h := range hosts {
		f := gatherHost(ctx, r, res, normalize(h.Host), pre.host(i))
		f.Pref = h.Pref
		res.Hosts = append(res.Hosts, f)
	}
	return res, nil
}

func (r *DomainResult) add(level maillog.Level, format string, args ...any) {
	r.Lines = append(r.Lines, Line{level, fmt.Sprintf(format, args...)})
}

func (f *Finding) addAddr(level maillog.Level, format string, args ...any) {
	f.AddressLines = append(f.AddressLines, Line{level, fmt.Sprintf(format, args...)})
}

func (f *Finding) addTLSA(level maillog.Level, format string, args ...any) {
	f.TLSALines = append(f.TLSALines, Line{level, fmt.Sprintf(format, args...)})
}

// logLines writes every line of the result, in order, to log.
func logLines(log maillog.Logger, res *DomainResult) {
	if log == nil {
		return
	}
	for _, l := range res.Lines {
		log.Logf(l.Level, "%s", l.Text)
	}
	for _, f := range res.Hosts {
		for _, l := range f.AddressLines {
			log.Logf(l.Level, "%s", l.Text)
		}
		for _, l := range f.TLSALines {
			log.Logf(l.Level, "%s", l.Text)
		}
	}
}

// statusWord is the appliance's word for a status: SECURE or INSECURE.
func statusWord(s dns.Status) string {
	if s == dns.Secure {
		return "SECURE"
	}
	return "INSECURE"
}

// family is the address lookup of one family.
type family struct {
	name  string // "A", "AAAA"
	res   *dns.Result
	err   error
	addrs []netip.Addr
}

// gatherHost decides DANE for one MX host (RFC 7672 §2.2.2).
// pre, when not nil, holds the host's lookups already under way.
func gatherHost(ctx context.Context, r Resolver, dr *DomainResult, host string, pre *hostLookups) Finding {
	f := Finding{Host: host, Expanded: host, State: StateNotApplicable}
	in := fmt.Sprintf("MX(%s) in %s", host, dr.Domain)

	// Addresses, both families.
	fams := []*family{{name: "A"}, {name: "AAAA"}}
	for i, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		fam := fams[i]
		if pre != nil {
			fam.res, fam.err = pre.addr[i].wait()
		} else {
			fam.res, fam.err = r.Lookup(ctx, host, qtype)
		}
		for _, rr := range fam.res.Records {
			if a, ok := rr.Addr(); ok {
				fam.addrs = append(fam.addrs, a)
			}
		}
		f.Addresses = append(f.Addresses, fam.addrs...)
		switch st := fam.res.Status; {
		case st == dns.Bogus:
			f.addAddr(maillog.Warning, "BOGUS %s record for %s: %v", fam.name, in, fam.err)
		case st == dns.TempFail:
			f.addAddr(maillog.Warning, "%s record lookup for %s failed temporarily: %v", fam.name, in, fam.err)
		case len(fam.addrs) == 0:
			f.addAddr(maillog.Info, "%s denial of %s record found for %s", statusWord(st), fam.name, in)
		default:
			for _, a := range fam.addrs {
				f.addAddr(maillog.Info, "%s %s record (%s) found for %s", statusWord(st), fam.name, a, in)
			}
		}
	}
	var secure, insecure *family
	var bogus, tempfail *family
	for _, fam := range fams {
		switch st := fam.res.Status; {
		case st == dns.Secure && len(fam.addrs) > 0 && secure == nil:
			secure = fam
		case st == dns.Insecure && len(fam.addrs) > 0 && insecure == nil:
			insecure = fam
		case st == dns.Bogus && bogus == nil:
			bogus = fam
		case st == dns.TempFail && tempfail == nil:
			tempfail = fam
		}
	}
	alias := ""
	for _, fam := range fams {
		if len(fam.addrs) > 0 && len(fam.res.CNAMEs) > 0 {
			alias = normalize(fam.res.Target)
			break
		}
	}

	// Which TLSA base domains to try, in order (RFC 7672 §2.2.2).
	var candidates []string
	switch {
	case secure != nil:
		// RFC 7672 §2.2.2: one validated family is enough (case 75).
		f.AddressStatus = dns.Secure
		f.Expanded = normalize(secure.res.Target)
		f.ExpandedSecure = true
		if f.Expanded != host {
			// A secure CNAME chain: the expanded name first, then the
			// name the MX record gave.
			f.addAddr(maillog.Info, "SECURE CNAME chain from %s to %s for %s", host, f.Expanded, in)
			candidates = []string{f.Expanded, host}
		} else {
			candidates = []string{host}
		}
	case bogus != nil:
		f.AddressStatus = dns.Bogus
		f.State, f.Err = StateBogus, fmt.Errorf("dane: %s lookup for %s: %w", bogus.name, host, bogus.err)
		f.TLSAStatus = TLSABogus
		f.Reason = fmt.Sprintf("DNSSEC validation failed for the %s records of %s: this MX host must not be used (RFC 7672 §2.1.1)", bogus.name, host)
		return f
	case insecure != nil && alias != "":
		// The chain or its target is insecure. The alias itself may
		// still be secure: then its own TLSA records count, and only
		// they (RFC 7672 §2.2.2).
		f.AddressStatus = dns.Insecure
		f.Expanded = alias
		c, err := r.Lookup(ctx, host, dns.TypeCNAME)
		switch {
		case c.Status == dns.TempFail || c.Status == dns.Bogus:
			f.Err = fmt.Errorf("dane: CNAME lookup for %s: %w", host, err)
			f.TLSAStatus = TLSATempFail
			f.State = StateTempFail
			if c.Status == dns.Bogus {
				f.TLSAStatus, f.State = TLSABogus, StateBogus
			}
			f.addAddr(maillog.Warning, "CNAME record lookup for %s failed: %v", in, err)
			f.Reason = fmt.Sprintf("the CNAME lookup of %s failed (%s): this MX host must not be used (RFC 7672 §2.1.1)", host, c.Status)
			return f
		case c.Status == dns.Secure && len(c.Records) > 0:
			f.addAddr(maillog.Info, "SECURE CNAME record (%s) found for %s, INSECURE target: TLSA only at %s", cnameTarget(c), in, host)
			candidates = []string{host}
		default:
			f.addAddr(maillog.Info, "INSECURE CNAME chain from %s to %s for %s", host, alias, in)
			f.notQueried(in)
			return f
		}
	case insecure != nil:
		f.AddressStatus = dns.Insecure
		f.notQueried(in)
		return f
	case tempfail != nil:
		f.AddressStatus = dns.TempFail
		f.State, f.Err = StateTempFail, fmt.Errorf("dane: %s lookup for %s: %w", tempfail.name, host, tempfail.err)
		f.TLSAStatus = TLSATempFail
		f.Reason = fmt.Sprintf("the %s lookup of %s failed temporarily: this MX host must not be used now (RFC 7672 §2.1.1)", tempfail.name, host)
		return f
	default:
		f.AddressStatus = fams[0].res.Status
		f.Reason = fmt.Sprintf("%s has no address record", host)
		if f.AddressStatus == dns.Secure {
			f.TLSAStatus = TLSANone // the host securely does not exist
		}
		return f
	}

	// TLSA lookups (RFC 7672 §2.2.3): the first candidate with a secure
	// RRset wins; a secure denial or an insecure answer moves to the next;
	// a failure stops (no fallback an attacker could force).
	for i, base := range candidates {
		last := i == len(candidates)-1
		name := "_25._tcp." + base
		f.TLSAName = name
		t, err := r.Lookup(ctx, name, dns.TypeTLSA)
		at := ""
		if base != host {
			at = " at " + name
		}
		switch {
		case t.Status == dns.TempFail:
			f.TLSAStatus, f.State = TLSATempFail, StateTempFail
			f.Err = fmt.Errorf("dane: TLSA lookup %s: %w", name, err)
			f.addTLSA(maillog.Warning, "TLSA record lookup for %s%s failed temporarily: %v", in, at, err)
			f.Reason = fmt.Sprintf("the TLSA lookup of %s failed temporarily: this MX host must not be used now (RFC 7672 §2.1.1)", name)
			return f
		case t.Status == dns.Bogus:
			f.TLSAStatus, f.State = TLSABogus, StateBogus
			f.Err = fmt.Errorf("dane: TLSA lookup %s: %w", name, err)
			f.addTLSA(maillog.Warning, "BOGUS TLSA record for %s%s: %v", in, at, err)
			f.Reason = fmt.Sprintf("DNSSEC validation failed for the TLSA records of %s: this MX host must not be used (RFC 7672 §2.1.1)", name)
			return f
		case t.Status == dns.Insecure:
			f.TLSAStatus = TLSAInsecure
			f.Records = nil
			if len(t.Records) > 0 {
				f.addTLSA(maillog.Info, "INSECURE TLSA record found for %s%s: ignored", in, at)
			} else {
				f.addTLSA(maillog.Info, "INSECURE denial of TLSA record found for %s%s", in, at)
			}
			f.Reason = fmt.Sprintf("the TLSA records of %s are not validated: they are ignored and DANE does not apply (RFC 7672 §2.2)", name)
			if !last {
				continue
			}
			return f
		case len(t.Records) == 0:
			f.TLSAStatus = TLSANone
			f.addTLSA(maillog.Info, "SECURE denial of TLSA record found for %s%s", in, at)
			f.Reason = fmt.Sprintf("no TLSA record at %s (validated denial): DANE does not apply (RFC 7672 §2.2)", name)
			if !last {
				continue
			}
			return f
		}
		// A secure RRset: base is the TLSA base domain.
		f.TLSAStatus = TLSASecure
		f.BaseDomain = base
		var tlsas []dns.TLSA
		var bad []string
		for _, rr := range t.Records {
			if x, ok := rr.TLSA(); ok {
				tlsas = append(tlsas, x)
			} else {
				bad = append(bad, rr.Data)
			}
		}
		f.Records = Classify(tlsas)
		for _, b := range bad {
			f.Records = append(f.Records, Record{Text: b, Reason: ErrUnusable.Error() + ": record data does not parse"})
		}
		f.addTLSA(maillog.Info, "SECURE TLSA record found for %s%s", in, at)
		for _, rec := range f.Records {
			if rec.Used {
				f.addTLSA(maillog.Debug, "TLSA record (%s) usable for %s", rec.Text, in)
			} else {
				f.addTLSA(maillog.Debug, "TLSA record (%s) not used for %s: %s", rec.Text, in, rec.Reason)
			}
		}
		f.Names = referenceNames(dr, &f)
		if n := f.Usable(); n > 0 {
			f.State = StateAuthenticate
			f.Reason = fmt.Sprintf("secure TLSA RRset at %s with %s: TLS must authenticate the server by DANE, TLSA base domain %s (RFC 7672 §2.2)", name, count(n, "usable record"), base)
		} else {
			f.State = StateTLSRequired
			f.addTLSA(maillog.Info, "No usable TLSA record for %s: TLS is required without authentication", in)
			f.Reason = fmt.Sprintf("secure TLSA RRset at %s with only unusable records: TLS is required, without authentication (RFC 7672 §2.2)", name)
		}
		return f
	}
	return f
}

// notQueried records that the address does not allow a TLSA query.
func (f *Finding) notQueried(in string) {
	f.State = StateNotApplicable
	f.TLSAStatus = TLSANotQueried
	f.addTLSA(maillog.Info, "TLSA record not queried for %s: the address is INSECURE", in)
	f.Reason = fmt.Sprintf("the address of %s is not validated: TLSA is not queried and DANE does not apply (RFC 7672 §2.2.2)", f.Host)
}

// cnameTarget returns the target of the first CNAME record of a result.
func cnameTarget(res *dns.Result) string {
	for _, rr := range res.Records {
		if t, ok := rr.Target(); ok {
			return normalize(t)
		}
	}
	return ""
}

// referenceNames returns the reference identifiers for DANE-TA(2)
// (RFC 7672 §3.2.2): the TLSA base domain; the MX host name and its
// CNAME-expanded form (the latter only from a secure chain); and, only when
// the MX RRset is secure, the next-hop domain and its CNAME-expanded form.
// That is at most 4 names.
func referenceNames(dr *DomainResult, f *Finding) []string {
	names := []string{f.BaseDomain}
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	add(f.Host)
	if f.ExpandedSecure {
		add(f.Expanded)
	}
	if dr.MXSecure() {
		add(dr.Domain)
		add(dr.NextHop)
	}
	return names
}
