package smtproutes

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

var testClock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

func newEnv(t testing.TB) *shell.Env {
	t.Helper()
	fsys := afero.NewMemMapFs()
	st, err := store.Open(context.Background(), fsys, store.Options{Now: func() time.Time { return testClock }, Hostname: "esa.test"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e, _ := withInput(&shell.Env{Session: sess, Fs: fsys}, "")
	return e
}

// withInput returns e reading its answers from input, printing to a new buffer.
func withInput(e *shell.Env, input string) (*shell.Env, *bytes.Buffer) {
	out := new(bytes.Buffer)
	lr := shell.NewPlainReader(strings.NewReader(input), out)
	n := *e
	n.Out, n.Err, n.P, n.In = out, out, shell.NewPrompter(lr, out), lr
	n.Now = func() time.Time { return testClock }
	n.Hostname = func() string { return "esa.test" }
	return &n, out
}

func run(e *shell.Env, args ...string) error {
	return Command().Run(context.Background(), e, args)
}

func mustRun(t *testing.T, e *shell.Env, args ...string) {
	t.Helper()
	if err := run(e, args...); err != nil {
		t.Fatalf("smtproutes %s: %v", strings.Join(args, " "), err)
	}
}

func snapshot(t *testing.T, e *shell.Env) string {
	t.Helper()
	b, err := store.Marshal(e.Session.Config())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExportImportExport(t *testing.T) {
	e := newEnv(t)
	const in = "# routes\n.Example.org [192.0.2.25]\nexample.com mx2.example.net:2525/20,mx1.example.net/10\n\nbücher.example\t[2001:DB8::25]:26, relay\n"
	if err := afero.WriteFile(e.Fs, "configuration/in.txt", []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e, "import", "in.txt")
	mustRun(t, e, "export", "one.txt")
	mustRun(t, e, "clear", "--confirm")
	mustRun(t, e, "import", "one.txt")
	mustRun(t, e, "export", "two.txt")
	one, _ := afero.ReadFile(e.Fs, "configuration/one.txt")
	two, _ := afero.ReadFile(e.Fs, "configuration/two.txt")
	const want = "example.com mx1.example.net/10, mx2.example.net:2525/20\n.example.org 192.0.2.25\nxn--bcher-kva.example [2001:db8::25]:26, relay\n"
	if diff := cmp.Diff(want, string(one)); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}
	if string(one) != string(two) {
		t.Errorf("export, import, export differ:\n%s\n%s", one, two)
	}
}

func TestImportBadLine(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"no hosts", "example.com mx.example.net\nexample.org\n", `line 2: "example.org": write DOMAIN then its hosts`},
		{"bad domain", "*.example.com mx.example.net\n", "line 1: wildcards are not accepted"},
		{"bad host", "# c\nexample.com mx_1.example.net\n", `line 2: "mx_1.example.net" is not a host name`},
		{"bad port", "example.com mx.example.net:0\n", "line 1: \"mx.example.net:0\": the port after : is a number from 1 to 65535"},
		{"duplicate", "example.com a.example.net\nEXAMPLE.com b.example.net\n", "line 2: example.com appears twice (first on line 1)"},
		{"host twice", "example.com a.example.net, a.example.net:25/3\n", "line 1: the host a.example.net is listed twice"},
	}
	for _, tt := range tests {
		e := newEnv(t)
		mustRun(t, e, "new", "keep.example", "relay.example.net")
		if err := afero.WriteFile(e.Fs, "configuration/bad.txt", []byte(tt.in), 0o600); err != nil {
			t.Fatal(err)
		}
		before, snap := e.Session.Config(), snapshot(t, e)
		err := run(e, "import", "bad.txt")
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasSuffix(err.Error(), "nothing was imported") {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.wantErr)
		}
		if e.Session.Config() != before || snapshot(t, e) != snap {
			t.Errorf("%s: a refused import changed the candidate", tt.name)
		}
	}
}

