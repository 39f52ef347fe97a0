// Package queue is segcli's durable outbound spool: messages waiting for
// delivery, kept in the data directory so that neither a restart nor a crash
// loses one.
//
// # Layout
//
// Under the spool directory (DefaultDir, "queue"):
//
//	msg/<MID>.eml      the message data, written once
//	msg/<MID>.json     the envelope and the state of each recipient
//	bounce/<MID>-<RID>.eml   bounce messages (RFC 3464) for the sender
//	hosts/<domain>.json      the last delivery attempt per destination domain
//
// Every file is replaced atomically and durably (internal/atomicfile: temp
// file, fsync, rename, fsync of the directory). Enqueue writes the data, then
// the state: a message exists once its state file does, and Enqueue returns
// only then. A state file is rewritten under a lock (Locker, between
// processes that share the data directory; a mutex within one).
//
// # Claims
//
// A process that delivers first claims messages: it writes a lease (owner and
// expiry) into the state, durably, before it opens a connection, and writes
// the outcome of each recipient (Complete) as soon as the server answered.
// A crash in between leaves the lease, which expires (Config.Lease), and the
// message is delivered again by the next claim: the only messages a crash can
// duplicate are those in flight at that moment; none is lost.
//
// # Retries and bounces
//
// A recipient that was deferred is tried again after a delay that doubles
// from Config.Retry up to Config.MaxRetry (the appliance's bounce profile:
// 60 s, 3600 s); it keeps its deferral reason. A recipient still deferred
// after Config.MaxLifetime (72 hours) bounces, as does one refused
// permanently: a bounce message goes to the bounce folder (never for a bounce:
// the null sender gets none) and the mail log says so.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/atomicfile"
)

// Defaults of a Queue.
const (
	DefaultDir         = "queue"
	DefaultRetry       = 60 * time.Second
	DefaultMaxRetry    = time.Hour
	DefaultMaxLifetime = 72 * time.Hour
	DefaultLease       = 10 * time.Minute
)

// orphanAge is the age past which a data file without a state file is a
// leftover of a crashed Enqueue (another process may be writing a younger
// one).
const orphanAge = time.Hour

// Errors callers branch on.
var (
	// ErrNotFound: no queued message has that MID.
	ErrNotFound = errors.New("queue: no such message")
	// ErrNoRecipient: a message needs at least one recipient.
	ErrNoRecipient = errors.New("queue: no recipient")
	// ErrBadAddress: an address is not local@domain.
	ErrBadAddress = errors.New("queue: bad address")
)

// Locker serialises processes that share the spool; store.FileLocker is one.
type Locker interface {
	Lock(ctx context.Context) (unlock func(), err error)
}

// Config configures a Queue. Fs is required.
type Config struct {
	// Fs is the data directory; Dir the spool in it (DefaultDir).
	Fs  afero.Fs
	Dir string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives the mail log lines (default: discarded).
	Log maillog.Logger
	// IDs hands out MIDs (default: counters in memory, which skip the MIDs
	// already in the spool).
	IDs *maillog.Counters
	// Locker serialises state changes between processes (default: this
	// process only).
	Locker Locker
	// Retry is the first retry delay, doubled per attempt up to MaxRetry
	// (defaults DefaultRetry, DefaultMaxRetry).
	Retry, MaxRetry time.Duration
	// MaxLifetime is how long a message may stay queued before its
	// deferred recipients bounce (default DefaultMaxLifetime).
	MaxLifetime time.Duration
	// Lease is how long a claim holds a message (default DefaultLease): it
	// must exceed the time one delivery attempt can take.
	Lease time.Duration
	// Hostname names the gateway in bounce messages (default "localhost").
	Hostname string
}

// Queue is the spool. It is safe for concurrent use, and several processes
// may share one spool when they share a Locker.
type Queue struct {
	fs          afero.Fs
	dir         string
	now         func() time.Time
	log         maillog.Logger
	ids         *maillog.Counters
	locker      Locker
	retry       time.Duration
	maxRetry    time.Duration
	maxLifetime time.Duration
	lease       time.Duration
	hostname    string
	owner       string

	mu sync.Mutex
}

// State is the state of one recipient.
type State string

// Recipient states. Queued recipients are pending; the others are final.
const (
	Queued    State = "queued"
	Delivered State = "delivered"
	Bounced   State = "bounced"
	Deleted   State = "deleted"
)

