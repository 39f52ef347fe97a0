package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Defaults and limits.
const (
	// DefaultTimeout is the time allowed for one attempt (one query to one
	// server) when Config.Timeout is zero.
	DefaultTimeout = 2 * time.Second
	// DefaultAttempts is the number of rounds over the server list when
	// Config.Attempts is zero.
	DefaultAttempts = 2
	// UDPSize is the EDNS0 buffer size advertised in queries (DNS Flag Day
	// 2020): answers larger than this come truncated and are asked again
	// over TCP.
	UDPSize = 1232
	// maxUDPReceive bounds a UDP answer read from the wire; a server that
	// ignores UDPSize may send a little more and is still understood.
	maxUDPReceive = 4096
	// MaxCNAMEChain is the longest CNAME chain followed.
	MaxCNAMEChain = 8
	// DefaultNegativeTTL is how long a negative answer without an SOA
	// record in its authority section is cached.
	DefaultNegativeTTL = 60 * time.Second
	// MaxNegativeTTL caps the cache lifetime of negative answers.
	MaxNegativeTTL = 3 * time.Hour
	// MaxCacheTTL caps the cache lifetime of positive answers.
	MaxCacheTTL = 24 * time.Hour
	// BogusCacheTTL is how long a Bogus answer is cached, so that a broken
	// zone is not asked again at once; TempFail is never cached.
	BogusCacheTTL = 5 * time.Second
	// maxCacheEntries bounds the cache; when full, expired entries are
	// dropped first, then arbitrary ones.
	maxCacheEntries = 10000
)

// Errors callers branch on, wrapped (errors.Is) by the errors this package
// returns. Every returned error starts with "dns: ".
var (
	ErrNoServers    = errors.New("no DNS servers configured")
	ErrTimeout      = errors.New("timeout")
	ErrServFail     = errors.New("server failure (SERVFAIL)")
	ErrRefused      = errors.New("query refused (REFUSED)")
	ErrBogus        = errors.New("DNSSEC validation failed (bogus)")
	ErrCNAMELoop    = errors.New("CNAME loop")
	ErrCNAMEChain   = errors.New("CNAME chain too long")
	ErrInvalidName  = errors.New("invalid domain name")
	ErrBadServer    = errors.New("server address is not an IP address and port")
	ErrBadAnswer    = errors.New("malformed or mismatched answer")
	errUnknownRcode = errors.New("unexpected response code")
)

// Server is a recursive DNS server.
type Server struct {
	// Addr is "ip:port" ("[ip]:port" for IPv6). An address without a port
	// gets port 53. Host names are not accepted: nothing here asks the
	// machine's resolver.
	Addr string
	// Trusted says that the AD bit from this server is trusted
	// (explicitly, by dnsconfig). Loopback servers are always trusted.
	Trusted bool
}

// trusted reports whether the AD bit from s counts (RFC 4035 §4.9.3,
// RFC 7672 §2.1): s is marked trusted, or its address is loopback.
func trusted(s Server) bool {
	if s.Trusted {
		return true
	}
	ap, err := netip.ParseAddrPort(s.Addr)
	if err != nil {
		a, err2 := netip.ParseAddr(s.Addr)
		if err2 != nil {
			return false
		}
		ap = netip.AddrPortFrom(a, 53)
	}
	return ap.Addr().Unmap().IsLoopback()
}

// Config configures a Resolver.
type Config struct {
	// Servers are tried in order; a failed attempt moves to the next one.
	Servers []Server
	// Timeout is the time allowed for one attempt (default 2s).
	Timeout time.Duration
	// Attempts is the number of rounds over Servers (default 2).
	Attempts int
	// Now is the cache's clock (default time.Now).
	Now func() time.Time
	// Debug, when set, receives debug lines in the appliance's style
	// ("DNS query: Q('example.com', 'TXT') to 127.0.0.1:53"). It is called
	// from the goroutine doing the lookup, so it must be safe for
	// concurrent use when lookups are.
	Debug func(line string)
	// NoCache turns the cache off.
	NoCache bool
}

// Resolver asks the configured servers and caches their answers. It is safe
// for concurrent use.
type Resolver struct {
	servers  []Server
	timeout  time.Duration
	attempts int
	now      func() time.Time
	debug    func(string)
	cache    *cache // nil when NoCache
}

