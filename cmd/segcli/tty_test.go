package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ttySession runs segcli on a pseudo-terminal, as an operator would.
type ttySession struct {
	t   *testing.T
	pty *os.File
	cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

func startTTY(t *testing.T, args ...string) *ttySession {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1", "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	s := &ttySession{t: t, pty: f, cmd: cmd}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		f.Close()
	})
	return s
}

func (s *ttySession) screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until the output after position from holds want, and returns the
// position after it.
func (s *ttySession) waitFor(from int, want string) int {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := s.screen()
		if i := strings.Index(out[min(from, len(out)):], want); i >= 0 {
			return from + i + len(want)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %q; the terminal shows:\n%q", want, out[min(from, len(out)):])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *ttySession) send(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.pty, keys); err != nil {
		s.t.Fatal(err)
	}
}

// TestTerminal drives the line editor on a pseudo-terminal: tab completion of a
// command, Ctrl-C on a line and inside a dialog (nothing changes), the history file,
// and Ctrl-D at the prompt, which asks first when changes are not committed.
func TestTerminal(t *testing.T) {
	dir := t.TempDir()
	s := startTTY(t, "--data-dir", dir)
	pos := s.waitFor(0, "esa.test> ")

	s.send("showch\t")
	pos = s.waitFor(pos, "showchanges")
	s.send("\r")
	pos = s.waitFor(pos, "There are no uncommitted changes.")
	pos = s.waitFor(pos, "esa.test> ")

	s.send("sethostname other.test\r")
	pos = s.waitFor(pos, "esa.test> ")

	s.send("half typed\x03") // Ctrl-C abandons the line
	pos = s.waitFor(pos, "esa.test> ")

	s.send("commit\r")
	pos = s.waitFor(pos, "[]> ")
	s.send("a comment\x03") // Ctrl-C inside the dialog: back to the prompt, nothing committed
	pos = s.waitFor(pos, "esa.test> ")

	s.send("\x04") // Ctrl-D at the prompt: leave, asking first
	pos = s.waitFor(pos, "You have uncommitted changes. Are you sure you want to exit? [N]> ")
	s.send("y\r")

	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("segcli on a terminal: %v\n%s", err, s.screen())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("segcli did not leave after Ctrl-D and y:\n%s", s.screen())
	}
	if strings.Contains(s.screen(), "Unknown command") {
		t.Errorf("an abandoned line was run:\n%s", s.screen())
	}
	running, err := os.ReadFile(filepath.Join(dir, "config", "running.toml"))
	if err != nil || !strings.Contains(string(running), `hostname = "esa.test"`) {
		t.Errorf("the abandoned commit changed the configuration: %v\n%s", err, running)
	}
	hist, err := os.ReadFile(filepath.Join(dir, "history"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"showchanges\n", "sethostname other.test\n", "commit\n"} {
		if !strings.Contains(string(hist), want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	if strings.Contains(string(hist), "half typed") {
		t.Errorf("history kept an abandoned line:\n%s", hist)
	}
}
