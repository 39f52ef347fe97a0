package dane

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/dns"
)

// TestUsable checks which records are usable for SMTP (RFC 7672 §2.2,
// §3.1.3; RFC 6698 §2.1, §4.1).
func TestUsable(t *testing.T) {
	p := testPKI(t)
	tests := []struct {
		name    string
		in      dns.TLSA
		wantErr string // "" when usable
	}{
		{"RFC 7672 §3.1.1 DANE-EE(3) 3 1 1", rec(3, 1, 1, p.leaf), ""},
		{"RFC 7672 §3.1.2 DANE-TA(2) 2 0 1", rec(2, 0, 1, p.inter), ""},
		{"RFC 6698 §2.1.3 SHA2-512 3 1 2", rec(3, 1, 2, p.leaf), ""},
		{"RFC 6698 §2.1.3 Full 3 0 0 certificate", rec(3, 0, 0, p.leaf), ""},
		{"RFC 6698 §2.1.3 Full 2 1 0 public key", rec(2, 1, 0, p.root), ""},
		{"RFC 7672 §3.1.3 PKIX-TA(0) unusable", rec(0, 0, 1, p.root), "PKIX-TA(0) is not used for SMTP"},
		{"RFC 7672 §3.1.3 PKIX-EE(1) unusable", rec(1, 1, 1, p.leaf), "PKIX-EE(1) is not used for SMTP"},
		{"RFC 6698 §4.1 unknown usage 4", dns.TLSA{Usage: 4, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}, "unknown usage 4"},
		{"RFC 6698 §4.1 private usage 255", dns.TLSA{Usage: 255, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}, "unknown usage 255"},
		{"RFC 6698 §4.1 unknown selector 2", dns.TLSA{Usage: 3, Selector: 2, MatchingType: 1, Data: make([]byte, 32)}, "unknown selector 2"},
		{"RFC 6698 §4.1 unknown matching type 3", dns.TLSA{Usage: 3, Selector: 1, MatchingType: 3, Data: make([]byte, 32)}, "unknown matching type 3"},
		{"SHA2-256 data of a wrong length", dns.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: make([]byte, 31)}, "SHA2-256 data of 31 bytes, want 32"},
		{"SHA2-512 data of SHA2-256 length", dns.TLSA{Usage: 3, Selector: 1, MatchingType: 2, Data: make([]byte, 32)}, "SHA2-512 data of 32 bytes, want 64"},
		{"Full certificate that does not parse", dns.TLSA{Usage: 3, Selector: 0, MatchingType: 0, Data: []byte{0x30, 0x03, 1, 2, 3}}, "data is not a certificate"},
		{"Full public key that does not parse", dns.TLSA{Usage: 2, Selector: 1, MatchingType: 0, Data: []byte("junk")}, "data is not a public key"},
		{"empty data", dns.TLSA{Usage: 3, Selector: 1, MatchingType: 1}, "SHA2-256 data of 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Usable(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Usable(%s) = %v, want usable", tt.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrUnusable) {
				t.Errorf("Usable(%s) = %v, want %q wrapping ErrUnusable", tt.in, err, tt.wantErr)
			}
		})
	}
}

// TestClassifyAgility checks digest agility (RFC 7671 §9): which records of
// an RRset verification uses.
func TestClassifyAgility(t *testing.T) {
	p := testPKI(t)
	tests := []struct {
		name string
		in   []dns.TLSA
		want []bool // Used, per record
	}{
		{"3 1 2 sets 3 1 1 aside", []dns.TLSA{rec(3, 1, 1, p.leaf), rec(3, 1, 2, p.leaf)}, []bool{false, true}},
		{"two 3 1 1 records are both used", []dns.TLSA{rec(3, 1, 1, p.leaf), wrong(rec(3, 1, 1, p.leaf))}, []bool{true, true}},
		{"other selector is another group", []dns.TLSA{rec(3, 0, 1, p.leaf), rec(3, 1, 2, p.leaf)}, []bool{true, true}},
		{"other usage is another group", []dns.TLSA{rec(2, 1, 1, p.inter), rec(3, 1, 2, p.leaf)}, []bool{true, true}},
		{"Full(0) is not a digest", []dns.TLSA{rec(3, 1, 0, p.leaf), rec(3, 1, 2, p.leaf)}, []bool{true, true}},
		{"DANE-TA group: 2 0 2 sets 2 0 1 aside", []dns.TLSA{rec(2, 0, 1, p.inter), rec(2, 0, 2, p.inter)}, []bool{false, true}},
		{"an unusable SHA2-512 record sets nothing aside", []dns.TLSA{rec(3, 1, 1, p.leaf), {Usage: 3, Selector: 1, MatchingType: 2, Data: []byte{1}}}, []bool{true, false}},
		{"a PKIX-EE SHA2-512 record sets nothing aside", []dns.TLSA{rec(3, 1, 1, p.leaf), rec(1, 1, 2, p.leaf)}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []bool
			recs := Classify(tt.in)
			for _, r := range recs {
				got = append(got, r.Used)
				if r.Used != (r.Reason == "") {
					t.Errorf("record %s: Used %v with reason %q", r.Text, r.Used, r.Reason)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Classify Used (-want +got):\n%s", diff)
			}
			if n := len(Used(recs)); n != countUsed(recs) {
				t.Errorf("len(Used) = %d, countUsed = %d", n, countUsed(recs))
			}
		})
	}
}

// TestMatchName checks reference identifier matching (RFC 7672 §3.2.3,
// RFC 6125 §6.4.3).
func TestMatchName(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"mx.example.test", "mx.example.test", true},
		{"MX.Example.TEST.", "mx.example.test", true},
		{"mx.example.test", "mx2.example.test", false},
		{"*.example.test", "mx.example.test", true},
		{"*.example.test", "example.test", false},
		{"*.example.test", "a.mx.example.test", false},
		{"*.test", "example.test", false},
		{"m*.example.test", "mx.example.test", false},
		{"*.*.example.test", "a.b.example.test", false},
		{"*", "mx", false},
		{"", "mx.example.test", false},
		{"mx.example.test", "", false},
	}
	for _, tt := range tests {
		if got := matchName(tt.pattern, tt.host); got != tt.want {
			t.Errorf("matchName(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

// TestRecordText: records keep their presentation form and usage names.
func TestRecordText(t *testing.T) {
	r := Classify([]dns.TLSA{{Usage: 3, Selector: 1, MatchingType: 1, Data: []byte{0xab, 0xcd}}})[0]
	if r.String() != "3 1 1 abcd" {
		t.Errorf("String() = %q, want %q", r.String(), "3 1 1 abcd")
	}
	for u, want := range map[uint8]string{0: "PKIX-TA(0)", 1: "PKIX-EE(1)", 2: "DANE-TA(2)", 3: "DANE-EE(3)", 7: "usage(7)"} {
		if got := UsageName(u); got != want {
			t.Errorf("UsageName(%d) = %q, want %q", u, got, want)
		}
	}
}
