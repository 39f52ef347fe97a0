package tlspolicy

import (
	"crypto/tls"
	"fmt"
	"slices"
	"testing"
)

const dom, mx = "example.com", "mx1.example.net"

var (
	usable   = Findings{DANE: DANEUsable, DANENames: []string{"mx1.example.net", "example.com"}, DANEBase: "mx1.example.net"}
	unusable = Findings{DANE: DANEUnusable}
	failed   = Findings{DANE: DANELookupFailed}
	absent   = Findings{DANE: DANEAbsent}
)

func with(f Findings, s STSFinding) Findings { f.STS = s; return f }

// TestDecide: one row per rule of DESIGN.md's engine rules (and engine-cases.md),
// each commented with the rule it shows.
func TestDecide(t *testing.T) {
	on := func(m TLSMode, d DANEMode, sts bool) Controls { return Controls{TLS: m, DANE: d, MTASTS: sts} }
	tests := []struct {
		name       string
		c          Controls
		routed     bool
		f          Findings
		wantAction Action
		wantKind   Kind
		wantFall   bool
		wantNames  []string
		wantRule   string
	}{
		// Rule 1: a route takes the TLS setting only; DANE and MTA-STS are not applied.
		{"route ignores usable DANE", on(TLSRequired, DANEMandatory, true), true, with(usable, STSEnforceMatch), Deliver, Encrypted, false, nil, "route"},
		{"route ignores enforce no-match", on(TLSPreferred, DANENone, true), true, with(absent, STSEnforceNoMatch), Deliver, Opportunistic, true, nil, "route"},
		{"route with Verify checks the domain", on(TLSRequiredVerify, DANEOpportunistic, true), true, usable, Deliver, PKIX, false, []string{dom}, "route"},
		// Rule 2: DANE decides when a secure usable TLSA RRset exists (RFC 7672 §2.2).
		{"dane usable, opportunistic", on(TLSPreferred, DANEOpportunistic, false), false, usable, Deliver, DANE, false, usable.DANENames, "dane"},
		{"dane usable beats mta-sts enforce", on(TLSPreferred, DANEOpportunistic, true), false, with(usable, STSEnforceMatch), Deliver, DANE, false, usable.DANENames, "dane"},
		{"dane usable beats mta-sts no-match", on(TLSPreferred, DANEMandatory, true), false, with(usable, STSEnforceNoMatch), Deliver, DANE, false, usable.DANENames, "dane"},
		// Rule 2: only unusable records: TLS required, not authenticated (RFC 7672 §2.2, case 69).
		{"dane only unusable", on(TLSPreferred, DANEOpportunistic, true), false, with(unusable, STSEnforceMatch), Deliver, Encrypted, false, nil, "dane"},
		// Rule 2: a failed TLSA lookup makes the host unusable (RFC 7672 §2.1.1, case 74).
		{"dane lookup failed", on(TLSPreferred, DANEOpportunistic, true), false, with(failed, STSEnforceMatch), Skip, Plain, false, nil, "dane"},
		{"dane lookup failed, mandatory", on(TLSRequired, DANEMandatory, false), false, failed, Skip, Plain, false, nil, "dane"},
		// Rule 2: no DANE for the host: Mandatory skips it ("DANE not supported").
		{"dane mandatory, absent", on(TLSPreferred, DANEMandatory, true), false, with(absent, STSEnforceMatch), Skip, Plain, false, nil, "dane"},
		// Rule 2: no DANE, Opportunistic: on to MTA-STS (rule 3).
		{"dane opportunistic absent, enforce", on(TLSPreferred, DANEOpportunistic, true), false, with(absent, STSEnforceMatch), Deliver, MTASTS, false, []string{mx}, "mta-sts"},
		// Rule 2 needs TLS support other than No.
		{"dane with TLS No", on(TLSNo, DANEMandatory, true), false, with(usable, STSEnforceMatch), Deliver, Plain, false, nil, "tls-setting"},
		// Rule 3: enforce and a matching MX: PKIX for the MX name, TLS 1.2+ (RFC 8461 §4.2, §5, §7.2).
		{"enforce match", on(TLSPreferred, DANENone, true), false, with(absent, STSEnforceMatch), Deliver, MTASTS, false, []string{mx}, "mta-sts"},
		{"enforce beats Preferred-Verify", on(TLSPreferredVerify, DANENone, true), false, with(absent, STSEnforceMatch), Deliver, MTASTS, false, []string{mx}, "mta-sts"},
		// Rule 3: enforce and no matching MX: the host is not used (RFC 8461 §5, case 53).
		{"enforce no match", on(TLSPreferred, DANENone, true), false, with(absent, STSEnforceNoMatch), Skip, Plain, false, nil, "mta-sts"},
		// Rule 3: testing: delivery by the TLS setting, failures reported (RFC 8461 §5, case 57).
		{"testing", on(TLSPreferred, DANENone, true), false, with(absent, STSTesting), Deliver, Opportunistic, true, nil, "mta-sts-testing"},
		// Rule 3: TXT temporary failure with nothing cached: defer (engine-cases.md case 14).
		{"sts tempfail", on(TLSPreferred, DANENone, true), false, with(absent, STSTempFail), Defer, Plain, false, nil, "mta-sts"},
		// Rule 3: no policy or mode none: the TLS setting (RFC 8461 §5, case 58).
		{"no policy", on(TLSRequired, DANENone, true), false, with(absent, STSNoPolicy), Deliver, Encrypted, false, nil, "tls-setting"},
		// Rule 3 needs MTA-STS On and TLS support other than No.
		{"mta-sts off ignores enforce", on(TLSPreferred, DANENone, false), false, with(absent, STSEnforceNoMatch), Deliver, Opportunistic, true, nil, "tls-setting"},
		{"mta-sts with TLS No", on(TLSNo, DANENone, true), false, with(absent, STSEnforceMatch), Deliver, Plain, false, nil, "tls-setting"},
		// Rule 4: the six TLS settings.
		{"No", on(TLSNo, DANENone, false), false, absent, Deliver, Plain, false, nil, "tls-setting"},
		{"Preferred", on(TLSPreferred, DANENone, false), false, absent, Deliver, Opportunistic, true, nil, "tls-setting"},
		{"Required", on(TLSRequired, DANENone, false), false, absent, Deliver, Encrypted, false, nil, "tls-setting"},
		{"Preferred - Verify", on(TLSPreferredVerify, DANENone, false), false, absent, Deliver, PKIX, true, []string{dom}, "tls-setting"},
		{"Required - Verify", on(TLSRequiredVerify, DANENone, false), false, absent, Deliver, PKIX, false, []string{dom}, "tls-setting"},
		{"Required - Verify Hosted Domains", on(TLSRequiredVerifyHosted, DANENone, false), false, absent, Deliver, PKIX, false, []string{dom, mx}, "tls-setting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Decide(tt.c, tt.routed, dom, mx, tt.f)
			if r.Action != tt.wantAction || r.Rule != tt.wantRule {
				t.Fatalf("Decide = action %v rule %q (%s), want action %v rule %q", r.Action, r.Rule, r.Why, tt.wantAction, tt.wantRule)
			}
			if r.Action != Deliver {
				return
			}
			if r.Kind != tt.wantKind || r.Fallback != tt.wantFall || !slices.Equal(r.Names, tt.wantNames) {
				t.Errorf("Decide = %v fallback %v names %v, want %v fallback %v names %v (%s)", r.Kind, r.Fallback, r.Names, tt.wantKind, tt.wantFall, tt.wantNames, r.Why)
			}
		})
	}
}

