package dns

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/segcli/segcli/internal/dnstest"
)

// fakeName is how the fake validating resolver answers for one name.
type fakeName struct {
	rrs        []string // records in zone-file form, owned by the name
	ad         bool     // AD bit in answers
	rcode      int      // forced response code (SERVFAIL, REFUSED, NXDOMAIN)
	ede        []uint16 // Extended DNS Errors to attach
	cdOK       bool     // with CD set, answer normally despite rcode
	silent     bool     // never answer
	truncUDP   bool     // over UDP, answer truncated and empty
	chase      bool     // follow CNAMEs inside the answer, as a recursor does
	soa        string   // SOA for negative answers (default defaultSOA)
	noSOA      bool     // negative answers without SOA
	strayFirst bool     // over UDP, send a wrong ID, a wrong question and garbage first
}

// defaultSOA gives a negative TTL of min(3600, 900) = 900 (RFC 2308 §5).
const defaultSOA = "test. 3600 IN SOA ns.test. hostmaster.test. 1 7200 900 1209600 900"

// testZone is what the fake resolver knows. Names under unsigned.test. that
// do not exist get an NXDOMAIN without AD; other missing names get a secure
// NXDOMAIN.
var testZone = map[string]fakeName{
	"secure.test.": {ad: true, rrs: []string{
		"secure.test. 300 IN A 192.0.2.1",
		"secure.test. 300 IN AAAA 2001:db8::1",
		`secure.test. 300 IN TXT "hello"`,
	}},
	"insecure.test.":    {rrs: []string{"insecure.test. 300 IN A 192.0.2.2"}},
	"bogus.test.":       {rcode: mdns.RcodeServerFailure, ede: []uint16{6}, rrs: []string{"bogus.test. 300 IN A 192.0.2.66"}},
	"expired.test.":     {rcode: mdns.RcodeServerFailure, ede: []uint16{7}},
	"servfail-cd.test.": {rcode: mdns.RcodeServerFailure, cdOK: true, rrs: []string{"servfail-cd.test. 300 IN A 192.0.2.3"}},
	"servfail.test.":    {rcode: mdns.RcodeServerFailure},
	"unreachable.test.": {rcode: mdns.RcodeServerFailure, ede: []uint16{22}},
	"refused.test.":     {rcode: mdns.RcodeRefused},
	"timeout.test.":     {silent: true},
	"stale.test.":       {ede: []uint16{3}, rrs: []string{"stale.test. 300 IN A 192.0.2.6"}},
	"stray.test.":       {strayFirst: true, ad: true, rrs: []string{"stray.test. 300 IN A 192.0.2.5"}},
	"ttl0.test.":        {ad: true, rrs: []string{"ttl0.test. 0 IN A 192.0.2.7"}},
	"nosoa.test.":       {rcode: mdns.RcodeNameError, noSOA: true},
	"nodata.test.":      {soa: "test. 120 IN SOA ns.test. hostmaster.test. 1 7200 900 1209600 600", rrs: []string{"nodata.test. 300 IN A 192.0.2.4"}},
	"unsigned.test.":    {rrs: []string{"unsigned.test. 300 IN A 192.0.2.8"}},
	"big.test.":         {truncUDP: true, ad: true, rrs: bigTXT()},
	"txt.test.":         {ad: true, rrs: []string{`txt.test. 300 IN TXT "v=STSv1; " "id=20240101"`, `txt.test. 300 IN TXT "say \"hi\"" " there"`}},
	"mx.test.":          {ad: true, rrs: []string{"mx.test. 300 IN MX 20 b.mx.test.", "mx.test. 300 IN MX 10 A.MX.test.", "mx.test. 300 IN MX 10 a2.mx.test."}},
	"nullmx.test.":      {ad: true, rrs: []string{"nullmx.test. 300 IN MX 0 ."}},
	"_25._tcp.mx.test.": {ad: true, rrs: []string{"_25._tcp.mx.test. 300 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
	"cname.test.":       {ad: true, chase: true, rrs: []string{"cname.test. 300 IN CNAME mid.test."}},
	"mid.test.":         {ad: true, chase: true, rrs: []string{"mid.test. 200 IN CNAME secure.test."}},
	"alias.test.":       {ad: true, rrs: []string{"alias.test. 300 IN CNAME secure.test."}},
	"alias2.test.":      {ad: true, rrs: []string{"alias2.test. 300 IN CNAME insecure.test."}},
	"alias-nx.test.":    {ad: true, chase: true, rrs: []string{"alias-nx.test. 300 IN CNAME gone.test."}},
	"loop1.test.":       {ad: true, rrs: []string{"loop1.test. 300 IN CNAME loop2.test."}},
	"loop2.test.":       {ad: true, rrs: []string{"loop2.test. 300 IN CNAME loop1.test."}},
	"loopa.test.":       {ad: true, chase: true, rrs: []string{"loopa.test. 300 IN CNAME loopb.test."}},
	"loopb.test.":       {ad: true, chase: true, rrs: []string{"loopb.test. 300 IN CNAME loopa.test."}},
	"chain0.test.":      {ad: true, chase: true, rrs: []string{"chain0.test. 300 IN CNAME chain1.test."}},
	"chain1.test.":      {ad: true, chase: true, rrs: []string{"chain1.test. 300 IN CNAME chain2.test."}},
	"chain2.test.":      {ad: true, chase: true, rrs: []string{"chain2.test. 300 IN CNAME chain3.test."}},
	"chain3.test.":      {ad: true, chase: true, rrs: []string{"chain3.test. 300 IN CNAME chain4.test."}},
	"chain4.test.":      {ad: true, chase: true, rrs: []string{"chain4.test. 300 IN CNAME chain5.test."}},
	"chain5.test.":      {ad: true, chase: true, rrs: []string{"chain5.test. 300 IN CNAME chain6.test."}},
	"chain6.test.":      {ad: true, chase: true, rrs: []string{"chain6.test. 300 IN CNAME chain7.test."}},
	"chain7.test.":      {ad: true, chase: true, rrs: []string{"chain7.test. 300 IN CNAME chain8.test."}},
	"chain8.test.":      {ad: true, chase: true, rrs: []string{"chain8.test. 300 IN CNAME chain9.test."}},
	"chain9.test.":      {ad: true, chase: true, rrs: []string{"chain9.test. 300 IN CNAME secure.test."}},
}

func bigTXT() []string {
	var out []string
	for i := range 40 {
		out = append(out, fmt.Sprintf(`big.test. 300 IN TXT "record %02d %s"`, i, strings.Repeat("x", 60)))
	}
	return out
}

// fakeDNS plays a validating recursive resolver for testZone and counts the
// queries that reach it.
type fakeDNS struct {
	mu     sync.Mutex
	counts map[string]int // "name TYPE", with " cd" and " tcp" when so
	last   *mdns.Msg
}

func newFakeDNS() *fakeDNS { return &fakeDNS{counts: make(map[string]int)} }

// count returns how many queries for key ("secure.test. A", "big.test. TXT
// tcp") reached the server.
func (f *fakeDNS) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[key]
}

func (f *fakeDNS) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.counts {
		n += c
	}
	return n
}

