package mtasts

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/idna"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/dnstest"
)

// Tests of the warm path: what the engine answers from its caches, how fast,
// and that the caches never answer longer than the rules allow.

// txtQueries counts the TXT questions the fake resolver got for d.
func (f *fakeDNS) txtQueries(d string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, q := range f.queries {
		if q == "_mta-sts."+d+". TXT" {
			n++
		}
	}
	return n
}

// allQueries counts every question the fake resolver got.
func (f *fakeDNS) allQueries() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries)
}

// dialCount counts the connections the engine opened.
func (w *world) dialCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.dialed)
}

// recordWaiters is how many decisions wait for d's TXT lookup in progress.
func (e *Engine) recordWaiters(d string) int {
	e.memoMu.Lock()
	defer e.memoMu.Unlock()
	if f := e.looking[d]; f != nil {
		return f.waiters
	}
	return 0
}

// patientResolver is the world's resolver with a timeout that a busy
// machine does not reach (a lost answer would turn a decision into Defer).
func patientResolver(w *world, cache bool) *dns.Resolver {
	return dns.New(dns.Config{Servers: []dns.Server{{Addr: w.dnsAddr}}, Timeout: 5 * time.Second, Attempts: 1, Now: w.clock.Now, NoCache: !cache})
}

// publishTTL sets d's TXT record with a TTL.
func publishTTL(w *world, d string, ttl int, txt string) {
	name := "_mta-sts." + d + "."
	w.dns.set(name, fmt.Sprintf("%s %d IN TXT %q", name, ttl, txt))
}

// TestNormalizeDomainPlain: RFC 8461 §3.4 policy domains are compared as
// A-labels. The plain forms are taken as they are, without IDNA; every
// other form still goes through IDNA and gives what it gave before.
func TestNormalizeDomainPlain(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		plain   bool // taken without IDNA
		wantErr bool
	}{
		{name: "lower-case LDH name", in: "example.com", want: "example.com", plain: true},
		{name: "digits and hyphens", in: "mx-1.a2.test", want: "mx-1.a2.test", plain: true},
		{name: "trailing dot and spaces", in: " d.test. ", want: "d.test", plain: true},
		{name: "upper case goes through IDNA", in: "D.Test", want: "d.test"},
		{name: "U-label becomes an A-label", in: "b\u00fccher.test", want: "xn--bcher-kva.test"},
		{name: "A-label is checked by IDNA", in: "xn--bcher-kva.test", want: "xn--bcher-kva.test"},
		{name: "broken A-label is refused", in: "xn--a.test", wantErr: true},
		{name: "hyphens in places 3 and 4 are refused", in: "ab--c.test", wantErr: true},
		{name: "leading hyphen is refused", in: "-a.test", wantErr: true},
		{name: "trailing hyphen is refused", in: "a-.test", wantErr: true},
		{name: "underscore is refused", in: "a_b.test", wantErr: true},
		{name: "space inside is refused", in: "bad domain", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeDomain(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("NormalizeDomain(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
			d := strings.TrimSuffix(strings.TrimSpace(tt.in), ".")
			if isPlainHostName(d) != tt.plain {
				t.Errorf("isPlainHostName(%q) = %v, want %v", d, !tt.plain, tt.plain)
			}
			if tt.plain {
				if n := testing.AllocsPerRun(50, func() { NormalizeDomain(tt.in) }); n != 0 {
					t.Errorf("NormalizeDomain(%q): %v allocations, want 0", tt.in, n)
				}
			}
		})
	}
}

// TestPlainHostNameAgreesWithIDNA: every name the fast path takes as it is,
// IDNA lookup returns unchanged and without error (random names over an
// alphabet rich in the characters that matter: '-', '.', '_', digits, upper
// case).
func TestPlainHostNameAgreesWithIDNA(t *testing.T) {
	const alphabet = "ax0-._Bn"
	rng := rand.New(rand.NewPCG(8461, 33))
	plain := 0
	for range 200000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		d := string(b)
		if !isPlainHostName(d) {
			continue
		}
		plain++
		if a, err := idna.Lookup.ToASCII(d); err != nil || a != d {
			t.Fatalf("isPlainHostName(%q) but IDNA lookup gives %q, %v", d, a, err)
		}
	}
	if plain < 1000 {
		t.Errorf("only %d plain names generated: the test checks too little", plain)
	}
}

