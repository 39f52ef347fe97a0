package destconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"
)

// fullTable is an import file using every key and value form.
const fullTable = `# Destination controls
[DEFAULT]
ip_sort_pref = PREFER_V6
max_host_concurrency = 100
max_messages_per_connection = 10
recipient_minutes = 60
recipient_limit = 5000
limit_type = MXIP
limit_apply = VG
tls = preferred
dane = opportunistic
mta_sts = off
bounce_validation = on
bounce_profile = Standard

[example.com]
tls = required_verify
dane = mandatory
mta_sts = on

[.example.com]
tls: required

[Bücher.example]
ip_sort_pref = require_v4
max_host_concurrency = 1
max_messages_per_connection = 1000
recipient_minutes = 1
recipient_limit = 0
limit_type = host
limit_apply = system
tls = required_verify_hosted
dane = none
mta_sts = off
bounce_validation = off
bounce_profile = Strict_1

; an entry that uses the default for everything
[a.example]
`

// TestExportImportExport: exporting, importing that file and exporting again gives
// the same bytes; the table is the one imported.
func TestExportImportExport(t *testing.T) {
	e, _ := newEnv(t, "")
	if err := afero.WriteFile(e.Fs, "configuration/full.ini", []byte(fullTable), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e, "import", "full.ini")
	mustRun(t, e, "export", "one.ini")
	mustRun(t, e, "clear", "--confirm")
	mustRun(t, e, "default", "--tls=no")
	mustRun(t, e, "import", "one.ini")
	mustRun(t, e, "export", "two.ini")
	one, _ := afero.ReadFile(e.Fs, "configuration/one.ini")
	two, _ := afero.ReadFile(e.Fs, "configuration/two.ini")
	if string(one) != string(two) {
		t.Fatalf("export, import, export differ (-one +two):\n%s", cmp.Diff(string(one), string(two)))
	}
	want := `[DEFAULT]
ip_sort_pref = PREFER_V6
max_host_concurrency = 100
max_messages_per_connection = 10
recipient_minutes = 60
recipient_limit = 5000
limit_type = MXIP
limit_apply = VG
tls = preferred
dane = opportunistic
mta_sts = off
bounce_validation = on
bounce_profile = Standard

[a.example]

[example.com]
tls = required_verify
dane = mandatory
mta_sts = on

[.example.com]
tls = required

[xn--bcher-kva.example]
ip_sort_pref = REQUIRE_V4
max_host_concurrency = 1
max_messages_per_connection = 1000
recipient_minutes = 1
recipient_limit = 0
limit_type = host
limit_apply = system
tls = required_verify_hosted
dane = none
mta_sts = off
bounce_validation = off
bounce_profile = Strict_1
`
	if diff := cmp.Diff(want, string(one)); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}
}

// TestFactoryRoundTrip: the factory table survives export and import unchanged.
func TestFactoryRoundTrip(t *testing.T) {
	e, _ := newEnv(t, "")
	before := snapshot(t, e)
	mustRun(t, e, "export", "f.ini")
	mustRun(t, e, "import", "f.ini")
	if after := snapshot(t, e); after != before {
		t.Errorf("import of the factory export changed the configuration (-before +after):\n%s", cmp.Diff(before, after))
	}
}

// TestImportBadLine: a file with one bad line is refused, naming the line, and the
// candidate is left as it was.
func TestImportBadLine(t *testing.T) {
	const head = "[DEFAULT]\nip_sort_pref = PREFER_V4\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = host\nlimit_apply = system\ntls = no\ndane = none\nmta_sts = off\nbounce_validation = off\n\n"
	tests := []struct {
		name, in, wantErr string
	}{
		{"bad value", head + "[example.com]\ntls = maybe\n", `line 13: tls = "maybe": use one of no, preferred, required, preferred_verify, required_verify, required_verify_hosted`},
		{"unknown key", head + "[example.com]\ntsl = no\n", `line 13: unknown key "tsl": use one of ip_sort_pref,`},
		{"number out of range", head + "[example.com]\nmax_host_concurrency = 0\n", `line 13: max_host_concurrency = "0": use a number from 1 to 1000`},
		{"empty value", head + "[example.com]\ntls =\n", "line 13: tls has no value"},
		{"not a key line", head + "[example.com]\ntls required\n", `line 13: "tls required" is not "key = value"`},
		{"key twice", head + "[example.com]\ntls = no\ntls = required\n", "line 14: tls appears twice in this section (first on line 13)"},
		{"bad section", head + "[example.com\n", "line 12: \"[example.com\": write a section as"},
		{"wildcard section", head + "[*.example.com]\n", "line 12: [*.example.com]: wildcards are not accepted"},
		{"ip section", head + "[192.0.2.1]\n", "line 12: [192.0.2.1]: IP addresses are not accepted"},
		{"duplicate section", head + "[example.com]\n[EXAMPLE.com.]\n", "line 13: [example.com] appears twice (first on line 12)"},
		{"duplicate default", head + "[default]\n", "line 12: [DEFAULT] appears twice (first on line 1)"},
		{"key before section", "tls = no\n" + head, `line 1: "tls = no" comes before any section`},
		{"recipient limit alone", head + "[example.com]\nrecipient_limit = 5\n", "line 12: [example.com]: recipient_limit and recipient_minutes go together"},
		{"default incomplete", "[DEFAULT]\ntls = no\n", "line 1: [DEFAULT] has no ip_sort_pref"},
		{"no default", "[example.com]\ntls = no\n", "no [DEFAULT] section"},
	}
	for _, tt := range tests {
		e, _ := newEnv(t, "")
		mustRun(t, e, "new", "keep.example", "--tls=required")
		if err := afero.WriteFile(e.Fs, "configuration/bad.ini", []byte(tt.in), 0o600); err != nil {
			t.Fatal(err)
		}
		before, snap := e.Session.Config(), snapshot(t, e)
		err := run(e, "import", "bad.ini")
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasSuffix(err.Error(), "nothing was imported") {
			t.Errorf("%s: import: err = %v, want one containing %q, ending \"nothing was imported\"", tt.name, err, tt.wantErr)
		}
		if e.Session.Config() != before || snapshot(t, e) != snap {
			t.Errorf("%s: a refused import changed the candidate", tt.name)
		}
	}
}
