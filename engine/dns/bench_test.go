package dns

import "testing"

// BenchmarkLookupCached measures a lookup answered from the cache.
func BenchmarkLookupCached(b *testing.B) {
	r, _, _ := testResolver(b, Config{})
	if _, err := r.Lookup(b.Context(), "secure.test", TypeA); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Lookup(b.Context(), "secure.test", TypeA); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupMiss measures a lookup that goes to the local test server
// over UDP.
func BenchmarkLookupMiss(b *testing.B) {
	r, _, _ := testResolver(b, Config{NoCache: true})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Lookup(b.Context(), "secure.test", TypeA); err != nil {
			b.Fatal(err)
		}
	}
}
