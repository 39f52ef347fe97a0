package maillog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/faultfs"
)

// diskLog opens a mail log in a real directory through a faultfs.
func diskLog(t *testing.T, cfg FileConfig) (*File, *faultfs.FS, string) {
	t.Helper()
	dir := t.TempDir()
	ffs := faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), dir))
	cfg.Fs, cfg.Path, cfg.Level, cfg.Now = ffs, DefaultPath, Info, clock
	l, err := OpenFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, ffs, dir
}

func logText(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLogDiskFull: the disk fills up in the middle of a line. Logging goes on
// (the engine must not stop for its log), Err reports ENOSPC, and once there is
// room again the next line starts on a line of its own: every whole line of the
// file is a well-formed entry, and the only damage is the torn line itself.
func TestLogDiskFull(t *testing.T) {
	l, ffs, dir := diskLog(t, FileConfig{})
	l.Logf(Info, "before the disk filled up")
	ffs.SetSpace(20) // part of the next line fits
	l.Logf(Info, "this line is torn by the full disk")
	l.Logf(Info, "this line is lost: nothing fits")
	if err := l.Err(); !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "maillog: write logs/mail_logs: ") {
		t.Fatalf("Err() = %v, want the ENOSPC write error", err)
	}
	ffs.SetSpace(-1)
	l.Logf(Info, "after space was freed")
	l.Logf(Info, "and the next one")
	want := "Sun Nov 29 13:26:28 2026 Info: before the disk filled up\n" +
		"Sun Nov 29 13:26:28 \n" +
		"Sun Nov 29 13:26:28 2026 Info: after space was freed\n" +
		"Sun Nov 29 13:26:28 2026 Info: and the next one\n"
	if got := logText(t, dir, DefaultPath); got != want {
		t.Errorf("mail_logs after a full disk:\n%s\nwant:\n%s", got, want)
	}
}

// TestLogReadOnly: the data directory becomes read-only while the log is open:
// lines are dropped with Err reporting EROFS, nothing already written is lost or
// damaged, rotation does not lose a file, and logging resumes once it is writable.
func TestLogReadOnly(t *testing.T) {
	l, ffs, dir := diskLog(t, FileConfig{MaxSize: 200, Keep: 2})
	l.Logf(Info, "line one, before the file system went read-only")
	l.Logf(Info, "line two, before the file system went read-only")
	before := logText(t, dir, DefaultPath)
	ffs.SetReadOnly(true)
	l.Logf(Info, "dropped: read-only, and due for rotation")
	if err := l.Err(); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("Err() = %v, want EROFS", err)
	}
	l.Logf(Info, "dropped too")
	if got := logText(t, dir, DefaultPath); got != before {
		t.Fatalf("mail_logs changed while read-only:\n%s", got)
	}
	if files := Files(afero.NewBasePathFs(afero.NewOsFs(), dir), DefaultPath); len(files) != 1 {
		t.Fatalf("log files while read-only: %v", files)
	}
	ffs.SetReadOnly(false)
	l.Logf(Info, "after the file system is writable again")
	fsys := afero.NewBasePathFs(afero.NewOsFs(), dir)
	files := Files(fsys, DefaultPath)
	if len(files) != 2 || logText(t, dir, files[0]) != before {
		t.Fatalf("after the fault: files %v; want the old log rotated whole and a new one", files)
	}
	if got := logText(t, dir, DefaultPath); got != "Sun Nov 29 13:26:28 2026 Info: after the file system is writable again\n" {
		t.Errorf("new mail_logs: %q", got)
	}
}

// TestOpenFileReadOnly: a log that cannot be created is an error that names it.
func TestOpenFileReadOnly(t *testing.T) {
	ffs := faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), t.TempDir()))
	ffs.SetReadOnly(true)
	_, err := OpenFile(FileConfig{Fs: ffs, Path: DefaultPath, Level: Info})
	if !errors.Is(err, syscall.EROFS) || !strings.HasPrefix(err.Error(), "maillog: create logs: ") {
		t.Errorf("OpenFile on a read-only directory = %v", err)
	}
}

// TestCountersDiskFaults: a block reservation that cannot be written fails (no
// number handed out that a restart could hand out again) and leaves the counters
// file whole; once fixed, numbers go on without repeating.
func TestCountersDiskFaults(t *testing.T) {
	for _, fault := range []struct {
		name string
		set  func(*faultfs.FS)
		want error
	}{
		{"disk full", func(f *faultfs.FS) { f.SetSpace(5) }, syscall.ENOSPC},
		{"read-only", func(f *faultfs.FS) { f.SetReadOnly(true) }, syscall.EROFS},
	} {
		t.Run(fault.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), dir))
			c, err := OpenCounters(CountersConfig{Fs: ffs, Path: DefaultCountersPath, Block: 2})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			seen := map[uint64]bool{}
			for range 2 {
				n, err := c.Next(ctx, MID)
				if err != nil {
					t.Fatal(err)
				}
				seen[n] = true
			}
			before := logText(t, dir, DefaultCountersPath)
			fault.set(ffs)
			if n, err := c.Next(ctx, MID); !errors.Is(err, fault.want) {
				t.Fatalf("Next() past the block under %s = %d, %v; want %v", fault.name, n, err, fault.want)
			}
			if got := logText(t, dir, DefaultCountersPath); got != before {
				t.Fatalf("counters file changed: %q, want %q", got, before)
			}
			if ents, _ := os.ReadDir(filepath.Join(dir, "logs")); len(ents) != 1 {
				t.Errorf("files left in logs/: %d, want the counters file only", len(ents))
			}
			ffs.Clear()
			// The same process, and a restarted one, go on without repeating.
			restarted, err := OpenCounters(CountersConfig{Fs: ffs, Path: DefaultCountersPath, Block: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, cs := range []*Counters{c, restarted} {
				n, err := cs.Next(ctx, MID)
				if err != nil || seen[n] {
					t.Fatalf("Next() after the fault = %d, %v; numbers handed out before: %v", n, err, seen)
				}
				seen[n] = true
			}
		})
	}
}
