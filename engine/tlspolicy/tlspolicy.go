// Package tlspolicy decides, for one destination and one MX host, what the TLS
// connection must achieve: the precedence of SMTP routes, DANE (RFC 7672), MTA-STS
// (RFC 8461) and the destination's TLS setting, as DESIGN.md's engine rules state:
//
//  1. An SMTP route for the domain: the route's hosts with the TLS setting only; DANE
//     and MTA-STS are not applied.
//  2. DANE Opportunistic or Mandatory (with TLS support other than No): a host whose
//     address and TLSA RRset are secure with a usable record must authenticate by
//     DANE, and a failure skips that host with no fallback to MTA-STS, PKIX or clear
//     text; only unusable records mean TLS without authentication; a TLSA lookup that
//     failed (tempfail, bogus) makes the host unusable. Without DANE for the host,
//     Opportunistic goes on to step 3 and Mandatory defers.
//  3. MTA-STS On (with TLS support other than No) when DANE did not decide: under an
//     enforce policy only hosts matching the policy, TLS 1.2 or higher and a
//     certificate PKIX-valid for the host name; a testing policy delivers by step 4
//     and reports the failure; mode none or no policy goes to step 4; a discovery that
//     failed temporarily with nothing cached defers.
//  4. The TLS setting: No, Preferred, Required, Preferred - Verify, Required - Verify,
//     Required - Verify Hosted Domains.
//
// Decide is a pure function of plain values so that every combination can be tested.
package tlspolicy

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// TLSMode is the destination's "Do you want to use TLS support?" answer (1-6).
type TLSMode int

// The six TLS modes, numbered as in the dialog.
const (
	TLSNo TLSMode = iota + 1
	TLSPreferred
	TLSRequired
	TLSPreferredVerify
	TLSRequiredVerify
	TLSRequiredVerifyHosted
)

var tlsModeNames = [...]string{"", "No", "Preferred", "Required", "Preferred - Verify", "Required - Verify", "Required - Verify Hosted Domains"}

// String names the mode as the dialog does.
func (m TLSMode) String() string {
	if m < TLSNo || m > TLSRequiredVerifyHosted {
		return fmt.Sprintf("TLSMode(%d)", int(m))
	}
	return tlsModeNames[m]
}

// DANEMode is the destination's DANE support.
type DANEMode int

// DANE support values, as in the dialog.
const (
	DANENone DANEMode = iota + 1
	DANEOpportunistic
	DANEMandatory
)

// Controls are a destination's settings, taken from its Destination Controls entry
// (or the default row) by the caller.
type Controls struct {
	TLS    TLSMode
	DANE   DANEMode
	MTASTS bool
}

// DANEFinding is what DNS said about DANE for one MX host (engine/dane's gathering).
type DANEFinding int

// DANE findings.
const (
	// DANEAbsent: no secure TLSA RRset applies (no records, validated denial, insecure
	// records, or an insecure host address, for which TLSA is not even queried).
	DANEAbsent DANEFinding = iota
	// DANEUsable: a secure TLSA RRset with at least one usable record.
	DANEUsable
	// DANEUnusable: a secure TLSA RRset with only unusable records.
	DANEUnusable
	// DANELookupFailed: the TLSA (or the secure address) lookup failed temporarily or
	// was bogus; the host cannot be used safely.
	DANELookupFailed
)

// STSFinding is what MTA-STS said for the destination and this host.
type STSFinding int

// MTA-STS findings.
const (
	// STSNoPolicy: no record, no valid policy, or mode none.
	STSNoPolicy STSFinding = iota
	// STSEnforceMatch: an enforce policy whose mx patterns match the host.
	STSEnforceMatch
	// STSEnforceNoMatch: an enforce policy that does not list the host.
	STSEnforceNoMatch
	// STSTesting: a testing policy (matching or not: failures are only reported).
	STSTesting
	// STSTempFail: discovery failed temporarily and nothing usable is cached.
	STSTempFail
)

// Findings are the engine's findings for one MX host.
type Findings struct {
	DANE DANEFinding
	// DANENames are the reference names for DANE-TA and DANEBase the TLSA base
	// domain (SNI), when DANE is DANEUsable.
	DANENames []string
	DANEBase  string
	STS       STSFinding
}

// Kind is what the TLS connection must achieve.
type Kind int

// Requirement kinds, weakest first.
const (
	// Plain: no STARTTLS (TLS support No).
	Plain Kind = iota
	// Opportunistic: STARTTLS when offered; clear text when it is not offered or
	// fails (TLS Preferred).
	Opportunistic
	// Encrypted: TLS required, no authentication.
	Encrypted
	// PKIX: TLS with a certificate chaining to a trusted CA and naming one of Names.
	PKIX
	// MTASTS: PKIX for the MX host name, TLS 1.2 or higher, SNI = the host.
	MTASTS
	// DANE: authenticated by the TLSA records, names for DANE-TA, SNI = base domain.
	DANE
)