// New returns a Resolver for cfg, with defaults filled in.
func New(cfg Config) *Resolver {
	r := &Resolver{
		timeout:  cfg.Timeout,
		attempts: cfg.Attempts,
		now:      cfg.Now,
		debug:    cfg.Debug,
	}
	for _, s := range cfg.Servers {
		if addr, err := normalizeAddr(s.Addr); err == nil {
			s.Addr = addr
		}
		r.servers = append(r.servers, s)
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.attempts <= 0 {
		r.attempts = DefaultAttempts
	}
	if r.now == nil {
		r.now = time.Now
	}
	if !cfg.NoCache {
		r.cache = newCache(maxCacheEntries)
	}
	return r
}

// Now returns the time on the resolver's clock (Config.Now), the clock of
// Result.Expires.
func (r *Resolver) Now() time.Time { return r.now() }

// Servers returns the servers the resolver asks, with ports filled in.
func (r *Resolver) Servers() []Server {
	return append([]Server(nil), r.servers...)
}

// Step is one query behind a Result: a CNAME chain that needs another query
// for its target has two steps or more.
type Step struct {
	Name   string // the name asked, canonical
	Status Status
	Rcode  int
	Server string // the server that answered
	Cached bool   // answered from the cache
}

// Result is the outcome of a lookup.
type Result struct {
	// Name is the name asked, canonical (lower case, fully qualified).
	Name string
	Type uint16
	// Status is the DNSSEC status of the whole answer: for a CNAME chain,
	// the weakest status of its steps.
	Status Status
	// Rcode is the response code of the last answer (RcodeNoError,
	// RcodeNXDomain, RcodeServFail...), -1 when no server answered.
	Rcode int
	// NXDomain: the name at the end of the chain does not exist. NoData:
	// it exists but has no record of the type. Both false when Records is
	// not empty, or when the lookup failed.
	NXDomain, NoData bool
	// Records are the records of the asked type at the end of the CNAME
	// chain, in answer order, TTLs counted down when cached.
	Records []RR
	// CNAMEs are the owner names of the CNAME records followed, in order;
	// the first is Name when Name is an alias.
	CNAMEs []string
	// Target is the name at the end of the CNAME chain: Name when there
	// was no CNAME.
	Target string
	// TTL is how long the whole answer may be used: the smallest TTL of
	// the records and CNAMEs, or the negative TTL of a denial.
	TTL uint32
	// EDE are the Extended DNS Errors seen in the answers.
	EDE []EDE
	// Server is the server that gave the last answer.
	Server string
	// Steps are the queries that built the answer, in order.
	Steps []Step
	// Cached is true when every step came from the cache.
	Cached bool
	// Expires is when the answer leaves the resolver's cache, on the
	// resolver's clock (Now): the earliest expiry of its steps' cache
	// entries. It is zero when a step is not in the cache (the cache is
	// off, a TTL of 0, a temporary failure), so that nothing built on the
	// answer outlives what the cache would serve: an answer asked again
	// before Expires is the same answer.
	Expires time.Time
	// Err is set when Status is TempFail or Bogus.
	Err error
}

// Lookup asks for the records of type qtype at name, following CNAMEs. The
// returned Result is never nil; the returned error is Result.Err, set when
// the Status is TempFail or Bogus. NXDOMAIN and NODATA are not errors.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (*Result, error) {
	qname, err := canonicalName(name)
	res := &Result{Name: qname, Target: qname, Type: qtype, Status: TempFail, Cached: true}
	if err != nil {
		res.Name, res.Target = name, name
		res.Cached = false
		res.Err = fmt.Errorf("dns: lookup %q %s: %w", name, TypeString(qtype), err)
		return res, res.Err
	}
	r.resolve(ctx, res)
	return res, res.Err
}

// canonicalName returns name lower case and fully qualified, or
// ErrInvalidName.
func canonicalName(name string) (string, error) {
	if isCanonical(name) {
		return name, nil
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return "", ErrInvalidName
	}
	if _, ok := mdns.IsDomainName(name); !ok {
		return "", ErrInvalidName
	}
	return mdns.CanonicalName(name), nil
}

