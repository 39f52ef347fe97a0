package hostiletest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that records the failures reported to it.
type recorder struct {
	testing.TB // nil: only the methods below may be called
	mu         sync.Mutex
	errs       []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprint(args...))
}

func (r *recorder) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// countWriter counts its writes and fails or stops the peer after some.
type countWriter struct {
	buf     bytes.Buffer
	writes  int
	failAt  int // the write that fails (0: none)
	stopAt  int // the write after which the peer is stopped (0: none)
	stopper *Peer
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes == w.failAt {
		return 0, errors.New("write failed")
	}
	w.buf.Write(p)
	if w.writes == w.stopAt {
		// Stop from a writer: only the done channel matters here, the
		// peer has no goroutine that would wait for this one.
		w.stopper.once.Do(func() { close(w.stopper.done) })
	}
	return len(p), nil
}

func TestFlood(t *testing.T) {
	tests := []struct {
		name       string
		n          int
		failAt     int
		stopAt     int
		wantWrites int
		want       string
	}{
		{name: "n times", n: 3, wantWrites: 3, want: "ababab"},
		{name: "for ever, until the peer is stopped", n: 0, stopAt: 5, wantWrites: 5, want: strings.Repeat("ab", 5)},
		{name: "n times, stopped before n", n: 10, stopAt: 2, wantWrites: 2, want: "abab"},
		{name: "for ever, until a write fails", n: 0, failAt: 4, wantWrites: 4, want: "ababab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(t)
			w := &countWriter{failAt: tt.failAt, stopAt: tt.stopAt, stopper: p}
			p.Flood(w, []byte("ab"), tt.n)
			if w.writes != tt.wantWrites || w.buf.String() != tt.want {
				t.Errorf("Flood(ab, %d) = %d writes %q, want %d writes %q", tt.n, w.writes, w.buf.String(), tt.wantWrites, tt.want)
			}
		})
	}
}

func TestDrip(t *testing.T) {
	const d = 20 * time.Millisecond
	p := New(t)
	w := &countWriter{}
	start := time.Now()
	p.Drip(w, []byte("abc"), d)
	elapsed := time.Since(start)
	if w.writes != 3 || w.buf.String() != "abc" {
		t.Errorf("Drip(abc) = %d writes %q, want 3 writes of one byte", w.writes, w.buf.String())
	}
	if elapsed < 3*d {
		t.Errorf("Drip(abc, %v) took %v, want at least %v (a pause before each byte)", d, elapsed, 3*d)
	}

	// A stopped peer writes nothing more, and at once.
	w = &countWriter{stopAt: 1, stopper: p}
	start = time.Now()
	p.Drip(w, []byte("abc"), d)
	if w.buf.String() != "a" {
		t.Errorf("Drip(abc) stopped after the first byte wrote %q, want %q", w.buf.String(), "a")
	}
	if elapsed := time.Since(start); elapsed > 10*d {
		t.Errorf("Drip on a stopped peer took %v, want about %v", elapsed, d)
	}
}

func TestPause(t *testing.T) {
	p := New(t)
	start := time.Now()
	if !p.Pause(10 * time.Millisecond) {
		t.Errorf("Pause on a running peer = false, want true")
	}
	if elapsed := time.Since(start); elapsed < 10*time.Millisecond {
		t.Errorf("Pause(10ms) took %v", elapsed)
	}
	time.AfterFunc(20*time.Millisecond, p.Stop)
	start = time.Now()
	if p.Pause(time.Minute) {
		t.Errorf("Pause on a stopped peer = true, want false")
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Pause(1m) took %v after a Stop at 20ms", elapsed)
	}
	select {
	case <-p.Done():
	default:
		t.Errorf("Done() not closed after Stop")
	}
	p.Stop() // a second Stop is harmless
}

func TestDripConn(t *testing.T) {
	const d = 10 * time.Millisecond
	p := New(t)
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := p.DripConn(server, d)

	// net.Pipe has no buffer: each Write is one Read on the other side.
	var reads []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 16)
		for {
			n, err := client.Read(b)
			if err != nil {
				return
			}
			reads = append(reads, string(b[:n]))
		}
	}()
	start := time.Now()
	n, err := c.Write([]byte("hello"))
	elapsed := time.Since(start)
	if n != 5 || err != nil {
		t.Errorf("Write(hello) = %d, %v; want 5, nil", n, err)
	}
	if elapsed < 5*d {
		t.Errorf("Write(hello) took %v, want at least %v", elapsed, 5*d)
	}
	p.Stop()
	if n, err := c.Write([]byte("more")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write on a stopped peer = %d, %v; want 0, net.ErrClosed", n, err)
	}
	server.Close()
	<-done
	if got := strings.Join(reads, "|"); got != "h|e|l|l|o" {
		t.Errorf("the other side read %q, want one byte a read (h|e|l|l|o)", got)
	}
}

