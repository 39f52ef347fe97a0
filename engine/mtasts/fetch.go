package mtasts

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Errors of a policy fetch, wrapped by the errors of this package. Any
// fetch failure means no (new) policy; the caller never branches on which.
var (
	// ErrRedirect: the policy host answered 3xx (§3.3: not followed).
	ErrRedirect = errors.New("redirect not followed")
	// ErrHTTPStatus: a status other than 200 (§3.3).
	ErrHTTPStatus = errors.New("HTTP status is not 200")
	// ErrContentType: the media type is not text/plain (§3.2).
	ErrContentType = errors.New("content type is not text/plain")
	// ErrTooLarge: the body is larger than MaxPolicySize (§3.3).
	ErrTooLarge = errors.New("policy larger than 64 KiB")
	// ErrFetchTimeout: the fetch took longer than the fetch timeout.
	ErrFetchTimeout = errors.New("policy fetch timed out")
	// ErrCertificate: the policy host's certificate is not valid for
	// mta-sts.DOMAIN under the configured CAs (§3.3).
	ErrCertificate = errors.New("policy host certificate not valid")
	// ErrRecentFailure: the same (domain, id) failed less than
	// RetryHoldoff ago; no new attempt was made.
	ErrRecentFailure = errors.New("fetch failed recently; not retried yet")
)

// fetched is what a policy fetch saw, for the decision and the report.
type fetched struct {
	URL         string
	StatusCode  int    // 0 when no response came
	Status      string // "404 Not Found"
	ContentType string
	Text        string
	ViaProxy    bool
}

// PolicyURL returns the URL of domain's policy (§3.2).
func PolicyURL(domain string) string {
	return "https://mta-sts." + strings.TrimSuffix(domain, ".") + "/.well-known/mta-sts.txt"
}

// newTransport returns the HTTP transport of policy fetches: HTTP/1.1, no
// keep-alive (each fetch is to another host, and nothing lingers), no
// compression (the size limit is on the bytes sent), the engine's dialer
// and proxy, PKIX verification against the configured pool.
func (e *Engine) newTransport() *http.Transport {
	proxy := e.cfg.Proxy
	return &http.Transport{
		Proxy: func(*http.Request) (*url.URL, error) {
			return proxy, nil
		},
		DialContext: e.dialContext,
		TLSClientConfig: &tls.Config{
			RootCAs:    e.roots,
			MinVersion: tls.VersionTLS12,
			Time:       e.now,
		},
		TLSHandshakeTimeout:    e.connectTimeout,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// fetch gets domain's policy text by §3.3. The returned fetched is filled
// as far as the fetch went, also on error.
func (e *Engine) fetch(ctx context.Context, domain string, pre *addrFuture) (fetched, error) {
	f := fetched{URL: PolicyURL(domain), ViaProxy: e.cfg.Proxy != nil}
	fail := func(err error) (fetched, error) {
		return f, fmt.Errorf("mtasts: fetch %s: %w", f.URL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.fetchTimeout)
	defer cancel()
	if pre != nil {
		ctx = context.WithValue(ctx, futureKey{}, pre)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("User-Agent", "segcli-mtasts/1")
	if f.ViaProxy {
		e.log.Logf(logInfo, "Requesting MTA-STS policy fetch via proxy")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fail(e.transportError(ctx, err))
	}
	defer resp.Body.Close()
	f.StatusCode, f.Status = resp.StatusCode, resp.Status
	f.ContentType = resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fail(fmt.Errorf("%w: HTTP %s to %q", ErrRedirect, resp.Status, resp.Header.Get("Location")))
	case resp.StatusCode != http.StatusOK:
		return fail(fmt.Errorf("%w: HTTP %s", ErrHTTPStatus, resp.Status))
	}
	if !isTextPlain(f.ContentType) {
		if f.ContentType == "" {
			return fail(fmt.Errorf("%w: no Content-Type", ErrContentType))
		}
		return fail(fmt.Errorf("%w: %q", ErrContentType, f.ContentType))
	}
	if resp.ContentLength > MaxPolicySize {
		return fail(fmt.Errorf("%w: Content-Length %d", ErrTooLarge, resp.ContentLength))
	}
	body, err := readLimited(resp.Body, resp.ContentLength, MaxPolicySize+1)
	if err != nil {
		return fail(e.transportError(ctx, err))
	}
	if len(body) > MaxPolicySize {
		return fail(fmt.Errorf("%w: more than %d bytes sent", ErrTooLarge, MaxPolicySize))
	}
	f.Text = string(body)
	return f, nil
}

// readLimited reads r to its end, or to limit bytes. The buffer starts at
// the announced length (when there is one below limit) or at 4 KiB, enough
// for any real policy, and grows at most once, to limit: a host that sends
// more costs one limit-sized buffer, not the many copies of a doubling one.
func readLimited(r io.Reader, length int64, limit int) ([]byte, error) {
	size := 4 << 10
	if length >= 0 && length < int64(limit) {
		size = int(length) + 1 // + 1: room to see the end without growing
	}
	buf := make([]byte, 0, min(size, limit))
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= limit {
				return buf, nil
			}
			buf = append(make([]byte, 0, limit), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			return buf, err
		}
	}
}

// isTextPlain reports whether a Content-Type is text/plain, in any case,
// with or without parameters (§3.2: additional parameters are ignored).
func isTextPlain(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return false
	}
	return mt == "text/plain"
}

// transportError makes a transport error readable: without the url.Error
// wrapper, timeouts as ErrFetchTimeout, certificate problems as
// ErrCertificate.
func (e *Engine) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var cve *tls.CertificateVerificationError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w after %v", ErrFetchTimeout, e.fetchTimeout)
	case errors.As(err, &cve):
		return fmt.Errorf("%w: %w", ErrCertificate, cve.Err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %w", ErrFetchTimeout, err)
	}
	return err
}

