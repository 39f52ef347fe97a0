package mtasts

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/dnstest"
	"github.com/segcli/segcli/internal/pkitest"
)

// TestMain fails the run when goroutines started by the tests are still
// running after them: servers, connections and prefetches must all end.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ---- DNS: a fake validating resolver on 127.0.0.1 ----

// fakeName is how the fake resolver answers for one name.
type fakeName struct {
	rrs      []string // zone-file records owned by the name
	servfail bool
	silent   bool
}

// fakeDNS answers from a zone that tests change as they go, and logs the
// questions it gets.
type fakeDNS struct {
	mu      sync.Mutex
	zone    map[string]*fakeName
	delay   time.Duration // added to every answer (benchmarks)
	queries []string      // "name TYPE"
}

const testSOA = "test. 60 IN SOA ns.test. hostmaster.test. 1 7200 900 1209600 60"

func newFakeDNS() *fakeDNS { return &fakeDNS{zone: make(map[string]*fakeName)} }

// add adds zone-file records ("a.test. 0 IN A 127.0.0.1").
func (f *fakeDNS) add(rrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range rrs {
		rr, err := mdns.NewRR(s)
		if err != nil {
			panic(fmt.Sprintf("bad test record %q: %v", s, err))
		}
		name := mdns.CanonicalName(rr.Header().Name)
		n := f.zone[name]
		if n == nil {
			n = &fakeName{}
			f.zone[name] = n
		}
		n.rrs = append(n.rrs, s)
	}
}

// set replaces the records of name with rrs (none: the name is removed).
func (f *fakeDNS) set(name string, rrs ...string) {
	f.mu.Lock()
	delete(f.zone, mdns.CanonicalName(name))
	f.mu.Unlock()
	f.add(rrs...)
}

// fail makes name answer SERVFAIL (servfail) or not at all (silent).
func (f *fakeDNS) fail(name string, servfail, silent bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.zone[mdns.CanonicalName(name)] = &fakeName{servfail: servfail, silent: silent}
}

func (f *fakeDNS) asked(q string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.queries {
		if s == q {
			return true
		}
	}
	return false
}

func (f *fakeDNS) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	name := mdns.CanonicalName(q.Name)
	f.mu.Lock()
	f.queries = append(f.queries, name+" "+mdns.TypeToString[q.Qtype])
	n := f.zone[name]
	var rrs []string
	if n != nil {
		rrs = append(rrs, n.rrs...)
	}
	delay := f.delay
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if n != nil && n.silent {
		return
	}
	m := new(mdns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	opt := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	opt.SetUDPSize(1232)
	m.Extra = append(m.Extra, opt)
	switch {
	case n == nil:
		m.Rcode = mdns.RcodeNameError
		m.Ns = append(m.Ns, mustRR(testSOA))
	case n.servfail:
		m.Rcode = mdns.RcodeServerFailure
	default:
		var cname mdns.RR
		for _, s := range rrs {
			rr := mustRR(s)
			switch rr.Header().Rrtype {
			case q.Qtype:
				m.Answer = append(m.Answer, rr)
			case mdns.TypeCNAME:
				cname = rr
			}
		}
		if len(m.Answer) == 0 && cname != nil {
			m.Answer = append(m.Answer, cname) // the resolver asks for the target
		}
		if len(m.Answer) == 0 {
			m.Ns = append(m.Ns, mustRR(testSOA))
		}
	}
	w.WriteMsg(m)
}

func mustRR(s string) mdns.RR {
	rr, err := mdns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

// ---- certificates ----

var (
	validFrom  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	validUntil = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
	expiredAt  = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
)

// testCA issues certificates for the tests.
type testCA struct {
	ca   *pkitest.Cert
	pool *x509.CertPool
}

func newCA(tb testing.TB, name string) *testCA {
	tb.Helper()
	ca := pkitest.Issue(tb, pkitest.Spec{CN: name, CA: true, NotBefore: validFrom, NotAfter: validUntil, Serial: 1}, nil)
	return &testCA{ca: ca, pool: pkitest.Pool(ca)}
}

// leaf issues a server certificate for names, valid from validFrom to
// notAfter. A nil ca makes it self-signed.
func (ca *testCA) leaf(tb testing.TB, notAfter time.Time, names ...string) *tls.Certificate {
	tb.Helper()
	var parent *pkitest.Cert
	if ca != nil {
		parent = ca.ca
	}
	c := pkitest.Issue(tb, pkitest.Spec{CN: names[0], DNSNames: names, NotBefore: validFrom, NotAfter: notAfter}, parent)
	return &tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key}
}

