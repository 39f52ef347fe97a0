package store

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// demoValidity is the demonstration certificate's lifetime, as on the appliance.
const demoValidity = 3650 * 24 * time.Hour

// demoCertificate generates the factory-default self-signed certificate "Demo" for
// hostname and stores its key.
//
// With a seed (tests and transcripts only) the key is Ed25519 from that seed and the
// serial number derives from it, so that the certificate is the same on every run.
func (s *Store) demoCertificate(ctx context.Context, hostname string, seed []byte) (Certificate, error) {
	var (
		key    crypto.Signer
		serial *big.Int
		err    error
	)
	if len(seed) > 0 {
		sum := sha256.Sum256(seed)
		key = ed25519.NewKeyFromSeed(sum[:])
		serial = new(big.Int).SetBytes(sum[:8])
	} else {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return Certificate{}, fmt.Errorf("store: generate demonstration key: %w", err)
		}
		if serial, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62)); err != nil {
			return Certificate{}, fmt.Errorf("store: serial: %w", err)
		}
	}
	now := s.now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hostname, Organization: []string{"segcli demonstration"}},
		DNSNames:              []string{hostname},
		NotBefore:             now,
		NotAfter:              now.Add(demoValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return Certificate{}, fmt.Errorf("store: create demonstration certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Certificate{}, fmt.Errorf("store: encode demonstration key: %w", err)
	}
	ref, err := s.keys.PutKey(ctx, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	if err != nil {
		return Certificate{}, err
	}
	return Certificate{
		Name:    DefaultCertificateName,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:     ref,
	}, nil
}
