package mtasts

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// cached describes a cache entry a test starts with; an empty id means no
// entry.
type cached struct {
	id         string
	mode       Mode
	fetchedAgo time.Duration
	maxAge     int
}

// seed puts the entry c describes for d into cache, with the mx pattern
// "mx-old.d".
func seed(t *testing.T, w *world, cache Cache, d string, c cached) {
	t.Helper()
	if c.id == "" {
		return
	}
	text := policyText(c.mode, c.maxAge, "mx-old."+d)
	p, _, err := ParsePolicy(text)
	if err != nil {
		t.Fatal(err)
	}
	at := w.clock.Now().Add(-c.fetchedAgo)
	err = cache.Put(t.Context(), Entry{
		Domain: d, ID: c.id, Text: text, Policy: p,
		FetchedAt: at, ExpiresAt: at.Add(time.Duration(c.maxAge) * time.Second), LastUsed: at,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// publish sets the TXT record of d: "" none, "SERVFAIL", "TIMEOUT", "MULTI"
// (two STS records), else the record itself.
func publish(w *world, d, txt string) {
	name := "_mta-sts." + d + "."
	switch txt {
	case "":
		w.dns.set(name)
	case "SERVFAIL":
		w.dns.fail(name, true, false)
	case "TIMEOUT":
		w.dns.fail(name, false, true)
	case "MULTI":
		w.dns.set(name, fmt.Sprintf("%s 0 IN TXT %q", name, "v=STSv1; id=m1;"), fmt.Sprintf("%s 0 IN TXT %q", name, "v=STSv1; id=m2;"))
	default:
		w.dns.set(name, fmt.Sprintf("%s 0 IN TXT %q", name, txt))
	}
}

var (
	liveEnforce = site{body: policyText(ModeEnforce, 86400, "mx-new.d.test")}
	liveNone    = site{body: policyText(ModeNone, 86400)}
	live500     = site{status: 500, body: "oops"}
	live404     = site{status: 404, body: "no"}
	liveMaxAge0 = site{body: policyText(ModeEnforce, 0, "mx-new.d.test")}
)

// TestPolicyDecision: DESIGN.md engine rules step 3 and RFC 8461 §3, §5.1,
// §8.3: what Engine.Policy does for each state of the cache, the TXT record
// and the policy host.
func TestPolicyDecision(t *testing.T) {
	const (
		hour = time.Hour
		day  = 86400
	)
	valid := func(id string) cached { return cached{id: id, mode: ModeEnforce, fetchedAgo: hour, maxAge: day} }
	expired := func(id string) cached { return cached{id: id, mode: ModeEnforce, fetchedAgo: 48 * hour, maxAge: day} }
	tests := []struct {
		name        string
		cache       cached
		txt         string
		site        site
		want        Action
		wantSrc     Source
		wantMX      string // first mx of Result.Policy
		wantHits    int
		wantLog     []string // substrings of lines that must be logged, in order
		wantNoLog   []string
		wantCacheID string // id cached afterwards
	}{
		{name: "c02 no TXT record, nothing cached §3.1", txt: "", site: liveEnforce, want: NoPolicy},
		{name: "c03 two STS records, nothing cached §3.1", txt: "MULTI", site: liveEnforce, want: NoPolicy},
		{name: "c05 invalid record, nothing cached §3.1", txt: "id=1; v=STSv1;", site: liveEnforce, want: NoPolicy},
		{
			name: "c01 cold: record found, policy fetched and applied §3.1 §3.3", txt: "v=STSv1; id=new1;", site: liveEnforce,
			want: Apply, wantSrc: SourceFetched, wantMX: "mx-new.d.test", wantHits: 1, wantCacheID: "new1",
			wantLog: []string{
				"Info: Successfully fetched MTA-STS TXT record for domain(d.test)",
				"Info: MTA-STS policy for the domain (d.test) Successful.",
				"Info: Applying MTA-STS policy for the domain (d.test)",
			},
		},
		{name: "c14 TXT SERVFAIL, nothing cached: defer (DECISION)", txt: "SERVFAIL", site: liveEnforce, want: Defer},
		{name: "c14 TXT timeout, nothing cached: defer (DECISION)", txt: "TIMEOUT", site: liveEnforce, want: Defer},
		{
			name: "c14 TXT SERVFAIL, valid cached policy applies (DECISION)", cache: valid("old1"), txt: "SERVFAIL", site: liveEnforce,
			want: Apply, wantSrc: SourceCache, wantMX: "mx-old.d.test", wantCacheID: "old1",
			wantLog: []string{"Info: Valid cache entry found for the domain (d.test).", "Info: Applying MTA-STS policy for the domain (d.test)"},
		},
		{
			name: "c16 fetch fails, nothing cached: no policy §3.3", txt: "v=STSv1; id=new1;", site: live500,
			want: NoPolicy, wantHits: 1,
			wantLog: []string{"Warning: Failed to fetch MTA-STS policy for the domain (d.test)", "Debug: MTA-STS policy fetch for the domain (d.test): mtasts: fetch https://mta-sts.d.test/.well-known/mta-sts.txt: HTTP status is not 200: HTTP 500 Internal Server Error"},
		},
		{
			name: "c32 max_age 0: applies to this delivery §3.2", txt: "v=STSv1; id=new1;", site: liveMaxAge0,
			want: Apply, wantSrc: SourceFetched, wantMX: "mx-new.d.test", wantHits: 1, wantCacheID: "new1",
		},
		{
			name: "c40 TXT gone, valid cached enforce policy applies, with an alert §3.1 §5.1", cache: valid("old1"), txt: "", site: liveEnforce,
			want: Apply, wantSrc: SourceCache, wantMX: "mx-old.d.test", wantCacheID: "old1",
			wantLog: []string{"Warning: MTA-STS TXT record for the domain (d.test) is no longer valid (none); the cached policy applies until 2026-03-02T11:00:00Z"},
		},
		{
			name: "c40 TXT errors, valid cached policy applies §3.3", cache: valid("old1"), txt: "TIMEOUT", site: liveEnforce,
			want: Apply, wantSrc: SourceCache, wantMX: "mx-old.d.test", wantCacheID: "old1",
		},
		{
			name: "c40 TXT now invalid, valid cached policy applies §3.1", cache: valid("old1"), txt: "v=STSv1; id=not-valid;", site: liveEnforce,
			want: Apply, wantSrc: SourceCache, wantMX: "mx-old.d.test", wantCacheID: "old1",
			wantLog: []string{"Warning: MTA-STS TXT record for the domain (d.test) is no longer valid (invalid)"},
		},
		{
			name: "c40 TXT gone, cached mode none: no policy and no alert §3.1", cache: cached{id: "old1", mode: ModeNone, fetchedAgo: hour, maxAge: day}, txt: "", site: liveEnforce,
			want: NoPolicy, wantSrc: SourceCache, wantCacheID: "old1",
			wantNoLog: []string{"Warning:", "Applying"},
		},
		{
			name: "c41 same id: the cached policy, no fetch §3", cache: valid("old1"), txt: "v=STSv1; id=old1;", site: liveEnforce,
			want: Apply, wantSrc: SourceCache, wantMX: "mx-old.d.test", wantHits: 0, wantCacheID: "old1",
			wantLog: []string{
				"Info: Successfully fetched MTA-STS TXT record for domain(d.test)",
				"Info: Valid cache entry found for the domain (d.test).",
				"Info: Applying MTA-STS policy for the domain (d.test)",
			},
		},
		{
			name: "c42 new id: fetched, the new policy applies §3 §5.1", cache: valid("old1"), txt: "v=STSv1; id=new1;", site: liveEnforce,
			want: Apply, wantSrc: SourceFetched, wantMX: "mx-new.d.test", wantHits: 1, wantCacheID: "new1",
		},
		{
			name: "c43 new id, fetch fails, cache unexpired: the old policy applies §3.3", cache: valid("old1"), txt: "v=STSv1; id=new1;", site: live500,
			want: Apply, wantSrc: SourceCache, wantMX: "mx-old.d.test", wantHits: 1, wantCacheID: "old1",
			wantLog: []string{"Warning: Failed to fetch MTA-STS policy for the domain (d.test)", "Info: Valid cache entry found for the domain (d.test)."},
		},
		{
			name: "c44 new id, fetch fails, cache expired: no policy §3.3", cache: expired("old1"), txt: "v=STSv1; id=new1;", site: live500,
			want: NoPolicy, wantHits: 1, wantCacheID: "old1",
		},
		{
			name: "c45 expired cached enforce policy, no live policy: not applied §5.1", cache: expired("old1"), txt: "", site: liveEnforce,
			want: NoPolicy, wantCacheID: "old1", wantNoLog: []string{"Applying"},
		},
		{
			name: "c45 expired cached policy, same id, fetch fails: not applied §5.1", cache: expired("old1"), txt: "v=STSv1; id=old1;", site: live404,
			want: NoPolicy, wantHits: 1, wantCacheID: "old1",
		},
		{
			name: "c45 expired cached policy, same id, fetch works: fetched again §5.1", cache: expired("old1"), txt: "v=STSv1; id=old1;", site: liveEnforce,
			want: Apply, wantSrc: SourceFetched, wantMX: "mx-new.d.test", wantHits: 1, wantCacheID: "old1",
		},
		{
			name: "c47 new id serving mode none replaces a cached enforce policy at once §8.3", cache: valid("old1"), txt: "v=STSv1; id=new1;", site: liveNone,
			want: NoPolicy, wantSrc: SourceFetched, wantHits: 1, wantCacheID: "new1", wantNoLog: []string{"Applying"},
		},
		{
			name: "c58 mode none is exactly no policy §5 §8.3", txt: "v=STSv1; id=new1;", site: liveNone,
			want: NoPolicy, wantSrc: SourceFetched, wantHits: 1, wantCacheID: "new1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			cache := &MemoryCache{}
			seed(t, w, cache, "d.test", tt.cache)
			w.domain("d.test", "", tt.site)
			publish(w, "d.test", tt.txt)
			cfg := w.config()
			cfg.Cache = cache
			e := w.engine(cfg)

			res, err := e.Policy(t.Context(), "d.test")
			if res.Action != tt.want {
				t.Errorf("Policy() action = %v (%s), want %v", res.Action, res.Reason, tt.want)
			}
			if (tt.want == Defer) != (err != nil) || (err != nil && !errors.Is(err, ErrTempFail)) {
				t.Errorf("Policy() error = %v; want ErrTempFail exactly when deferring", err)
			}
			if res.Source != tt.wantSrc {
				t.Errorf("Policy() source = %q, want %q", res.Source, tt.wantSrc)
			}
			gotMX := ""
			if res.Policy != nil && len(res.Policy.MX) > 0 {
				gotMX = res.Policy.MX[0]
			}
			if res.Action == Apply && gotMX != tt.wantMX {
				t.Errorf("applied policy mx = %q, want %q", gotMX, tt.wantMX)
			}
			if n := w.web.hitCount("d.test"); n != tt.wantHits {
				t.Errorf("policy host asked %d times, want %d", n, tt.wantHits)
			}
			entry, ok, _ := cache.Get(t.Context(), "d.test")
			if got := map[bool]string{true: entry.ID}[ok]; got != tt.wantCacheID {
				t.Errorf("cached id afterwards = %q, want %q", got, tt.wantCacheID)
			}
			lines := w.log.Lines()
			i := 0
			for _, want := range tt.wantLog {
				for i < len(lines) && !strings.Contains(lines[i], want) {
					i++
				}
				if i == len(lines) {
					t.Errorf("log lacks %q (in order):\n%s", want, w.log)
					break
				}
			}
			for _, not := range tt.wantNoLog {
				if hasLine(w.log, not) {
					t.Errorf("log has %q:\n%s", not, w.log)
				}
			}
		})
	}
}

// TestPolicyMaxAgeZero: c32, a max_age 0 policy serves the delivery that
// fetched it and is fetched again for the next. §3.2.
func TestPolicyMaxAgeZero(t *testing.T) {
	w := newWorld(t)
	w.domain("d.test", "v=STSv1; id=z1;", liveMaxAge0)
	e := w.engine(w.config())
	for i := range 2 {
		res, err := e.Policy(t.Context(), "d.test")
		if err != nil || res.Action != Apply || !res.ExpiresAt.Equal(w.clock.Now()) {
			t.Fatalf("Policy() #%d = %v expires %v, %v; want apply, expiring now", i+1, res.Action, res.ExpiresAt, err)
		}
	}
	if n := w.web.hitCount("d.test"); n != 2 {
		t.Errorf("c32 policy host asked %d times for 2 deliveries, want 2 §3.2", n)
	}
}

// TestPolicyHoldoff: after a failed fetch, the same (domain, id) is not
// fetched again for RetryHoldoff; a new id is fetched at once.
func TestPolicyHoldoff(t *testing.T) {
	w := newWorld(t)
	w.domain("d.test", "v=STSv1; id=h1;", live500)
	e := w.engine(w.config())
	steps := []struct {
		advance time.Duration
		txt     string
		hits    int
	}{
		{0, "", 1},
		{time.Minute, "", 1},
		{3 * time.Minute, "", 1},
		{time.Minute, "", 2}, // 5 minutes after the first failure
		{0, "v=STSv1; id=h2;", 3},
		{time.Second, "", 3},
	}
	for i, s := range steps {
		w.clock.Advance(s.advance)
		if s.txt != "" {
			publish(w, "d.test", s.txt)
		}
		res, _ := e.Policy(t.Context(), "d.test")
		if res.Action != NoPolicy {
			t.Errorf("step %d: action %v, want no-policy", i, res.Action)
		}
		if n := w.web.hitCount("d.test"); n != s.hits {
			t.Errorf("step %d: policy host asked %d times, want %d", i, n, s.hits)
		}
	}
}

// TestPolicyDomainQueried: c12 and c13, the engine asks for the policy
// domain it is given and nothing above it. §3.4.
func TestPolicyDomainQueried(t *testing.T) {
	w := newWorld(t)
	w.domain("example.test", "v=STSv1; id=parent;", liveEnforce)
	w.domain("relay.test", "v=STSv1; id=relay;", site{body: policyText(ModeEnforce, 86400, "smtp.relay.test")})
	e := w.engine(w.config())
	tests := []struct {
		name   string
		domain string
		asked  string
		never  string
		want   Action
	}{
		{name: "c12 u@sub.example.test asks _mta-sts.sub.example.test only §3.4", domain: "sub.example.test",
			asked: "_mta-sts.sub.example.test. TXT", never: "_mta-sts.example.test. TXT", want: NoPolicy},
		{name: "c13 delivery through a smart host: the caller passes the smart host's domain §3.4", domain: "relay.test",
			asked: "_mta-sts.relay.test. TXT", never: "_mta-sts.example.test. TXT", want: Apply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := e.Policy(t.Context(), tt.domain)
			if res.Action != tt.want {
				t.Errorf("Policy(%s) = %v, want %v", tt.domain, res.Action, tt.want)
			}
			if !w.dns.asked(tt.asked) || w.dns.asked(tt.never) {
				t.Errorf("asked %s: %v (want true); asked %s: %v (want false)", tt.asked, w.dns.asked(tt.asked), tt.never, w.dns.asked(tt.never))
			}
		})
	}
}

// TestPolicyConcurrent: deliveries to one domain at once share one fetch.
func TestPolicyConcurrent(t *testing.T) {
	w := newWorld(t)
	w.domain("d.test", "v=STSv1; id=c1;", liveEnforce)
	e := w.engine(w.config())
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := e.Policy(t.Context(), "d.test"); err != nil || res.Action != Apply {
				t.Errorf("Policy() = %v, %v", res.Action, err)
			}
		}()
	}
	wg.Wait()
	if n := w.web.hitCount("d.test"); n != 1 {
		t.Errorf("policy host asked %d times, want 1", n)
	}
}

