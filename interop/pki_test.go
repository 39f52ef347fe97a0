//go:build interop

package interop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// cert is a certificate of the test PKI, its key, and the chain a server sends.
type cert struct {
	name  string
	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate // above the leaf, sent by the server (intermediates)
}

// spkiSHA256 is the TLSA "x 1 1" digest of the certificate's public key.
func (c *cert) spkiSHA256() string {
	sum := sha256.Sum256(c.cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// pki is the test CA and every certificate the servers use.
type pki struct {
	dir    string
	caFile string // the root, as --ca-file, swaks --tls-ca-path and openssl -CAfile take it
	root   *cert
	inter  *cert // an intermediate CA under root: DANE-TA(2) trust anchor
	certs  map[string]*cert
}

// newPKI creates, under dir, a root CA, an intermediate CA and the server
// certificates: leaves maps a certificate name to the DNS names it holds and
// its issuer ("root", "inter", or "self" for a self-signed one).
func newPKI(dir string, now time.Time, leaves []leafSpec) (*pki, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &pki{dir: dir, certs: make(map[string]*cert)}
	var err error
	if p.root, err = issue("root", now, nil, "segcli interop Root CA", nil, true); err != nil {
		return nil, err
	}
	if p.inter, err = issue("inter", now, p.root, "segcli interop Intermediate CA", nil, true); err != nil {
		return nil, err
	}
	for _, l := range leaves {
		var parent *cert
		switch l.issuer {
		case "root":
			parent = p.root
		case "inter":
			parent = p.inter
		case "self":
		default:
			return nil, fmt.Errorf("pki: %s: unknown issuer %q", l.name, l.issuer)
		}
		c, err := issue(l.name, now, parent, l.names[0], l.names, false)
		if err != nil {
			return nil, err
		}
		if parent == p.inter {
			c.chain = []*x509.Certificate{p.inter.cert}
		}
		p.certs[l.name] = c
		if err := writePEM(p.chainFile(l.name), 0o600, keyPEM(c.key), certsPEM(append([]*x509.Certificate{c.cert}, c.chain...))); err != nil {
			return nil, err
		}
	}
	p.caFile = filepath.Join(dir, "ca.pem")
	if err := writePEM(p.caFile, 0o644, certsPEM([]*x509.Certificate{p.root.cert})); err != nil {
		return nil, err
	}
	return p, nil
}

// leafSpec describes a server certificate.
type leafSpec struct {
	name   string   // file name and key in pki.certs
	issuer string   // root, inter or self
	names  []string // DNS names; the first is also the common name
}

// chainFile is the PEM file holding a certificate's key, the certificate and its
// chain, in the order Postfix's smtpd_tls_chain_files and nginx want.
func (p *pki) chainFile(name string) string { return filepath.Join(p.dir, name+".pem") }

// issue makes a certificate signed by parent (self-signed when parent is nil).
func issue(name string, now time.Time, parent *cert, cn string, dnsNames []string, isCA bool) (*cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"segcli interop"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		DNSNames:              dnsNames,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", name, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", name, err)
	}
	return &cert{name: name, cert: c, key: key}, nil
}

func keyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func certsPEM(cs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range cs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func writePEM(name string, mode os.FileMode, parts ...[]byte) error {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return os.WriteFile(name, b, mode)
}