// warmEngine returns an engine with a MemoryCache, a caching resolver, the
// given log, and d's policy fetched once (TXT TTL ttl).
func warmEngine(t testing.TB, w *world, d string, ttl int, log maillog.Logger) *Engine {
	t.Helper()
	w.domain(d, "", liveEnforce)
	publishTTL(w, d, ttl, "v=STSv1; id=w1;")
	cfg := w.config()
	cfg.Resolver = patientResolver(w, true)
	cfg.Cache = &MemoryCache{}
	cfg.Log = log
	e := w.engine(cfg)
	if res, err := e.Policy(context.Background(), d); err != nil || res.Action != Apply || res.Source != SourceFetched {
		t.Fatalf("first Policy(%s) = %v from %s, %v", d, res.Action, res.Source, err)
	}
	return e
}

// TestWarmDecisionAllocs: c41 §3.3 a cached policy under the same TXT id is
// answered from the caches without an allocation when the log does not
// write the Info lines; the Policy is the cache's own, shared.
func TestWarmDecisionAllocs(t *testing.T) {
	tests := []struct {
		name string
		log  maillog.Logger
		want float64
	}{
		{name: "c41 §3.3 cached, same id, log discarded", log: maillog.Discard{}, want: 0},
		{name: "c41 §3.3 cached, same id, log at Warning", log: &maillog.Memory{Level: maillog.Warning}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			e := warmEngine(t, w, "d.test", 300, tt.log)
			ctx := context.Background()
			var res Result
			n := testing.AllocsPerRun(200, func() { res, _ = e.Policy(ctx, "d.test") })
			if res.Action != Apply || res.Source != SourceCache || res.ID != "w1" {
				t.Fatalf("Policy() = %v from %s id %q", res.Action, res.Source, res.ID)
			}
			if n != tt.want {
				t.Errorf("%v allocations per cached decision, want %v", n, tt.want)
			}
			again, _ := e.Policy(ctx, "d.test")
			if again.Policy != res.Policy {
				t.Error("two cached decisions hold different Policy copies, want the cache's own")
			}
			if w.web.hitCount("d.test") != 1 || w.dns.txtQueries("d.test") != 1 {
				t.Errorf("policy host asked %d times, TXT %d times; want 1 and 1", w.web.hitCount("d.test"), w.dns.txtQueries("d.test"))
			}
		})
	}
}

