package tlspolicy

import (
	"fmt"
	"testing"
)

// allFindings enumerates what DNS and MTA-STS can say for one host, the failures
// among them: TLSA lookup bogus or failed (DANELookupFailed), policy fetch or TXT
// failure with nothing cached (STSTempFail), an enforce policy that does not list
// the host.
func allFindings() []Findings {
	var out []Findings
	for df := DANEAbsent; df <= DANELookupFailed; df++ {
		for sf := STSNoPolicy; sf <= STSTempFail; sf++ {
			out = append(out, Findings{DANE: df, STS: sf, DANENames: []string{mx}, DANEBase: mx})
		}
	}
	return out
}

// floor is the weakest delivery the rules of DESIGN.md allow for a destination and
// host: none (the host must not be used), or the least security a delivery to it
// may have.
type floor struct {
	noDelivery bool
	least      Kind
	rule       string
}

// rulesFloor states the engine rules directly from the RFCs, independently of
// Decide and After.
func rulesFloor(c Controls, routed bool, f Findings) floor {
	if c.TLS == TLSNo {
		return floor{least: Plain, rule: "TLS No"}
	}
	setting := func(rule string) floor {
		switch c.TLS {
		case TLSRequired:
			// RFC 3207 §4: a client that requires TLS must not send over a
			// session where STARTTLS failed.
			return floor{least: Encrypted, rule: rule + ", TLS Required (RFC 3207 §4)"}
		case TLSRequiredVerify, TLSRequiredVerifyHosted:
			return floor{least: PKIX, rule: rule + ", TLS Required - Verify"}
		}
		return floor{least: Plain, rule: rule + ", TLS Preferred"}
	}
	if routed {
		return setting("route")
	}
	daneOn := c.DANE == DANEOpportunistic || c.DANE == DANEMandatory
	if daneOn {
		switch f.DANE {
		case DANEUsable:
			return floor{least: DANE, rule: "usable secure TLSA: DANE authentication, no fallback (RFC 7672 §2.2, §3)"}
		case DANEUnusable:
			return floor{least: Encrypted, rule: "only unusable TLSA records: TLS without authentication (RFC 7672 §2.2)"}
		case DANELookupFailed:
			return floor{noDelivery: true, rule: "TLSA lookup failed or bogus: host not used (RFC 7672 §2.1.1)"}
		}
		if c.DANE == DANEMandatory {
			return floor{noDelivery: true, rule: "DANE Mandatory, DANE not supported"}
		}
	}
	if c.MTASTS {
		switch f.STS {
		case STSEnforceMatch:
			return floor{least: MTASTS, rule: "MTA-STS enforce: PKIX for the MX, TLS 1.2+ (RFC 8461 §5, §4.2)"}
		case STSEnforceNoMatch:
			return floor{noDelivery: true, rule: "MTA-STS enforce, MX not listed (RFC 8461 §5)"}
		case STSTempFail:
			return floor{noDelivery: true, rule: "MTA-STS discovery failed, nothing cached: defer (RFC 8461 §5.1)"}
		case STSTesting:
			return setting("MTA-STS testing (RFC 8461 §5)")
		}
	}
	return setting("TLS setting")
}

// TestNoDowngrade enumerates every requirement (TLS setting x DANE setting x
// MTA-STS setting x route x what DNS and MTA-STS found) and every failure a
// connection can meet (no STARTTLS, handshake failure, TLS below 1.2, PKIX
// failure, name mismatch, TLSA mismatch), and checks that the outcome is never
// weaker than the rules allow: Required - Verify never delivers unverified or in
// clear text, usable DANE never falls back to PKIX, unauthenticated TLS or clear
// text (RFC 7672 §2.2, §3), MTA-STS enforce never delivers without PKIX and TLS
// 1.2 (RFC 8461 §5), Required never delivers in clear text (RFC 3207 §4), and a
// host the rules exclude is never used.
func TestNoDowngrade(t *testing.T) {
	n, delivered := 0, 0
	for m := TLSNo; m <= TLSRequiredVerifyHosted; m++ {
		for d := DANENone; d <= DANEMandatory; d++ {
			for _, sts := range []bool{false, true} {
				for _, routed := range []bool{false, true} {
					for _, f := range allFindings() {
						c := Controls{TLS: m, DANE: d, MTASTS: sts}
						req := Decide(c, routed, dom, mx, f)
						fl := rulesFloor(c, routed, f)
						for _, fail := range Failures {
							n++
							o := req.After(fail)
							name := fmt.Sprintf("tls=%v dane=%d sts=%v routed=%v dane-finding=%d sts-finding=%d, %v", m, d, sts, routed, f.DANE, f.STS, fail)
							if !o.Deliver {
								continue
							}
							delivered++
							switch {
							case fl.noDelivery:
								t.Errorf("%s: delivered (%v) but %s", name, o.Achieved, fl.rule)
							case o.Achieved < fl.least:
								t.Errorf("%s: delivered with %v, below %v: %s", name, o.Achieved, fl.least, fl.rule)
							case o.PlainRetry && fl.least > Plain:
								t.Errorf("%s: retried in clear text: %s", name, fl.rule)
							}
							// What a failure lets through is never more than the
							// check passed: a failed check never reports the
							// requirement met.
							if fail != NoFailure && o.Achieved > req.After(NoFailure).Achieved {
								t.Errorf("%s: achieved %v, more than without the failure", name, o.Achieved)
							}
						}
					}
				}
			}
		}
	}
	if want := 6 * 3 * 2 * 2 * 4 * 5 * len(Failures); n != want {
		t.Fatalf("enumerated %d cases, want %d", n, want)
	}
	t.Logf("%d requirement x failure cases, %d of them deliver", n, delivered)
}

