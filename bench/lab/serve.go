package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// The simulated internet. Every domain under zone exists; its first letter
// says how it behaves:
//
//	f...  a TXT record, but the policy host answers 404: the fetch fails
//	n...  no _mta-sts TXT record (NXDOMAIN)
//	other a valid enforce policy naming mx.DOMAIN, an MX host with STARTTLS
//	      and a DANE-EE TLSA record (3 1 1) for it
//
// Every answer has the AD bit when the query asks for DNSSEC (the fixture plays
// a validating resolver on loopback, which the engine trusts).
const (
	zone       = "bench.test."
	policyAddr = "127.0.2.1"
	mxAddr     = "127.0.3.1"
	// dnsAddr is where the peer finds the resolver (resolv.conf of the
	// namespace) and segcli is told to look.
	dnsAddr = "127.0.0.1:53"
	// controlAddr serves the counters; its traffic is not delayed.
	controlAddr = "127.0.0.1:8462"
	ttl         = 3600
)

// counters are what the fixture saw, read by the driver between runs.
type counters struct {
	DNS, HTTPS, SMTP atomic.Int64
}

// snapshot is counters as JSON.
type snapshot struct {
	DNS, HTTPS, SMTP int64
}

func (c *counters) snapshot() snapshot {
	return snapshot{DNS: c.DNS.Load(), HTTPS: c.HTTPS.Load(), SMTP: c.SMTP.Load()}
}

// policyText is the policy served for domain d.
func policyText(d string) string {
	return "version: STSv1\r\nmode: enforce\r\nmx: mx." + d + "\r\nmax_age: 604800\r\n"
}

