package destconfig

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// section renders the keys an entry sets, as the import file writes them.
func section(d store.Destination) string {
	text := string(encodeINI(&store.Destinations{Default: d}))
	return strings.TrimPrefix(text, "[DEFAULT]\n")
}

// TestBatchSettings covers every key of `destconfig new DOMAIN --KEY=VALUE`: the
// values accepted (and how they are stored) and the values refused (and the message
// listing what is accepted). A refused command changes nothing.
func TestBatchSettings(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"no settings", "", "", ""},
		{"ip_sort_pref PREFER_V4", "--ip_sort_pref=PREFER_V4", "ip_sort_pref = PREFER_V4\n", ""},
		{"ip_sort_pref REQUIRE_V4", "--ip_sort_pref=REQUIRE_V4", "ip_sort_pref = REQUIRE_V4\n", ""},
		{"ip_sort_pref PREFER_V6", "--ip_sort_pref=PREFER_V6", "ip_sort_pref = PREFER_V6\n", ""},
		{"ip_sort_pref REQUIRE_V6 any case", "--ip_sort_pref=require_v6", "ip_sort_pref = REQUIRE_V6\n", ""},
		{"ip_sort_pref bad", "--ip_sort_pref=V4", "", `ip_sort_pref = "V4": use one of PREFER_V4, REQUIRE_V4, PREFER_V6, REQUIRE_V6`},
		{"max_host_concurrency 1", "--max_host_concurrency=1", "max_host_concurrency = 1\n", ""},
		{"max_host_concurrency 1000", "--max_host_concurrency=1000", "max_host_concurrency = 1000\n", ""},
		{"max_host_concurrency 0", "--max_host_concurrency=0", "", `max_host_concurrency = "0": use a number from 1 to 1000`},
		{"max_host_concurrency 1001", "--max_host_concurrency=1001", "", `max_host_concurrency = "1001": use a number from 1 to 1000`},
		{"max_host_concurrency word", "--max_host_concurrency=many", "", `max_host_concurrency = "many": use a number from 1 to 1000`},
		{"max_host_concurrency plus sign", "--max_host_concurrency=+5", "", `use a number from 1 to 1000`},
		{"max_messages_per_connection 1", "--max_messages_per_connection=1", "max_messages_per_connection = 1\n", ""},
		{"max_messages_per_connection 1000", "--max_messages_per_connection=1000", "max_messages_per_connection = 1000\n", ""},
		{"max_messages_per_connection 0", "--max_messages_per_connection=0", "", `max_messages_per_connection = "0": use a number from 1 to 1000`},
		{"max_messages_per_connection 1001", "--max_messages_per_connection=1001", "", `use a number from 1 to 1000`},
		{"recipient limit low ends", "--recipient_minutes=1 --recipient_limit=0", "recipient_minutes = 1\nrecipient_limit = 0\n", ""},
		{"recipient limit high ends", "--recipient_limit=1000000000 --recipient_minutes=60", "recipient_minutes = 60\nrecipient_limit = 1000000000\n", ""},
		{"recipient_minutes 0", "--recipient_minutes=0 --recipient_limit=5", "", `recipient_minutes = "0": use a number from 1 to 60`},
		{"recipient_minutes 61", "--recipient_minutes=61 --recipient_limit=5", "", `recipient_minutes = "61": use a number from 1 to 60`},
		{"recipient_limit negative", "--recipient_minutes=5 --recipient_limit=-1", "", `recipient_limit = "-1": use a number from 0 to 1000000000`},
		{"recipient_limit too big", "--recipient_minutes=5 --recipient_limit=1000000001", "", `use a number from 0 to 1000000000`},
		{"recipient_limit alone", "--recipient_limit=5", "", "recipient_limit and recipient_minutes go together"},
		{"recipient_minutes alone", "--recipient_minutes=5", "", "recipient_limit and recipient_minutes go together"},
		{"limit_type host", "--limit_type=host", "limit_type = host\n", ""},
		{"limit_type MXIP any case", "--limit_type=mxip", "limit_type = MXIP\n", ""},
		{"limit_type bad", "--limit_type=domain", "", `limit_type = "domain": use one of host, MXIP`},
		{"limit_apply system", "--limit_apply=system", "limit_apply = system\n", ""},
		{"limit_apply VG", "--limit_apply=VG", "limit_apply = VG\n", ""},
		{"limit_apply bad", "--limit_apply=global", "", `limit_apply = "global": use one of system, VG`},
		{"tls no", "--tls=no", "tls = no\n", ""},
		{"tls preferred", "--tls=preferred", "tls = preferred\n", ""},
		{"tls required", "--tls=required", "tls = required\n", ""},
		{"tls preferred_verify", "--tls=preferred_verify", "tls = preferred_verify\n", ""},
		{"tls required_verify", "--tls=required_verify", "tls = required_verify\n", ""},
		{"tls required_verify_hosted", "--tls=REQUIRED_VERIFY_HOSTED", "tls = required_verify_hosted\n", ""},
		{"tls bad", "--tls=yes", "", `tls = "yes": use one of no, preferred, required, preferred_verify, required_verify, required_verify_hosted`},
		{"dane none", "--dane=none", "dane = none\n", ""},
		{"dane opportunistic", "--dane=opportunistic", "dane = opportunistic\n", ""},
		{"dane mandatory", "--dane=mandatory", "dane = mandatory\n", ""},
		{"dane bad", "--dane=on", "", `dane = "on": use one of none, opportunistic, mandatory`},
		{"mta_sts off", "--mta_sts=off", "mta_sts = off\n", ""},
		{"mta_sts on", "--mta_sts=On", "mta_sts = on\n", ""},
		{"mta_sts bad", "--mta_sts=enforce", "", `mta_sts = "enforce": use one of off, on`},
		{"bounce_validation off", "--bounce_validation=off", "bounce_validation = off\n", ""},
		{"bounce_validation on", "--bounce_validation=on", "bounce_validation = on\n", ""},
		{"bounce_validation bad", "--bounce_validation=yes", "", `bounce_validation = "yes": use one of off, on`},
		{"bounce_profile", "--bounce_profile=Strict_2-b", "bounce_profile = Strict_2-b\n", ""},
		{"bounce_profile symbols", "--bounce_profile=a/b", "", `bounce_profile = "a/b": use a profile name (letters, digits, _ and -)`},
		{"example of the reference", "--tls=required_verify --dane=opportunistic --mta_sts=on", "tls = required_verify\ndane = opportunistic\nmta_sts = on\n", ""},
		{"empty value is the default", "--tls=", "", ""},
		{"unknown key", "--tsl=no", "", `unknown key "tsl": use one of ip_sort_pref, max_host_concurrency, max_messages_per_connection, recipient_minutes, recipient_limit, limit_type, limit_apply, tls, dane, mta_sts, bounce_validation, bounce_profile`},
		{"no dashes", "tls=no", "", `"tls=no": give each setting as --KEY=VALUE`},
		{"no value", "--tls", "", `"--tls": give each setting as --KEY=VALUE`},
		{"twice", "--tls=no --tls=required", "", "--tls is given twice"},
	}
	for _, tt := range tests {
		e, _ := newEnv(t, "")
		before, snap := e.Session.Config(), snapshot(t, e)
		err := run(e, append([]string{"new", "example.com"}, strings.Fields(tt.in)...)...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasSuffix(err.Error(), "nothing changed") {
				t.Errorf("%s: destconfig new example.com %s: err = %v, want one containing %q and ending \"nothing changed\"", tt.name, tt.in, err, tt.wantErr)
			}
			if e.Session.Config() != before || snapshot(t, e) != snap {
				t.Errorf("%s: a refused command changed the candidate", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: destconfig new example.com %s: %v", tt.name, tt.in, err)
			continue
		}
		d, ok := e.Session.Config().Destinations.Lookup("example.com")
		if !ok {
			t.Errorf("%s: no entry for example.com", tt.name)
			continue
		}
		if got := section(d); got != tt.want {
			t.Errorf("%s: destconfig new example.com %s stored\n%s\nwant\n%s", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestBatchDefault covers `destconfig default`: every key needs a value there but the
// recipient limit.
func TestBatchDefault(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"tls", "--tls=preferred --mta_sts=on", "tls = preferred", ""},
		{"recipient limit", "--recipient_limit=10 --recipient_minutes=2", "recipient_limit = 10", ""},
		{"tls empty", "--tls=", "", "--tls= would leave the default without a value"},
		{"bounce profile empty", "--bounce_profile=", "", "--bounce_profile= would leave the default without a value"},
		{"bad value", "--dane=maybe", "", `dane = "maybe": use one of none, opportunistic, mandatory`},
	}
	for _, tt := range tests {
		e, _ := newEnv(t, "")
		snap := snapshot(t, e)
		err := run(e, append([]string{"default"}, strings.Fields(tt.in)...)...)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: destconfig default %s: err = %v, want %q", tt.name, tt.in, err, tt.wantErr)
			}
			if snapshot(t, e) != snap {
				t.Errorf("%s: a refused command changed the candidate", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: destconfig default %s: %v", tt.name, tt.in, err)
			continue
		}
		if got := section(e.Session.Config().Destinations.Default); !strings.Contains(got, tt.want) {
			t.Errorf("%s: default row\n%s\nwant it to hold %q", tt.name, got, tt.want)
		}
	}
}

// TestOptionsMatchStore checks that the dialogs' values are exactly those the store
// accepts: each is valid, and the store's message for a bad one lists the same.
func TestOptionsMatchStore(t *testing.T) {
	for _, s := range settings() {
		if s.options == nil {
			continue
		}
		for _, o := range s.options {
			d := store.Destination{Domain: "example.com"}
			if err := s.set(&d, o.value); err != nil {
				t.Fatalf("%s: set(%s): %v", s.key, o.value, err)
			}
			if err := d.Validate(false); err != nil {
				t.Errorf("%s = %s: store refuses it: %v", s.key, o.value, err)
			}
		}
		d := store.Destination{Domain: "example.com"}
		*s.str(&d) = "bogus"
		err := d.Validate(false)
		if err == nil || !strings.HasSuffix(err.Error(), s.accepted()) {
			t.Errorf("%s: store says %v, dialogs accept %s", s.key, err, s.accepted())
		}
	}
}

// dialogTests answer the NEW dialog. The questions, in order: domain; IP sort
// preference; concurrency limit? (then the limit); messages per connection? (then the
// number); recipient limit? (then the minutes and the number); limit type; limit
// apply; specific TLS? (then the mode); when TLS is not No: specific DANE? (then the
// mode), specific MTA STS? (then the mode); specific bounce verification? (then on or
// off); specific bounce profile? (then the name). Answers are separated by "|".
func TestNewDialog(t *testing.T) {
	const base = "max_host_concurrency = 500\nlimit_type = host\nlimit_apply = system\n"
	tests := []struct {
		name, in, domain, want, wantOut string
	}{
		{"all defaults", "example.com||||||||||", "example.com", base, ""},
		{"ip sort refused then taken", "example.com|0|6|x|4|||||||||", "example.com", "ip_sort_pref = REQUIRE_V6\n" + base, "You must enter a value from 1 to 5."},
		{"ip sort default row", "example.com|5|||||||||", "example.com", base, ""},
		{"concurrency range", "example.com||y|0|1001|abc|1000|||||||", "example.com", "max_host_concurrency = 1000\nlimit_type = host\nlimit_apply = system\n", "You must enter a number between 1 and 1000."},
		{"no concurrency", "example.com||n||||||||", "example.com", "limit_type = host\nlimit_apply = system\n", ""},
		{"messages range", "example.com||||y|0|1001|1||||||", "example.com", "max_host_concurrency = 500\nmax_messages_per_connection = 1\nlimit_type = host\nlimit_apply = system\n", "You must enter a number between 1 and 1000."},
		{"recipients range", "example.com|||||y|0|61|60|-1|1000000001|1,000,000,000|||||", "example.com",
			"max_host_concurrency = 500\nrecipient_minutes = 60\nrecipient_limit = 1000000000\nlimit_type = host\nlimit_apply = system\n", "You must enter a number between 0 and 1000000000."},
		{"recipients limit has no default", "example.com|||||y|1||0|||||", "example.com",
			"max_host_concurrency = 500\nrecipient_minutes = 1\nrecipient_limit = 0\nlimit_type = host\nlimit_apply = system\n", "You must enter a number between 0 and 1000000000."},
		{"limit type and apply", "example.com||||||3|2|2||||", "example.com", "max_host_concurrency = 500\nlimit_type = MXIP\nlimit_apply = VG\n", "You must enter a value from 1 to 2."},
		{"tls no skips dane and mta-sts", "example.com||||||||y|1||", "example.com", base + "tls = no\n", ""},
		{"tls, dane, mta-sts with bad numbers", "example.com||||||||y|7|6|y|4|3|y|3|2||", "example.com",
			base + "tls = required_verify_hosted\ndane = mandatory\nmta_sts = on\n", "You must enter a value from 1 to 6."},
		{"mta-sts off", "example.com||||||||y|2|n|y|1||", "example.com", base + "tls = preferred\nmta_sts = off\n", ""},
		{"bad yes or no", "example.com||maybe|||||||||", "example.com", base, "Please answer Y or N."},
		{"bounces", "example.com|||||||||y|y|y|a b|Strict", "example.com", base + "bounce_validation = on\nbounce_profile = Strict\n", "Enter a profile name: letters, digits, _ and -."},
		{"bounce verification off", "example.com|||||||||y|n|", "example.com", base + "bounce_validation = off\n", ""},
		{"bad domains", "*.x.com|1.2.3.4|localhost|exa mple.com|example.com||||||||||", "example.com", base, "Wildcards are not accepted: use .x.com for x.com and its subdomains."},
		{"international domain", "Bücher.Example||||||||||", "xn--bcher-kva.example", base, ""},
		{"subdomains", ".Example.com||||||||||", ".example.com", base, ""},
	}
	for _, tt := range tests {
		e, out := newEnv(t, strings.ReplaceAll(tt.in, "|", "\n")+"\n")
		if err := run(e, "new"); err != nil {
			t.Errorf("%s: %v\n%s", tt.name, err, out)
			continue
		}
		d, ok := e.Session.Config().Destinations.Lookup(tt.domain)
		if !ok {
			t.Errorf("%s: no entry for %s:\n%s", tt.name, tt.domain, out)
			continue
		}
		if got := section(d); got != tt.want {
			t.Errorf("%s: stored\n%s\nwant\n%s\nscreen:\n%s", tt.name, got, tt.want, out)
		}
		if !strings.Contains(out.String(), tt.wantOut) {
			t.Errorf("%s: the screen does not say %q:\n%s", tt.name, tt.wantOut, out)
		}
	}
}

// TestDuplicateDomain: NEW refuses a configured domain and asks again.
func TestDuplicateDomain(t *testing.T) {
	e, out := newEnv(t, "")
	mustRun(t, e, "new", "example.com", "--tls=required")
	e, out = envFor(e.Session, e.Fs, "EXAMPLE.com.\n\n")
	before := e.Session.Config()
	if err := run(e, "new"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "The domain example.com is already configured: use EDIT to change it.") {
		t.Errorf("screen:\n%s", out)
	}
	if e.Session.Config() != before {
		t.Error("the refused domain changed the candidate")
	}
	if err := run(e, "new", "example.com"); err == nil || !strings.Contains(err.Error(), "already configured") {
		t.Errorf("batch new of a configured domain: err = %v", err)
	}
}

// TestEOFChangesNothing ends the input after every answer of each dialog: the dialog
// must return shell.ErrAbort and leave the candidate as it was (never Set).
func TestEOFChangesNothing(t *testing.T) {
	dialogs := []struct {
		name    string
		answers []string
	}{
		{"new", []string{"new", "example.org", "1", "y", "10", "y", "5", "y", "5", "100", "2", "2", "y", "2", "y", "2", "y", "2", "y", "y", "y", "Strict", ""}},
		{"edit", []string{"edit", "example.com", "", "", "", "", "", "", "", "", "", "", "", "", ""}},
		{"default", []string{"default", "1", "10", "10", "y", "5", "100", "2", "2", "2", "2", "2", "y", "y", "Strict", ""}},
		{"setup", []string{"setup", "y", "1", ""}},
		{"delete", []string{"delete", "example.com", ""}},
		{"clear", []string{"clear", "y", ""}},
		{"import", []string{"import", "t.ini", ""}},
	}
	for _, dl := range dialogs {
		for k := 0; k < len(dl.answers); k++ {
			e, _ := newEnv(t, "")
			mustRun(t, e, "new", "example.com", "--tls=preferred")
			mustRun(t, e, "export", "t.ini")
			input := strings.Join(dl.answers[:k], "\n")
			if k > 0 {
				input += "\n"
			}
			e, out := envFor(e.Session, e.Fs, input)
			before, snap := e.Session.Config(), snapshot(t, e)
			err := run(e)
			if !errors.Is(err, shell.ErrAbort) {
				t.Errorf("%s, input ending after %d answers: err = %v, want ErrAbort\n%s", dl.name, k, err, out)
				continue
			}
			// Answers up to the end of a completed operation may have applied it (the
			// menu came back); a cut inside an operation must not.
			if e.Session.Config() != before && !completed(dl.answers, k) {
				t.Errorf("%s, input ending after %d answers changed the candidate:\n%s", dl.name, k, out)
			}
			if e.Session.Config() == before && snapshot(t, e) != snap {
				t.Errorf("%s: the candidate was modified in place", dl.name)
			}
		}
	}
}

// completed reports whether the first k answers hold a whole operation (its last
// answer is followed by the menu's).
func completed(answers []string, k int) bool { return k == len(answers)-1 }

// TestDefaultMTASTSWarning: turning MTA-STS on for the default row warns and asks;
// No keeps it off.
func TestDefaultMTASTSWarning(t *testing.T) {
	for _, tt := range []struct {
		name, confirm, want string
	}{
		{"confirmed", "y", "on"},
		{"declined", "", "off"},
	} {
		// IP sort, concurrency, messages, recipient limit?, limit type, limit apply,
		// TLS 2, DANE, MTA STS 2, confirmation, bounce verification, bounce profile.
		e, out := newEnv(t, strings.Join([]string{"", "", "", "", "", "", "2", "", "2", tt.confirm, "", ""}, "\n")+"\n")
		mustRun(t, e, "default")
		if got := e.Session.Config().Destinations.Default.MTASTS; got != tt.want {
			t.Errorf("%s: default mta_sts = %q, want %q\n%s", tt.name, got, tt.want, out)
		}
		if !strings.Contains(out.String(), "Are you sure you want to enable MTA STS for the default? [N]>") {
			t.Errorf("%s: no confirmation asked:\n%s", tt.name, out)
		}
		if n := strings.Count(out.String(), routeNote); (n == 1) != (tt.want == "on") {
			t.Errorf("%s: the SMTP routes note appears %d times", tt.name, n)
		}
	}
}

// TestChecksOffered: with checks wired, switching MTA-STS or DANE on offers them
// ([N] by default); without, nothing is asked.
func TestChecksOffered(t *testing.T) {
	var ran []string
	checks := Checks{
		MTASTS: func(_ context.Context, e *shell.Env, d string) error { ran = append(ran, "mta-sts "+d); return nil },
		DANE:   func(_ context.Context, e *shell.Env, d string) error { ran = append(ran, "dane "+d); return nil },
	}
	// domain, IP sort, concurrency?, limit, messages?, recipients?, type, apply, TLS? 2,
	// DANE? 2, verify DANE? y, MTA STS? 2, verify MTA-STS? (default N), bounces.
	in := strings.Join([]string{"example.com", "", "", "", "", "", "", "", "y", "2", "y", "2", "y", "y", "2", "", "", ""}, "\n") + "\n"
	e, out := newEnv(t, in)
	if err := NewCommand(checks).Run(context.Background(), e, []string{"new"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []string{"dane example.com"}) {
		t.Errorf("checks run: %q, want the DANE one only\n%s", ran, out)
	}
	for _, q := range []string{"Do you want to verify the DANE records of example.com now? [N]>", "Do you want to verify the MTA-STS record and policy of example.com now? [N]>"} {
		if !strings.Contains(out.String(), q) {
			t.Errorf("not asked %q:\n%s", q, out)
		}
	}
	e, out = newEnv(t, in)
	mustRun(t, e, "new")
	if strings.Contains(out.String(), "verify") {
		t.Errorf("without checks a verification was offered:\n%s", out)
	}
}

// TestDefaultDialog answers DEFAULT. The questions, in order: IP sort preference (1-4);
// concurrency; messages per connection; recipient limit? (then the minutes and the
// number); limit type; limit apply; TLS; when TLS is not No: DANE, MTA STS (On asks
// for a confirmation); bounce verification; bounce profile.
func TestDefaultDialog(t *testing.T) {
	tests := []struct {
		name, in, want, wantOut string
	}{
		{"unchanged", "|||||||||", "ip_sort_pref = PREFER_V4\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = host\nlimit_apply = system\ntls = no\ndane = none\nmta_sts = off\nbounce_validation = off\nbounce_profile = Default\n", ""},
		{"every value changed", "5|4|0|1001|7|0|8|y|30|100|2|2|6|3|1|y|Bounce2",
			"ip_sort_pref = REQUIRE_V6\nmax_host_concurrency = 7\nmax_messages_per_connection = 8\nrecipient_minutes = 30\nrecipient_limit = 100\nlimit_type = MXIP\nlimit_apply = VG\ntls = required_verify_hosted\ndane = mandatory\nmta_sts = off\nbounce_validation = on\nbounce_profile = Bounce2\n",
			"You must enter a value from 1 to 4."},
	}
	for _, tt := range tests {
		e, out := newEnv(t, strings.ReplaceAll(tt.in, "|", "\n")+"\n")
		if err := run(e, "default"); err != nil {
			t.Errorf("%s: %v\n%s", tt.name, err, out)
			continue
		}
		if got := section(e.Session.Config().Destinations.Default); got != tt.want {
			t.Errorf("%s: default row\n%s\nwant\n%s\nscreen:\n%s", tt.name, got, tt.want, out)
		}
		if !strings.Contains(out.String(), tt.wantOut) {
			t.Errorf("%s: the screen does not say %q:\n%s", tt.name, tt.wantOut, out)
		}
	}
}

func TestComplete(t *testing.T) {
	e, _ := newEnv(t, "")
	mustRun(t, e, "new", "example.com")
	mustRun(t, e, "new", ".example.org")
	mustRun(t, e, "export", "t.ini")
	c := Command()
	tests := []struct {
		before []string
		want   []string
	}{
		{nil, []string{"setup", "new", "edit", "delete", "default", "list", "detail", "clear", "import", "export"}},
		{[]string{"edit"}, []string{"example.com", ".example.org"}},
		{[]string{"DELETE"}, []string{"example.com", ".example.org"}},
		{[]string{"detail"}, []string{"example.com", ".example.org", "default", "all"}},
		{[]string{"import"}, []string{"t.ini"}},
		{[]string{"clear"}, []string{"--confirm"}},
		{[]string{"list"}, nil},
	}
	for _, tt := range tests {
		if got := c.Complete(e, tt.before); !slices.Equal(got, tt.want) {
			t.Errorf("Complete(%q) = %q, want %q", tt.before, got, tt.want)
		}
	}
	got := c.Complete(e, []string{"new", "example.net"})
	for _, w := range []string{"--tls=preferred", "--dane=mandatory", "--mta_sts=on", "--ip_sort_pref=PREFER_V6"} {
		if !slices.Contains(got, w) {
			t.Errorf("Complete(new example.net) lacks %q", w)
		}
	}
}
