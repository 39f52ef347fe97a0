package tlsverify

import "testing"

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    options
		wantErr bool
	}{
		{"none: the dialog", nil, options{port: 25}, false},
		{"domain", []string{"Example.COM."}, options{domain: "example.com", port: 25}, false},
		{"domain and host", []string{"example.com", "mx.example.net:26"}, options{domain: "example.com", host: "mx.example.net", port: 26}, false},
		{"host equal to the domain: its MX", []string{"example.com", "example.com:2525"}, options{domain: "example.com", port: 2525}, false},
		{"json anywhere", []string{"--json", "example.com"}, options{domain: "example.com", port: 25, json: true}, false},
		{"json without a domain", []string{"--json"}, options{}, true},
		{"ip as the domain", []string{"192.0.2.1"}, options{}, true},
		{"three words", []string{"a.example", "b.example", "c.example"}, options{}, true},
		{"unknown option", []string{"-v", "example.com"}, options{}, true},
		{"bad host", []string{"example.com", "bad_host"}, options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseArgs(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}
