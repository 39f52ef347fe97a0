package delivery

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
	"go.uber.org/goleak"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/internal/dnstest"
	"github.com/segcli/segcli/internal/hostiletest"
	"github.com/segcli/segcli/internal/pkitest"
)

// TestMain runs the crash test's child when asked, and otherwise fails the
// run when goroutines started by the tests are still running after them.
func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	goleak.VerifyTestMain(m)
}

// ---- certificates ----

var (
	validFrom  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	validUntil = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
)

// testCA issues certificates.
type testCA struct {
	ca  *pkitest.Cert
	pem []byte
}

func newCA(tb testing.TB, name string) *testCA {
	tb.Helper()
	ca := pkitest.Issue(tb, pkitest.Spec{CN: name, CA: true, NotBefore: validFrom, NotAfter: validUntil, Serial: 1}, nil)
	return &testCA{ca: ca, pem: ca.PEM()}
}

// leaf issues a server certificate for names (the first is the CN).
func (ca *testCA) leaf(tb testing.TB, names ...string) *tls.Certificate {
	tb.Helper()
	c := pkitest.Issue(tb, pkitest.Spec{CN: names[0], DNSNames: names, NotBefore: validFrom, NotAfter: validUntil}, ca.ca)
	tc := c.TLS()
	return &tc
}

// tlsa311 returns the "3 1 1" TLSA data of a certificate.
func tlsa311(c *tls.Certificate) string {
	sum := sha256.Sum256(c.Leaf.RawSubjectPublicKeyInfo)
	return "3 1 1 " + hex.EncodeToString(sum[:])
}

// ---- DNS: a validating resolver on 127.0.0.1 ----

// fakeSOA is the SOA of the fake resolver's one zone, test.: records come from
// the tests (w.dns.Add), SERVFAIL names from w.dns.SetSpecial and unsigned zones
// from w.dns.SetInsecure.
const fakeSOA = "test. 300 IN SOA ns.test. hostmaster.test. 1 7200 900 1209600 300"

// ---- policy hosts ----

// site is what mta-sts.DOMAIN serves; hang makes it never answer.
type site struct {
	body string
	hang bool
}

// policyServer serves every domain's policy over HTTPS, one certificate per
// SNI issued by the trusted CA.
type policyServer struct {
	srv *httptest.Server
	ca  *testCA
	tb  testing.TB

	mu    sync.Mutex
	sites map[string]site
	certs map[string]*tls.Certificate
	hits  map[string]int
}

