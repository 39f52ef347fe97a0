package delivery

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/segcli/segcli/engine/dane"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/tlspolicy"
	"github.com/segcli/segcli/engine/trust"
)

// selfSigned returns a self-signed certificate for name, valid from nb to na.
func selfSigned(t *testing.T, name string, nb, na time.Time) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// handshake runs cfg against a server on 127.0.0.1 presenting cert and
// returns the client's error and the SNI the server saw.
func handshake(t *testing.T, cfg *tls.Config, cert *tls.Certificate) (error, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sni := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		srv := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{*cert}, GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			sni <- hi.ServerName
			return nil, nil
		}})
		srv.SetDeadline(time.Now().Add(5 * time.Second))
		if srv.Handshake() == nil {
			srv.Read(make([]byte, 1)) // until the client closes
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	err = tls.Client(c, cfg).HandshakeContext(ctx)
	c.Close()
	<-done
	select {
	case n := <-sni:
		return err, n
	default:
		return err, ""
	}
}

func TestTLSConfig(t *testing.T) {
	ca := newCA(t, "tls test CA")
	rogue := newCA(t, "rogue CA")
	pool, err := trust.New(trust.Options{Extra: [][]byte{ca.pem}})
	if err != nil {
		t.Fatal(err)
	}
	mxCert := ca.leaf(t, "mx.example.test")
	domainCert := ca.leaf(t, "example.test")
	rogueCert := rogue.leaf(t, "mx.example.test")
	self := selfSigned(t, "mx.example.test", validFrom, validUntil)
	expired := selfSigned(t, "mx.example.test", validFrom, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	pkix := func(fallback bool, names ...string) tlspolicy.Requirement {
		return tlspolicy.Requirement{Kind: tlspolicy.PKIX, Fallback: fallback, Names: names, ServerName: "mx.example.test"}
	}
	daneTarget := &dane.Target{BaseDomain: "mx.example.test", Records: []dns.TLSA{mustTLSA(t, tlsa311(rogueCert))}}

	tests := []struct {
		name       string
		req        tlspolicy.Requirement
		target     *dane.Target
		cert       *tls.Certificate
		wantErr    bool   // the handshake fails
		wantVerify string // VerifyError of Verification.Err
		wantSTS    string // VerifyError of Verification.STSErr
		wantSNI    string
	}{
		{name: "opportunistic accepts anything", req: tlspolicy.Requirement{Kind: tlspolicy.Opportunistic, Fallback: true, ServerName: "mx.example.test"},
			cert: self, wantSNI: "mx.example.test"},
		{name: "PKIX, name of the domain", req: pkix(false, "example.test"), cert: domainCert, wantSNI: "mx.example.test"},
		{name: "PKIX, certificate names only the MX host", req: pkix(false, "example.test"), cert: mxCert,
			wantErr: true, wantVerify: "peer cert does not match domain", wantSNI: "mx.example.test"},
		{name: "PKIX hosted: the MX host name counts", req: pkix(false, "example.test", "mx.example.test"), cert: mxCert, wantSNI: "mx.example.test"},
		{name: "PKIX, untrusted CA", req: pkix(false, "mx.example.test"), cert: rogueCert,
			wantErr: true, wantVerify: "unable to get local issuer certificate", wantSNI: "mx.example.test"},
		{name: "PKIX, self-signed", req: pkix(false, "mx.example.test"), cert: self,
			wantErr: true, wantVerify: "self signed certificate", wantSNI: "mx.example.test"},
		{name: "PKIX with fallback: recorded, handshake completes", req: pkix(true, "example.test"), cert: mxCert,
			wantVerify: "peer cert does not match domain", wantSNI: "mx.example.test"},
		{name: "MTA-STS, valid for the MX host", req: tlspolicy.Requirement{Kind: tlspolicy.MTASTS, Names: []string{"mx.example.test"}, ServerName: "mx.example.test", MinVersion: tls.VersionTLS12},
			cert: mxCert, wantSNI: "mx.example.test"},
		{name: "MTA-STS, expired", req: tlspolicy.Requirement{Kind: tlspolicy.MTASTS, Names: []string{"mx.example.test"}, ServerName: "mx.example.test", MinVersion: tls.VersionTLS12},
			cert: expired, wantErr: true, wantVerify: "certificate has expired", wantSNI: "mx.example.test"},
		{name: "DANE, matching record, no CA", req: tlspolicy.Requirement{Kind: tlspolicy.DANE, ServerName: "mx.example.test"}, target: daneTarget,
			cert: rogueCert, wantSNI: "mx.example.test"},
		{name: "DANE, record does not match", req: tlspolicy.Requirement{Kind: tlspolicy.DANE, ServerName: "mx.example.test"}, target: daneTarget,
			cert: mxCert, wantErr: true, wantVerify: "1 DANE-EE(3) record, none matches the server certificate: no TLSA record matches the server certificate", wantSNI: "mx.example.test"},
		{name: "DANE without records fails closed", req: tlspolicy.Requirement{Kind: tlspolicy.DANE, ServerName: "mx.example.test"},
			cert: mxCert, wantErr: true, wantVerify: "no usable TLSA record to authenticate the server by", wantSNI: "mx.example.test"},
		{name: "MTA-STS testing: the policy's checks are recorded, not enforced",
			req:  tlspolicy.Requirement{Kind: tlspolicy.Opportunistic, Fallback: true, ReportOnly: true, ServerName: "mx.example.test"},
			cert: rogueCert, wantSTS: "unable to get local issuer certificate", wantSNI: "mx.example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, v := TLSConfig(tt.req, tt.target, pool, func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }, nil)
			err, sni := handshake(t, cfg, tt.cert)
			if (err != nil) != tt.wantErr {
				t.Errorf("handshake error %v, want error %v", err, tt.wantErr)
			}
			if got := VerifyError(v.Err()); got != tt.wantVerify {
				t.Errorf("verify error %q, want %q", got, tt.wantVerify)
			}
			if got := VerifyError(v.STSErr()); got != tt.wantSTS {
				t.Errorf("MTA-STS error %q, want %q", got, tt.wantSTS)
			}
			if sni != tt.wantSNI {
				t.Errorf("SNI %q, want %q", sni, tt.wantSNI)
			}
			if !v.Checked() {
				t.Error("Checked() = false after a handshake")
			}
		})
	}
	if cfg, v := TLSConfig(tlspolicy.Requirement{Kind: tlspolicy.Plain}, nil, pool, nil, nil); cfg != nil || v != nil || v.Err() != nil {
		t.Errorf("Plain: config %v, verification %v; want none", cfg, v)
	}
}

func mustTLSA(t *testing.T, s string) dns.TLSA {
	t.Helper()
	r, err := dns.ParseTLSA(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyErrorExpired(t *testing.T) {
	ca := newCA(t, "CA")
	pool, _ := trust.New(trust.Options{Extra: [][]byte{ca.pem}})
	leaf := ca.leaf(t, "mx.example.test")
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC), "certificate has expired"},
		{time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), "certificate is not yet valid"},
	} {
		_, err := pool.Verify([]*x509.Certificate{leaf.Leaf}, "mx.example.test", tt.at)
		if got := VerifyError(err); got != tt.want {
			t.Errorf("at %v: %q, want %q", tt.at, got, tt.want)
		}
	}
}

func TestParseIPSort(t *testing.T) {
	tests := []struct {
		in      string
		want    IPSort
		wantErr bool
	}{
		{"", PreferV4, false},
		{"PREFER_V4", PreferV4, false},
		{"require_v4", RequireV4, false},
		{"PREFER_V6", PreferV6, false},
		{"REQUIRE_V6", RequireV6, false},
		{"V4", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseIPSort(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseIPSort(%q) = %v, %v", tt.in, got, err)
		}
	}
}
