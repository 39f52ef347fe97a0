package dane

import (
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/dns"
)

// fuzzChains are the presented chains FuzzTLSA picks from (leaf first).
func fuzzChains(p pki) [][]*x509.Certificate {
	return [][]*x509.Certificate{
		chainOf(p.leaf, p.inter),
		chainOf(p.leaf, p.inter, p.root),
		chainOf(p.leaf),
		chainOf(p.rogueLeaf, p.rogueInter),
		chainOf(p.expired, p.inter),
		chainOf(p.leafOfExpiredInter, p.expiredInter, p.root),
		chainOf(p.wildcard, p.inter),
		chainOf(p.cnOnly, p.inter),
		chainOf(p.selfSigned),
		chainOf(p.leaf, p.leaf, p.inter, p.inter),
		nil,
	}
}

// fuzzCerts are the certificates a FuzzTLSA record line may name as "@NAME".
func fuzzCerts(p pki) map[string]cert {
	return map[string]cert{
		"leaf": p.leaf, "inter": p.inter, "root": p.root, "wrongName": p.wrongName,
		"expired": p.expired, "wildcard": p.wildcard, "selfSigned": p.selfSigned,
		"rogueInter": p.rogueInter, "expiredInter": p.expiredInter,
	}
}

// fuzzRecord reads one FuzzTLSA record line: TLSA data in presentation form,
// "3 1 1 <hex>", or "U S M @NAME" for the record of a test certificate ("@NAME~"
// for the same with its last byte altered). ok is false for a line that is
// neither.
func fuzzRecord(t *testing.T, certs map[string]cert, line string) (dns.TLSA, bool) {
	f := strings.Fields(line)
	if len(f) == 4 && strings.HasPrefix(f[3], "@") {
		var u, s, m uint8
		for i, p := range []*uint8{&u, &s, &m} {
			if len(f[i]) != 1 || f[i][0] < '0' || f[i][0] > '9' {
				return dns.TLSA{}, false
			}
			*p = f[i][0] - '0'
		}
		name, alter := strings.CutSuffix(f[3][1:], "~")
		c, ok := certs[name]
		if !ok {
			return dns.TLSA{}, false
		}
		r := rec(u, s, m, c)
		if alter {
			r = wrong(r)
		}
		return r, true
	}
	r, err := dns.ParseTLSA(line)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "dns: parse TLSA") {
			t.Fatalf("ParseTLSA(%q) error %q: want \"dns: parse TLSA ...\"", line, err)
		}
		return dns.TLSA{}, false
	}
	back, err := dns.ParseTLSA(r.String())
	if err != nil {
		t.Fatalf("ParseTLSA(%q) ok, but its String() %q does not parse: %v", line, r.String(), err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Fatalf("round trip of %q (-want +got):\n%s", line, diff)
	}
	return r, true
}