// TestWarmDecisionLogs: with the Info lines on, the warm path writes what
// the cold path writes for a cached policy.
func TestWarmDecisionLogs(t *testing.T) {
	w := newWorld(t)
	log := &maillog.Memory{Level: maillog.Info}
	e := warmEngine(t, w, "d.test", 300, log)
	log.Reset()
	if res, _ := e.Policy(context.Background(), "d.test"); res.Action != Apply {
		t.Fatalf("Policy() = %v", res.Action)
	}
	want := []string{
		"Info: Successfully fetched MTA-STS TXT record for domain(d.test)",
		"Info: Valid cache entry found for the domain (d.test).",
		"Info: Applying MTA-STS policy for the domain (d.test)",
	}
	if got := log.Lines(); !slices.Equal(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
}

// TestRecordMemo: the TXT record is honoured for its DNS TTL and never
// longer (§3.1, §3.3), and the policy cache entry for its max_age (§5.1),
// whatever the engine keeps to answer fast.
func TestRecordMemo(t *testing.T) {
	type step struct {
		advance time.Duration
		txt     string // published (TTL 300) before the step; "" keeps the record; "-" removes it
		want    Action
		wantID  string
		queries int // TXT questions so far
		hits    int // policy fetches so far
	}
	tests := []struct {
		name    string
		maxAge  int
		noCache bool // a resolver without a cache
		steps   []step
	}{
		{name: "c41 §3.3 same id within the TTL: no DNS question, no fetch", maxAge: 86400, steps: []step{
			{advance: 299 * time.Second, want: Apply, wantID: "m1", queries: 1, hits: 1},
		}},
		{name: "c42 §3.1 §5.1 new id: seen when the TTL ends, not before, and fetched", maxAge: 86400, steps: []step{
			{advance: 100 * time.Second, txt: "v=STSv1; id=m2;", want: Apply, wantID: "m1", queries: 1, hits: 1},
			{advance: 199 * time.Second, want: Apply, wantID: "m1", queries: 1, hits: 1},
			{advance: time.Second, want: Apply, wantID: "m2", queries: 2, hits: 2},
		}},
		{name: "c45 §5.1 max_age ends before the TTL: fetched again under the same id", maxAge: 100, steps: []step{
			{advance: 99 * time.Second, want: Apply, wantID: "m1", queries: 1, hits: 1},
			{advance: time.Second, want: Apply, wantID: "m1", queries: 1, hits: 2},
		}},
		{name: "c40 §3.3 record removed: the cached policy applies, the denial is kept for its negative TTL", maxAge: 86400, steps: []step{
			{advance: 300 * time.Second, txt: "-", want: Apply, wantID: "m1", queries: 2, hits: 1},
			{advance: 59 * time.Second, want: Apply, wantID: "m1", queries: 2, hits: 1},
			{advance: time.Second, want: Apply, wantID: "m1", queries: 3, hits: 1},
		}},
		{name: "§3.1 resolver without a cache: every decision asks", maxAge: 86400, noCache: true, steps: []step{
			{advance: time.Second, want: Apply, wantID: "m1", queries: 2, hits: 1},
			{advance: time.Second, txt: "v=STSv1; id=m2;", want: Apply, wantID: "m2", queries: 3, hits: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.domain("d.test", "", site{body: policyText(ModeEnforce, tt.maxAge, "mx.d.test")})
			publishTTL(w, "d.test", 300, "v=STSv1; id=m1;")
			cfg := w.config()
			cfg.Resolver = patientResolver(w, !tt.noCache)
			cfg.Cache = &MemoryCache{}
			e := w.engine(cfg)
			if res, err := e.Policy(t.Context(), "d.test"); err != nil || res.Action != Apply {
				t.Fatalf("first Policy() = %v, %v", res.Action, err)
			}
			for i, s := range tt.steps {
				switch s.txt {
				case "":
				case "-":
					w.dns.set("_mta-sts.d.test.")
				default:
					publishTTL(w, "d.test", 300, s.txt)
				}
				w.clock.Advance(s.advance)
				res, err := e.Policy(t.Context(), "d.test")
				if err != nil || res.Action != s.want || res.ID != s.wantID {
					t.Errorf("step %d: Policy() = %v id %q, %v; want %v id %q", i, res.Action, res.ID, err, s.want, s.wantID)
				}
				if q, h := w.dns.txtQueries("d.test"), w.web.hitCount("d.test"); q != s.queries || h != s.hits {
					t.Errorf("step %d: %d TXT questions, %d fetches; want %d and %d", i, q, h, s.queries, s.hits)
				}
			}
		})
	}
}

// TestFailingDomainHoldoff: c17 §3.3 a domain whose TXT record is found but
// whose policy cannot be fetched has no policy; the next decisions within
// RetryHoldoff are answered from the engine's memory of the failure: no
// request to the policy host, no address lookup for it, no connection, and
// (with the TXT record within its TTL) no network at all, well under 1 ms.
func TestFailingDomainHoldoff(t *testing.T) {
	tests := []struct {
		name       string
		ttl        int
		wantTXT    int  // TXT questions after the repeated decisions
		wantNoDNS  bool // no DNS question at all after the first decision
		timeBounds bool
	}{
		{name: "c17 §3.3 TXT within its TTL: answered without the network", ttl: 300, wantTXT: 1, wantNoDNS: true, timeBounds: true},
		{name: "c17 §3.3 TXT with TTL 0: asked again, but nothing else", ttl: 0, wantTXT: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.domain("fail.test", "", live500)
			publishTTL(w, "fail.test", tt.ttl, "v=STSv1; id=f1;")
			cfg := w.config()
			cfg.Resolver = patientResolver(w, true)
			cfg.Cache = &MemoryCache{}
			e := w.engine(cfg)
			ctx := t.Context()
			res, err := e.Policy(ctx, "fail.test")
			if err != nil || res.Action != NoPolicy || w.web.hitCount("fail.test") != 1 {
				t.Fatalf("first Policy() = %v, %v after %d fetches; want no-policy after 1", res.Action, err, w.web.hitCount("fail.test"))
			}
			dials, questions, addrs := w.dialCount(), w.dns.allQueries(), countOf(w, "mta-sts.fail.test. A")
			var took []time.Duration
			for range 11 {
				w.clock.Advance(time.Second)
				start := time.Now()
				res, err := e.Policy(ctx, "fail.test")
				took = append(took, time.Since(start))
				if err != nil || res.Action != NoPolicy || !strings.Contains(res.Reason, "policy fetch failed") {
					t.Fatalf("Policy() = %v (%s), %v; want no-policy, fetch failed", res.Action, res.Reason, err)
				}
			}
			if n := w.web.hitCount("fail.test"); n != 1 {
				t.Errorf("policy host asked %d times, want 1 (the hold-off answers)", n)
			}
			if n := w.dialCount(); n != dials {
				t.Errorf("%d connections opened during the hold-off, want none", n-dials)
			}
			if n := countOf(w, "mta-sts.fail.test. A"); n != addrs {
				t.Errorf("the policy host's address was looked up %d times during the hold-off, want none", n-addrs)
			}
			if n := w.dns.txtQueries("fail.test"); n != tt.wantTXT {
				t.Errorf("%d TXT questions, want %d", n, tt.wantTXT)
			}
			if tt.wantNoDNS && w.dns.allQueries() != questions {
				t.Errorf("%d DNS questions during the hold-off, want none", w.dns.allQueries()-questions)
			}
			if tt.timeBounds {
				// The median of 11: one decision preempted on a busy machine
				// does not decide the test, a slow path does.
				slices.Sort(took)
				if med := took[len(took)/2]; med >= time.Millisecond {
					t.Errorf("median decision during the hold-off took %v, want under 1 ms (all: %v)", med, took)
				}
			}
			// The hold-off ends: fetched again.
			w.clock.Advance(RetryHoldoff)
			e.Policy(ctx, "fail.test")
			if n := w.web.hitCount("fail.test"); n != 2 {
				t.Errorf("after the hold-off: policy host asked %d times, want 2", n)
			}
		})
	}
}

// countOf counts the questions q ("name TYPE") the fake resolver got.
func countOf(w *world, q string) int {
	w.dns.mu.Lock()
	defer w.dns.mu.Unlock()
	n := 0
	for _, s := range w.dns.queries {
		if s == q {
			n++
		}
	}
	return n
}

// gate holds every DNS question until it is opened.
type gate struct {
	open chan struct{}
	once sync.Once
	next mdns.Handler
}

func (g *gate) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	<-g.open
	g.next.ServeDNS(w, r)
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// gatedEngine returns an engine whose resolver (no cache, long timeout)
// asks the world's DNS through a gate.
func gatedEngine(t *testing.T, w *world) (*Engine, *gate) {
	g := &gate{open: make(chan struct{}), next: w.dns}
	addr := dnstest.Serve(t, g)
	t.Cleanup(g.release)
	cfg := w.config()
	cfg.Resolver = dns.New(dns.Config{Servers: []dns.Server{{Addr: addr}}, Timeout: 10 * time.Second, Attempts: 1, Now: w.clock.Now, NoCache: true})
	return w.engine(cfg), g
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// looking reports whether a TXT lookup for d is in progress.
func (e *Engine) lookingUp(d string) bool {
	e.memoMu.Lock()
	defer e.memoMu.Unlock()
	return e.looking[d] != nil
}

// TestRecordLookupsCoalesce: decisions for one domain at the same moment
// share one TXT question (and one fetch, §3.3); a decision whose context
// ends while it waits is deferred at once (c14 DECISION: a TXT lookup that
// does not complete is a temporary failure).
func TestRecordLookupsCoalesce(t *testing.T) {
	w := newWorld(t)
	w.domain("d.test", "v=STSv1; id=c1;", liveEnforce) // TTL 0: nothing kept
	e, g := gatedEngine(t, w)

	const n = 20
	var wg sync.WaitGroup
	results := make([]Result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = e.Policy(t.Context(), "d.test")
		}()
	}
	waitFor(t, "the decisions to wait for one lookup", func() bool { return e.recordWaiters("d.test") == n-1 })
	// One more decision that gives up while it waits.
	quit, cancel := context.WithCancel(t.Context())
	defer cancel()
	gaveUp := make(chan error, 1)
	go func() {
		_, err := e.Policy(quit, "d.test")
		gaveUp <- err
	}()
	waitFor(t, "the last decision to wait", func() bool { return e.recordWaiters("d.test") == n })
	cancel()
	if err := <-gaveUp; !errors.Is(err, ErrTempFail) {
		t.Errorf("a decision whose context ended: %v, want ErrTempFail", err)
	}
	g.release()
	wg.Wait()
	for i, r := range results {
		if r.Action != Apply || r.ID != "c1" {
			t.Errorf("decision %d: %v id %q, want apply c1", i, r.Action, r.ID)
		}
	}
	if q := w.dns.txtQueries("d.test"); q != 1 {
		t.Errorf("%d TXT questions for %d decisions at once, want 1", q, n+1)
	}
	if h := w.web.hitCount("d.test"); h != 1 {
		t.Errorf("policy host asked %d times, want 1", h)
	}
}

// TestRecordLookupLeaderGivesUp: when the decision that asked ends (its
// context), the ones that waited for its answer ask again themselves
// instead of taking its failure for theirs (c14 DECISION: only a lookup
// that fails defers).
func TestRecordLookupLeaderGivesUp(t *testing.T) {
	w := newWorld(t)
	w.domain("d.test", "v=STSv1; id=c1;", liveEnforce)
	e, g := gatedEngine(t, w)
	lead, cancel := context.WithCancel(t.Context())
	defer cancel()
	leaderErr := make(chan error, 1)
	go func() {
		_, err := e.Policy(lead, "d.test")
		leaderErr <- err
	}()
	waitFor(t, "the first lookup", func() bool { return e.lookingUp("d.test") })
	const n = 3
	var wg sync.WaitGroup
	results := make([]Result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.Policy(t.Context(), "d.test")
		}()
	}
	waitFor(t, "the decisions to wait", func() bool { return e.recordWaiters("d.test") == n })
	cancel()
	if err := <-leaderErr; !errors.Is(err, ErrTempFail) {
		t.Errorf("the decision that gave up: %v, want ErrTempFail", err)
	}
	g.release()
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i].Action != Apply {
			t.Errorf("decision %d: %v, %v; want apply", i, results[i].Action, errs[i])
		}
	}
	// The abandoned question reaches the server whenever its handler runs:
	// wait for it. The others' questions were answered, hence counted.
	waitFor(t, "the abandoned question", func() bool { return w.dns.txtQueries("d.test") >= 2 })
	if q := w.dns.txtQueries("d.test"); q != 2 {
		t.Errorf("%d TXT questions, want 2 (the abandoned one and one for the rest)", q)
	}
}

