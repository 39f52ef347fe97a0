package dane

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/dnstest"
)

// testZone returns what the fake validating resolver knows, in zone-file
// form, with TLSA records for the certificates of p. Every name is in a
// signed zone except those under unsigned.test. and the few fakeDNS.unsigned
// lists; bogus and failing names are set by startZone.
func testZone(p pki) []string {
	tlsa := func(owner string, t dns.TLSA) string {
		return fmt.Sprintf("%s 300 IN TLSA %s", owner, t)
	}
	return []string{
		// case 61: everything secure.
		"ee.test. 300 IN MX 10 mx.ee.test.",
		"mx.ee.test. 300 IN A 127.0.0.1",
		"mx.ee.test. 300 IN AAAA ::1",
		tlsa("_25._tcp.mx.ee.test.", rec(3, 1, 1, p.leaf)),
		"untrusted.test. 300 IN MX 10 mx.untrusted.test.",
		"mx.untrusted.test. 300 IN A 127.0.0.1",
		tlsa("_25._tcp.mx.untrusted.test.", rec(3, 1, 1, p.leaf)),
		"multi.test. 300 IN MX 20 mx.ee.test.",
		"multi.test. 300 IN MX 10 mx.denial.test.",
		"multi.test. 300 IN MX 10 mx.ee.test.",
		// case 72: the TLSA RRset is in an unsigned zone.
		"tlsa-insecure.test. 300 IN MX 10 mx.tlsa-insecure.test.",
		"mx.tlsa-insecure.test. 300 IN A 127.0.0.1",
		tlsa("_25._tcp.mx.tlsa-insecure.test.", rec(3, 1, 1, p.leaf)),
		// case 73: validated denial (NXDOMAIN, NODATA).
		"denial.test. 300 IN MX 10 mx.denial.test.",
		"mx.denial.test. 300 IN A 127.0.0.1",
		"nodata.test. 300 IN MX 10 mx.nodata.test.",
		"mx.nodata.test. 300 IN A 127.0.0.1",
		`_25._tcp.mx.nodata.test. 300 IN TXT "not a TLSA record"`,
		// case 74: bogus and failing TLSA lookups.
		"bogus-tlsa.test. 300 IN MX 10 mx.bogus-tlsa.test.",
		"mx.bogus-tlsa.test. 300 IN A 127.0.0.1",
		tlsa("_25._tcp.mx.bogus-tlsa.test.", rec(3, 1, 1, p.leaf)),
		"tempfail-tlsa.test. 300 IN MX 10 mx.tempfail-tlsa.test.",
		"mx.tempfail-tlsa.test. 300 IN A 127.0.0.1",
		"timeout-tlsa.test. 300 IN MX 10 mx.timeout-tlsa.test.",
		"mx.timeout-tlsa.test. 300 IN A 127.0.0.1",
		// case 75: one address family validates.
		"dual.test. 300 IN MX 10 mx.dual.test.",
		"mx.dual.test. 300 IN A 127.0.0.1",
		tlsa("_25._tcp.mx.dual.test.", rec(3, 1, 1, p.leaf)),
		"v6only.test. 300 IN MX 10 mx.v6only.test.",
		"mx.v6only.test. 300 IN AAAA ::1",
		tlsa("_25._tcp.mx.v6only.test.", rec(3, 1, 1, p.leaf)),
		// case 76: MX hosts that are CNAMEs.
		"mx.provider.test. 300 IN A 127.0.0.2",
		tlsa("_25._tcp.mx.provider.test.", rec(2, 1, 1, p.inter)),
		"cname-target.test. 300 IN MX 10 mx.cname-target.test.",
		"mx.cname-target.test. 300 IN CNAME mx.provider.test.",
		"cname-both.test. 300 IN MX 10 mx.cname-both.test.",
		"mx.cname-both.test. 300 IN CNAME mx.provider.test.",
		tlsa("_25._tcp.mx.cname-both.test.", rec(3, 1, 1, p.leaf)),
		"mx.plain.test. 300 IN A 127.0.0.3",
		"cname-orig.test. 300 IN MX 10 mx.cname-orig.test.",
		"mx.cname-orig.test. 300 IN CNAME mx.plain.test.",
		tlsa("_25._tcp.mx.cname-orig.test.", rec(3, 1, 1, p.leaf)),
		"mx.broken.test. 300 IN A 127.0.0.4",
		"cname-tempfail.test. 300 IN MX 10 mx.cname-tempfail.test.",
		"mx.cname-tempfail.test. 300 IN CNAME mx.broken.test.",
		tlsa("_25._tcp.mx.cname-tempfail.test.", rec(3, 1, 1, p.leaf)),
		"mx.hoster.unsigned.test. 300 IN A 127.0.0.5",
		tlsa("_25._tcp.mx.hoster.unsigned.test.", rec(3, 1, 1, p.leaf)),
		"cname-unsigned-target.test. 300 IN MX 10 mx.cname-unsigned-target.test.",
		"mx.cname-unsigned-target.test. 300 IN CNAME mx.hoster.unsigned.test.",
		tlsa("_25._tcp.mx.cname-unsigned-target.test.", rec(3, 1, 1, p.leaf)),
		"insecure-cname.test. 300 IN MX 10 mx.alias.unsigned.test.",
		"mx.alias.unsigned.test. 300 IN CNAME mx.provider.test.",
		"mx.target2.test. 300 IN A 127.0.0.6",
		tlsa("_25._tcp.mx.target2.test.", rec(3, 1, 1, p.leaf)),
		"cname-insecure-tlsa.test. 300 IN MX 10 mx.cname-insecure-tlsa.test.",
		"mx.cname-insecure-tlsa.test. 300 IN CNAME mx.target2.test.",
		tlsa("_25._tcp.mx.cname-insecure-tlsa.test.", rec(2, 1, 1, p.inter)),
		// case 77: unsigned domain, signed MX host.
		"plain.unsigned.test. 300 IN MX 10 mx.ee.test.",
		// case 68: the domain and the MX host are both aliases.
		"alias-dom.test. 300 IN CNAME real-dom.test.",
		"real-dom.test. 300 IN MX 10 mxalias.real-dom.test.",
		"mxalias.real-dom.test. 300 IN CNAME mx.provider.test.",
		// case 78: MX lookup bogus, or failing.
		"bogus-mx.test. 300 IN MX 10 mx.ee.test.",
		// case 81: no MX, the domain is its own host.
		"implicit.test. 300 IN A 127.0.0.7",
		tlsa("_25._tcp.implicit.test.", rec(3, 1, 1, p.leaf)),
		"implicit-alias.test. 300 IN CNAME implicit.test.",
		// case 82: null MX.
		"nullmx.test. 300 IN MX 0 .",
		// RFC 7672 §2.2.2: an insecure address gets no TLSA query.
		"insecure-host.test. 300 IN MX 10 mx.host.unsigned.test.",
		"mx.host.unsigned.test. 300 IN A 127.0.0.8",
		tlsa("_25._tcp.mx.host.unsigned.test.", rec(3, 1, 1, p.leaf)),
		// case 69: only unusable records.
		"unusable.test. 300 IN MX 10 mx.unusable.test.",
		"mx.unusable.test. 300 IN A 127.0.0.1",
		tlsa("_25._tcp.mx.unusable.test.", rec(1, 1, 1, p.leaf)),
		tlsa("_25._tcp.mx.unusable.test.", rec(0, 0, 1, p.root)),
		"_25._tcp.mx.unusable.test. 300 IN TLSA 3 1 1 0102",
		tlsa("_25._tcp.mx.unusable.test.", dns.TLSA{Usage: 3, Selector: 2, MatchingType: 1, Data: rec(3, 1, 1, p.leaf).Data}),
		tlsa("_25._tcp.mx.unusable.test.", dns.TLSA{Usage: 3, Selector: 1, MatchingType: 9, Data: rec(3, 1, 1, p.leaf).Data}),
		// Hosts without addresses, or whose address lookup fails.
		"noaddr.test. 300 IN MX 10 gone.noaddr.test.",
		"addr-tempfail.test. 300 IN MX 10 mx.addr-tempfail.test.",
		"mx.addr-tempfail.test. 300 IN A 127.0.0.1",
	}
}

