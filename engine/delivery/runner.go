package delivery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/queue"
)

// Runner defaults.
const (
	// DefaultBatch is the number of messages a round claims.
	DefaultBatch = 100
	// DefaultDomains is the number of destination domains delivered to in
	// parallel.
	DefaultDomains = 10
	// DefaultPoll is the longest Run sleeps between rounds.
	DefaultPoll = 30 * time.Second
)

// ErrBusy: the message is being delivered by another process.
var ErrBusy = errors.New("delivery: the message is being delivered by another process; try again later")

// ErrNothingPending: the message has no recipient left to deliver.
var ErrNothingPending = errors.New("delivery: the message has no recipient left to deliver")

// RunnerConfig configures a Runner. Queue and Engine are required.
type RunnerConfig struct {
	Queue  *queue.Queue
	Engine *Engine
	// Destination returns the settings of a destination domain (the
	// destconfig entry that applies, the SMTP route); nil gives every
	// domain the defaults (TLS Preferred, no DANE, no MTA-STS).
	Destination func(domain string) Destination
	// Batch is the number of messages a round claims (default
	// DefaultBatch); Domains the destinations delivered to in parallel
	// (default DefaultDomains); Poll the longest Run sleeps (default
	// DefaultPoll).
	Batch, Domains int
	Poll           time.Duration
	// Log receives the runner's own lines (default: the engine's).
	Log maillog.Logger
}

// Runner delivers queued messages: it claims due messages, delivers each
// domain's share with Engine.Deliver, and records every outcome in the queue
// as soon as it is known.
type Runner struct {
	cfg RunnerConfig
	log maillog.Logger
}

// NewRunner returns a Runner for cfg.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Domains <= 0 {
		cfg.Domains = DefaultDomains
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	r := &Runner{cfg: cfg, log: cfg.Log}
	if r.log == nil {
		r.log = cfg.Engine.log
	}
	return r
}

// RunOnce claims up to Batch due messages, delivers them and returns their
// results by MID.
func (r *Runner) RunOnce(ctx context.Context) ([]Result, error) {
	claims, err := r.cfg.Queue.Claim(ctx, queue.Selector{Max: r.cfg.Batch})
	if len(claims) == 0 {
		return nil, err
	}
	res := r.deliver(ctx, claims)
	return res, err
}

// DeliverMID delivers the queued message mid now, whatever its schedule
// (deliver), and returns its result. ErrBusy when another process holds it,
// ErrNothingPending when it has nothing left to deliver.
func (r *Runner) DeliverMID(ctx context.Context, mid uint64) (Result, error) {
	claims, err := r.cfg.Queue.Claim(ctx, queue.Selector{MID: mid, IgnoreSchedule: true})
	if err != nil {
		return Result{}, err
	}
	if len(claims) == 0 {
		m, err := r.cfg.Queue.Get(ctx, mid)
		switch {
		case err != nil:
			return Result{}, err
		case len(m.Pending()) == 0:
			return Result{}, ErrNothingPending
		}
		return Result{}, ErrBusy
	}
	res := r.deliver(ctx, claims)
	return res[0], nil
}

// Drain runs rounds until no message is due, and returns the number of
// message deliveries attempted (`segcli --run-queue`). Messages deferred
// during the run wait for their next attempt, a later Drain.
func (r *Runner) Drain(ctx context.Context) (int, error) {
	n := 0
	seen := map[uint64]bool{}
	for {
		res, err := r.RunOnce(ctx)
		n += len(res)
		if err != nil {
			return n, err
		}
		fresh := false
		for _, x := range res {
			if !seen[x.MID] {
				fresh = true
				seen[x.MID] = true
			}
		}
		if len(res) == 0 || !fresh {
			return n, nil
		}
	}
}

