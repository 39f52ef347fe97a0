package dane

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/internal/pkitest"
)

// now is the tests' clock.
var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// cert is a generated certificate with its key.
type cert struct {
	x509 *x509.Certificate
	key  *ecdsa.PrivateKey
}

// certSpec says what to generate.
type certSpec struct {
	cn        string
	dnsNames  []string
	ca        bool
	notBefore time.Time
	notAfter  time.Time
}

// newCert issues a certificate for spec, signed by parent (self-signed when
// parent is nil), valid for a year either side of now unless spec says.
func newCert(tb testing.TB, spec certSpec, parent *cert) cert {
	tb.Helper()
	nb, na := spec.notBefore, spec.notAfter
	if nb.IsZero() {
		nb = now.Add(-365 * 24 * time.Hour)
	}
	if na.IsZero() {
		na = now.Add(365 * 24 * time.Hour)
	}
	var p *pkitest.Cert
	if parent != nil {
		p = &pkitest.Cert{Cert: parent.x509, Key: parent.key}
	}
	c := pkitest.Issue(tb, pkitest.Spec{CN: spec.cn, DNSNames: spec.dnsNames, CA: spec.ca, NotBefore: nb, NotAfter: na}, p)
	return cert{c.Cert, c.Key}
}

// pki is the set of certificates the tests use.
type pki struct {
	root, inter        cert // the CA chain
	leaf               cert // mx.example.test, issued by inter
	wrongName          cert // other.example.test, issued by inter
	expired            cert // mx.example.test, expired yesterday
	nextHop            cert // example.test only
	wildcard           cert // *.example.test
	provider           cert // mx.provider.test (a CNAME target)
	cnOnly             cert // no subjectAltName, CN mx.example.test
	selfSigned         cert // mx.example.test, self-signed, not a CA
	rogueInter         cert // same name as inter, another key
	rogueLeaf          cert // mx.example.test, issued by rogueInter
	expiredInter       cert // an intermediate that expired, issued by root
	leafOfExpiredInter cert // mx.example.test, issued by expiredInter
}

// testPKI generates the certificates (ECDSA P-256: fast).
func testPKI(tb testing.TB) pki {
	tb.Helper()
	var p pki
	p.root = newCert(tb, certSpec{cn: "DANE Test Root", ca: true}, nil)
	p.inter = newCert(tb, certSpec{cn: "DANE Test Intermediate", ca: true}, &p.root)
	p.leaf = newCert(tb, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}}, &p.inter)
	p.wrongName = newCert(tb, certSpec{cn: "other.example.test", dnsNames: []string{"other.example.test"}}, &p.inter)
	p.expired = newCert(tb, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"},
		notBefore: now.Add(-400 * 24 * time.Hour), notAfter: now.Add(-24 * time.Hour)}, &p.inter)
	p.nextHop = newCert(tb, certSpec{cn: "example.test", dnsNames: []string{"example.test"}}, &p.inter)
	p.wildcard = newCert(tb, certSpec{cn: "*.example.test", dnsNames: []string{"*.example.test"}}, &p.inter)
	p.provider = newCert(tb, certSpec{cn: "mx.provider.test", dnsNames: []string{"mx.provider.test"}}, &p.inter)
	p.cnOnly = newCert(tb, certSpec{cn: "mx.example.test"}, &p.inter)
	p.selfSigned = newCert(tb, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}}, nil)
	p.rogueInter = newCert(tb, certSpec{cn: "DANE Test Intermediate", ca: true}, nil)
	p.rogueLeaf = newCert(tb, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}}, &p.rogueInter)
	p.expiredInter = newCert(tb, certSpec{cn: "DANE Expired Intermediate", ca: true,
		notBefore: now.Add(-400 * 24 * time.Hour), notAfter: now.Add(-24 * time.Hour)}, &p.root)
	p.leafOfExpiredInter = newCert(tb, certSpec{cn: "mx.example.test", dnsNames: []string{"mx.example.test"}}, &p.expiredInter)
	return p
}

// rec returns the TLSA record usage selector mtype for c.
func rec(usage, selector, mtype uint8, c cert) dns.TLSA {
	data := selected(c.x509, selector)
	switch mtype {
	case MatchSHA256:
		s := sha256.Sum256(data)
		data = s[:]
	case MatchSHA512:
		s := sha512.Sum512(data)
		data = s[:]
	}
	return dns.TLSA{Usage: usage, Selector: selector, MatchingType: mtype, Data: append([]byte(nil), data...)}
}

// wrong returns t with its data altered.
func wrong(t dns.TLSA) dns.TLSA {
	t.Data = append([]byte(nil), t.Data...)
	t.Data[len(t.Data)-1] ^= 0xff
	return t
}

// chainOf returns the x509 certificates of certs.
func chainOf(certs ...cert) []*x509.Certificate {
	out := make([]*x509.Certificate, len(certs))
	for i, c := range certs {
		out[i] = c.x509
	}
	return out
}

// tlsServer is a TLS listener on 127.0.0.1 that presents a chain and
// remembers the SNI of the last handshake.
type tlsServer struct {
	addr string
	mu   sync.Mutex
	sni  string
}

func (s *tlsServer) lastSNI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sni
}

// startTLS serves chain (leaf first, signed with the leaf's key) on
// 127.0.0.1:0 until the test ends. maxVersion 0 means the default.
func startTLS(tb testing.TB, maxVersion uint16, chain ...cert) *tlsServer {
	tb.Helper()
	tc := tls.Certificate{PrivateKey: chain[0].key, Leaf: chain[0].x509}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.x509.Raw)
	}
	s := &tlsServer{}
	cfg := &tls.Config{Certificates: []tls.Certificate{tc}, MaxVersion: maxVersion}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		s.mu.Lock()
		s.sni = hello.ServerName
		s.mu.Unlock()
		return nil, nil
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		tb.Fatal(err)
	}
	s.addr = l.Addr().String()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					// Wait for the client to close, so that it reads
					// the whole handshake.
					c.Read(make([]byte, 1))
				}
			}()
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return s
}

