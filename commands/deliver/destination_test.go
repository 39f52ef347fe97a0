package deliver

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/delivery"
	"github.com/segcli/segcli/engine/tlspolicy"
	"github.com/segcli/segcli/store"
)

// config returns the factory defaults with entries and routes.
func config(entries []store.Destination, routes []store.Route) *store.Config {
	c := store.FactoryDefaults("esa.test")
	for _, e := range entries {
		c.Destinations.Put(e)
	}
	for _, r := range routes {
		c.Routes = store.PutRoute(c.Routes, r)
	}
	return c
}

// factory is what the factory (Default) row gives a domain.
func factory(domain string) delivery.Destination {
	return delivery.Destination{
		Domain:                domain,
		Controls:              tlspolicy.Controls{TLS: tlspolicy.TLSNo, DANE: tlspolicy.DANENone},
		IPSort:                delivery.PreferV4,
		MessagesPerConnection: store.DefaultMessagesPerConn,
		Concurrency:           store.DefaultConcurrency,
	}
}

func TestDestinationControls(t *testing.T) {
	tests := []struct {
		name string
		in   store.Destination
		want tlspolicy.Controls
	}{
		{"tls no", store.Destination{TLS: "no"}, tlspolicy.Controls{TLS: tlspolicy.TLSNo, DANE: tlspolicy.DANENone}},
		{"tls preferred", store.Destination{TLS: "preferred"}, tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANENone}},
		{"tls required", store.Destination{TLS: "required"}, tlspolicy.Controls{TLS: tlspolicy.TLSRequired, DANE: tlspolicy.DANENone}},
		{"tls preferred verify", store.Destination{TLS: "preferred_verify"}, tlspolicy.Controls{TLS: tlspolicy.TLSPreferredVerify, DANE: tlspolicy.DANENone}},
		{"tls required verify", store.Destination{TLS: "required_verify"}, tlspolicy.Controls{TLS: tlspolicy.TLSRequiredVerify, DANE: tlspolicy.DANENone}},
		{"tls required verify hosted", store.Destination{TLS: "required_verify_hosted"}, tlspolicy.Controls{TLS: tlspolicy.TLSRequiredVerifyHosted, DANE: tlspolicy.DANENone}},
		{"dane none", store.Destination{TLS: "preferred", DANE: "none"}, tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANENone}},
		{"dane opportunistic", store.Destination{TLS: "preferred", DANE: "opportunistic"}, tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANEOpportunistic}},
		{"dane mandatory", store.Destination{TLS: "required", DANE: "mandatory"}, tlspolicy.Controls{TLS: tlspolicy.TLSRequired, DANE: tlspolicy.DANEMandatory}},
		{"mta-sts on", store.Destination{TLS: "preferred", MTASTS: "on"}, tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANENone, MTASTS: true}},
		{"mta-sts off", store.Destination{TLS: "preferred", MTASTS: "off"}, tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANENone}},
		{"all set", store.Destination{TLS: "required_verify", DANE: "opportunistic", MTASTS: "on"},
			tlspolicy.Controls{TLS: tlspolicy.TLSRequiredVerify, DANE: tlspolicy.DANEOpportunistic, MTASTS: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.in
			e.Domain = "example.com"
			c := config([]store.Destination{e}, nil)
			got, err := Destination(c, "example.com")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Controls); diff != "" {
				t.Errorf("Destination(example.com).Controls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDestination(t *testing.T) {
	entries := []store.Destination{
		{Domain: "example.com", TLS: "required_verify", MessagesPerConn: store.Int(10)},
		{Domain: ".example.com", TLS: "preferred", DANE: "opportunistic", IPSort: "PREFER_V6"},
		{Domain: ".example.org", MTASTS: "on", MaxConcurrency: store.Int(3), IPSort: "REQUIRE_V4"},
		{Domain: "v6.example.net", IPSort: "REQUIRE_V6", TLS: "required"},
	}
	routes := []store.Route{
		{Domain: "routed.example", Hosts: []store.RouteHost{{Host: "backup.example", Priority: 20}, {Host: "192.0.2.1", Port: 2525, Priority: 10}, {Host: "2001:db8::1"}}},
		{Domain: ".relay.example", Hosts: []store.RouteHost{{Host: "relay.example.net", Port: 587}}},
		{Domain: "example.com", Hosts: []store.RouteHost{{Host: "mx.example.net"}}},
	}
	c := config(entries, routes)
	tests := []struct {
		name string
		in   string
		want delivery.Destination
	}{
		{"no entry: the (Default) row", "other.test", factory("other.test")},
		{"case and final dot", "Other.TEST.", factory("other.test")},
		{"exact entry, its fields over the default row, and a route", "example.com", delivery.Destination{
			Domain:   "example.com",
			Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequiredVerify, DANE: tlspolicy.DANENone},
			Routes:   []delivery.Host{{Name: "mx.example.net", Port: 25}},
			IPSort:   delivery.PreferV4, MessagesPerConnection: 10, Concurrency: store.DefaultConcurrency,
		}},
		{"a subdomain: the dotted entry", "a.example.com", delivery.Destination{
			Domain:   "a.example.com",
			Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANEOpportunistic},
			IPSort:   delivery.PreferV6, MessagesPerConnection: store.DefaultMessagesPerConn, Concurrency: store.DefaultConcurrency,
		}},
		{"a deeper subdomain: the nearest dotted entry", "b.a.example.com", delivery.Destination{
			Domain:   "b.a.example.com",
			Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANEOpportunistic},
			IPSort:   delivery.PreferV6, MessagesPerConnection: store.DefaultMessagesPerConn, Concurrency: store.DefaultConcurrency,
		}},
		{"a dotted entry applies to the domain itself without a plain one; TLS from the default row", "example.org", delivery.Destination{
			Domain:   "example.org",
			Controls: tlspolicy.Controls{TLS: tlspolicy.TLSNo, DANE: tlspolicy.DANENone, MTASTS: true},
			IPSort:   delivery.RequireV4, MessagesPerConnection: store.DefaultMessagesPerConn, Concurrency: 3,
		}},
		{"IPv6 required", "v6.example.net", delivery.Destination{
			Domain:   "v6.example.net",
			Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequired, DANE: tlspolicy.DANENone},
			IPSort:   delivery.RequireV6, MessagesPerConnection: store.DefaultMessagesPerConn, Concurrency: store.DefaultConcurrency,
		}},
		{"route hosts in priority order, ports filled in", "routed.example", func() delivery.Destination {
			d := factory("routed.example")
			d.Routes = []delivery.Host{{Name: "2001:db8::1", Port: 25}, {Name: "192.0.2.1", Port: 2525}, {Name: "backup.example", Port: 25}}
			return d
		}()},
		{"dotted route of a parent", "x.relay.example", func() delivery.Destination {
			d := factory("x.relay.example")
			d.Routes = []delivery.Host{{Name: "relay.example.net", Port: 587}}
			return d
		}()},
		{"a dotted route applies to the domain itself", "relay.example", func() delivery.Destination {
			d := factory("relay.example")
			d.Routes = []delivery.Host{{Name: "relay.example.net", Port: 587}}
			return d
		}()},
		{"no route for a sibling", "other.example", factory("other.example")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Destination(c, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Destination(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestDestinationDefaultRow: a changed (Default) row applies to every domain without
// an entry, and to the empty fields of entries.
func TestDestinationDefaultRow(t *testing.T) {
	c := config([]store.Destination{{Domain: "example.com", DANE: "mandatory"}}, nil)
	c.Destinations.Default.TLS = "required"
	c.Destinations.Default.MTASTS = "on"
	c.Destinations.Default.IPSort = "PREFER_V6"
	c.Destinations.Default.MessagesPerConn = store.Int(7)
	tests := []struct {
		name string
		in   string
		want delivery.Destination
	}{
		{"no entry", "other.test", delivery.Destination{Domain: "other.test",
			Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequired, DANE: tlspolicy.DANENone, MTASTS: true},
			IPSort:   delivery.PreferV6, MessagesPerConnection: 7, Concurrency: store.DefaultConcurrency}},
		{"entry with DANE only", "example.com", delivery.Destination{Domain: "example.com",
			Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequired, DANE: tlspolicy.DANEMandatory, MTASTS: true},
			IPSort:   delivery.PreferV6, MessagesPerConnection: 7, Concurrency: store.DefaultConcurrency}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Destination(c, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Destination(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestDestinationBadValues: values Validate refuses are errors, not a weaker policy.
func TestDestinationBadValues(t *testing.T) {
	tests := []struct {
		name string
		in   store.Destination
	}{
		{"tls", store.Destination{Domain: "example.com", TLS: "maybe"}},
		{"dane", store.Destination{Domain: "example.com", DANE: "always"}},
		{"mta-sts", store.Destination{Domain: "example.com", MTASTS: "yes"}},
		{"ip sort", store.Destination{Domain: "example.com", IPSort: "V4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config([]store.Destination{tt.in}, nil)
			if got, err := Destination(c, "example.com"); err == nil {
				t.Errorf("Destination = %+v, want an error", got)
			}
		})
	}
	if got := FailClosed("example.com"); got.Controls.TLS != tlspolicy.TLSRequiredVerify || len(got.Routes) != 0 {
		t.Errorf("FailClosed = %+v, want Required - Verify without a route", got)
	}
}

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"user@example.com", "user@example.com", false},
		{"<User@Example.COM.>", "User@example.com", false},
		{" user@example.com ", "user@example.com", false},
		{"first.last+tag@sub.example.com", "first.last+tag@sub.example.com", false},
		{"", "", true},
		{"user", "", true},
		{"@example.com", "", true},
		{"user@", "", true},
		{"user@localhost", "", true},
		{"user@[192.0.2.1]", "", true},
		{"user@192.0.2.1", "", true},
		{"us er@example.com", "", true},
		{"user@exa_mple.com", "", true},
		{"user@bücher.example", "", true},
		{".user@example.com", "", true},
		{"us..er@example.com", "", true},
		{"a,b@example.com", "", true},
		{"\"quoted\"@example.com", "", true},
	}
	for _, tt := range tests {
		got, err := CheckAddress(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("CheckAddress(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    options
		wantErr bool
	}{
		{"none: the dialog", nil, options{}, false},
		{"from and to", []string{"--from", "a@x.test", "--to", "b@y.test"}, options{from: "a@x.test", to: []string{"b@y.test"}, given: true}, false},
		{"equals form, a list, repeats dropped", []string{"--json", "--from=a@x.test", "--to=b@y.test,c@y.test", "--to", "B@y.test", "--file=m.eml"},
			options{from: "a@x.test", to: []string{"b@y.test", "c@y.test"}, file: "m.eml", json: true, given: true}, false},
		{"json alone", []string{"--json"}, options{}, true},
		{"no to", []string{"--from", "a@x.test"}, options{}, true},
		{"no value", []string{"--from", "a@x.test", "--to"}, options{}, true},
		{"empty list", []string{"--from", "a@x.test", "--to", ","}, options{}, true},
		{"two froms", []string{"--from", "a@x.test", "--from", "b@x.test", "--to", "c@y.test"}, options{}, true},
		{"two files", []string{"--from", "a@x.test", "--to", "c@y.test", "--file", "a", "--file", "b"}, options{}, true},
		{"empty file", []string{"--from", "a@x.test", "--to", "c@y.test", "--file="}, options{}, true},
		{"unknown option", []string{"--from", "a@x.test", "--to", "c@y.test", "-v"}, options{}, true},
		{"stray word", []string{"a@x.test"}, options{}, true},
		{"json with a value", []string{"--json=yes", "--from", "a@x.test", "--to", "c@y.test"}, options{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseArgs(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{})); diff != "" {
					t.Errorf("parseArgs(%q) (-want +got):\n%s", tt.in, diff)
				}
			}
		})
	}
}
