package mtasts

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segcli/segcli/engine/maillog"
)

// BenchmarkParsePolicy parses the RFC 8461 §3.2 example policy.
func BenchmarkParsePolicy(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParsePolicy(rfcExample); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedDecision is the decision for a domain whose policy is in
// the on-disk cache and whose TXT record is in the resolver's cache: the
// cost MTA-STS adds to a delivery in the steady state.
func BenchmarkCachedDecision(b *testing.B) {
	w := newWorld(b)
	w.domain("d.test", "", liveEnforce)
	w.dns.set("_mta-sts.d.test.", `_mta-sts.d.test. 300 IN TXT "v=STSv1; id=b1;"`)
	cfg := w.config()
	cfg.Resolver = w.resolver(true)
	cfg.Cache, _ = diskCache(b)
	cfg.Log = maillog.Discard{}
	e := w.engine(cfg)
	ctx := context.Background()
	if res, err := e.Policy(ctx, "d.test"); err != nil || res.Action != Apply {
		b.Fatalf("Policy() = %v, %v", res.Action, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res, _ := e.Policy(ctx, "d.test"); res.Action != Apply || res.Source != SourceCache {
			b.Fatalf("Policy() = %v from %s", res.Action, res.Source)
		}
	}
}

// BenchmarkCachedDecisionFloor is the peer of BenchmarkCachedDecision: the
// resolver-cached TXT lookup alone, which no decision can skip.
func BenchmarkCachedDecisionFloor(b *testing.B) {
	w := newWorld(b)
	w.dns.set("_mta-sts.d.test.", `_mta-sts.d.test. 300 IN TXT "v=STSv1; id=b1;"`)
	r := w.resolver(true)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.TXT(ctx, "_mta-sts.d.test"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedDecisionMemory is BenchmarkCachedDecision with the policy
// in a MemoryCache and the TXT record within its DNS TTL: the engine's own
// cost of a warm decision (the target: at most 1 µs and no
// allocation with -cpu 1).
func BenchmarkCachedDecisionMemory(b *testing.B) {
	w := newWorld(b)
	e := warmEngine(b, w, "d.test", 300, maillog.Discard{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, _ := e.Policy(ctx, "d.test"); res.Action != Apply || res.Source != SourceCache {
			b.Fatalf("Policy() = %v from %s", res.Action, res.Source)
		}
	}
}

// BenchmarkCachedDecisionMemoryParallel is BenchmarkCachedDecisionMemory
// from every processor at once (-cpu N): the caches take read locks only.
func BenchmarkCachedDecisionMemoryParallel(b *testing.B) {
	w := newWorld(b)
	e := warmEngine(b, w, "d.test", 300, maillog.Discard{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, _ := e.Policy(ctx, "d.test"); res.Action != Apply || res.Source != SourceCache {
				b.Errorf("Policy() = %v from %s", res.Action, res.Source)
				return
			}
		}
	})
}

// BenchmarkNoRecordDecision is the decision for a domain without MTA-STS
// (NXDOMAIN for its TXT name, within the negative TTL): most destinations.
func BenchmarkNoRecordDecision(b *testing.B) {
	w := newWorld(b)
	cfg := w.config()
	cfg.Resolver = patientResolver(w, true)
	cfg.Cache = &MemoryCache{}
	cfg.Log = maillog.Discard{}
	e := w.engine(cfg)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res, _ := e.Policy(ctx, "plain.test"); res.Action != NoPolicy {
			b.Fatalf("Policy() = %v", res.Action)
		}
	}
}

// BenchmarkFailingDomain is the decision for a domain whose TXT record is
// found but whose policy host fails (HTTP 500), after the first failure:
// answered from the hold-off (RFC 8461 §3.3, RetryHoldoff) without asking
// the policy host. TXT=cached: the record within its TTL, no network at
// all; TXT=ttl0: the record asked again each time (loopback DNS).
func BenchmarkFailingDomain(b *testing.B) {
	for _, ttl := range []int{300, 0} {
		name := "TXT=cached"
		if ttl == 0 {
			name = "TXT=ttl0"
		}
		b.Run(name, func(b *testing.B) {
			w := newWorld(b)
			w.domain("fail.test", "", live500)
			publishTTL(w, "fail.test", ttl, "v=STSv1; id=f1;")
			cfg := w.config()
			cfg.Resolver = patientResolver(w, true)
			cfg.Cache = &MemoryCache{}
			cfg.Log = maillog.Discard{}
			e := w.engine(cfg)
			ctx := context.Background()
			if res, _ := e.Policy(ctx, "fail.test"); res.Action != NoPolicy {
				b.Fatalf("first Policy() = %v", res.Action)
			}
			b.ReportAllocs()
			for b.Loop() {
				if res, _ := e.Policy(ctx, "fail.test"); res.Action != NoPolicy {
					b.Fatalf("Policy() = %v", res.Action)
				}
			}
			if n := w.web.hitCount("fail.test"); n != 1 {
				b.Fatalf("policy host asked %d times, want 1", n)
			}
		})
	}
}

// forgetful is a Cache that keeps nothing, so that every decision is cold.
type forgetful struct{}

func (forgetful) Get(context.Context, string) (Entry, bool, error) { return Entry{}, false, nil }
func (forgetful) Put(context.Context, Entry) error                 { return nil }
func (forgetful) List(context.Context) ([]Entry, error)            { return nil, nil }
func (forgetful) Delete(context.Context, string) error             { return nil }

// BenchmarkColdCheck is a decision with nothing cached anywhere, with a
// round-trip delay D injected on the local DNS server (each answer), the
// TCP connect, and the HTTPS server (each flight it sends). The critical
// path is 4 round trips: the TXT lookup and the policy host's address
// lookups (run at once), TCP, the TLS 1.3 handshake, the GET. The
// "x-critical" metric is the time per decision over 4D; D=0 gives the CPU
// cost of both ends of the conversation, which all run in this process.
func BenchmarkColdCheck(b *testing.B) {
	for _, d := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("D=%v", d), func(b *testing.B) {
			w := newWorld(b)
			w.domain("cold.test", "v=STSv1; id=c1;", liveEnforce)
			cfg := w.config()
			cfg.Cache = forgetful{}
			cfg.Log = maillog.Discard{}
			e := w.engine(cfg)
			w.dns.delay, w.web.delay, w.dialDelay = d, d, d
			ctx := context.Background()
			w.web.mu.Lock()
			w.web.writes = 0
			w.web.mu.Unlock()
			start := time.Now()
			n := 0
			for b.Loop() {
				if res, err := e.Policy(ctx, "cold.test"); err != nil || res.Action != Apply || res.Source != SourceFetched {
					b.Fatalf("Policy() = %v from %s, %v", res.Action, res.Source, err)
				}
				n++
			}
			per := time.Since(start) / time.Duration(n)
			if d > 0 {
				b.ReportMetric(float64(per)/float64(4*d), "x-critical")
			}
			w.web.mu.Lock()
			b.ReportMetric(float64(w.web.writes)/float64(n), "server-flights/op")
			w.web.mu.Unlock()
		})
	}
}

// BenchmarkCriticalPathFloor is the peer of BenchmarkColdCheck: the four
// round trips alone, as four sleeps of D one after the other, so that
// timer overshoot on a busy machine shows in the same run.
func BenchmarkCriticalPathFloor(b *testing.B) {
	for _, d := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("D=%v", d), func(b *testing.B) {
			start := time.Now()
			n := 0
			for b.Loop() {
				for range 4 {
					time.Sleep(d)
				}
				n++
			}
			b.ReportMetric(float64(time.Since(start)/time.Duration(n))/float64(4*d), "x-critical")
		})
	}
}
