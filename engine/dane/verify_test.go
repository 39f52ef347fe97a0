package dane

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/segcli/segcli/engine/dns"
)

// TestVerifyHandshake runs real TLS handshakes on 127.0.0.1: the server
// presents a generated chain, the client uses Target.TLSConfig, and the
// handshake succeeds or fails with the sentinel of the rule.
func TestVerifyHandshake(t *testing.T) {
	p := testPKI(t)
	mx := []string{"mx.example.test"}
	mxAndNextHop := []string{"mx.example.test", "example.test"}
	tests := []struct {
		name    string // engine case, rule
		chain   []cert // presented by the server, leaf first
		records []dns.TLSA
		names   []string
		wantErr error
	}{
		// 61, 62: DANE-EE(3), each selector and matching type (RFC 6698 §2.1.2, §2.1.3).
		{"case 61 RFC 7672 §3.1.1 3 1 1 SHA-256 of the leaf SPKI", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 1, 1, p.leaf)}, mx, nil},
		{"case 62 RFC 6698 §2.1 3 0 1 SHA-256 of the whole certificate", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 0, 1, p.leaf)}, mx, nil},
		{"case 62 RFC 6698 §2.1 3 1 2 SHA-512 of the SPKI", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 1, 2, p.leaf)}, mx, nil},
		{"case 62 RFC 6698 §2.1 3 1 0 the SPKI itself", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 1, 0, p.leaf)}, mx, nil},
		{"case 62 RFC 6698 §2.1 3 0 0 the certificate itself", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 0, 0, p.leaf)}, mx, nil},
		{"case 62 RFC 6698 §2.1 3 0 2 SHA-512 of the whole certificate", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 0, 2, p.leaf)}, mx, nil},
		{"case 62 RFC 6698 §2.1.2 3 0 1 holding the SPKI digest does not match", []cert{p.leaf, p.inter},
			[]dns.TLSA{{Usage: 3, Selector: 0, MatchingType: 1, Data: rec(3, 1, 1, p.leaf).Data}}, mx, ErrNoMatch},
		{"case 62 RFC 6698 §2.1.2 3 1 1 holding the certificate digest does not match", []cert{p.leaf, p.inter},
			[]dns.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: rec(3, 0, 1, p.leaf).Data}}, mx, ErrNoMatch},
		{"case 63 RFC 7672 §2.2 3 1 1 with a wrong hash fails", []cert{p.leaf, p.inter}, []dns.TLSA{wrong(rec(3, 1, 1, p.leaf))}, mx, ErrNoMatch},
		{"case 63 RFC 7672 §3.1.1 DANE-EE matches the leaf only, not an issuer", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 1, 1, p.inter)}, mx, ErrNoMatch},
		{"case 64 RFC 6698 §4.1 several records, one matching, succeed", []cert{p.leaf, p.inter},
			[]dns.TLSA{wrong(rec(3, 1, 1, p.leaf)), wrong(rec(2, 1, 1, p.root)), rec(3, 1, 1, p.leaf)}, mx, nil},
		{"RFC 7672 §3.1.1 DANE-EE checks no name", []cert{p.wrongName, p.inter}, []dns.TLSA{rec(3, 1, 1, p.wrongName)}, mx, nil},
		{"RFC 7672 §3.1.1 DANE-EE checks no expiry", []cert{p.expired, p.inter}, []dns.TLSA{rec(3, 1, 1, p.expired)}, mx, nil},
		{"RFC 7672 §3.1.1 DANE-EE accepts a self-signed leaf", []cert{p.selfSigned}, []dns.TLSA{rec(3, 0, 1, p.selfSigned)}, mx, nil},

		// 65-68: DANE-TA(2).
		{"case 65 RFC 7672 §3.1.2 2 1 1 of the intermediate, leaf names the MX host", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mx, nil},
		{"case 65 RFC 7672 §3.1.2 2 0 1 of a root the server sends", []cert{p.leaf, p.inter, p.root}, []dns.TLSA{rec(2, 0, 1, p.root)}, mx, nil},
		{"case 65 RFC 7672 §3.1.2 chain presented out of order", []cert{p.leaf, p.root, p.inter}, []dns.TLSA{rec(2, 0, 1, p.root)}, mx, nil},
		{"case 66 RFC 7672 §3.1.2 2 0 1 of a root the server does not send: missing TA", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 0, 1, p.root)}, mx, ErrMissingTA},
		{"case 66 RFC 7672 §3.1.2 2 1 2 of a root the server does not send: missing TA", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 1, 2, p.root)}, mx, ErrMissingTA},
		{"case 66 RFC 7671 §5.2 2 0 0 gives the whole TA certificate the server omits", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 0, 0, p.root)}, mx, nil},
		{"case 66 RFC 7671 §5.2 2 1 0 gives the TA key that signed the top of the chain", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 1, 0, p.root)}, mx, nil},
		{"case 67 RFC 7672 §3.1.2 2 1 1 matching the leaf (depth 0) fails", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 1, 1, p.leaf)}, mx, ErrMissingTA},
		{"case 67 RFC 7672 §3.1.2 2 0 1 matching a self-signed leaf fails", []cert{p.selfSigned}, []dns.TLSA{rec(2, 0, 1, p.selfSigned)}, mx, ErrMissingTA},
		{"case 67 RFC 7672 §3.1.2 2 0 0 holding the self-signed leaf fails", []cert{p.selfSigned}, []dns.TLSA{rec(2, 0, 0, p.selfSigned)}, mx, ErrMissingTA},
		{"case 67 RFC 7671 §5.2 2 1 0 corner case: the key of a self-signed leaf verifies it", []cert{p.selfSigned}, []dns.TLSA{rec(2, 1, 0, p.selfSigned)}, mx, nil},
		{"case 68 RFC 7672 §3.2.2 leaf naming the next-hop domain, MX RRset secure", []cert{p.nextHop, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mxAndNextHop, nil},
		{"case 68 RFC 7672 §3.2.2 leaf naming the CNAME-expanded MX host", []cert{p.provider, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)},
			[]string{"mx.provider.test", "mx.example.test", "example.test"}, nil},
		{"case 77 RFC 7672 §3.2.2 MX RRset insecure: the next-hop domain is not a reference name", []cert{p.nextHop, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mx, ErrNameMismatch},
		{"RFC 7672 §3.2.3 wildcard stands for one label", []cert{p.wildcard, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mx, nil},
		{"RFC 7672 §3.2.3 wildcard does not stand for two labels", []cert{p.wildcard, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, []string{"a.mx.example.test"}, ErrNameMismatch},
		{"RFC 7672 §3.2.3 common name when there is no DNS subjectAltName", []cert{p.cnOnly, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mx, nil},
		{"RFC 7672 §3.2.2 DANE-TA with a leaf for another name fails", []cert{p.wrongName, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mx, ErrNameMismatch},
		{"RFC 7672 §3.1.2 DANE-TA with an expired leaf fails", []cert{p.expired, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mx, ErrExpired},
		{"RFC 7672 §3.1.2 DANE-TA with an expired intermediate fails", []cert{p.leafOfExpiredInter, p.expiredInter, p.root}, []dns.TLSA{rec(2, 0, 1, p.root)}, mx, ErrExpired},
		{"RFC 7672 §3.1.2 DANE-TA: TA present, but the leaf's signature is not its", []cert{p.rogueLeaf, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, mx, ErrChain},
		{"RFC 7672 §3.1.2 DANE-TA: a record matching no certificate, with DANE-EE records too", []cert{p.leaf, p.inter},
			[]dns.TLSA{wrong(rec(3, 1, 1, p.leaf)), rec(2, 1, 1, p.root)}, mx, ErrNoMatch},

		// RFC 7671 §9 digest agility.
		{"RFC 7671 §9 with 3 1 2 published, 3 1 1 is not used", []cert{p.leaf, p.inter}, []dns.TLSA{wrong(rec(3, 1, 2, p.leaf)), rec(3, 1, 1, p.leaf)}, mx, ErrNoMatch},
		{"RFC 7671 §9 the stronger digest matching succeeds", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 1, 2, p.leaf), wrong(rec(3, 1, 1, p.leaf))}, mx, nil},
		{"RFC 7671 §9 agility is per selector", []cert{p.leaf, p.inter}, []dns.TLSA{wrong(rec(3, 1, 2, p.leaf)), rec(3, 0, 1, p.leaf)}, mx, nil},
		{"RFC 7671 §9 agility is per usage", []cert{p.leaf, p.inter}, []dns.TLSA{wrong(rec(3, 1, 2, p.leaf)), rec(2, 1, 1, p.inter)}, mx, nil},
		{"RFC 7671 §9 Full(0) is not a digest and is still used", []cert{p.leaf, p.inter}, []dns.TLSA{wrong(rec(3, 1, 2, p.leaf)), rec(3, 1, 0, p.leaf)}, mx, nil},
		{"RFC 7671 §9 a malformed stronger digest does not set the weaker aside", []cert{p.leaf, p.inter},
			[]dns.TLSA{{Usage: 3, Selector: 1, MatchingType: 2, Data: []byte{1, 2, 3}}, rec(3, 1, 1, p.leaf)}, mx, nil},

		// RFC 7672 §3.1.3: PKIX usages are unusable for SMTP.
		{"RFC 7672 §3.1.3 a matching 1 1 1 (PKIX-EE) is not used", []cert{p.leaf, p.inter}, []dns.TLSA{rec(1, 1, 1, p.leaf), wrong(rec(3, 1, 1, p.leaf))}, mx, ErrNoMatch},
		{"RFC 7672 §3.1.3 a matching 0 1 1 (PKIX-TA) is not used", []cert{p.leaf, p.inter}, []dns.TLSA{rec(0, 1, 1, p.inter), wrong(rec(3, 1, 1, p.leaf))}, mx, ErrNoMatch},
	}
	servers := make(map[string]*tlsServer) // live until the parent test ends
	parent := t
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var key []string
			for _, c := range tt.chain {
				key = append(key, c.x509.SerialNumber.String())
			}
			srv := servers[strings.Join(key, " ")]
			if srv == nil {
				srv = startTLS(parent, 0, tt.chain...)
				servers[strings.Join(key, " ")] = srv
			}
			target := Target{Host: "mx.example.test", BaseDomain: "mx.example.test", Names: tt.names, Records: tt.records}
			_, err := handshake(t, srv.addr, target.TLSConfig(clock))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("handshake with %v: error %v, want %v", tt.records, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "dane: ") {
				t.Errorf("error %q lacks the dane: prefix", err)
			}
			// The same verdict without a network, from the chain alone.
			_, err2 := VerifyChain(tt.records, tt.names, chainOf(tt.chain...), now)
			if !errors.Is(err2, tt.wantErr) || (err2 == nil) != (tt.wantErr == nil) {
				t.Errorf("VerifyChain: error %v, want %v", err2, tt.wantErr)
			}
		})
	}
}