// Recipient is one recipient of a queued message.
type Recipient struct {
	// RID is the recipient's index in the message, as the log numbers it.
	RID int `json:"rid"`
	// To is the address; Domain its domain, lower case.
	To     string `json:"to"`
	Domain string `json:"domain"`
	State  State  `json:"state"`
	// Attempts counts the delivery attempts that reached a decision for
	// this recipient.
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// Reason is why the recipient was deferred or bounced (the server's
	// reply, or the engine's reason), kept until the next attempt decides.
	Reason string `json:"reason,omitempty"`
}

// Pending reports whether the recipient still waits for delivery.
func (r Recipient) Pending() bool { return r.State == Queued }

// Lease is a claim on a message.
type Lease struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// Message is a queued message: its envelope and state (the data is in its
// own file, see Open).
type Message struct {
	MID  uint64 `json:"mid"`
	From string `json:"from"`
	// Size is the size of the data in bytes; EightBit says it holds bytes
	// above 127.
	Size       int64       `json:"size"`
	EightBit   bool        `json:"eight_bit,omitempty"`
	Received   time.Time   `json:"received"`
	Recipients []Recipient `json:"recipients"`
	Lease      *Lease      `json:"lease,omitempty"`
}

// Pending returns the recipients that still wait for delivery.
func (m Message) Pending() []Recipient {
	var out []Recipient
	for _, r := range m.Recipients {
		if r.Pending() {
			out = append(out, r)
		}
	}
	return out
}

// NextAttempt returns the earliest next attempt of a pending recipient
// (zero when none is pending).
func (m Message) NextAttempt() time.Time {
	var t time.Time
	for _, r := range m.Recipients {
		if r.Pending() && (t.IsZero() || r.NextAttempt.Before(t)) {
			t = r.NextAttempt
		}
	}
	return t
}

// Reason returns the reason of the pending recipient deferred last.
func (m Message) Reason() string {
	var best Recipient
	for _, r := range m.Recipients {
		if r.Pending() && r.Reason != "" && !r.LastAttempt.Before(best.LastAttempt) {
			best = r
		}
	}
	return best.Reason
}

// leased reports whether someone holds a lease on m at now.
func (m Message) leased(now time.Time) bool {
	return m.Lease != nil && now.Before(m.Lease.Until)
}

// Open returns the queue cfg describes, creating its folders, and removes
// what a crashed writer may have left (temporary files, data files without
// a state file).
func Open(cfg Config) (*Queue, error) {
	if cfg.Fs == nil {
		return nil, errors.New("queue: no file system")
	}
	q := &Queue{
		fs: cfg.Fs, dir: cfg.Dir, now: cfg.Now, log: cfg.Log, ids: cfg.IDs, locker: cfg.Locker,
		retry: cfg.Retry, maxRetry: cfg.MaxRetry, maxLifetime: cfg.MaxLifetime, lease: cfg.Lease,
		hostname: cfg.Hostname,
	}
	if q.dir == "" {
		q.dir = DefaultDir
	}
	if q.now == nil {
		q.now = time.Now
	}
	if q.log == nil {
		q.log = maillog.Discard{}
	}
	if q.ids == nil {
		q.ids = maillog.NewMemoryCounters()
	}
	if q.retry <= 0 {
		q.retry = DefaultRetry
	}
	if q.maxRetry <= 0 {
		q.maxRetry = DefaultMaxRetry
	}
	if q.maxLifetime <= 0 {
		q.maxLifetime = DefaultMaxLifetime
	}
	if q.lease <= 0 {
		q.lease = DefaultLease
	}
	if q.hostname == "" {
		q.hostname = "localhost"
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("queue: owner token: %w", err)
	}
	q.owner = hex.EncodeToString(rnd[:])
	for _, d := range []string{q.msgDir(), q.bounceDir(), q.hostsDir()} {
		if err := q.fs.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("queue: create %s: %w", d, err)
		}
		atomicfile.RemoveTemps(q.fs, d)
	}
	q.removeOrphans()
	return q, nil
}

func (q *Queue) msgDir() string    { return path.Join(q.dir, "msg") }
func (q *Queue) bounceDir() string { return path.Join(q.dir, "bounce") }
func (q *Queue) hostsDir() string  { return path.Join(q.dir, "hosts") }
func (q *Queue) statePath(mid uint64) string {
	return path.Join(q.msgDir(), strconv.FormatUint(mid, 10)+".json")
}
func (q *Queue) dataPath(mid uint64) string {
	return path.Join(q.msgDir(), strconv.FormatUint(mid, 10)+".eml")
}