// startZone starts the fake validating resolver for testZone.
func startZone(tb testing.TB, p pki) (*fakeDNS, string) {
	tb.Helper()
	f := newFakeDNS(tb, testZone(p))
	f.unsigned = []string{"unsigned.test.", "_25._tcp.mx.tlsa-insecure.test.", "_25._tcp.mx.target2.test."}
	for _, n := range []string{"_25._tcp.mx.bogus-tlsa.test.", "mx.dual.test. AAAA", "bogus-mx.test."} {
		f.bogus[n] = true
	}
	for _, n := range []string{"_25._tcp.mx.tempfail-tlsa.test.", "mx.v6only.test. A", "_25._tcp.mx.broken.test.", "tempfail-mx.test.", "mx.addr-tempfail.test."} {
		f.servfail[n] = true
	}
	f.silent["_25._tcp.mx.timeout-tlsa.test."] = true
	return f, dnstest.Serve(tb, f)
}

// summary renders a DomainResult as lines, for comparison.
func summary(r *DomainResult) []string {
	head := "mx=" + r.MXStatus.String()
	for _, flag := range []struct {
		on   bool
		name string
	}{{r.Implicit, "implicit"}, {r.NullMX, "null"}, {r.NXDomain, "nxdomain"}, {r.Err != nil, "err"}} {
		if flag.on {
			head += " " + flag.name
		}
	}
	out := []string{head}
	for _, f := range r.Hosts {
		tlsa := string(f.TLSAStatus)
		if tlsa == "" {
			tlsa = "not-queried"
		}
		out = append(out, fmt.Sprintf("%s pref=%d addr=%s tlsa=%s base=%s state=%s usable=%d names=%s",
			f.Host, f.Pref, f.AddressStatus, tlsa, f.BaseDomain, f.State, f.Usable(), strings.Join(f.Names, ",")))
	}
	return out
}

