package mtasts

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
)

// Defaults.
const (
	// DefaultConnectTimeout bounds each TCP connect and TLS handshake of a
	// policy fetch.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultFetchTimeout bounds a whole policy fetch (§3.3 suggests at
	// most a minute).
	DefaultFetchTimeout = 60 * time.Second
	// RetryHoldoff is how long after a failed fetch the same (domain, id)
	// is not fetched again.
	RetryHoldoff = 5 * time.Minute
	// DefaultRefreshInterval is how often Refresh re-fetches a cached policy
	// (§3.3, §10.2: daily), and how close to expiry one is refreshed.
	DefaultRefreshInterval = 24 * time.Hour
	// DefaultProbeTimeout bounds each step of Verify's SMTP probes.
	DefaultProbeTimeout = 20 * time.Second
	// maxRecordMemo bounds the TXT lookups an Engine keeps (as many as the
	// resolver's cache keeps answers); when full, expired ones are dropped
	// first, then arbitrary ones.
	maxRecordMemo = 10000
)

// The levels of the engine's mail log lines.
const (
	logInfo    = maillog.Info
	logWarning = maillog.Warning
	logDebug   = maillog.Debug
)

// Config configures an Engine. Only Resolver is required.
type Config struct {
	// Resolver resolves every name: _mta-sts TXT records, mta-sts.DOMAIN,
	// MX hosts, the proxy's host name.
	Resolver *dns.Resolver
	// RootCAs verifies policy hosts and (in Verify) MX hosts. Nil trusts
	// nothing; it never falls back to the system roots.
	RootCAs *x509.CertPool
	// Cache keeps policies (default: a MemoryCache).
	Cache Cache
	// Log receives the mail log lines (default: discarded).
	Log maillog.Logger
	// Proxy, when set, is the HTTP proxy of policy fetches (destconfig
	// setup, or HTTPS_PROXY as read by the caller): CONNECT through it.
	Proxy *url.URL
	// ConnectTimeout and FetchTimeout bound a fetch (defaults
	// DefaultConnectTimeout, DefaultFetchTimeout).
	ConnectTimeout, FetchTimeout time.Duration
	// RefreshInterval drives Refresh (default DefaultRefreshInterval).
	RefreshInterval time.Duration
	// EHLOName is the name Verify's probes send with EHLO (default
	// "localhost"); ProbeTimeout bounds each of their steps (default
	// DefaultProbeTimeout).
	EHLOName     string
	ProbeTimeout time.Duration
	// Now is the clock of the cache, the hold-off and certificate checks
	// (default time.Now).
	Now func() time.Time
	// Dial, when set, opens every TCP connection instead of a net.Dialer:
	// addr is the resolved "ip:port" and host the name it was resolved
	// for. Tests use it to send ports 443 and 25 to local listeners.
	Dial func(ctx context.Context, network, addr, host string) (net.Conn, error)
}

// Engine discovers, fetches, caches and applies MTA-STS policies. It is safe
// for concurrent use.
type Engine struct {
	cfg             Config
	resolver        *dns.Resolver
	roots           *x509.CertPool
	cache           Cache
	log             maillog.Logger
	now             func() time.Time
	connectTimeout  time.Duration
	fetchTimeout    time.Duration
	refreshInterval time.Duration
	client          *http.Client
	levels          maillog.LevelEnabler // nil: the log cannot tell, every line is made

	mu       sync.Mutex
	failed   map[fetchKey]time.Time // failed fetches, for RetryHoldoff
	failedAt map[string]time.Time   // the last failed fetch of each domain
	inflight map[fetchKey]*flight   // fetches in progress

	memoMu  sync.RWMutex
	records map[string]*recordMemo   // TXT lookups by domain, while the resolver caches them
	looking map[string]*recordFlight // TXT lookups in progress, by domain
}

// recordMemo is a domain's TXT lookup (RFC 8461 §3.1), parsed, kept exactly
// as long as the resolver's cache keeps the answer (its DNS TTL, capped as
// the resolver caps it): asking the resolver again before until would give
// the same answer, so the memo is that answer without the asking, the
// decoding and the parsing. It is never modified once stored.
type recordMemo struct {
	lk    RecordLookup
	until time.Time // dns.Result.Expires, on the resolver's clock
}