// FuzzTLSA parses TLSA records (RFC 6698 §2.2 presentation form, one per line, or
// a test certificate's record), classifies the RRset (RFC 7672 §2.2, RFC 7671 §9)
// and verifies a chain of the test PKI picked by the input against it (RFC 7672
// §3) with the input's reference names. Invariants: no panic; parsing round-trips
// through String; Classify agrees with Usable and keeps only the strongest digest
// of each usage and selector; VerifyChain fails with one of its sentinel errors,
// succeeds whenever a used DANE-EE(3) record matches the leaf (§3.1.1) or a used
// DANE-TA(2) record matches the valid intermediate of mx.example.test's chain
// with that name among the references (§3.1.2), and what it reports as matching
// does match.
func FuzzTLSA(f *testing.F) {
	p := testPKI(f)
	chains := fuzzChains(p)
	certs := fuzzCerts(p)
	f.Add("3 1 1 @leaf", uint8(0), "mx.example.test")
	f.Add("3 1 1 @leaf~\n3 0 2 @leaf\n3 1 2 @leaf", uint8(1), "")
	f.Add("2 0 1 @inter\n2 1 1 @root", uint8(1), "example.test,mx.example.test")
	f.Add("2 1 0 @root", uint8(0), "MX.EXAMPLE.TEST.")
	f.Add("2 0 0 @rogueInter\n3 1 1 @selfSigned~", uint8(3), "mx.example.test")
	f.Add("2 0 1 @expiredInter", uint8(5), "mx.example.test")
	f.Add("2 0 1 @inter", uint8(6), "a.example.test")
	f.Add("0 0 1 @root\n1 1 1 @leaf\n4 1 1 "+strings.Repeat("00", 32), uint8(0), "mx.example.test")
	f.Add("3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n3 1 1 (\n  0123 )\n3 1 1 zz", uint8(10), "")
	f.Add("255 255 255 -\n3 0 0 3003010203", uint8(8), "mx.example.test")
	f.Fuzz(func(t *testing.T, text string, pick uint8, names string) {
		var rrset []dns.TLSA
		for _, line := range strings.Split(text, "\n") {
			if r, ok := fuzzRecord(t, certs, line); ok {
				rrset = append(rrset, r)
			}
		}
		recs := checkClassify(t, rrset)
		chain := chains[int(pick)%len(chains)]
		var refs []string
		if names != "" {
			refs = strings.Split(names, ",")
		}
		m, err := VerifyChain(rrset, refs, chain, now)
		used := Used(recs)
		var eeMatch, taMatch bool
		for _, r := range used {
			if len(chain) > 0 && r.Usage == UsageDANEEE && matches(r, chain[0]) {
				eeMatch = true
			}
			if r.Usage == UsageDANETA && matches(r, p.inter.x509) {
				taMatch = true
			}
		}
		goodTA := taMatch && int(pick)%len(chains) <= 1 && refersTo(refs, "mx.example.test")
		if err != nil {
			sentinels := []error{ErrNoUsable, ErrNoCertificate, ErrNoMatch, ErrMissingTA, ErrChain, ErrNameMismatch, ErrExpired}
			if !strings.HasPrefix(err.Error(), "dane: ") || !slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
				t.Fatalf("VerifyChain(%v) error %q: want \"dane: \" wrapping a sentinel", rrset, err)
			}
			switch {
			case len(used) == 0 && !errors.Is(err, ErrNoUsable):
				t.Fatalf("VerifyChain(%v) with no used record: %v, want ErrNoUsable", rrset, err)
			case eeMatch:
				t.Fatalf("VerifyChain(%v): %v, but a used DANE-EE(3) record matches the leaf (RFC 7672 §3.1.1)", rrset, err)
			case goodTA:
				t.Fatalf("VerifyChain(%v, %q): %v, but a used DANE-TA(2) record matches the intermediate (RFC 7672 §3.1.2)", rrset, refs, err)
			}
			return
		}
		if len(chain) == 0 || len(used) == 0 {
			t.Fatalf("VerifyChain(%v) with chain of %d certificates succeeded: %v", rrset, len(chain), m)
		}
		if !slices.ContainsFunc(used, func(r dns.TLSA) bool { return cmp.Equal(r, m.Record) }) {
			t.Fatalf("VerifyChain(%v) = %v: not a used record", rrset, m)
		}
		switch m.Record.Usage {
		case UsageDANEEE:
			if !matches(m.Record, chain[0]) || m.Depth != 0 {
				t.Fatalf("VerifyChain(%v) = %+v: does not match the leaf", rrset, m)
			}
		case UsageDANETA:
			if eeMatch {
				t.Fatalf("VerifyChain(%v) = %+v: a DANE-EE(3) record matches the leaf first", rrset, m)
			}
			if m.Depth < 1 || !refersTo(refs, m.Name) {
				t.Fatalf("VerifyChain(%v, %q) = %+v: depth or name", rrset, refs, m)
			}
			if _, ok := matchNames(chain[0], []string{m.Name}); !ok {
				t.Fatalf("VerifyChain(%v) = %+v: the leaf does not match the name", rrset, m)
			}
			// RFC 7672 §3.1.2: DANE-TA checks the leaf's dates.
			if leaf := chain[0]; now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
				t.Fatalf("VerifyChain(%v) = %+v with an expired leaf", rrset, m)
			}
		default:
			t.Fatalf("VerifyChain(%v) = %+v: usage", rrset, m)
		}
	})
}

// checkClassify fails t unless Classify agrees with Usable and digest agility
// (RFC 7671 §9), and returns its verdicts.
func checkClassify(t *testing.T, rrset []dns.TLSA) []Record {
	t.Helper()
	recs := Classify(rrset)
	if len(recs) != len(rrset) {
		t.Fatalf("Classify of %d records returned %d", len(rrset), len(recs))
	}
	type key struct{ usage, selector uint8 }
	best := map[key]uint8{}
	for i, r := range recs {
		err := Usable(rrset[i])
		if r.Usable != (err == nil) || r.Used && !r.Usable || (r.Reason == "") != r.Used || r.Text != rrset[i].String() {
			t.Fatalf("Classify(%v)[%d] = %+v; Usable: %v", rrset, i, r, err)
		}
		if err != nil && !errors.Is(err, ErrUnusable) {
			t.Fatalf("Usable(%v) = %v, want ErrUnusable", rrset[i], err)
		}
		if r.Usable && r.TLSA.MatchingType != MatchFull {
			k := key{r.TLSA.Usage, r.TLSA.Selector}
			best[k] = max(best[k], r.TLSA.MatchingType)
		}
	}
	for _, r := range recs {
		if !r.Usable || r.TLSA.MatchingType == MatchFull {
			continue
		}
		if want := r.TLSA.MatchingType == best[key{r.TLSA.Usage, r.TLSA.Selector}]; r.Used != want {
			t.Fatalf("Classify(%v): %+v used = %v, want %v (RFC 7671 §9)", rrset, r, r.Used, want)
		}
	}
	return recs
}

// refersTo reports whether one of refs names host (case and a final dot aside).
func refersTo(refs []string, host string) bool {
	for _, r := range refs {
		if normalize(r) == host {
			return true
		}
	}
	return false
}
