// Package trust builds the one set of certificate authorities segcli trusts for
// outbound TLS, and the tls.Config that verifies against it.
//
// The set has three sources, each switched by a plain value so that the engine never
// needs the configuration store: the system CA list (the machine's roots; where the
// machine has none, the bundled Mozilla NSS roots of golang.org/x/crypto/x509roots),
// the operator's custom CA list, and the PEM files given with --ca-file for one
// session. The TLS Verify modes, MTA-STS policy fetches and MTA-STS MX checks all
// verify against the same Pool; DANE-TA does not use it (its trust anchor is the TLSA
// record).
//
// With every source off the pool is empty, not nil: a tls.Config whose RootCAs is nil
// would silently fall back to the system roots.
package trust

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// Options selects the sources of a Pool. Custom and Extra hold PEM text, each entry
// one or more CERTIFICATE blocks.
type Options struct {
	// System adds the machine's CA list (or the bundled one where it has none).
	System bool
	// Custom is the operator's custom CA list (certconfig), when it is enabled.
	Custom [][]byte
	// Extra is what --ca-file adds for a session.
	Extra [][]byte
}

// Source names where the system part of a pool came from.
type Source string

// The sources of the system part of a pool.
const (
	// SourceOff: the system CA list is disabled.
	SourceOff Source = "off"
	// SourceSystem: the machine's own roots (or its platform verifier).
	SourceSystem Source = "system"
	// SourceBundled: the machine has no roots; the bundled NSS roots are used.
	SourceBundled Source = "bundled"
)

// Pool is the set of trusted certificate authorities. It is read-only once built and
// safe for concurrent use.
type Pool struct {
	roots  *x509.CertPool
	system Source
	custom int
	extra  int
}

// ErrNoCertificate is returned when a PEM source holds no certificate.
var ErrNoCertificate = errors.New("trust: no certificate in PEM data")

// New builds the pool o describes. A Custom or Extra entry that is not PEM
// certificates is an error (the caller names the file or list it came from).
func New(o Options) (*Pool, error) {
	return build(o, x509.SystemCertPool)
}

// build is New with the system pool loader injected (tests give a machine with no
// roots).
func build(o Options, system func() (*x509.CertPool, error)) (*Pool, error) {
	p := &Pool{system: SourceOff}
	if o.System {
		roots, err := system()
		if err != nil || !hasRoots(roots) {
			roots = bundledRoots()
			p.system = SourceBundled
		} else {
			p.system = SourceSystem
		}
		p.roots = roots
	} else {
		p.roots = x509.NewCertPool()
	}
	for i, data := range o.Custom {
		certs, err := ParsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("trust: custom CA %d: %w", i+1, err)
		}
		for _, c := range certs {
			p.roots.AddCert(c)
		}
		p.custom += len(certs)
	}
	for i, data := range o.Extra {
		certs, err := ParsePEM(data)
		if err != nil {
			return nil, fmt.Errorf("trust: extra CA file %d: %w", i+1, err)
		}
		for _, c := range certs {
			p.roots.AddCert(c)
		}
		p.extra += len(certs)
	}
	return p, nil
}

// hasRoots reports whether a system pool can verify anything: on macOS and Windows it
// stands for the platform verifier; elsewhere it must hold certificates.
func hasRoots(p *x509.CertPool) bool {
	if p == nil {
		return false
	}
	switch runtime.GOOS {
	case "darwin", "ios", "windows":
		return true
	}
	return !p.Equal(x509.NewCertPool())
}

// bundledRoots returns the NSS roots shipped in the binary, with their distrust
// constraints.
func bundledRoots() *x509.CertPool {
	p := x509.NewCertPool()
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			continue // the bundle's own tests guarantee it parses
		}
		if r.Constraint == nil {
			p.AddCert(c)
		} else {
			p.AddCertWithConstraint(c, r.Constraint)
		}
	}
	return p
}

// ParsePEM returns the certificates of the CERTIFICATE blocks in data (other blocks
// are skipped). It fails when a block does not parse or there is none.
func ParsePEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	return certs, nil
}

// CertPool returns a copy of the trusted roots.
func (p *Pool) CertPool() *x509.CertPool { return p.roots.Clone() }

// System tells where the system part of the pool came from.
func (p *Pool) System() Source { return p.system }

// Custom is the number of custom CA certificates in the pool.
func (p *Pool) Custom() int { return p.custom }

// Extra is the number of certificates --ca-file added.
func (p *Pool) Extra() int { return p.extra }

// Empty reports whether the pool trusts nothing: every PKIX verification fails.
func (p *Pool) Empty() bool { return p.system == SourceOff && p.custom == 0 && p.extra == 0 }

// ClientConfig returns a TLS client configuration that verifies the server's chain
// against the pool and its name against serverName (also sent as SNI). minVersion is
// a tls.VersionTLS* constant, 0 for Go's default (TLS 1.2). Callers may set more
// fields (Time for an injected clock, NextProtos) on the returned value.
func (p *Pool) ClientConfig(serverName string, minVersion uint16) *tls.Config {
	return &tls.Config{
		RootCAs:    p.roots,
		ServerName: serverName,
		MinVersion: minVersion,
	}
}

// Verify checks that chain (leaf first, then the intermediates the server sent) leads
// to a trusted root at time now and that the leaf is valid for dnsName (RFC 6125
// wildcards; empty dnsName skips the name check). It returns the verified chains.
func (p *Pool) Verify(chain []*x509.Certificate, dnsName string, now time.Time) ([][]*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("trust: no certificate to verify")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         p.roots,
		Intermediates: inter,
		DNSName:       dnsName,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	return chains, nil
}