// Owner returns the token this Queue writes into its leases.
func (q *Queue) Owner() string { return q.owner }

// removeOrphans removes data files whose state file never came.
func (q *Queue) removeOrphans() {
	infos, err := afero.ReadDir(q.fs, q.msgDir())
	if err != nil {
		return
	}
	for _, fi := range infos {
		base, ok := strings.CutSuffix(fi.Name(), ".eml")
		if !ok || time.Since(fi.ModTime()) < orphanAge {
			continue
		}
		if _, err := q.fs.Stat(path.Join(q.msgDir(), base+".json")); errors.Is(err, fs.ErrNotExist) {
			_ = q.fs.Remove(path.Join(q.msgDir(), fi.Name()))
		}
	}
}

// lock takes the process mutex and the Locker.
func (q *Queue) lock(ctx context.Context) (func(), error) {
	q.mu.Lock()
	if q.locker == nil {
		return q.mu.Unlock, nil
	}
	unlock, err := q.locker.Lock(ctx)
	if err != nil {
		q.mu.Unlock()
		return nil, fmt.Errorf("queue: %w", err)
	}
	return func() {
		unlock()
		q.mu.Unlock()
	}, nil
}

// Envelope is the sender and the recipients of a message to enqueue.
type Envelope struct {
	From string
	To   []string
}

// Enqueue puts a message in the spool and returns it once it is on disk
// (data and state written and synced). Addresses must be local@domain ("" is
// the null sender).
func (q *Queue) Enqueue(ctx context.Context, env Envelope, data []byte) (Message, error) {
	if len(env.To) == 0 {
		return Message{}, ErrNoRecipient
	}
	if env.From != "" {
		if _, err := Domain(env.From); err != nil {
			return Message{}, err
		}
	}
	now := q.now()
	m := Message{From: env.From, Size: int64(len(data)), EightBit: eightBit(data), Received: now}
	for i, to := range env.To {
		d, err := Domain(to)
		if err != nil {
			return Message{}, err
		}
		m.Recipients = append(m.Recipients, Recipient{RID: i, To: to, Domain: d, State: Queued, NextAttempt: now})
	}
	for {
		mid, err := q.ids.Next(ctx, maillog.MID)
		if err != nil {
			return Message{}, notQueued(fmt.Errorf("queue: %w", err))
		}
		if _, err := q.fs.Stat(q.statePath(mid)); err == nil {
			continue // memory counters after a restart: skip the MIDs in use
		}
		m.MID = mid
		break
	}
	if err := atomicfile.Write(q.fs, q.dataPath(m.MID), data, 0o640); err != nil {
		_ = q.fs.Remove(q.dataPath(m.MID)) // in place when only the directory sync failed
		return Message{}, notQueued(fmt.Errorf("queue: write MID %d: %w", m.MID, err))
	}
	if err := q.writeState(m); err != nil {
		// The state may be in place with only its directory entry not
		// durable: take the message back out, so that an error always
		// means "not queued".
		_ = q.fs.Remove(q.statePath(m.MID))
		_ = q.fs.Remove(q.dataPath(m.MID))
		return Message{}, notQueued(err)
	}
	q.log.Logf(maillog.Info, "Start MID %d", m.MID)
	q.log.Logf(maillog.Info, "MID %d From: <%s>", m.MID, m.From)
	for _, r := range m.Recipients {
		q.log.Logf(maillog.Info, "MID %d RID [%d] To: <%s>", m.MID, r.RID, r.To)
	}
	q.log.Logf(maillog.Info, "MID %d ready %d bytes from <%s>", m.MID, m.Size, m.From)
	maillog.Queued(m.MID).Log(q.log)
	return m, nil
}

// Errors of a data directory that cannot be written: Enqueue queued nothing.
var (
	// ErrNoSpace: the data directory's disk (or quota) is full.
	ErrNoSpace = errors.New("queue: the message was not queued: no space left on the data directory's disk; free some space, then send it again")
	// ErrReadOnly: the data directory cannot be written.
	ErrReadOnly = errors.New("queue: the message was not queued: the data directory cannot be written (is its file system mounted read-only?); make it writable, then send it again")
)

