package maillog

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	mlog "github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/shell"
)

var clock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// screen is a buffer safe for a command writing while the test reads.
type screen struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the screen shows want.
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q:\n%s", want, s.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newLog opens a mail log on fsys that rotates past maxSize bytes.
func newLog(t *testing.T, fsys afero.Fs, maxSize int64) *mlog.File {
	t.Helper()
	l, err := mlog.OpenFile(mlog.FileConfig{Fs: fsys, Path: mlog.DefaultPath, Level: mlog.Info, MaxSize: maxSize, Keep: 3,
		Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func env(fsys afero.Fs, l *mlog.File, out *screen, terminal bool) *shell.Env {
	return &shell.Env{Out: out, Err: out, Fs: fsys, MailLog: l, Terminal: terminal, Now: func() time.Time { return clock }}
}

// lines logs n numbered lines from first.
func lines(l *mlog.File, first, n int) {
	for i := first; i < first+n; i++ {
		l.Logf(mlog.Info, "line %03d", i)
	}
}

// TestTailAcrossRotation: the last lines come from the rotated files when the log
// itself holds fewer.
func TestTailAcrossRotation(t *testing.T) {
	fsys := afero.NewMemMapFs()
	l := newLog(t, fsys, 200) // about five lines per file
	lines(l, 1, 12)
	if files := mlog.Files(fsys, mlog.DefaultPath); len(files) < 3 {
		t.Fatalf("files %q: want the log rotated twice or more", files)
	}
	out := &screen{}
	if err := runTail(context.Background(), env(fsys, l, out, false), []string{"-n", "7"}); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 6; i <= 12; i++ {
		fmt.Fprintf(&want, "Sun Nov 29 13:26:28 2026 Info: line %03d\n", i)
	}
	if diff := cmp.Diff(want.String(), out.String()); diff != "" {
		t.Errorf("tail -n 7 (-want +got):\n%s", diff)
	}
}

// TestTailFollows: at a terminal, tail prints the lines written after it started,
// through rotations, until its context ends (Ctrl-C), and then returns nil.
func TestTailFollows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fs    afero.Fs
		burst bool
	}{
		{"on disk", afero.NewBasePathFs(afero.NewOsFs(), t.TempDir()), true},
		{"in memory", afero.NewMemMapFs(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog(t, tc.fs, 400)
			lines(l, 1, 3)
			out := &screen{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- runTail(ctx, env(tc.fs, l, out, true), nil) }()
			out.waitFor(t, "Press Ctrl-C to stop.\n")
			if tc.burst {
				lines(l, 4, 20) // several rotations between two looks
			} else {
				// Without file identities, one rotation between two looks
				// (about nine lines fill a file).
				for i := 4; i <= 23; i += 5 {
					n := min(5, 24-i)
					lines(l, i, n)
					out.waitFor(t, fmt.Sprintf("line %03d\n", i+n-1))
				}
			}
			out.waitFor(t, "line 023\n")
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("tail = %v, want nil after Ctrl-C", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("tail did not stop when its context ended")
			}
			got := out.String()
			for i := 1; i <= 23; i++ {
				if n := strings.Count(got, fmt.Sprintf("line %03d\n", i)); n != 1 {
					t.Errorf("line %03d shown %d times, want once:\n%s", i, n, got)
				}
			}
		})
	}
}

// TestTailNotATerminal: without a terminal tail returns after the last lines.
func TestTailNotATerminal(t *testing.T) {
	fsys := afero.NewMemMapFs()
	l := newLog(t, fsys, 0)
	lines(l, 1, 2)
	out := &screen{}
	if err := runTail(context.Background(), env(fsys, l, out, false), []string{"mail_logs"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Ctrl-C") || strings.Count(out.String(), "\n") != 2 {
		t.Errorf("tail without a terminal printed %q", out.String())
	}
}

// TestGrepRotated: grep reads the rotated files, oldest first, then the log.
func TestGrepRotated(t *testing.T) {
	fsys := afero.NewMemMapFs()
	l := newLog(t, fsys, 200)
	lines(l, 1, 12)
	out := &screen{}
	if err := runGrep(context.Background(), env(fsys, l, out, false), []string{"-v", "line 0[0-9][13579]", "mail_logs"}); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for i := 2; i <= 12; i += 2 {
		fmt.Fprintf(&want, "Sun Nov 29 13:26:28 2026 Info: line %03d\n", i)
	}
	// The oldest rotated files are dropped past Keep: only what is left is searched.
	if !strings.HasSuffix(want.String(), out.String()) || !strings.Contains(out.String(), "line 012") {
		t.Errorf("grep -v (want a suffix of the even lines):\n%s", out.String())
	}
}

func TestParseGrep(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    string // ignoreCase invert regexp log
		wantErr bool
	}{
		{"plain", []string{"MID", "mail_logs"}, "false false MID mail_logs", false},
		{"both flags", []string{"-i", "-v", "mid", "mail_logs"}, "true true (?i)mid mail_logs", false},
		{"joined flags", []string{"-vi", "mid", "mail_logs"}, "true true (?i)mid mail_logs", false},
		{"a pattern starting with a dash after --", []string{"--", "-x", "mail_logs"}, "false false -x mail_logs", false},
		{"unknown flag", []string{"-x", "mid", "mail_logs"}, "", true},
		{"no log", []string{"mid"}, "", true},
		{"too many", []string{"a", "b", "c"}, "", true},
		{"bad expression", []string{"(", "mail_logs"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseGrep(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseGrep(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := fmt.Sprintf("%v %v %s %s", o.ignoreCase, o.invert, o.re, o.log); got != tt.want {
				t.Errorf("parseGrep(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestLoglevel: the level applies to the next line; bad levels change nothing.
func TestLoglevel(t *testing.T) {
	fsys := afero.NewMemMapFs()
	l := newLog(t, fsys, 0)
	out := &screen{}
	e := env(fsys, l, out, false)
	if err := runLoglevel(context.Background(), e, []string{"DEBUG"}); err != nil {
		t.Fatal(err)
	}
	l.Logf(mlog.Debug, "debug line")
	if err := runLoglevel(context.Background(), e, []string{"loud"}); err == nil {
		t.Error("loglevel loud: no error")
	}
	if got := l.Level(); got != mlog.Debug {
		t.Errorf("level after a bad one = %v, want Debug", got)
	}
	if err := runLoglevel(context.Background(), e, []string{"warning"}); err != nil {
		t.Fatal(err)
	}
	l.Logf(mlog.Info, "info line")
	data, _ := afero.ReadFile(fsys, mlog.DefaultPath)
	if !strings.Contains(string(data), "Debug: debug line") || strings.Contains(string(data), "info line") {
		t.Errorf("mail_logs:\n%s", data)
	}
	if err := runLoglevel(context.Background(), &shell.Env{Out: out}, nil); err == nil {
		t.Error("loglevel without a mail log: no error")
	}
}