func startPolicyServer(tb testing.TB, ca *testCA) *policyServer {
	p := &policyServer{ca: ca, tb: tb, sites: map[string]site{}, certs: map[string]*tls.Certificate{}, hits: map[string]int{}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.TLS = &tls.Config{GetCertificate: p.cert}
	p.srv.StartTLS()
	tb.Cleanup(p.srv.Close)
	return p
}

func (p *policyServer) cert(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.certs[hello.ServerName]; ok {
		return c, nil
	}
	c := p.ca.leaf(p.tb, hello.ServerName)
	p.certs[hello.ServerName] = c
	return c, nil
}

func (p *policyServer) hitCount(domain string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[domain]
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
	p.mu.Unlock()
	if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	if s.hang {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, s.body)
}

// ---- SMTP servers ----

// mxConf is how a test SMTP server behaves.
type mxConf struct {
	// cert, when set, is offered with STARTTLS.
	cert *tls.Certificate
	// refuseTLS answers 454 to STARTTLS; dropTLS closes after the 220.
	refuseTLS, dropTLS bool
	// rcpt gives the reply to RCPT TO for some addresses (default 250).
	rcpt map[string]string
	// size, when set, is announced with SIZE.
	size int
	// delay holds the reply to the end of each message's data.
	delay time.Duration
}

// mail is a message a server accepted.
type mail struct {
	from string
	to   []string
	data string
	tls  bool
	dcid int // the server's connection number, from 1
}

// mxServer is an SMTP server on 127.0.0.1 with STARTTLS.
type mxServer struct {
	*hostiletest.Peer
	host  string
	laddr string // the listener's address
	conf  mxConf

	mu       sync.Mutex
	mailFrom int // MAIL FROM commands seen
	mails    []mail
	snis     []string
	onMail   func(mail) // called when a message is accepted, before the 250
}

func startMX(tb testing.TB, host string, conf mxConf) *mxServer {
	tb.Helper()
	s := &mxServer{Peer: hostiletest.New(tb), host: host, conf: conf}
	s.laddr = s.Listen(tb, s.serve)
	return s
}

func (s *mxServer) addr() string { return s.laddr }

func (s *mxServer) stats() (conns, mailFrom int, mails []mail, snis []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Conns(), s.mailFrom, append([]mail(nil), s.mails...), append([]string(nil), s.snis...)
}

func (s *mxServer) serve(c net.Conn, n int) {
	defer c.Close()
	var conn net.Conn = c
	br := bufio.NewReader(conn)
	say := func(format string, args ...any) bool {
		conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err := fmt.Fprintf(conn, format+"\r\n", args...)
		return err == nil
	}
	if !say("220 %s ESMTP test", s.host) {
		return
	}
	var cur *mail
	tlsOn := false
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{s.host, "8BITMIME"}
			if s.conf.size > 0 {
				ext = append(ext, fmt.Sprintf("SIZE %d", s.conf.size))
			}
			if s.conf.cert != nil && !tlsOn {
				ext = append(ext, "STARTTLS")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				say("250%s%s", sep, e)
			}
		case "HELO":
			say("250 %s", s.host)
		case "STARTTLS":
			switch {
			case s.conf.cert == nil || tlsOn:
				say("502 5.5.1 not available")
				continue
			case s.conf.refuseTLS:
				say("454 4.7.0 TLS not available due to temporary reason")
				continue
			}
			say("220 2.0.0 Ready to start TLS")
			if s.conf.dropTLS {
				return
			}
			tc := tls.Server(conn, &tls.Config{
				Certificates: []tls.Certificate{*s.conf.cert},
				GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
					s.mu.Lock()
					s.snis = append(s.snis, hi.ServerName)
					s.mu.Unlock()
					return nil, nil
				},
			})
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			if tc.Handshake() != nil {
				return
			}
			tc.SetDeadline(time.Time{})
			conn, br, tlsOn = tc, bufio.NewReader(tc), true
		case "MAIL":
			s.mu.Lock()
			s.mailFrom++
			s.mu.Unlock()
			from := strings.TrimSuffix(strings.TrimPrefix(strings.Fields(arg + " x")[0], "FROM:<"), ">")
			cur = &mail{from: from, tls: tlsOn, dcid: n}
			say("250 2.1.0 ok")
		case "RCPT":
			to := strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">")
			if r, ok := s.conf.rcpt[to]; ok {
				say("%s", r)
				continue
			}
			if cur != nil {
				cur.to = append(cur.to, to)
			}
			say("250 2.1.5 ok")
		case "DATA":
			if cur == nil || len(cur.to) == 0 {
				say("554 5.5.1 no valid recipients")
				continue
			}
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, *cur)
			on := s.onMail
			s.mu.Unlock()
			if on != nil {
				on(*cur)
			}
			if s.conf.delay > 0 {
				time.Sleep(s.conf.delay)
			}
			cur = nil
			say("250 2.0.0 Ok: queued as %d", n)
		case "RSET":
			cur = nil
			say("250 2.0.0 ok")
		case "QUIT":
			say("221 2.0.0 bye")
			return
		default:
			say("500 5.5.2 what")
		}
	}
}

// ---- the world ----

// world is a validating resolver, policy hosts, SMTP servers, a mail log and
// a queue, all local.
type world struct {
	tb      testing.TB
	dns     *dnstest.Resolver
	dnsAddr string
	ca      *testCA // trusted
	rogue   *testCA // not trusted
	web     *policyServer
	log     *maillog.Memory
	pool    *trust.Pool
	fs      afero.Fs
	queue   *queue.Queue
	ids     *maillog.Counters

	mu     sync.Mutex
	mx     map[string]*mxServer // by host name
	dialed []string             // "host addr"
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	w := &world{
		tb: tb, dns: dnstest.NewResolver(dnstest.Options{Zone: fakeSOA}), ca: newCA(tb, "delivery test CA"), rogue: newCA(tb, "untrusted CA"),
		log: &maillog.Memory{Level: maillog.Debug}, mx: map[string]*mxServer{}, fs: afero.NewMemMapFs(),
		ids: maillog.NewMemoryCounters(),
	}
	w.dnsAddr = dnstest.Serve(tb, w.dns)
	w.web = startPolicyServer(tb, w.ca)
	pool, err := trust.New(trust.Options{Extra: [][]byte{w.ca.pem}})
	if err != nil {
		tb.Fatal(err)
	}
	w.pool = pool
	q, err := queue.Open(queue.Config{Fs: w.fs, Log: w.log, IDs: w.ids, Hostname: "esa.test"})
	if err != nil {
		tb.Fatal(err)
	}
	w.queue = q
	return w
}