// notQueued words an Enqueue failure that the operator must fix on the machine
// (full disk, read-only data directory); other errors are returned as they are.
func notQueued(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w (%w)", ErrNoSpace, err)
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w (%w)", ErrReadOnly, err)
	}
	return err
}

// Domain returns the domain of local@domain, lower case without a trailing
// dot.
func Domain(addr string) (string, error) {
	i := strings.LastIndexByte(addr, '@')
	if i <= 0 || i == len(addr)-1 || strings.ContainsAny(addr, " \t\r\n<>") {
		return "", fmt.Errorf("%w: %q", ErrBadAddress, addr)
	}
	d := strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".")
	if d == "" || strings.Contains(d, "..") || strings.HasPrefix(d, ".") {
		return "", fmt.Errorf("%w: %q", ErrBadAddress, addr)
	}
	return d, nil
}

// eightBit reports whether data holds a byte above 127.
func eightBit(data []byte) bool {
	for _, b := range data {
		if b > 127 {
			return true
		}
	}
	return false
}

// writeState replaces the state file of m.
func (q *Queue) writeState(m Message) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("queue: MID %d: %w", m.MID, err)
	}
	if err := atomicfile.Write(q.fs, q.statePath(m.MID), append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("queue: write MID %d: %w", m.MID, err)
	}
	return nil
}

// read reads the state of mid.
func (q *Queue) read(mid uint64) (Message, error) {
	data, err := afero.ReadFile(q.fs, q.statePath(mid))
	if errors.Is(err, fs.ErrNotExist) {
		return Message{}, fmt.Errorf("%w: MID %d", ErrNotFound, mid)
	}
	if err != nil {
		return Message{}, fmt.Errorf("queue: read MID %d: %w", mid, err)
	}
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("queue: MID %d: damaged state file %s: %w", mid, q.statePath(mid), err)
	}
	return m, nil
}

// remove takes a finished message out of the spool: the state first (the
// message is gone), then the data.
func (q *Queue) remove(mid uint64) error {
	if err := q.fs.Remove(q.statePath(mid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("queue: remove MID %d: %w", mid, err)
	}
	if err := atomicfile.SyncDir(q.fs, q.msgDir()); err != nil {
		return fmt.Errorf("queue: remove MID %d: %w", mid, err)
	}
	_ = q.fs.Remove(q.dataPath(mid))
	return nil
}

// mids returns the MIDs in the spool, in order.
func (q *Queue) mids() ([]uint64, error) {
	infos, err := afero.ReadDir(q.fs, q.msgDir())
	if err != nil {
		return nil, fmt.Errorf("queue: list: %w", err)
	}
	var out []uint64
	for _, fi := range infos {
		base, ok := strings.CutSuffix(fi.Name(), ".json")
		if !ok || strings.HasPrefix(base, ".") {
			continue
		}
		if mid, err := strconv.ParseUint(base, 10, 64); err == nil {
			out = append(out, mid)
		}
	}
	slices.Sort(out)
	return out, nil
}

// List returns the queued messages by MID (showqueue). A message removed
// while List reads is left out.
func (q *Queue) List(ctx context.Context) ([]Message, error) {
	mids, err := q.mids()
	if err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(mids))
	for _, mid := range mids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := q.read(mid)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Get returns the queued message mid.
func (q *Queue) Get(ctx context.Context, mid uint64) (Message, error) { return q.read(mid) }

// Open returns the data of the queued message mid.
func (q *Queue) Open(mid uint64) (io.ReadCloser, error) {
	f, err := q.fs.Open(q.dataPath(mid))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: MID %d", ErrNotFound, mid)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: open MID %d: %w", mid, err)
	}
	return f, nil
}

// modify runs fn on the state of mid under the lock and writes the result;
// fn returns remove to take the message out of the spool instead.
func (q *Queue) modify(ctx context.Context, mid uint64, fn func(m *Message) (remove bool, err error)) (Message, error) {
	unlock, err := q.lock(ctx)
	if err != nil {
		return Message{}, err
	}
	defer unlock()
	m, err := q.read(mid)
	if err != nil {
		return Message{}, err
	}
	remove, err := fn(&m)
	if err != nil {
		return m, err
	}
	if remove {
		return m, q.remove(mid)
	}
	return m, q.writeState(m)
}