func (f *fakeDNS) lastQuery() *mdns.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func mustRR(s string) mdns.RR {
	rr, err := mdns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

func (f *fakeDNS) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	qname := strings.ToLower(q.Name)
	tcp := w.LocalAddr().Network() == "tcp"
	key := qname + " " + TypeString(q.Qtype)
	if req.CheckingDisabled {
		key += " cd"
	}
	if tcp {
		key += " tcp"
	}
	f.mu.Lock()
	f.counts[key]++
	f.last = req.Copy()
	f.mu.Unlock()

	z, exists := testZone[qname]
	if z.silent {
		return
	}
	m := new(mdns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	opt := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	opt.SetUDPSize(1232)
	if ro := req.IsEdns0(); ro != nil && ro.Do() {
		opt.SetDo()
	}
	for _, code := range z.ede {
		opt.Option = append(opt.Option, &mdns.EDNS0_EDE{InfoCode: code, ExtraText: "fake " + qname})
	}
	m.Extra = append(m.Extra, opt)

	if z.rcode != 0 && !(z.cdOK && req.CheckingDisabled) {
		m.Rcode = z.rcode
		if z.rcode == mdns.RcodeNameError && !z.noSOA {
			m.Ns = append(m.Ns, mustRR(defaultSOA))
		}
		w.WriteMsg(m)
		return
	}
	if z.truncUDP && !tcp {
		m.Truncated = true
		w.WriteMsg(m)
		return
	}
	m.AuthenticatedData = z.ad || (!exists && !strings.HasSuffix(qname, ".unsigned.test."))
	cur := qname
	for range 12 {
		cz, ok := testZone[cur]
		if !ok {
			m.Rcode = mdns.RcodeNameError
			m.Ns = append(m.Ns, mustRR(defaultSOA))
			break
		}
		var cname mdns.RR
		found := false
		for _, s := range cz.rrs {
			rr := mustRR(s)
			switch {
			case rr.Header().Rrtype == q.Qtype:
				m.Answer = append(m.Answer, rr)
				found = true
			case rr.Header().Rrtype == mdns.TypeCNAME:
				cname = rr
			}
		}
		if found {
			break
		}
		if cname != nil {
			m.Answer = append(m.Answer, cname)
			if !z.chase {
				break
			}
			cur = mdns.CanonicalName(cname.(*mdns.CNAME).Target)
			continue
		}
		switch {
		case cz.noSOA:
		case cz.soa != "":
			m.Ns = append(m.Ns, mustRR(cz.soa))
		default:
			m.Ns = append(m.Ns, mustRR(defaultSOA))
		}
		break
	}
	if z.strayFirst && !tcp {
		wrongID := m.Copy()
		wrongID.Id++
		wrongID.Answer = []mdns.RR{mustRR("stray.test. 300 IN A 203.0.113.1")}
		w.WriteMsg(wrongID)
		wrongQ := m.Copy()
		wrongQ.Question[0].Name = "other.test."
		wrongQ.Answer = []mdns.RR{mustRR("stray.test. 300 IN A 203.0.113.2")}
		w.WriteMsg(wrongQ)
		w.Write([]byte{0, 1, 2, 3})
	}
	w.WriteMsg(m)
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testResolver starts a fake server and returns a resolver that uses it,
// with short timeouts.
func testResolver(tb testing.TB, cfg Config) (*Resolver, *fakeDNS, string) {
	tb.Helper()
	f := newFakeDNS()
	addr := dnstest.Serve(tb, f)
	cfg.Servers = append(cfg.Servers, Server{Addr: addr})
	if cfg.Timeout == 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	return New(cfg), f, addr
}
