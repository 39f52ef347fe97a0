package dns

import (
	"testing"
	"time"
)

// TestCacheLifetime: an answer is served from the cache until its lifetime
// ends, then asked again. key is the query counted at the fake server.
func TestCacheLifetime(t *testing.T) {
	tests := []struct {
		name     string
		qname    string
		qtype    uint16
		key      string
		lifetime time.Duration
	}{
		{"RFC 1035 §3.2.1 positive answer lives its TTL", "secure.test", TypeA, "secure.test. A", 300 * time.Second},
		{"RFC 2181 §5.2 chain lives the smallest TTL", "cname.test", TypeA, "cname.test. A", 200 * time.Second},
		{"RFC 2308 §5 NXDOMAIN lives min(SOA TTL, MINIMUM)", "nx.test", TypeA, "nx.test. A", 900 * time.Second},
		{"RFC 2308 §5 NODATA lives min(SOA TTL, MINIMUM)", "nodata.test", TypeTXT, "nodata.test. TXT", 120 * time.Second},
		{"negative answer without SOA lives DefaultNegativeTTL", "nosoa.test", TypeA, "nosoa.test. A", DefaultNegativeTTL},
		{"bogus lives BogusCacheTTL", "bogus.test", TypeA, "bogus.test. A", BogusCacheTTL},
		{"bogus by CD check lives BogusCacheTTL", "servfail-cd.test", TypeA, "servfail-cd.test. A", BogusCacheTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			r, f, _ := testResolver(t, Config{Now: clock.Now})
			first, _ := r.Lookup(t.Context(), tt.qname, tt.qtype)
			if first.Cached {
				t.Errorf("first Lookup(%q) says Cached", tt.qname)
			}
			clock.Advance(tt.lifetime - time.Second)
			again, _ := r.Lookup(t.Context(), tt.qname, tt.qtype)
			if n := f.count(tt.key); n != 1 {
				t.Fatalf("after %v: %d queries for %s, want 1 (cache hit)", tt.lifetime-time.Second, n, tt.key)
			}
			if !again.Cached || again.Status != first.Status || again.NXDomain != first.NXDomain || again.NoData != first.NoData {
				t.Errorf("cached Lookup(%q) = %+v, want the first answer %+v", tt.qname, again, first)
			}
			if first.Status != Bogus && again.TTL != 1 {
				t.Errorf("cached Lookup(%q).TTL = %d, want 1 (counted down)", tt.qname, again.TTL)
			}
			clock.Advance(time.Second)
			r.Lookup(t.Context(), tt.qname, tt.qtype)
			if n := f.count(tt.key); n != 2 {
				t.Errorf("after %v: %d queries for %s, want 2 (expired)", tt.lifetime, n, tt.key)
			}
		})
	}
}

// TestCacheSkips: what must not be cached is asked every time.
func TestCacheSkips(t *testing.T) {
	tests := []struct {
		name  string
		qname string
		key   string
	}{
		{"tempfail SERVFAIL not cached", "servfail.test", "servfail.test. A"},
		{"tempfail REFUSED not cached", "refused.test", "refused.test. A"},
		{"RFC 1035 §3.2.1 TTL 0 not cached", "ttl0.test", "ttl0.test. A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			r, f, _ := testResolver(t, Config{Now: clock.Now, Attempts: 1})
			r.Lookup(t.Context(), tt.qname, TypeA)
			r.Lookup(t.Context(), tt.qname, TypeA)
			if n := f.count(tt.key); n != 2 {
				t.Errorf("%d queries for %s, want 2", n, tt.key)
			}
		})
	}
}

func TestCacheChainSteps(t *testing.T) {
	clock := newFakeClock()
	r, f, _ := testResolver(t, Config{Now: clock.Now})
	r.Lookup(t.Context(), "alias.test", TypeA)
	res, err := r.Lookup(t.Context(), "alias.test", TypeA)
	if err != nil || !res.Cached || len(res.Steps) != 2 || res.Status != Secure {
		t.Fatalf("cached chain = %+v, %v", res, err)
	}
	if a, s := f.count("alias.test. A"), f.count("secure.test. A"); a != 1 || s != 1 {
		t.Errorf("queries alias %d, secure %d, want 1 and 1", a, s)
	}
	// The target's own entry serves a direct lookup too.
	if res, _ := r.Lookup(t.Context(), "secure.test", TypeA); !res.Cached {
		t.Error("secure.test not served from the cache after the chain")
	}
}

func TestNoCache(t *testing.T) {
	r, f, _ := testResolver(t, Config{NoCache: true})
	for range 3 {
		r.Lookup(t.Context(), "secure.test", TypeA)
	}
	if n := f.count("secure.test. A"); n != 3 {
		t.Errorf("NoCache: %d queries, want 3", n)
	}
}

// TestCacheCopies: a caller changing a Result does not change the cache.
func TestCacheCopies(t *testing.T) {
	clock := newFakeClock()
	r, _, _ := testResolver(t, Config{Now: clock.Now})
	res, _ := r.Lookup(t.Context(), "secure.test", TypeA)
	res.Records[0].Data = "changed"
	res, _ = r.Lookup(t.Context(), "secure.test", TypeA)
	if res.Records[0].Data != "192.0.2.1" {
		t.Errorf("cache changed through a Result: %q", res.Records[0].Data)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache(3)
	now := newFakeClock().Now()
	for i, name := range []string{"a.", "b.", "c.", "d.", "e."} {
		c.put(cacheKey{name, TypeA}, &step{}, time.Duration(i+1)*time.Minute, now)
	}
	if n := len(c.m); n != 3 {
		t.Errorf("cache holds %d entries, want 3", n)
	}
	if _, _, ok := c.get(cacheKey{"e.", TypeA}, now); !ok {
		t.Error("newest entry missing")
	}
}