// Run delivers until ctx ends: a round, then a sleep until the next message
// is due (at most Poll). This is the shell's background delivery.
func (r *Runner) Run(ctx context.Context) error {
	for {
		if _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.log.Logf(maillog.Warning, "Queue run failed: %v", err)
		}
		wait := r.cfg.Poll
		if next, ok, err := r.cfg.Queue.NextDue(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 100*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// item is one claim's share for one domain.
type item struct {
	claim *queue.Claim
	rcpts []Recipient
}

// deliver delivers the due recipients of claims, domain by domain, records
// the outcomes and returns one result per claim, by MID.
func (r *Runner) deliver(ctx context.Context, claims []*queue.Claim) []Result {
	q := r.cfg.Queue
	byDomain := map[string][]item{}
	var domains []string
	left := map[uint64]int{} // domains still in progress, per MID
	for _, c := range claims {
		seen := map[string]bool{}
		for _, rc := range c.Due {
			if !seen[rc.Domain] {
				seen[rc.Domain] = true
				left[c.MID]++
				if _, ok := byDomain[rc.Domain]; !ok {
					domains = append(domains, rc.Domain)
				}
				byDomain[rc.Domain] = append(byDomain[rc.Domain], item{claim: c})
			}
			its := byDomain[rc.Domain]
			its[len(its)-1].rcpts = append(its[len(its)-1].rcpts, Recipient{RID: rc.RID, To: rc.To})
		}
	}
	slices.Sort(domains)

	// Records are written even when ctx ends: what the servers answered is
	// a fact.
	rctx := context.WithoutCancel(ctx)
	var mu sync.Mutex
	results := map[uint64][]Result{}
	record := func(c *queue.Claim, res Result) {
		var outs []queue.Outcome
		for _, rr := range res.Recipients {
			o := queue.Outcome{RID: rr.RID, Reason: rr.Reply}
			switch rr.Status {
			case StatusDelivered:
				o.State = queue.Delivered
			case StatusBounced:
				o.State = queue.Bounced
			default:
				if ctx.Err() != nil {
					continue // interrupted: not an attempt
				}
				o.State = queue.Queued
			}
			outs = append(outs, o)
		}
		mu.Lock()
		left[c.MID]--
		last := left[c.MID] == 0
		results[c.MID] = append(results[c.MID], res)
		mu.Unlock()
		var err error
		if last {
			_, err = q.Complete(rctx, c, outs)
		} else {
			_, err = q.Record(rctx, c, outs)
		}
		if err != nil && !errors.Is(err, queue.ErrNotFound) {
			r.log.Logf(maillog.Critical, "MID %d: the delivery outcome could not be recorded in the queue: %v", c.MID, err)
		}
	}

	sem := make(chan struct{}, r.cfg.Domains)
	var wg sync.WaitGroup
	for _, d := range domains {
		items := byDomain[d]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.deliverDomain(ctx, d, items, record)
		})
	}
	wg.Wait()

	out := make([]Result, 0, len(claims))
	for _, c := range claims {
		if rs := results[c.MID]; len(rs) > 0 {
			out = append(out, Merge(rs...))
		} else {
			_ = q.Release(rctx, c)
			out = append(out, Result{MID: c.MID, Status: StatusDeferred, Security: SecurityNone, Attempts: []Attempt{}, Recipients: []RecipientResult{}, Reason: "not attempted"})
		}
	}
	return out
}

// deliverDomain delivers items to domain d and records the host status.
func (r *Runner) deliverDomain(ctx context.Context, d string, items []item, record func(*queue.Claim, Result)) {
	dest := Destination{Domain: d}
	if r.cfg.Destination != nil {
		dest = r.cfg.Destination(d)
		dest.Domain = d
	}
	msgs := make([]Message, len(items))
	claimOf := map[uint64]*queue.Claim{}
	for i, it := range items {
		c := it.claim
		claimOf[c.MID] = c
		mid := c.MID
		msgs[i] = Message{
			MID: mid, From: c.From, Recipients: it.rcpts, Size: c.Size, EightBit: c.EightBit,
			Open: func() (io.ReadCloser, error) { return r.cfg.Queue.Open(mid) },
		}
	}
	results := r.cfg.Engine.Deliver(ctx, dest, msgs, func(res Result) {
		record(claimOf[res.MID], res)
	})
	if ctx.Err() != nil {
		return
	}
	if err := r.cfg.Queue.SetHostStatus(context.WithoutCancel(ctx), hostStatus(d, results, r.cfg.Engine.now())); err != nil {
		r.log.Logf(maillog.Warning, "Host status of %s not recorded: %v", d, err)
	}
}

// hostStatus summarises a domain's results: deferred when a recipient waits,
// else delivered when one was delivered, else bounced; the host of the last
// connection, and when mail was last delivered.
func hostStatus(d string, results []Result, now time.Time) queue.HostStatus {
	h := queue.HostStatus{Domain: d, LastAttempt: now}
	var deferred, delivered, bounced string
	for _, res := range results {
		for _, rr := range res.Recipients {
			switch rr.Status {
			case StatusDeferred:
				deferred = cmp.Or(deferred, rr.Reply)
			case StatusDelivered:
				delivered = cmp.Or(delivered, rr.Reply)
			case StatusBounced:
				bounced = cmp.Or(bounced, rr.Reply)
			}
		}
		for _, a := range res.Attempts {
			if a.DCID != 0 {
				h.MX, h.Address, h.Security, h.TLSVersion = a.MX, a.Address, a.Security, a.TLSVersion
			}
		}
	}
	if delivered != "" {
		h.LastDelivered = now
	}
	switch {
	case deferred != "":
		h.Status, h.Reason = StatusDeferred, deferred
	case delivered != "":
		h.Status = StatusDelivered
	default:
		h.Status, h.Reason = StatusBounced, bounced
	}
	return h
}

// String renders a result on one line for logs and errors.
func (res Result) String() string {
	return fmt.Sprintf("MID %d %s (%s) %s", res.MID, res.Status, res.Security, res.Reason)
}