// resolver asks the fake server only, without a cache.
func (w *world) resolver() *dns.Resolver {
	return dns.New(dns.Config{Servers: []dns.Server{{Addr: w.dnsAddr}}, Timeout: 500 * time.Millisecond, Attempts: 1, NoCache: true})
}

// dial sends port 443 to the policy server and port 25 to the SMTP server of
// host; only 127.0.0.1 is dialled.
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
	mx := w.mx[host]
	w.mu.Unlock()
	target := addr
	switch port {
	case "443":
		target = w.web.srv.Listener.Addr().String()
	case "25":
		if mx == nil {
			return nil, fmt.Errorf("test dialer: no SMTP server for %s", host)
		}
		target = mx.addr()
	}
	var d net.Dialer
	return d.DialContext(ctx, network, target)
}

// sts returns an MTA-STS engine on the world.
func (w *world) sts() *mtasts.Engine {
	e, err := mtasts.New(mtasts.Config{
		Resolver: w.resolver(), RootCAs: w.pool.CertPool(), Log: w.log, Dial: w.dial,
		ConnectTimeout: time.Second, FetchTimeout: 400 * time.Millisecond,
	})
	if err != nil {
		w.tb.Fatal(err)
	}
	return e
}

// engine returns a delivery engine on the world.
func (w *world) engine() *Engine {
	return New(Config{
		Resolver: w.resolver(), MTASTS: w.sts(), Trust: w.pool, Log: w.log, IDs: w.ids, Dial: w.dial,
		EHLOName: "esa.test", Timeout: 2 * time.Second, DataTimeout: 2 * time.Second,
	})
}

// addMX publishes "domain MX pref host", host's A record 127.0.0.1 and runs
// its SMTP server (once per host).
func (w *world) addMX(domain string, pref int, host string, conf mxConf) *mxServer {
	w.dns.Add(fmt.Sprintf("%s. 300 IN MX %d %s.", domain, pref, host))
	return w.addHost(host, conf)
}

// addHost publishes host's A record 127.0.0.1 and runs its SMTP server.
func (w *world) addHost(host string, conf mxConf) *mxServer {
	w.dns.Add(fmt.Sprintf("%s. 300 IN A 127.0.0.1", host))
	s := startMX(w.tb, host, conf)
	w.mu.Lock()
	w.mx[host] = s
	w.mu.Unlock()
	return s
}

// policy publishes an MTA-STS record and policy for domain.
func (w *world) policy(domain string, s site) {
	w.dns.Add(fmt.Sprintf(`_mta-sts.%s. 300 IN TXT "v=STSv1; id=20260101;"`, domain),
		fmt.Sprintf("mta-sts.%s. 300 IN A 127.0.0.1", domain))
	w.web.mu.Lock()
	w.web.sites[domain] = s
	w.web.mu.Unlock()
}

// policyText is a policy of mode for the mx patterns.
func policyText(mode string, mx ...string) string {
	var b strings.Builder
	b.WriteString("version: STSv1\nmode: " + mode + "\n")
	for _, m := range mx {
		b.WriteString("mx: " + m + "\n")
	}
	b.WriteString("max_age: 86400\n")
	return b.String()
}

// enqueue queues a test message from sender@esa.test.
func (w *world) enqueue(to ...string) queue.Message {
	w.tb.Helper()
	m, err := w.queue.Enqueue(context.Background(), queue.Envelope{From: "sender@esa.test", To: to},
		[]byte("From: sender@esa.test\r\nSubject: test\r\nMessage-ID: <t@esa.test>\r\n\r\nHello.\r\n.dot line\r\n"))
	if err != nil {
		w.tb.Fatal(err)
	}
	return m
}

// lines returns the log lines without their level, for comparison with
// wanted lines that hold the level ("Info: ...").
func (w *world) lines() []string { return w.log.Lines() }

// hasLine reports whether the log holds a line starting with prefix.
func (w *world) hasLine(prefix string) bool {
	for _, l := range w.log.Lines() {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
