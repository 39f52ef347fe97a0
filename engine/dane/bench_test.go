package dane

import (
	"testing"

	"github.com/segcli/segcli/engine/dns"
)

// BenchmarkVerifyEE measures DANE-EE(3) verification of a presented chain
// (leaf and intermediate) by a 3 1 1 record, as VerifyConnection runs it.
func BenchmarkVerifyEE(b *testing.B) {
	p := testPKI(b)
	chain := chainOf(p.leaf, p.inter)
	records := []dns.TLSA{rec(3, 1, 1, p.leaf)}
	names := []string{"mx.example.test", "example.test"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyChain(records, names, chain, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyTA measures DANE-TA(2) verification of a presented chain
// (leaf, intermediate, root) by a 2 1 1 record of the root: chain building
// with two signature checks, dates and name check.
func BenchmarkVerifyTA(b *testing.B) {
	p := testPKI(b)
	chain := chainOf(p.leaf, p.inter, p.root)
	records := []dns.TLSA{rec(2, 1, 1, p.root)}
	names := []string{"mx.example.test", "example.test"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyChain(records, names, chain, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGatherWarm measures the DANE decision for a domain (MX, A, AAAA
// and TLSA lookups, usability, reference names) with a warm DNS cache.
func BenchmarkGatherWarm(b *testing.B) {
	p := testPKI(b)
	_, addr := startZone(b, p)
	r := newResolver(addr, true)
	if _, err := Gather(b.Context(), r, "ee.test", nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Gather(b.Context(), r, "ee.test", nil)
		if err != nil || res.Hosts[0].State != StateAuthenticate {
			b.Fatal(err)
		}
	}
}

// BenchmarkGatherCold is the peer of BenchmarkGatherWarm: the same decision
// with every query sent to the resolver on 127.0.0.1.
func BenchmarkGatherCold(b *testing.B) {
	p := testPKI(b)
	_, addr := startZone(b, p)
	r := newResolver(addr, false)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Gather(b.Context(), r, "ee.test", nil)
		if err != nil || res.Hosts[0].State != StateAuthenticate {
			b.Fatal(err)
		}
	}
}