// isCanonical reports whether name is already what canonicalName makes of
// it: a fully qualified name of lower-case letters, digits, '-' and '_',
// labels of 1 to 63 bytes, at most 254 bytes in all. The common case needs
// no copy.
func isCanonical(name string) bool {
	if len(name) < 2 || len(name) > 254 || name[len(name)-1] != '.' {
		return false
	}
	label := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_':
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// resolve fills res by querying res.Name and the targets of its CNAME chain.
// Cached steps are read in place (shared with the cache, never modified):
// only the records handed to the caller are copied, their TTLs counted down.
func (r *Resolver) resolve(ctx context.Context, res *Result) {
	qtype := res.Type
	cur := res.Name
	var seenBuf [MaxCNAMEChain + 2]string
	seen := append(seenBuf[:0], cur) // names of the chain; at most MaxCNAMEChain+1
	status := Secure
	ttl := ^uint32(0)
	expires, expiresKnown := time.Time{}, true
	fail := func(st Status, err error) {
		res.Status = st
		res.Records = nil
		res.TTL = 0
		res.Err = fmt.Errorf("dns: lookup %s %s: %w", res.Name, TypeString(qtype), err)
	}
	for {
		s, elapsed, until := r.step(ctx, cur, qtype)
		down := ageOf(elapsed).down
		res.Steps = append(res.Steps, Step{Name: cur, Status: s.status, Rcode: s.rcode, Server: s.server, Cached: s.cached})
		res.Cached = res.Cached && s.cached
		res.EDE = append(res.EDE, s.ede...)
		res.Server = s.server
		res.Rcode = s.rcode
		switch {
		case until.IsZero():
			expiresKnown = false
		case expires.IsZero() || until.Before(expires):
			expires = until
		}
		if expiresKnown {
			res.Expires = expires
		} else {
			res.Expires = time.Time{}
		}
		if s.status == TempFail || s.status == Bogus {
			fail(s.status, s.err)
			return
		}
		status = weaker(status, s.status)

		// Walk the chain inside this answer (RFC 1034 §3.6.2).
		var records []RR
		followed := false
		for {
			records = s.records(cur, qtype)
			if len(records) > 0 || qtype == TypeCNAME || qtype == TypeANY {
				break
			}
			c, ok := s.cname(cur)
			if !ok {
				break
			}
			target, _ := c.Target()
			res.CNAMEs = append(res.CNAMEs, cur)
			ttl = min(ttl, down(c.TTL))
			if slices.Contains(seen, target) {
				fail(TempFail, fmt.Errorf("%s -> %s: %w", strings.Join(res.CNAMEs, " -> "), target, ErrCNAMELoop))
				return
			}
			if len(res.CNAMEs) > MaxCNAMEChain {
				fail(TempFail, fmt.Errorf("more than %d links: %w", MaxCNAMEChain, ErrCNAMEChain))
				return
			}
			seen = append(seen, target)
			cur = target
			followed = true
		}
		res.Status = status
		res.Target = cur
		switch {
		case len(records) > 0:
			for i := range records {
				records[i].TTL = down(records[i].TTL)
				ttl = min(ttl, records[i].TTL)
			}
			res.Records = records
		case followed && s.rcode == RcodeNoError:
			// The answer stops at a CNAME: ask for its target.
			continue
		default:
			res.NXDomain = s.rcode == RcodeNXDomain
			res.NoData = s.rcode == RcodeNoError
			ttl = min(ttl, down(s.negTTL))
		}
		res.TTL = ttl
		return
	}
}

// step is the outcome of one query, as cached: the whole answer section, so
// that a CNAME chain can be walked from it.
type step struct {
	rcode  int
	status Status
	answer []RR   // answer section, except RRSIG records
	negTTL uint32 // negative TTL from the authority section (RFC 2308 §5)
	ede    []EDE
	server string
	err    error // TempFail and Bogus
	cached bool
}

// records returns the answer records of type qtype (every type for ANY)
// owned by name, in a new slice.
func (s *step) records(name string, qtype uint16) []RR {
	var out []RR
	for _, rr := range s.answer {
		if rr.Name == name && (rr.Type == qtype || qtype == TypeANY) {
			out = append(out, rr)
		}
	}
	return out
}

// cname returns the CNAME record owned by name.
func (s *step) cname(name string) (RR, bool) {
	for _, rr := range s.answer {
		if rr.Name == name && rr.Type == TypeCNAME {
			if _, ok := rr.Target(); ok {
				return rr, true
			}
		}
	}
	return RR{}, false
}

// cacheTTL returns how long the step may be cached, and false when it must
// not be.
func (s *step) cacheTTL(name string, qtype uint16) (time.Duration, bool) {
	switch s.status {
	case TempFail:
		return 0, false
	case Bogus:
		return BogusCacheTTL, true
	}
	ttl := ^uint32(0)
	positive := false
	for _, rr := range s.answer {
		if rr.Type == qtype || rr.Type == TypeCNAME || qtype == TypeANY {
			ttl = min(ttl, rr.TTL)
			positive = positive || rr.Type == qtype || qtype == TypeANY
		}
	}
	limit := MaxCacheTTL
	if s.rcode == RcodeNXDomain || !positive && !s.hasCNAME() {
		ttl = min(ttl, s.negTTL)
		limit = MaxNegativeTTL
	}
	if ttl == 0 {
		return 0, false
	}
	return min(time.Duration(ttl)*time.Second, limit), true
}

func (s *step) hasCNAME() bool {
	for _, rr := range s.answer {
		if rr.Type == TypeCNAME {
			return true
		}
	}
	return false
}

// age counts TTLs down by the whole seconds of an elapsed time (a record
// cached 1.5 s ago has lost 1 s).
type age uint32

func ageOf(elapsed time.Duration) age { return age(max(0, elapsed/time.Second)) }

// down returns ttl counted down, never below 0.
func (a age) down(ttl uint32) uint32 {
	if ttl < uint32(a) {
		return 0
	}
	return ttl - uint32(a)
}

// aged returns a copy of s with its TTLs counted down by elapsed.
func (s *step) aged(elapsed time.Duration) *step {
	down := ageOf(elapsed).down
	c := *s
	c.answer = make([]RR, len(s.answer))
	for i, rr := range s.answer {
		rr.TTL = down(rr.TTL)
		c.answer[i] = rr
	}
	c.negTTL = down(s.negTTL)
	c.ede = append([]EDE(nil), s.ede...)
	c.cached = true
	return &c
}

// step answers one query from the cache or the servers. A step from the
// cache is the cache's own, shared: it must not be modified, and age is how
// long ago it was stored (its TTLs are not counted down). until is when the
// step leaves the cache, zero when it is not in it.
func (r *Resolver) step(ctx context.Context, name string, qtype uint16) (s *step, age time.Duration, until time.Time) {
	key := cacheKey{name, qtype}
	if r.cache != nil {
		now := r.now()
		if e, ok := r.cache.peek(key, now); ok {
			if r.debug != nil {
				aged := e.step.aged(now.Sub(e.stored))
				r.debugf("DNS cache hit (%s, %s, %s, %d)", debugName(name), TypeString(qtype), aged.describe(qtype), int(e.expires.Sub(now)/time.Second))
			}
			return e.step, now.Sub(e.stored), e.expires
		}
	}
	s = r.query(ctx, name, qtype)
	if r.cache != nil {
		if ttl, ok := s.cacheTTL(name, qtype); ok {
			if r.debug != nil {
				r.debugf("DNS encache (%s, %s, %s, %d)", debugName(name), TypeString(qtype), s.describe(qtype), int(ttl/time.Second))
			}
			now := r.now()
			r.cache.put(key, s, ttl, now)
			until = now.Add(ttl)
		}
	}
	return s, 0, until
}

// describe summarizes the step for debug lines: the data, or NXDOMAIN,
// NODATA, BOGUS.
func (s *step) describe(qtype uint16) string {
	if s.status == Bogus {
		return "BOGUS"
	}
	var parts []string
	for _, rr := range s.answer {
		switch {
		case rr.Type == TypeCNAME && qtype != TypeCNAME:
			parts = append(parts, fmt.Sprintf("'CNAME %s'", debugName(rr.Data)))
		case rr.Type == qtype || qtype == TypeANY:
			parts = append(parts, "'"+rr.Data+"'")
		}
	}
	switch {
	case s.rcode == RcodeNXDomain:
		parts = append(parts, "NXDOMAIN")
	case len(parts) == 0:
		parts = append(parts, "NODATA")
	}
	if s.status == Secure {
		parts = append(parts, "secure")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func debugName(name string) string {
	if name == "." {
		return name
	}
	return strings.TrimSuffix(name, ".")
}

func (r *Resolver) debugf(format string, args ...any) {
	if r.debug != nil {
		r.debug(fmt.Sprintf(format, args...))
	}
}
