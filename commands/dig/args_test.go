package dig

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	mdns "github.com/miekg/dns"
)

func TestParseArgs(t *testing.T) {
	def := newQuery()
	with := func(f func(q *query)) query {
		q := def
		f(&q)
		return q
	}
	tests := []struct {
		name string
		in   string
		want query
	}{
		{"name only", "example.com", with(func(q *query) { q.name, q.qtype = "example.com.", mdns.TypeA })},
		{"fully qualified", "example.com.", with(func(q *query) { q.name, q.qtype = "example.com.", mdns.TypeA })},
		{"type after name", "example.com mx", with(func(q *query) { q.name, q.qtype = "example.com.", mdns.TypeMX })},
		{"type before name", "TXT _mta-sts.example.com", with(func(q *query) { q.name, q.qtype = "_mta-sts.example.com.", mdns.TypeTXT })},
		{"type and class", "example.com txt ch", with(func(q *query) { q.name, q.qtype, q.qclass = "example.com.", mdns.TypeTXT, mdns.ClassCHAOS })},
		{"-t", "-t TLSA _25._tcp.mx.example.com", with(func(q *query) { q.name, q.qtype = "_25._tcp.mx.example.com.", mdns.TypeTLSA })},
		{"-t attached", "-tmx example.com", with(func(q *query) { q.name, q.qtype = "example.com.", mdns.TypeMX })},
		{"unknown type number", "example.com TYPE65534", with(func(q *query) { q.name, q.qtype = "example.com.", 65534 })},
		{"-c", "-c CH version.bind TXT", with(func(q *query) { q.name, q.qtype, q.qclass = "version.bind.", mdns.TypeTXT, mdns.ClassCHAOS })},
		{"a name that is also a type, after -t", "-t mx mx", with(func(q *query) { q.name, q.qtype = "mx.", mdns.TypeMX })},
		{"-x IPv4", "-x 192.0.2.10", with(func(q *query) { q.name, q.qtype = "10.2.0.192.in-addr.arpa.", mdns.TypePTR })},
		{"-x IPv6", "-x 2001:db8::1", with(func(q *query) {
			q.name, q.qtype = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", mdns.TypePTR
		})},
		{"-x then a type", "-x 192.0.2.10 ns", with(func(q *query) { q.name, q.qtype = "10.2.0.192.in-addr.arpa.", mdns.TypeNS })},
		{"@server and -p", "@192.0.2.53 -p 5353 example.com", with(func(q *query) { q.name, q.qtype, q.server, q.port = "example.com.", mdns.TypeA, "192.0.2.53", 5353 })},
		{"@server with port", "@127.0.0.1:5353 example.com", with(func(q *query) { q.name, q.qtype, q.server = "example.com.", mdns.TypeA, "127.0.0.1:5353" })},
		{"@host name", "@ns1.example.com example.com", with(func(q *query) { q.name, q.qtype, q.server = "example.com.", mdns.TypeA, "ns1.example.com" })},
		{"-s", "-s 127.0.0.2 example.com", with(func(q *query) {
			q.name, q.qtype, q.source = "example.com.", mdns.TypeA, netip.MustParseAddr("127.0.0.2")
		})},
		{"plus options", "+dnssec +short +tcp +cd +qid=7 +time=2 +tries=1 example.com", with(func(q *query) {
			q.name, q.qtype = "example.com.", mdns.TypeA
			q.dnssec, q.short, q.tcp, q.cd, q.qid, q.timeout, q.tries = true, true, true, true, 7, 2*time.Second, 1
		})},
		{"no options", "+noadflag +norecurse +nodnssec example.com", with(func(q *query) {
			q.name, q.qtype, q.ad, q.rd = "example.com.", mdns.TypeA, false, false
		})},
		{"+retry", "+retry=0 example.com", with(func(q *query) { q.name, q.qtype, q.tries = "example.com.", mdns.TypeA, 1 })},
		{"no name: the root's servers", "@192.0.2.53", with(func(q *query) { q.name, q.qtype, q.server = ".", mdns.TypeNS, "192.0.2.53" })},
		{"root", ". NS", with(func(q *query) { q.name, q.qtype = ".", mdns.TypeNS })},
		{"unicode name", "bücher.example", with(func(q *query) { q.name, q.qtype = "xn--bcher-kva.example.", mdns.TypeA })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := strings.Fields(tt.in)
			tt.want.args = args
			got, err := parseArgs(args)
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(query{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("parseArgs(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"empty label", "exa..mple.com", "dig: 'exa..mple.com' is not a legal name (empty label)"},
		{"label too long", strings.Repeat("a", 64) + ".com", "is not a legal name (label too long)"},
		{"name too long", strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com", "is not a legal name (ran out of space)"},
		{"bad type", "-t BOGUS example.com", "dig: 'BOGUS' is not a record type"},
		{"bad class", "-c XX example.com", "dig: 'XX' is not a class"},
		{"missing value", "example.com -t", "dig: option -t needs a value"},
		{"unknown dash option", "-z example.com", "dig: invalid option: -z"},
		{"unknown plus option", "+frobnicate example.com", "dig: invalid option: +frobnicate"},
		{"flag with a value", "+short=yes example.com", "dig: invalid option: +short=yes"},
		{"bad qid", "+qid=70000 example.com", "dig: invalid option: +qid=70000"},
		{"qid without value", "+qid example.com", "dig: invalid option: +qid"},
		{"zero time", "+time=0 example.com", "dig: invalid option: +time=0"},
		{"bad port", "-p 0 example.com", "dig: invalid port number '0'"},
		{"port not a number", "-p smtp example.com", "dig: invalid port number 'smtp'"},
		{"bad reverse", "-x 300.1.2.3", "dig: -x: '300.1.2.3' is not an IP address"},
		{"bad source", "-s mybox example.com", "dig: -s: 'mybox' is not an IP address"},
		{"bare @", "@ example.com", "dig: '@' needs a server"},
		{"two names", "example.com example.org", "dig: 'example.org': only one name can be looked up at a time"},
		{"-x and a name", "example.com -x 192.0.2.1", "only one name can be looked up at a time"},
		{"port twice", "@127.0.0.1:5353 -p 53 example.com", "dig: the port is given twice"},
		{"bad IDN", "bü\u200dcher.example", "is not a legal IDN name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(strings.Fields(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseArgs(%q) = %v, want an error containing %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestTabbed(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		stops  []int
		want   string
	}{
		{"short owner", []string{"example.com.", "300", "IN", "A", "192.0.2.1"}, []int{24, 32, 40, 48}, "example.com.\t\t300\tIN\tA\t192.0.2.1"},
		{"owner of 16", []string{"www.example.test.", "300", "IN", "A", "x"}, []int{24, 32, 40, 48}, "www.example.test.\t300\tIN\tA\tx"},
		{"long owner", []string{"_25._tcp.mx1.example.test.", "300", "IN", "TLSA", "3 1 1 ab"}, []int{24, 32, 40, 48}, "_25._tcp.mx1.example.test.\t300\tIN\tTLSA\t3 1 1 ab"},
		{"question", []string{";example.com.", "IN", "A"}, []int{32, 40}, ";example.com.\t\t\tIN\tA"},
		{"long question", []string{";_mta-sts.example.test.", "IN", "TXT"}, []int{32, 40}, ";_mta-sts.example.test.\t\tIN\tTXT"},
	}
	for _, tt := range tests {
		if got := tabbed(tt.fields, tt.stops); got != tt.want {
			t.Errorf("%s: tabbed(%q) = %q, want %q", tt.name, tt.fields, got, tt.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got, want := printable("ok\x1b[2Jtext\x7f"), `ok\027[2Jtext\127`; got != want {
		t.Errorf("printable = %q, want %q", got, want)
	}
}