// ---- policy hosts: one HTTPS server, a virtual host per domain ----

// site is what mta-sts.DOMAIN serves.
type site struct {
	status  int               // default 200
	ctype   string            // default "text/plain"; "-" sends none
	body    string            // the policy
	headers map[string]string // extra headers
	// behave: "redirect" (301 to another host), "cl-oversize"
	// (Content-Length above the limit, then nothing), "chunked-oversize"
	// (70 KiB without Content-Length), "endless" (an endless chunked
	// body), "hang" (no answer until the client gives up).
	behave string
}

// policyServer serves every test domain's policy.
type policyServer struct {
	srv   *httptest.Server
	ca    *testCA
	tb    testing.TB
	delay time.Duration // before each write (benchmarks)

	mu     sync.Mutex
	sites  map[string]site             // by domain
	certs  map[string]*tls.Certificate // by SNI, overriding the default
	issued map[string]*tls.Certificate // default certificates, by SNI
	hits   map[string]int              // requests by domain
	seen   []string                    // "SNI Host METHOD path" of each request
	writes int                         // writes on the wire (benchmarks)

	stopped chan struct{} // closed when the test ends: hanging handlers return
}

func startPolicyServer(tb testing.TB, ca *testCA) *policyServer {
	tb.Helper()
	p := &policyServer{
		ca: ca, tb: tb,
		sites: map[string]site{}, certs: map[string]*tls.Certificate{},
		issued: map[string]*tls.Certificate{}, hits: map[string]int{},
		stopped: make(chan struct{}),
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Listener = &delayListener{Listener: p.srv.Listener, p: p}
	p.srv.TLS = &tls.Config{GetCertificate: p.cert, SessionTicketsDisabled: true}
	p.srv.StartTLS()
	tb.Cleanup(func() {
		close(p.stopped)
		p.srv.Close()
	})
	return p
}

func (p *policyServer) addr() string { return p.srv.Listener.Addr().String() }

func (p *policyServer) set(domain string, s site) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sites[domain] = s
}

func (p *policyServer) setCert(sni string, c *tls.Certificate) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.certs[sni] = c
}

func (p *policyServer) hitCount(domain string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[domain]
}

func (p *policyServer) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func (p *policyServer) cert(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.certs[hello.ServerName]; ok {
		return c, nil
	}
	if c, ok := p.issued[hello.ServerName]; ok {
		return c, nil
	}
	if hello.ServerName == "" {
		return nil, fmt.Errorf("no SNI")
	}
	c := p.ca.leaf(p.tb, validUntil, hello.ServerName)
	p.issued[hello.ServerName] = c
	return c, nil
}

