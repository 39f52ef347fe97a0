package mtasts

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFetch: RFC 8461 §3.2, §3.3, §7.1, against HTTPS policy hosts on
// 127.0.0.1 with certificates from a test CA.
func TestFetch(t *testing.T) {
	w := newWorld(t)
	good := policyText(ModeEnforce, 86400, "mx.example.test")
	// A body of exactly MaxPolicySize bytes that parses.
	pad := strings.Repeat("x", 1000)
	exact := good
	for len(exact)+2000 < MaxPolicySize {
		exact += "pad: " + pad + "\r\n"
	}
	exact += "z: " + strings.Repeat("y", MaxPolicySize-len(exact)-5) + "\r\n"

	tests := []struct {
		name       string
		domain     string
		site       site
		wantErr    error
		wantStatus int
	}{
		{name: "c15 GET with SNI mta-sts.DOMAIN §3.2 §7.1", domain: "c15.test", site: site{body: good}, wantStatus: 200},
		{name: "c16 301 not followed §3.3", domain: "c16a.test", site: site{behave: "redirect"}, wantErr: ErrRedirect, wantStatus: 301},
		{name: "c16 302 not followed §3.3", domain: "c16b.test", site: site{status: 302, headers: map[string]string{"Location": "https://mta-sts.good.test/.well-known/mta-sts.txt"}}, wantErr: ErrRedirect, wantStatus: 302},
		{name: "c17 404 §3.3", domain: "c17a.test", site: site{status: 404, body: "not here"}, wantErr: ErrHTTPStatus, wantStatus: 404},
		{name: "c17 500 §3.3", domain: "c17b.test", site: site{status: 500, body: good}, wantErr: ErrHTTPStatus, wantStatus: 500},
		{name: "c17 204 §3.3", domain: "c17c.test", site: site{status: 204}, wantErr: ErrHTTPStatus, wantStatus: 204},
		{name: "c18 expired policy-host certificate §3.3", domain: "expired.test", site: site{body: good}, wantErr: ErrCertificate},
		{name: "c18 certificate from an untrusted CA §3.3", domain: "untrusted.test", site: site{body: good}, wantErr: ErrCertificate},
		{name: "c18 certificate without the mta-sts.DOMAIN DNS-ID §3.3", domain: "wrongname.test", site: site{body: good}, wantErr: ErrCertificate},
		{name: "c18 self-signed certificate §3.3", domain: "selfsigned.test", site: site{body: good}, wantErr: ErrCertificate},
		{name: "c19 text/html §3.2", domain: "c19.test", site: site{ctype: "text/html", body: good}, wantErr: ErrContentType, wantStatus: 200},
		{name: "c20 TEXT/PLAIN §3.2", domain: "c20a.test", site: site{ctype: "TEXT/PLAIN", body: good}, wantStatus: 200},
		{name: "c20 text/plain; charset=utf-8 §3.2", domain: "c20b.test", site: site{ctype: "text/plain; charset=utf-8", body: good}, wantStatus: 200},
		{name: "c20 text/plain ; charset=UTF-8 §3.2", domain: "c20c.test", site: site{ctype: "text/plain ; charset=UTF-8", body: good}, wantStatus: 200},
		{name: "c20 application/json+text/plain §3.2", domain: "c20d.test", site: site{ctype: "application/json+text/plain", body: good}, wantErr: ErrContentType, wantStatus: 200},
		{name: "c20 text/plain+ §3.2", domain: "c20e.test", site: site{ctype: "text/plain+", body: good}, wantErr: ErrContentType, wantStatus: 200},
		{name: "c20 no Content-Type §3.2", domain: "c20f.test", site: site{ctype: "-", body: good}, wantErr: ErrContentType, wantStatus: 200},
		{name: "c20 text/plain with a broken parameter §3.2", domain: "c20g.test", site: site{ctype: "text/plain; charset", body: good}, wantStatus: 200},
		{name: "c21 Content-Length above 64 KiB, not read §3.3", domain: "c21a.test", site: site{behave: "cl-oversize"}, wantErr: ErrTooLarge, wantStatus: 200},
		{name: "c21 chunked body above 64 KiB §3.3", domain: "c21b.test", site: site{behave: "chunked-oversize"}, wantErr: ErrTooLarge, wantStatus: 200},
		{name: "c21 endless chunked body §3.3", domain: "c21c.test", site: site{behave: "endless"}, wantErr: ErrTooLarge, wantStatus: 200},
		{name: "c21 exactly 64 KiB accepted §3.3", domain: "c21d.test", site: site{body: exact}, wantStatus: 200},
		{name: "no address for mta-sts.DOMAIN", domain: "noaddr.test", wantErr: errAny},
	}
	for _, tt := range tests {
		if tt.domain != "noaddr.test" {
			w.domain(tt.domain, "v=STSv1; id=1;", tt.site)
		}
	}
	w.web.setCert("mta-sts.expired.test", w.ca.leaf(t, expiredAt, "mta-sts.expired.test"))
	w.web.setCert("mta-sts.untrusted.test", w.other.leaf(t, validUntil, "mta-sts.untrusted.test"))
	w.web.setCert("mta-sts.wrongname.test", w.ca.leaf(t, validUntil, "mta-sts.other.test"))
	w.web.setCert("mta-sts.selfsigned.test", (*testCA)(nil).leaf(t, validUntil, "mta-sts.selfsigned.test"))
	e := w.engine(w.config())

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			f, err := e.fetch(t.Context(), tt.domain, nil)
			elapsed := time.Since(start)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("fetch(%s) error = %v", tt.domain, err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("fetch(%s) error = %v, want %v", tt.domain, err, tt.wantErr)
			}
			if f.StatusCode != tt.wantStatus {
				t.Errorf("fetch(%s) status = %d, want %d", tt.domain, f.StatusCode, tt.wantStatus)
			}
			if err == nil && f.Text != tt.site.body {
				t.Errorf("fetch(%s) text = %d bytes, want %d", tt.domain, len(f.Text), len(tt.site.body))
			}
			if elapsed > time.Second {
				t.Errorf("fetch(%s) took %v: a rejected body must not be read to the end", tt.domain, elapsed)
			}
		})
	}

	t.Run("c15 the request §3.2 §7.1", func(t *testing.T) {
		want := "mta-sts.c15.test mta-sts.c15.test GET /.well-known/mta-sts.txt"
		if got := w.web.requests(); !slices.Contains(got, want) {
			t.Errorf("requests = %q, want one %q (SNI Host METHOD path)", got, want)
		}
	})
	t.Run("c16 the redirect target is never asked §3.3", func(t *testing.T) {
		if n := w.web.hitCount("good.test"); n != 0 {
			t.Errorf("redirect target asked %d times", n)
		}
	})
}

