package dns

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
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

// TestCacheExpires: Result.Expires is when the answer leaves the cache (the
// earliest expiry of its steps), the same for the lookup that stored it and
// for the ones the cache answers, and zero when a step is not cached.
func TestCacheExpires(t *testing.T) {
	const never = -1
	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		cfg     Config
		before  string        // looked up first (a step of the chain), "" for none
		advance time.Duration // between before and qname
		want    time.Duration // from the lookup of qname; never: zero
	}{
		{name: "RFC 1035 §3.2.1 positive answer: its TTL", qname: "secure.test", qtype: TypeA, want: 300 * time.Second},
		{name: "RFC 2181 §5.2 chain in one answer: the smallest TTL", qname: "cname.test", qtype: TypeA, want: 200 * time.Second},
		{name: "RFC 2181 §5.2 chain over two queries: the step that leaves first", qname: "alias.test", qtype: TypeA,
			before: "secure.test", advance: 100 * time.Second, want: 200 * time.Second},
		{name: "RFC 2308 §5 NXDOMAIN: the negative TTL", qname: "nx.test", qtype: TypeA, want: 900 * time.Second},
		{name: "RFC 2308 §5 NODATA: the negative TTL", qname: "nodata.test", qtype: TypeTXT, want: 120 * time.Second},
		{name: "bogus answer: BogusCacheTTL", qname: "bogus.test", qtype: TypeA, want: BogusCacheTTL},
		{name: "RFC 1035 §3.2.1 TTL 0: not cached, no expiry", qname: "ttl0.test", qtype: TypeA, want: never},
		{name: "temporary failure: never cached", qname: "servfail.test", qtype: TypeA, cfg: Config{Attempts: 1}, want: never},
		{name: "cache off: no expiry", qname: "secure.test", qtype: TypeA, cfg: Config{NoCache: true}, want: never},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			tt.cfg.Now = clock.Now
			r, _, _ := testResolver(t, tt.cfg)
			if tt.before != "" {
				r.Lookup(t.Context(), tt.before, tt.qtype)
				clock.Advance(tt.advance)
			}
			start := clock.Now()
			want := time.Time{}
			if tt.want != never {
				want = start.Add(tt.want)
			}
			first, _ := r.Lookup(t.Context(), tt.qname, tt.qtype)
			if !first.Expires.Equal(want) {
				t.Errorf("first Lookup(%s).Expires = %v, want %v", tt.qname, first.Expires, want)
			}
			clock.Advance(time.Second)
			again, _ := r.Lookup(t.Context(), tt.qname, tt.qtype)
			if !again.Expires.Equal(want) {
				t.Errorf("Lookup(%s) 1 s later: Expires = %v, want %v", tt.qname, again.Expires, want)
			}
			if tt.want != never && !again.Cached {
				t.Errorf("Lookup(%s) 1 s later not answered from the cache", tt.qname)
			}
		})
	}
}

// TestCacheCountdown: RFC 1035 §3.2.1, RFC 2181 §8: each answer from the
// cache carries the TTLs left at its own time. The cache shares its entries
// with readers, so a reader must never count down the cache's copy.
func TestCacheCountdown(t *testing.T) {
	clock := newFakeClock()
	r, f, _ := testResolver(t, Config{Now: clock.Now})
	steps := []struct {
		advance time.Duration
		want    uint32
	}{
		{0, 300},
		{1500 * time.Millisecond, 299}, // whole seconds only
		{8500 * time.Millisecond, 290},
		{10 * time.Second, 280},
		{10 * time.Second, 270},
		{269 * time.Second, 1},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		res, err := r.Lookup(t.Context(), "secure.test", TypeA)
		if err != nil || len(res.Records) != 1 {
			t.Fatalf("step %d: %+v, %v", i, res, err)
		}
		if res.Records[0].TTL != s.want || res.TTL != s.want {
			t.Errorf("step %d: record TTL %d, Result.TTL %d, want %d", i, res.Records[0].TTL, res.TTL, s.want)
		}
	}
	if n := f.count("secure.test. A"); n != 1 {
		t.Errorf("%d queries, want 1", n)
	}
}

// TestCanonicalFastPath: a name that is already canonical is taken as it is;
// every other form goes through the full check and gives the same name.
func TestCanonicalFastPath(t *testing.T) {
	tests := []struct {
		name, in, want string
		fast, wantErr  bool
	}{
		{name: "canonical", in: "_mta-sts.example.com.", want: "_mta-sts.example.com.", fast: true},
		{name: "digits and hyphens", in: "a-1.b2.test.", want: "a-1.b2.test.", fast: true},
		{name: "no trailing dot", in: "example.com", want: "example.com."},
		{name: "upper case", in: "Example.COM.", want: "example.com."},
		{name: "spaces around", in: " example.com. ", want: "example.com."},
		{name: "root", in: ".", want: "."},
		{name: "empty label", in: "a..b.", wantErr: true},
		{name: "empty", in: "", wantErr: true},
		{name: "label of 64", in: strings.Repeat("a", 64) + ".test.", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonicalName(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("canonicalName(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
			if isCanonical(tt.in) != tt.fast {
				t.Errorf("isCanonical(%q) = %v, want %v", tt.in, !tt.fast, tt.fast)
			}
		})
	}
}

// TestCanonicalFastPathAgrees: every name the fast path takes as it is, the
// full check accepts and leaves unchanged (random names over an alphabet of
// the characters that matter).
func TestCanonicalFastPathAgrees(t *testing.T) {
	const alphabet = "aZ0-._ \\"
	rng := rand.New(rand.NewPCG(1035, 2181))
	fast := 0
	for range 200000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		name := string(b)
		if !isCanonical(name) {
			continue
		}
		fast++
		if _, ok := mdns.IsDomainName(name); !ok || mdns.CanonicalName(name) != name {
			t.Fatalf("isCanonical(%q), but the full check gives %q (valid %v)", name, mdns.CanonicalName(name), ok)
		}
	}
	if fast < 1000 {
		t.Errorf("only %d canonical names generated: the test checks too little", fast)
	}
}
