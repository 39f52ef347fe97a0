package dane

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/dns"
)

// errNoSTARTTLS stands for the SMTP probe's error when the server does not
// offer STARTTLS.
var errNoSTARTTLS = errors.New("smtp: the server does not offer STARTTLS")

// tls13 is the state of a completed TLS 1.3 handshake.
var tls13 = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, HandshakeComplete: true}

// host returns a Finding in state st, as Gather would leave it.
func host(name string, st State) Finding {
	f := Finding{Host: name, Expanded: name, AddressStatus: dns.Secure, State: st, TLSAStatus: TLSASecure, BaseDomain: name, Names: []string{name}}
	switch st {
	case StateAuthenticate:
		f.Records = Classify([]dns.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}})
		f.Reason = "secure TLSA RRset with 1 usable record"
	case StateTLSRequired:
		f.Records = Classify([]dns.TLSA{{Usage: 1, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}})
		f.Reason = "only unusable records"
	case StateNotApplicable:
		f.AddressStatus, f.TLSAStatus, f.BaseDomain, f.Names = dns.Insecure, TLSANotQueried, "", nil
		f.Reason = "the address is not validated"
	case StateBogus:
		f.TLSAStatus, f.BaseDomain, f.Names = TLSABogus, "", nil
		f.Reason = "DNSSEC validation failed for the TLSA records"
	case StateTempFail:
		f.TLSAStatus, f.BaseDomain, f.Names = TLSATempFail, "", nil
		f.Reason = "the TLSA lookup failed temporarily"
	}
	return f
}

// TestReport checks the daneverify result and closing line for each kind of
// finding and outcome (DESIGN.md "What the values mean").
func TestReport(t *testing.T) {
	tests := []struct {
		name        string
		in          DomainResult
		outcomes    map[string]Outcome
		wantDANE    []string
		wantResult  string
		wantSummary string
	}{
		{"case 61 RFC 7672 §2.2 authenticated: success",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("mx.d.test", StateAuthenticate)}},
			map[string]Outcome{"mx.d.test": {TLS: tls13}},
			[]string{"authenticated"}, ResultSuccess, "DANE SUCCESS for d.test"},
		{"case 63 RFC 7672 §2.2 usable records, no match: failed",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("mx.d.test", StateAuthenticate)}},
			map[string]Outcome{"mx.d.test": {TLS: tls13, Err: fmt.Errorf("dane: none matches: %w", ErrNoMatch)}},
			[]string{"failed"}, ResultFailed, "DANE FAILED for d.test: MX(mx.d.test): dane: none matches: no TLSA record matches the server certificate"},
		{"case 69 RFC 7672 §2.2 only unusable records and no STARTTLS: failed",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("mx.d.test", StateTLSRequired)}},
			map[string]Outcome{"mx.d.test": {Err: errNoSTARTTLS}},
			[]string{"unusable"}, ResultFailed, "DANE FAILED for d.test: MX(mx.d.test): smtp: the server does not offer STARTTLS"},
		{"case 70 RFC 7672 §2.2 usable records and no STARTTLS: failed",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("mx.d.test", StateAuthenticate)}},
			map[string]Outcome{"mx.d.test": {Err: errNoSTARTTLS}},
			[]string{"failed"}, ResultFailed, "DANE FAILED for d.test: MX(mx.d.test): smtp: the server does not offer STARTTLS"},
		{"RFC 7672 §2.2 only unusable records, TLS up: unsupported",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("mx.d.test", StateTLSRequired)}},
			map[string]Outcome{"mx.d.test": {TLS: tls13}},
			[]string{"unusable"}, ResultUnsupported, "DANE UNSUPPORTED for d.test: MX(mx.d.test): only unusable records"},
		{"RFC 7672 §2.2.2 insecure address: not-applicable, unsupported",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("mx.d.test", StateNotApplicable)}},
			nil,
			[]string{"not-applicable"}, ResultUnsupported, "DANE UNSUPPORTED for d.test: MX(mx.d.test): the address is not validated"},
		{"case 74 RFC 7672 §2.1.1 bogus TLSA: failed (a validation failure is not temporary)",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("mx.d.test", StateBogus)}},
			nil,
			[]string{"failed"}, ResultFailed, "DANE FAILED for d.test: MX(mx.d.test): DNSSEC validation failed for the TLSA records"},
		{"RFC 7672 §2.1.1 one MX authenticated, another's TLSA lookup failed: tempfail",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("a.d.test", StateAuthenticate), host("b.d.test", StateTempFail)}},
			map[string]Outcome{"a.d.test": {TLS: tls13}},
			[]string{"authenticated", "failed"}, ResultTempFail, "DANE FAILED for d.test: MX(b.d.test): the TLSA lookup failed temporarily"},
		{"DESIGN.md one MX failed, another authenticated: failed",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("a.d.test", StateAuthenticate), host("b.d.test", StateAuthenticate)}},
			map[string]Outcome{"a.d.test": {TLS: tls13}, "b.d.test": {Err: errNoSTARTTLS}},
			[]string{"authenticated", "failed"}, ResultFailed, "DANE FAILED for d.test: MX(b.d.test): smtp: the server does not offer STARTTLS"},
		{"DESIGN.md authenticated and not-applicable MX: success",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("a.d.test", StateNotApplicable), host("b.d.test", StateAuthenticate)}},
			map[string]Outcome{"b.d.test": {TLS: tls13}},
			[]string{"not-applicable", "authenticated"}, ResultSuccess, "DANE SUCCESS for d.test"},
		{"a host that requires TLS and was not tried does not count",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{host("a.d.test", StateAuthenticate)}},
			nil,
			[]string{""}, ResultUnsupported, "DANE UNSUPPORTED for d.test: no MX host was tried"},
		{"case 78 RFC 7672 §2.1.1 bogus MX: failed (a validation failure is not temporary)",
			DomainResult{Domain: "d.test", MXStatus: dns.Bogus, Err: errors.New("dane: MX lookup for d.test: DNSSEC validation failed (bogus)")},
			nil,
			nil, ResultFailed, "DANE FAILED for d.test: dane: MX lookup for d.test: DNSSEC validation failed (bogus)"},
		{"case 82 RFC 7505 null MX: unsupported",
			DomainResult{Domain: "d.test", MXStatus: dns.Secure, NullMX: true},
			nil,
			nil, ResultUnsupported, "DANE UNSUPPORTED for d.test: the domain accepts no mail (null MX)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.in.Report(tt.outcomes)
			var dane []string
			for _, h := range rep.MXHosts {
				dane = append(dane, h.DANE)
			}
			if diff := cmp.Diff(tt.wantDANE, dane); diff != "" {
				t.Errorf("Report dane values (-want +got):\n%s", diff)
			}
			if rep.Result != tt.wantResult {
				t.Errorf("Report result = %q, want %q", rep.Result, tt.wantResult)
			}
			if got := rep.Summary(); got != tt.wantSummary {
				t.Errorf("Summary() = %q, want %q", got, tt.wantSummary)
			}
		})
	}
}