func (p *policyServer) serve(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	domain := strings.TrimPrefix(host, "mta-sts.")
	p.mu.Lock()
	s, ok := p.sites[domain]
	p.hits[domain]++
	p.seen = append(p.seen, fmt.Sprintf("%s %s %s %s", r.TLS.ServerName, r.Host, r.Method, r.URL.Path))
	p.mu.Unlock()
	if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	for k, v := range s.headers {
		w.Header().Set(k, v)
	}
	switch s.ctype {
	case "":
		w.Header().Set("Content-Type", "text/plain")
	case "-":
		w.Header()["Content-Type"] = nil // no header, no sniffing
	default:
		w.Header().Set("Content-Type", s.ctype)
	}
	switch s.behave {
	case "redirect":
		http.Redirect(w, r, "https://mta-sts.good.test/.well-known/mta-sts.txt", http.StatusMovedPermanently)
		return
	case "hang":
		// Never answer: hold the request until the client has certainly given up
		// (well past any fetch timeout a test sets), then drop the connection
		// without a response, so that no early wake-up can ever send a 200.
		hold := time.NewTimer(2 * time.Second)
		defer hold.Stop()
		select {
		case <-hold.C:
		case <-p.stopped:
		}
		panic(http.ErrAbortHandler)
	case "cl-oversize":
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the body never comes: a client that reads it hangs
		return
	case "chunked-oversize", "endless":
		w.WriteHeader(http.StatusOK)
		line := "x" + strings.Repeat("y", 1022) + "\n"
		for i := 0; s.behave == "endless" || i < 70; i++ {
			if _, err := w.Write([]byte(line)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			if r.Context().Err() != nil {
				return
			}
		}
		return
	}
	if s.status != 0 {
		w.WriteHeader(s.status)
	}
	fmt.Fprint(w, s.body)
}

// delayListener adds the server's delay before every write on its
// connections, as if each reply crossed a slow network.
type delayListener struct {
	net.Listener
	p *policyServer
}

func (l *delayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &delayConn{Conn: c, p: l.p}, nil
}

type delayConn struct {
	net.Conn
	p *policyServer
}

func (c *delayConn) Write(b []byte) (int, error) {
	c.p.mu.Lock()
	d := c.p.delay
	c.p.writes++
	c.p.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	return c.Conn.Write(b)
}

// ---- MX hosts: SMTP servers with STARTTLS ----

// mxConf is how a test MX host behaves.
type mxConf struct {
	noSTARTTLS bool
	cert       *tls.Certificate // default: valid for the host, trusted CA
	maxVersion uint16
}

// mxServer is a minimal SMTP server: greeting, EHLO, STARTTLS, QUIT.
type mxServer struct {
	ln   net.Listener
	conf mxConf
	wg   sync.WaitGroup
	done chan struct{}

	mu  sync.Mutex
	sni []string
}

func startMX(tb testing.TB, host string, conf mxConf, ca *testCA) *mxServer {
	tb.Helper()
	if conf.cert == nil {
		conf.cert = ca.leaf(tb, validUntil, host)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &mxServer{ln: ln, conf: conf, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c, host)
			}()
		}
	}()
	tb.Cleanup(func() {
		close(s.done)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *mxServer) serve(c net.Conn, host string) {
	defer c.Close()
	stop := context.AfterFunc(doneCtx(s.done), func() { c.Close() })
	defer stop()
	var conn net.Conn = c
	br := bufio.NewReader(conn)
	fmt.Fprintf(conn, "220 %s ESMTP test\r\n", host)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			if s.conf.noSTARTTLS {
				fmt.Fprintf(conn, "250-%s\r\n250 SIZE 1000000\r\n", host)
			} else {
				fmt.Fprintf(conn, "250-%s\r\n250-SIZE 1000000\r\n250 STARTTLS\r\n", host)
			}
		case "STARTTLS":
			if s.conf.noSTARTTLS {
				fmt.Fprint(conn, "502 5.5.1 no\r\n")
				continue
			}
			fmt.Fprint(conn, "220 2.0.0 go ahead\r\n")
			tc := tls.Server(conn, &tls.Config{
				Certificates: []tls.Certificate{*s.conf.cert},
				MinVersion:   tls.VersionTLS10,
				MaxVersion:   s.conf.maxVersion,
				GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
					s.mu.Lock()
					s.sni = append(s.sni, hi.ServerName)
					s.mu.Unlock()
					return nil, nil
				},
			})
			if tc.Handshake() != nil {
				return
			}
			conn = tc
			br = bufio.NewReader(tc)
		case "QUIT":
			fmt.Fprint(conn, "221 2.0.0 bye\r\n")
			return
		default:
			fmt.Fprint(conn, "500 5.5.2 what\r\n")
		}
	}
}

func (s *mxServer) snis() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.sni...)
}

// doneCtx is a context cancelled when done is closed.
func doneCtx(done chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-done
		cancel()
	}()
	return ctx
}

// ---- the test world ----

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
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

