package mtasts

import (
	"context"
	"sync"
)

// refreshWorkers bounds the refreshes Refresh runs at once.
const refreshWorkers = 8

// RefreshOutcome says what a refresh did to a cache entry.
type RefreshOutcome string

// The refresh outcomes.
const (
	// RefreshRefreshed: a live policy was fetched and cached (mode none
	// included: it replaces the cached policy).
	RefreshRefreshed RefreshOutcome = "refreshed"
	// RefreshKept: no live policy could be had; the cached one stays until
	// it expires.
	RefreshKept RefreshOutcome = "kept"
	// RefreshRemoved: the entry had expired and no live policy replaced it.
	RefreshRemoved RefreshOutcome = "removed"
	// RefreshSkipped: the entry is not due (fetched less than the refresh
	// interval ago, and not expiring within it).
	RefreshSkipped RefreshOutcome = "skipped"
	// RefreshNone: RefreshDomain of a domain with no entry and no policy.
	RefreshNone RefreshOutcome = "none"
)

// RefreshResult is the outcome of refreshing one domain.
type RefreshResult struct {
	Domain  string
	Outcome RefreshOutcome
	// Entry is the entry after the refresh (zero when removed or none).
	Entry Entry
	// Err says why no live policy was had.
	Err error
}

// Refresh re-checks the cached policies that are due (RFC 8461 §3.3,
// §10.2): fetched at least the refresh interval ago, or expiring within it.
// For each, it looks up the TXT record and fetches the policy again, so that
// a policy in use never lapses for lack of traffic and a new id is seen
// early. Failures are logged (at Debug only for mode none entries); an
// entry that has expired with nothing live to replace it is removed. The
// caller schedules Refresh (daily, or more often). The error is the cache
// listing's; the results are in domain order.
func (e *Engine) Refresh(ctx context.Context) ([]RefreshResult, error) {
	entries, err := e.cache.List(ctx)
	results := make([]RefreshResult, len(entries))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(refreshWorkers, len(entries)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = e.refresh(ctx, entries[i].Domain, entries[i], true, false)
			}
		}()
	}
	for i := range entries {
		work <- i
	}
	close(work)
	wg.Wait()
	return results, err
}

// RefreshDomain re-checks domain now, due or not and regardless of a recent
// failure: the operator's "mtastscache refresh DOMAIN". A domain without a
// cache entry gets one when it has a policy.
func (e *Engine) RefreshDomain(ctx context.Context, domain string) RefreshResult {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return RefreshResult{Domain: domain, Outcome: RefreshNone, Err: err}
	}
	entry, ok := e.cacheGet(ctx, d)
	return e.refresh(ctx, d, entry, ok, true)
}

// refresh re-checks one domain; has says whether entry is its cache entry.
func (e *Engine) refresh(ctx context.Context, d string, entry Entry, has, force bool) RefreshResult {
	now := e.now()
	res := RefreshResult{Domain: d, Entry: entry}
	due := now.Sub(entry.FetchedAt) >= e.refreshInterval || entry.ExpiresAt.Sub(now) <= e.refreshInterval
	if has && !force && !due {
		res.Outcome = RefreshSkipped
		return res
	}
	expired := !has || !entry.Valid(now)
	level := logWarning
	if has && entry.Policy.Mode == ModeNone {
		level = logDebug
	}
	lost := func(err error) RefreshResult {
		res.Err = err
		switch {
		case !has:
			res.Outcome, res.Entry = RefreshNone, Entry{}
		case expired:
			res.Outcome, res.Entry = RefreshRemoved, Entry{}
			if derr := e.cache.Delete(ctx, d); derr != nil {
				e.log.Logf(logWarning, "MTA-STS cache removal for the domain (%s) failed: %v", d, derr)
			}
		default:
			res.Outcome = RefreshKept
		}
		return res
	}

	lk := LookupRecord(ctx, e.resolver, d)
	if lk.Status != RecordFound {
		if has && !expired {
			e.log.Logf(level, "MTA-STS TXT record for the domain (%s) is no longer valid (%s); the cached policy applies until it expires", d, lk.Status)
		}
		return lost(lk.Err)
	}
	var out fetchOutcome
	if force {
		out = e.fetchParse(ctx, d, nil)
		if out.err == nil {
			out.entry = e.store(ctx, d, lk.Record.ID, out, now, entry.LastUsed)
		}
	} else {
		out = e.fetchShared(ctx, d, lk.Record.ID, nil, false, entry.LastUsed)
	}
	if out.err != nil {
		e.logFetchFailure(d, out.err, level)
		return lost(out.err)
	}
	e.log.Logf(logInfo, "MTA-STS policy for the domain (%s) Successful.", d)
	res.Outcome = RefreshRefreshed
	res.Entry = out.entry
	return res
}
