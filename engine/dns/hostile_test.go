package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/segcli/segcli/internal/dnstest"
	"github.com/segcli/segcli/internal/hostiletest"
)

// Behaviours of a hostile DNS server (rawDNS.behave).
const (
	udpHuge         = "udp-huge"          // a 48 KB answer over UDP, ignoring the advertised 1232 (and over TCP)
	udpCut          = "udp-cut"           // half of the answer, never the rest
	udpCutThenGood  = "udp-cut-then-good" // half of the answer, then the whole one
	udpPointerLoop  = "udp-pointer-loop"  // a name whose compression pointer points at itself
	udpWrongIDThen  = "udp-wrong-id-then" // a burst of answers with the wrong ID, then the right one
	udpWrongIDOnly  = "udp-wrong-id-only" // a burst of answers with the wrong ID, nothing else
	tcpHuge         = "tcp-huge"          // TC over UDP; a 64 KB answer (4000 records) over TCP
	tcpTruncated    = "tcp-truncated"     // TC over UDP and over TCP
	tcpCut          = "tcp-cut"           // TC over UDP; over TCP half the announced bytes, then close
	tcpStall        = "tcp-stall"         // TC over UDP; over TCP a 65535-byte length, 10 bytes, silence
	tcpGarbage      = "tcp-garbage"       // TC over UDP; over TCP 65535 bytes of garbage
	tcpWrongID      = "tcp-wrong-id"      // TC over UDP; over TCP the answer with the wrong ID
	wrongIDBurst    = 5000                // answers in a wrong-ID burst
	hugeUDPRecords  = 3000                // records of the huge UDP answer
	hugeTCPRecords  = 4000                // records of the huge TCP answer
	hostileRecordIP = "192.0.2.1"
)

// rawDNS is a DNS server on 127.0.0.1, UDP and TCP on one port, that writes
// raw bytes so that it can break the protocol as behave says.
type rawDNS struct {
	*hostiletest.Peer
	pc     *net.UDPConn
	behave string

	// Answers to "hostile.test. A", packed before the lookup (so that the
	// server's work is not measured) with ID 0: the right one, the huge
	// UDP one and the huge TCP one.
	good, hugeUDP, hugeTCP []byte

	mu  sync.Mutex
	udp int // queries over UDP
	tcp int // queries over TCP
}

func startRawDNS(tb testing.TB, behave string) *rawDNS {
	tb.Helper()
	s := &rawDNS{Peer: hostiletest.New(tb), behave: behave}
	q := new(mdns.Msg).SetQuestion("hostile.test.", mdns.TypeA)
	q.Id = 0
	s.good = mustPack(answer(q, 1))
	s.hugeUDP = mustPack(answer(q, hugeUDPRecords))
	s.hugeTCP = mustPack(answer(q, hugeTCPRecords))
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			s.pc = pc.(*net.UDPConn)
			s.Closes(pc)
			s.Go(s.serveUDP)
			s.Serve(ln, func(c net.Conn, _ int) { s.answerTCP(c) })
			return s
		}
		pc.Close()
	}
	tb.Fatal("no free port for UDP and TCP")
	return nil
}

func (s *rawDNS) addr() string { return s.pc.LocalAddr().String() }

func (s *rawDNS) queries() (udp, tcp int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.udp, s.tcp
}

// answer is the right answer to q: n A records for its name.
func answer(q *mdns.Msg, n int) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(q)
	m.RecursionAvailable = true
	m.Compress = true
	for range n {
		m.Answer = append(m.Answer, &mdns.A{
			Hdr: mdns.RR_Header{Name: q.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 300},
			A:   net.ParseIP(hostileRecordIP).To4(),
		})
	}
	return m
}

// withID returns a copy of the packed message p with the ID id.
func withID(p []byte, id uint16) []byte {
	c := append([]byte(nil), p...)
	binary.BigEndian.PutUint16(c, id)
	return c
}

func mustPack(m *mdns.Msg) []byte {
	p, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return p
}

// truncated is an empty answer to q with TC set.
func truncated(q *mdns.Msg) []byte {
	m := new(mdns.Msg)
	m.SetReply(q)
	m.Truncated = true
	return mustPack(m)
}

// pointerLoop is an answer to q whose one record's owner name is a
// compression pointer to itself (RFC 1035 §4.1.4).
func pointerLoop(q *mdns.Msg) []byte {
	p := mustPack(answer(q, 0))
	binary.BigEndian.PutUint16(p[6:], 1) // ANCOUNT
	off := len(p)
	return append(p, 0xc0|byte(off>>8), byte(off), 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1)
}

