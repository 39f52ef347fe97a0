// Package pkitest is test support: certificate authorities, intermediates and
// server certificates made on the fly (ECDSA P-256: fast). Only tests (and
// transcripts/fixtures, which only tests use) import it.
package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"
)

// Spec says what certificate Issue makes.
type Spec struct {
	// CN is the subject's common name.
	CN string
	// DNSNames and IPs are the subjectAltName entries.
	DNSNames []string
	IPs      []net.IP
	// CA makes a certificate authority (basic constraints CA:TRUE, key usage
	// certSign, no extended key usage); otherwise a TLS server certificate
	// (digitalSignature, serverAuth, no basic constraints).
	CA bool
	// NotBefore and NotAfter are the validity period.
	NotBefore, NotAfter time.Time
	// Serial is the serial number; 0 draws a random one.
	Serial int64
}

// Cert is an issued certificate with its private key.
type Cert struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Issue makes a certificate for s, signed by parent (self-signed when parent is
// nil), with a new key.
func Issue(tb testing.TB, s Spec, parent *Cert) *Cert {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial := big.NewInt(s.Serial)
	if s.Serial == 0 {
		if serial, err = rand.Int(rand.Reader, big.NewInt(1<<62)); err != nil {
			tb.Fatal(err)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.CN},
		DNSNames:     s.DNSNames,
		IPAddresses:  s.IPs,
		NotBefore:    s.NotBefore,
		NotAfter:     s.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if s.CA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageCertSign, nil
	}
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &Cert{Cert: c, Key: key}
}

// PEM returns the certificate in PEM form.
func (c *Cert) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// TLS returns c with its key, followed by chain, for a tls.Config; Leaf is c.
func (c *Cert) TLS(chain ...*Cert) tls.Certificate {
	tc := tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
	for _, ca := range chain {
		tc.Certificate = append(tc.Certificate, ca.Cert.Raw)
	}
	return tc
}

// Pool returns a pool holding certs.
func Pool(certs ...*Cert) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c.Cert)
	}
	return p
}