// addrFuture is an address lookup started ahead of time, so that the
// lookup of the policy host overlaps the TXT lookup.
type addrFuture struct {
	host  string
	done  chan struct{}
	addrs []netip.Addr
	err   error
}

// futureKey carries an *addrFuture in the fetch request's context.
type futureKey struct{}

// prefetch starts resolving host; wait for it with <-f.done.
func (e *Engine) prefetch(ctx context.Context, host string) *addrFuture {
	f := &addrFuture{host: host, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.addrs, f.err = e.resolve(ctx, host)
	}()
	return f
}

// resolve returns the addresses of host through the engine's resolver: the
// A and AAAA lookups run at once; IPv4 addresses come first. An IP literal
// is returned as it is.
func (e *Engine) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	var (
		wg         sync.WaitGroup
		v4, v6     []netip.Addr
		err4, err6 error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		v6, _, err6 = e.resolver.AAAA(ctx, host)
	}()
	v4, _, err4 = e.resolver.A(ctx, host)
	wg.Wait()
	addrs := append(v4, v6...)
	if len(addrs) == 0 {
		if err := errors.Join(err4, err6); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTempFail, err)
		}
		return nil, fmt.Errorf("no address for %s", host)
	}
	return addrs, nil
}

// dialContext connects to addr ("host:port") for the HTTP transport: the
// host resolved through the engine's resolver (or taken from a prefetch),
// each address tried in turn within the connect timeout.
func (e *Engine) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("bad port in %q", addr)
	}
	var addrs []netip.Addr
	if f, ok := ctx.Value(futureKey{}).(*addrFuture); ok && strings.EqualFold(f.host, host) {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		addrs, err = f.addrs, f.err
	} else {
		addrs, err = e.resolve(ctx, host)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	return e.dialAddrs(ctx, network, host, addrs, uint16(port))
}

// dialAddrs connects to the first of addrs that answers, each attempt
// within the connect timeout.
func (e *Engine) dialAddrs(ctx context.Context, network, host string, addrs []netip.Addr, port uint16) (net.Conn, error) {
	var errs []error
	for _, a := range addrs {
		dctx, cancel := context.WithTimeout(ctx, e.connectTimeout)
		conn, err := e.dial(dctx, network, netip.AddrPortFrom(a, port).String(), host)
		cancel()
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// dial opens one TCP connection, through Config.Dial when tests set it.
func (e *Engine) dial(ctx context.Context, network, addr, host string) (net.Conn, error) {
	if e.cfg.Dial != nil {
		return e.cfg.Dial(ctx, network, addr, host)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
