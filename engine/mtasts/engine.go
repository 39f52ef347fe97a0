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

	mu       sync.Mutex
	failed   map[fetchKey]time.Time // failed fetches, for RetryHoldoff
	inflight map[fetchKey]*flight   // fetches in progress
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
		inflight:        make(map[fetchKey]*flight),
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
	// that was found (NoPolicy); nil otherwise.
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
func (e *Engine) Policy(ctx context.Context, domain string) (Result, error) {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return Result{Action: NoPolicy, Domain: domain, Reason: err.Error()}, nil
	}
	now := e.now()
	entry, cached := e.cacheGet(ctx, d)
	valid := cached && entry.Valid(now)

	// With nothing usable cached, the policy host's address is looked up
	// while the TXT lookup runs: both are on the critical path.
	var pre *addrFuture
	if !valid && e.cfg.Proxy == nil {
		pctx, cancel := context.WithCancel(ctx)
		pre = e.prefetch(pctx, "mta-sts."+d)
		defer func() {
			cancel()
			<-pre.done
		}()
	}

	lk := LookupRecord(ctx, e.resolver, d)
	switch lk.Status {
	case RecordTempFail:
		if valid {
			return e.useCached(ctx, entry, "TXT lookup failed; the cached policy applies"), nil
		}
		err := fmt.Errorf("mtasts: policy for %s: %w", d, lk.Err)
		e.log.Logf(logDebug, "MTA-STS TXT lookup for domain(%s) failed: %v", d, lk.Err)
		return Result{Action: Defer, Domain: d, Reason: "TXT lookup failed temporarily, nothing cached"}, err
	case RecordNone, RecordInvalid, RecordMultiple:
		if valid {
			if entry.Policy.Mode != ModeNone {
				e.log.Logf(logWarning, "MTA-STS TXT record for the domain (%s) is no longer valid (%s); the cached policy applies until %s",
					d, lk.Status, entry.ExpiresAt.UTC().Format(time.RFC3339))
			}
			return e.useCached(ctx, entry, "TXT record "+string(lk.Status)+"; the cached policy applies until it expires"), nil
		}
		return Result{Action: NoPolicy, Domain: d, Reason: "TXT record " + string(lk.Status)}, nil
	}
	e.log.Logf(logInfo, "Successfully fetched MTA-STS TXT record for domain(%s)", d)
	id := lk.Record.ID
	if valid && entry.ID == id {
		return e.useCached(ctx, entry, "cached policy, same id"), nil
	}

	out := e.fetchShared(ctx, d, id, pre, true, now)
	if out.err != nil {
		e.logFetchFailure(d, out.err, logWarning)
		if valid {
			// No last-used update: the entry is on its way out, and a
			// concurrent delivery may have cached the new id already.
			return e.useCachedAs(ctx, entry, "fetch of the new id failed; the cached policy applies", false), nil
		}
		return Result{Action: NoPolicy, Domain: d, ID: id, Reason: "policy fetch failed: " + out.err.Error()}, nil
	}
	if out.cached {
		// Another delivery fetched this id a moment ago.
		return e.useCached(ctx, out.entry, "cached policy, fetched moments ago"), nil
	}
	e.log.Logf(logInfo, "MTA-STS policy for the domain (%s) Successful.", d)
	return e.apply(out.entry, SourceFetched, "fetched"), nil
}

// logFetchFailure logs a failed fetch at level, with the reason at Debug;
// a fetch skipped for the hold-off is logged at Debug only.
func (e *Engine) logFetchFailure(d string, err error, level maillog.Level) {
	if !errors.Is(err, ErrRecentFailure) {
		e.log.Logf(level, "Failed to fetch MTA-STS policy for the domain (%s)", d)
	}
	e.log.Logf(logDebug, "MTA-STS policy fetch for the domain (%s): %v", d, err)
}

// useCached applies a cached entry and notes its use.
func (e *Engine) useCached(ctx context.Context, entry Entry, reason string) Result {
	return e.useCachedAs(ctx, entry, reason, true)
}

// useCachedAs applies a cached entry; touch says whether to note its use.
func (e *Engine) useCachedAs(ctx context.Context, entry Entry, reason string, touch bool) Result {
	e.log.Logf(logInfo, "Valid cache entry found for the domain (%s).", entry.Domain)
	if now := e.now(); touch && now.Sub(entry.LastUsed) >= LastUsedGranularity {
		entry.LastUsed = now
		if err := e.cache.Put(ctx, entry); err != nil {
			e.log.Logf(logWarning, "MTA-STS cache update for the domain (%s) failed: %v", entry.Domain, err)
		}
	}
	return e.apply(entry, SourceCache, reason)
}

// apply turns an entry into a Result: Apply, or NoPolicy for mode none.
func (e *Engine) apply(entry Entry, src Source, reason string) Result {
	p := entry.Policy
	r := Result{Domain: entry.Domain, Policy: &p, ID: entry.ID, Source: src, ExpiresAt: entry.ExpiresAt, Reason: reason}
	if p.Mode == ModeNone {
		r.Action = NoPolicy
		r.Reason = "policy mode none"
		return r
	}
	e.log.Logf(logInfo, "Applying MTA-STS policy for the domain (%s)", entry.Domain)
	r.Action = Apply
	return r
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
		e.failed[key] = e.now()
		e.pruneFailed()
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
