package mtasts

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/segcli/segcli/internal/hostiletest"
	"github.com/segcli/segcli/internal/pkitest"
)

// Behaviours of a hostile policy host (hostileWeb.behave).
const (
	trickleHandshake = "trickle-handshake" // the TLS handshake, one byte a second
	trickleHead      = "trickle-head"      // status line and headers, one byte a second
	trickleBody      = "trickle-body"      // headers at once, then the policy one byte a second
	endlessChunked   = "endless-chunked"   // chunks for ever
	endlessClose     = "endless-close"     // a body without length, for ever
	tenMBLength      = "10mb-length"       // Content-Length: 10 MiB, and the 10 MiB
	tenMBChunked     = "10mb-chunked"      // 10 MiB in chunks, no Content-Length
	tenMBHeader      = "10mb-header"       // one header line of 10 MiB
	redirectLoop     = "redirect-loop"     // 301 to the same URL
	servePolicy      = "policy"            // a valid policy (for the certificate rows)
)

// tenMB is the size of the "10 MB" peers.
const tenMB = 10 << 20

// socketBuffer is the size of the socket buffers between a hostile host and
// the client.
const socketBuffer = 32 << 10

// hostileWeb is a policy host on 127.0.0.1 that speaks raw bytes over TLS,
// so that it can misbehave below HTTP: it reads one request, then does what
// behave says. Every write stops when the test ends.
type hostileWeb struct {
	*hostiletest.Peer
	addr   string
	behave string
	cert   *tls.Certificate
	policy string

	mu       sync.Mutex
	requests []string // request lines
}

// startHostileWeb runs a hostile policy host presenting cert; Stop ends it.
func startHostileWeb(tb testing.TB, behave string, cert *tls.Certificate, policy string) *hostileWeb {
	tb.Helper()
	h := &hostileWeb{Peer: hostiletest.New(tb), behave: behave, cert: cert, policy: policy}
	h.addr = h.Listen(tb, func(c net.Conn, _ int) {
		// Small socket buffers: a flooding host cannot be megabytes ahead
		// of the client, so the allocations measured are the client's,
		// not those of the host's writes it never reads.
		c.(*net.TCPConn).SetWriteBuffer(socketBuffer)
		h.serve(c)
	})
	return h
}

func (h *hostileWeb) requestCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

func (h *hostileWeb) serve(c net.Conn) {
	var raw net.Conn = c
	if h.behave == trickleHandshake {
		raw = h.DripConn(c, time.Second)
	}
	tc := tls.Server(raw, &tls.Config{Certificates: []tls.Certificate{*h.cert}})
	if err := tc.Handshake(); err != nil {
		return
	}
	br := bufio.NewReader(tc)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	h.mu.Lock()
	h.requests = append(h.requests, strings.TrimSpace(line))
	h.mu.Unlock()
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if l == "\r\n" {
			break
		}
	}
	const plain = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
	chunk := []byte(strings.Repeat("x", 16<<10))
	chunks := tenMB / len(chunk) // writes of chunk that make 10 MiB
	switch h.behave {
	case trickleHead:
		h.Drip(tc, []byte(plain+fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(h.policy), h.policy)), time.Second)
	case trickleBody:
		fmt.Fprintf(tc, "%sContent-Length: %d\r\n\r\n", plain, len(h.policy))
		h.Drip(tc, []byte(h.policy), time.Second)
	case endlessChunked:
		fmt.Fprint(tc, plain+"Transfer-Encoding: chunked\r\n\r\n")
		h.Flood(tc, []byte(fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk)), 0)
	case endlessClose:
		fmt.Fprint(tc, plain+"\r\n")
		h.Flood(tc, chunk, 0)
	case tenMBLength:
		fmt.Fprintf(tc, "%sContent-Length: %d\r\n\r\n", plain, tenMB)
		h.Flood(tc, chunk, chunks)
	case tenMBChunked:
		fmt.Fprint(tc, plain+"Transfer-Encoding: chunked\r\n\r\n")
		h.Flood(tc, []byte(fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk)), chunks)
		fmt.Fprint(tc, "0\r\n\r\n")
	case tenMBHeader:
		fmt.Fprint(tc, plain+"X-Junk: ")
		h.Flood(tc, chunk, chunks)
		fmt.Fprint(tc, "\r\n\r\n")
	case redirectLoop:
		fmt.Fprint(tc, "HTTP/1.1 301 Moved Permanently\r\nLocation: https://mta-sts.loop.test/.well-known/mta-sts.txt\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	case servePolicy:
		fmt.Fprintf(tc, "%sContent-Length: %d\r\n\r\n%s", plain, len(h.policy), h.policy)
	}
	// Hold the connection until the client or the test ends it, so that
	// the client decides when the exchange is over.
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	tc.Read(b[:])
}

