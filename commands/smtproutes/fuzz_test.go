package smtproutes

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/store"
)

// lineErr is how every decodeRoutes error begins.
var lineErr = regexp.MustCompile(`^line ([0-9]+): .+`)

// FuzzDecodeRoutes feeds the routes file parser (smtproutes import) arbitrary
// files. Invariants: no panic; a rejected file gets an error naming one of its
// lines; an accepted file gives routes that the store validates, sorted, one per
// domain, each with its hosts in priority order; and they round-trip: decoding the
// exported file gives the same routes, exporting those gives the same bytes.
func FuzzDecodeRoutes(f *testing.F) {
	f.Add([]byte("# routes\n.Example.org [192.0.2.25]\nexample.com mx2.example.net:2525/20,mx1.example.net/10\n\nbücher.example\t[2001:DB8::25]:26, relay\n"))
	f.Add([]byte("example.com mx1.example.net/10, mx2.example.net:2525/20\r\n.example.org 192.0.2.25\r\n"))
	f.Add([]byte("example.com mx.example.net\nexample.org\n"))
	f.Add([]byte("*.example.com mx.example.net\n"))
	f.Add([]byte("example.com a.example.net, a.example.net:25/3\n"))
	f.Add([]byte("example.com [2001:db8::1:25\n"))
	f.Add([]byte("example.com 2001:db8::1\n"))
	f.Add([]byte("example.com ,,, relay:/\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := decodeRoutes(data)
		if err != nil {
			m := lineErr.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("decodeRoutes(%q) = %v: want \"line N: ...\"", data, err)
			}
			if n := strings.Count(string(data), "\n") + 1; len(m[1]) > 9 || atoi(m[1]) < 1 || atoi(m[1]) > n {
				t.Fatalf("decodeRoutes(%q) = %v: the file has %d lines", data, err, n)
			}
			return
		}
		cfg := store.FactoryDefaults("esa.test")
		cfg.Destinations.Certificate = ""
		cfg.Routes = routes
		if err := cfg.Validate(); err != nil {
			t.Fatalf("decodeRoutes(%q) accepted routes the store rejects: %v", data, err)
		}
		if !slices.IsSortedFunc(routes, compareRoutes) {
			t.Fatalf("decodeRoutes(%q): routes not sorted: %v", data, routes)
		}
		for _, r := range routes {
			if !slices.IsSortedFunc(r.Hosts, func(a, b store.RouteHost) int { return a.Priority - b.Priority }) {
				t.Fatalf("decodeRoutes(%q): hosts of %s not in priority order: %v", data, r.Domain, r.Hosts)
			}
		}
		text := encodeRoutes(routes)
		back, err := decodeRoutes(text)
		if err != nil {
			t.Fatalf("decodeRoutes(%q) ok, but its export does not import: %v\n%s", data, err, text)
		}
		if diff := cmp.Diff(routes, back); diff != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", data, diff)
		}
		if again := encodeRoutes(back); string(again) != string(text) {
			t.Fatalf("export, import, export differ (-first +second):\n%s", cmp.Diff(string(text), string(again)))
		}
	})
}

// atoi reads the digits of a line number (at most 9 of them).
func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestDecodeRoutesFinalDots: names with two final dots (found by FuzzDecodeRoutes:
// the store's normalizers once returned them with one) are refused with the
// line (RFC 1035 §2.3.1: a label is not empty).
func TestDecodeRoutesFinalDots(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"domain of one label and two dots", "0.. A\n", `line 1: "0.." has an empty label at its end`},
		{"domain with two final dots", "# c\nexample.com.. mx.example.net\n", `line 2: "example.com.." has an empty label at its end`},
		{"host with two final dots", "example.com mx.example.net..\n", `line 1: "mx.example.net.." has an empty label at its end`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRoutes([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("decodeRoutes(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}
