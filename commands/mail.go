package commands

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/segcli/segcli/commands/deliver"
	"github.com/segcli/segcli/engine/delivery"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/store"
)

// Where the outbound mail lives in the data directory, with the lock files that
// serialise the processes sharing it (the shell and `segcli --run-queue`).
const (
	countersLock = "logs/.counters.lock"
	queueLock    = "queue/.lock"
)

// mailStack is a session's outbound mail: the mail log and the counters of its
// numbers, the spool, and the right to deliver in this process, which the shell's
// background round and a command's delivery take in turn.
type mailStack struct {
	file     *maillog.File
	log      maillog.Logger // file, and Options.Log when set
	counters *maillog.Counters
	queue    *queue.Queue
	turn     chan struct{} // holds one token while this process delivers
}

// openMail opens the mail log (level Info), the counters and the spool of the data
// directory. hostname names the gateway in bounce messages.
func openMail(o Options, hostname string) (*mailStack, error) {
	file, err := maillog.OpenFile(maillog.FileConfig{Fs: o.Fs, Path: maillog.DefaultPath, Level: maillog.Info, Now: o.Now})
	if err != nil {
		return nil, err
	}
	m := &mailStack{file: file, log: file, turn: make(chan struct{}, 1)}
	if o.Log != nil {
		m.log = maillog.Tee{file, o.Log}
	}
	// One in-memory locker per lock file when the data directory is not on disk:
	// it serialises this process only.
	counters, err := maillog.OpenCounters(maillog.CountersConfig{Fs: o.Fs, Path: maillog.DefaultCountersPath, Locker: o.locker(countersLock)})
	if err != nil {
		return nil, err
	}
	m.counters = counters
	m.queue, err = queue.Open(queue.Config{Fs: o.Fs, Now: o.Now, Log: m.log, IDs: counters, Locker: o.locker(queueLock), Hostname: hostname})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// locker returns the locker of a lock file of the data directory: a FileLocker when
// the directory is on disk (DataDir), else a MutexLocker.
func (o Options) locker(rel string) store.Locker {
	if o.DataDir == "" {
		return new(store.MutexLocker)
	}
	return store.FileLocker{Path: filepath.Join(o.DataDir, filepath.FromSlash(rel))}
}

// acquire waits for this process's turn to deliver; false when ctx ended first.
func (m *mailStack) acquire(ctx context.Context) bool {
	select {
	case m.turn <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (m *mailStack) release() { <-m.turn }

// delivery is Env.Delivery: the runner of the session's committed configuration,
// once the background round (if one runs) has finished.
func (m *mailStack) delivery(o Options, runner func(context.Context) (*delivery.Runner, error)) func(context.Context) (*delivery.Runner, func(), error) {
	return func(ctx context.Context) (*delivery.Runner, func(), error) {
		select {
		case m.turn <- struct{}{}:
		default:
			if o.Err != nil {
				fmt.Fprintln(o.Err, "Waiting for the background delivery round to finish (Ctrl-C stops waiting).")
			}
			if !m.acquire(ctx) {
				return nil, nil, fmt.Errorf("stopped waiting for the background delivery round: %w", ctx.Err())
			}
		}
		r, err := runner(ctx)
		if err != nil {
			m.release()
			return nil, nil, err
		}
		var once sync.Once
		return r, func() { once.Do(m.release) }, nil
	}
}

// newRunner returns the source of the delivery runner of sess's committed
// configuration, rebuilt when a commit changes it: the engine on the session's
// resolver, MTA-STS engine and trust pool, the EHLO name and client certificate of
// the configuration, and the destinations of its Destination Controls and SMTP
// routes (deliver.Destination).
func newRunner(o Options, sess *store.Session, m *mailStack, resolver func() (*dns.Resolver, error), pool func() (*trust.Pool, error), sts func() (*mtasts.Engine, error)) func(context.Context) (*delivery.Runner, error) {
	var (
		cached *delivery.Runner
		rev    = -1
	)
	return func(ctx context.Context) (*delivery.Runner, error) {
		r, c := sess.Committed()
		if cached != nil && r.Number == rev {
			return cached, nil
		}
		res, err := resolver()
		if err != nil {
			return nil, err
		}
		p, err := pool()
		if err != nil {
			return nil, err
		}
		e, err := sts()
		if err != nil {
			return nil, err
		}
		eng := delivery.New(delivery.Config{
			Resolver: res, MTASTS: e, Trust: p, Log: m.log, IDs: m.counters, Dial: o.Dial,
			EHLOName: c.Hostname, Now: o.Now, Certificate: clientCertificate(ctx, sess, c, m.log),
		})
		cached = delivery.NewRunner(delivery.RunnerConfig{Queue: m.queue, Engine: eng, Destination: func(d string) delivery.Destination {
			dest, err := deliver.Destination(c, d)
			if err != nil {
				m.log.Logf(maillog.Critical, "%v: mail for %s waits for TLS Required - Verify until the configuration is fixed", err, d)
				return deliver.FailClosed(d)
			}
			return dest
		}})
		rev = r.Number
		return cached, nil
	}
}

// clientCertificate loads destconfig setup's certificate, which the engine offers to
// servers that ask for one; nil (with a warning in the mail log) when it cannot.
func clientCertificate(ctx context.Context, sess *store.Session, c *store.Config, log maillog.Logger) *tls.Certificate {
	name := c.Destinations.Certificate
	if name == "" {
		return nil
	}
	i := c.CertificateIndex(name)
	if i < 0 {
		log.Logf(maillog.Warning, "The outbound TLS certificate %q of destconfig setup does not exist: no client certificate is offered", name)
		return nil
	}
	cert, err := sess.TLSCertificate(ctx, c.Certificates[i])
	if err != nil {
		log.Logf(maillog.Warning, "The outbound TLS certificate %q cannot be used: %v; no client certificate is offered", name, err)
		return nil
	}
	return &cert
}

// Background delivery pacing.
const (
	// afterRound is the pause between two rounds while mail is due, so that a
	// message nobody can claim does not make the loop spin.
	afterRound = 100 * time.Millisecond
	// idleRound is the pause after a round that claimed nothing.
	idleRound = time.Second
)

// background returns the shell's background delivery: while the shell runs, it
// delivers the messages that are due (deferred ones when their retry comes), with
// its own session of the store that it reloads before each round, so that it
// follows the commits of this and other sessions without sharing the prompt's
// session. It logs only: the screen belongs to the prompt.
func (m *mailStack) background(o Options, st *store.Store) func(ctx context.Context) {
	return func(ctx context.Context) {
		sess, err := st.NewSession(ctx)
		if err != nil {
			m.log.Logf(maillog.Warning, "Background delivery not started: %v", err)
			return
		}
		resolver, err := newResolvers(o, sess)
		if err != nil {
			m.log.Logf(maillog.Warning, "Background delivery not started: %v", err)
			return
		}
		pool := newTrust(o, sess)
		runner := newRunner(o, sess, m, resolver, pool, newMTASTS(o, sess, resolver, pool, m.log))
		for {
			wait := delivery.DefaultPoll
			next, ok, err := m.queue.NextDue(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				m.log.Logf(maillog.Warning, "Queue run failed: %v", err)
			case ok && next.After(o.Now()):
				wait = min(wait, next.Sub(o.Now()))
			case ok:
				wait = m.round(ctx, sess, runner)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// round delivers the messages that are due, in this process's turn, and returns
// the pause before the next look at the queue.
func (m *mailStack) round(ctx context.Context, sess *store.Session, runner func(context.Context) (*delivery.Runner, error)) time.Duration {
	if !m.acquire(ctx) {
		return 0
	}
	defer m.release()
	if err := sess.Clear(ctx); err != nil {
		m.log.Logf(maillog.Warning, "Queue run not started: %v", err)
		return delivery.DefaultPoll
	}
	r, err := runner(ctx)
	if err != nil {
		m.log.Logf(maillog.Warning, "Queue run not started: %v", err)
		return delivery.DefaultPoll
	}
	res, err := r.RunOnce(ctx)
	if err != nil && ctx.Err() == nil {
		m.log.Logf(maillog.Warning, "Queue run failed: %v", err)
		return delivery.DefaultPoll
	}
	if len(res) == 0 {
		return idleRound
	}
	return afterRound
}

// QueueRun is what RunQueue did.
type QueueRun struct {
	// Deliveries counts the message deliveries attempted; Queued the messages
	// left in the queue (deferred ones wait for their retry).
	Deliveries, Queued int
	// Refreshed, Kept, Removed and Skipped count the cached MTA-STS policies by
	// the outcome of their refresh.
	Refreshed, Kept, Removed, Skipped int
}

// RunQueue is `segcli --run-queue`, for cron or a service manager: it delivers the
// queued messages that are due, round after round until none is (a message
// deferred meanwhile waits for its retry, a later run), then refreshes the cached
// MTA-STS policies that are due or close to expiry. It works on the data directory
// of o as a session would (its committed configuration, resolver, trust pool and
// dialer), writes what it does to the mail log, and returns the first error.
func RunQueue(ctx context.Context, o Options) (QueueRun, error) {
	var run QueueRun
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := store.Open(ctx, o.Fs, store.Options{Locker: o.Locker, Now: o.Now, User: o.User, Hostname: o.Hostname, DemoSeed: o.DemoSeed})
	if err != nil {
		return run, err
	}
	sess, err := st.NewSession(ctx)
	if err != nil {
		return run, err
	}
	_, c := sess.Committed()
	m, err := openMail(o, c.Hostname)
	if err != nil {
		return run, err
	}
	defer m.file.Close()
	resolver, err := newResolvers(o, sess)
	if err != nil {
		return run, err
	}
	pool := newTrust(o, sess)
	sts := newMTASTS(o, sess, resolver, pool, m.log)
	r, err := newRunner(o, sess, m, resolver, pool, sts)(ctx)
	if err != nil {
		return run, fmt.Errorf("queue run: %w", err)
	}
	run.Deliveries, err = r.Drain(ctx)
	if err != nil {
		err = fmt.Errorf("queue run: %w", err)
	}
	if msgs, lerr := m.queue.List(ctx); lerr == nil {
		run.Queued = len(msgs)
	} else {
		err = errors.Join(err, lerr)
	}
	m.log.Logf(maillog.Info, "Queue run: %d message deliveries attempted; %d messages left in the queue", run.Deliveries, run.Queued)
	e, serr := sts()
	if serr != nil {
		return run, errors.Join(err, serr)
	}
	results, rerr := e.Refresh(ctx)
	for _, res := range results {
		switch res.Outcome {
		case mtasts.RefreshRefreshed:
			run.Refreshed++
		case mtasts.RefreshKept:
			run.Kept++
		case mtasts.RefreshRemoved:
			run.Removed++
		case mtasts.RefreshSkipped:
			run.Skipped++
		}
	}
	m.log.Logf(maillog.Info, "MTA-STS policy refresh: %d refreshed, %d kept, %d removed, %d not due", run.Refreshed, run.Kept, run.Removed, run.Skipped)
	if rerr != nil {
		err = errors.Join(err, fmt.Errorf("MTA-STS policy refresh: %w", rerr))
	}
	return run, err
}