// TestVerifyMatch checks what a successful verification reports.
func TestVerifyMatch(t *testing.T) {
	p := testPKI(t)
	tests := []struct {
		name      string
		chain     []cert
		records   []dns.TLSA
		wantDepth int
		wantName  string
		wantUsage uint8
	}{
		{"DANE-EE matches at depth 0", []cert{p.leaf, p.inter}, []dns.TLSA{rec(3, 1, 1, p.leaf)}, 0, "", 3},
		{"DANE-TA intermediate at depth 1", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, 1, "mx.example.test", 2},
		{"DANE-TA root sent at depth 2", []cert{p.leaf, p.inter, p.root}, []dns.TLSA{rec(2, 0, 1, p.root)}, 2, "mx.example.test", 2},
		{"DANE-TA root from a 2 0 0 record at depth 2", []cert{p.leaf, p.inter}, []dns.TLSA{rec(2, 0, 0, p.root)}, 2, "mx.example.test", 2},
		{"DANE-TA next-hop name reported", []cert{p.nextHop, p.inter}, []dns.TLSA{rec(2, 1, 1, p.inter)}, 1, "example.test", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := VerifyChain(tt.records, []string{"mx.example.test", "example.test"}, chainOf(tt.chain...), now)
			if err != nil {
				t.Fatal(err)
			}
			if m.Depth != tt.wantDepth || m.Name != tt.wantName || m.Record.Usage != tt.wantUsage {
				t.Errorf("VerifyChain = depth %d name %q usage %d, want %d %q %d", m.Depth, m.Name, m.Record.Usage, tt.wantDepth, tt.wantName, tt.wantUsage)
			}
			if !strings.Contains(m.String(), "matched") {
				t.Errorf("Match.String() = %q", m.String())
			}
		})
	}
}

