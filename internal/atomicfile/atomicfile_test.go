package atomicfile

import (
	"os"
	"testing"
	"time"

	"github.com/spf13/afero"
)

func TestWriteReplaces(t *testing.T) {
	fs := afero.NewBasePathFs(afero.NewOsFs(), t.TempDir())
	for _, content := range []string{"one", "two"} {
		if err := Write(fs, "f.toml", []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := afero.ReadFile(fs, "f.toml")
		if err != nil || string(got) != content {
			t.Fatalf("after Write(%q): %q, %v", content, got, err)
		}
	}
	if fi, _ := fs.Stat("f.toml"); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestRemoveTempsSparesWritesInProgress: only temporary files left untouched for
// StaleAfter are a crashed writer's; a fresh one may be another process's write.
func TestRemoveTempsSparesWritesInProgress(t *testing.T) {
	dir := t.TempDir()
	fs := afero.NewBasePathFs(afero.NewOsFs(), dir)
	for _, name := range []string{".a.toml" + TmpMarker + "old", ".a.toml" + TmpMarker + "new", "a.toml"} {
		if err := afero.WriteFile(fs, name, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * StaleAfter)
	if err := os.Chtimes(dir+"/.a.toml"+TmpMarker+"old", old, old); err != nil {
		t.Fatal(err)
	}
	RemoveTemps(fs, ".")
	for name, want := range map[string]bool{".a.toml" + TmpMarker + "old": false, ".a.toml" + TmpMarker + "new": true, "a.toml": true} {
		if ok, _ := afero.Exists(fs, name); ok != want {
			t.Errorf("%s exists = %v, want %v", name, ok, want)
		}
	}
}

// syncCounter counts the flushes to disk asked through it.
type syncCounter struct {
	afero.Fs
	syncs *int
}

func (s syncCounter) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f, err := s.Fs.OpenFile(name, flag, perm)
	return countingFile{f, s.syncs}, err
}

func (s syncCounter) Open(name string) (afero.File, error) {
	f, err := s.Fs.Open(name)
	return countingFile{f, s.syncs}, err
}

type countingFile struct {
	afero.File
	syncs *int
}

func (f countingFile) Sync() error {
	*f.syncs++
	return f.File.Sync()
}

// TestDurability: Write flushes the file and its directory; WriteUnsynced
// replaces the file the same way for readers but flushes nothing.
func TestDurability(t *testing.T) {
	for _, tt := range []struct {
		name  string
		write func(afero.Fs, string, []byte, os.FileMode) error
		syncs int
	}{
		{"Write", Write, 2},
		{"WriteUnsynced", WriteUnsynced, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			fs := syncCounter{afero.NewBasePathFs(afero.NewOsFs(), t.TempDir()), &n}
			for _, content := range []string{"one", "two"} {
				if err := tt.write(fs, "f.json", []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				if got, err := afero.ReadFile(fs, "f.json"); err != nil || string(got) != content {
					t.Fatalf("after writing %q: %q, %v", content, got, err)
				}
			}
			if n != 2*tt.syncs {
				t.Errorf("%d flushes for two writes, want %d", n, 2*tt.syncs)
			}
			if infos, _ := afero.ReadDir(fs, "."); len(infos) != 1 {
				t.Errorf("%d files left, want only f.json", len(infos))
			}
		})
	}
}