// TestAfter: the outcome of each failure under each kind of requirement, one row
// per rule.
func TestAfter(t *testing.T) {
	tests := []struct {
		name string
		req  Requirement
		fail Failure
		want Outcome
	}{
		// RFC 3207 §4: Preferred goes on in clear text when STARTTLS is not offered.
		{"Preferred, no STARTTLS", bySetting(TLSPreferred, dom, mx), NoSTARTTLS, Outcome{Deliver: true, Achieved: Plain}},
		{"Preferred, handshake failed", bySetting(TLSPreferred, dom, mx), HandshakeFailed, Outcome{Deliver: true, Achieved: Plain, PlainRetry: true}},
		{"Preferred, untrusted certificate", bySetting(TLSPreferred, dom, mx), PKIXUntrusted, Outcome{Deliver: true, Achieved: Encrypted}},
		// RFC 3207 §4: Required never sends in clear text.
		{"Required, no STARTTLS", bySetting(TLSRequired, dom, mx), NoSTARTTLS, Outcome{}},
		{"Required, handshake failed", bySetting(TLSRequired, dom, mx), HandshakeFailed, Outcome{}},
		{"Required, TLS 1.0", bySetting(TLSRequired, dom, mx), OldVersion, Outcome{Deliver: true, Achieved: Encrypted}},
		// Preferred - Verify: unverified TLS, or clear text, rather than nothing.
		{"Preferred - Verify, name mismatch", bySetting(TLSPreferredVerify, dom, mx), NameMismatch, Outcome{Deliver: true, Achieved: Encrypted}},
		{"Preferred - Verify, no STARTTLS", bySetting(TLSPreferredVerify, dom, mx), NoSTARTTLS, Outcome{Deliver: true, Achieved: Plain}},
		{"Required - Verify, verified", bySetting(TLSRequiredVerify, dom, mx), NoFailure, Outcome{Deliver: true, Achieved: PKIX}},
		{"Required - Verify, name mismatch", bySetting(TLSRequiredVerify, dom, mx), NameMismatch, Outcome{}},
		{"Required - Verify, untrusted", bySetting(TLSRequiredVerifyHosted, dom, mx), PKIXUntrusted, Outcome{}},
		// RFC 8461 §5: enforce, TLS 1.2+ and PKIX or no delivery.
		{"MTA-STS enforce, TLS 1.1", Decide(Controls{TLS: TLSPreferred, DANE: DANENone, MTASTS: true}, false, dom, mx, with(absent, STSEnforceMatch)), OldVersion, Outcome{}},
		{"MTA-STS enforce, no STARTTLS", Decide(Controls{TLS: TLSPreferred, DANE: DANENone, MTASTS: true}, false, dom, mx, with(absent, STSEnforceMatch)), NoSTARTTLS, Outcome{}},
		// RFC 7672 §2.2, §3: DANE authenticates or the host is not used.
		{"DANE, TLSA mismatch", Decide(Controls{TLS: TLSPreferred, DANE: DANEOpportunistic}, false, dom, mx, usable), DANEMismatch, Outcome{}},
		{"DANE, handshake failed", Decide(Controls{TLS: TLSPreferred, DANE: DANEOpportunistic}, false, dom, mx, usable), HandshakeFailed, Outcome{}},
		{"DANE, no STARTTLS", Decide(Controls{TLS: TLSPreferred, DANE: DANEOpportunistic}, false, dom, mx, usable), NoSTARTTLS, Outcome{}},
		{"DANE-EE, self-signed", Decide(Controls{TLS: TLSPreferred, DANE: DANEOpportunistic}, false, dom, mx, usable), PKIXUntrusted, Outcome{Deliver: true, Achieved: DANE}},
		{"skipped host", Decide(Controls{TLS: TLSPreferred, DANE: DANEMandatory}, false, dom, mx, absent), NoFailure, Outcome{}},
		{"TLS No", bySetting(TLSNo, dom, mx), NoSTARTTLS, Outcome{Deliver: true, Achieved: Plain}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.After(tt.fail); got != tt.want {
				t.Errorf("%v requirement, After(%v) = %+v, want %+v", tt.req.Kind, tt.fail, got, tt.want)
			}
		})
	}
}