func (s *rawDNS) serveUDP() {
	buf := make([]byte, 65535)
	for {
		n, from, err := s.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		q := new(mdns.Msg)
		if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
			continue
		}
		s.mu.Lock()
		s.udp++
		s.mu.Unlock()
		s.Go(func() { s.answerUDP(q, from) })
	}
}

func (s *rawDNS) answerUDP(q *mdns.Msg, to netip.AddrPort) {
	send := func(p []byte) { s.pc.WriteToUDPAddrPort(p, to) }
	good := withID(s.good, q.Id)
	switch s.behave {
	case udpHuge:
		send(withID(s.hugeUDP, q.Id))
	case udpCut:
		send(good[:len(good)/2])
	case udpCutThenGood:
		send(good[:len(good)/2])
		send(good)
	case udpPointerLoop:
		send(pointerLoop(q))
	case udpWrongIDThen, udpWrongIDOnly:
		p := withID(s.good, q.Id+1)
		for i := range wrongIDBurst {
			if i%1000 == 0 {
				time.Sleep(time.Millisecond) // let the client drain its socket
			}
			send(p)
		}
		if s.behave == udpWrongIDThen {
			// The right answer, after a pause that lets the client
			// drain the forged ones; three times, in case the kernel
			// dropped one (duplicates are harmless).
			for range 3 {
				time.Sleep(20 * time.Millisecond)
				send(good)
			}
		}
	default: // the TCP rows
		send(truncated(q))
	}
}

func (s *rawDNS) answerTCP(c net.Conn) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var l [2]byte
	if _, err := c.Read(l[:]); err != nil {
		return
	}
	p := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, p); err != nil {
		return
	}
	q := new(mdns.Msg)
	if q.Unpack(p) != nil || len(q.Question) != 1 {
		return
	}
	s.mu.Lock()
	s.tcp++
	s.mu.Unlock()
	framed := func(p []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(p))), p...) }
	switch s.behave {
	case udpHuge: // over TCP the whole answer, as such a server would send it
		c.Write(framed(withID(s.hugeUDP, q.Id)))
	case tcpHuge:
		c.Write(framed(withID(s.hugeTCP, q.Id)))
	case tcpTruncated:
		m := answer(q, 1)
		m.Truncated = true
		c.Write(framed(mustPack(m)))
	case tcpCut:
		f := framed(withID(s.good, q.Id))
		c.Write(f[:len(f)/2])
		return
	case tcpStall:
		c.Write([]byte{0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	case tcpGarbage:
		c.Write(framed([]byte(strings.Repeat("\xff", 65535))))
	case tcpWrongID:
		c.Write(framed(withID(s.good, q.Id+1)))
	}
	// Hold the connection until the client or the test ends it.
	select {
	case <-s.Done():
	case <-readEOF(c):
	}
}

// readEOF returns a channel closed when c's peer closes it (or it fails).
func readEOF(c net.Conn) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		var b [512]byte
		for {
			if _, err := c.Read(b[:]); err != nil {
				return
			}
		}
	}()
	return ch
}

// errAny marks rows that want some error.
var errAny = errors.New("any error")

