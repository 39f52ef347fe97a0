package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mainEnv makes the test binary behave as segcli (for tests that need processes).
const mainEnv = "SEGCLI_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// segcli runs run() in-process with stdin and returns stdout, stderr and the status.
func segcli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined: -nope"},
		{"stray argument", []string{"commit"}, 2, `unexpected argument "commit"`},
		{"update without replay", []string{"--update"}, 2, "--update needs --replay FILE"},
		{"bad hostname", []string{"--hostname", "bad_name", "-c", "help"}, 2, "--hostname"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := segcli(t, "", append([]string{"--data-dir", t.TempDir()}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) || !strings.Contains(stderr, "usage: segcli") {
				t.Errorf("segcli %v = %d, stderr %q; want %d with %q and the usage", tt.args, code, stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out, _, code := segcli(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "segcli ") {
		t.Errorf("--version = %d %q", code, out)
	}
}

func TestDataDirFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SEGCLI_DATA_DIR", filepath.Join(dir, "env"))
	if _, stderr, code := segcli(t, "", "-c", "help"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "env", "config", "running.toml")); err != nil {
		t.Errorf("SEGCLI_DATA_DIR was not used: %v", err)
	}
	t.Setenv("SEGCLI_DATA_DIR", "")
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "xdg"))
	if _, stderr, code := segcli(t, "", "-c", "help"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "xdg", "segcli", "config", "running.toml")); err != nil {
		t.Errorf("XDG_DATA_HOME was not used: %v", err)
	}
}

func TestBatch(t *testing.T) {
	dir := t.TempDir()
	out, stderr, code := segcli(t, "", "--data-dir", dir, "-c", `sethostname mail.test; commit "rename the gateway"`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(out, "esa.test> ") || !strings.Contains(out, "Changes committed: ") {
		t.Errorf("batch output %q: want no prompt and the commit line", out)
	}
	out, _, _ = segcli(t, "", "--data-dir", dir, "-c", "showchanges")
	if !strings.Contains(out, "There are no uncommitted changes.") {
		t.Errorf("after the batch commit: %q", out)
	}
	// A failing command makes the status 1 and stops the rest of the line.
	out, stderr, code = segcli(t, "", "--data-dir", dir, "-c", "nosuch; sethostname x.test")
	if code != 1 || !strings.Contains(stderr, "Unknown command or missing feature key") {
		t.Errorf("unknown command: exit %d stderr %q", code, stderr)
	}
	// Dialog answers come from stdin under -c; EOF abandons the dialog.
	out, _, code = segcli(t, "", "--data-dir", dir, "-c", "sethostname")
	if code != 0 || !strings.HasSuffix(out, "[mail.test]> ") {
		t.Errorf("dialog at EOF: exit %d, output %q", code, out)
	}
}

func TestPipedSessionReadsLikeTheScreen(t *testing.T) {
	out, _, code := segcli(t, "sethostname\nbad_name\nmail.test\nshowchanges\n", "--data-dir", t.TempDir())
	want := "esa.test> sethostname\n\nEnter the new hostname.\n[esa.test]> bad_name\n" +
		"Invalid hostname: \"bad_name\": use letters, digits and inner hyphens only.\n\n" +
		"Enter the new hostname.\n[esa.test]> mail.test\nesa.test> showchanges\n"
	if code != 0 || !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "esa.test> ") {
		t.Errorf("piped session (exit %d):\n%s\nwant prefix:\n%s", code, out, want)
	}
}

