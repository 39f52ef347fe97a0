//go:build interop

package interop

import (
	"regexp"
	"strings"
	"testing"
)

// digAnswer is what a BIND-style dig output says.
type digAnswer struct {
	status string
	ad     bool
	ede    string   // "6 (DNSSEC Bogus)", or ""
	answer []string // the answer section's records, fields joined by one space
}

var (
	digStatus = regexp.MustCompile(`status: ([A-Z]+)`)
	digEDE    = regexp.MustCompile(`(?m)^; EDE: (\d+ \([^)]*\))`)
)

// parseDig reads the output of dig, BIND's or segcli's (which mirrors it).
func parseDig(out string) digAnswer {
	var a digAnswer
	if m := digStatus.FindStringSubmatch(out); m != nil {
		a.status = m[1]
	}
	a.ad = hasFlag(out, "ad")
	if m := digEDE.FindStringSubmatch(out); m != nil {
		a.ede = m[1]
	}
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, ";; ANSWER SECTION:"):
			in = true
		case strings.TrimSpace(l) == "" || strings.HasPrefix(l, ";"):
			in = false
		case in:
			a.answer = append(a.answer, strings.Join(strings.Fields(l), " "))
		}
	}
	return a
}

// TestDNS: segcli's dig through Unbound shows what Unbound validated, and
// agrees with BIND's dig asking the same resolver in the same run.
func TestDNS(t *testing.T) {
	cases := []struct {
		name, about  string
		qname, qtype string
		status       string
		ad           bool
		ede          string // expected EDE code and its name; "" for none
		answer       string // a regexp one answer record must match
	}{
		{"signed", "MX of a zone Knot signs: validated, ad", "example.test", "MX", "NOERROR", true, "", `^example\.test\. \d+ IN MX 10 mx\.example\.test\.$`},
		{"signed-tlsa", "TLSA of a zone Knot signs: validated, ad", "_25._tcp.mx.example.test", "TLSA", "NOERROR", true, "", `IN TLSA 3 1 1 `},
		{"signed-nxdomain", "a name missing from a signed zone: validated denial, ad", "nx.example.test", "A", "NXDOMAIN", true, "", ""},
		{"unsigned", "MX of an unsigned zone: answered without ad", "insecure.test", "MX", "NOERROR", false, "", `IN MX 10 mx\.insecure\.test\.$`},
		{"bogus", "MX altered after ldns signed it: SERVFAIL with EDE 6", "bogus.test", "MX", "SERVFAIL", false, "6 (DNSSEC Bogus)", ""},
		{"bogus-tlsa", "TLSA altered after signing: SERVFAIL with EDE 6", "_25._tcp.mx2.bogus.test", "TLSA", "SERVFAIL", false, "6 (DNSSEC Bogus)", ""},
	}
	for _, c := range cases {
		scenario(t, c.name, c.about, func(s *sc) {
			check := func(who string, r result) {
				s.Helper()
				a := parseDig(r.stdout)
				if a.status != c.status || a.ad != c.ad {
					s.Errorf("%s: status %s, ad %v; want status %s, ad %v\n%s", who, a.status, a.ad, c.status, c.ad, r)
				}
				if c.ede != "" && !strings.HasPrefix(a.ede, strings.Fields(c.ede)[0]+" ") {
					s.Errorf("%s: EDE %q, want %s\n%s", who, a.ede, c.ede, r)
				}
				if c.answer != "" && !anyMatch(c.answer, a.answer) {
					s.Errorf("%s: no answer record matches %s: %q\n%s", who, c.answer, a.answer, r)
				}
			}
			check("segcli dig", segcli(s, "", "dig +dnssec "+c.qname+" "+c.qtype))
			check("BIND dig", runProg(s, "", "dig", "+dnssec", "+time=2", "+tries=1", "@"+unboundAddr, c.qname, c.qtype))
		})
	}

	// What Unbound saw: the bogus answers failed its validation (logged once,
	// when it validated them: the failure is then cached).
	scenario(t, "bogus-unbound-log", "Unbound logged the validation failures", func(s *sc) {
		log := mark(fx.work + "/unbound/unbound.log")
		log.off = 0
		if got, missing := log.wait(2e9, `validation failure <bogus\.test\. MX IN>`, `validation failure <_25\._tcp\.mx2\.bogus\.test\. TLSA IN>`); len(missing) > 0 {
			s.Errorf("Unbound's log lacks %q:\n%s", missing, got)
		}
	})

	scenario(t, "bogus-cd", "with +cd the altered data comes back unvalidated", func(s *sc) {
		r := segcli(s, "", "dig +dnssec +cd bogus.test MX")
		a := parseDig(r.stdout)
		if a.status != "NOERROR" || a.ad || !anyMatch(`IN MX 20 mx\.bogus\.test\.$`, a.answer) {
			s.Errorf("segcli dig +cd: status %s, ad %v, answer %q; want NOERROR, no ad, the altered MX 20\n%s", a.status, a.ad, a.answer, r)
		}
	})
}

func anyMatch(pattern string, lines []string) bool {
	re := regexp.MustCompile(pattern)
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}