// world is a DNS server, policy hosts, MX hosts and a clock, all local.
type world struct {
	tb        testing.TB
	dns       *fakeDNS
	dnsAddr   string
	ca, other *testCA
	web       *policyServer
	clock     *fakeClock
	log       *maillog.Memory
	silent    string // a TCP listener that accepts and never speaks

	mu        sync.Mutex
	mx        map[string]*mxServer // by host name
	dialDelay time.Duration        // before each connect (benchmarks)
	dialed    []string             // "host addr" of each connection
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	w := &world{
		tb:    tb,
		dns:   newFakeDNS(),
		ca:    newCA(tb, "segcli test CA"),
		other: newCA(tb, "untrusted test CA"),
		clock: &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		log:   &maillog.Memory{Level: maillog.Trace},
		mx:    map[string]*mxServer{},
	}
	w.dnsAddr = dnstest.Serve(tb, w.dns)
	w.web = startPolicyServer(tb, w.ca)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	w.silent = ln.Addr().String()
	var conns []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return w
}

// resolver returns a resolver on the fake server, without a cache so that
// zone changes show at once.
func (w *world) resolver(cache bool) *dns.Resolver {
	return dns.New(dns.Config{
		Servers:  []dns.Server{{Addr: w.dnsAddr}},
		Timeout:  300 * time.Millisecond,
		Attempts: 1,
		NoCache:  !cache,
		Now:      w.clock.Now,
	})
}

// config is the engine configuration of the tests: short timeouts, the
// world's clock, log and dialer, the trusted test CA.
func (w *world) config() Config {
	return Config{
		Resolver:       w.resolver(false),
		RootCAs:        w.ca.pool,
		Log:            w.log,
		Now:            w.clock.Now,
		ConnectTimeout: time.Second,
		FetchTimeout:   2 * time.Second,
		ProbeTimeout:   2 * time.Second,
		EHLOName:       "esa.test",
		Dial:           w.dial,
	}
}

func (w *world) engine(cfg Config) *Engine {
	w.tb.Helper()
	e, err := New(cfg)
	if err != nil {
		w.tb.Fatal(err)
	}
	return e
}

// dial sends port 443 to the policy server (mta-sts.hang-tls.test to the
// silent listener), port 25 to the MX server of host, any other port where
// it says. Only 127.0.0.1 is ever dialled.
func (w *world) dial(ctx context.Context, network, addr, host string) (net.Conn, error) {
	ip, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip != "127.0.0.1" {
		return nil, fmt.Errorf("test dialer: %s is not 127.0.0.1", addr)
	}
	w.mu.Lock()
	w.dialed = append(w.dialed, host+" "+addr)
	delay := w.dialDelay
	mx := w.mx[host]
	w.mu.Unlock()
	target := addr
	switch port {
	case "443":
		target = w.web.addr()
		if host == "mta-sts.hang-tls.test" {
			target = w.silent
		}
	case "25":
		if mx == nil {
			return nil, fmt.Errorf("test dialer: no MX server for %s", host)
		}
		target = mx.ln.Addr().String()
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, target)
}

// domain publishes an MTA-STS domain: the TXT record (none when txt is
// ""), mta-sts.DOMAIN on 127.0.0.1, and the policy s.
func (w *world) domain(d, txt string, s site) {
	if txt != "" {
		w.dns.set("_mta-sts."+d+".", fmt.Sprintf("_mta-sts.%s. 0 IN TXT %q", d, txt))
	}
	w.dns.set("mta-sts."+d+".", "mta-sts."+d+". 0 IN A 127.0.0.1")
	w.web.set(d, s)
}

// addMX adds an MX record for d and runs an SMTP server for host.
func (w *world) addMX(d string, pref int, host string, conf mxConf) *mxServer {
	w.dns.add(fmt.Sprintf("%s. 0 IN MX %d %s.", d, pref, host))
	w.dns.set(host+".", host+". 0 IN A 127.0.0.1")
	s := startMX(w.tb, host, conf, w.ca)
	w.mu.Lock()
	w.mx[host] = s
	w.mu.Unlock()
	return s
}

// policyText is an enforce policy for the mx patterns given.
func policyText(mode Mode, maxAge int, mx ...string) string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + string(mode) + "\r\n")
	for _, m := range mx {
		b.WriteString("mx: " + m + "\r\n")
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", maxAge)
	return b.String()
}

// hasLine reports whether the log holds a line containing s.
func hasLine(log *maillog.Memory, s string) bool {
	for _, l := range log.Lines() {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
