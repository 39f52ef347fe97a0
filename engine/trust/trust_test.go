package trust

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

var testNow = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// testPKI is a root CA and a server certificate for mx.example.test it issued.
type testPKI struct {
	caPEM  []byte
	ca     *x509.Certificate
	server tls.Certificate
	leaf   *x509.Certificate
}

func newPKI(t *testing.T) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "segcli Test Root CA"},
		NotBefore: testNow.AddDate(-1, 0, 0), NotAfter: testNow.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mx.example.test"},
		DNSNames:  []string{"mx.example.test"},
		NotBefore: testNow.AddDate(0, -1, 0), NotAfter: testNow.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return testPKI{
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		ca:     ca,
		server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		leaf:   leaf,
	}
}

// handshake runs a TLS handshake over loopback TCP: the server presents pki's
// certificate, the client uses cfg. It returns the client's error.
func handshake(t *testing.T, pki testPKI, cfg *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		srv := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{pki.server}, Time: func() time.Time { return testNow }})
		_ = srv.HandshakeContext(ctx)
	}()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Time = func() time.Time { return testNow }
	err = tls.Client(c, cfg).HandshakeContext(ctx)
	c.Close()
	<-done
	return err
}

func TestClientConfigCustomOnly(t *testing.T) {
	pki := newPKI(t)
	p, err := New(Options{System: false, Custom: [][]byte{pki.caPEM}})
	if err != nil {
		t.Fatal(err)
	}
	if p.System() != SourceOff || p.Custom() != 1 || p.Empty() {
		t.Errorf("pool = system %s, custom %d, empty %v; want off, 1, false", p.System(), p.Custom(), p.Empty())
	}
	if err := handshake(t, pki, p.ClientConfig("mx.example.test", tls.VersionTLS12)); err != nil {
		t.Errorf("handshake against the custom list: %v", err)
	}
	if _, err := p.Verify([]*x509.Certificate{pki.leaf}, "mx.example.test", testNow); err != nil {
		t.Errorf("Verify against the custom list: %v", err)
	}
	// The name is checked.
	err = handshake(t, pki, p.ClientConfig("other.example.test", tls.VersionTLS12))
	var host x509.HostnameError
	if !errors.As(err, &host) {
		t.Errorf("handshake for another name = %v, want a HostnameError", err)
	}
}

func TestClientConfigSystemOnlyFails(t *testing.T) {
	pki := newPKI(t)
	p, err := New(Options{System: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.System() == SourceOff {
		t.Fatal("system list on but reported off")
	}
	err = handshake(t, pki, p.ClientConfig("mx.example.test", tls.VersionTLS12))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("handshake with only the system list = %v, want UnknownAuthorityError", err)
	}
	if _, err := p.Verify([]*x509.Certificate{pki.leaf}, "mx.example.test", testNow); !errors.As(err, &unknown) {
		t.Errorf("Verify with only the system list = %v, want UnknownAuthorityError", err)
	}
}

func TestEmptyPoolTrustsNothing(t *testing.T) {
	pki := newPKI(t)
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Error("pool with every source off is not Empty")
	}
	cfg := p.ClientConfig("mx.example.test", 0)
	if cfg.RootCAs == nil {
		t.Fatal("RootCAs is nil: Go would fall back to the system roots")
	}
	var unknown x509.UnknownAuthorityError
	if err := handshake(t, pki, cfg); !errors.As(err, &unknown) {
		t.Errorf("handshake with an empty pool = %v, want UnknownAuthorityError", err)
	}
}

func TestExtraAddsToPool(t *testing.T) {
	pki := newPKI(t)
	p, err := New(Options{Extra: [][]byte{pki.caPEM}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Extra() != 1 {
		t.Errorf("Extra() = %d, want 1", p.Extra())
	}
	if err := handshake(t, pki, p.ClientConfig("mx.example.test", tls.VersionTLS13)); err != nil {
		t.Errorf("handshake against --ca-file: %v", err)
	}
}

func TestBundledFallback(t *testing.T) {
	for _, tc := range []struct {
		name   string
		system func() (*x509.CertPool, error)
	}{
		{"empty system pool", func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }},
		{"system pool error", func() (*x509.CertPool, error) { return nil, errors.New("no roots") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := build(Options{System: true}, tc.system)
			if err != nil {
				t.Fatal(err)
			}
			if p.System() != SourceBundled {
				t.Fatalf("System() = %s, want %s", p.System(), SourceBundled)
			}
			// A bundled root verifies itself while it is valid.
			var root *x509.Certificate
			for r := range bundle.Roots() {
				if r.Constraint == nil {
					root, err = x509.ParseCertificate(r.Certificate)
					if err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			if root == nil {
				t.Fatal("the bundle has no unconstrained root")
			}
			if _, err := root.Verify(x509.VerifyOptions{Roots: p.CertPool(), CurrentTime: root.NotBefore.Add(time.Hour)}); err != nil {
				t.Errorf("bundled root %q does not verify against the pool: %v", root.Subject, err)
			}
		})
	}
	p, err := build(Options{System: false}, func() (*x509.CertPool, error) { t.Fatal("system pool loaded while off"); return nil, nil })
	if err != nil || p.System() != SourceOff {
		t.Errorf("system off: %v, %v", p, err)
	}
}

func TestNewRefusesBadPEM(t *testing.T) {
	pki := newPKI(t)
	bad := []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	for _, tc := range []struct {
		name    string
		in      Options
		wantErr bool
	}{
		{"good custom", Options{Custom: [][]byte{pki.caPEM}}, false},
		{"two in one entry", Options{Custom: [][]byte{append(append([]byte(nil), pki.caPEM...), pki.caPEM...)}}, false},
		{"custom not PEM", Options{Custom: [][]byte{[]byte("hello")}}, true},
		{"custom bad DER", Options{Custom: [][]byte{bad}}, true},
		{"extra not PEM", Options{Extra: [][]byte{[]byte("hello")}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.in)
			if (err != nil) != tc.wantErr {
				t.Errorf("New() error = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}