// TestFlushSeenAtOnce: "mtastscache flush DOMAIN" (another handle on the
// same cache directory) is seen by the very next decision, which fetches
// the policy again (§3.3: the cache is the engine's only memory of it).
func TestFlushSeenAtOnce(t *testing.T) {
	w := newWorld(t)
	w.domain("d.test", "", liveEnforce)
	publishTTL(w, "d.test", 300, "v=STSv1; id=fl1;")
	cfg := w.config()
	cfg.Resolver = patientResolver(w, true)
	c, reopen := diskCache(t)
	cfg.Cache = c
	e := w.engine(cfg)
	for range 2 {
		if res, _ := e.Policy(t.Context(), "d.test"); res.Action != Apply {
			t.Fatalf("Policy() = %v", res.Action)
		}
	}
	if err := reopen().Delete(t.Context(), "d.test"); err != nil {
		t.Fatal(err)
	}
	res, _ := e.Policy(t.Context(), "d.test")
	if res.Action != Apply || res.Source != SourceFetched || w.web.hitCount("d.test") != 2 {
		t.Errorf("after a flush: %v from %s, %d fetches; want apply, fetched, 2", res.Action, res.Source, w.web.hitCount("d.test"))
	}
}

// TestWarmConcurrent: warm decisions from many goroutines while the entry
// is replaced (RefreshDomain) and its last use noted (the clock moves past
// LastUsedGranularity): every decision sees a whole entry (run with -race).
func TestWarmConcurrent(t *testing.T) {
	w := newWorld(t)
	e := warmEngine(t, w, "d.test", 300, maillog.Discard{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				res, err := e.Policy(context.Background(), "d.test")
				if err != nil || res.Action != Apply || res.Policy == nil || !res.Policy.Match("mx-new.d.test") {
					t.Errorf("Policy() = %v, %v", res.Action, err)
					return
				}
			}
		}()
	}
	for range 5 {
		w.clock.Advance(LastUsedGranularity)
		if r := e.RefreshDomain(context.Background(), "d.test"); r.Outcome != RefreshRefreshed {
			t.Errorf("RefreshDomain = %s, %v", r.Outcome, r.Err)
		}
	}
	wg.Wait()
}

