package daneverify

import (
	"crypto/tls"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    options
		wantErr string
	}{
		{name: "none: the dialog asks", in: nil, want: options{}},
		{name: "domain", in: []string{"Example.COM."}, want: options{domain: "example.com"}},
		{name: "json after", in: []string{"example.com", "--json"}, want: options{domain: "example.com", json: true}},
		{name: "json before", in: []string{"--json", "example.com"}, want: options{domain: "example.com", json: true}},
		{name: "json alone", in: []string{"--json"}, wantErr: `daneverify: --json needs a DOMAIN; usage: daneverify [DOMAIN] [--json]`},
		{name: "unknown option", in: []string{"-v", "example.com"}, wantErr: `daneverify: unknown option "-v"; usage: daneverify [DOMAIN] [--json]`},
		{name: "single dash json", in: []string{"-json", "example.com"}, wantErr: `daneverify: unknown option "-json"; usage: daneverify [DOMAIN] [--json]`},
		{name: "two domains", in: []string{"a.example", "b.example"}, wantErr: `daneverify: give one domain; usage: daneverify [DOMAIN] [--json]`},
		{name: "bad name", in: []string{"bad_domain!"}, wantErr: `daneverify: "bad_domain!" is not a domain name: give a mail domain such as example.com`},
		{name: "empty label", in: []string{"a..example"}, wantErr: `daneverify: "a..example" is not a domain name: give a mail domain such as example.com`},
		{name: "root", in: []string{"."}, wantErr: `daneverify: "." is not a domain name: give a mail domain such as example.com`},
		{name: "IPv4", in: []string{"192.0.2.1"}, wantErr: `daneverify: "192.0.2.1" is an IP address: give a mail domain such as example.com`},
		{name: "IPv6", in: []string{"[2001:db8::1]"}, wantErr: `daneverify: "[2001:db8::1]" is an IP address: give a mail domain such as example.com`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseArgs(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCipherName(t *testing.T) {
	tests := []struct {
		name string
		in   uint16
		want string
	}{
		{name: "the appliance's example", in: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, want: "ECDHE-RSA-AES256-GCM-SHA384"},
		{name: "ECDSA", in: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, want: "ECDHE-ECDSA-AES128-GCM-SHA256"},
		{name: "ChaCha20", in: tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, want: "ECDHE-RSA-CHACHA20-POLY1305"},
		{name: "CBC", in: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, want: "ECDHE-RSA-AES128-SHA"},
		{name: "RSA key exchange", in: tls.TLS_RSA_WITH_AES_256_GCM_SHA384, want: "AES256-GCM-SHA384"},
		{name: "3DES", in: tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, want: "DES-CBC3-SHA"},
		{name: "TLS 1.3 keeps its name", in: tls.TLS_AES_128_GCM_SHA256, want: "TLS_AES_128_GCM_SHA256"},
		{name: "unknown", in: 0x1234, want: "0x1234"},
	}
	for _, tt := range tests {
		if got := cipherName(tt.in); got != tt.want {
			t.Errorf("%s: cipherName(0x%04x) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestProtocolName(t *testing.T) {
	tests := []struct {
		in   uint16
		want string
	}{
		{tls.VersionTLS10, "TLSv1"},
		{tls.VersionTLS11, "TLSv1.1"},
		{tls.VersionTLS12, "TLSv1.2"},
		{tls.VersionTLS13, "TLSv1.3"},
		{0x0300, "0x0300"},
	}
	for _, tt := range tests {
		if got := protocolName(tt.in); got != tt.want {
			t.Errorf("protocolName(0x%04x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
