package dane

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segcli/segcli/engine/dns"
)

// Errors Verify wraps, for callers to branch on and for reports. Every error
// the package returns starts with "dane: ".
var (
	// ErrNoUsable: the records hold no usable record; TLS is required but
	// nothing can authenticate the server (RFC 7672 §2.2).
	ErrNoUsable = errors.New("no usable TLSA record")
	// ErrNoCertificate: the server presented no certificate.
	ErrNoCertificate = errors.New("the server presented no certificate")
	// ErrNoMatch: no DANE-EE(3) record matches the server certificate, and
	// no DANE-TA(2) trust anchor was found.
	ErrNoMatch = errors.New("no TLSA record matches the server certificate")
	// ErrMissingTA: there are only DANE-TA(2) records and no certificate of
	// the presented chain matches one: the server must send its trust
	// anchor (RFC 7671 §5.2, RFC 7672 §3.1.2).
	ErrMissingTA = errors.New("no certificate of the presented chain matches a DANE-TA record (missing TA)")
	// ErrChain: a DANE-TA(2) trust anchor is known, but no valid signature
	// chain leads from the server certificate to it.
	ErrChain = errors.New("the server certificate does not chain to the DANE-TA trust anchor")
	// ErrNameMismatch: DANE-TA(2) found a chain, but the server certificate
	// names none of the reference identifiers (RFC 7672 §3.2.2).
	ErrNameMismatch = errors.New("the server certificate does not match the reference names")
	// ErrExpired: DANE-TA(2) found a chain, but a certificate of it is
	// expired or not yet valid (RFC 7672 §3.1.2).
	ErrExpired = errors.New("a certificate of the chain is expired or not yet valid")
)

// maxChainDepth bounds the chains DANE-TA builds (leaf at depth 0).
const maxChainDepth = 8

// Match says which record authenticated the server.
type Match struct {
	// Record is the TLSA record that matched.
	Record dns.TLSA
	// Depth is the chain depth of what matched: 0 for the leaf
	// (DANE-EE), the trust anchor's depth for DANE-TA (a trust anchor taken
	// from the record itself sits one above the last certificate used).
	Depth int
	// Name is the reference name the leaf matched (DANE-TA only).
	Name string
}

// String describes the match for logs: "DANE-EE(3) 3 1 1 <hex> matched the
// server certificate".
func (m Match) String() string {
	if m.Record.Usage == UsageDANEEE {
		return fmt.Sprintf("%s %s matched the server certificate", UsageName(m.Record.Usage), m.Record)
	}
	return fmt.Sprintf("%s %s matched the trust anchor at depth %d; certificate name %s", UsageName(m.Record.Usage), m.Record, m.Depth, m.Name)
}

// Verify authenticates the server of a TLS connection by its TLSA records
// (RFC 7672 §3): see VerifyChain. It is the check a tls.Config's
// VerifyConnection runs (see Target.TLSConfig).
func Verify(records []dns.TLSA, names []string, state tls.ConnectionState, now time.Time) (Match, error) {
	return VerifyChain(records, names, state.PeerCertificates, now)
}

// VerifyChain authenticates a presented certificate chain (leaf first) by
// TLSA records. Only the records Classify marks as used count: unusable ones
// and those digest agility sets aside are ignored.
//
//   - DANE-EE(3) matches the leaf certificate (selector Cert(0) or SPKI(1));
//     names and validity dates are not checked (RFC 7672 §3.1.1).
//   - DANE-TA(2) matches a trust anchor: a certificate of the chain above
//     the leaf, or a certificate given whole in a "2 0 0" record, or a
//     public key given whole in a "2 1 0" record (which may also have
//     signed the top of the chain, even the leaf itself). A chain of valid
//     signatures must lead from the leaf to it, every certificate of it must
//     be valid at now, and the leaf must match one of names, the reference
//     identifiers (RFC 7672 §3.1.2, §3.2.2, §3.2.3). A DANE-TA record that
//     matches the leaf itself does not count.
//
// Errors wrap ErrNoUsable, ErrNoCertificate, ErrNoMatch, ErrMissingTA,
// ErrChain, ErrNameMismatch or ErrExpired.
func VerifyChain(records []dns.TLSA, names []string, chain []*x509.Certificate, now time.Time) (Match, error) {
	used := Used(Classify(records))
	if len(used) == 0 {
		return Match{}, fmt.Errorf("dane: %w", ErrNoUsable)
	}
	if len(chain) == 0 || chain[0] == nil {
		return Match{}, fmt.Errorf("dane: %w", ErrNoCertificate)
	}
	leaf := chain[0]
	var ta []dns.TLSA
	ee := 0
	for _, r := range used {
		if r.Usage != UsageDANEEE {
			ta = append(ta, r)
			continue
		}
		ee++
		if matches(r, leaf) {
			return Match{Record: r}, nil
		}
	}
	if len(ta) == 0 {
		return Match{}, fmt.Errorf("dane: %s, none matches the server certificate: %w", count(ee, "DANE-EE(3) record"), ErrNoMatch)
	}
	m, err := verifyTA(ta, names, chain, now)
	if err != nil && ee > 0 && errors.Is(err, ErrMissingTA) {
		return Match{}, fmt.Errorf("dane: %s, none matches the server certificate, and %s, none matches a certificate of the chain: %w", count(ee, "DANE-EE(3) record"), count(len(ta), "DANE-TA(2) record"), ErrNoMatch)
	}
	return m, err
}

