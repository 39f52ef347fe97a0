package mtasts

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rfcExample is the policy of RFC 8461 §3.2.
const rfcExample = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"

var rfcPolicy = Policy{Version: "STSv1", Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, MaxAge: 604800}

// TestParsePolicy: RFC 8461 §3.2, the policy grammar.
func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Policy
		wantErr bool
	}{
		{name: "c24 RFC example §3.2", in: rfcExample, want: rfcPolicy},
		{name: "c25 LF only §3.2 ABNF", in: strings.ReplaceAll(rfcExample, "\r\n", "\n"), want: rfcPolicy},
		{name: "c25 CRLF §3.2 ABNF", in: rfcExample, want: rfcPolicy},
		{name: "c25 mixed LF and CRLF §3.2 ABNF", in: "version: STSv1\nmode: enforce\r\nmx: mail.example.com\nmx: *.example.net\r\nmx: backupmx.example.com\nmax_age: 604800", want: rfcPolicy},
		{name: "c25 no space after ':' §3.2 ABNF", in: "version:STSv1\r\nmode:\tenforce\r\nmx:mail.example.com\r\nmx:*.example.net\r\nmx:backupmx.example.com\r\nmax_age:604800\r\n", want: rfcPolicy},
		{name: "c25 no final line ending §3.2 ABNF", in: strings.TrimSuffix(rfcExample, "\r\n"), want: rfcPolicy},
		{name: "c26 missing version §3.2", in: "mode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "c26 version STSv2 §3.2", in: "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "c27 missing mode §3.2", in: "version: STSv1\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "c28 mode doubt §3.2", in: "version: STSv1\nmode: doubt\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "c28 mode Enforce is not the literal §3.2", in: "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n", wantErr: true},
		{name: "c29 missing max_age §3.2", in: "version: STSv1\nmode: enforce\nmx: a.example\n", wantErr: true},
		{name: "c30 max_age xxx §3.2", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: xxx\n", wantErr: true},
		{name: "c30 negative max_age §3.2", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", wantErr: true},
		{name: "c31 max_age of 11 digits §3.2 ABNF 1*10(DIGIT)", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 01234567890\n", wantErr: true},
		{name: "c31 max_age of 10 digits, capped §3.2", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n",
			want: Policy{Version: "STSv1", Mode: ModeEnforce, MX: []string{"a.example"}, MaxAge: MaxAgeLimit}},
		{name: "c32 max_age 0 §3.2 non-negative", in: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 0\n",
			want: Policy{Version: "STSv1", Mode: ModeEnforce, MX: []string{"a.example"}, MaxAge: 0}},
		{name: "c33 enforce without mx §3.2", in: "version: STSv1\nmode: enforce\nmax_age: 86400\n", wantErr: true},
		{name: "c33 testing without mx §3.2", in: "version: STSv1\nmode: testing\nmax_age: 86400\n", wantErr: true},
		{name: "c34 none without mx §3.2", in: "version: STSv1\nmode: none\nmax_age: 86400\n",
			want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 86400}},
		{name: "c35 unknown key ignored §3.2", in: "version: STSv1\nmode: testing\nfoo: bar\nmx: a.example\nmax_age: 86400\n",
			want: Policy{Version: "STSv1", Mode: ModeTesting, MX: []string{"a.example"}, MaxAge: 86400, Extensions: []Extension{{"foo", "bar"}}}},
		{name: "c36 mx lines accumulate in order §3.2", in: "version: STSv1\nmx: c.example\nmode: enforce\nmx: a.example\nmax_age: 1\nmx: b.example\n",
			want: Policy{Version: "STSv1", Mode: ModeEnforce, MX: []string{"c.example", "a.example", "b.example"}, MaxAge: 1}},
		{name: "c37 mx *.*.example §3.2", in: "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx **.example §3.2", in: "version: STSv1\nmode: enforce\nmx: **.example\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx test.example- §3.2 (RFC 5321 Domain)", in: "version: STSv1\nmode: enforce\nmx: test.example-\nmax_age: 1\n", wantErr: true},
		{name: "c37 empty mx §3.2", in: "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx IP literal §3.2", in: "version: STSv1\nmode: enforce\nmx: 1.2.3.4\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx [1.2.3.4] §3.2", in: "version: STSv1\nmode: enforce\nmx: [1.2.3.4]\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx with a trailing dot §3.2", in: "version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx mail*.example §3.2", in: "version: STSv1\nmode: enforce\nmx: mail*.example\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx not valid UTF-8 §3.2 (found by FuzzParsePolicy)", in: "version: STSv1\nmode: enforce\nmx: \x95.example\nmax_age: 1\n", wantErr: true},
		{name: "c37 mx with an underscore §3.2", in: "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n", wantErr: true},
		{name: "c38 garbage §3.2", in: "garbage", wantErr: true},
		{name: "c38 empty body §3.2", in: "", wantErr: true},
		{name: "c38 HTML §3.2", in: "<html><body>hello</body></html>\n", wantErr: true},
		{name: "c39 blank line between fields tolerated (DECISION)", in: "version: STSv1\n\nmode: enforce\nmx: a.example\nmax_age: 1\n",
			want: Policy{Version: "STSv1", Mode: ModeEnforce, MX: []string{"a.example"}, MaxAge: 1}},
		{name: "c39 single trailing LF (DECISION)", in: "version: STSv1\nmode: none\nmax_age: 1\n", want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 1}},
		{name: "first version wins §3.2", in: "version: STSv1\nversion: STSv2\nmode: none\nmax_age: 1\n", want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 1}},
		{name: "first mode wins §3.2", in: "version: STSv1\nmode: none\nmode: enforce\nmax_age: 1\n", want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 1}},
		{name: "first max_age wins §3.2", in: "version: STSv1\nmode: none\nmax_age: 5\nmax_age: xxx\n", want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 5}},
		{name: "U-label mx accepted §3.2 §4.1", in: "version: STSv1\nmode: enforce\nmx: *.b\u00fccher.example\nmax_age: 1\n",
			want: Policy{Version: "STSv1", Mode: ModeEnforce, MX: []string{"*.b\u00fccher.example"}, MaxAge: 1}},
		{name: "trailing white space after a value §3.2 ABNF", in: "version: STSv1 \nmode: none\t\nmax_age: 1  \n", want: Policy{Version: "STSv1", Mode: ModeNone, MaxAge: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := ParsePolicy(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePolicy(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidPolicy) {
					t.Errorf("ParsePolicy(%q) error = %v, want ErrInvalidPolicy", tt.in, err)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePolicy(%q) (-want +got):\n%s", tt.in, diff)
			}
			back, _, err := ParsePolicy(got.String())
			if err != nil {
				t.Fatalf("ParsePolicy(String() = %q): %v", got.String(), err)
			}
			if diff := cmp.Diff(got, back); diff != "" {
				t.Errorf("String() does not round-trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParsePolicyWarnings: what strict senders reject and this parser
// tolerates is reported (DESIGN.md: mtastsverify warnings).
func TestParsePolicyWarnings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "c24 the RFC example has none", in: rfcExample, want: nil},
		{name: "c39 single trailing LF has none (DECISION)", in: "version: STSv1\nmode: none\nmax_age: 1\n", want: nil},
		{name: "c39 blank line between fields (DECISION)", in: "version: STSv1\n\nmode: none\nmax_age: 1\n",
			want: []string{"line 2: blank line (strict senders reject the policy)"}},
		{name: "c39 two trailing line endings (DECISION)", in: "version: STSv1\nmode: none\nmax_age: 1\n\n",
			want: []string{"line 4: blank line (strict senders reject the policy)"}},
		{name: "c39 line of white space (DECISION)", in: "version: STSv1\n \t\nmode: none\nmax_age: 1",
			want: []string{"line 2: blank line (strict senders reject the policy)"}},
		{name: "c25 mixed line endings §3.2", in: "version: STSv1\r\nmode: none\nmax_age: 1\r\n",
			want: []string{"mixed line endings (2 CRLF, 1 LF)"}},
		{name: "duplicate fields §3.2", in: "version: STSv1\nmode: none\nmode: enforce\nmax_age: 1\nfoo: a\nfoo: b\n",
			want: []string{"line 3: duplicate field mode ignored (first on line 2)", "line 6: duplicate field foo ignored (first on line 5)"}},
		{name: "c31 max_age above one year, capped §3.2", in: "version: STSv1\nmode: none\nmax_age: 31557601\n",
			want: []string{"line 3: max_age 31557601 is above 31557600 (one year): capped"}},
		{name: "extension junk §3.2 ABNF", in: "version: STSv1\nmode: none\nmax_age: 1\n_bad: x\nok: \x01\n",
			want: []string{`line 4: malformed extension field "_bad: x" ignored`, `line 5: malformed extension field "ok: \x01" ignored`}},
		{name: "field name in the wrong case §3.2", in: "version: STSv1\nMode: enforce\nmode: none\nmax_age: 1\n",
			want: []string{`line 2: field name "Mode" is not "mode": names are case-sensitive, so it is ignored`}},
		{name: "white space before the name and before ':' §3.2 ABNF", in: " version: STSv1\nmode : none\nmax_age: 1\n",
			want: []string{"line 1: white space before the field name", "line 2: white space before ':'"}},
		{name: "same mx twice §3.2", in: "version: STSv1\nmode: testing\nmx: a.example\nmx: a.example\nmax_age: 1\n",
			want: []string{"line 4: mx a.example listed twice"}},
		{name: "U-labels §3.2", in: "version: STSv1\nmode: testing\nmx: b\u00fccher.example\nmax_age: 1\n",
			want: []string{"line 3: mx \"b\u00fccher.example\": U-labels: the grammar wants A-labels (xn--bcher-kva.example)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := ParsePolicy(tt.in)
			if err != nil {
				t.Fatalf("ParsePolicy(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePolicy(%q) warnings (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestPolicyString: String renders the served form.
func TestPolicyString(t *testing.T) {
	want := "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n"
	if got := rfcPolicy.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// FuzzParsePolicy: the parser never panics; a rejected body gets an error
// wrapping ErrInvalidPolicy; an accepted one holds what RFC 8461 §3.2 requires
// (version STSv1, a known mode, max_age capped at MaxAgeLimit, mx patterns by
// the grammar and at least one unless the mode is none), each of its mx
// patterns matches the host it names (§4.1), and it round-trips through
// String.
func FuzzParsePolicy(f *testing.F) {
	f.Add(rfcExample)
	f.Add("version: STSv1\n\nmode: none\nmax_age: 0\n")
	f.Add("version:STSv1\r\nmode:\ttesting\r\nmx: *.b\u00fccher.example\nmax_age: 99999999999\n")
	f.Fuzz(func(t *testing.T, in string) {
		p, _, err := ParsePolicy(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) || !strings.HasPrefix(err.Error(), "mtasts: ") {
				t.Fatalf("ParsePolicy(%q) error %q: want \"mtasts: \" wrapping ErrInvalidPolicy", in, err)
			}
			return
		}
		checkPolicy(t, in, p)
		back, _, err := ParsePolicy(p.String())
		if err != nil {
			t.Fatalf("ParsePolicy(%q) ok, but its String() %q does not parse: %v", in, p.String(), err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", in, diff)
		}
	})
}

// checkPolicy fails t unless p, parsed from in, is a policy RFC 8461 §3.2
// allows.
func checkPolicy(t *testing.T, in string, p Policy) {
	t.Helper()
	if p.Version != Version {
		t.Fatalf("ParsePolicy(%q): version %q", in, p.Version)
	}
	switch p.Mode {
	case ModeEnforce, ModeTesting:
		if len(p.MX) == 0 {
			t.Fatalf("ParsePolicy(%q): mode %s without mx", in, p.Mode)
		}
	case ModeNone:
	default:
		t.Fatalf("ParsePolicy(%q): mode %q", in, p.Mode)
	}
	if p.MaxAge < 0 || p.MaxAge > MaxAgeLimit {
		t.Fatalf("ParsePolicy(%q): max_age %d outside 0..%d", in, p.MaxAge, MaxAgeLimit)
	}
	for _, mx := range p.MX {
		if _, why := checkMX(mx); why != "" {
			t.Fatalf("ParsePolicy(%q): mx %q accepted, but %s", in, mx, why)
		}
		host := mx
		if rest, wild := strings.CutPrefix(mx, "*."); wild {
			host = "mail." + rest
			if MatchMX(mx, rest) {
				t.Fatalf("MatchMX(%q, %q) = true: \"*.\" stands for exactly one label", mx, rest)
			}
		}
		// Case (ASCII letters only) and a final dot do not matter (§4.1).
		upper := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, host)
		if !p.Match(host) || !p.Match(upper+".") {
			t.Fatalf("policy of %q: mx %q does not match %q", in, mx, host)
		}
	}
	seen := map[string]bool{"version": true, "mode": true, "mx": true, "max_age": true}
	for _, e := range p.Extensions {
		if !validExtName(e.Key) || !validPolicyExtValue(e.Value) || seen[e.Key] {
			t.Fatalf("ParsePolicy(%q): extension %+v kept", in, e)
		}
		seen[e.Key] = true
	}
}

// FuzzParseRecord: the record parser never panics; a rejected record gets an
// error wrapping ErrInvalidRecord; an accepted one is a record candidate
// (IsRecord), has an id of 1 to 32 letters and digits (RFC 8461 §3.1), and
// round-trips through String.
func FuzzParseRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1 \t; \tid=policy1 \t;")
	f.Add("v=STSv1; id=a; more=a; ext=2")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRecord(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidRecord) || !strings.HasPrefix(err.Error(), "mtasts: ") {
				t.Fatalf("ParseRecord(%q) error %q: want \"mtasts: \" wrapping ErrInvalidRecord", in, err)
			}
			return
		}
		if !IsRecord(in) {
			t.Fatalf("ParseRecord(%q) ok, but IsRecord is false: LookupRecord would not see it", in)
		}
		if r.ID == "" || len(r.ID) > maxIDLength || !isAlnum(r.ID) {
			t.Fatalf("ParseRecord(%q): id %q", in, r.ID)
		}
		for _, e := range r.Extensions {
			if !validExtName(e.Key) || !validRecordExtValue(e.Value) || e.Key == "id" {
				t.Fatalf("ParseRecord(%q): extension %+v kept", in, e)
			}
		}
		s := r.String()
		back, err := ParseRecord(s)
		if err != nil || !IsRecord(s) {
			t.Fatalf("ParseRecord(%q) ok, but its String() %q does not parse: %v", in, s, err)
		}
		if diff := cmp.Diff(r, back); diff != "" {
			t.Fatalf("round trip of %q via %q (-want +got):\n%s", in, s, diff)
		}
	})
}