// TestHostileServer: DNS servers that send huge, cut, truncated, malformed
// or forged answers cost one attempt's timeout at most (plus a margin),
// bounded memory (a UDP read is bounded by maxUDPReceive, a TCP message by
// its 2-byte length, RFC 1035 §4.2.2), and end in a temporary failure or
// the real answer; answers with another ID are ignored over UDP (RFC 1035
// §4.1.1, RFC 5452 §9.1) and are an error over TCP; a truncated answer over
// TCP is no answer (RFC 2181 §9). No goroutine outlives a lookup.
func TestHostileServer(t *testing.T) {
	const (
		timeout = 2 * time.Second
		slow    = timeout + 3*time.Second // one attempt's timeout plus a margin for a loaded machine
		fast    = timeout                 // the fault is seen before the timeout could fire
		small   = 256 << 10               // 256 KiB: a few UDP buffers, no parsed flood
	)
	tests := []struct {
		name        string
		behave      string
		wantStatus  Status
		wantErr     error // nil: the answer is used
		wantRecords int
		wantTCP     int // queries over TCP
		maxTime     time.Duration
		maxAlloc    uint64
	}{
		{name: "48 KB answer over UDP, larger than asked for: asked again over TCP, the whole answer used (RFC 6891 §7, RFC 7766 §5)", behave: udpHuge, wantStatus: Insecure, wantRecords: hugeUDPRecords, wantTCP: 1, maxTime: fast, maxAlloc: 4 << 20},
		{name: "half an answer over UDP, nothing else: ignored, timeout", behave: udpCut, wantStatus: TempFail, wantErr: ErrTimeout, maxTime: slow, maxAlloc: small},
		{name: "half an answer over UDP, then the whole one: the whole one is used", behave: udpCutThenGood, wantStatus: Insecure, wantRecords: 1, maxTime: fast, maxAlloc: small},
		{name: "compression pointer loop over UDP: ignored, timeout (RFC 1035 §4.1.4)", behave: udpPointerLoop, wantStatus: TempFail, wantErr: ErrTimeout, maxTime: slow, maxAlloc: small},
		{name: "5000 answers with the wrong ID, then the right one: the right one is used (RFC 1035 §4.1.1)", behave: udpWrongIDThen, wantStatus: Insecure, wantRecords: 1, maxTime: slow, maxAlloc: small},
		{name: "5000 answers with the wrong ID only: ignored, timeout (RFC 5452 §9.1)", behave: udpWrongIDOnly, wantStatus: TempFail, wantErr: ErrTimeout, maxTime: slow, maxAlloc: small},
		{name: "truncated over UDP, 64 KB answer over TCP: used, bounded by the 2-byte length (RFC 7766 §8)", behave: tcpHuge, wantStatus: Insecure, wantRecords: hugeTCPRecords, wantTCP: 1, maxTime: fast, maxAlloc: 4 << 20},
		{name: "truncated over UDP and over TCP: no answer (RFC 2181 §9)", behave: tcpTruncated, wantStatus: TempFail, wantErr: ErrBadAnswer, wantTCP: 1, maxTime: fast, maxAlloc: small},
		{name: "half the announced bytes over TCP, then close: temporary failure", behave: tcpCut, wantStatus: TempFail, wantErr: errAny, wantTCP: 1, maxTime: fast, maxAlloc: small},
		{name: "65535 bytes announced over TCP, 10 sent: timeout", behave: tcpStall, wantStatus: TempFail, wantErr: ErrTimeout, wantTCP: 1, maxTime: slow, maxAlloc: small},
		{name: "65535 bytes of garbage over TCP: malformed answer", behave: tcpGarbage, wantStatus: TempFail, wantErr: ErrBadAnswer, wantTCP: 1, maxTime: fast, maxAlloc: 512 << 10},
		{name: "wrong ID over TCP: malformed answer (RFC 1035 §4.1.1)", behave: tcpWrongID, wantStatus: TempFail, wantErr: ErrBadAnswer, wantTCP: 1, maxTime: fast, maxAlloc: small},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks := hostiletest.LeakCheck(t)
			srv := startRawDNS(t, tt.behave)
			r := New(Config{Servers: []Server{{Addr: srv.addr()}}, Timeout: timeout, Attempts: 1, NoCache: true})
			var (
				res *Result
				err error
			)
			cost := hostiletest.Measure(func() { res, err = r.Lookup(t.Context(), "hostile.test", TypeA) })
			bound := hostiletest.Bound{Time: tt.maxTime, Alloc: tt.maxAlloc}
			t.Logf("%s: %v", cost.Against(bound), err)

			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Lookup error = %v, want the answer", err)
			case tt.wantErr == errAny && err == nil:
				t.Errorf("Lookup = no error, want one")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("Lookup error = %v, want %v", err, tt.wantErr)
			}
			if res.Status != tt.wantStatus || len(res.Records) != tt.wantRecords {
				t.Errorf("Lookup = %v with %d records, want %v with %d", res.Status, len(res.Records), tt.wantStatus, tt.wantRecords)
			}
			for _, rr := range res.Records {
				if rr.Data != hostileRecordIP {
					t.Errorf("record %q, want only %s (a forged answer was used)", rr.Data, hostileRecordIP)
					break
				}
			}
			cost.Check(t, "Lookup", bound)
			if udp, tcp := srv.queries(); udp != 1 || tcp != tt.wantTCP {
				t.Errorf("server got %d queries over UDP and %d over TCP, want 1 and %d", udp, tcp, tt.wantTCP)
			}
			srv.Stop()
			checkLeaks()
		})
	}
}