// errAny marks rows that want some error.
var errAny = errors.New("any error")

// TestFetchTimeout: c22, a policy host that hangs costs the fetch timeout,
// whether it hangs in HTTP or in the TLS handshake. §3.3.
func TestFetchTimeout(t *testing.T) {
	w := newWorld(t)
	w.domain("hang.test", "v=STSv1; id=1;", site{behave: "hang"})
	w.domain("hang-tls.test", "v=STSv1; id=1;", site{body: "unused"})
	cfg := w.config()
	cfg.FetchTimeout = 300 * time.Millisecond
	e := w.engine(cfg)
	tests := []struct {
		name   string
		domain string
	}{
		{name: "c22 policy host hangs after the request §3.3", domain: "hang.test"},
		{name: "c22 policy host hangs in the TLS handshake §3.3", domain: "hang-tls.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := e.fetch(t.Context(), tt.domain, nil)
			if !errors.Is(err, ErrFetchTimeout) {
				t.Errorf("fetch(%s) error = %v, want ErrFetchTimeout", tt.domain, err)
			}
			if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
				t.Errorf("fetch(%s) took %v, want about 300ms", tt.domain, elapsed)
			}
		})
	}
}

// TestFetchNoHTTPCache: c23, caching headers do not stop a later fetch.
// §3.3.
func TestFetchNoHTTPCache(t *testing.T) {
	w := newWorld(t)
	w.domain("c23.test", "v=STSv1; id=1;", site{
		body:    policyText(ModeEnforce, 86400, "mx.c23.test"),
		headers: map[string]string{"Cache-Control": "public, max-age=86400", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT", "ETag": `"v1"`},
	})
	e := w.engine(w.config())
	for range 2 {
		if _, err := e.fetch(t.Context(), "c23.test", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := w.web.hitCount("c23.test"); n != 2 {
		t.Errorf("c23 policy host asked %d times for 2 fetches, want 2 §3.3", n)
	}
}

// TestFetchViaProxy: the fetch goes through the configured HTTP proxy with
// CONNECT, and the log says so.
func TestFetchViaProxy(t *testing.T) {
	w := newWorld(t)
	w.domain("proxied.test", "v=STSv1; id=1;", site{body: policyText(ModeTesting, 3600, "mx.proxied.test")})
	px := startProxy(t, w.web.addr())
	cfg := w.config()
	cfg.Proxy = &url.URL{Scheme: "http", Host: px.addr}
	e := w.engine(cfg)
	res, err := e.Policy(t.Context(), "proxied.test")
	if err != nil || res.Action != Apply {
		t.Fatalf("Policy() = %v, %v; want apply", res.Action, err)
	}
	if got := px.connects(); !slices.Equal(got, []string{"mta-sts.proxied.test:443"}) {
		t.Errorf("proxy saw CONNECT %q, want mta-sts.proxied.test:443", got)
	}
	if !hasLine(w.log, "Info: Requesting MTA-STS policy fetch via proxy") {
		t.Errorf("log lacks the proxy line:\n%s", w.log)
	}
	// The policy host's name was resolved by the proxy, not here.
	if w.dns.asked("mta-sts.proxied.test. A") {
		t.Errorf("mta-sts.proxied.test was resolved locally despite the proxy")
	}
}

// proxy is a minimal HTTP CONNECT proxy that sends every tunnel to one
// address.
type proxy struct {
	addr string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	seen []string
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c, target)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve(c net.Conn, target string) {
	defer c.Close()
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimSpace(h) == "" {
			break
		}
	}
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "CONNECT" {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
		return
	}
	p.mu.Lock()
	p.seen = append(p.seen, f[1])
	p.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{})
	go func() {
		io.Copy(up, br)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func (p *proxy) connects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestIsTextPlain: the Content-Type rule of case 20, alone. §3.2.
func TestIsTextPlain(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"text/plain", true},
		{"TEXT/PLAIN", true},
		{"text/plain; charset=utf-8", true},
		{"text/plain ; charset=UTF-8", true},
		{"Text/Plain;format=flowed", true},
		{"application/json+text/plain", false},
		{"text/plain+", false},
		{"text/html", false},
		{"", false},
		{"text/plainx", false},
		{"text /plain", false},
	}
	for _, tt := range tests {
		if got := isTextPlain(tt.in); got != tt.want {
			t.Errorf("c20 isTextPlain(%q) = %v, want %v §3.2", tt.in, got, tt.want)
		}
	}
}