// TestTwoProcesses: two segcli processes take a candidate from one data directory;
// the first commits; the second's commit is refused with a clear message and its
// changes are kept.
func TestTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := segcli(t, "", "--data-dir", dir, "-c", "help"); code != 0 {
		t.Fatal(stderr)
	}
	a := startProcess(t, dir)
	b := startProcess(t, dir)
	a.send(t, "sethostname first.test")
	b.send(t, "sethostname second.test")
	// Both sessions have taken their candidate and edited it before the first commit.
	a.waitFor(t, "esa.test> sethostname first.test\nesa.test> ")
	b.waitFor(t, "esa.test> sethostname second.test\nesa.test> ")
	a.send(t, `commit "first"`)
	a.waitFor(t, "Changes committed: ")
	b.send(t, `commit "second"`)
	b.send(t, "showchanges")
	b.waitFor(t, "+hostname = \"second.test\"")
	a.send(t, "quit")
	b.send(t, "quit")
	b.send(t, "y")
	outA, codeA := a.wait(t)
	outB, codeB := b.wait(t)
	if codeA != 0 {
		t.Errorf("first process: exit %d\n%s", codeA, outA)
	}
	if codeB != 1 || !strings.Contains(outB, "commit refused: revision 2 was committed by") ||
		!strings.Contains(outB, "Your changes are kept") {
		t.Errorf("second process: exit %d, want 1 and the refusal:\n%s", codeB, outB)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config", "running.toml"))
	if err != nil || !strings.Contains(string(data), `hostname = "first.test"`) {
		t.Errorf("committed configuration: %v\n%s", err, data)
	}
}

type process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *lockedBuffer
}

func startProcess(t *testing.T, dir string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--data-dir", dir)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stdin: stdin, out: new(lockedBuffer)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return p
}

func (p *process) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

func (p *process) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q; output so far:\n%s", s, p.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *process) wait(t *testing.T) (string, int) {
	t.Helper()
	p.stdin.Close()
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return p.out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return p.out.String(), 0
}

// TestReplayAndUpdate records a session with --record, replays it, breaks it, and
// repairs it with --update.
func TestRecordReplayUpdate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "session.txt")
	_, stderr, code := segcli(t, "sethostname mail.test\nshowchanges\ncommit\nrename\n\n", "--data-dir", filepath.Join(dir, "a"), "--record", file)
	if code != 0 {
		t.Fatalf("record: exit %d %s", code, stderr)
	}
	out, stderr, code := segcli(t, "", "--data-dir", filepath.Join(dir, "b"), "--replay", file)
	if code != 0 || !strings.Contains(out, "replay matches") {
		t.Fatalf("replay of a fresh recording: exit %d\n%s%s", code, out, stderr)
	}
	data, _ := os.ReadFile(file)
	broken := strings.Replace(string(data), "Changes committed:", "Changes comitted:", 1)
	os.WriteFile(file, []byte(broken), 0o644)
	_, stderr, code = segcli(t, "", "--data-dir", filepath.Join(dir, "c"), "--replay", file)
	if code != 1 || !strings.Contains(stderr, "session.txt:") || !strings.Contains(stderr, "-Changes comitted:") ||
		!strings.Contains(stderr, "+Changes committed:") {
		t.Fatalf("replay of a changed transcript: exit %d, want 1 with file:line and a (-want +got) diff:\n%s", code, stderr)
	}
	if _, _, code = segcli(t, "", "--data-dir", filepath.Join(dir, "d"), "--replay", file, "--update"); code != 0 {
		t.Fatalf("--update: exit %d", code)
	}
	if got, _ := os.ReadFile(file); string(got) != string(data) {
		t.Errorf("--update did not restore the transcript:\n%s", got)
	}
	// Configuration as code: the replay left its configuration in the data directory.
	cfg, _ := os.ReadFile(filepath.Join(dir, "d", "config", "running.toml"))
	if !strings.Contains(string(cfg), `hostname = "mail.test"`) {
		t.Errorf("replayed configuration not committed:\n%s", cfg)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestEOFInDialogChangesNothing: input that ends inside a dialog abandons it; nothing
// is committed, and the exit status is still 0 (no command failed).
func TestEOFInDialogChangesNothing(t *testing.T) {
	dir := t.TempDir()
	before := func() string {
		data, err := os.ReadFile(filepath.Join(dir, "config", "running.toml"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	segcli(t, "", "--data-dir", dir, "-c", "help")
	want := before()
	for _, in := range []string{
		"sethostname changed.test\ncommit\n",
		"sethostname changed.test\ncommit\na comment\n",
		"sethostname changed.test\nquit\n",
		"sethostname\n",
	} {
		if _, stderr, code := segcli(t, in, "--data-dir", dir); code != 0 {
			t.Errorf("input %q: exit %d %s", in, code, stderr)
		}
		if got := before(); got != want {
			t.Fatalf("input %q ended in a dialog and changed the configuration", in)
		}
	}
}