// TestPolicyDomainForms: the policy domain is normalized.
func TestPolicyDomainForms(t *testing.T) {
	w := newWorld(t)
	w.domain("d.test", "v=STSv1; id=f1;", liveEnforce)
	w.domain("xn--bcher-kva.test", "v=STSv1; id=f2;", site{body: policyText(ModeTesting, 60, "mx.xn--bcher-kva.test")})
	e := w.engine(w.config())
	tests := []struct {
		in, want string
		action   Action
	}{
		{"D.Test.", "d.test", Apply},
		{"b\u00fccher.test", "xn--bcher-kva.test", Apply},
		{"bad domain", "bad domain", NoPolicy},
		{"", "", NoPolicy},
	}
	for _, tt := range tests {
		res, err := e.Policy(t.Context(), tt.in)
		if err != nil || res.Domain != tt.want || res.Action != tt.action {
			t.Errorf("Policy(%q) = %q %v, %v; want %q %v", tt.in, res.Domain, res.Action, err, tt.want, tt.action)
		}
	}
}

// TestResultAllows: what a decision lets the caller do with an MX host
// (§4.1, §5).
func TestResultAllows(t *testing.T) {
	enforce := &Policy{Version: Version, Mode: ModeEnforce, MX: []string{"*.d.test"}, MaxAge: 60}
	testing_ := &Policy{Version: Version, Mode: ModeTesting, MX: []string{"*.d.test"}, MaxAge: 60}
	tests := []struct {
		name   string
		res    Result
		host   string
		want   bool
		strict bool
	}{
		{name: "c53 enforce, MX not matching: not allowed (the caller defers when none is left) §5", res: Result{Action: Apply, Policy: enforce}, host: "mx.evil.test", want: false, strict: true},
		{name: "c53 enforce, MX matching §5", res: Result{Action: Apply, Policy: enforce}, host: "mx1.d.test.", want: true, strict: true},
		{name: "c57 testing, MX not matching: delivered anyway §5", res: Result{Action: Apply, Policy: testing_}, host: "mx.evil.test", want: true},
		{name: "c58 no policy §5", res: Result{Action: NoPolicy}, host: "mx.evil.test", want: true},
		{name: "c58 mode none §8.3", res: Result{Action: NoPolicy, Policy: &Policy{Mode: ModeNone}}, host: "mx.evil.test", want: true},
		{name: "defer §5", res: Result{Action: Defer}, host: "mx.evil.test", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.res.Allows(tt.host); got != tt.want {
				t.Errorf("Allows(%q) = %v, want %v", tt.host, got, tt.want)
			}
			if got := tt.res.Enforced(); got != tt.strict {
				t.Errorf("Enforced() = %v, want %v", got, tt.strict)
			}
		})
	}
}