// serve runs the DNS server, the policy hosts and the MX hosts until ctx ends.
// The CA certificate goes to caFile; ready is closed once every listener is up.
func serve(ctx context.Context, caFile string, ready chan<- struct{}) error {
	p, err := newPKI()
	if err != nil {
		return err
	}
	if err := os.WriteFile(caFile, p.caPEM, 0o644); err != nil {
		return err
	}
	var c counters
	errc := make(chan error, 5)

	tlsa := hex.EncodeToString(p.spki)
	dnsHandler := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		c.DNS.Add(1)
		w.WriteMsg(answer(r, tlsa))
	})
	udp := &mdns.Server{Addr: dnsAddr, Net: "udp", Handler: dnsHandler, UDPSize: 1232}
	tcp := &mdns.Server{Addr: dnsAddr, Net: "tcp", Handler: dnsHandler}
	for _, s := range []*mdns.Server{udp, tcp} {
		up := make(chan struct{})
		s.NotifyStartedFunc = func() { close(up) }
		go func() { errc <- s.ListenAndServe() }()
		select {
		case <-up:
		case err := <-errc:
			return fmt.Errorf("dns %s: %w", s.Net, err)
		}
		defer s.Shutdown()
	}

	tlsConfig := &tls.Config{GetCertificate: p.certificate, NextProtos: []string{"http/1.1"}}
	hl, err := tls.Listen("tcp", net.JoinHostPort(policyAddr, "443"), tlsConfig)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.HTTPS.Add(1)
			host := strings.ToLower(strings.TrimSuffix(r.Host, "."))
			d, ok := strings.CutPrefix(host, "mta-sts.")
			if !ok || r.URL.Path != "/.well-known/mta-sts.txt" || strings.HasPrefix(d, "f") {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, policyText(d))
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// Calibration connects and closes without a handshake: not worth a line.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { errc <- hs.Serve(hl) }()
	defer hs.Close()

	sl, err := net.Listen("tcp", net.JoinHostPort(mxAddr, "25"))
	if err != nil {
		return err
	}
	defer sl.Close()
	go func() { errc <- serveSMTP(sl, tlsConfig, &c) }()

	cl, err := net.Listen("tcp", controlAddr)
	if err != nil {
		return err
	}
	cs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(c.snapshot())
	})}
	go func() { errc <- cs.Serve(cl) }()
	defer cs.Close()

	close(ready)
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// answer builds the reply to r.
func answer(r *mdns.Msg, tlsa string) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	do := false
	if opt := r.IsEdns0(); opt != nil {
		do = opt.Do()
		m.SetEdns0(1232, do)
	}
	m.AuthenticatedData = do || r.AuthenticatedData
	if len(r.Question) != 1 {
		m.Rcode = mdns.RcodeFormatError
		return m
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	hdr := func(t uint16) mdns.RR_Header {
		return mdns.RR_Header{Name: q.Name, Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
	}
	soa := &mdns.SOA{Hdr: mdns.RR_Header{Name: zone, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: ttl},
		Ns: "ns." + zone, Mbox: "hostmaster." + zone, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 300}
	rest, ok := strings.CutSuffix(name, "."+zone)
	if !ok || rest == "" {
		m.Rcode = mdns.RcodeNameError
		m.Ns = []mdns.RR{soa}
		return m
	}
	labels := strings.Split(rest, ".")
	d := labels[len(labels)-1] // the domain's label under zone
	domain := d + "." + strings.TrimSuffix(zone, ".")
	var rr mdns.RR
	exists := true
	switch {
	case len(labels) == 1: // DOMAIN
		if q.Qtype == mdns.TypeMX {
			rr = &mdns.MX{Hdr: hdr(mdns.TypeMX), Preference: 10, Mx: "mx." + domain + "."}
		}
	case len(labels) == 2 && labels[0] == "_mta-sts":
		if strings.HasPrefix(d, "n") {
			exists = false
		} else if q.Qtype == mdns.TypeTXT {
			rr = &mdns.TXT{Hdr: hdr(mdns.TypeTXT), Txt: []string{"v=STSv1; id=20261129" + strings.TrimLeft(d, "abcdefghijklmnopqrstuvwxyz") + ";"}}
		}
	case len(labels) == 2 && labels[0] == "mta-sts":
		if q.Qtype == mdns.TypeA {
			rr = &mdns.A{Hdr: hdr(mdns.TypeA), A: net.ParseIP(policyAddr)}
		}
	case len(labels) == 2 && labels[0] == "mx":
		if q.Qtype == mdns.TypeA {
			rr = &mdns.A{Hdr: hdr(mdns.TypeA), A: net.ParseIP(mxAddr)}
		}
	case len(labels) == 4 && labels[0] == "_25" && labels[1] == "_tcp" && labels[2] == "mx":
		if q.Qtype == mdns.TypeTLSA {
			rr = &mdns.TLSA{Hdr: hdr(mdns.TypeTLSA), Usage: 3, Selector: 1, MatchingType: 1, Certificate: tlsa}
		}
	default:
		exists = false
	}
	switch {
	case !exists:
		m.Rcode = mdns.RcodeNameError
		m.Ns = []mdns.RR{soa}
	case rr == nil:
		m.Ns = []mdns.RR{soa} // NODATA
	default:
		m.Answer = []mdns.RR{rr}
	}
	return m
}

// serveSMTP accepts SMTP sessions: EHLO, STARTTLS, and a message that is
// read and dropped.
func serveSMTP(l net.Listener, tc *tls.Config, c *counters) error {
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		c.SMTP.Add(1)
		go smtpSession(conn, tc)
	}
}

func smtpSession(conn net.Conn, tc *tls.Config) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(io.LimitReader(conn, 1<<20))
	w := bufio.NewWriter(conn)
	say := func(s string) bool {
		w.WriteString(s + "\r\n")
		return w.Flush() == nil
	}
	if !say("220 mx.bench.test ESMTP lab") {
		return
	}
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			if secure {
				say("250-mx.bench.test\r\n250 8BITMIME")
			} else {
				say("250-mx.bench.test\r\n250-8BITMIME\r\n250 STARTTLS")
			}
		case "STARTTLS":
			if secure {
				say("503 5.5.1 TLS already active")
				continue
			}
			say("220 2.0.0 Ready to start TLS")
			tconn := tls.Server(conn, tc)
			if err := tconn.Handshake(); err != nil {
				return
			}
			secure = true
			r = bufio.NewReader(io.LimitReader(tconn, 1<<20))
			w = bufio.NewWriter(tconn)
		case "MAIL", "RCPT", "RSET", "NOOP":
			say("250 2.0.0 OK")
		case "DATA":
			say("354 End data with <CR><LF>.<CR><LF>")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
			}
			say("250 2.0.0 Ok: queued")
		case "QUIT":
			say("221 2.0.0 Bye")
			return
		default:
			say("502 5.5.2 Command not recognized")
		}
	}
}