// anchor is a trust anchor that the presented chain need not hold: a whole
// certificate ("2 0 0") or a whole public key ("2 1 0").
type anchor struct {
	rec  dns.TLSA
	cert *x509.Certificate // for 2 0 0
	key  any               // for 2 1 0
}

// verifyTA runs the DANE-TA(2) checks of VerifyChain.
func verifyTA(recs []dns.TLSA, names []string, chain []*x509.Certificate, now time.Time) (Match, error) {
	leaf := chain[0]
	// The presented certificates above the leaf, without copies of it.
	var pool []*x509.Certificate
	for _, c := range chain[1:] {
		if c != nil && !bytes.Equal(c.Raw, leaf.Raw) {
			pool = append(pool, c)
		}
	}
	var anchors []anchor
	known := false // a trust anchor is in the chain or in a record
	for _, r := range recs {
		for _, c := range pool {
			if matches(r, c) {
				known = true
			}
		}
		if r.MatchingType != MatchFull {
			continue
		}
		switch r.Selector {
		case SelectorCert:
			c, err := x509.ParseCertificate(r.Data)
			if err != nil || bytes.Equal(c.Raw, leaf.Raw) {
				continue // a TA that is the leaf itself does not count
			}
			anchors = append(anchors, anchor{rec: r, cert: c})
			known = true
		case SelectorSPKI:
			k, err := x509.ParsePKIXPublicKey(r.Data)
			if err != nil {
				continue
			}
			anchors = append(anchors, anchor{rec: r, key: k})
			known = true
		}
	}
	if !known {
		return Match{}, fmt.Errorf("dane: %s, none matches a certificate above the leaf: %w", count(len(recs), "DANE-TA(2) record"), ErrMissingTA)
	}

	var (
		best    Match
		valid   bool // a chain with every certificate valid at now
		expired bool // a chain, but with a certificate out of its dates
	)
	// found is called for each chain that reaches a trust anchor: certs
	// are the certificates whose dates count. It returns true to stop.
	found := func(rec dns.TLSA, depth int, certs []*x509.Certificate) bool {
		for _, c := range certs {
			if now.Before(c.NotBefore) || now.After(c.NotAfter) {
				expired = true
				return false
			}
		}
		best, valid = Match{Record: rec, Depth: depth}, true
		return true
	}
	path := []*x509.Certificate{leaf}
	var visit func(cur *x509.Certificate, depth int) bool
	visit = func(cur *x509.Certificate, depth int) bool {
		if depth > 0 {
			for _, r := range recs {
				if matches(r, cur) && found(r, depth, path) {
					return true
				}
			}
		}
		for _, a := range anchors {
			switch {
			case a.cert != nil && issuedBy(cur, a.cert):
				if found(a.rec, depth+1, append(path[:len(path):len(path)], a.cert)) {
					return true
				}
			case a.key != nil && signedByKey(cur, a.key):
				if found(a.rec, depth+1, path) {
					return true
				}
			}
		}
		if depth+1 >= maxChainDepth {
			return false
		}
		for _, p := range pool {
			if inPath(path, p) || !issuedBy(cur, p) {
				continue
			}
			path = append(path, p)
			if visit(p, depth+1) {
				return true
			}
			path = path[:len(path)-1]
		}
		return false
	}
	visit(leaf, 0)

	if !valid && !expired {
		return Match{}, fmt.Errorf("dane: %s: no chain of valid signatures from the server certificate (%s) to a trust anchor: %w", count(len(recs), "DANE-TA(2) record"), describe(leaf), ErrChain)
	}
	name, ok := matchNames(leaf, names)
	if !ok {
		return Match{}, fmt.Errorf("dane: DANE-TA(2): server certificate names %s match none of %s: %w", strings.Join(certNames(leaf), ", "), strings.Join(names, ", "), ErrNameMismatch)
	}
	if !valid {
		return Match{}, fmt.Errorf("dane: DANE-TA(2): the chain to the trust anchor holds a certificate that is not valid at %s: %w", now.UTC().Format(time.RFC3339), ErrExpired)
	}
	best.Name = name
	return best, nil
}

