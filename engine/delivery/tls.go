package delivery

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/segcli/segcli/engine/dane"
	"github.com/segcli/segcli/engine/tlspolicy"
	"github.com/segcli/segcli/engine/trust"
)

// Verification records what the certificate checks of one handshake found.
// It is filled during the handshake and read after it.
type Verification struct {
	mu      sync.Mutex
	checked bool
	err     error
	stsErr  error
}

// Checked reports whether the server's certificate was checked (the
// handshake got that far).
func (v *Verification) Checked() bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.checked
}

// Err is the failure of the check the requirement asks for (PKIX with the
// reference names, MTA-STS, DANE); nil when it passed or none was asked.
func (v *Verification) Err() error {
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

// STSErr is, under an MTA-STS policy in mode testing, the failure of the
// checks an enforced policy would make (PKIX for the MX host name, TLS 1.2
// or higher): reported, never enforced.
func (v *Verification) STSErr() error {
	if v == nil {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stsErr
}

func (v *Verification) set(err, stsErr error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.checked, v.err, v.stsErr = true, err, stsErr
}

// TLSConfig returns the client configuration for a STARTTLS handshake under
// req, and the Verification that records its checks (nil for Plain, which
// never starts TLS):
//
//   - SNI is req.ServerName (the MX host; for DANE the TLSA base domain).
//   - Opportunistic and Encrypted: no verification (RFC 7435 opportunistic
//     TLS); TLS 1.0 or higher.
//   - PKIX (the Verify TLS modes): the chain must lead to a root of pool at
//     now and the certificate must name one of req.Names (RFC 6125, a "*"
//     for one left-most label). With req.Fallback (Preferred - Verify) a
//     failure is recorded and the handshake completes; otherwise it fails.
//   - MTASTS: as PKIX for the MX host name, with TLS 1.2 or higher (RFC 8461
//     §4.2, §7.2).
//   - DANE: target's records decide (engine/dane, RFC 7672 §3); the
//     handshake fails when they do not authenticate the server.
//
// Under an MTA-STS testing policy (req.ReportOnly) the checks of an enforced
// policy are run on the side and recorded (STSErr). cert, when set, is
// offered to servers that ask for a client certificate.
func TLSConfig(req tlspolicy.Requirement, target *dane.Target, pool *trust.Pool, now func() time.Time, cert *tls.Certificate) (*tls.Config, *Verification) {
	if req.Kind == tlspolicy.Plain {
		return nil, nil
	}
	if now == nil {
		now = time.Now
	}
	if pool == nil {
		pool, _ = trust.New(trust.Options{})
	}
	v := &Verification{}
	var cfg *tls.Config
	switch req.Kind {
	case tlspolicy.DANE:
		t := dane.Target{BaseDomain: req.ServerName, Names: req.Names}
		if target != nil {
			t = *target
		}
		cfg = t.TLSConfig(now)
		check := cfg.VerifyConnection
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			err := check(cs)
			if len(t.Records) == 0 {
				// Authentication by DANE without records to authenticate
				// by: fail closed (the target's config would accept any
				// certificate).
				err = errNoTLSA
			}
			v.set(err, nil)
			return err
		}
	default:
		cfg = &tls.Config{ServerName: req.ServerName, InsecureSkipVerify: true}
		names := req.Names
		verify := req.Kind == tlspolicy.PKIX || req.Kind == tlspolicy.MTASTS
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			var err, stsErr error
			if verify {
				err = verifyNames(pool, cs.PeerCertificates, names, now())
			}
			if req.ReportOnly {
				stsErr = stsCheck(pool, cs, req.ServerName, now())
			}
			v.set(err, stsErr)
			if req.Fallback {
				return nil
			}
			return err
		}
	}
	cfg.MinVersion = req.MinVersion
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS10
	}
	cfg.Time = now
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg, v
}

// verifyNames checks that chain leads to a root of pool at now and that its
// leaf names one of names. A chain that is trusted but names none of them
// fails with an x509.HostnameError.
func verifyNames(pool *trust.Pool, chain []*x509.Certificate, names []string, now time.Time) error {
	if len(chain) == 0 {
		return errNoCertificate
	}
	if _, err := pool.Verify(chain, "", now); err != nil {
		return err
	}
	var first error
	for _, n := range names {
		_, err := pool.Verify(chain, n, now)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return errors.New("no reference name to verify the certificate against")
	}
	return first
}

// stsCheck makes the checks of an enforced MTA-STS policy for mxHost.
func stsCheck(pool *trust.Pool, cs tls.ConnectionState, mxHost string, now time.Time) error {
	if cs.Version < tls.VersionTLS12 {
		return fmt.Errorf("TLS version %s is below TLS 1.2", tls.VersionName(cs.Version))
	}
	return verifyNames(pool, cs.PeerCertificates, []string{mxHost}, now)
}

var (
	errNoCertificate = errors.New("no peer certificate")
	errNoTLSA        = errors.New("no usable TLSA record to authenticate the server by")
)

// VerifyError words a certificate failure as the appliance's mail log does
// (OpenSSL's verify errors): "peer cert does not match domain", "unable to get
// local issuer certificate", "self signed certificate", "certificate has
// expired", "certificate is not yet valid"; other failures keep their text.
func VerifyError(err error) string {
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errNoCertificate):
		return "no peer certificate available"
	case errors.As(err, &host):
		return "peer cert does not match domain"
	case errors.As(err, &unknown):
		if c := unknown.Cert; c != nil && bytes.Equal(c.RawIssuer, c.RawSubject) {
			return "self signed certificate"
		}
		return "unable to get local issuer certificate"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		if strings.Contains(invalid.Detail, " is before ") {
			return "certificate is not yet valid"
		}
		return "certificate has expired"
	}
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "trust: "), "dane: ")
}
