//go:build interop

package interop

import (
	"fmt"
	"regexp"
	"strings"
)

// The independent tools of the cross-checks: BIND's dig (through the same
// Unbound), openssl s_client (DANE and PKIX over STARTTLS) and swaks. Each
// returns its verdict and its output for the failure message.

// verdict is what a tool concluded about one server.
type verdict struct {
	tls bool // a TLS session was established
	ok  bool // and the certificate was accepted (by DANE or PKIX, as asked)
	out result
}

// tlsaFromDNS asks Unbound with BIND's dig for the TLSA RRset of host's port
// 25: the records as "3 1 1 hex" (lower case), the status and the ad flag.
func tlsaFromDNS(s *sc, host string) ([]string, digAnswer, result) {
	s.Helper()
	r := runProg(s, "", "dig", "+dnssec", "+time=2", "+tries=1", "@"+unboundAddr, "_25._tcp."+host, "TLSA")
	a := parseDig(r.stdout)
	var recs []string
	for _, rr := range a.answer {
		f := strings.Fields(rr)
		// "_25._tcp.mx.example.test. 5 IN TLSA 3 1 1 AF76C54B... 2ND-HALF"
		if len(f) >= 8 && f[3] == "TLSA" {
			recs = append(recs, strings.ToLower(strings.Join(f[4:7], " ")+" "+strings.Join(f[7:], "")))
		}
	}
	return recs, a, r
}

// opensslDANE connects to m with STARTTLS and authenticates the server by the
// TLSA records with base as the TLSA base domain (RFC 7672 with OpenSSL's own
// DANE code).
func opensslDANE(s *sc, m mx, base string, tlsa []string) verdict {
	s.Helper()
	// RFC 7672 §3.1.1: DANE-EE(3) checks no name (OpenSSL does unless told).
	argv := []string{"openssl", "s_client", "-brief", "-connect", m.addr + ":25",
		"-starttls", "smtp", "-name", "interop.client.test", "-servername", base,
		"-dane_tlsa_domain", base, "-dane_ee_no_namechecks"}
	for _, rr := range tlsa {
		argv = append(argv, "-dane_tlsa_rrdata", rr)
	}
	r := runProg(s, "", argv...)
	return verdict{tls: tlsEstablished(r), ok: verified(r), out: r}
}

// opensslPKIX connects to m with STARTTLS and verifies the certificate against
// the test CA for host (chain and name).
func opensslPKIX(s *sc, m mx, host string) verdict {
	s.Helper()
	r := runProg(s, "", "openssl", "s_client", "-brief", "-connect", m.addr+":25",
		"-starttls", "smtp", "-name", "interop.client.test", "-servername", host,
		"-CAfile", fx.pki.caFile, "-verify_hostname", host)
	return verdict{tls: tlsEstablished(r), ok: verified(r), out: r}
}

// verified reads s_client -brief's verdict on the certificate.
func verified(r result) bool {
	return tlsEstablished(r) && strings.Contains(r.stderr+r.stdout, "\nVerification: OK\n")
}

// tlsEstablished reads s_client -brief's report of a finished handshake.
// Without -verify_return_error, s_client finishes the handshake whatever the
// verification says ("Verification error: ..."), as segcli does: TLS, not
// authenticated.
func tlsEstablished(r result) bool {
	return strings.Contains(r.stderr+r.stdout, "Protocol version: TLSv1")
}

// swaks runs swaks --tls against m with SNI host; verify adds --tls-verify
// with the test CA. Without a recipient it stops after the TLS handshake;
// with one it sends a message with subject (the mailbox scenario).
func swaks(s *sc, m mx, host string, verify bool, to, subject string) verdict {
	s.Helper()
	argv := []string{"swaks", "--server", m.addr + ":25", "--tls", "--tls-sni", host, "--ehlo", "interop.client.test"}
	if verify {
		argv = append(argv, "--tls-verify", "--tls-ca-path", fx.pki.caFile)
	}
	if to == "" {
		argv = append(argv, "--quit-after", "TLS")
	} else {
		argv = append(argv, "--from", "sender@interop.client.test", "--to", to, "--header", "Subject: "+subject)
	}
	r := runProg(s, "", argv...)
	return verdict{tls: strings.Contains(r.stdout, "=== TLS started"), ok: r.code == 0, out: r}
}

// pkixFailure classifies segcli's reason for refusing a certificate: "name"
// (valid chain, another name), "chain" (no chain to a trusted CA), or "".
func pkixFailure(msg string) string {
	switch {
	case regexp.MustCompile(`certificate is valid for .*, not `).MatchString(msg),
		strings.Contains(msg, "peer cert does not match domain"): // Go's words, the appliance's words
		return "name"
	case strings.Contains(msg, "unknown authority"), strings.Contains(msg, "not standards compliant"):
		return "chain"
	}
	return ""
}

// agreeTLS cross-checks segcli's PKIX verdict on m for host (verified, or
// the reason it was refused) with openssl and swaks: openssl checks chain and
// name, as segcli does; swaks 20201014's --tls-verify checks the chain only,
// so it must accept exactly the certificates segcli accepts or refuses for
// their name alone.
func agreeTLS(s *sc, m mx, host string, segcliTLS, segcliOK bool, segcliWhy string) {
	s.Helper()
	o := opensslPKIX(s, m, host)
	if o.tls != segcliTLS || o.ok != segcliOK {
		s.Errorf("openssl s_client disagrees on %s (%s): openssl TLS %v verified %v, segcli TLS %v verified %v (%s)\n%s",
			host, m.addr, o.tls, o.ok, segcliTLS, segcliOK, segcliWhy, o.out)
	}
	w := swaks(s, m, host, true, "", "")
	wantSwaks := segcliOK || pkixFailure(segcliWhy) == "name"
	if w.ok != wantSwaks {
		s.Errorf("swaks --tls-verify disagrees on %s (%s): swaks accepted %v; segcli verified %v (%s), so swaks (chain only) should accept %v\n%s",
			host, m.addr, w.ok, segcliOK, segcliWhy, wantSwaks, w.out)
	}
}

// postfixSaw waits for Postfix's log, after mark, to show the session a
// client had with listener m: with STARTTLS completed (tls), refused in the
// handshake (aborted), or without STARTTLS.
func postfixSaw(s *sc, log logMark, m mx, session string) {
	s.Helper()
	var pats []string
	p := fmt.Sprintf(`postfix/%s/smtpd\[\d+\]: `, regexp.QuoteMeta(m.name))
	switch session {
	case "tls":
		pats = []string{p + `Anonymous TLS connection established from \S+: TLSv1\.[23] `, p + `disconnect from \S+ .*starttls=1 `}
	case "aborted": // the client refused the certificate during the handshake
		pats = []string{p + `disconnect from \S+ .*starttls=0/1 `}
	case "plain": // EHLO without STARTTLS
		pats = []string{p + `disconnect from \S+ ehlo=\d+ quit=1 `}
	default:
		panic("postfixSaw: " + session)
	}
	if got, missing := log.wait(5e9, pats...); len(missing) > 0 {
		s.Errorf("Postfix's log does not show the expected %s session on %s (%s): no line matches %q; its lines since the scenario started:\n%s", session, m.name, m.addr, missing, got)
	}
}

// postfixUntouched checks that no client connected to any listener after mark.
func postfixUntouched(s *sc, log logMark) {
	s.Helper()
	got := log.settle()
	if regexp.MustCompile(`smtpd\[\d+\]: connect from`).MatchString(got) {
		s.Errorf("Postfix saw a connection where none may be made:\n%s", got)
	}
}