// TestEOFChangesNothing ends the input after every answer of each dialog.
func TestEOFChangesNothing(t *testing.T) {
	dialogs := [][]string{
		{"new", "example.org", "mx.example.net", ""},
		{"edit", "example.com", "relay2", ""},
		{"delete", "example.com", ""},
		{"clear", "y", ""},
		{"import", "r.txt", ""},
	}
	for _, answers := range dialogs {
		for k := 0; k < len(answers); k++ {
			e := newEnv(t)
			mustRun(t, e, "new", "example.com", "relay")
			mustRun(t, e, "export", "r.txt")
			input := strings.Join(answers[:k], "\n")
			if k > 0 {
				input += "\n"
			}
			e, out := withInput(e, input)
			before := e.Session.Config()
			err := run(e)
			if !errors.Is(err, shell.ErrAbort) {
				t.Errorf("%s, input ending after %d answers: err = %v, want ErrAbort\n%s", answers[0], k, err, out)
			}
			if k < len(answers)-1 && e.Session.Config() != before {
				t.Errorf("%s, input ending after %d answers changed the candidate:\n%s", answers[0], k, out)
			}
		}
	}
}

func TestNotEnforced(t *testing.T) {
	ds := store.FactoryDefaults("esa.test").Destinations
	ds.Put(store.Destination{Domain: "sts.example", TLS: "preferred", MTASTS: "on"})
	ds.Put(store.Destination{Domain: ".dane.example", TLS: "required", DANE: "mandatory"})
	ds.Put(store.Destination{Domain: "both.example", TLS: "required", DANE: "opportunistic", MTASTS: "on"})
	ds.Put(store.Destination{Domain: "notls.example", MTASTS: "on"})
	tests := []struct{ domain, want string }{
		{"sts.example", "MTA-STS"},
		{"mx.dane.example", "DANE"},
		{".dane.example", "DANE"},
		{"both.example", "DANE, MTA-STS"},
		{"notls.example", ""},
		{"other.example", ""},
	}
	for _, tt := range tests {
		if got := notEnforced(&ds, tt.domain); got != tt.want {
			t.Errorf("notEnforced(%s) = %q, want %q", tt.domain, got, tt.want)
		}
	}
	ds.Default.TLS, ds.Default.MTASTS = "preferred", "on"
	if got := notEnforced(&ds, "other.example"); got != "MTA-STS" {
		t.Errorf("with MTA-STS on the default, notEnforced(other.example) = %q, want MTA-STS", got)
	}
}

func TestComplete(t *testing.T) {
	e := newEnv(t)
	mustRun(t, e, "new", "example.com", "relay")
	c := Command()
	if got := c.Complete(e, nil); !slices.Contains(got, "new") || !slices.Contains(got, "export") {
		t.Errorf("Complete() = %q, want the operations", got)
	}
	if got := c.Complete(e, []string{"edit"}); !slices.Equal(got, []string{"example.com"}) {
		t.Errorf("Complete(edit) = %q, want the routed domains", got)
	}
}

func TestBatchRefusals(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no hosts", []string{"new", "example.org"}, "usage: smtproutes new DOMAIN"},
		{"bad host", []string{"new", "example.org", "mx.example.net:http"}, "the port after : is a number from 1 to 65535; nothing changed"},
		{"bad domain", []string{"new", "localhost", "relay"}, "single label"},
		{"duplicate", []string{"new", "example.com", "relay"}, "a route for example.com already exists"},
		{"edit missing", []string{"edit", "example.org", "relay"}, "there is no route for example.org"},
		{"delete missing", []string{"delete", "example.org"}, "there is no route for example.org"},
		{"unknown", []string{"frob"}, `unknown operation "frob"`},
	}
	for _, tt := range tests {
		e := newEnv(t)
		mustRun(t, e, "new", "example.com", "relay")
		snap := snapshot(t, e)
		err := run(e, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		}
		if snapshot(t, e) != snap {
			t.Errorf("%s: a refused command changed the candidate", tt.name)
		}
	}
}