// TestWarmLastUsed: §3.3 (the cache is refreshed while in use, refresh.go)
// the warm path still notes a policy's use, at most once per
// LastUsedGranularity, and the Result never sees the note being written.
func TestWarmLastUsed(t *testing.T) {
	w := newWorld(t)
	e := warmEngine(t, w, "d.test", 7200, maillog.Discard{})
	fetched := w.clock.Now()
	steps := []struct {
		advance time.Duration
		want    time.Time // LastUsed in the cache after the decision
	}{
		{LastUsedGranularity - time.Minute, fetched},
		{time.Minute, fetched.Add(LastUsedGranularity)},
		{30 * time.Minute, fetched.Add(LastUsedGranularity)},
	}
	for i, s := range steps {
		w.clock.Advance(s.advance)
		res, err := e.Policy(t.Context(), "d.test")
		if err != nil || res.Action != Apply || res.Source != SourceCache {
			t.Fatalf("step %d: Policy() = %v from %s, %v", i, res.Action, res.Source, err)
		}
		got, ok, _ := e.cache.Get(t.Context(), "d.test")
		if !ok || !got.LastUsed.Equal(s.want) {
			t.Errorf("step %d: LastUsed = %v, want %v", i, got.LastUsed, s.want)
		}
	}
	if n := w.web.hitCount("d.test"); n != 1 {
		t.Errorf("policy host asked %d times, want 1", n)
	}
}

