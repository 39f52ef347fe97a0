package commit_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands/commit"
	"github.com/segcli/segcli/commands/hostname"
	"github.com/segcli/segcli/internal/faultfs"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

var clock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// TestCommitOnFaultyDisk: `commit` in a piped session over a data directory whose
// disk is full, or that is read-only, prints one line that says what happened and
// what to do, exits 1 and changes nothing on disk; the changes are kept, and the
// same session commits them once the fault is gone.
func TestCommitOnFaultyDisk(t *testing.T) {
	tests := []struct {
		name    string
		set     func(*faultfs.FS)
		wantErr string
	}{
		{"disk full", func(f *faultfs.FS) { f.SetSpace(100) },
			"commit failed, nothing changed: store: no space left on the data directory's disk: free some space on it, then commit again; your changes are kept ("},
		{"read-only", func(f *faultfs.FS) { f.SetReadOnly(true) },
			"commit failed, nothing changed: store: the data directory cannot be written: make it writable (is its file system mounted read-only?), then commit again; your changes are kept ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), dir))
			st, err := store.Open(context.Background(), ffs, store.Options{
				Locker: store.FileLocker{Path: filepath.Join(dir, "config", ".lock")},
				Now:    func() time.Time { return clock }, User: "admin", Hostname: "esa.test",
			})
			if err != nil {
				t.Fatal(err)
			}
			sess, err := st.NewSession(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			running := filepath.Join(dir, "config", "running.toml")
			before, err := os.ReadFile(running)
			if err != nil {
				t.Fatal(err)
			}
			var out, errs bytes.Buffer
			in := "sethostname mail.test\ncommit\nrename the gateway\ny\n"
			sh := shell.New(shell.Config{In: shell.NewPlainReader(strings.NewReader(in), &out), Out: &out, Err: &errs,
				Session: sess, Fs: ffs, Now: func() time.Time { return clock }}, append(commit.Commands(), hostname.Command())...)
			tt.set(ffs)
			if status := sh.Run(context.Background()); status != 1 {
				t.Errorf("exit status %d, want 1", status)
			}
			lines := strings.Split(strings.TrimSuffix(errs.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], tt.wantErr) {
				t.Errorf("stderr:\n%s\nwant one line starting %q", errs.String(), tt.wantErr)
			}
			if strings.Contains(out.String(), "Changes committed") {
				t.Errorf("the screen claims a commit:\n%s", out.String())
			}
			if after, _ := os.ReadFile(running); !bytes.Equal(after, before) {
				t.Errorf("the running configuration changed:\n%s", after)
			}
			for _, pat := range []string{"config/.*", "config/history/.*", "config/history/rev-00000002.toml"} {
				if m, _ := filepath.Glob(filepath.Join(dir, pat)); len(m) > 0 && !(len(m) == 1 && filepath.Base(m[0]) == ".lock") {
					t.Errorf("left behind: %v", m)
				}
			}
			// The fault fixed, the same session commits the kept changes.
			ffs.Clear()
			out.Reset()
			errs.Reset()
			sh = shell.New(shell.Config{In: shell.NewPlainReader(strings.NewReader("showchanges\ncommit again\n"), &out), Out: &out, Err: &errs,
				Session: sess, Fs: ffs, Now: func() time.Time { return clock }}, append(commit.Commands(), hostname.Command())...)
			if status := sh.Run(context.Background()); status != 0 || !strings.Contains(out.String(), `+hostname = "mail.test"`) ||
				!strings.Contains(out.String(), "Changes committed: ") {
				t.Fatalf("after the fix: exit %d\n%s%s", status, out.String(), errs.String())
			}
			if after, _ := os.ReadFile(running); !bytes.Contains(after, []byte(`hostname = "mail.test"`)) {
				t.Errorf("the retried commit is not the running configuration:\n%s", after)
			}
		})
	}
}