// TestReportJSON pins the field names of daneverify --json (DESIGN.md).
func TestReportJSON(t *testing.T) {
	ee := host("mx.d.test", StateAuthenticate)
	na := host("mx2.d.test", StateNotApplicable)
	dr := DomainResult{Domain: "d.test", MXStatus: dns.Secure, Hosts: []Finding{ee, na}}
	rep := dr.Report(map[string]Outcome{"mx.d.test": {TLS: tls13}, "mx2.d.test": {TLS: tls13}})
	got, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	zero := "3 1 1 " + "0000000000000000000000000000000000000000000000000000000000000000"
	want := `{"domain":"d.test","mx_secure":true,"mx_hosts":[` +
		`{"host":"mx.d.test","address_secure":true,"tlsa":{"status":"secure","records":["` + zero + `"],"usable":1},` +
		`"tls":{"established":true,"version":"TLS1.3","cipher":"TLS_AES_128_GCM_SHA256"},"dane":"authenticated"},` +
		`{"host":"mx2.d.test","address_secure":false,"tlsa":{"status":"insecure","records":[],"usable":0},` +
		`"tls":{"established":true,"version":"TLS1.3","cipher":"TLS_AES_128_GCM_SHA256"},"dane":"not-applicable"}],` +
		`"result":"success"}`
	if string(got) != want {
		t.Errorf("json.Marshal(Report) =\n%s\nwant\n%s", got, want)
	}
}

// TestFailureType maps verification errors to TLSRPT result types
// (RFC 8460 §4.3).
func TestFailureType(t *testing.T) {
	tests := []struct {
		in   error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("dane: x: %w", ErrNoMatch), "validation-failure"},
		{fmt.Errorf("dane: x: %w", ErrMissingTA), "validation-failure"},
		{fmt.Errorf("dane: x: %w", ErrNameMismatch), "validation-failure"},
		{fmt.Errorf("dane: x: %w", ErrExpired), "validation-failure"},
		{fmt.Errorf("dane: x: %w", ErrChain), "validation-failure"},
		{fmt.Errorf("dane: x: %w", ErrNoUsable), "tlsa-invalid"},
		{errNoSTARTTLS, ""},
	}
	for _, tt := range tests {
		if got := FailureType(tt.in); got != tt.want {
			t.Errorf("FailureType(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
