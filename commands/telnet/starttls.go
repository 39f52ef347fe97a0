package telnet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/segcli/segcli/shell"
)

// maxReplyLines bounds an SMTP reply read by starttls.
const maxReplyLines = 100

// starttls upgrades an SMTP session to TLS (RFC 3207): EHLO, STARTTLS, the
// handshake, then the certificate summary. It reports whether the session is over.
func (s *session) starttls(ctx context.Context) bool {
	s.mu.Lock()
	secure := s.secure
	s.mu.Unlock()
	if secure {
		s.out.println("TLS is already active on this connection.")
		return false
	}
	if !s.pause() {
		return true
	}
	s.mu.Lock()
	conn, greeted := s.conn, s.gen > 0
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, s.closeLocal)
	defer stop()
	conn.SetDeadline(time.Now().Add(s.lim.reply))

	fail := func(err error) bool {
		s.mu.Lock()
		local := s.local
		s.mu.Unlock()
		switch {
		case local:
			s.out.println("Connection closed.")
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
			s.closeLocal()
			s.out.println("Connection closed by foreign host.")
		default:
			if isTimeout(err) {
				err = fmt.Errorf("the server did not answer within %v", s.lim.reply)
			}
			s.out.println(fmt.Sprintf("telnet: starttls: %v", err))
			s.closeLocal()
			s.out.println("Connection closed.")
		}
		return true
	}
	resume := func() bool {
		conn.SetDeadline(time.Time{})
		s.start()
		return false
	}
	if !greeted {
		// The greeting has not come yet: it is the first reply.
		if _, code, err := s.reply(); err != nil {
			return fail(err)
		} else if code != 220 {
			s.out.println("The server did not greet with 220: STARTTLS is not possible.")
			return resume()
		}
	}
	lines, code, err := s.exchange(conn, "EHLO "+s.e.Hostname())
	if err != nil {
		return fail(err)
	}
	if code != 250 {
		s.out.println("The server refused EHLO: STARTTLS is not possible.")
		return resume()
	}
	if !offers(lines, "STARTTLS") {
		s.out.println("The server does not offer STARTTLS.")
		return resume()
	}
	if _, code, err = s.exchange(conn, "STARTTLS"); err != nil {
		return fail(err)
	}
	if code != 220 {
		s.out.println("The server refused STARTTLS.")
		return resume()
	}
	if s.rd.buffered() {
		// RFC 3207 §4: nothing may come between the 220 and the handshake; data
		// that does was sent (or injected) in clear text and must not be trusted.
		return fail(errors.New("the server sent data after its 220 reply, before the TLS handshake: the connection is not safe"))
	}
	sni := s.host
	if _, err := netip.ParseAddr(sni); err == nil {
		sni = ""
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: sni,
		// The certificate is verified below, so that it can be shown even when it
		// does not verify.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
	})
	hctx, cancel := context.WithTimeout(ctx, s.lim.reply)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("TLS handshake failed: %w", err))
	}
	s.mu.Lock()
	s.conn, s.secure = tc, true
	s.rd = newReader(tc, s.lim.line)
	closed := s.closed
	s.mu.Unlock()
	if closed {
		tc.Close()
		return true
	}
	s.out.println(summary(tc.ConnectionState(), s.host, s.e.Now(), s.lim.roots))
	tc.SetDeadline(time.Time{})
	conn = tc
	return resume()
}

// exchange sends line and reads the reply, printing both.
func (s *session) exchange(conn net.Conn, line string) ([]string, int, error) {
	s.out.println(line)
	if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
		return nil, 0, err
	}
	return s.reply()
}

// reply reads and prints one SMTP reply: its lines and its code.
func (s *session) reply() ([]string, int, error) {
	var lines []string
	for len(lines) < maxReplyLines {
		line, err := s.rd.next()
		if err != nil {
			return lines, 0, err
		}
		s.out.println(printable(line))
		s.received(line)
		lines = append(lines, line)
		switch k, code := kind(line); k {
		case smtpFinal:
			return lines, code, nil
		case other:
			return lines, 0, fmt.Errorf("the server's answer is not SMTP: %q", printable(line))
		}
	}
	return lines, 0, fmt.Errorf("the server's reply has more than %d lines", maxReplyLines)
}

// offers reports whether an EHLO reply lists the extension keyword.
func offers(lines []string, keyword string) bool {
	for _, l := range lines[1:] {
		if len(l) > 4 {
			f := strings.Fields(l[4:])
			if len(f) > 0 && strings.EqualFold(f[0], keyword) {
				return true
			}
		}
	}
	return false
}

// summary describes the TLS connection and the server's certificate, and says
// whether the certificate verifies for host at now against roots (nil: the system's).
func summary(cs tls.ConnectionState, host string, now time.Time, roots *x509.CertPool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "TLS connection established: protocol %s, cipher %s.\n", versionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite))
	if len(cs.PeerCertificates) == 0 {
		b.WriteString("The server sent no certificate.")
		return b.String()
	}
	leaf := cs.PeerCertificates[0]
	b.WriteString("Certificate:\n")
	fmt.Fprintf(&b, "    Subject: %s\n", leaf.Subject)
	var names []string
	for _, n := range leaf.DNSNames {
		names = append(names, "DNS:"+n)
	}
	for _, ip := range leaf.IPAddresses {
		names = append(names, "IP:"+ip.String())
	}
	if len(names) == 0 {
		names = []string{"(none)"}
	}
	fmt.Fprintf(&b, "    Alternative names: %s\n", strings.Join(names, ", "))
	fmt.Fprintf(&b, "    Issuer: %s\n", leaf.Issuer)
	fmt.Fprintf(&b, "    Valid from: %s\n", shell.FormatTime(leaf.NotBefore.UTC()))
	fmt.Fprintf(&b, "    Valid until: %s\n", shell.FormatTime(leaf.NotAfter.UTC()))
	if n := len(cs.PeerCertificates); n > 1 {
		fmt.Fprintf(&b, "    Chain: %d certificates\n", n)
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now, DNSName: host,
	})
	if err != nil {
		fmt.Fprintf(&b, "Certificate verification failed: %v.", err)
	} else {
		fmt.Fprintf(&b, "Certificate verification successful.")
	}
	return b.String()
}

// versionName names a TLS version as the appliance's logs do ("TLSv1.3").
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}
