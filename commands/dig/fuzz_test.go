package dig

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	mdns "github.com/miekg/dns"
)

// argsOf writes q back as dig arguments in a canonical form: every option spelled
// out, the name last.
func argsOf(q query) []string {
	args := []string{"-t", "TYPE" + strconv.Itoa(int(q.qtype)), "-c", "CLASS" + strconv.Itoa(int(q.qclass))}
	if q.server != "" {
		args = append(args, "@"+q.server)
	}
	if q.port != 0 {
		args = append(args, "-p", strconv.Itoa(q.port))
	}
	if q.source.IsValid() {
		args = append(args, "-s", q.source.String())
	}
	flag := func(name string, on bool) {
		if on {
			args = append(args, "+"+name)
		} else {
			args = append(args, "+no"+name)
		}
	}
	flag("dnssec", q.dnssec)
	flag("short", q.short)
	flag("tcp", q.tcp)
	flag("cd", q.cd)
	flag("ad", q.ad)
	flag("rec", q.rd)
	if q.qid >= 0 {
		args = append(args, "+qid="+strconv.Itoa(q.qid))
	}
	args = append(args, "+time="+strconv.Itoa(int(q.timeout/time.Second)), "+tries="+strconv.Itoa(q.tries))
	return append(args, q.name)
}

// FuzzParseArgs feeds dig's argument parser arbitrary command lines (the words are
// separated by single spaces, so a word may be empty). Invariants: no panic; a
// rejected line gets a "dig: " error; an accepted one is a query dig can send (a
// fully qualified name of at most 255 octets, RFC 1035 §2.3.4; options within
// their ranges) and parses back to the same query from its canonical arguments.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"example.com",
		"-t TLSA _25._tcp.mx.example.com",
		"-tmx example.com TXT ch",
		"-x 2001:db8::1 ns",
		"@127.0.0.1:5353 +dnssec +short +tcp +cd +qid=7 +time=2 +tries=1 example.com",
		"@192.0.2.53 -p 5353 +noadflag +norecurse +retry=0 -s ::ffff:127.0.0.2 .",
		"bücher.example TYPE65534 CLASS3",
		"exa..mple.com",
		`a\046b.example \# +qid`,
		"-t mx mx",
		"-",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		var args []string
		if line != "" {
			args = strings.Split(line, " ")
		}
		q, err := parseArgs(args)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "dig: ") || len(err.Error()) < len("dig: x") {
				t.Fatalf("parseArgs(%q) error %q: want \"dig: ...\"", args, err)
			}
			return
		}
		if _, ok := mdns.IsDomainName(q.name); !ok || !mdns.IsFqdn(q.name) {
			t.Fatalf("parseArgs(%q): name %q is not a fully qualified domain name", args, q.name)
		}
		if q.port < 0 || q.port > 65535 || q.tries < 1 || q.tries > 10 || q.timeout < time.Second || q.timeout > time.Minute || q.qid < -1 || q.qid > 65535 {
			t.Fatalf("parseArgs(%q) = %+v: an option out of its range", args, q)
		}
		if q.source.IsValid() && (q.source.Zone() != "" || q.source.Is4In6()) {
			t.Fatalf("parseArgs(%q): source %v", args, q.source)
		}
		if strings.HasPrefix(q.name, "-") {
			return // "-" alone is a name; its canonical form "-." reads as an option
		}
		again := argsOf(q)
		back, err := parseArgs(again)
		if err != nil {
			t.Fatalf("parseArgs(%q) ok, but its canonical form %q fails: %v", args, again, err)
		}
		q.args, back.args = nil, nil
		if diff := cmp.Diff(q, back, cmp.AllowUnexported(query{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Fatalf("parseArgs(%q) then %q (-want +got):\n%s", args, again, diff)
		}
	})
}

// TestParseArgsFinalBackslash: a name ending in a backslash would have its root dot
// escaped (RFC 1035 §5.1: "\X" quotes X); it is refused (found by FuzzParseArgs).
func TestParseArgsFinalBackslash(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"escape then backslash", `\0\`, `dig: '\0\' is not a legal name (bad escape or too long)`},
		{"label then backslash", `example.com\`, `is not a legal name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := parseArgs([]string{tt.in})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseArgs(%q) = %q, %v; want error %q", tt.in, q.name, err, tt.wantErr)
			}
		})
	}
	q, err := parseArgs([]string{`a\\`})
	if err != nil || q.name != `a\\.` {
		t.Errorf(`parseArgs(a\\) = %q, %v; want the name a\\. (an escaped backslash)`, q.name, err)
	}
}
