package delivery

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/engine/tlspolicy"
)

// The crash test's child reads its orders from the environment.
const (
	crashChildEnv  = "SEGCLI_DELIVERY_CRASH_CHILD" // the spool's directory
	crashSinkEnv   = "SEGCLI_DELIVERY_CRASH_SINK"  // the sink's "127.0.0.1:port"
	crashOffsetEnv = "SEGCLI_DELIVERY_CRASH_CLOCK" // the clock's offset, in hours
)

// crashDest is the crash test's destination: an SMTP route to the sink, TLS
// Preferred (the sink offers STARTTLS), ten messages per connection.
func crashDest(sink string) func(string) Destination {
	host, port, _ := net.SplitHostPort(sink)
	p, _ := strconv.Atoi(port)
	return func(string) Destination {
		return Destination{
			Controls:              tlspolicy.Controls{TLS: tlspolicy.TLSPreferred},
			Routes:                []Host{{Name: host, Port: p}},
			MessagesPerConnection: 5,
			Concurrency:           1,
		}
	}
}

// crashSpool opens the spool in dir with the clock offset by hours, its
// persistent counters and mail log.
func crashSpool(dir string, hours int) (*queue.Queue, *maillog.Counters, *maillog.File, error) {
	fs := afero.NewBasePathFs(afero.NewOsFs(), dir)
	ids, err := maillog.OpenCounters(maillog.CountersConfig{Fs: fs, Path: maillog.DefaultCountersPath, Block: 10})
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := maillog.OpenFile(maillog.FileConfig{Fs: fs, Path: maillog.DefaultPath, Level: maillog.Info})
	if err != nil {
		return nil, nil, nil, err
	}
	offset := time.Duration(hours) * time.Hour
	q, err := queue.Open(queue.Config{Fs: fs, IDs: ids, Log: log, Now: func() time.Time { return time.Now().Add(offset) }})
	return q, ids, log, err
}

// crashChild delivers the spool's messages to the sink, as
// `segcli --run-queue` does, until it is killed or the spool is drained.
func crashChild() int {
	dir, sink := os.Getenv(crashChildEnv), os.Getenv(crashSinkEnv)
	hours, _ := strconv.Atoi(os.Getenv(crashOffsetEnv))
	q, ids, log, err := crashSpool(dir, hours)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	e := New(Config{Log: log, IDs: ids, EHLOName: "crash.test", Timeout: 5 * time.Second, DataTimeout: 5 * time.Second})
	r := NewRunner(RunnerConfig{Queue: q, Engine: e, Destination: crashDest(sink), Batch: 5})
	fmt.Println("ready")
	if _, err := r.Drain(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

var messageID = regexp.MustCompile(`Message-ID: <(\d+)@crash\.test>`)

// TestQueueCrash kills a child delivering from the spool at random moments,
// at least 100 times. After each kill, every message is delivered (the sink
// has it) or still queued; at the end, after a clean run, every message was
// delivered, and a message the sink got twice was in flight (claimed by the
// killed child) at a kill.
func TestQueueCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 100 processes")
	}
	const (
		runs  = 100
		batch = 100
	)
	dir := t.TempDir()
	ca := newCA(t, "crash CA")
	var mu sync.Mutex
	received := map[int]int{} // message number -> times the sink got it
	sink := startMX(t, "sink.test", mxConf{cert: ca.leaf(t, "sink.test"), delay: 3 * time.Millisecond})
	sink.onMail = func(m mail) {
		if id := messageID.FindStringSubmatch(m.data); id != nil {
			n, _ := strconv.Atoi(id[1])
			mu.Lock()
			received[n]++
			mu.Unlock()
		}
	}
	count := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		return received[n]
	}

	q, _, log, err := crashSpool(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	number := map[uint64]int{} // MID -> message number
	next := 0
	enqueueBatch := func() {
		for range batch {
			next++
			data := fmt.Sprintf("From: crash@esa.test\r\nMessage-ID: <%d@crash.test>\r\n\r\nmessage %d\r\n", next, next)
			m, err := q.Enqueue(context.Background(), queue.Envelope{From: "crash@esa.test", To: []string{"rcpt@crash.test"}}, []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			number[m.MID] = next
		}
	}
	enqueueBatch()

	inFlight := map[int]int{} // message number -> kills it was in flight at
	killed, finished := 0, 0
	rng := rand.New(rand.NewPCG(1, 2))
	for run := 1; run <= runs; run++ {
		if msgs, _ := q.List(context.Background()); len(msgs) == 0 {
			enqueueBatch() // keep every run delivering
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashSinkEnv+"="+sink.addr(), crashOffsetEnv+"="+strconv.Itoa(run))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d: child said %q", run, line)
		}
		time.Sleep(time.Duration(rng.IntN(100_000)) * time.Microsecond)
		if cmd.Process.Kill() == nil {
			killed++
		}
		if err := cmd.Wait(); err == nil {
			finished++
		}

		// After the kill: every message is at the sink or still queued.
		msgs, err := q.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		queued := map[uint64]bool{}
		for _, m := range msgs {
			if len(m.Pending()) > 0 {
				queued[m.MID] = true
			}
			if m.Lease != nil {
				inFlight[number[m.MID]]++
			}
		}
		for mid, n := range number {
			if !queued[mid] && count(n) == 0 {
				t.Fatalf("run %d: message %d (MID %d) lost: neither queued nor delivered", run, n, mid)
			}
		}
	}

	// A clean run (its clock past every lease) delivers the rest.
	q2, ids, log2, err := crashSpool(dir, runs+1)
	if err != nil {
		t.Fatal(err)
	}
	defer log2.Close()
	r := NewRunner(RunnerConfig{Queue: q2, Engine: New(Config{Log: log2, IDs: ids, Timeout: 5 * time.Second}), Destination: crashDest(sink.addr())})
	if _, err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := q2.List(context.Background()); len(msgs) != 0 {
		t.Errorf("%d messages still queued after the clean run", len(msgs))
	}
	dups, inFlightTotal := 0, 0
	for _, k := range inFlight {
		inFlightTotal += k
	}
	for n := 1; n <= next; n++ {
		c := count(n)
		switch {
		case c == 0:
			t.Errorf("message %d never delivered", n)
		case c > 1:
			dups += c - 1
			if c-1 > inFlight[n] {
				t.Errorf("message %d delivered %d times but in flight at %d kills", n, c, inFlight[n])
			}
		}
	}
	t.Logf("%d runs (%d killed, %d finished first), %d messages, %d duplicates, %d claims in flight at the kills",
		runs, killed, finished, next, dups, inFlightTotal)
}