// TestRefresh: c46, proactive refresh before expiry, independent of
// traffic; failures logged unless the mode is none. §3.3, §10.2.
func TestRefresh(t *testing.T) {
	w := newWorld(t)
	cache := &MemoryCache{}
	hour := time.Hour
	seed(t, w, cache, "due.test", cached{id: "a1", mode: ModeEnforce, fetchedAgo: 23 * hour, maxAge: 86400})
	seed(t, w, cache, "fresh.test", cached{id: "b1", mode: ModeEnforce, fetchedAgo: hour, maxAge: MaxAgeLimit})
	seed(t, w, cache, "old.test", cached{id: "c1", mode: ModeEnforce, fetchedAgo: 25 * hour, maxAge: MaxAgeLimit})
	seed(t, w, cache, "failing.test", cached{id: "d1", mode: ModeEnforce, fetchedAgo: 23 * hour, maxAge: 86400})
	seed(t, w, cache, "quiet.test", cached{id: "e1", mode: ModeNone, fetchedAgo: 23 * hour, maxAge: 86400})
	seed(t, w, cache, "gone.test", cached{id: "f1", mode: ModeEnforce, fetchedAgo: 48 * hour, maxAge: 86400})
	seed(t, w, cache, "retired.test", cached{id: "g1", mode: ModeEnforce, fetchedAgo: 23 * hour, maxAge: 86400})
	w.domain("due.test", "v=STSv1; id=a1;", site{body: policyText(ModeEnforce, 86400, "mx.due.test")})
	w.domain("fresh.test", "v=STSv1; id=b1;", site{body: policyText(ModeEnforce, 86400, "mx.fresh.test")})
	w.domain("old.test", "v=STSv1; id=c2;", site{body: policyText(ModeTesting, 86400, "mx.old.test")})
	w.domain("failing.test", "v=STSv1; id=d1;", live500)
	w.domain("quiet.test", "v=STSv1; id=e1;", live500)
	w.domain("gone.test", "", liveEnforce)
	w.domain("retired.test", "v=STSv1; id=g2;", liveNone)
	cfg := w.config()
	cfg.Cache = cache
	e := w.engine(cfg)

	results, err := e.Refresh(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]RefreshOutcome{}
	for _, r := range results {
		got[r.Domain] = r.Outcome
	}
	tests := []struct {
		name   string
		domain string
		want   RefreshOutcome
	}{
		{name: "c46 expiring within a day: fetched again, same id §3.3 §10.2", domain: "due.test", want: RefreshRefreshed},
		{name: "c46 fetched an hour ago, a year to go: not due §10.2", domain: "fresh.test", want: RefreshSkipped},
		{name: "c46 fetched more than a day ago: re-checked, new id fetched §3.3 §10.2", domain: "old.test", want: RefreshRefreshed},
		{name: "c46 refresh fails: the cached policy stays, failure logged §3.3", domain: "failing.test", want: RefreshKept},
		{name: "c46 refresh of a mode none policy fails: kept, not logged as a warning §3.3", domain: "quiet.test", want: RefreshKept},
		{name: "c45 expired, no TXT record: removed §5.1", domain: "gone.test", want: RefreshRemoved},
		{name: "c47 new id with mode none replaces the cached policy §8.3", domain: "retired.test", want: RefreshRefreshed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got[tt.domain] != tt.want {
				t.Errorf("Refresh outcome for %s = %q, want %q", tt.domain, got[tt.domain], tt.want)
			}
		})
	}
	entry, _, _ := cache.Get(t.Context(), "due.test")
	if !entry.ExpiresAt.Equal(w.clock.Now().Add(24 * hour)) {
		t.Errorf("due.test expires %v after the refresh, want a day from now", entry.ExpiresAt)
	}
	if entry, _, _ := cache.Get(t.Context(), "old.test"); entry.ID != "c2" || entry.Policy.Mode != ModeTesting {
		t.Errorf("old.test after the refresh = id %s mode %s, want c2 testing", entry.ID, entry.Policy.Mode)
	}
	if entry, _, _ := cache.Get(t.Context(), "retired.test"); entry.Policy.Mode != ModeNone {
		t.Errorf("retired.test after the refresh = mode %s, want none", entry.Policy.Mode)
	}
	if _, ok, _ := cache.Get(t.Context(), "gone.test"); ok {
		t.Errorf("gone.test is still cached")
	}
	if !hasLine(w.log, "Warning: Failed to fetch MTA-STS policy for the domain (failing.test)") {
		t.Errorf("refresh failure not logged:\n%s", w.log)
	}
	if hasLine(w.log, "Warning: Failed to fetch MTA-STS policy for the domain (quiet.test)") {
		t.Errorf("refresh failure of a mode none policy logged as a warning:\n%s", w.log)
	}
	if n := w.web.hitCount("fresh.test"); n != 0 {
		t.Errorf("fresh.test fetched %d times, want 0", n)
	}
}

// TestRefreshDomain: the operator's refresh of one domain.
func TestRefreshDomain(t *testing.T) {
	w := newWorld(t)
	w.domain("new.test", "v=STSv1; id=n1;", liveEnforce)
	w.domain("none.test", "", liveEnforce)
	e := w.engine(w.config())
	if r := e.RefreshDomain(t.Context(), "new.test"); r.Outcome != RefreshRefreshed || r.Entry.ID != "n1" {
		t.Errorf("RefreshDomain(new.test) = %s %q, %v; want refreshed n1", r.Outcome, r.Entry.ID, r.Err)
	}
	// Forced: not held off by a recent failure, and done even when not due.
	if r := e.RefreshDomain(t.Context(), "new.test"); r.Outcome != RefreshRefreshed {
		t.Errorf("second RefreshDomain(new.test) = %s, want refreshed", r.Outcome)
	}
	if r := e.RefreshDomain(t.Context(), "none.test"); r.Outcome != RefreshNone || !errors.Is(r.Err, ErrNoRecord) {
		t.Errorf("RefreshDomain(none.test) = %s, %v; want none, ErrNoRecord", r.Outcome, r.Err)
	}
}