// issuedBy reports whether parent issued child: names chain and parent's key
// verifies child's signature (parent must be a CA).
func issuedBy(child, parent *x509.Certificate) bool {
	return bytes.Equal(child.RawIssuer, parent.RawSubject) && child.CheckSignatureFrom(parent) == nil
}

// signedByKey reports whether key verifies child's signature.
func signedByKey(child *x509.Certificate, key any) bool {
	k := &x509.Certificate{PublicKey: key}
	return k.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature) == nil
}

func inPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if p == c || bytes.Equal(p.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// count returns "1 thing" or "n things".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// describe names a certificate for error messages.
func describe(c *x509.Certificate) string {
	return fmt.Sprintf("subject %q, issuer %q", c.Subject.String(), c.Issuer.String())
}

// certNames returns the DNS names a certificate is checked against: its DNS
// subjectAltNames, or its common name when it has none.
func certNames(c *x509.Certificate) []string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames
	}
	if c.Subject.CommonName != "" {
		return []string{c.Subject.CommonName}
	}
	return []string{"(none)"}
}

// matchNames returns the first reference name that the certificate matches
// (RFC 7672 §3.2.3): its DNS subjectAltNames, or its common name when it has
// no DNS subjectAltName; a "*" is accepted as the whole left-most label only,
// and stands for exactly one label.
func matchNames(c *x509.Certificate, names []string) (string, bool) {
	var patterns []string
	if len(c.DNSNames) > 0 {
		patterns = c.DNSNames
	} else if c.Subject.CommonName != "" {
		patterns = []string{c.Subject.CommonName}
	}
	for _, n := range names {
		host := normalize(n)
		for _, p := range patterns {
			if matchName(p, host) {
				return host, true
			}
		}
	}
	return "", false
}

// matchName reports whether a certificate name pattern matches host (lower
// case, no trailing dot).
func matchName(pattern, host string) bool {
	p := normalize(pattern)
	if p == "" || host == "" {
		return false
	}
	if p == host {
		return !strings.Contains(p, "*")
	}
	rest, ok := strings.CutPrefix(p, "*.")
	if !ok || strings.Contains(rest, "*") || !strings.Contains(rest, ".") {
		return false
	}
	label, tail, ok := strings.Cut(host, ".")
	return ok && label != "" && tail == rest
}

// normalize returns a name lower case without its trailing dot.
func normalize(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

// Target is what a TLS connection to one MX host must satisfy under DANE.
type Target struct {
	// Host is the MX host name.
	Host string
	// BaseDomain is the TLSA base domain, sent as SNI (RFC 7672 §8.1).
	BaseDomain string
	// Names are the reference identifiers for DANE-TA(2) (RFC 7672 §3.2.2).
	Names []string
	// Records are the records verification uses. Empty means that TLS is
	// required without authentication (only unusable records).
	Records []dns.TLSA
}

// TLSConfig returns a client configuration for a handshake with the target:
// SNI is the TLSA base domain, the usual PKIX verification is off
// (InsecureSkipVerify) and VerifyConnection runs Verify at the time now
// gives (time.Now when nil). With no records, any certificate is accepted:
// TLS is required but not authenticated. Callers may set more fields (a
// client certificate, versions) on the returned value.
func (t Target) TLSConfig(now func() time.Time) *tls.Config {
	if now == nil {
		now = time.Now
	}
	records := append([]dns.TLSA(nil), t.Records...)
	names := append([]string(nil), t.Names...)
	return &tls.Config{
		ServerName:         t.BaseDomain,
		InsecureSkipVerify: true, // replaced by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(records) == 0 {
				return nil
			}
			_, err := Verify(records, names, cs, now())
			return err
		},
	}
}
