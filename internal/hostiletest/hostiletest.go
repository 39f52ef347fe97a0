// Package hostiletest is test support for hostile-peer tests: a Peer whose
// goroutines, listeners and connections end together when the test stops it,
// with the writes a hostile server makes (one byte at a time, or a flood),
// the measure of what a call cost (wall time and bytes allocated) checked
// against a Bound, and a check that a case leaves no goroutine behind. Only
// tests import it.
package hostiletest

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Peer is the life of a hostile peer: a stop signal that its pauses and
// writes watch, and the goroutines, listeners and connections that Stop ends.
// Its methods may be called from any goroutine.
type Peer struct {
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	closers []io.Closer // listeners and connections Stop closes
	conns   int         // connections accepted
}

// New returns a running peer; it is stopped when the test ends, if the test
// has not stopped it before.
func New(tb testing.TB) *Peer {
	p := &Peer{done: make(chan struct{})}
	tb.Cleanup(p.Stop)
	return p
}

// Done returns a channel closed when the peer is stopped.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Stop closes the done channel, then every listener and connection of the
// peer, and waits for its goroutines to end. It may be called more than once.
func (p *Peer) Stop() {
	p.once.Do(func() { close(p.done) })
	p.mu.Lock()
	p.stopped = true
	closers := p.closers
	p.closers = nil
	p.mu.Unlock()
	for _, c := range closers {
		c.Close()
	}
	p.wg.Wait()
}

// Closes has Stop close c; c is closed at once when the peer is stopped
// already.
func (p *Peer) Closes(c io.Closer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		c.Close()
		return
	}
	p.closers = append(p.closers, c)
}

// Go runs f in a goroutine that Stop waits for. f must end once the done
// channel is closed or the peer's connections are.
func (p *Peer) Go(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// Listen accepts TCP connections on a new listener on 127.0.0.1 (see Serve)
// and returns its address.
func (p *Peer) Listen(tb testing.TB, serve func(c net.Conn, n int)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.Serve(ln, serve)
	return ln.Addr().String()
}

// Serve accepts connections on ln until the peer is stopped, and calls serve
// on each in its own goroutine with the connection's number (from 1, in the
// order they were accepted); the connection is closed when serve returns, or
// when the peer is stopped.
func (p *Peer) Serve(ln net.Listener, serve func(c net.Conn, n int)) {
	p.Closes(ln)
	p.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns++
			n := p.conns
			p.mu.Unlock()
			p.Closes(c)
			p.Go(func() {
				defer c.Close()
				serve(c, n)
			})
		}
	})
}

// Conns returns how many connections the peer has accepted.
func (p *Peer) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}

// Pause waits d, or less when the peer is stopped; false means it was.
func (p *Peer) Pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.done:
		return false
	}
}

// Drip writes b to w one byte each d, and stops when the peer is stopped or
// a write fails.
func (p *Peer) Drip(w io.Writer, b []byte, d time.Duration) {
	for i := range b {
		if !p.Pause(d) {
			return
		}
		if _, err := w.Write(b[i : i+1]); err != nil {
			return
		}
	}
}

// Flood writes b to w n times (0: for ever), and stops when the peer is
// stopped or a write fails.
func (p *Peer) Flood(w io.Writer, b []byte, n int) {
	for i := 0; n == 0 || i < n; i++ {
		select {
		case <-p.done:
			return
		default:
		}
		if _, err := w.Write(b); err != nil {
			return
		}
	}
}

// DripConn returns c with a Write that trickles: one byte each d (a TLS
// server on it trickles its handshake). A write ends with net.ErrClosed
// when the peer is stopped.
func (p *Peer) DripConn(c net.Conn, d time.Duration) net.Conn {
	return dripConn{Conn: c, p: p, d: d}
}

type dripConn struct {
	net.Conn
	p *Peer
	d time.Duration
}

func (c dripConn) Write(b []byte) (int, error) {
	for i := range b {
		if !c.p.Pause(c.d) {
			return i, net.ErrClosed
		}
		if _, err := c.Conn.Write(b[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(b), nil
}

// Cost is what a call cost.
type Cost struct {
	// Time is the wall time it took.
	Time time.Duration
	// Alloc is the bytes allocated meanwhile, in every goroutine
	// (runtime.MemStats.TotalAlloc): the hostile peer's allocations count
	// too, so the figure is an upper bound of the caller's.
	Alloc uint64
}

// Bound is the most a call may cost. A zero field is no bound.
type Bound struct {
	Time  time.Duration
	Alloc uint64
}

// Measure runs f and returns what it cost.
func Measure(f func()) Cost {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return Cost{Time: elapsed, Alloc: after.TotalAlloc - before.TotalAlloc}
}

// Against describes c beside b, for a test's log: "elapsed 1.234s (bound
// 5s), allocated 1024 bytes (bound 262144)".
func (c Cost) Against(b Bound) string {
	return fmt.Sprintf("elapsed %v (bound %v), allocated %d bytes (bound %d)", c.Time.Round(time.Millisecond), b.Time, c.Alloc, b.Alloc)
}

// Check fails tb (without stopping it) for each bound of b that c exceeds;
// what names the call in the messages ("Lookup took 6s, bound 5s"), or is
// empty.
func (c Cost) Check(tb testing.TB, what string, b Bound) {
	tb.Helper()
	if what != "" {
		what += " "
	}
	if b.Time != 0 && c.Time > b.Time {
		tb.Errorf("%stook %v, bound %v", what, c.Time, b.Time)
	}
	if b.Alloc != 0 && c.Alloc > b.Alloc {
		tb.Errorf("%sallocated %d bytes, bound %d", what, c.Alloc, b.Alloc)
	}
}

// LeakCheck notes the goroutines running now and returns a function that
// fails tb if others are still running when it is called (after waiting a
// while for them to end, as goleak.VerifyNone does). Call it after the case
// has stopped its peers, or register it with tb.Cleanup first so that it
// runs after every later cleanup.
func LeakCheck(tb testing.TB) func() {
	baseline := goleak.IgnoreCurrent()
	return func() {
		tb.Helper()
		goleak.VerifyNone(tb, baseline)
	}
}
