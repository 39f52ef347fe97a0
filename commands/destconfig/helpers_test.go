package destconfig

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

var testClock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// newEnv returns an environment over a fresh in-memory data directory whose dialogs
// read input; the screen goes to the returned buffer.
func newEnv(t testing.TB, input string) (*shell.Env, *bytes.Buffer) {
	t.Helper()
	fsys := afero.NewMemMapFs()
	st, err := store.Open(context.Background(), fsys, store.Options{Now: func() time.Time { return testClock }, User: "admin", Hostname: "esa.test"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return envFor(sess, fsys, input)
}

// envFor returns an environment on an existing session with new input.
func envFor(sess *store.Session, fsys afero.Fs, input string) (*shell.Env, *bytes.Buffer) {
	out := new(bytes.Buffer)
	lr := shell.NewPlainReader(strings.NewReader(input), out)
	return &shell.Env{
		Out: out, Err: out, P: shell.NewPrompter(lr, out), In: lr,
		Session: sess, Fs: fsys, Now: func() time.Time { return testClock },
		Hostname: func() string { return "esa.test" },
	}, out
}

// run runs destconfig with args in e.
func run(e *shell.Env, args ...string) error {
	return Command().Run(context.Background(), e, args)
}

// mustRun runs destconfig and fails the test on an error.
func mustRun(t testing.TB, e *shell.Env, args ...string) {
	t.Helper()
	if err := run(e, args...); err != nil {
		t.Fatalf("destconfig %s: %v", strings.Join(args, " "), err)
	}
}

// snapshot renders the candidate, to compare before and after.
func snapshot(t testing.TB, e *shell.Env) string {
	t.Helper()
	b, err := store.Marshal(e.Session.Config())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
