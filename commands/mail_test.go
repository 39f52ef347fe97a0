package commands

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts/fixtures"
)

var mailClock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// syncBuffer is a screen the shell and its background may share with the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mailDir is a data directory on disk for the sessions of one test.
type mailDir struct {
	dir   string
	fs    afero.Fs
	setup *fixtures.Setup
}

func newMailDir(t *testing.T, setup *fixtures.Setup) *mailDir {
	dir := t.TempDir()
	return &mailDir{dir: dir, fs: afero.NewBasePathFs(afero.NewOsFs(), dir), setup: setup}
}

func (d *mailDir) options(now time.Time, in io.Reader, out io.Writer) Options {
	return Options{
		Fs: d.fs, Locker: store.FileLocker{Path: filepath.Join(d.dir, "config", ".lock")}, DataDir: d.dir,
		In: shell.NewPlainReader(in, out), Out: out, Err: out,
		Now: func() time.Time { return now }, User: "admin", Hostname: "esa.test",
		Resolver: d.setup.Vars["DNS"], ResolvConf: filepath.Join(d.dir, "no-resolv.conf"),
		Dial: d.setup.Dial, DemoSeed: []byte("mail tests"),
	}
}

// batch runs line as -c does at now and returns the output and the status.
func (d *mailDir) batch(t *testing.T, now time.Time, line string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	sh, err := NewShell(context.Background(), d.options(now, strings.NewReader(""), &out))
	if err != nil {
		t.Fatal(err)
	}
	status := sh.RunBatch(context.Background(), line)
	return out.String(), status
}

