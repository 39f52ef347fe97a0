// Package delivery delivers mail for one destination domain under the
// configured policy, and runs the queue.
//
// For a domain, Plan finds where mail goes and what each host's TLS must
// achieve, in DESIGN.md's order: an SMTP route (the route's hosts, the TLS
// setting only, no DANE and no MTA-STS); else the MX RRset (a null MX bounces,
// no MX means the domain itself, a failed lookup defers), with DANE's
// findings (engine/dane) when DANE is Opportunistic or Mandatory and the
// MTA-STS policy (engine/mtasts) when it is On and DANE did not decide; then
// tlspolicy.Decide for each host. Hosts are tried in MX preference order, the
// addresses of each in the destination's IP sort preference.
//
// Deliver then connects (through an injectable Dial), starts TLS as the
// requirement says (TLSConfig builds the configuration), and sends the
// messages, several per connection up to the destination's limit:
//
//   - Preferred: clear text when STARTTLS is not offered or refused, and over
//     a new connection without STARTTLS when the handshake fails.
//   - Preferred - Verify: TLS without verification when the certificate
//     does not verify, clear text when TLS cannot be set up.
//   - Required, Required - Verify, Required - Verify Hosted Domains, an
//     enforced MTA-STS policy: no delivery to that host; the next one is
//     tried, and the message is deferred when none is left.
//   - DANE: a host that does not authenticate by its TLSA records is skipped,
//     never retried without DANE.
//   - MTA-STS testing: delivery by the TLS setting; what an enforced policy
//     would have refused is logged.
//
// A recipient refused with 4xx is deferred and one refused with 5xx bounced,
// each on its own; a failure that leaves the outcome unknown (connection
// lost, TLS refused) moves the message to the next address or host. Every step
// is written to the mail log in the appliance's wording. The Result of each
// message is the `deliver --json` object of DESIGN.md.
//
// Runner ties Deliver to engine/queue: it claims due messages, delivers them
// by domain, and records each recipient's outcome as soon as the server
// answered, so that a crash duplicates at most the messages in flight.
package delivery

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/tlspolicy"
	"github.com/segcli/segcli/engine/trust"
)

// Defaults.
const (
	// DefaultPort is the SMTP port of MX hosts and of route hosts without
	// one.
	DefaultPort = 25
	// DefaultMessagesPerConnection is the number of messages sent over one
	// connection when the destination sets no limit.
	DefaultMessagesPerConnection = 50
	// DefaultConcurrency is the number of connections opened in parallel to
	// one destination when it sets no limit.
	DefaultConcurrency = 5
	// DefaultTimeout bounds the connect, each command, each data write and
	// the handshake.
	DefaultTimeout = 60 * time.Second
)

// Resolver answers DNS queries with their DNSSEC status; *dns.Resolver is
// one.
type Resolver interface {
	Lookup(ctx context.Context, name string, qtype uint16) (*dns.Result, error)
}

// Config configures an Engine.
type Config struct {
	// Resolver resolves MX hosts, addresses and TLSA records (required for
	// destinations that are not routed to IP addresses). It must be the
	// session's resolver, never the machine's.
	Resolver Resolver
	// MTASTS applies MTA-STS policies; nil makes MTA-STS On act as Off
	// (with a warning in the log).
	MTASTS *mtasts.Engine
	// Trust is the trust pool of PKIX verification (Verify TLS modes,
	// MTA-STS); nil trusts nothing.
	Trust *trust.Pool
	// Log is the mail log (default: discarded).
	Log maillog.Logger
	// IDs hands out DCIDs (default: counters in memory).
	IDs *maillog.Counters
	// Dial opens TCP connections: addr is "ip:port", host the name it was
	// resolved for (default a net.Dialer). Tests send port 25 to local
	// listeners.
	Dial func(ctx context.Context, network, addr, host string) (net.Conn, error)
	// EHLOName is the name sent with EHLO (default "localhost").
	EHLOName string
	// Timeout bounds each step (default DefaultTimeout); DataTimeout the
	// wait for the reply to the end of the data (default
	// smtp.DefaultDataTimeout).
	Timeout, DataTimeout time.Duration
	// Now is the clock of certificate checks (default time.Now).
	Now func() time.Time
	// Certificate is offered to servers that ask for a client certificate
	// (destconfig setup's certificate).
	Certificate *tls.Certificate
	// Port is the SMTP port of MX hosts (default DefaultPort).
	Port int
}

