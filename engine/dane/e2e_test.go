package dane

import (
	"errors"
	"testing"
)

// TestDecision runs the whole DANE path for a domain: Gather against the fake
// validating resolver, then a real TLS handshake with the target's
// configuration against a server on 127.0.0.1 presenting a generated chain,
// then the report.
func TestDecision(t *testing.T) {
	p := testPKI(t)
	_, addr := startZone(t, p)
	origHost := newCert(t, certSpec{cn: "mx.cname-target.test", dnsNames: []string{"mx.cname-target.test"}}, &p.inter)
	nextHop := newCert(t, certSpec{cn: "cname-target.test", dnsNames: []string{"cname-target.test"}}, &p.inter)
	tests := []struct {
		name        string // engine case, RFC section
		domain      string
		chain       []cert
		wantSNI     string
		wantErr     error
		wantSummary string
	}{
		{"case 61 RFC 7672 §2.2, §3.1.1 all secure, 3 1 1 matches: deliver", "ee.test",
			[]cert{p.leaf, p.inter}, "mx.ee.test", nil, "DANE SUCCESS for ee.test"},
		{"case 63 RFC 7672 §2.2 3 1 1 does not match: no fallback", "ee.test",
			[]cert{p.wrongName, p.inter}, "mx.ee.test", ErrNoMatch,
			"DANE FAILED for ee.test: MX(mx.ee.test): dane: 1 DANE-EE(3) record, none matches the server certificate: no TLSA record matches the server certificate"},
		{"case 80 RFC 7672 §8.1 SNI is the TLSA base domain (CNAME-expanded), DANE-TA names it", "cname-target.test",
			[]cert{p.provider, p.inter}, "mx.provider.test", nil, "DANE SUCCESS for cname-target.test"},
		{"case 68 RFC 7672 §3.2.2 DANE-TA: leaf naming the original MX host name", "cname-target.test",
			[]cert{origHost, p.inter}, "mx.provider.test", nil, "DANE SUCCESS for cname-target.test"},
		{"case 68 RFC 7672 §3.2.2 DANE-TA: leaf naming the next-hop domain, MX RRset secure", "cname-target.test",
			[]cert{nextHop, p.inter}, "mx.provider.test", nil, "DANE SUCCESS for cname-target.test"},
		{"case 68 RFC 7672 §3.2.2 DANE-TA: leaf naming none of the reference names", "cname-target.test",
			[]cert{p.wildcard, p.inter}, "mx.provider.test", ErrNameMismatch,
			"DANE FAILED for cname-target.test: MX(mx.cname-target.test): dane: DANE-TA(2): server certificate names *.example.test match none of mx.provider.test, mx.cname-target.test, cname-target.test: the server certificate does not match the reference names"},
		{"case 81 RFC 7672 §2.2.2 implicit MX authenticated at the domain", "implicit.test",
			[]cert{p.leaf, p.inter}, "implicit.test", nil, "DANE SUCCESS for implicit.test"},
		{"case 77 RFC 7672 §3.2.2 insecure MX: a leaf for the next-hop domain fails DANE-TA", "plain.unsigned.test",
			[]cert{p.nextHop, p.inter}, "mx.ee.test", ErrNoMatch,
			"DANE FAILED for plain.unsigned.test: MX(mx.ee.test): dane: 1 DANE-EE(3) record, none matches the server certificate: no TLSA record matches the server certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Gather(t.Context(), newResolver(addr, false), tt.domain, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hosts) != 1 {
				t.Fatalf("Gather(%q): %d hosts, want 1", tt.domain, len(res.Hosts))
			}
			f := res.Hosts[0]
			if f.State != StateAuthenticate || !f.RequiresTLS() {
				t.Fatalf("Gather(%q) state %s (%s), want authenticate", tt.domain, f.State, f.Reason)
			}
			srv := startTLS(t, 0, tt.chain...)
			cs, err := handshake(t, srv.addr, f.Target().TLSConfig(clock))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("handshake: error %v, want %v", err, tt.wantErr)
			}
			if got := srv.lastSNI(); got != tt.wantSNI {
				t.Errorf("SNI = %q, want %q", got, tt.wantSNI)
			}
			o := Outcome{Err: err}
			if err == nil {
				o.TLS = &cs
			}
			rep := res.Report(map[string]Outcome{f.Host: o})
			if got := rep.Summary(); got != tt.wantSummary {
				t.Errorf("Summary() = %q, want %q", got, tt.wantSummary)
			}
		})
	}
}