func TestListen(t *testing.T) {
	p := New(t)
	var mu sync.Mutex
	var numbers []int
	addr := p.Listen(t, func(c net.Conn, n int) {
		mu.Lock()
		numbers = append(numbers, n)
		mu.Unlock()
		fmt.Fprintf(c, "%d\n", n)
		io.Copy(io.Discard, c) // until the client or Stop closes it
	})
	var conns []net.Conn
	for i := 1; i <= 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		// Read the greeting before the next dial: the numbers follow the
		// order of acceptance.
		b := make([]byte, 8)
		n, _ := c.Read(b)
		if got := string(b[:n]); got != fmt.Sprintf("%d\n", i) {
			t.Errorf("connection %d was told %q, want %q", i, got, fmt.Sprintf("%d\n", i))
		}
	}
	if n := p.Conns(); n != 2 {
		t.Errorf("Conns() = %d, want 2", n)
	}

	// Stop must close the connections the servers block on, and wait.
	stopped := make(chan struct{})
	go func() {
		p.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return: the connections were not closed")
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("connection %d after Stop: read error %v, want EOF", i+1, err)
		}
	}
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("a connection to %s succeeded after Stop", addr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(numbers) != 2 {
		t.Errorf("serve was called %d times, want 2", len(numbers))
	}
}

// closeCounter counts its Close calls.
type closeCounter struct{ n int }

func (c *closeCounter) Close() error { c.n++; return nil }

func TestCloses(t *testing.T) {
	p := New(t)
	before, after := &closeCounter{}, &closeCounter{}
	p.Closes(before)
	if before.n != 0 {
		t.Errorf("Closes closed a running peer's closer")
	}
	p.Stop()
	p.Closes(after)
	p.Stop()
	if before.n != 1 || after.n != 1 {
		t.Errorf("closed %d and %d times, want once each (by Stop, and at once after it)", before.n, after.n)
	}
}

func TestMeasure(t *testing.T) {
	var sink []byte
	c := Measure(func() {
		sink = make([]byte, 1<<20)
		time.Sleep(20 * time.Millisecond)
	})
	if c.Alloc < 1<<20 {
		t.Errorf("Measure(1 MiB allocation).Alloc = %d, want at least %d", c.Alloc, 1<<20)
	}
	if c.Time < 20*time.Millisecond {
		t.Errorf("Measure(20ms sleep).Time = %v, want at least 20ms", c.Time)
	}
	_ = sink
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		what  string
		cost  Cost
		bound Bound
		want  []string
	}{
		{name: "within both bounds", what: "Lookup", cost: Cost{Time: time.Second, Alloc: 100}, bound: Bound{Time: 2 * time.Second, Alloc: 100}},
		{name: "over the time bound", what: "Lookup", cost: Cost{Time: 3 * time.Second, Alloc: 100}, bound: Bound{Time: 2 * time.Second, Alloc: 100}, want: []string{"Lookup took 3s, bound 2s"}},
		{name: "over the memory bound", what: "fetch(a.test)", cost: Cost{Time: time.Second, Alloc: 101}, bound: Bound{Time: 2 * time.Second, Alloc: 100}, want: []string{"fetch(a.test) allocated 101 bytes, bound 100"}},
		{name: "over both, unnamed", cost: Cost{Time: 3 * time.Second, Alloc: 101}, bound: Bound{Time: 2 * time.Second, Alloc: 100}, want: []string{"took 3s, bound 2s", "allocated 101 bytes, bound 100"}},
		{name: "zero bounds are no bounds", cost: Cost{Time: time.Hour, Alloc: 1 << 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			tt.cost.Check(r, tt.what, tt.bound)
			if got := r.failures(); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Check(%+v, %+v) reported %q, want %q", tt.cost, tt.bound, got, tt.want)
			}
		})
	}
}

func TestAgainst(t *testing.T) {
	got := Cost{Time: 1234567 * time.Microsecond, Alloc: 1024}.Against(Bound{Time: 5 * time.Second, Alloc: 256 << 10})
	want := "elapsed 1.235s (bound 5s), allocated 1024 bytes (bound 262144)"
	if got != want {
		t.Errorf("Against = %q, want %q", got, want)
	}
}

func TestLeakCheck(t *testing.T) {
	r := &recorder{}
	check := LeakCheck(r)
	stop := make(chan struct{})
	go func() { <-stop }()
	check()
	close(stop)
	if len(r.failures()) == 0 {
		t.Errorf("LeakCheck did not report a goroutine started after it")
	}

	r = &recorder{}
	check = LeakCheck(r)
	p := New(t)
	p.Go(func() { <-p.Done() })
	p.Stop()
	check()
	if got := r.failures(); len(got) != 0 {
		t.Errorf("LeakCheck reported %q after the peer's goroutine ended", got)
	}
}
