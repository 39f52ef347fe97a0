package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"plain", "example.com", "example.com", ""},
		{"upper case", "Example.COM", "example.com", ""},
		{"final dot", "example.com.", "example.com", ""},
		{"two final dots (RFC 1035 §3.1: no empty label)", "example.com..", "", "empty label at its end"},
		{"a label and two dots", "0..", "", "empty label at its end"},
		{"not UTF-8 (IDNA would turn it into an A-label Validate refuses)", "\xb0.example", "", "not valid text"},
		{"spaces around", "  example.com ", "example.com", ""},
		{"subdomains", ".example.com", ".example.com", ""},
		{"idn", "Bücher.example", "xn--bcher-kva.example", ""},
		{"idn subdomains", ".bücher.example", ".xn--bcher-kva.example", ""},
		{"a-label", "xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"full width", "ｅｘａｍｐｌｅ.com", "example.com", ""},
		{"empty", "", "", "required"},
		{"only a dot", ".", "", "required"},
		{"wildcard", "*.example.com", "", "wildcards"},
		{"inner wildcard", "a.*.com", "", "wildcards"},
		{"ipv4", "192.0.2.1", "", "IP addresses"},
		{"ipv6", "2001:db8::1", "", "IP addresses"},
		{"bracketed", "[192.0.2.1]", "", "IP addresses"},
		{"numeric tld", "1.2.3", "", "cannot end in a number"},
		{"single label", "localhost", "", "single label"},
		{"underscore", "a_b.example", "", "underscores"},
		{"space", "exa mple.com", "", "not a domain name"},
		{"double dot", "a..example", "", "not a domain name"},
		{"leading hyphen", "-a.example", "", "not a domain name"},
		{"bad punycode", "xn--zz.example", "", "not a domain name"},
		{"label too long", strings.Repeat("a", 64) + ".com", "", "not a domain name"},
	}
	for _, tt := range tests {
		got, err := NormalizeDomain(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: NormalizeDomain(%q) = %q, %v, want error containing %q", tt.name, tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: NormalizeDomain(%q) = %q, %v, want %q", tt.name, tt.in, got, err, tt.want)
		}
	}
}

func TestParseRouteHosts(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"one", "mx.example.net", "mx.example.net", ""},
		{"port and priority", "mx2.example.net:2525/20, mx1.example.net/10", "mx1.example.net/10, mx2.example.net:2525/20", ""},
		{"port 25 left out", "mx.example.net:25/0", "mx.example.net", ""},
		{"ipv4", "192.0.2.1:587", "192.0.2.1:587", ""},
		{"ipv6", "[2001:DB8::1]:2525/5", "[2001:db8::1]:2525/5", ""},
		{"single label relay", "mailhub", "mailhub", ""},
		{"idn host", "Mx.Bücher.example", "mx.xn--bcher-kva.example", ""},
		{"stable among equals", "b.example/1, a.example/1", "b.example/1, a.example/1", ""},
		{"empty", " , ", "", "at least one"},
		{"bad port", "mx.example.net:0", "", "port"},
		{"port too big", "mx.example.net:65536", "", "port"},
		{"bad priority", "mx.example.net/x", "", "priority"},
		{"priority too big", "mx.example.net/65536", "", "priority"},
		{"bare ipv6", "2001:db8::1", "", "brackets"},
		{"unclosed bracket", "[2001:db8::1", "", "missing ]"},
		{"wildcard", "*.example.net", "", "wildcards"},
		{"duplicate", "mx.example.net, MX.example.net:25/3", "", "twice"},
		{"bad name", "mx_1.example.net", "", "not a host name"},
	}
	for _, tt := range tests {
		hosts, err := ParseRouteHosts(tt.in)
		got := FormatRouteHosts(hosts)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: ParseRouteHosts(%q) = %q, %v, want error containing %q", tt.name, tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: ParseRouteHosts(%q) = %q, %v, want %q", tt.name, tt.in, got, err, tt.want)
		}
	}
}

func TestDestinationsPutRemoveMatch(t *testing.T) {
	var ds Destinations
	for _, d := range []string{"b.example", ".example.com", "example.com", "a.example", ".a.example.com", "xn--bcher-kva.example"} {
		if ds.Put(Destination{Domain: d, TLS: "required"}) {
			t.Fatalf("Put(%s) replaced an entry", d)
		}
	}
	var order []string
	for _, d := range ds.Entries {
		order = append(order, d.Domain)
	}
	want := []string{"a.example", ".a.example.com", "b.example", "example.com", ".example.com", "xn--bcher-kva.example"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("entry order (-want +got):\n%s", diff)
	}
	if !ds.Put(Destination{Domain: "example.com", TLS: "no"}) {
		t.Error("Put(example.com) again did not replace it")
	}
	matches := []struct{ name, want string }{
		{"example.com", "example.com"},
		{"EXAMPLE.com.", "example.com"},
		{"mx.example.com", ".example.com"},
		{"a.example.com", ".a.example.com"},
		{"b.a.example.com", ".a.example.com"},
		{"example.org", ""},
		{"com", ""},
		{"a.example", "a.example"},
		{"x.a.example", ""},
	}
	for _, m := range matches {
		d, ok := ds.Match(m.name)
		if got := d.Domain; got != m.want || ok != (m.want != "") {
			t.Errorf("Match(%q) = %q, %v, want %q", m.name, got, ok, m.want)
		}
	}
	if !ds.Remove(".example.com") || ds.Remove(".example.com") {
		t.Error("Remove(.example.com) did not remove it exactly once")
	}
	if d, ok := ds.Match("mx.example.com"); ok {
		t.Errorf("after Remove, Match(mx.example.com) = %q, want the default", d.Domain)
	}
}