// recordFlight is a TXT lookup in progress that other decisions for the same
// domain wait for instead of asking too.
type recordFlight struct {
	done chan struct{}
	lk   RecordLookup
	// ok is false when the lookup ended with its caller's context: the
	// callers that waited ask for themselves.
	ok bool
	// waiters counts the callers that waited (for tests).
	waiters int
}

// fetchKey identifies a policy instance.
type fetchKey struct{ domain, id string }

// flight is a fetch in progress that other callers wait for.
type flight struct {
	done chan struct{}
	out  fetchOutcome
}

// fetchOutcome is a fetched and parsed policy, or why there is none.
type fetchOutcome struct {
	fetched  fetched
	policy   Policy
	warnings []string
	err      error
	// entry is the cache entry made of a successful fetch, or found in the
	// cache (cached) when another caller had just fetched the same id.
	entry  Entry
	cached bool
}

// ErrNoResolver is returned by New without a resolver.
var ErrNoResolver = errors.New("mtasts: no DNS resolver")

// New returns an Engine for cfg.
func New(cfg Config) (*Engine, error) {
	if cfg.Resolver == nil {
		return nil, ErrNoResolver
	}
	e := &Engine{
		cfg:             cfg,
		resolver:        cfg.Resolver,
		roots:           cfg.RootCAs,
		cache:           cfg.Cache,
		log:             cfg.Log,
		now:             cfg.Now,
		connectTimeout:  cfg.ConnectTimeout,
		fetchTimeout:    cfg.FetchTimeout,
		refreshInterval: cfg.RefreshInterval,
		failed:          make(map[fetchKey]time.Time),
		failedAt:        make(map[string]time.Time),
		inflight:        make(map[fetchKey]*flight),
		records:         make(map[string]*recordMemo),
		looking:         make(map[string]*recordFlight),
	}
	if e.roots == nil {
		e.roots = x509.NewCertPool()
	}
	if e.cache == nil {
		e.cache = &MemoryCache{}
	}
	if e.log == nil {
		e.log = maillog.Discard{}
	}
	e.levels, _ = e.log.(maillog.LevelEnabler)
	if e.now == nil {
		e.now = time.Now
	}
	if e.connectTimeout <= 0 {
		e.connectTimeout = DefaultConnectTimeout
	}
	if e.fetchTimeout <= 0 {
		e.fetchTimeout = DefaultFetchTimeout
	}
	if e.refreshInterval <= 0 {
		e.refreshInterval = DefaultRefreshInterval
	}
	e.client = &http.Client{
		Transport: e.newTransport(),
		// §3.3: HTTP 3xx redirects MUST NOT be followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return e, nil
}

// Action is what the caller does with a domain's mail.
type Action int

const (
	// NoPolicy: MTA-STS does not apply; deliver by the destination's TLS
	// setting (no record, mode none, no usable policy).
	NoPolicy Action = iota
	// Apply: the policy in Result.Policy applies (mode enforce or testing).
	Apply
	// Defer: a temporary failure with nothing cached; keep the message
	// queued and try later.
	Defer
)

// String returns "no-policy", "apply" or "defer".
func (a Action) String() string {
	switch a {
	case NoPolicy:
		return "no-policy"
	case Apply:
		return "apply"
	case Defer:
		return "defer"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Source says where an applied policy came from; the values are those of
// the mtastsverify JSON ("policy.source").
type Source string

// The sources.
const (
	SourceFetched Source = "fetched" // fetched for this decision
	SourceCache   Source = "cache"   // from the policy cache
)

// Result is the MTA-STS decision for a domain.
type Result struct {
	Action Action
	// Domain is the policy domain, normalized.
	Domain string
	// Policy is the policy that applies (Apply), or the mode none policy
	// that was found (NoPolicy); nil otherwise. It may be shared with the
	// policy cache and with other Results: callers read it and must never
	// modify it (nor its slices).
	Policy *Policy
	// ID is the id of the policy; Source where it came from; ExpiresAt
	// when it expires (the fetch time itself for max_age 0).
	ID        string
	Source    Source
	ExpiresAt time.Time
	// Reason says in a few words why the action was chosen.
	Reason string
}

// Enforced reports whether the policy applies in mode enforce: only
// matching MX hosts, TLS 1.2 or higher, PKIX-valid certificates
// (MXTLSConfig); none left means defer, never bounce (§5).
func (r Result) Enforced() bool {
	return r.Action == Apply && r.Policy != nil && r.Policy.Mode == ModeEnforce
}

// Allows reports whether mail may be sent to mxHost at all: always, unless
// the policy is enforced and mxHost matches none of its patterns (§4.1,
// §5). In mode testing a mismatch is only reported.
func (r Result) Allows(mxHost string) bool {
	return !r.Enforced() || r.Policy.Match(mxHost)
}

// NormalizeDomain returns domain as policy domains are kept: lower case
// A-labels without a trailing dot.
func NormalizeDomain(domain string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(domain), ".")
	if isPlainHostName(d) {
		return d, nil // what IDNA makes of it, without the work
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil || a == "" || strings.ContainsAny(a, " \t/\\") {
		return "", fmt.Errorf("mtasts: %q is not a domain name", domain)
	}
	return a, nil
}

// Policy decides how MTA-STS applies to mail for the policy domain domain
// (DESIGN.md, engine rules step 3; RFC 8461 §3, §5.1), fetching and caching
// the policy as needed. The error is non-nil only for Defer, and wraps
// ErrTempFail.
//
// A decision that the caches answer (the policy cache, and the TXT record
// within its DNS TTL) makes no allocation when the log does not write the
// Info lines: the Result's Policy is then the cache's own, shared.
func (e *Engine) Policy(ctx context.Context, domain string) (Result, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return Result{Action: NoPolicy, Domain: domain, Reason: err.Error()}, nil
	}
	now := e.now()
	entry, cached := e.cacheView(ctx, d)
	valid := cached && entry.Valid(now)

	if lk, ok := e.knownRecord(d); ok {
		return e.decide(ctx, d, now, entry, valid, lk, nil)
	}
	return e.decideLookingUp(ctx, d, now, entry, valid)
}

// decideLookingUp is Policy when the TXT record has to be looked up.
func (e *Engine) decideLookingUp(ctx context.Context, d string, now time.Time, entry *Entry, valid bool) (Result, error) {
	// With nothing usable cached, the policy host's address is looked up
	// while the TXT lookup runs: both are on the critical path. Not for a
	// domain whose fetch failed moments ago: the hold-off most likely
	// answers (RFC 8461 §3.3), and it needs no address.
	var pre *addrFuture
	if !valid && e.cfg.Proxy == nil && !e.failedRecently(d, now) {
		pctx, cancel := context.WithCancel(ctx)
		pre = e.prefetch(pctx, "mta-sts."+d)
		defer func() {
			cancel()
			<-pre.done
		}()
	}
	return e.decide(ctx, d, now, entry, valid, e.lookupRecord(ctx, d), pre)
}

// decide is Policy once the cache entry (valid says whether it applies at
// now) and the TXT lookup are known; pre is the policy host's address
// lookup when one was started.
func (e *Engine) decide(ctx context.Context, d string, now time.Time, entry *Entry, valid bool, lk *RecordLookup, pre *addrFuture) (Result, error) {
	switch lk.Status {
	case RecordTempFail:
		if valid {
			return e.useCached(ctx, entry, "TXT lookup failed; the cached policy applies", now), nil
		}
		err := fmt.Errorf("mtasts: policy for %s: %w", d, lk.Err)
		if e.logs(logDebug) {
			e.log.Logf(logDebug, "MTA-STS TXT lookup for domain(%s) failed: %v", d, lk.Err)
		}
		return Result{Action: Defer, Domain: d, Reason: "TXT lookup failed temporarily, nothing cached"}, err
	case RecordNone, RecordInvalid, RecordMultiple:
		if valid {
			if entry.Policy.Mode != ModeNone && e.logs(logWarning) {
				e.log.Logf(logWarning, "MTA-STS TXT record for the domain (%s) is no longer valid (%s); the cached policy applies until %s",
					d, lk.Status, entry.ExpiresAt.UTC().Format(time.RFC3339))
			}
			return e.useCached(ctx, entry, recordReason(lk.Status, true), now), nil
		}
		return Result{Action: NoPolicy, Domain: d, Reason: recordReason(lk.Status, false)}, nil
	}
	if e.logs(logInfo) {
		e.log.Logf(logInfo, "Successfully fetched MTA-STS TXT record for domain(%s)", d)
	}
	id := lk.Record.ID
	if valid && entry.ID == id {
		return e.useCached(ctx, entry, "cached policy, same id", now), nil
	}

	out := e.fetchShared(ctx, d, id, pre, true, now)
	if out.err != nil {
		e.logFetchFailure(d, out.err, logWarning)
		if valid {
			// No last-used update: the entry is on its way out, and a
			// concurrent delivery may have cached the new id already.
			return e.useCachedAs(ctx, entry, "fetch of the new id failed; the cached policy applies", false, now), nil
		}
		return Result{Action: NoPolicy, Domain: d, ID: id, Reason: "policy fetch failed: " + out.err.Error()}, nil
	}
	if out.cached {
		// Another delivery fetched this id a moment ago.
		return e.useCached(ctx, &out.entry, "cached policy, fetched moments ago", e.now()), nil
	}
	if e.logs(logInfo) {
		e.log.Logf(logInfo, "MTA-STS policy for the domain (%s) Successful.", d)
	}
	return e.apply(&out.entry, SourceFetched, "fetched"), nil
}

// recordReason is the Result.Reason for a TXT lookup that found no usable
// record (status none, invalid or multiple), with or without a cached
// policy that still applies (§3.3, §5.1). The strings are constants: no
// allocation on the path of the many domains without MTA-STS.
func recordReason(status RecordStatus, cached bool) string {
	switch {
	case status == RecordNone && cached:
		return "TXT record none; the cached policy applies until it expires"
	case status == RecordNone:
		return "TXT record none"
	case status == RecordInvalid && cached:
		return "TXT record invalid; the cached policy applies until it expires"
	case status == RecordInvalid:
		return "TXT record invalid"
	case status == RecordMultiple && cached:
		return "TXT record multiple; the cached policy applies until it expires"
	case status == RecordMultiple:
		return "TXT record multiple"
	case cached:
		return "TXT record " + string(status) + "; the cached policy applies until it expires"
	}
	return "TXT record " + string(status)
}

// logs reports whether the log writes lines of level; the callers on the
// decision path ask first, so that a line nobody writes costs nothing.
func (e *Engine) logs(level maillog.Level) bool {
	return e.levels == nil || e.levels.Enabled(level)
}

// logFetchFailure logs a failed fetch at level, with the reason at Debug;
// a fetch skipped for the hold-off is logged at Debug only.
func (e *Engine) logFetchFailure(d string, err error, level maillog.Level) {
	if !errors.Is(err, ErrRecentFailure) && e.logs(level) {
		e.log.Logf(level, "Failed to fetch MTA-STS policy for the domain (%s)", d)
	}
	if e.logs(logDebug) {
		e.log.Logf(logDebug, "MTA-STS policy fetch for the domain (%s): %v", d, err)
	}
}

// useCached applies a cached entry and notes its use at now.
func (e *Engine) useCached(ctx context.Context, entry *Entry, reason string, now time.Time) Result {
	return e.useCachedAs(ctx, entry, reason, true, now)
}

// useCachedAs applies a cached entry; touch says whether to note its use
// (at now). entry is not modified: a use is noted by putting a copy.
func (e *Engine) useCachedAs(ctx context.Context, entry *Entry, reason string, touch bool, now time.Time) Result {
	if e.logs(logInfo) {
		e.log.Logf(logInfo, "Valid cache entry found for the domain (%s).", entry.Domain)
	}
	if touch && now.Sub(entry.LastUsed) >= LastUsedGranularity {
		used := *entry
		used.LastUsed = now
		if err := e.cache.Put(ctx, used); err != nil && e.logs(logWarning) {
			e.log.Logf(logWarning, "MTA-STS cache update for the domain (%s) failed: %v", entry.Domain, err)
		}
	}
	return e.apply(entry, SourceCache, reason)
}

// apply turns an entry into a Result: Apply, or NoPolicy for mode none. The
// Result's Policy points into entry, which is never modified afterwards.
func (e *Engine) apply(entry *Entry, src Source, reason string) Result {
	p := &entry.Policy
	r := Result{Domain: entry.Domain, Policy: p, ID: entry.ID, Source: src, ExpiresAt: entry.ExpiresAt, Reason: reason}
	if p.Mode == ModeNone {
		r.Action = NoPolicy
		r.Reason = "policy mode none"
		return r
	}
	if e.logs(logInfo) {
		e.log.Logf(logInfo, "Applying MTA-STS policy for the domain (%s)", entry.Domain)
	}
	r.Action = Apply
	return r
}

// isPlainHostName reports whether d is a host name that IDNA lookup
// (UTS #46, as NormalizeDomain applies it) returns unchanged: lower-case
// letters, digits and hyphens only, labels of 1 to 63 bytes that neither
// begin nor end with a hyphen nor have one in both their third and fourth
// places ("xn--" labels and the other reserved forms go through IDNA), at
// most 253 bytes.
func isPlainHostName(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	start := 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) && d[i] != '.' {
			if c := d[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		label := d[start:i]
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			len(label) >= 4 && label[2] == '-' && label[3] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

// cacheView reads d's cache entry for a decision: a MemoryCache's own copy,
// shared and read in place, or a copy from any other Cache. A read failure
// is logged and counts as no entry.
func (e *Engine) cacheView(ctx context.Context, d string) (*Entry, bool) {
	if m, ok := e.cache.(*MemoryCache); ok {
		return m.view(d)
	}
	entry, ok := e.cacheGet(ctx, d)
	if !ok {
		return nil, false
	}
	return &entry, true
}

// knownRecord returns d's TXT lookup while the resolver's cache still holds
// its answer (shared: read it, never modify it).
func (e *Engine) knownRecord(d string) (*RecordLookup, bool) {
	e.memoMu.RLock()
	m := e.records[d]
	e.memoMu.RUnlock()
	if m == nil || !e.resolver.Now().Before(m.until) {
		return nil, false
	}
	return &m.lk, true
}

// lookupRecord looks up d's TXT record (LookupRecord), once for all the
// decisions that ask at the same time, and keeps the answer for as long as
// the resolver's cache does (knownRecord). The result is shared: read it,
// never modify it. A caller whose context ends while it waits gets a
// temporary failure at once.
func (e *Engine) lookupRecord(ctx context.Context, d string) *RecordLookup {
	for {
		e.memoMu.Lock()
		if m := e.records[d]; m != nil && e.resolver.Now().Before(m.until) {
			e.memoMu.Unlock()
			return &m.lk // another caller has just looked it up
		}
		if f := e.looking[d]; f != nil {
			f.waiters++
			e.memoMu.Unlock()
			select {
			case <-f.done:
				if f.ok {
					return &f.lk
				}
				continue // the lookup ended with its caller's context: ask again
			case <-ctx.Done():
				name := "_mta-sts." + d
				return &RecordLookup{Name: name, Status: RecordTempFail,
					Err: fmt.Errorf("mtasts: lookup %s TXT: %w: %w", name, ErrTempFail, ctx.Err())}
			}
		}
		f := &recordFlight{done: make(chan struct{})}
		e.looking[d] = f
		e.memoMu.Unlock()

		lk, until := lookupRecord(ctx, e.resolver, d)
		f.lk, f.ok = lk, ctx.Err() == nil
		e.memoMu.Lock()
		delete(e.looking, d)
		if f.ok && e.resolver.Now().Before(until) {
			e.keepRecord(d, &recordMemo{lk: lk, until: until})
		}
		e.memoMu.Unlock()
		close(f.done)
		return &f.lk
	}
}

// keepRecord stores m for d, making room when the memo is full; e.memoMu is
// held.
func (e *Engine) keepRecord(d string, m *recordMemo) {
	if _, ok := e.records[d]; !ok && len(e.records) >= maxRecordMemo {
		now := e.resolver.Now()
		for k, old := range e.records {
			if !now.Before(old.until) {
				delete(e.records, k)
			}
		}
		low := maxRecordMemo - maxRecordMemo/10
		for k := range e.records {
			if len(e.records) < low {
				break
			}
			delete(e.records, k)
		}
	}
	e.records[d] = m
}

// failedRecently reports whether a fetch of d's policy (any id) failed less
// than RetryHoldoff before now.
func (e *Engine) failedRecently(d string, now time.Time) bool {
	e.mu.Lock()
	at, ok := e.failedAt[d]
	e.mu.Unlock()
	return ok && now.Sub(at) < RetryHoldoff
}

// store caches a freshly fetched policy (a write failure is logged: the
// policy still applies to this delivery).
func (e *Engine) store(ctx context.Context, d, id string, out fetchOutcome, now, lastUsed time.Time) Entry {
	ne := Entry{
		Domain:    d,
		ID:        id,
		Text:      out.fetched.Text,
		Policy:    out.policy,
		FetchedAt: now,
		ExpiresAt: now.Add(time.Duration(out.policy.MaxAge) * time.Second),
		LastUsed:  lastUsed,
	}
	if err := e.cache.Put(ctx, ne); err != nil {
		e.log.Logf(logWarning, "MTA-STS cache update for the domain (%s) failed: %v", d, err)
	}
	return ne
}

// cacheGet reads the cache; a failure is logged and counts as no entry.
func (e *Engine) cacheGet(ctx context.Context, d string) (Entry, bool) {
	entry, ok, err := e.cache.Get(ctx, d)
	if err != nil {
		e.log.Logf(logWarning, "MTA-STS cache read for the domain (%s) failed: %v", d, err)
		return Entry{}, false
	}
	return entry, ok
}

// fetchShared fetches, parses and caches (domain, id), unless it failed less
// than RetryHoldoff ago. Concurrent callers for the same (domain, id) share
// one fetch; with reuse, a caller that finds the id freshly cached (another
// caller fetched it since it looked) uses that entry instead of fetching.
// lastUsed goes into the new cache entry.
func (e *Engine) fetchShared(ctx context.Context, d, id string, pre *addrFuture, reuse bool, lastUsed time.Time) fetchOutcome {
	key := fetchKey{d, id}
	e.mu.Lock()
	if at, ok := e.failed[key]; ok {
		if left := RetryHoldoff - e.now().Sub(at); left > 0 {
			e.mu.Unlock()
			return fetchOutcome{err: fmt.Errorf("mtasts: policy for %s id %s: %w (for %v)", d, id, ErrRecentFailure, left.Round(time.Second))}
		}
		delete(e.failed, key)
	}
	if f, ok := e.inflight[key]; ok {
		e.mu.Unlock()
		select {
		case <-f.done:
			return f.out
		case <-ctx.Done():
			return fetchOutcome{err: ctx.Err()}
		}
	}
	f := &flight{done: make(chan struct{})}
	e.inflight[key] = f
	e.mu.Unlock()

	// A flight for this key that ended before ours began has stored its
	// policy already.
	if entry, ok := e.cacheGet(ctx, d); reuse && ok && entry.ID == id && entry.Valid(e.now()) {
		f.out = fetchOutcome{entry: entry, cached: true, policy: entry.Policy}
	} else {
		f.out = e.fetchParse(ctx, d, pre)
		if f.out.err == nil {
			f.out.entry = e.store(ctx, d, id, f.out, e.now(), lastUsed)
		}
	}

	e.mu.Lock()
	delete(e.inflight, key)
	if f.out.err != nil && ctx.Err() == nil {
		at := e.now()
		e.failed[key] = at
		e.failedAt[d] = at
		e.pruneFailed()
	} else if f.out.err == nil {
		delete(e.failedAt, d)
	}
	e.mu.Unlock()
	close(f.done)
	return f.out
}

// pruneFailed drops hold-offs that are over; e.mu is held.
func (e *Engine) pruneFailed() {
	if len(e.failed) < 1024 {
		return
	}
	now := e.now()
	for k, at := range e.failed {
		if now.Sub(at) >= RetryHoldoff {
			delete(e.failed, k)
		}
	}
	for d, at := range e.failedAt {
		if now.Sub(at) >= RetryHoldoff {
			delete(e.failedAt, d)
		}
	}
}

// fetchParse fetches and parses d's policy.
func (e *Engine) fetchParse(ctx context.Context, d string, pre *addrFuture) fetchOutcome {
	f, err := e.fetch(ctx, d, pre)
	if err != nil {
		return fetchOutcome{fetched: f, err: err}
	}
	p, warnings, err := ParsePolicy(f.Text)
	return fetchOutcome{fetched: f, policy: p, warnings: warnings, err: err}
}
