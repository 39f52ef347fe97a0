package dns

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// MX returns the mail exchangers of domain sorted by preference (then host
// name, for a stable order), with the Result for status. A null MX
// (RFC 7505) is returned as it is, Host ".".
func (r *Resolver) MX(ctx context.Context, domain string) ([]MX, *Result, error) {
	res, err := r.Lookup(ctx, domain, TypeMX)
	if err != nil {
		return nil, res, err
	}
	out := make([]MX, 0, len(res.Records))
	for _, rr := range res.Records {
		mx, ok := rr.MX()
		if !ok {
			return nil, res, fmt.Errorf("dns: lookup %s MX: bad record %q", res.Name, rr.Data)
		}
		out = append(out, mx)
	}
	slices.SortStableFunc(out, func(a, b MX) int {
		return cmp.Or(cmp.Compare(a.Pref, b.Pref), strings.Compare(a.Host, b.Host))
	})
	return out, res, nil
}

// A returns the IPv4 addresses of host, with the Result for status.
func (r *Resolver) A(ctx context.Context, host string) ([]netip.Addr, *Result, error) {
	return r.addrs(ctx, host, TypeA)
}

// AAAA returns the IPv6 addresses of host, with the Result for status.
func (r *Resolver) AAAA(ctx context.Context, host string) ([]netip.Addr, *Result, error) {
	return r.addrs(ctx, host, TypeAAAA)
}

func (r *Resolver) addrs(ctx context.Context, host string, qtype uint16) ([]netip.Addr, *Result, error) {
	res, err := r.Lookup(ctx, host, qtype)
	if err != nil {
		return nil, res, err
	}
	out := make([]netip.Addr, 0, len(res.Records))
	for _, rr := range res.Records {
		a, ok := rr.Addr()
		if !ok {
			return nil, res, fmt.Errorf("dns: lookup %s %s: bad record %q", res.Name, TypeString(qtype), rr.Data)
		}
		out = append(out, a)
	}
	return out, res, nil
}

// TXT returns the TXT records at name, each record's character-strings
// joined without separator (RFC 7208 §3.3, RFC 8461 §3.1), with the Result
// for status.
func (r *Resolver) TXT(ctx context.Context, name string) ([]string, *Result, error) {
	res, err := r.Lookup(ctx, name, TypeTXT)
	if err != nil {
		return nil, res, err
	}
	out := make([]string, 0, len(res.Records))
	for _, rr := range res.Records {
		parts, ok := rr.TXT()
		if !ok {
			return nil, res, fmt.Errorf("dns: lookup %s TXT: bad record %q", res.Name, rr.Data)
		}
		out = append(out, strings.Join(parts, ""))
	}
	return out, res, nil
}

// TLSA returns the TLSA records at name (such as "_25._tcp.mx.example.com"),
// with the Result for status.
func (r *Resolver) TLSA(ctx context.Context, name string) ([]TLSA, *Result, error) {
	res, err := r.Lookup(ctx, name, TypeTLSA)
	if err != nil {
		return nil, res, err
	}
	out := make([]TLSA, 0, len(res.Records))
	for _, rr := range res.Records {
		t, ok := rr.TLSA()
		if !ok {
			return nil, res, fmt.Errorf("dns: lookup %s TLSA: bad record %q", res.Name, rr.Data)
		}
		out = append(out, t)
	}
	return out, res, nil
}

// CNAME returns the target of the CNAME record at name, or "" when name is
// not an alias (then Result.NoData or Result.NXDomain says which). The chain
// is not followed.
func (r *Resolver) CNAME(ctx context.Context, name string) (string, *Result, error) {
	res, err := r.Lookup(ctx, name, TypeCNAME)
	if err != nil {
		return "", res, err
	}
	for _, rr := range res.Records {
		if t, ok := rr.Target(); ok {
			return t, res, nil
		}
		return "", res, fmt.Errorf("dns: lookup %s CNAME: bad record %q", res.Name, rr.Data)
	}
	return "", res, nil
}