// chain50 returns a server certificate for name at the end of a chain of 50
// intermediates under root: leaf, intermediate 50, ..., intermediate 1.
func chain50(tb testing.TB, root *pkitest.Cert, name string) *tls.Certificate {
	tb.Helper()
	parent := root
	var inter []*pkitest.Cert
	for i := 1; i <= 50; i++ {
		parent = pkitest.Issue(tb, pkitest.Spec{CN: fmt.Sprintf("intermediate %d", i), CA: true, NotBefore: validFrom, NotAfter: validUntil}, parent)
		inter = append(inter, parent)
	}
	leaf := pkitest.Issue(tb, pkitest.Spec{CN: name, DNSNames: []string{name}, NotBefore: validFrom, NotAfter: validUntil}, parent)
	for i, j := 0, len(inter)-1; i < j; i, j = i+1, j-1 {
		inter[i], inter[j] = inter[j], inter[i]
	}
	c := leaf.TLS(inter...)
	return &c
}

// maze50 returns a server certificate for name under 50 certificate
// authorities that all bear the same name, none trusted: a path builder
// that tries every candidate parent at every step would try 50^50 paths.
func maze50(tb testing.TB, name string) *tls.Certificate {
	tb.Helper()
	var cas []*pkitest.Cert
	var parent *pkitest.Cert
	for range 50 {
		parent = pkitest.Issue(tb, pkitest.Spec{CN: "maze CA", CA: true, NotBefore: validFrom, NotAfter: validUntil}, parent)
		cas = append(cas, parent)
	}
	leaf := pkitest.Issue(tb, pkitest.Spec{CN: name, DNSNames: []string{name}, NotBefore: validFrom, NotAfter: validUntil}, parent)
	c := leaf.TLS(cas...)
	return &c
}

// TestReadLimited: the body reader of the fetch stops one byte past the
// limit and grows its buffer at most once. RFC 8461 §3.3.
func TestReadLimited(t *testing.T) {
	const limit = 100
	tests := []struct {
		name    string
		in      string
		length  int64 // Content-Length, -1 when unknown
		want    int   // bytes returned
		wantCap int   // capacity of the buffer returned
	}{
		{name: "empty, length known", in: "", length: 0, want: 0, wantCap: 1},
		{name: "short, length unknown", in: "abc", length: -1, want: 3, wantCap: limit},
		{name: "short, length known", in: "abc", length: 3, want: 3, wantCap: 4},
		{name: "exactly the limit", in: strings.Repeat("x", limit), length: -1, want: limit, wantCap: limit},
		{name: "over the limit: one byte past it", in: strings.Repeat("x", 10*limit), length: -1, want: limit, wantCap: limit},
		{name: "over the limit, a short length announced", in: strings.Repeat("x", 10*limit), length: 5, want: limit, wantCap: limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readLimited(iotest.OneByteReader(strings.NewReader(tt.in)), tt.length, limit)
			if err != nil {
				t.Fatalf("readLimited(%d bytes, %d) error = %v", len(tt.in), tt.length, err)
			}
			if len(got) != tt.want || cap(got) != tt.wantCap || string(got) != tt.in[:tt.want] {
				t.Errorf("readLimited(%d bytes, %d) = %d bytes, cap %d; want %d, cap %d", len(tt.in), tt.length, len(got), cap(got), tt.want, tt.wantCap)
			}
		})
	}
}