// Engine delivers messages. It is safe for concurrent use.
type Engine struct {
	resolver    Resolver
	sts         *mtasts.Engine
	pool        *trust.Pool
	log         maillog.Logger
	ids         *maillog.Counters
	dial        func(ctx context.Context, network, addr, host string) (net.Conn, error)
	ehlo        string
	timeout     time.Duration
	dataTimeout time.Duration
	now         func() time.Time
	cert        *tls.Certificate
	port        int
}

// New returns an Engine for cfg.
func New(cfg Config) *Engine {
	e := &Engine{
		resolver: cfg.Resolver, sts: cfg.MTASTS, pool: cfg.Trust, log: cfg.Log, ids: cfg.IDs, dial: cfg.Dial,
		ehlo: cfg.EHLOName, timeout: cfg.Timeout, dataTimeout: cfg.DataTimeout, now: cfg.Now, cert: cfg.Certificate, port: cfg.Port,
	}
	if e.pool == nil {
		e.pool, _ = trust.New(trust.Options{})
	}
	if e.log == nil {
		e.log = maillog.Discard{}
	}
	if e.ids == nil {
		e.ids = maillog.NewMemoryCounters()
	}
	if e.dial == nil {
		e.dial = func(ctx context.Context, network, addr, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	if e.ehlo == "" {
		e.ehlo = "localhost"
	}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.port == 0 {
		e.port = DefaultPort
	}
	return e
}

// IPSort is the destination's IP sort preference.
type IPSort int

// IP sort preferences, as destconfig offers them.
const (
	PreferV4 IPSort = iota
	RequireV4
	PreferV6
	RequireV6
)

// ParseIPSort reads the destconfig value: PREFER_V4 (also ""), REQUIRE_V4,
// PREFER_V6, REQUIRE_V6.
func ParseIPSort(s string) (IPSort, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "PREFER_V4":
		return PreferV4, nil
	case "REQUIRE_V4":
		return RequireV4, nil
	case "PREFER_V6":
		return PreferV6, nil
	case "REQUIRE_V6":
		return RequireV6, nil
	}
	return 0, fmt.Errorf("delivery: unknown IP sort preference %q", s)
}

// sort orders addrs by the preference and drops the family it excludes.
func (p IPSort) sort(addrs []netip.Addr) []netip.Addr {
	var v4, v6 []netip.Addr
	for _, a := range addrs {
		if a.Unmap().Is4() {
			v4 = append(v4, a.Unmap())
		} else {
			v6 = append(v6, a)
		}
	}
	switch p {
	case RequireV4:
		return v4
	case RequireV6:
		return v6
	case PreferV6:
		return append(v6, v4...)
	}
	return append(v4, v6...)
}

// Host is a host of an SMTP route.
type Host struct {
	// Name is a host name or an IP address.
	Name string
	// Port is its port (0: DefaultPort).
	Port int
}

// Destination is what the configuration says about one destination domain,
// as plain values (the caller reads them from the store).
type Destination struct {
	// Domain is the destination domain.
	Domain string
	// Controls are the domain's TLS, DANE and MTA-STS settings.
	Controls tlspolicy.Controls
	// Routes are the hosts of the domain's SMTP route, in priority order;
	// any route makes the domain routed (DANE and MTA-STS not applied).
	Routes []Host
	// IPSort orders each host's addresses.
	IPSort IPSort
	// MessagesPerConnection bounds the messages sent over one connection
	// (default DefaultMessagesPerConnection); Concurrency the connections
	// opened in parallel (default DefaultConcurrency).
	MessagesPerConnection int
	Concurrency           int
}

// Recipient is a recipient of a message to deliver.
type Recipient struct {
	// RID is its index in the message.
	RID int
	To  string
}

// Message is a message to deliver to one destination.
type Message struct {
	MID  uint64
	From string
	// Recipients are those at the destination.
	Recipients []Recipient
	// Size is the data's size; EightBit says it holds bytes above 127.
	Size     int64
	EightBit bool
	// Open returns the data; it is called for each attempt.
	Open func() (io.ReadCloser, error)
}

// Bytes returns an Open function that serves data.
func Bytes(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

// Statuses of a message and of a recipient.
const (
	StatusDelivered = "delivered"
	StatusDeferred  = "deferred"
	StatusBounced   = "bounced"
)

// Security values (DESIGN.md, `deliver --json`).
const (
	SecurityDANE      = "dane"
	SecurityMTASTS    = "mta-sts"
	SecurityTLSVerify = "tls-verify"
	SecurityTLS       = "tls"
	SecurityNone      = "none"
)

// Attempt is one connection (or one host skipped) on the way of a message.
type Attempt struct {
	MX         string `json:"mx"`
	Address    string `json:"address"`
	DCID       uint64 `json:"dcid"`
	Security   string `json:"security"`
	TLSVersion string `json:"tls_version"`
	Error      string `json:"error"`
}

// RecipientResult is the outcome for one recipient.
type RecipientResult struct {
	RID    int    `json:"rid"`
	To     string `json:"to"`
	Status string `json:"status"`
	// Reply is the server's reply that decided, or the engine's reason.
	Reply string `json:"reply"`
}

// Result is the outcome of a message's delivery: the `deliver --json`
// object. Status is "delivered" (every recipient accepted), "deferred" (some
// recipient stays queued) or "bounced" (none deferred, some refused for
// good). Security is what the connection that carried the message achieved
// (for a deferred message, the last attempt's).
type Result struct {
	MID        uint64            `json:"mid"`
	Status     string            `json:"status"`
	Security   string            `json:"security"`
	Attempts   []Attempt         `json:"attempts"`
	Reason     string            `json:"reason"`
	Recipients []RecipientResult `json:"recipients"`
}

// Merge combines the results of one message at several destinations: the
// status is the least final (deferred, then bounced, then delivered), the
// security the weakest of the deliveries, the attempts and recipients
// concatenated.
func Merge(rs ...Result) Result {
	out := Result{Attempts: []Attempt{}, Recipients: []RecipientResult{}, Security: SecurityNone}
	rank := map[string]int{StatusDelivered: 0, StatusBounced: 1, StatusDeferred: 2}
	sec := map[string]int{SecurityNone: 0, SecurityTLS: 1, SecurityTLSVerify: 2, SecurityMTASTS: 3, SecurityDANE: 4}
	var reasons []string
	first := true
	for _, r := range rs {
		out.MID = r.MID
		if first || rank[r.Status] > rank[out.Status] {
			out.Status = r.Status
		}
		if first || sec[r.Security] < sec[out.Security] {
			out.Security = r.Security
		}
		first = false
		out.Attempts = append(out.Attempts, r.Attempts...)
		out.Recipients = append(out.Recipients, r.Recipients...)
		if r.Reason != "" {
			reasons = append(reasons, r.Reason)
		}
	}
	out.Reason = strings.Join(reasons, "; ")
	return out
}

// msgState is a message on its way.
type msgState struct {
	msg      Message
	res      Result
	pending  []Recipient // recipients whose outcome is not known yet
	security string      // of the connection that delivered last
	finished bool
}

func newState(m Message) *msgState {
	return &msgState{
		msg:     m,
		res:     Result{MID: m.MID, Attempts: []Attempt{}, Recipients: []RecipientResult{}, Security: SecurityNone},
		pending: append([]Recipient(nil), m.Recipients...),
	}
}

// settle records the outcome of recipient r.
func (s *msgState) settle(r Recipient, status, reply string) {
	s.res.Recipients = append(s.res.Recipients, RecipientResult{RID: r.RID, To: r.To, Status: status, Reply: reply})
	for i, p := range s.pending {
		if p.RID == r.RID {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			break
		}
	}
}

// finish computes the message's status once no recipient is pending.
func (s *msgState) finish() Result {
	s.finished = true
	st, reason := StatusDelivered, ""
	for _, r := range s.res.Recipients {
		switch {
		case r.Status == StatusDeferred:
			if st != StatusDeferred {
				reason = r.Reply
			}
			st = StatusDeferred
		case r.Status == StatusBounced && st == StatusDelivered:
			st, reason = StatusBounced, r.Reply
		}
	}
	s.res.Status, s.res.Reason = st, reason
	switch {
	case s.security != "":
		s.res.Security = s.security
	case len(s.res.Attempts) > 0:
		s.res.Security = s.res.Attempts[len(s.res.Attempts)-1].Security
	}
	// Results are sorted by RID for stable output.
	sortRecipients(s.res.Recipients)
	return s.res
}

func sortRecipients(rs []RecipientResult) {
	slices.SortStableFunc(rs, func(a, b RecipientResult) int { return cmp.Compare(a.RID, b.RID) })
}

// Deliver delivers msgs to dest and returns their results in msgs' order.
// done, when set, receives each result as soon as it is known (one call at a
// time), so that the caller can record it before the next message goes.
func (e *Engine) Deliver(ctx context.Context, dest Destination, msgs []Message, done func(Result)) []Result {
	states := make([]*msgState, len(msgs))
	for i, m := range msgs {
		states[i] = newState(m)
	}
	var mu sync.Mutex // serialises done and the states' results
	finish := func(s *msgState) {
		mu.Lock()
		defer mu.Unlock()
		if s.finished {
			return
		}
		r := s.finish()
		if done != nil {
			done(r)
		}
	}
	plan := e.Plan(ctx, dest)
	switch {
	case plan.Bounce != "":
		for _, s := range states {
			for _, r := range s.msg.Recipients {
				maillog.Bounced(0, s.msg.MID, r.RID, plan.Bounce).Log(e.log)
				s.settle(r, StatusBounced, plan.Bounce)
			}
			finish(s)
		}
	case plan.Defer != "":
		for _, s := range states {
			for _, r := range s.msg.Recipients {
				maillog.Delayed(0, s.msg.MID, r.RID, plan.Defer).Log(e.log)
				s.settle(r, StatusDeferred, plan.Defer)
			}
			finish(s)
		}
	default:
		per := dest.MessagesPerConnection
		if per <= 0 {
			per = DefaultMessagesPerConnection
		}
		workers := dest.Concurrency
		if workers <= 0 {
			workers = DefaultConcurrency
		}
		// Each worker takes a share of the messages and walks the hosts
		// with it; a share is at least one connection's worth.
		n := min(workers, (len(states)+per-1)/per)
		var wg sync.WaitGroup
		for w := range n {
			var share []*msgState
			for i := w; i < len(states); i += n {
				share = append(share, states[i])
			}
			wg.Go(func() { e.walk(ctx, dest, plan, share, per, finish, &mu) })
		}
		wg.Wait()
	}
	out := make([]Result, len(states))
	for i, s := range states {
		finish(s) // a no-op unless the walk left it pending
		out[i] = s.res
	}
	return out
}

// walk tries the plan's hosts and addresses in order for share, until every
// message is settled; what is left is deferred with the last error.
func (e *Engine) walk(ctx context.Context, dest Destination, plan *Plan, share []*msgState, per int, finish func(*msgState), mu *sync.Mutex) {
	pending := func() []*msgState {
		var out []*msgState
		for _, s := range share {
			mu.Lock()
			p := !s.finished && len(s.pending) > 0
			mu.Unlock()
			if p {
				out = append(out, s)
			}
		}
		return out
	}
	last := "no usable mail host"
	for _, h := range plan.Hosts {
		if len(pending()) == 0 {
			break
		}
		if h.Req.Action == tlspolicy.Skip || h.Err != "" {
			why := h.Err
			if why == "" {
				why = "skipped: " + h.Req.Why
			}
			for _, s := range pending() {
				mu.Lock()
				s.res.Attempts = append(s.res.Attempts, Attempt{MX: h.Name, Security: SecurityNone, Error: why})
				mu.Unlock()
			}
			last = why
			continue
		}
		for _, a := range h.Addrs {
			if ctx.Err() != nil {
				break
			}
			if err := e.viaAddress(ctx, dest, h, a, pending, per, finish, mu); err != "" {
				last = err
			}
			if len(pending()) == 0 {
				break
			}
		}
	}
	if err := ctx.Err(); err != nil {
		last = "delivery interrupted: " + err.Error()
	}
	for _, s := range pending() {
		mu.Lock()
		for _, r := range append([]Recipient(nil), s.pending...) {
			maillog.Delayed(0, s.msg.MID, r.RID, last).Log(e.log)
			s.settle(r, StatusDeferred, last)
		}
		mu.Unlock()
		finish(s)
	}
}

// errString returns the error's text, "" for nil.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// isContext reports whether err comes from a cancelled or expired context.
func isContext(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
