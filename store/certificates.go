package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// CertificateIndex returns the position of the certificate profile named name in
// c.Certificates (names compare exactly), or -1.
func (c *Config) CertificateIndex(name string) int {
	for i, cert := range c.Certificates {
		if cert.Name == name {
			return i
		}
	}
	return -1
}

// CertificateUse is a service that presents a certificate profile.
type CertificateUse struct {
	// Service names the service as the operator knows it.
	Service string
	// Command is the dialog that selects the certificate.
	Command string
	// Certificate is the profile name, empty when none is selected.
	Certificate string
}

// CertificateServices lists every service that presents a certificate, with the
// profile it uses.
func (c *Config) CertificateServices() []CertificateUse {
	return []CertificateUse{
		{Service: "Outbound TLS delivery", Command: "destconfig setup", Certificate: c.Destinations.Certificate},
	}
}

// CertificateUses lists the services that use the certificate profile name; a profile
// in use cannot be deleted.
func (c *Config) CertificateUses(name string) []CertificateUse {
	var out []CertificateUse
	for _, u := range c.CertificateServices() {
		if u.Certificate == name {
			out = append(out, u)
		}
	}
	return out
}

// ParseCertificates returns the certificates of the CERTIFICATE blocks of a PEM text.
// It fails on any other block or on text outside the blocks, so that a private key
// can never hide in a certificate field.
func ParseCertificates(text string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a %s block where only certificates belong", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, errors.New("text that is not a PEM block")
	}
	return certs, nil
}

// Parse returns the profile's certificate and its chain (intermediates, leaf's issuer
// first).
func (c Certificate) Parse() (leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	certs, err := ParseCertificates(c.CertPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("store: certificate %s: %w", c.Name, err)
	}
	if len(certs) != 1 {
		return nil, nil, fmt.Errorf("store: certificate %s: want one certificate, found %d", c.Name, len(certs))
	}
	chain, err = ParseCertificates(c.ChainPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("store: certificate %s: chain: %w", c.Name, err)
	}
	return certs[0], chain, nil
}

// ParseCSR returns the profile's certificate signing request, nil if it has none.
func (c Certificate) ParseCSR() (*x509.CertificateRequest, error) {
	if strings.TrimSpace(c.CSR) == "" {
		return nil, nil
	}
	b, rest := pem.Decode([]byte(c.CSR))
	if b == nil || b.Type != "CERTIFICATE REQUEST" || strings.TrimSpace(string(rest)) != "" {
		return nil, fmt.Errorf("store: certificate %s: csr: not one PEM CERTIFICATE REQUEST block", c.Name)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("store: certificate %s: csr: %w", c.Name, err)
	}
	return csr, nil
}

// validKeyRef checks the form of a reference returned by PutKey.
func validKeyRef(ref string) error {
	h, ok := strings.CutPrefix(ref, "sha256-")
	if !ok || len(h) != 64 {
		return fmt.Errorf("key reference %q: want sha256- and 64 hexadecimal digits", ref)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return fmt.Errorf("key reference %q: want sha256- and 64 hexadecimal digits", ref)
	}
	return nil
}

// TLSCertificate loads a certificate profile (from the candidate or the committed
// configuration, as the caller chooses) with its chain and private key, ready for a
// tls.Config: the SMTP client presents it for outbound TLS.
func (ss *Session) TLSCertificate(ctx context.Context, cert Certificate) (tls.Certificate, error) {
	key, err := ss.Key(ctx, cert.Key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("store: certificate %s: %w", cert.Name, err)
	}
	pair, err := tls.X509KeyPair([]byte(cert.CertPEM+cert.ChainPEM), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("store: certificate %s: %w", cert.Name, err)
	}
	return pair, nil
}