// TestHostilePolicyHost: policy hosts that trickle, flood, redirect in a
// loop or present absurd certificate chains cost a bounded time (the fetch
// timeout, RFC 8461 §3.3: "senders SHOULD ... time out", with a margin; or
// well under it when the fault is seen at once) and a bounded memory (a few
// times MaxPolicySize, the 64 KiB limit of §3.3, whatever the peer sends),
// fail with the error that names the fault, and leave no goroutine behind.
func TestHostilePolicyHost(t *testing.T) {
	const (
		fetchTimeout = 2 * time.Second
		slow         = fetchTimeout + 3*time.Second // the timeout plus a margin for a loaded machine
		fast         = fetchTimeout                 // the fault is seen before the timeout could fire
		memBound     = 16 * MaxPolicySize           // 1 MiB: a tenth of a 10 MiB peer
		// 2 MiB where the cost is crypto/tls's or net/http's, bounded by
		// their own limits: 51 certificates parsed and verified (the
		// certificate message is at most 256 KiB), 64 KiB of headers
		// (Transport.MaxResponseHeaderBytes) read line by line.
		memLibrary = 32 * MaxPolicySize
	)
	w := newWorld(t)
	policy := policyText(ModeEnforce, 86400, "mx.example.test")
	root := w.ca.ca
	tests := []struct {
		name     string
		behave   string
		cert     string // "chain50", "untrusted50", "maze50"; default a leaf of the trusted CA
		wantErr  error  // errAny: some error; nil: the policy is fetched
		wantText string // in the error
		maxTime  time.Duration
		maxAlloc uint64
	}{
		{name: "trickles the TLS handshake one byte a second: timeout §3.3", behave: trickleHandshake, wantErr: ErrFetchTimeout, maxTime: slow, maxAlloc: memBound},
		{name: "trickles the status line one byte a second: timeout §3.3", behave: trickleHead, wantErr: ErrFetchTimeout, maxTime: slow, maxAlloc: memBound},
		{name: "trickles the body one byte a second: timeout §3.3", behave: trickleBody, wantErr: ErrFetchTimeout, maxTime: slow, maxAlloc: memBound},
		{name: "endless chunked body: 64 KiB read, then refused §3.3", behave: endlessChunked, wantErr: ErrTooLarge, maxTime: fast, maxAlloc: memBound},
		{name: "endless body until close: 64 KiB read, then refused §3.3", behave: endlessClose, wantErr: ErrTooLarge, maxTime: fast, maxAlloc: memBound},
		{name: "10 MiB body with its Content-Length: refused unread §3.3", behave: tenMBLength, wantErr: ErrTooLarge, wantText: "Content-Length 10485760", maxTime: fast, maxAlloc: memBound},
		{name: "10 MiB chunked body: 64 KiB read, then refused §3.3", behave: tenMBChunked, wantErr: ErrTooLarge, maxTime: fast, maxAlloc: memBound},
		{name: "10 MiB header line: refused after 64 KiB of headers", behave: tenMBHeader, wantErr: errAny, wantText: "headers exceeded", maxTime: fast, maxAlloc: memLibrary},
		{name: "redirects to itself: not followed, one request §3.3", behave: redirectLoop, wantErr: ErrRedirect, maxTime: fast, maxAlloc: memBound},
		{name: "chain 50 deep to the trusted root: verified, bounded §3.3", behave: servePolicy, cert: "chain50", maxTime: fast, maxAlloc: memLibrary},
		{name: "chain 50 deep to an untrusted root: refused §3.3", behave: servePolicy, cert: "untrusted50", wantErr: ErrCertificate, maxTime: fast, maxAlloc: memLibrary},
		{name: "50 authorities of one name (a path-building maze): refused §3.3", behave: servePolicy, cert: "maze50", wantErr: ErrCertificate, maxTime: fast, maxAlloc: memLibrary},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domain := fmt.Sprintf("hostile%d.test", i)
			host := "mta-sts." + domain
			w.domain(domain, "v=STSv1; id=1;", site{})
			var cert *tls.Certificate
			switch tt.cert {
			case "chain50":
				cert = chain50(t, root, host)
			case "untrusted50":
				cert = chain50(t, w.other.ca, host)
			case "maze50":
				cert = maze50(t, host)
			default:
				cert = w.ca.leaf(t, validUntil, host)
			}
			// Goroutines that exist now (the world's servers) may stay.
			checkLeaks := hostiletest.LeakCheck(t)
			peer := startHostileWeb(t, tt.behave, cert, policy)
			cfg := w.config()
			cfg.FetchTimeout = fetchTimeout
			cfg.Dial = func(ctx context.Context, network, addr, h string) (net.Conn, error) {
				if _, port, _ := net.SplitHostPort(addr); port != "443" || h != host {
					return nil, fmt.Errorf("test dialer: unexpected %s %s", h, addr)
				}
				var d net.Dialer
				c, err := d.DialContext(ctx, network, peer.addr)
				if err == nil {
					c.(*net.TCPConn).SetReadBuffer(socketBuffer)
				}
				return c, err
			}
			e := w.engine(cfg)

			var (
				f   fetched
				err error
			)
			cost := hostiletest.Measure(func() { f, err = e.fetch(t.Context(), domain, nil) })
			bound := hostiletest.Bound{Time: tt.maxTime, Alloc: tt.maxAlloc}
			t.Logf("%s: %v", cost.Against(bound), err)

			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("fetch(%s) error = %v, want the policy", domain, err)
			case tt.wantErr == nil && f.Text != policy:
				t.Errorf("fetch(%s) text = %q, want %q", domain, f.Text, policy)
			case tt.wantErr == errAny && err == nil:
				t.Errorf("fetch(%s) = no error, want one", domain)
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("fetch(%s) error = %v, want %v", domain, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("fetch(%s) error = %q, want it to hold %q", domain, err, tt.wantText)
			}
			cost.Check(t, "fetch("+domain+")", bound)
			if n := peer.requestCount(); tt.behave == redirectLoop && n != 1 {
				t.Errorf("the looping host got %d requests, want 1 (§3.3: redirects are not followed)", n)
			}
			peer.Stop()
			checkLeaks()
		})
	}
}