// TestDecideEveryCombination enumerates TLS mode x DANE x MTA-STS x route x findings
// and checks each rule independently, so that no combination escapes the precedence
// or gets weaker TLS than the rules allow.
func TestDecideEveryCombination(t *testing.T) {
	n := 0
	for m := TLSNo; m <= TLSRequiredVerifyHosted; m++ {
		for d := DANENone; d <= DANEMandatory; d++ {
			for _, sts := range []bool{false, true} {
				for _, routed := range []bool{false, true} {
					for df := DANEAbsent; df <= DANELookupFailed; df++ {
						for sf := STSNoPolicy; sf <= STSTempFail; sf++ {
							n++
							f := Findings{DANE: df, STS: sf, DANENames: []string{mx}, DANEBase: mx}
							c := Controls{TLS: m, DANE: d, MTASTS: sts}
							r := Decide(c, routed, dom, mx, f)
							name := fmt.Sprintf("tls=%v dane=%d sts=%v routed=%v findings=%d/%d", m, d, sts, routed, df, sf)
							checkRules(t, name, c, routed, f, r)
						}
					}
				}
			}
		}
	}
	if n != 6*3*2*2*4*5 {
		t.Fatalf("enumerated %d combinations", n)
	}
}

func checkRules(t *testing.T, name string, c Controls, routed bool, f Findings, r Requirement) {
	t.Helper()
	fail := func(rule string) { t.Errorf("%s: %s; got %+v", name, rule, r) }
	daneOn := c.TLS != TLSNo && c.DANE != DANENone && !routed
	stsOn := c.TLS != TLSNo && c.MTASTS && !routed
	// TLS No never starts TLS and never refuses (nothing else applies without TLS).
	if c.TLS == TLSNo && (r.Kind != Plain || r.Action != Deliver) {
		fail("TLS support No means clear text, DANE and MTA-STS not applied")
	}
	// Routes: TLS setting only.
	if routed && (r.Kind == DANE || r.Kind == MTASTS || r.Action != Deliver) {
		fail("a routed domain takes the TLS setting only")
	}
	// A usable secure TLSA RRset: DANE authentication, whatever MTA-STS says.
	if daneOn && f.DANE == DANEUsable && (r.Action != Deliver || r.Kind != DANE || r.Fallback) {
		fail("usable DANE records require DANE authentication with no fallback (RFC 7672 §2.2)")
	}
	if r.Kind == DANE && (!daneOn || f.DANE != DANEUsable) {
		fail("DANE authentication only when DANE is on and usable records exist")
	}
	if daneOn && f.DANE == DANEUnusable && (r.Action != Deliver || r.Kind != Encrypted || r.Fallback) {
		fail("only unusable records: TLS required without authentication")
	}
	if daneOn && f.DANE == DANELookupFailed && r.Action != Skip {
		fail("a failed TLSA lookup makes the host unusable (RFC 7672 §2.1.1)")
	}
	if daneOn && c.DANE == DANEMandatory && f.DANE == DANEAbsent && r.Action != Skip {
		fail("DANE Mandatory without DANE: the host is not used")
	}
	daneDecided := daneOn && (f.DANE != DANEAbsent || c.DANE == DANEMandatory)
	if stsOn && !daneDecided {
		switch f.STS {
		case STSEnforceMatch:
			if r.Kind != MTASTS || r.MinVersion < tls.VersionTLS12 || r.Fallback || !slices.Equal(r.Names, []string{mx}) || r.ServerName != mx {
				fail("enforce: PKIX for the MX name, TLS 1.2+, SNI = MX (RFC 8461 §4.2, §7)")
			}
		case STSEnforceNoMatch:
			if r.Action != Skip {
				fail("enforce: a host not in the policy is not used (RFC 8461 §5)")
			}
		case STSTempFail:
			if r.Action != Defer {
				fail("MTA-STS temporary failure with nothing cached defers")
			}
		case STSTesting:
			if !r.ReportOnly || r.Kind == MTASTS {
				fail("testing: delivery by the TLS setting, failures reported")
			}
		}
	}
	if r.Kind == MTASTS && (!stsOn || daneDecided || f.STS != STSEnforceMatch) {
		fail("MTA-STS enforcement only when it applies and DANE did not decide")
	}
	// Whatever decided, never weaker than the TLS setting demands, except where the
	// rules replace the setting by something at least as strict.
	if r.Action == Deliver {
		switch c.TLS {
		case TLSRequired, TLSRequiredVerify, TLSRequiredVerifyHosted:
			if r.Kind < Encrypted || r.Fallback {
				fail("a Required setting never falls back to clear text")
			}
		}
		if c.TLS >= TLSPreferredVerify && r.Kind < Encrypted {
			fail("a Verify setting never delivers without TLS by decision")
		}
	}
	if r.Why == "" || r.Rule == "" {
		fail("every decision explains itself")
	}
}

func TestSecurityLabels(t *testing.T) {
	for k, want := range map[Kind]string{Plain: "none", Opportunistic: "tls", Encrypted: "tls", PKIX: "tls-verify", MTASTS: "mta-sts", DANE: "dane"} {
		if got := (Requirement{Kind: k}).Security(); got != want {
			t.Errorf("Security(%v) = %q, want %q", k, got, want)
		}
	}
}
