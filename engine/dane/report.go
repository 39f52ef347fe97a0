package dane

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/segcli/segcli/engine/dns"
)

// Values of HostReport.DANE (DESIGN.md, daneverify --json).
const (
	DANEAuthenticated = "authenticated"  // the server authenticated by a usable record
	DANEFailed        = "failed"         // usable records, and no authentication or no TLS; or the host may not be used
	DANEUnusable      = "unusable"       // only unusable records: TLS without authentication
	DANENotApplicable = "not-applicable" // no secure TLSA, or the address is insecure
)

// Values of Report.Result (DESIGN.md, daneverify --json).
const (
	ResultSuccess     = "success"     // DANE applies and every MX that was tried authenticated
	ResultFailed      = "failed"      // DANE applies and an MX did not authenticate
	ResultUnsupported = "unsupported" // DANE applies to no MX
	ResultTempFail    = "tempfail"    // a lookup failed temporarily
)

// Report is the result of daneverify --json (DESIGN.md); field names are a
// contract.
type Report struct {
	Domain   string       `json:"domain"`
	MXSecure bool         `json:"mx_secure"`
	MXHosts  []HostReport `json:"mx_hosts"`
	Result   string       `json:"result"`
	// Reason is the cause behind a result other than success, as Summary
	// prints it (a field added to the contract).
	Reason string `json:"reason,omitempty"`
}

// HostReport is one MX host of a Report.
type HostReport struct {
	Host          string     `json:"host"`
	AddressSecure bool       `json:"address_secure"`
	TLSA          TLSAReport `json:"tlsa"`
	TLS           TLSReport  `json:"tls"`
	DANE          string     `json:"dane"`
	Error         string     `json:"error,omitempty"`
}

// TLSAReport is the TLSA part of a HostReport.
type TLSAReport struct {
	// Status is secure, insecure, none, bogus or tempfail. A TLSA RRset
	// that was not queried because the address is insecure is reported
	// insecure: it could not have validated.
	Status string `json:"status"`
	// Records are the records in presentation form, "3 1 1 <hex>".
	Records []string `json:"records"`
	// Usable counts the records verification uses.
	Usable int `json:"usable"`
}

// TLSReport is the TLS part of a HostReport.
type TLSReport struct {
	Established bool   `json:"established"`
	Version     string `json:"version"` // "TLS1.3"
	Cipher      string `json:"cipher"`  // Go's name of the cipher suite
}

// Outcome is what happened when a host was tried (by daneverify or a
// delivery): the TLS state when a handshake completed, and the error that
// ended the attempt (no STARTTLS, handshake, verification), nil on success.
type Outcome struct {
	TLS *tls.ConnectionState
	Err error
}

