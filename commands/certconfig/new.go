package certconfig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// request is what NEW asks for: the subject, the key and the validity.
type request struct {
	subject pkix.Name
	dns     []string
	ips     []net.IP
	days    int
	keyType string // RSA, ECDSA, Ed25519
	bits    int    // RSA modulus size or ECDSA curve size
}

// newKey generates the private key of r.
func newKey(r request) (crypto.Signer, error) {
	switch r.keyType {
	case "RSA":
		return rsa.GenerateKey(rand.Reader, r.bits)
	case "ECDSA":
		curve := elliptic.P256()
		if r.bits == 384 {
			curve = elliptic.P384()
		}
		return ecdsa.GenerateKey(curve, rand.Reader)
	case "Ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("certconfig: unknown key type %q", r.keyType)
}

// makeSelfSigned makes the key, the self-signed certificate valid from now for r.days,
// and the certificate signing request.
func makeSelfSigned(r request, now time.Time) (crypto.Signer, *x509.Certificate, []byte, error) {
	key, err := newKey(r)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certconfig: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certconfig: serial number: %w", err)
	}
	usage := x509.KeyUsageDigitalSignature
	if r.keyType == "RSA" {
		usage |= x509.KeyUsageKeyEncipherment
	}
	start := now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               r.subject,
		DNSNames:              r.dns,
		IPAddresses:           r.ips,
		NotBefore:             start,
		NotAfter:              start.Add(time.Duration(r.days) * 24 * time.Hour),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certconfig: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certconfig: create certificate: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: r.subject, DNSNames: r.dns, IPAddresses: r.ips,
	}, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certconfig: create signing request: %w", err)
	}
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr}), nil
}

// parseSANs reads a comma-separated list of DNS names (a leading "*." allowed) and IP
// addresses.
func parseSANs(s string) (dns []string, ips []net.IP, err error) {
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if ip := net.ParseIP(f); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if store.ValidHostname(strings.TrimPrefix(f, "*.")) != nil {
			return nil, nil, fmt.Errorf("%q is neither a DNS name nor an IP address: enter names such as mail.example.com or 192.0.2.1, separated by commas.", f)
		}
		dns = append(dns, strings.ToLower(strings.TrimSuffix(f, ".")))
	}
	return dns, ips, nil
}

func validCountry(s string) error {
	if s == "" {
		return nil
	}
	if len(s) != 2 || !isLetter(s[0]) || !isLetter(s[1]) {
		return errors.New("Enter the two-letter country code, such as US, or nothing.")
	}
	return nil
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func required(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("This value is required.")
	}
	return nil
}

// askRequest asks the questions of NEW, one by one.
func askRequest(e *shell.Env) (request, error) {
	var r request
	cn, err := e.P.Text("Enter Common Name:", "", required)
	if err != nil {
		return r, err
	}
	r.subject.CommonName = cn
	for _, f := range []struct {
		q   string
		dst *[]string
	}{
		{"Enter Organization:", &r.subject.Organization},
		{"Enter Organizational Unit:", &r.subject.OrganizationalUnit},
		{"Enter Locality or City:", &r.subject.Locality},
		{"Enter State or Province:", &r.subject.Province},
	} {
		v, err := e.P.Text(f.q, "", nil)
		if err != nil {
			return r, err
		}
		if v != "" {
			*f.dst = []string{v}
		}
	}
	country, err := e.P.Text("Country (2 letter code):", "", validCountry)
	if err != nil {
		return r, err
	}
	if country != "" {
		r.subject.Country = []string{strings.ToUpper(country)}
	}
	if r.days, err = e.P.Int("Duration before expiration (in days):", 3650, 1, 36500); err != nil {
		return r, err
	}
	keyTypes := []string{"RSA", "ECDSA", "Ed25519"}
	kt, err := e.P.Choose("Select the key type:", keyTypes, 1)
	if err != nil {
		return r, err
	}
	r.keyType = keyTypes[kt-1]
	switch r.keyType {
	case "RSA":
		n, err := e.P.Choose("Enter size of private key:", []string{"2048", "3072", "4096"}, 1)
		if err != nil {
			return r, err
		}
		r.bits = []int{2048, 3072, 4096}[n-1]
	case "ECDSA":
		n, err := e.P.Choose("Enter size of private key:", []string{"256 (P-256)", "384 (P-384)"}, 1)
		if err != nil {
			return r, err
		}
		r.bits = []int{256, 384}[n-1]
	}
	def := ""
	if _, _, err := parseSANs(cn); err == nil && !strings.Contains(cn, " ") {
		def = strings.ToLower(cn)
	}
	sans, err := e.P.Text("Enter the subject alternative names (DNS names or IP addresses, separated by commas):", def, func(s string) error {
		_, _, err := parseSANs(s)
		return err
	})
	if err != nil {
		return r, err
	}
	r.dns, r.ips, _ = parseSANs(sans)
	return r, nil
}

// newDialog is NEW: a self-signed certificate and its signing request.
func newDialog(ctx context.Context, e *shell.Env) error {
	name, ok, err := askName(e, "")
	if err != nil || !ok {
		return err
	}
	r, err := askRequest(e)
	if err != nil {
		return err
	}
	key, cert, csr, err := makeSelfSigned(r, e.Now())
	if err != nil {
		return err
	}
	view, err := e.P.YesNo("Do you want to view the CSR?", true)
	if err != nil {
		return err
	}
	if view {
		fmt.Fprintln(e.Out)
		if err := e.Page(string(csr)); err != nil {
			return err
		}
	}
	replaced, err := install(ctx, e, store.Certificate{Name: name, CertPEM: certPEM(cert), CSR: string(csr)}, key)
	if err != nil {
		return err
	}
	installed(e, name, replaced)
	fmt.Fprintln(e.Out, "The certificate is self-signed: send the CSR to a certificate authority, then use EDIT to paste the signed certificate.")
	return nil
}
