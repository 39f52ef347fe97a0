package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/faultfs"
)

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 29, 13, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mutexLocker plays the inter-process lock for queues in one test.
type mutexLocker struct{ mu sync.Mutex }

func (l *mutexLocker) Lock(context.Context) (func(), error) {
	l.mu.Lock()
	return l.mu.Unlock, nil
}

// env is a spool on an in-memory file system with a fake clock and a log.
type env struct {
	fs    afero.Fs
	clock *clock
	log   *maillog.Memory
	ids   *maillog.Counters
	lock  *mutexLocker
}

func newEnv() *env {
	return &env{fs: afero.NewMemMapFs(), clock: newClock(), log: &maillog.Memory{Level: maillog.Debug}, ids: maillog.NewMemoryCounters(), lock: &mutexLocker{}}
}

// open opens a Queue on the env (another call plays another process).
func (e *env) open(t *testing.T) *Queue {
	t.Helper()
	q, err := Open(Config{Fs: e.fs, Now: e.clock.Now, Log: e.log, IDs: e.ids, Locker: e.lock, Hostname: "esa.test"})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

const testData = "From: a@esa.test\r\nSubject: hi\r\nMessage-ID: <1@esa.test>\r\n\r\nbody\r\n"

func enqueue(t *testing.T, q *Queue, from string, to ...string) Message {
	t.Helper()
	m, err := q.Enqueue(context.Background(), Envelope{From: from, To: to}, []byte(testData))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnqueue(t *testing.T) {
	e := newEnv()
	q := e.open(t)
	m := enqueue(t, q, "a@esa.test", "x@Example.COM", "y@other.test")
	if m.MID != 1 || len(m.Recipients) != 2 || m.Recipients[0].Domain != "example.com" || m.Size != int64(len(testData)) {
		t.Errorf("Enqueue = %+v", m)
	}
	msgs, err := q.List(context.Background())
	if err != nil || len(msgs) != 1 || !cmp.Equal(msgs[0], m) {
		t.Errorf("List = %+v, %v; want the message", msgs, err)
	}
	f, err := q.Open(1)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	f.Close()
	if string(data) != testData {
		t.Errorf("data = %q", data)
	}
	want := []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <a@esa.test>",
		"Info: MID 1 RID [0] To: <x@Example.COM>",
		"Info: MID 1 RID [1] To: <y@other.test>",
		"Info: MID 1 ready 65 bytes from <a@esa.test>",
		"Info: MID 1 queued for delivery",
	}
	if diff := cmp.Diff(want, e.log.Lines()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if m2 := enqueue(t, q, "", "z@example.com"); m2.MID != 2 || m2.EightBit {
		t.Errorf("second MID %d, 8bit %v", m2.MID, m2.EightBit)
	}
}

func TestEnqueueBadInput(t *testing.T) {
	tests := []struct {
		name string
		env  Envelope
		want error
	}{
		{"no recipient", Envelope{From: "a@esa.test"}, ErrNoRecipient},
		{"recipient without domain", Envelope{From: "a@esa.test", To: []string{"x"}}, ErrBadAddress},
		{"recipient with empty local part", Envelope{To: []string{"@example.com"}}, ErrBadAddress},
		{"recipient with a line break", Envelope{To: []string{"x@example.com\r\nRCPT TO:<y@example.com>"}}, ErrBadAddress},
		{"bad sender", Envelope{From: "a@", To: []string{"x@example.com"}}, ErrBadAddress},
		{"empty domain label", Envelope{To: []string{"x@example..com"}}, ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv()
			q := e.open(t)
			if _, err := q.Enqueue(context.Background(), tt.env, []byte("x")); !errors.Is(err, tt.want) {
				t.Errorf("Enqueue(%+v) = %v, want %v", tt.env, err, tt.want)
			}
			if msgs, _ := q.List(context.Background()); len(msgs) != 0 {
				t.Errorf("queued %d messages after bad input", len(msgs))
			}
			if n := countFiles(t, e.fs, "queue/msg"); n != 0 {
				t.Errorf("%d files in queue/msg after bad input", n)
			}
		})
	}
}

func countFiles(t *testing.T, fs afero.Fs, dir string) int {
	t.Helper()
	infos, err := afero.ReadDir(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(infos)
}

// TestEnqueueFaults fails each write, sync, rename and directory sync of an
// Enqueue in turn: an error always means nothing is queued, success means the
// message is there, and a reopened spool holds no leftover.
func TestEnqueueFaults(t *testing.T) {
	for failAt := 1; ; failAt++ {
		e := newEnv()
		ffs := faultfs.New(e.fs)
		q, err := Open(Config{Fs: ffs, Now: e.clock.Now, IDs: e.ids})
		if err != nil {
			t.Fatal(err)
		}
		ffs.FailAt(failAt)
		_, err = q.Enqueue(context.Background(), Envelope{From: "a@esa.test", To: []string{"x@example.com"}}, []byte(testData))
		failed := ffs.Failed()
		ffs.Clear()
		msgs, lerr := q.List(context.Background())
		if lerr != nil {
			t.Fatal(lerr)
		}
		switch {
		case err != nil && len(msgs) != 0:
			t.Errorf("fault %d (%s): Enqueue failed (%v) but the message is queued", failAt, failed, err)
		case err == nil && len(msgs) != 1:
			t.Errorf("fault %d: Enqueue succeeded but %d messages are queued", failAt, len(msgs))
		}
		if _, err := Open(Config{Fs: e.fs}); err != nil {
			t.Fatal(err)
		}
		if err != nil && countFiles(t, e.fs, "queue/msg") != 0 {
			t.Errorf("fault %d (%s): files left in queue/msg after a reopen", failAt, failed)
		}
		if failed == "" {
			if failAt < 6 {
				t.Errorf("only %d faultable steps in Enqueue", failAt-1)
			}
			return
		}
	}
}

func TestClaimAndComplete(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	other := e.open(t) // another process on the same spool
	enqueue(t, q, "a@esa.test", "x@example.com")
	claims, err := q.Claim(ctx, Selector{})
	if err != nil || len(claims) != 1 || len(claims[0].Due) != 1 {
		t.Fatalf("Claim = %v, %v", claims, err)
	}
	if got, _ := other.Claim(ctx, Selector{}); len(got) != 0 {
		t.Errorf("another process claimed a leased message")
	}
	if got, _ := q.Claim(ctx, Selector{}); len(got) != 0 {
		t.Errorf("the same message was claimed twice")
	}
	if _, err := q.Complete(ctx, claims[0], []Outcome{{RID: 0, State: Delivered}}); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := q.List(ctx); len(msgs) != 0 {
		t.Errorf("%d messages left after delivery", len(msgs))
	}
	if countFiles(t, e.fs, "queue/msg") != 0 {
		t.Errorf("files left in queue/msg")
	}
	if l := e.log.Lines(); l[len(l)-1] != "Info: Message finished MID 1 done" {
		t.Errorf("last log line %q", l[len(l)-1])
	}
	// Completing again (a duplicate report) is harmless.
	if _, err := q.Complete(ctx, claims[0], []Outcome{{RID: 0, State: Delivered}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Complete of a finished message = %v, want ErrNotFound", err)
	}
}

// TestLeaseExpiry: a claim whose holder crashed (never completed) is taken
// again once its lease expires, by any process.
func TestLeaseExpiry(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	crashed := e.open(t)
	enqueue(t, crashed, "a@esa.test", "x@example.com")
	if c, _ := crashed.Claim(ctx, Selector{}); len(c) != 1 {
		t.Fatal("no claim")
	}
	q := e.open(t)
	if c, _ := q.Claim(ctx, Selector{}); len(c) != 0 {
		t.Fatal("claimed while the lease runs")
	}
	if next, ok, _ := q.NextDue(ctx); !ok || !next.Equal(e.clock.Now().Add(DefaultLease)) {
		t.Errorf("NextDue = %v, %v; want the lease's end", next, ok)
	}
	e.clock.Advance(DefaultLease)
	c, err := q.Claim(ctx, Selector{})
	if err != nil || len(c) != 1 || c[0].Lease.Owner != q.Owner() {
		t.Fatalf("after the lease: %v, %v", c, err)
	}
	// The crashed holder's late report does not release the new lease.
	if err := crashed.Release(ctx, c[0]); err != nil {
		t.Fatal(err)
	}
	if m, _ := q.Get(ctx, 1); m.Lease == nil || m.Lease.Owner != q.Owner() {
		t.Errorf("lease after another owner's release: %+v", m.Lease)
	}
	if err := q.Renew(ctx, c[0]); err != nil {
		t.Errorf("Renew: %v", err)
	}
	if err := crashed.Renew(ctx, c[0]); err == nil {
		t.Errorf("Renew by a process that lost the lease: no error")
	}
}

// TestRetries: a deferred recipient is retried after 60 s, 120 s, 240 s...
// capped at an hour, keeps its reason, and bounces after 72 hours.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	m := enqueue(t, q, "a@esa.test", "x@example.com")
	var delays []time.Duration
	for i := 0; ; i++ {
		c, err := q.Claim(ctx, Selector{})
		if err != nil || len(c) != 1 {
			t.Fatalf("attempt %d: Claim = %v, %v", i, c, err)
		}
		got, err := q.Complete(ctx, c[0], []Outcome{{RID: 0, State: Queued, Reason: fmt.Sprintf("451 4.3.0 try %d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		r := got.Recipients[0]
		if r.State == Bounced {
			break
		}
		if r.Reason != fmt.Sprintf("451 4.3.0 try %d", i) || got.Reason() != r.Reason {
			t.Errorf("attempt %d: reason %q", i, r.Reason)
		}
		d := r.NextAttempt.Sub(e.clock.Now())
		delays = append(delays, d)
		if c, _ := q.Claim(ctx, Selector{}); len(c) != 0 {
			t.Fatalf("attempt %d: claimed before its next attempt", i)
		}
		e.clock.Advance(d)
		if i > 200 {
			t.Fatal("never bounced")
		}
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	if diff := cmp.Diff(want, delays[:len(want)]); diff != "" {
		t.Errorf("delays (-want +got):\n%s", diff)
	}
	var total time.Duration
	for _, d := range delays {
		total += d
	}
	if total != DefaultMaxLifetime {
		t.Errorf("bounced after %v, want %v", total, DefaultMaxLifetime)
	}
	if msgs, _ := q.List(ctx); len(msgs) != 0 {
		t.Errorf("the expired message is still queued")
	}
	bounce, err := afero.ReadFile(e.fs, q.BouncePath(m.MID, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"To: <a@esa.test>\r\n", "Status: 4.4.7\r\n", "Final-Recipient: rfc822; x@example.com\r\n",
		"Message-ID: <1@esa.test>\r\n", "Diagnostic-Code: smtp; 4.4.7 Message expired: queued for 72h0m0s: 451 4.3.0 try "} {
		if !strings.Contains(string(bounce), s) {
			t.Errorf("bounce message lacks %q:\n%s", s, bounce)
		}
	}
	lines := e.log.Lines()
	for _, s := range []string{
		"Info: Bounced: DCID 0 MID 1 to RID [0] - 4.4.7 Message expired: queued for 72h0m0s: 451 4.3.0 try ",
		"Info: MID 1 bounce message for <a@esa.test> written to queue/bounce/1-0.eml",
		"Info: Message finished MID 1 done",
	} {
		if !containsPrefix(lines, s) {
			t.Errorf("log lacks %q", s)
		}
	}
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestBounceNullSender: a bounce is never bounced.
func TestBounceNullSender(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	enqueue(t, q, "", "x@example.com")
	c, _ := q.Claim(ctx, Selector{})
	if _, err := q.Complete(ctx, c[0], []Outcome{{RID: 0, State: Bounced, Reason: "550 5.1.1 no"}}); err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, e.fs, "queue/bounce"); n != 0 {
		t.Errorf("%d bounce files for a null sender", n)
	}
	if !containsPrefix(e.log.Lines(), "Info: MID 1: no bounce message for the null sender") {
		t.Errorf("log:\n%s", e.log)
	}
}

// TestRecordKeepsLease: outcomes for one domain are recorded while the
// message stays claimed for the others.
func TestRecordKeepsLease(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	enqueue(t, q, "a@esa.test", "x@a.test", "y@b.test")
	c, _ := q.Claim(ctx, Selector{})
	m, err := q.Record(ctx, c[0], []Outcome{{RID: 0, State: Delivered}})
	if err != nil || m.Lease == nil || len(m.Pending()) != 1 {
		t.Fatalf("Record = %+v, %v; want the lease kept and one pending", m, err)
	}
	if got, _ := e.open(t).Claim(ctx, Selector{}); len(got) != 0 {
		t.Error("claimed by another process between two domains")
	}
	if _, err := q.Complete(ctx, c[0], []Outcome{{RID: 1, State: Delivered}}); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := q.List(ctx); len(msgs) != 0 {
		t.Errorf("%d messages left", len(msgs))
	}
}

func TestSelectorDomain(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	enqueue(t, q, "a@esa.test", "x@a.test", "y@b.test")
	enqueue(t, q, "a@esa.test", "z@b.test")
	c, err := q.Claim(ctx, Selector{Domain: "A.TEST."})
	if err != nil || len(c) != 1 || c[0].MID != 1 || len(c[0].Due) != 1 || c[0].Due[0].To != "x@a.test" {
		t.Fatalf("Claim(a.test) = %+v, %v", c, err)
	}
	c2, _ := q.Claim(ctx, Selector{Max: 5})
	if len(c2) != 1 || c2[0].MID != 2 {
		t.Errorf("Claim(all) = %+v, want MID 2 only (MID 1 is held)", c2)
	}
}

func TestDeleteRecipients(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		match    Match
		want     int
		wantLeft []uint64
	}{
		{"by domain", Match{Domain: "b.test"}, 2, []uint64{1}},
		{"by recipient", Match{Recipient: "X@A.TEST"}, 1, []uint64{1, 2}},
		{"by sender", Match{Sender: "other@esa.test"}, 1, []uint64{1}},
		{"by MID", Match{MID: 1}, 2, []uint64{2}},
		{"all", Match{}, 3, nil},
		{"nothing matches", Match{Domain: "c.test"}, 0, []uint64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv()
			q := e.open(t)
			enqueue(t, q, "a@esa.test", "x@a.test", "y@b.test")
			enqueue(t, q, "other@esa.test", "z@b.test")
			n, err := q.DeleteRecipients(ctx, tt.match)
			if err != nil || n != tt.want {
				t.Errorf("DeleteRecipients(%+v) = %d, %v; want %d", tt.match, n, err, tt.want)
			}
			msgs, _ := q.List(ctx)
			var left []uint64
			for _, m := range msgs {
				left = append(left, m.MID)
			}
			if diff := cmp.Diff(tt.wantLeft, left); diff != "" {
				t.Errorf("left (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeliverNow(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	enqueue(t, q, "a@esa.test", "x@a.test")
	c, _ := q.Claim(ctx, Selector{})
	q.Complete(ctx, c[0], []Outcome{{RID: 0, State: Queued, Reason: "451 later"}})
	if c, _ := q.Claim(ctx, Selector{}); len(c) != 0 {
		t.Fatal("claimed before its next attempt")
	}
	if n, err := q.DeliverNow(ctx, Match{Domain: "a.test"}); n != 1 || err != nil {
		t.Errorf("DeliverNow = %d, %v", n, err)
	}
	if c, _ := q.Claim(ctx, Selector{}); len(c) != 1 {
		t.Error("not due after DeliverNow")
	}
}

func TestHostStatus(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	t0 := e.clock.Now()
	if err := q.SetHostStatus(ctx, HostStatus{Domain: "Example.COM.", LastAttempt: t0, Status: "delivered", Security: "tls", LastDelivered: t0}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, q, "a@esa.test", "x@example.com")
	t1 := t0.Add(time.Hour)
	if err := q.SetHostStatus(ctx, HostStatus{Domain: "example.com", LastAttempt: t1, Status: "deferred", Reason: "451 later"}); err != nil {
		t.Fatal(err)
	}
	h, ok, err := q.Host(ctx, "EXAMPLE.com")
	if err != nil || !ok {
		t.Fatalf("Host = %v, %v", ok, err)
	}
	want := HostStatus{Domain: "example.com", LastAttempt: t1, Status: "deferred", Reason: "451 later", LastDelivered: t0, Pending: 1, NextAttempt: t0}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("Host (-want +got):\n%s", diff)
	}
	if _, ok, _ := q.Host(ctx, "unknown.test"); ok {
		t.Error("Host(unknown.test) found")
	}
	if err := q.SetHostStatus(ctx, HostStatus{Domain: "../evil"}); err == nil {
		t.Error("SetHostStatus with a path: no error")
	}
	hs, err := q.Hosts(ctx)
	if err != nil || len(hs) != 1 {
		t.Errorf("Hosts = %v, %v", hs, err)
	}
}

// TestRestartKeepsMIDs: a spool reopened with fresh in-memory counters skips
// the MIDs in use; persistent counters never repeat one.
func TestRestartKeepsMIDs(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	q := e.open(t)
	enqueue(t, q, "a@esa.test", "x@a.test")
	q2, err := Open(Config{Fs: e.fs, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	m, err := q2.Enqueue(ctx, Envelope{To: []string{"y@a.test"}}, []byte("x"))
	if err != nil || m.MID != 2 {
		t.Errorf("MID after restart = %d, %v; want 2", m.MID, err)
	}
}

// TestOrphans: a data file whose state never came (a crash inside Enqueue)
// is removed when it is old enough, and temporary files always.
func TestOrphans(t *testing.T) {
	e := newEnv()
	e.open(t)
	old := time.Now().Add(-2 * time.Hour)
	for _, name := range []string{"queue/msg/7.eml", "queue/msg/8.eml", "queue/msg/.9.json.tmp-abc"} {
		if err := afero.WriteFile(e.fs, name, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.fs.Chtimes("queue/msg/7.eml", old, old)
	e.fs.Chtimes("queue/msg/.9.json.tmp-abc", old, old) // a crashed writer's, not a write in progress
	e.open(t)
	for name, want := range map[string]bool{"queue/msg/7.eml": false, "queue/msg/8.eml": true, "queue/msg/.9.json.tmp-abc": false} {
		if _, err := e.fs.Stat(name); (err == nil) != want {
			t.Errorf("%s exists %v, want %v", name, err == nil, want)
		}
	}
}

// TestConcurrentClaims: four "processes" claim from one spool at once; no
// message is claimed twice.
func TestConcurrentClaims(t *testing.T) {
	ctx := context.Background()
	e := newEnv()
	// A real directory, as in production: four queues opening the spool while the
	// others write must not take each other's writes in progress for a crashed
	// writer's leftovers (this test caught it).
	e.fs = afero.NewBasePathFs(afero.NewOsFs(), t.TempDir())
	q := e.open(t)
	for range 40 {
		enqueue(t, q, "a@esa.test", "x@example.com")
	}
	var mu sync.Mutex
	got := map[uint64]int{}
	var wg sync.WaitGroup
	for range 4 {
		p := e.open(t)
		wg.Go(func() {
			for {
				c, err := p.Claim(ctx, Selector{Max: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if len(c) == 0 {
					return
				}
				for _, x := range c {
					mu.Lock()
					got[x.MID]++
					mu.Unlock()
					if _, err := p.Complete(ctx, x, []Outcome{{RID: 0, State: Delivered}}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(got) != 40 {
		t.Errorf("%d messages claimed, want 40", len(got))
	}
	for mid, n := range got {
		if n != 1 {
			t.Errorf("MID %d claimed %d times", mid, n)
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct{ in, want string }{
		{"550 5.1.1 no such user", "5.1.1"},
		{"452 4.2.2 full", "5.2.2"},
		{"4.4.7 Message expired", "4.4.7"},
		{"no code here", "5.0.0"},
	}
	for _, tt := range tests {
		if got := status(tt.in); got != tt.want {
			t.Errorf("status(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