var kindNames = [...]string{"plain", "opportunistic", "encrypted", "pkix", "mta-sts", "dane"}

// String names the kind.
func (k Kind) String() string {
	if k < Plain || k > DANE {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Action is what the delivery does with a host.
type Action int

// Actions.
const (
	// Deliver to this host under the requirement.
	Deliver Action = iota
	// Skip this host (try the next MX; defer when none is left).
	Skip
	// Defer the message for this destination now (no host may be used).
	Defer
)

// Requirement is the decision for one MX host.
type Requirement struct {
	Action Action
	Kind   Kind
	// Fallback: when verification fails, deliver anyway with TLS (Preferred - Verify)
	// or in clear text when TLS cannot be set up (Preferred).
	Fallback bool
	// Names are the reference names a certificate must match (PKIX, MTA-STS, DANE-TA).
	Names []string
	// ServerName is the SNI to send.
	ServerName string
	// MinVersion is the lowest TLS version accepted (0: the library's default).
	MinVersion uint16
	// ReportOnly marks an MTA-STS testing policy: failures are logged, not enforced.
	ReportOnly bool
	// Rule names the step of the precedence that decided, for logs and --json.
	Rule string
	// Why explains the decision in a sentence.
	Why string
}

// Security is the label a successful delivery under r gets (DESIGN.md's `deliver`
// values: dane, mta-sts, tls-verify, tls, none), assuming TLS was established and
// verified as required.
func (r Requirement) Security() string {
	switch r.Kind {
	case DANE:
		return "dane"
	case MTASTS:
		return "mta-sts"
	case PKIX:
		return "tls-verify"
	case Encrypted, Opportunistic:
		return "tls"
	}
	return "none"
}

// Decide returns the requirement for delivering to mxHost for domain.
func Decide(c Controls, routed bool, domain, mxHost string, f Findings) Requirement {
	domain, mxHost = canon(domain), canon(mxHost)
	if routed {
		r := bySetting(c.TLS, domain, mxHost)
		r.Rule = "route"
		r.Why = "an SMTP route applies to " + domain + ": " + r.Why + "; DANE and MTA-STS are not applied to routed domains"
		return r
	}
	tlsOn := c.TLS != TLSNo
	if tlsOn && (c.DANE == DANEOpportunistic || c.DANE == DANEMandatory) {
		switch f.DANE {
		case DANEUsable:
			return Requirement{Action: Deliver, Kind: DANE, Names: f.DANENames, ServerName: f.DANEBase, Rule: "dane",
				Why: "secure usable TLSA records for " + mxHost + ": TLS must authenticate by DANE (no fallback)"}
		case DANEUnusable:
			return Requirement{Action: Deliver, Kind: Encrypted, ServerName: mxHost, Rule: "dane",
				Why: "secure TLSA records for " + mxHost + " are all unusable: TLS is required, without authentication"}
		case DANELookupFailed:
			return Requirement{Action: Skip, Rule: "dane",
				Why: "the DANE lookups for " + mxHost + " failed (temporary or bogus): the host is not used"}
		}
		if c.DANE == DANEMandatory {
			return Requirement{Action: Skip, Rule: "dane",
				Why: "DANE not supported by " + mxHost + " and DANE is Mandatory for " + domain}
		}
	}
	if tlsOn && c.MTASTS {
		switch f.STS {
		case STSEnforceMatch:
			return Requirement{Action: Deliver, Kind: MTASTS, Names: []string{mxHost}, ServerName: mxHost,
				MinVersion: tls.VersionTLS12, Rule: "mta-sts",
				Why: "MTA-STS policy of " + domain + " (enforce) lists " + mxHost + ": TLS 1.2+ with a certificate valid for " + mxHost}
		case STSEnforceNoMatch:
			return Requirement{Action: Skip, Rule: "mta-sts",
				Why: "MTA-STS policy of " + domain + " (enforce) does not list " + mxHost}
		case STSTempFail:
			return Requirement{Action: Defer, Rule: "mta-sts",
				Why: "the MTA-STS lookup for " + domain + " failed temporarily and no policy is cached"}
		case STSTesting:
			r := bySetting(c.TLS, domain, mxHost)
			r.ReportOnly = true
			r.Rule = "mta-sts-testing"
			r.Why = "MTA-STS policy of " + domain + " is in testing mode (failures are reported): " + r.Why
			return r
		}
	}
	r := bySetting(c.TLS, domain, mxHost)
	r.Rule = "tls-setting"
	return r
}

// bySetting is step 4: the TLS setting alone.
func bySetting(m TLSMode, domain, mxHost string) Requirement {
	switch m {
	case TLSPreferred:
		return Requirement{Action: Deliver, Kind: Opportunistic, Fallback: true, ServerName: mxHost,
			Why: "TLS Preferred: TLS when offered, clear text otherwise"}
	case TLSRequired:
		return Requirement{Action: Deliver, Kind: Encrypted, ServerName: mxHost,
			Why: "TLS Required: TLS or no delivery, without verification"}
	case TLSPreferredVerify:
		return Requirement{Action: Deliver, Kind: PKIX, Fallback: true, Names: []string{domain}, ServerName: mxHost,
			Why: "TLS Preferred - Verify: a certificate valid for " + domain + ", else delivery without verification"}
	case TLSRequiredVerify:
		return Requirement{Action: Deliver, Kind: PKIX, Names: []string{domain}, ServerName: mxHost,
			Why: "TLS Required - Verify: a certificate valid for " + domain + " or no delivery"}
	case TLSRequiredVerifyHosted:
		return Requirement{Action: Deliver, Kind: PKIX, Names: []string{domain, mxHost}, ServerName: mxHost,
			Why: "TLS Required - Verify Hosted Domains: a certificate valid for " + domain + " or " + mxHost + " or no delivery"}
	}
	return Requirement{Action: Deliver, Kind: Plain, Why: "TLS No: clear text"}
}

func canon(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Failure is what went wrong with the TLS of one connection to a host, as the
// delivery meets it.
type Failure int

// Failures, in the order a connection meets them.
const (
	// NoFailure: TLS was set up and every check the requirement asks for passed.
	NoFailure Failure = iota
	// NoSTARTTLS: the server did not offer STARTTLS, or refused it (RFC 3207 §4);
	// the session is still in clear text.
	NoSTARTTLS
	// HandshakeFailed: the TLS handshake failed before any certificate check
	// (no shared cipher or version, reset); the connection is gone.
	HandshakeFailed
	// OldVersion: the server negotiates only a TLS version below 1.2.
	OldVersion
	// PKIXUntrusted: the certificate chain does not lead to a trusted CA, or is
	// expired.
	PKIXUntrusted
	// NameMismatch: the chain is trusted but names none of the reference names.
	NameMismatch
	// DANEMismatch: no usable TLSA record matches the server's certificate or
	// chain (RFC 7672 §3).
	DANEMismatch
)

// Failures lists every Failure, for tests that enumerate them.
var Failures = []Failure{NoFailure, NoSTARTTLS, HandshakeFailed, OldVersion, PKIXUntrusted, NameMismatch, DANEMismatch}

var failureNames = [...]string{"no failure", "no STARTTLS", "handshake failed", "TLS below 1.2", "PKIX untrusted", "name mismatch", "TLSA mismatch"}

// String names the failure.
func (f Failure) String() string {
	if f < NoFailure || f > DANEMismatch {
		return fmt.Sprintf("Failure(%d)", int(f))
	}
	return failureNames[f]
}

// Outcome is what a delivery under a Requirement does after a connection met a
// Failure: engine/delivery's connection handling, stated as a pure function so
// that every requirement and failure can be checked against the rules.
type Outcome struct {
	// Deliver: the message is sent, with the security Achieved (Plain: clear
	// text); otherwise the host is given up (next MX, else defer).
	Deliver  bool
	Achieved Kind
	// PlainRetry: the message is sent over a new connection without STARTTLS
	// (TLS Preferred after a failed handshake); Achieved is then Plain.
	PlainRetry bool
}

// After returns the outcome of a connection under r that met f.
func (r Requirement) After(f Failure) Outcome {
	if r.Action != Deliver {
		return Outcome{}
	}
	if r.Kind == Plain {
		return Outcome{Deliver: true, Achieved: Plain} // STARTTLS is never tried
	}
	verifies := r.Kind == PKIX || r.Kind == MTASTS
	switch f {
	case NoFailure:
		if r.Kind == Opportunistic {
			return Outcome{Deliver: true, Achieved: Encrypted}
		}
		return Outcome{Deliver: true, Achieved: r.Kind}
	case NoSTARTTLS:
		// Still in clear text: only a Fallback requirement goes on.
		if r.Fallback && r.Kind != DANE {
			return Outcome{Deliver: true, Achieved: Plain}
		}
		return Outcome{}
	case HandshakeFailed:
		if r.Fallback && r.Kind != DANE {
			return Outcome{Deliver: true, Achieved: Plain, PlainRetry: true}
		}
		return Outcome{}
	case OldVersion:
		if r.MinVersion > tls.VersionTLS11 {
			return Outcome{} // refused by the handshake (MinVersion)
		}
		return r.After(NoFailure)
	case PKIXUntrusted, NameMismatch:
		switch {
		case r.Kind == DANE:
			// The TLSA records alone authenticate (RFC 7672 §3.1: DANE-EE
			// ignores names and expiry); a DANE-TA chain that fails its
			// name check is a DANEMismatch.
			return r.After(NoFailure)
		case !verifies:
			return r.After(NoFailure) // not checked
		case r.Fallback:
			return Outcome{Deliver: true, Achieved: Encrypted} // Preferred - Verify
		}
		return Outcome{}
	case DANEMismatch:
		if r.Kind == DANE {
			return Outcome{} // RFC 7672 §2.2: no fallback to PKIX or clear text
		}
		return r.After(NoFailure) // TLSA records play no part
	}
	return Outcome{}
}
