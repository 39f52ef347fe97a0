package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
)

// testCA returns a self-signed CA certificate as PEM.
func testCA(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"},
		NotBefore: testClock, NotAfter: testClock.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestValidateCertificates(t *testing.T) {
	s := session(t, openDir(t, t.TempDir()))
	_, base := s.Committed()
	ca := testCA(t)
	keyBlock := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
	for _, tc := range []struct {
		name    string
		edit    func(c *Config)
		wantErr string
	}{
		{"factory defaults", func(c *Config) {}, ""},
		{"with a chain and custom CAs", func(c *Config) {
			c.Certificates[0].ChainPEM = ca
			c.CA.Custom = []CustomCA{{Name: "CA", PEM: ca}}
		}, ""},
		{"bad name", func(c *Config) { c.Certificates[0].Name = "a b"; c.Destinations.Certificate = "a b" }, "Symbols are not allowed"},
		{"listed twice", func(c *Config) { c.Certificates = append(c.Certificates, c.Certificates[0]) }, "listed twice"},
		{"selected certificate missing", func(c *Config) { c.Destinations.Certificate = "Other" }, `certificate "Other" is not configured`},
		{"certificate not PEM", func(c *Config) { c.Certificates[0].CertPEM = "hello" }, "not a PEM block"},
		{"two certificates", func(c *Config) { c.Certificates[0].CertPEM += ca }, "want one certificate"},
		{"key in the certificate field", func(c *Config) { c.Certificates[0].CertPEM += keyBlock }, "PRIVATE KEY block"},
		{"key in the chain", func(c *Config) { c.Certificates[0].ChainPEM = keyBlock }, "PRIVATE KEY block"},
		{"bad key reference", func(c *Config) { c.Certificates[0].Key = "../../etc/passwd" }, "key reference"},
		{"bad CSR", func(c *Config) { c.Certificates[0].CSR = ca }, "csr"},
		{"custom CA not PEM", func(c *Config) { c.CA.Custom = []CustomCA{{Name: "x", PEM: "x"}} }, "custom CA 1"},
		{"custom CA twice", func(c *Config) { c.CA.Custom = []CustomCA{{Name: "a", PEM: ca}, {Name: "b", PEM: ca}} }, "custom CA 2 (b): listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base.Clone()
			tc.edit(c)
			err := c.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestTLSCertificateAndUses(t *testing.T) {
	s := session(t, openDir(t, t.TempDir()))
	c := s.Config()
	pair, err := s.TLSCertificate(context.Background(), c.Certificates[c.CertificateIndex(DefaultCertificateName)])
	if err != nil {
		t.Fatalf("TLSCertificate(Demo): %v", err)
	}
	if pair.Leaf == nil || pair.Leaf.Subject.CommonName != "esa.test" {
		t.Errorf("Demo leaf = %v", pair.Leaf)
	}
	bad := c.Certificates[0]
	bad.Key = "sha256-" + strings.Repeat("0", 64)
	if _, err := s.TLSCertificate(context.Background(), bad); err == nil {
		t.Error("TLSCertificate with a missing key file succeeded")
	}
	if uses := c.CertificateUses(DefaultCertificateName); len(uses) != 1 || uses[0].Command != "destconfig setup" {
		t.Errorf("CertificateUses(Demo) = %+v", uses)
	}
	if uses := c.CertificateUses("other"); len(uses) != 0 {
		t.Errorf("CertificateUses(other) = %+v", uses)
	}
	if i := c.CertificateIndex(DefaultCertificateName); i != 0 {
		t.Errorf("CertificateIndex(Demo) = %d", i)
	}
	if i := c.CertificateIndex("demo"); i != -1 {
		t.Errorf("CertificateIndex(demo) = %d, want -1 (names compare exactly)", i)
	}
}