// Report builds the daneverify report from the findings and the outcomes of
// the hosts that were tried, keyed by Finding.Host. A host that requires TLS
// and has no outcome was not tried: its dane field stays empty and it does
// not count in the result.
func (r *DomainResult) Report(outcomes map[string]Outcome) Report {
	rep := Report{Domain: r.Domain, MXSecure: r.MXSecure(), MXHosts: []HostReport{}}
	switch {
	case r.Err != nil && r.MXStatus == dns.Bogus:
		// A validation failure is not temporary: DANE applies and cannot be met.
		rep.Result, rep.Reason = ResultFailed, r.Err.Error()
		return rep
	case r.Err != nil:
		rep.Result, rep.Reason = ResultTempFail, r.Err.Error()
		return rep
	case r.NullMX:
		rep.Result, rep.Reason = ResultUnsupported, "the domain accepts no mail (null MX)"
		return rep
	case r.NXDomain:
		rep.Result, rep.Reason = ResultUnsupported, "the domain does not exist"
		return rep
	}
	var failed, lookup, authenticated, other []string
	for i := range r.Hosts {
		f := &r.Hosts[i]
		h := HostReport{
			Host:          f.Host,
			AddressSecure: f.AddressStatus == dns.Secure,
			TLSA:          TLSAReport{Status: string(f.TLSAStatus), Records: []string{}, Usable: f.Usable()},
		}
		if f.TLSAStatus == TLSANotQueried {
			h.TLSA.Status = string(TLSAInsecure)
		}
		for _, rec := range f.Records {
			h.TLSA.Records = append(h.TLSA.Records, rec.Text)
		}
		o, tried := outcomes[f.Host]
		if tried && o.TLS != nil {
			h.TLS = TLSReport{Established: true, Version: tlsVersion(o.TLS.Version), Cipher: tls.CipherSuiteName(o.TLS.CipherSuite)}
		}
		switch f.State {
		case StateNotApplicable:
			h.DANE = DANENotApplicable
			other = append(other, fmt.Sprintf("MX(%s): %s", f.Host, f.Reason))
		case StateTempFail:
			h.DANE = DANEFailed
			h.Error = f.Reason
			lookup = append(lookup, fmt.Sprintf("MX(%s): %s", f.Host, f.Reason))
		case StateBogus:
			// DNSSEC says the records are forged or broken: a failure, not a
			// temporary one (delivery still defers rather than bounce).
			h.DANE = DANEFailed
			h.Error = f.Reason
			failed = append(failed, fmt.Sprintf("MX(%s): %s", f.Host, f.Reason))
		case StateAuthenticate, StateTLSRequired:
			if !tried {
				break
			}
			ok := o.Err == nil && o.TLS != nil
			if o.Err != nil {
				h.Error = o.Err.Error()
			} else if o.TLS == nil {
				h.Error = "no TLS connection"
			}
			switch {
			case f.State == StateTLSRequired:
				h.DANE = DANEUnusable
			case ok:
				h.DANE = DANEAuthenticated
			default:
				h.DANE = DANEFailed
			}
			switch {
			case !ok:
				failed = append(failed, fmt.Sprintf("MX(%s): %s", f.Host, h.Error))
			case f.State == StateAuthenticate:
				authenticated = append(authenticated, f.Host)
			default:
				other = append(other, fmt.Sprintf("MX(%s): %s", f.Host, f.Reason))
			}
		}
		rep.MXHosts = append(rep.MXHosts, h)
	}
	switch {
	case len(failed) > 0:
		rep.Result, rep.Reason = ResultFailed, strings.Join(failed, "; ")
	case len(lookup) > 0:
		rep.Result, rep.Reason = ResultTempFail, strings.Join(lookup, "; ")
	case len(authenticated) > 0:
		rep.Result = ResultSuccess
	default:
		rep.Result, rep.Reason = ResultUnsupported, strings.Join(other, "; ")
		if rep.Reason == "" {
			rep.Reason = "no MX host was tried"
		}
	}
	return rep
}

// Summary returns the closing line of daneverify: "DANE SUCCESS for d",
// "DANE FAILED for d: reason" (failed and tempfail) or
// "DANE UNSUPPORTED for d: reason".
func (rep *Report) Summary() string {
	switch rep.Result {
	case ResultSuccess:
		return "DANE SUCCESS for " + rep.Domain
	case ResultUnsupported:
		return "DANE UNSUPPORTED for " + rep.Domain + ": " + rep.Reason
	}
	return "DANE FAILED for " + rep.Domain + ": " + rep.Reason
}

// tlsVersion names a TLS version as the JSON reports do, "TLS1.3".
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// FailureType returns the TLSRPT result type (RFC 8460 §4.3) for an error of
// Verify: "validation-failure" when the records did not authenticate the
// server, "tlsa-invalid" when no record was usable, "" otherwise.
func FailureType(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoUsable):
		return "tlsa-invalid"
	case errors.Is(err, ErrNoMatch), errors.Is(err, ErrMissingTA), errors.Is(err, ErrChain),
		errors.Is(err, ErrNameMismatch), errors.Is(err, ErrExpired), errors.Is(err, ErrNoCertificate):
		return "validation-failure"
	}
	return ""
}
