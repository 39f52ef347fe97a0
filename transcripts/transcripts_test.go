package transcripts_test

import (
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts"
	"github.com/segcli/segcli/transcripts/fixtures"
)

var update = flag.Bool("update", false, "rewrite the transcripts with what the sessions print now")

// TestTranscripts replays every transcript under this directory against a fresh data
// directory and compares the screen.
func TestTranscripts(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txt") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no transcripts found")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".txt"), func(t *testing.T) {
			t.Parallel()
			replayFile(t, file)
		})
	}
}

func replayFile(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transcripts.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	dir := t.TempDir()
	fsys := afero.NewBasePathFs(afero.NewOsFs(), dir)
	locker := store.FileLocker{Path: filepath.Join(dir, "config", ".lock")}
	// Never the machine's resolver: a transcript names its fixture resolver.
	base := commands.Options{Fs: fsys, Locker: locker, ResolvConf: filepath.Join(dir, "no-resolv.conf"),
		DemoSeed: []byte("segcli transcripts")}
	setup := fixtures.NewSetup()
	for _, name := range tr.Fixtures {
		start, ok := fixtures.Registry()[name]
		if !ok {
			t.Fatalf("%s: unknown fixture %q", file, name)
		}
		start(t, setup)
	}
	base.Dial = setup.Dial
	res, err := transcripts.Replay(context.Background(), tr, fsys, transcripts.Vars(setup.Vars), commands.Runner(base))
	if err != nil {
		t.Fatal(err)
	}
	if err := transcripts.Check(file, data, tr, res.Got); err != nil {
		if *update {
			tr.Screen = res.Got
			if err := os.WriteFile(file, tr.Format(), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("updated %s", file)
			return
		}
		t.Error(err)
	}
}