// TestGather checks the gathering of RFC 7672 §2 against the fake validating
// resolver: which records count, which base domain, which reference names,
// which state; notAsked are queries ("name TYPE") that must never be sent.
func TestGather(t *testing.T) {
	p := testPKI(t)
	f, addr := startZone(t, p)
	tests := []struct {
		name     string // engine case, RFC section
		domain   string
		want     []string
		notAsked []string
	}{
		{"case 61 RFC 7672 §2.2 secure MX, address and TLSA 3 1 1: authenticate", "ee.test",
			[]string{"mx=secure", "mx.ee.test pref=10 addr=secure tlsa=secure base=mx.ee.test state=authenticate usable=1 names=mx.ee.test,ee.test"}, nil},
		{"RFC 5321 §5.1 MX hosts by preference, duplicates once", "multi.test",
			[]string{"mx=secure",
				"mx.denial.test pref=10 addr=secure tlsa=none base= state=not-applicable usable=0 names=",
				"mx.ee.test pref=10 addr=secure tlsa=secure base=mx.ee.test state=authenticate usable=1 names=mx.ee.test,multi.test"}, nil},
		{"case 72 RFC 7672 §2.2 insecure TLSA RRset is ignored", "tlsa-insecure.test",
			[]string{"mx=secure", "mx.tlsa-insecure.test pref=10 addr=secure tlsa=insecure base= state=not-applicable usable=0 names="}, nil},
		{"case 73 RFC 7672 §2.2 validated NXDOMAIN for TLSA: no DANE", "denial.test",
			[]string{"mx=secure", "mx.denial.test pref=10 addr=secure tlsa=none base= state=not-applicable usable=0 names="}, nil},
		{"case 73 RFC 7672 §2.2 validated NODATA for TLSA: no DANE", "nodata.test",
			[]string{"mx=secure", "mx.nodata.test pref=10 addr=secure tlsa=none base= state=not-applicable usable=0 names="}, nil},
		{"case 74 RFC 7672 §2.1.1 bogus TLSA: the MX host is unusable", "bogus-tlsa.test",
			[]string{"mx=secure", "mx.bogus-tlsa.test pref=10 addr=secure tlsa=bogus base= state=bogus usable=0 names="}, nil},
		{"RFC 7672 §2.1.1 TLSA SERVFAIL without a DNSSEC reason: tempfail, not no-TLSA", "tempfail-tlsa.test",
			[]string{"mx=secure", "mx.tempfail-tlsa.test pref=10 addr=secure tlsa=tempfail base= state=unusable-tempfail usable=0 names="}, nil},
		{"RFC 7672 §2.1.1 TLSA timeout: tempfail, not no-TLSA", "timeout-tlsa.test",
			[]string{"mx=secure", "mx.timeout-tlsa.test pref=10 addr=secure tlsa=tempfail base= state=unusable-tempfail usable=0 names="}, nil},
		{"case 75 RFC 7672 §2.2.2 A validates, AAAA bogus: DANE applies", "dual.test",
			[]string{"mx=secure", "mx.dual.test pref=10 addr=secure tlsa=secure base=mx.dual.test state=authenticate usable=1 names=mx.dual.test,dual.test"}, nil},
		{"case 75 RFC 7672 §2.2.2 AAAA validates, A fails: DANE applies", "v6only.test",
			[]string{"mx=secure", "mx.v6only.test pref=10 addr=secure tlsa=secure base=mx.v6only.test state=authenticate usable=1 names=mx.v6only.test,v6only.test"}, nil},
		{"case 76 RFC 7672 §2.2.2 secure CNAME chain: TLSA at the expanded name", "cname-target.test",
			[]string{"mx=secure", "mx.cname-target.test pref=10 addr=secure tlsa=secure base=mx.provider.test state=authenticate usable=1 names=mx.provider.test,mx.cname-target.test,cname-target.test"},
			[]string{"_25._tcp.mx.cname-target.test. TLSA"}},
		{"case 76 RFC 7672 §2.2.2 secure chain, TLSA at both names: the expanded name wins", "cname-both.test",
			[]string{"mx=secure", "mx.cname-both.test pref=10 addr=secure tlsa=secure base=mx.provider.test state=authenticate usable=1 names=mx.provider.test,mx.cname-both.test,cname-both.test"},
			[]string{"_25._tcp.mx.cname-both.test. TLSA"}},
		{"case 76 RFC 7672 §2.2.2 secure chain, no TLSA at the expanded name: the original name", "cname-orig.test",
			[]string{"mx=secure", "mx.cname-orig.test pref=10 addr=secure tlsa=secure base=mx.cname-orig.test state=authenticate usable=1 names=mx.cname-orig.test,mx.plain.test,cname-orig.test"}, nil},
		{"case 76 RFC 7672 §2.2.2 secure chain, insecure TLSA at the expanded name: the original name", "cname-insecure-tlsa.test",
			[]string{"mx=secure", "mx.cname-insecure-tlsa.test pref=10 addr=secure tlsa=secure base=mx.cname-insecure-tlsa.test state=authenticate usable=1 names=mx.cname-insecure-tlsa.test,mx.target2.test,cname-insecure-tlsa.test"}, nil},
		{"case 76 RFC 7672 §2.1.1 TLSA SERVFAIL at the expanded name: no fallback to the original", "cname-tempfail.test",
			[]string{"mx=secure", "mx.cname-tempfail.test pref=10 addr=secure tlsa=tempfail base= state=unusable-tempfail usable=0 names="},
			[]string{"_25._tcp.mx.cname-tempfail.test. TLSA"}},
		{"case 76 RFC 7672 §2.2.2 secure CNAME to an unsigned target: only the original name's TLSA", "cname-unsigned-target.test",
			[]string{"mx=secure", "mx.cname-unsigned-target.test pref=10 addr=insecure tlsa=secure base=mx.cname-unsigned-target.test state=authenticate usable=1 names=mx.cname-unsigned-target.test,cname-unsigned-target.test"},
			[]string{"_25._tcp.mx.hoster.unsigned.test. TLSA"}},
		{"case 76 RFC 7672 §2.2.2 insecure CNAME: no TLSA query at all", "insecure-cname.test",
			[]string{"mx=secure", "mx.alias.unsigned.test pref=10 addr=insecure tlsa=not-queried base= state=not-applicable usable=0 names="},
			[]string{"_25._tcp.mx.alias.unsigned.test. TLSA", "_25._tcp.mx.provider.test. TLSA"}},
		{"case 77 RFC 7672 §2.2.1 insecure MX, signed host: DANE, names from the host only", "plain.unsigned.test",
			[]string{"mx=insecure", "mx.ee.test pref=10 addr=secure tlsa=secure base=mx.ee.test state=authenticate usable=1 names=mx.ee.test"}, nil},
		{"case 68 RFC 7672 §3.2.2 reference names: base, MX host, next-hop and its expansion", "alias-dom.test",
			[]string{"mx=secure", "mxalias.real-dom.test pref=10 addr=secure tlsa=secure base=mx.provider.test state=authenticate usable=1 names=mx.provider.test,mxalias.real-dom.test,alias-dom.test,real-dom.test"}, nil},
		{"case 78 RFC 7672 §2.1.1 bogus MX: defer, not no-MX", "bogus-mx.test",
			[]string{"mx=bogus err"}, []string{"mx.ee.test. A"}},
		{"RFC 7672 §2.1.1 MX SERVFAIL: defer, not no-MX", "tempfail-mx.test",
			[]string{"mx=tempfail err"}, nil},
		{"case 81 RFC 7672 §2.2.2 no MX, signed A: implicit MX, TLSA at the domain", "implicit.test",
			[]string{"mx=secure implicit", "implicit.test pref=0 addr=secure tlsa=secure base=implicit.test state=authenticate usable=1 names=implicit.test"}, nil},
		{"case 81 RFC 7672 §2.2.2 implicit MX that is an alias: TLSA at the expanded name", "implicit-alias.test",
			[]string{"mx=secure implicit", "implicit-alias.test pref=0 addr=secure tlsa=secure base=implicit.test state=authenticate usable=1 names=implicit.test,implicit-alias.test"}, nil},
		{"case 82 RFC 7505 null MX: undeliverable, nothing more asked", "nullmx.test",
			[]string{"mx=secure null"}, []string{". A", ". AAAA", "_25._tcp.. TLSA", "nullmx.test. A"}},
		{"RFC 7672 §2.2.2 insecure address: TLSA not queried", "insecure-host.test",
			[]string{"mx=secure", "mx.host.unsigned.test pref=10 addr=insecure tlsa=not-queried base= state=not-applicable usable=0 names="},
			[]string{"_25._tcp.mx.host.unsigned.test. TLSA"}},
		{"case 69 RFC 7672 §2.2 only unusable records: TLS required, unauthenticated", "unusable.test",
			[]string{"mx=secure", "mx.unusable.test pref=10 addr=secure tlsa=secure base=mx.unusable.test state=tls-required-unauthenticated usable=0 names=mx.unusable.test,unusable.test"}, nil},
		{"MX host without address", "noaddr.test",
			[]string{"mx=secure", "gone.noaddr.test pref=10 addr=secure tlsa=none base= state=not-applicable usable=0 names="},
			[]string{"_25._tcp.gone.noaddr.test. TLSA"}},
		{"RFC 7672 §2.1.1 address SERVFAIL: the MX host is unusable", "addr-tempfail.test",
			[]string{"mx=secure", "mx.addr-tempfail.test pref=10 addr=tempfail tlsa=tempfail base= state=unusable-tempfail usable=0 names="},
			[]string{"_25._tcp.mx.addr-tempfail.test. TLSA"}},
		{"domain that does not exist", "nx.test", []string{"mx=secure nxdomain"}, nil},
		{"name case and trailing dot are not significant", "EE.Test.",
			[]string{"mx=secure", "mx.ee.test pref=10 addr=secure tlsa=secure base=mx.ee.test state=authenticate usable=1 names=mx.ee.test,ee.test"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reset()
			res, err := Gather(t.Context(), newResolver(addr, false), tt.domain, nil)
			if err != nil {
				t.Fatalf("Gather(%q) error %v", tt.domain, err)
			}
			if diff := cmp.Diff(tt.want, summary(res)); diff != "" {
				t.Errorf("Gather(%q) (-want +got):\n%s", tt.domain, diff)
				for _, h := range res.Hosts {
					t.Logf("%s: %s", h.Host, h.Reason)
				}
			}
			for _, q := range tt.notAsked {
				if n := f.asked(q); n != 0 {
					t.Errorf("Gather(%q) asked %s %d times, want never", tt.domain, q, n)
				}
			}
		})
	}
}