func (d *mailDir) queue(t *testing.T) *queue.Queue {
	t.Helper()
	q, err := queue.Open(queue.Config{Fs: d.fs})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func (d *mailDir) log(t *testing.T) string {
	t.Helper()
	data, err := afero.ReadFile(d.fs, "logs/mail_logs")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// waitEmpty waits until the queue is empty.
func (d *mailDir) waitEmpty(t *testing.T) {
	t.Helper()
	q := d.queue(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		msgs, err := q.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue still holds %+v", msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBackgroundDelivery: while an interactive session is open, a deferred message
// whose retry has come is delivered in the background, without a word on the
// screen; a command's delivery meanwhile is its own; the background stops with the
// session.
func TestBackgroundDelivery(t *testing.T) {
	srv := fixtures.StartDeliver(t)
	d := newMailDir(t, srv.Setup())
	if out, status := d.batch(t, mailClock, "deliver --from admin@esa.test --to user@greylist.deliver.test"); status != 1 {
		t.Fatalf("first attempt: exit status %d, want 1 (greylisted)\n%s", status, out)
	}
	// Two minutes later, the retry (after one minute) is due.
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	o := d.options(mailClock.Add(2*time.Minute), pr, out)
	o.Background = true
	sh, err := NewShell(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- sh.Run(context.Background()) }()
	d.waitEmpty(t)
	if got := out.String(); got != "esa.test> " {
		t.Errorf("the background delivery printed %q", got)
	}
	if got := srv.Delivered(); len(got) != 1 || got[0].To[0] != "user@greylist.deliver.test" {
		t.Fatalf("delivered %+v", got)
	}
	if _, err := io.WriteString(pw, "deliver --from admin@esa.test --to user@deliver.test\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(out.String(), "delivered (security none).\nesa.test> ") {
		if time.Now().After(deadline) {
			t.Fatalf("deliver in the session:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw.Close()
	select {
	case status := <-done:
		if status != 0 {
			t.Errorf("session exit status %d\n%s", status, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the session did not end at the end of its input")
	}
	if log := d.log(t); !strings.Contains(log, "Message finished MID 1 done") || strings.Contains(log, "Queue run") {
		t.Errorf("mail_logs:\n%s", log)
	}
}

// TestNoBackgroundInBatch: a -c session delivers nothing by itself, even when mail
// is due.
func TestNoBackgroundInBatch(t *testing.T) {
	srv := fixtures.StartDeliver(t)
	d := newMailDir(t, srv.Setup())
	d.batch(t, mailClock, "deliver --from admin@esa.test --to user@greylist.deliver.test")
	o := d.options(mailClock.Add(2*time.Minute), strings.NewReader(""), io.Discard)
	o.Background = true // RunBatch does not start it
	sh, err := NewShell(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	sh.RunBatch(context.Background(), "showqueue")
	time.Sleep(200 * time.Millisecond)
	if msgs, _ := d.queue(t).List(context.Background()); len(msgs) != 1 {
		t.Errorf("queue %+v, want the message still there", msgs)
	}
}

// TestRunQueue: --run-queue delivers what is due (a deferred message whose retry
// came), leaves what is not, and refreshes the cached MTA-STS policies that are due.
func TestRunQueue(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{})
	d := newMailDir(t, srv.Setup())
	ca := srv.CAPEM
	run := func(now time.Time) QueueRun {
		t.Helper()
		o := d.options(now, strings.NewReader(""), io.Discard)
		o.ExtraCAs = ca
		r, err := RunQueue(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	o := d.options(mailClock, strings.NewReader(""), io.Discard)
	o.ExtraCAs = ca
	sh, err := NewShell(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if status := sh.RunBatch(context.Background(), `mtastscache refresh example.com; destconfig new example.com --tls=preferred --mta_sts=on; commit "sts"`); status != 0 {
		t.Fatal("setup failed")
	}
	q, err := queue.Open(queue.Config{Fs: d.fs, Now: func() time.Time { return mailClock }})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"a@example.com", "b@example.com"} {
		if _, err := q.Enqueue(context.Background(), queue.Envelope{From: "admin@esa.test", To: []string{to}}, []byte("Subject: queued\r\n\r\nhello\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	// The same minute: both messages are delivered; the policy is not due.
	got := run(mailClock)
	if got != (QueueRun{Deliveries: 2, Skipped: 1}) {
		t.Errorf("first run = %+v", got)
	}
	// Two days later: nothing to deliver, the policy is refreshed.
	got = run(mailClock.Add(48 * time.Hour))
	if got != (QueueRun{Refreshed: 1}) {
		t.Errorf("second run = %+v", got)
	}
	log := d.log(t)
	for _, want := range []string{
		"Queue run: 2 message deliveries attempted; 0 messages left in the queue",
		"MTA-STS policy refresh: 1 refreshed, 0 kept, 0 removed, 0 not due",
		"Message finished MID 2 done",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("mail_logs has no %q:\n%s", want, log)
		}
	}
}

// TestRunQueueDeferred: a message that is deferred again stays queued, and the run
// does not try it twice.
func TestRunQueueDeferred(t *testing.T) {
	srv := fixtures.StartDeliver(t)
	d := newMailDir(t, srv.Setup())
	d.batch(t, mailClock, "deliver --from admin@esa.test --to user@defer.deliver.test")
	r, err := RunQueue(context.Background(), d.options(mailClock.Add(time.Minute), strings.NewReader(""), io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if r != (QueueRun{Deliveries: 1, Queued: 1}) {
		t.Errorf("run = %+v", r)
	}
	msgs, _ := d.queue(t).List(context.Background())
	if len(msgs) != 1 || msgs[0].Recipients[0].Attempts != 2 {
		t.Errorf("queue %+v, want the message with two attempts", msgs)
	}
}

// TestRunQueueNoResolver: without a resolver the run says what to do.
func TestRunQueueNoResolver(t *testing.T) {
	d := newMailDir(t, fixtures.NewSetup())
	_, err := RunQueue(context.Background(), d.options(mailClock, strings.NewReader(""), io.Discard))
	if err == nil || !strings.Contains(err.Error(), "dnsconfig") {
		t.Errorf("RunQueue = %v, want an error saying to use dnsconfig", err)
	}
}
