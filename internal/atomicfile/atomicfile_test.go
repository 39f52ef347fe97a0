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