// TestGatherUntrusted is case 79: AD from a resolver that is not trusted
// (not loopback, not marked in dnsconfig) counts for nothing: engine/dns
// reports every answer Insecure (RFC 4035 §4.9.3, tested there), and DANE then
// does not apply: the address is insecure, so TLSA is not even asked.
func TestGatherUntrusted(t *testing.T) {
	p := testPKI(t)
	f, addr := startZone(t, p)
	res, err := Gather(t.Context(), untrusted{newResolver(addr, false)}, "untrusted.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mx=insecure", "mx.untrusted.test pref=10 addr=insecure tlsa=not-queried base= state=not-applicable usable=0 names="}
	if diff := cmp.Diff(want, summary(res)); diff != "" {
		t.Errorf("Gather through an untrusted resolver (-want +got):\n%s", diff)
	}
	if n := f.asked("_25._tcp.mx.untrusted.test. TLSA"); n != 0 {
		t.Errorf("TLSA asked %d times, want never", n)
	}
}

// TestGatherBadDomain: a name that is not a domain name is an error, and
// nothing is asked.
func TestGatherBadDomain(t *testing.T) {
	p := testPKI(t)
	f, addr := startZone(t, p)
	for _, d := range []string{"", "a..b", strings.Repeat("x", 64) + ".test"} {
		if res, err := Gather(t.Context(), newResolver(addr, false), d, nil); err == nil || res != nil {
			t.Errorf("Gather(%q) = %v, %v, want an error", d, res, err)
		} else if !strings.HasPrefix(err.Error(), "dane: ") {
			t.Errorf("Gather(%q) error %q lacks the dane: prefix", d, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) != 0 {
		t.Errorf("queries sent for bad names: %v", f.queries)
	}
}

// TestGatherRecords checks the verdicts kept per record (case 69), and the
// TLSRPT result type of a bogus host (case 74, RFC 8460 §4.3.2.1).
func TestGatherRecords(t *testing.T) {
	p := testPKI(t)
	_, addr := startZone(t, p)
	r := newResolver(addr, false)
	res, err := Gather(t.Context(), r, "unusable.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range res.Hosts[0].Records {
		got = append(got, fmt.Sprintf("%.5s used=%v %s", rec.Text, rec.Used, rec.Reason))
	}
	want := []string{
		"1 1 1 used=false unusable TLSA record: PKIX-EE(1) is not used for SMTP (RFC 7672 §3.1.3)",
		"0 0 1 used=false unusable TLSA record: PKIX-TA(0) is not used for SMTP (RFC 7672 §3.1.3)",
		"3 1 1 used=false unusable TLSA record: SHA2-256 data of 2 bytes, want 32",
		"3 2 1 used=false unusable TLSA record: unknown selector 2",
		"3 1 9 used=false unusable TLSA record: unknown matching type 9",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if !res.Hosts[0].RequiresTLS() {
		t.Error("RequiresTLS() = false with only unusable records, want true (RFC 7672 §2.2)")
	}
	if tg := res.Hosts[0].Target(); len(tg.Records) != 0 || tg.BaseDomain != "mx.unusable.test" {
		t.Errorf("Target() = %+v, want no records, base mx.unusable.test", tg)
	}

	res, err = Gather(t.Context(), r, "bogus-tlsa.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Hosts[0].FailureType(); got != "dnssec-invalid" {
		t.Errorf("FailureType() = %q, want dnssec-invalid", got)
	}
	if res.Hosts[0].RequiresTLS() || res.Hosts[0].Err == nil {
		t.Errorf("bogus host: RequiresTLS %v, Err %v; want false and an error", res.Hosts[0].RequiresTLS(), res.Hosts[0].Err)
	}
}

// TestGatherLines checks the log lines against the appliance's daneverify
// wording (dialogs.md).
func TestGatherLines(t *testing.T) {
	p := testPKI(t)
	_, addr := startZone(t, p)
	tests := []struct {
		domain string
		want   []string
	}{
		{"ee.test", []string{
			"Info: SECURE MX record(mx.ee.test) found for ee.test",
			"Info: SECURE A record (127.0.0.1) found for MX(mx.ee.test) in ee.test",
			"Info: SECURE AAAA record (::1) found for MX(mx.ee.test) in ee.test",
			"Info: SECURE TLSA record found for MX(mx.ee.test) in ee.test",
			"Debug: TLSA record (" + rec(3, 1, 1, p.leaf).String() + ") usable for MX(mx.ee.test) in ee.test",
		}},
		{"insecure-host.test", []string{
			"Info: SECURE MX record(mx.host.unsigned.test) found for insecure-host.test",
			"Info: INSECURE A record (127.0.0.8) found for MX(mx.host.unsigned.test) in insecure-host.test",
			"Info: INSECURE denial of AAAA record found for MX(mx.host.unsigned.test) in insecure-host.test",
			"Info: TLSA record not queried for MX(mx.host.unsigned.test) in insecure-host.test: the address is INSECURE",
		}},
		{"cname-target.test", []string{
			"Info: SECURE MX record(mx.cname-target.test) found for cname-target.test",
			"Info: SECURE A record (127.0.0.2) found for MX(mx.cname-target.test) in cname-target.test",
			"Info: SECURE denial of AAAA record found for MX(mx.cname-target.test) in cname-target.test",
			"Info: SECURE CNAME chain from mx.cname-target.test to mx.provider.test for MX(mx.cname-target.test) in cname-target.test",
			"Info: SECURE TLSA record found for MX(mx.cname-target.test) in cname-target.test at _25._tcp.mx.provider.test",
			"Debug: TLSA record (" + rec(2, 1, 1, p.inter).String() + ") usable for MX(mx.cname-target.test) in cname-target.test",
		}},
		{"tlsa-insecure.test", []string{
			"Info: SECURE MX record(mx.tlsa-insecure.test) found for tlsa-insecure.test",
			"Info: SECURE A record (127.0.0.1) found for MX(mx.tlsa-insecure.test) in tlsa-insecure.test",
			"Info: SECURE denial of AAAA record found for MX(mx.tlsa-insecure.test) in tlsa-insecure.test",
			"Info: INSECURE TLSA record found for MX(mx.tlsa-insecure.test) in tlsa-insecure.test: ignored",
		}},
		{"tempfail-tlsa.test", []string{
			"Info: SECURE MX record(mx.tempfail-tlsa.test) found for tempfail-tlsa.test",
			"Info: SECURE A record (127.0.0.1) found for MX(mx.tempfail-tlsa.test) in tempfail-tlsa.test",
			"Info: SECURE denial of AAAA record found for MX(mx.tempfail-tlsa.test) in tempfail-tlsa.test",
			"Warning: TLSA record lookup for MX(mx.tempfail-tlsa.test) in tempfail-tlsa.test failed temporarily: dns: lookup _25._tcp.mx.tempfail-tlsa.test. TLSA: ADDR: server failure (SERVFAIL)",
		}},
		{"cname-unsigned-target.test", []string{
			"Info: SECURE MX record(mx.cname-unsigned-target.test) found for cname-unsigned-target.test",
			"Info: INSECURE A record (127.0.0.5) found for MX(mx.cname-unsigned-target.test) in cname-unsigned-target.test",
			"Info: INSECURE denial of AAAA record found for MX(mx.cname-unsigned-target.test) in cname-unsigned-target.test",
			"Info: SECURE CNAME record (mx.hoster.unsigned.test) found for MX(mx.cname-unsigned-target.test) in cname-unsigned-target.test, INSECURE target: TLSA only at mx.cname-unsigned-target.test",
			"Info: SECURE TLSA record found for MX(mx.cname-unsigned-target.test) in cname-unsigned-target.test",
			"Debug: TLSA record (" + rec(3, 1, 1, p.leaf).String() + ") usable for MX(mx.cname-unsigned-target.test) in cname-unsigned-target.test",
		}},
		{"bogus-mx.test", []string{
			"Warning: BOGUS MX record for bogus-mx.test: dns: lookup bogus-mx.test. MX: " + "ADDR: SERVFAIL with EDE 6 (DNSSEC Bogus): fake bogus bogus-mx.test.: DNSSEC validation failed (bogus)",
		}},
		{"nullmx.test", []string{
			"Info: SECURE null MX record found for nullmx.test: the domain accepts no mail",
		}},
		{"implicit.test", []string{
			"Info: SECURE denial of MX record found for implicit.test: implicit MX(implicit.test)",
			"Info: SECURE A record (127.0.0.7) found for MX(implicit.test) in implicit.test",
			"Info: SECURE denial of AAAA record found for MX(implicit.test) in implicit.test",
			"Info: SECURE TLSA record found for MX(implicit.test) in implicit.test",
			"Debug: TLSA record (" + rec(3, 1, 1, p.leaf).String() + ") usable for MX(implicit.test) in implicit.test",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			log := &maillog.Memory{Level: maillog.Trace}
			res, err := Gather(t.Context(), newResolver(addr, false), tt.domain, log)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, l := range tt.want {
				want = append(want, strings.ReplaceAll(l, "ADDR", addr))
			}
			if diff := cmp.Diff(want, log.Lines()); diff != "" {
				t.Errorf("log of Gather(%q) (-want +got):\n%s", tt.domain, diff)
			}
			// The result keeps the same lines for daneverify.
			var kept []string
			for _, l := range res.Lines {
				kept = append(kept, maillog.Format(time.Time{}, l.Level, l.Text))
			}
			for _, h := range res.Hosts {
				for _, l := range append(h.AddressLines, h.TLSALines...) {
					kept = append(kept, maillog.Format(time.Time{}, l.Level, l.Text))
				}
			}
			if diff := cmp.Diff(want, kept); diff != "" {
				t.Errorf("lines kept by Gather(%q) (-want +got):\n%s", tt.domain, diff)
			}
		})
	}
}