// TestVerifyBadInput: no certificate, no usable record.
func TestVerifyBadInput(t *testing.T) {
	p := testPKI(t)
	tests := []struct {
		name    string
		records []dns.TLSA
		chain   []cert
		wantErr error
	}{
		{"RFC 7672 §2.2 no record", nil, []cert{p.leaf}, ErrNoUsable},
		{"RFC 7672 §3.1.3 only PKIX-EE records", []dns.TLSA{rec(1, 1, 1, p.leaf)}, []cert{p.leaf}, ErrNoUsable},
		{"no certificate presented", []dns.TLSA{rec(3, 1, 1, p.leaf)}, nil, ErrNoCertificate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyChain(tt.records, nil, chainOf(tt.chain...), now)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("VerifyChain = %v, want %v", err, tt.wantErr)
			}
			if got, want := FailureType(err), map[bool]string{true: "tlsa-invalid", false: "validation-failure"}[tt.wantErr == ErrNoUsable]; got != want {
				t.Errorf("FailureType(%v) = %q, want %q", err, got, want)
			}
		})
	}
}

// TestTLSConfigUnauthenticated: RFC 7672 §2.2, with only unusable records TLS
// is required but any certificate is accepted; SNI is still the TLSA base
// domain (RFC 7672 §8.1).
func TestTLSConfigUnauthenticated(t *testing.T) {
	p := testPKI(t)
	srv := startTLS(t, 0, p.wrongName, p.inter)
	target := Target{Host: "mx.example.test", BaseDomain: "mx.example.test"}
	cs, err := handshake(t, srv.addr, target.TLSConfig(nil))
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if !cs.HandshakeComplete {
		t.Error("handshake not complete")
	}
	if got := srv.lastSNI(); got != "mx.example.test" {
		t.Errorf("SNI = %q, want mx.example.test", got)
	}
}

