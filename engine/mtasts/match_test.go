package mtasts

import "testing"

// TestMatchMX: RFC 8461 §4.1, MX host validation.
func TestMatchMX(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		host    string
		want    bool
	}{
		{name: "c49 wildcard, one label §4.1", pattern: "*.example.com", host: "mail.example.com", want: true},
		{name: "c49 case-insensitive §4.1", pattern: "*.example.com", host: "MAIL.Example.COM", want: true},
		{name: "c49 trailing dot §4.1", pattern: "*.example.com", host: "mail.example.com.", want: true},
		{name: "c49 pattern in upper case §4.1", pattern: "*.EXAMPLE.com", host: "mail.example.com", want: true},
		{name: "c50 wildcard does not match the parent §4.1", pattern: "*.example.com", host: "example.com", want: false},
		{name: "c50 wildcard does not match an empty label §4.1", pattern: "*.example.com", host: ".example.com", want: false},
		{name: "c51 wildcard matches exactly one label §4.1", pattern: "*.example.com", host: "foo.bar.example.com", want: false},
		{name: "c52 suffix is not a match §4.1", pattern: "mail.example.com", host: "mail.example.com.evil", want: false},
		{name: "c52 missing dot is not a match §4.1", pattern: "mail.example.com", host: "mailexample.com", want: false},
		{name: "c52 prefix is not a match §4.1", pattern: "mail.example.com", host: "evil-mail.example.com", want: false},
		{name: "c52 exact name §4.1", pattern: "mail.example.com", host: "Mail.Example.Com.", want: true},
		{name: "c52 exact name does not match a sub-domain §4.1", pattern: "example.com", host: "mail.example.com", want: false},
		{name: "IDNA: U-label pattern, A-label host §4.1", pattern: "*.b\u00fccher.example", host: "mx.xn--bcher-kva.example.", want: true},
		{name: "IDNA: A-label pattern, U-label host §4.1", pattern: "mx.xn--bcher-kva.example", host: "mx.B\u00fccher.example", want: true},
		{name: "IDNA: different names §4.1", pattern: "mx.b\u00fccher.example", host: "mx.bucher.example", want: false},
		{name: "empty pattern §4.1", pattern: "", host: "example.com", want: false},
		{name: "bare wildcard §4.1", pattern: "*.", host: "example.com", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchMX(tt.pattern, tt.host); got != tt.want {
				t.Errorf("MatchMX(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
			}
		})
	}
}

// TestPolicyMatch: a host matches a policy when it matches any pattern.
func TestPolicyMatch(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"mx1.example.net", true},
		{"backupmx.example.com.", true},
		{"example.net", false},
		{"other.example.com", false},
	}
	for _, tt := range tests {
		if got := rfcPolicy.Match(tt.host); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