// handshake dials addr and runs a TLS handshake with cfg.
func handshake(tb testing.TB, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, cfg)
	err = c.HandshakeContext(ctx)
	return c.ConnectionState(), err
}

// fakeDNS plays a validating recursive resolver on 127.0.0.1: it chases
// CNAMEs as a recursor does, sets AD when every name of the answer is in a
// signed zone, answers SERVFAIL with EDE 6 (DNSSEC Bogus, RFC 8914 §4.7) for
// bogus names and a plain SERVFAIL (also with CD) for failing ones.
type fakeDNS struct {
	rrs      map[string][]mdns.RR // by owner name
	unsigned []string             // names, and the names under them, in unsigned zones
	bogus    map[string]bool      // "name" or "name TYPE"
	servfail map[string]bool      // "name" or "name TYPE"
	silent   map[string]bool      // "name" or "name TYPE": never answered

	mu      sync.Mutex
	queries map[string]int // "name TYPE"
}

// newFakeDNS builds the resolver's data from zone-file lines.
func newFakeDNS(tb testing.TB, zone []string) *fakeDNS {
	tb.Helper()
	f := &fakeDNS{rrs: make(map[string][]mdns.RR), bogus: make(map[string]bool), servfail: make(map[string]bool), silent: make(map[string]bool), queries: make(map[string]int)}
	for _, line := range zone {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		rr, err := mdns.NewRR(line)
		if err != nil {
			tb.Fatalf("zone line %q: %v", line, err)
		}
		name := mdns.CanonicalName(rr.Header().Name)
		f.rrs[name] = append(f.rrs[name], rr)
	}
	return f
}

// asked returns how many queries for "name TYPE" reached the server.
func (f *fakeDNS) asked(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[key]
}

// reset forgets the queries counted so far.
func (f *fakeDNS) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.queries)
}

func (f *fakeDNS) insecure(name string) bool {
	for _, u := range f.unsigned {
		if name == u || strings.HasSuffix(name, "."+u) {
			return true
		}
	}
	return false
}

func (f *fakeDNS) exists(name string) bool {
	for owner := range f.rrs {
		if owner == name || strings.HasSuffix(owner, "."+name) {
			return true
		}
	}
	return false
}

const fakeSOA = "test. 300 IN SOA ns.test. hostmaster.test. 1 7200 900 1209600 300"

func (f *fakeDNS) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	qtype := dns.TypeString(q.Qtype)
	f.mu.Lock()
	f.queries[mdns.CanonicalName(q.Name)+" "+qtype]++
	f.mu.Unlock()

	m := new(mdns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	opt := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	opt.SetUDPSize(1232)
	if o := req.IsEdns0(); o != nil && o.Do() {
		opt.SetDo()
	}
	m.Extra = append(m.Extra, opt)
	secure := true
	cur := mdns.CanonicalName(q.Name)
	for range 10 {
		if f.bogus[cur] || f.bogus[cur+" "+qtype] {
			m.Answer = nil
			m.Rcode = mdns.RcodeServerFailure
			opt.Option = append(opt.Option, &mdns.EDNS0_EDE{InfoCode: mdns.ExtendedErrorCodeDNSBogus, ExtraText: "fake bogus " + cur})
			w.WriteMsg(m)
			return
		}
		if f.silent[cur] || f.silent[cur+" "+qtype] {
			return
		}
		if f.servfail[cur] || f.servfail[cur+" "+qtype] {
			m.Answer = nil
			m.Rcode = mdns.RcodeServerFailure
			w.WriteMsg(m)
			return
		}
		secure = secure && !f.insecure(cur)
		var cname mdns.RR
		found := false
		for _, rr := range f.rrs[cur] {
			switch rr.Header().Rrtype {
			case q.Qtype:
				m.Answer = append(m.Answer, rr)
				found = true
			case mdns.TypeCNAME:
				cname = rr
			}
		}
		if found {
			break
		}
		if cname != nil {
			m.Answer = append(m.Answer, cname)
			cur = mdns.CanonicalName(cname.(*mdns.CNAME).Target)
			continue
		}
		if !f.exists(cur) {
			m.Rcode = mdns.RcodeNameError
		}
		soa, _ := mdns.NewRR(fakeSOA)
		m.Ns = append(m.Ns, soa)
		break
	}
	m.AuthenticatedData = secure
	w.WriteMsg(m)
}

// newResolver returns an engine/dns resolver that asks only addr.
func newResolver(addr string, cache bool) *dns.Resolver {
	return dns.New(dns.Config{
		Servers:  []dns.Server{{Addr: addr}},
		Timeout:  500 * time.Millisecond,
		Attempts: 1,
		Now:      clock,
		NoCache:  !cache,
	})
}

// untrusted plays a resolver whose AD bit is not trusted: engine/dns then
// reports Insecure whatever the server says (RFC 4035 §4.9.3; tested there).
type untrusted struct{ r Resolver }

func (u untrusted) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Result, error) {
	res, err := u.r.Lookup(ctx, name, qtype)
	if res.Status == dns.Secure {
		res.Status = dns.Insecure
	}
	for i := range res.Steps {
		if res.Steps[i].Status == dns.Secure {
			res.Steps[i].Status = dns.Insecure
		}
	}
	return res, err
}
