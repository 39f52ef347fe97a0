package dns

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStatusString(t *testing.T) {
	tests := []struct {
		in   Status
		want string
	}{
		{Secure, "secure"}, {Insecure, "insecure"}, {Bogus, "bogus"}, {TempFail, "tempfail"}, {Status(0), "insecure"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Status(%d).String() = %q, want %q", int(tt.in), got, tt.want)
		}
	}
}

func TestTypes(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
		ok   bool
	}{
		{"A", TypeA, true}, {"aaaa", TypeAAAA, true}, {"MX", TypeMX, true}, {"TXT", TypeTXT, true},
		{"TLSA", TypeTLSA, true}, {"CNAME", TypeCNAME, true}, {"TYPE65534", 65534, true},
		{"NOPE", 0, false}, {"TYPE70000", 0, false},
	}
	for _, tt := range tests {
		got, ok := TypeFromString(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("TypeFromString(%q) = %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if TypeA != 1 || TypeMX != 15 || TypeTXT != 16 || TypeAAAA != 28 || TypeTLSA != 52 || TypeCNAME != 5 {
		t.Error("type constants do not match RFC 1035 §3.2.2 / IANA")
	}
	for _, tt := range []struct {
		in   uint16
		want string
	}{{TypeTLSA, "TLSA"}, {TypeMX, "MX"}, {65534, "TYPE65534"}} {
		if got := TypeString(tt.in); got != tt.want {
			t.Errorf("TypeString(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRRRoundTrip: String and ParseRR are inverses, and the accessors read
// the data.
func TestRRRoundTrip(t *testing.T) {
	tests := []struct {
		in   string
		want RR
	}{
		{"Example.COM. 300 IN MX 10 MX.example.com.", RR{"example.com.", TypeMX, 300, "10 MX.example.com."}},
		{`t.example. 60 IN TXT "a b" "c\"d"`, RR{"t.example.", TypeTXT, 60, `"a b" "c\"d"`}},
		{"a.example. 1 IN A 192.0.2.1", RR{"a.example.", TypeA, 1, "192.0.2.1"}},
		{"_25._tcp.mx.example. 10 IN TLSA 3 1 1 ABCD", RR{"_25._tcp.mx.example.", TypeTLSA, 10, "3 1 1 ABCD"}},
	}
	for _, tt := range tests {
		got, err := ParseRR(tt.in)
		if err != nil {
			t.Fatalf("ParseRR(%q): %v", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseRR(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		back, err := ParseRR(got.String())
		if err != nil || back != got {
			t.Errorf("ParseRR(%q) = %+v, %v; want %+v", got.String(), back, err, got)
		}
	}
	for _, bad := range []string{"", "a. 1 IN A 192.0.2.1\n$INCLUDE /etc/passwd", "nonsense", "a. 1 IN A 1.2.3"} {
		if _, err := ParseRR(bad); err == nil {
			t.Errorf("ParseRR(%q) succeeded", bad)
		}
	}
}

func TestAccessors(t *testing.T) {
	mx, ok := RR{Type: TypeMX, Data: "10 MX.Example.com."}.MX()
	if !ok || mx != (MX{"mx.example.com.", 10}) {
		t.Errorf("MX() = %v, %v", mx, ok)
	}
	if _, ok := (RR{Type: TypeA, Data: "10 mx."}).MX(); ok {
		t.Error("MX() on an A record succeeded")
	}
	txt, ok := RR{Type: TypeTXT, Data: `"a" "b\"c" "\255"`}.TXT()
	if !ok || !cmp.Equal(txt, []string{"a", `b"c`, "\xff"}) {
		t.Errorf("TXT() = %q, %v", txt, ok)
	}
	a, ok := RR{Type: TypeA, Data: "192.0.2.1"}.Addr()
	if !ok || a != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("Addr() = %v, %v", a, ok)
	}
	if _, ok := (RR{Type: TypeA, Data: "2001:db8::1"}).Addr(); ok {
		t.Error("Addr() of an A record holding IPv6 succeeded")
	}
	tl, ok := RR{Type: TypeTLSA, Data: "2 0 1 00ff"}.TLSA()
	if !ok || tl.String() != "2 0 1 00ff" {
		t.Errorf("TLSA() = %v, %v", tl, ok)
	}
	if got, err := ParseTLSA("3 1 1 abcd"); err != nil || got.String() != "3 1 1 abcd" {
		t.Errorf("ParseTLSA = %v, %v", got, err)
	}
	if _, err := ParseTLSA("3 1 zz"); err == nil {
		t.Error("ParseTLSA(bad) succeeded")
	}
	target, ok := RR{Type: TypeCNAME, Data: "Target.Example."}.Target()
	if !ok || target != "target.example." {
		t.Errorf("Target() = %q, %v", target, ok)
	}
	if s := (EDE{Code: 6, Text: "sig expired"}).String(); s != "EDE 6 (DNSSEC Bogus): sig expired" {
		t.Errorf("EDE.String() = %q", s)
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"192.0.2.1", "192.0.2.1:53", false},
		{"192.0.2.1:5353", "192.0.2.1:5353", false},
		{"::1", "[::1]:53", false},
		{"[::1]", "[::1]:53", false},
		{"[2001:db8::1]:5353", "[2001:db8::1]:5353", false},
		{"dns.example.com", "", true},
		{"localhost:53", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := ParseServer(tt.in)
		if (err != nil) != tt.wantErr || got.Addr != tt.want {
			t.Errorf("ParseServer(%q) = %q, %v, want %q (error %v)", tt.in, got.Addr, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadServer) {
			t.Errorf("ParseServer(%q) error %v does not wrap ErrBadServer", tt.in, err)
		}
	}
}

func TestServersFromResolvConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		content string
		want    []Server
		wantErr error
	}{
		{"resolv.conf(5) nameserver lines in order", "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver 192.0.2.1 # office\noptions edns0 trust-ad\nnameserver 2001:db8::53\n",
			[]Server{{Addr: "127.0.0.53:53"}, {Addr: "192.0.2.1:53"}, {Addr: "[2001:db8::53]:53"}}, nil},
		{"bad and port-carrying lines skipped", "nameserver dns.example\nnameserver 192.0.2.1:53\n;nameserver 192.0.2.9\nnameserver 192.0.2.2\n",
			[]Server{{Addr: "192.0.2.2:53"}}, nil},
		{"no nameserver", "search example.com\n", nil, ErrNoServers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ServersFromResolvConf(write("resolv.conf", tt.content))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("ServersFromResolvConf error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ServersFromResolvConf (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ServersFromResolvConf(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}
