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

// BenchmarkLookupCachedParallel is BenchmarkLookupCached from every
// processor at once (-cpu): cache hits share the read lock.
func BenchmarkLookupCachedParallel(b *testing.B) {
	r, _, _ := testResolver(b, Config{})
	if _, err := r.Lookup(b.Context(), "secure.test", TypeA); err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Lookup(ctx, "secure.test", TypeA); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTXTCached is a TXT lookup answered from the cache, the records
// decoded (two records of two strings each): what the MTA-STS discovery
// asks on every decision that its own memo does not answer.
func BenchmarkTXTCached(b *testing.B) {
	r, _, _ := testResolver(b, Config{})
	if _, _, err := r.TXT(b.Context(), "txt.test."); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.TXT(b.Context(), "txt.test."); err != nil {
			b.Fatal(err)
		}
	}
}