// TestRecordMemoBounded: the engine keeps at most maxRecordMemo TXT
// lookups; when full, the expired ones go first, then arbitrary ones, and
// the newest is always kept.
func TestRecordMemoBounded(t *testing.T) {
	w := newWorld(t)
	e := w.engine(w.config())
	now := w.clock.Now()
	e.memoMu.Lock()
	defer e.memoMu.Unlock()
	for i := range maxRecordMemo {
		until := now.Add(time.Hour)
		if i%2 == 0 {
			until = now // expired
		}
		e.keepRecord(fmt.Sprintf("d%d.test", i), &recordMemo{until: until})
	}
	e.keepRecord("new.test", &recordMemo{until: now.Add(time.Hour)})
	if n := len(e.records); n != maxRecordMemo/2+1 {
		t.Errorf("%d lookups kept after the expired ones went, want %d", n, maxRecordMemo/2+1)
	}
	for i := range maxRecordMemo/2 + 1 {
		e.keepRecord(fmt.Sprintf("more%d.test", i), &recordMemo{until: now.Add(time.Hour)})
	}
	if n := len(e.records); n > maxRecordMemo {
		t.Errorf("%d lookups kept, bound %d", n, maxRecordMemo)
	}
	if last := fmt.Sprintf("more%d.test", maxRecordMemo/2); e.records[last] == nil {
		t.Errorf("the newest lookup (%s) was dropped", last)
	}
}

// TestMemoryCacheViewImmutable: the entry the engine reads in place (view)
// never changes under it: Put stores a copy (a caller changing its Entry
// afterwards changes nothing) and replaces the entry instead of writing
// into it.
func TestMemoryCacheViewImmutable(t *testing.T) {
	var c MemoryCache
	p, _, _ := ParsePolicy(rfcExample)
	e := Entry{Domain: "a.test", ID: "1", Policy: p}
	if err := c.Put(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	first, ok := c.view("a.test")
	if !ok {
		t.Fatal("no entry after Put")
	}
	e.Policy.MX[0] = "changed.example"
	e.ID = "2"
	if err := c.Put(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if first.ID != "1" || first.Policy.MX[0] != "mail.example.com" {
		t.Errorf("the viewed entry changed: id %q, mx %v", first.ID, first.Policy.MX)
	}
	if now, _ := c.view("a.test"); now.ID != "2" || now.Policy.MX[0] != "changed.example" {
		t.Errorf("view after the second Put = id %q, mx %v", now.ID, now.Policy.MX)
	}
}
