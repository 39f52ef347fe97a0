package mtasts

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"time"
)

// MXTLSConfig returns the TLS configuration for an MX host under a policy of
// mode enforce (RFC 8461 §4.2, §7.1, §7.2): SNI is the MX host name that is
// dialled, TLS 1.2 or higher, and the certificate must chain to roots and
// carry that name as a SAN DNS-ID (the policy's pattern plays no part).
// A nil roots trusts nothing.
func MXTLSConfig(mxHost string, roots *x509.CertPool) *tls.Config {
	if roots == nil {
		roots = x509.NewCertPool()
	}
	return &tls.Config{
		ServerName: strings.TrimSuffix(mxHost, "."),
		RootCAs:    roots,
		MinVersion: tls.VersionTLS12,
	}
}

// pkixCheck records the outcome of the certificate check of a probe that
// lets the handshake finish whatever the certificate, so that the report can
// show the TLS version and the certificate problem together.
type pkixCheck struct {
	checked bool
	err     error
}

// errNoCertificate: the server sent no certificate.
var errNoCertificate = errors.New("no certificate presented")

// reportingTLSConfig is MXTLSConfig for Verify: the same SNI, versions and
// checks, but a certificate failure is recorded in pk instead of ending the
// handshake.
func reportingTLSConfig(mxHost string, roots *x509.CertPool, now func() time.Time, pk *pkixCheck) *tls.Config {
	c := MXTLSConfig(mxHost, roots)
	c.InsecureSkipVerify = true // verified below, with the same rules
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		pk.checked = true
		if len(cs.PeerCertificates) == 0 {
			pk.err = errNoCertificate
			return nil
		}
		inter := x509.NewCertPool()
		for _, cert := range cs.PeerCertificates[1:] {
			inter.AddCert(cert)
		}
		_, pk.err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			DNSName:       c.ServerName,
			Roots:         c.RootCAs,
			Intermediates: inter,
			CurrentTime:   now(),
		})
		return nil
	}
	return c
}

// TLSVersionName returns "TLS1.3", "TLS1.2", ... as in the reports' JSON.
func TLSVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS1.3"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS10:
		return "TLS1.0"
	case 0:
		return ""
	}
	return strings.ReplaceAll(tls.VersionName(v), " ", "")
}
