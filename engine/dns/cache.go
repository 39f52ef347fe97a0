package dns

import (
	"sync"
	"time"
)

// cacheKey is a query: name (canonical) and type. The class is always IN.
type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	step    *step
	stored  time.Time
	expires time.Time
}

// cache holds answered queries until their TTL runs out. Entries are never
// modified once stored, so that readers can share them (peek) or take aged
// copies (get). Reads take the read lock only: lookups answered from the
// cache run in parallel.
type cache struct {
	mu  sync.RWMutex
	m   map[cacheKey]cacheEntry
	max int
}

func newCache(max int) *cache {
	return &cache{m: make(map[cacheKey]cacheEntry), max: max}
}

// peek returns the entry for key while it has not expired at now. The step
// is shared with the cache and other readers: it must not be modified. An
// expired entry is left for put to replace or sweep away.
func (c *cache) peek(key cacheKey, now time.Time) (cacheEntry, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return cacheEntry{}, false
	}
	return e, true
}

// get returns a copy of the cached step for key with its TTLs counted down to
// now, and the time it has left in the cache.
func (c *cache) get(key cacheKey, now time.Time) (*step, time.Duration, bool) {
	e, ok := c.peek(key, now)
	if !ok {
		return nil, 0, false
	}
	return e.step.aged(now.Sub(e.stored)), e.expires.Sub(now), true
}

// put stores s for ttl from now, making room if the cache is full. It
// stores a copy: the caller keeps s.
func (c *cache) put(key cacheKey, s *step, ttl time.Duration, now time.Time) {
	s = s.aged(0)
	s.cached = true
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		// Full: drop what has expired, then arbitrary entries down to 90 % of the
		// bound, so that the next inserts do not each scan the whole map again.
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		low := c.max - c.max/10
		for k := range c.m {
			if len(c.m) < low {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cacheEntry{step: s, stored: now, expires: now.Add(ttl)}
}