// cnameServer answers every query with a CNAME: name "self" points at
// itself, "a" and "b" at each other, "nN" at "n(N+1)" for ever, and "long"
// with a chain of 1000 CNAMEs in one answer (over UDP truncated, so that
// it comes over TCP).
type cnameServer struct {
	mu      sync.Mutex
	queries int
}

func (c *cnameServer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queries
}

func (c *cnameServer) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	c.mu.Lock()
	c.queries++
	c.mu.Unlock()
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Compress = true
	name := strings.ToLower(req.Question[0].Name)
	label, _, _ := strings.Cut(name, ".")
	cname := func(from, to string) {
		m.Answer = append(m.Answer, &mdns.CNAME{Hdr: mdns.RR_Header{Name: from, Rrtype: mdns.TypeCNAME, Class: mdns.ClassINET, Ttl: 300}, Target: to})
	}
	switch {
	case label == "self":
		cname(name, name)
	case label == "a":
		cname(name, "b.cname.test.")
	case label == "b":
		cname(name, "a.cname.test.")
	case label == "long":
		if w.LocalAddr().Network() != "tcp" {
			m.Truncated = true
			break
		}
		prev := name
		for i := range 1000 {
			next := fmt.Sprintf("l%d.cname.test.", i)
			cname(prev, next)
			prev = next
		}
	case strings.HasPrefix(label, "n"):
		var n int
		fmt.Sscanf(label, "n%d", &n)
		cname(name, fmt.Sprintf("n%d.cname.test.", n+1))
	}
	w.WriteMsg(m)
}

// TestHostileCNAME: CNAME loops and endless chains, within one answer or
// across queries, stop at once or after MaxCNAMEChain links (RFC 1034
// §3.6.2: a resolver must not loop on aliases), with a temporary failure,
// few queries and bounded time and memory.
func TestHostileCNAME(t *testing.T) {
	const timeout = 2 * time.Second
	tests := []struct {
		name        string
		qname       string
		wantErr     error
		wantQueries int
		maxTime     time.Duration
		maxAlloc    uint64
	}{
		{name: "a CNAME to itself: loop", qname: "self.cname.test", wantErr: ErrCNAMELoop, wantQueries: 1, maxTime: timeout, maxAlloc: 256 << 10},
		{name: "a -> b -> a across queries: loop", qname: "a.cname.test", wantErr: ErrCNAMELoop, wantQueries: 2, maxTime: timeout, maxAlloc: 256 << 10},
		{name: "a fresh alias at every query: stops after MaxCNAMEChain", qname: "n0.cname.test", wantErr: ErrCNAMEChain, wantQueries: MaxCNAMEChain + 1, maxTime: timeout, maxAlloc: 512 << 10},
		{name: "1000 CNAMEs in one 64 KB answer: stops after MaxCNAMEChain", qname: "long.cname.test", wantErr: ErrCNAMEChain, wantQueries: 2, maxTime: timeout, maxAlloc: 2 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Registered first, so run last: after the server's shutdown.
			t.Cleanup(hostiletest.LeakCheck(t))
			h := &cnameServer{}
			addr := dnstest.Serve(t, h)
			r := New(Config{Servers: []Server{{Addr: addr}}, Timeout: timeout, Attempts: 1, NoCache: true})
			var (
				res *Result
				err error
			)
			cost := hostiletest.Measure(func() { res, err = r.Lookup(t.Context(), tt.qname, TypeA) })
			bound := hostiletest.Bound{Time: tt.maxTime, Alloc: tt.maxAlloc}
			t.Logf("%s, %d queries: %v", cost.Against(bound), h.count(), err)
			if !errors.Is(err, tt.wantErr) || res.Status != TempFail {
				t.Errorf("Lookup(%s) = %v, %v; want TempFail, %v", tt.qname, res.Status, err, tt.wantErr)
			}
			if len(res.CNAMEs) > MaxCNAMEChain+1 {
				t.Errorf("Lookup(%s) followed %d CNAMEs, bound %d", tt.qname, len(res.CNAMEs), MaxCNAMEChain+1)
			}
			if n := h.count(); n != tt.wantQueries {
				t.Errorf("Lookup(%s) sent %d queries, want %d", tt.qname, n, tt.wantQueries)
			}
			cost.Check(t, "Lookup("+tt.qname+")", bound)
		})
	}
}