func TestEffective(t *testing.T) {
	ds := FactoryDefaults("esa.test").Destinations
	ds.Default.RecipientLimit, ds.Default.RecipientMinutes = Int(100), Int(60)
	got := ds.Effective(Destination{Domain: "example.com", TLS: "preferred", MaxConcurrency: Int(10)})
	if got.TLS != "preferred" || *got.MaxConcurrency != 10 || got.MTASTS != "off" || *got.MessagesPerConn != 50 || *got.RecipientLimit != 100 {
		t.Errorf("Effective = %+v", got)
	}
	got = ds.Effective(Destination{Domain: "example.com", RecipientLimit: Int(5), RecipientMinutes: Int(1)})
	if *got.RecipientLimit != 5 || *got.RecipientMinutes != 1 {
		t.Errorf("Effective recipient limit = %d per %d, want 5 per 1", *got.RecipientLimit, *got.RecipientMinutes)
	}
}

func TestValidateDestinations(t *testing.T) {
	tests := []struct {
		name    string
		d       Destination
		def     bool
		wantErr string
	}{
		{"empty entry", Destination{Domain: "example.com"}, false, ""},
		{"factory default", FactoryDefaults("esa.test").Destinations.Default, true, ""},
		{"not normalized", Destination{Domain: "Example.com"}, false, `write it as "example.com"`},
		{"wildcard", Destination{Domain: "*.example.com"}, false, "wildcards"},
		{"recipient limit alone", Destination{Domain: "example.com", RecipientLimit: Int(5)}, false, "go together"},
		{"recipient minutes range", Destination{Domain: "example.com", RecipientLimit: Int(5), RecipientMinutes: Int(61)}, false, "recipient_minutes"},
		{"bad bounce profile", Destination{Domain: "example.com", BounceProfile: "a b"}, false, "bounce_profile"},
		{"default without bounce profile", func() Destination {
			d := FactoryDefaults("esa.test").Destinations.Default
			d.BounceProfile = ""
			return d
		}(), true, "bounce_profile is missing"},
	}
	for _, tt := range tests {
		err := tt.d.Validate(tt.def)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: Validate() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestValidateRoutes(t *testing.T) {
	ok := RouteHost{Host: "mx.example.net", Port: 25}
	tests := []struct {
		name    string
		routes  []Route
		wantErr string
	}{
		{"good", []Route{{Domain: "example.com", Hosts: []RouteHost{ok}}}, ""},
		{"no host", []Route{{Domain: "example.com"}}, "no destination host"},
		{"twice", []Route{{Domain: "example.com", Hosts: []RouteHost{ok}}, {Domain: "example.com", Hosts: []RouteHost{ok}}}, "twice"},
		{"bad port", []Route{{Domain: "example.com", Hosts: []RouteHost{{Host: "mx.example.net"}}}}, "port 0"},
		{"bad domain", []Route{{Domain: "*.example.com", Hosts: []RouteHost{ok}}}, "wildcards"},
	}
	for _, tt := range tests {
		err := validateRoutes(tt.routes)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: validateRoutes() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func ExampleDestinations_Match() {
	var ds Destinations
	ds.Put(Destination{Domain: "example.com", MTASTS: "on"})
	ds.Put(Destination{Domain: ".example.com", DANE: "mandatory"})
	for _, name := range []string{"example.com", "mx.example.com", "example.org"} {
		d, ok := ds.Match(name)
		fmt.Println(name, "->", d.Domain, ok)
	}
	// Output:
	// example.com -> example.com true
	// mx.example.com -> .example.com true
	// example.org ->  false
}

// TestRemoveLast: removing the last entry or route leaves nil, as a configuration
// without any reads back (so that showchanges shows no change).
func TestRemoveLast(t *testing.T) {
	var ds Destinations
	ds.Put(Destination{Domain: "example.com"})
	ds.Remove("example.com")
	if ds.Entries != nil {
		t.Errorf("Entries = %#v after removing the last one, want nil", ds.Entries)
	}
	routes := PutRoute(nil, Route{Domain: "example.com", Hosts: []RouteHost{{Host: "relay", Port: 25}}})
	if routes, _ = RemoveRoute(routes, "example.com"); routes != nil {
		t.Errorf("routes = %#v after removing the last one, want nil", routes)
	}
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"host", "MX.Example.com", "mx.example.com", ""},
		{"final dot", "mx.example.com.", "mx.example.com", ""},
		{"two final dots (RFC 1035 §3.1: no empty label)", "mx.example.net..", "", "empty label at its end"},
		{"address", "192.0.2.1", "192.0.2.1", ""},
		{"not UTF-8", "\xb0", "", "not valid text"},
		{"address in brackets", "[2001:db8::1]", "2001:db8::1", ""},
		{"empty", " ", "", "is required"},
		{"wildcard", "*.example.com", "", "wildcards"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeHost(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NormalizeHost(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}