// TestNoPlaintextAfterHandshakeFailure is case 71: with usable TLSA records,
// a handshake that fails (here on versions: the server offers only TLS 1.0,
// below what the client accepts) is an error for the caller, never a reason
// to go on in clear text (RFC 7672 §2.2): the host requires TLS and the
// report says failed.
func TestNoPlaintextAfterHandshakeFailure(t *testing.T) {
	p := testPKI(t)
	srv := startTLS(t, tls.VersionTLS10, p.leaf, p.inter)
	f := Finding{Host: "mx.example.test", BaseDomain: "mx.example.test", Names: []string{"mx.example.test"},
		State: StateAuthenticate, TLSAStatus: TLSASecure, AddressStatus: dns.Secure,
		Records: Classify([]dns.TLSA{rec(3, 1, 1, p.leaf)})}
	cfg := f.Target().TLSConfig(clock)
	_, err := handshake(t, srv.addr, cfg)
	if err == nil {
		t.Fatal("handshake with a TLS 1.0 server succeeded")
	}
	if !f.RequiresTLS() {
		t.Error("RequiresTLS() = false for a host with usable TLSA records")
	}
	dr := DomainResult{Domain: "example.test", MXStatus: dns.Secure, Hosts: []Finding{f}}
	rep := dr.Report(map[string]Outcome{"mx.example.test": {Err: err}})
	if rep.Result != ResultFailed || rep.MXHosts[0].DANE != DANEFailed {
		t.Errorf("Report = result %q dane %q, want failed, failed", rep.Result, rep.MXHosts[0].DANE)
	}
}
