package store

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segcli/segcli/internal/atomicfile"
)

// childEnv makes the test binary a committing child (see TestMain).
const childEnv = "SEGCLI_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(commitForever(dir))
	}
	os.Exit(m.Run())
}

// commitForever commits revision after revision, each naming its own number in the
// hostname, until it is killed.
func commitForever(dir string) int {
	st := openDir(&testing.B{}, dir)
	ctx := context.Background()
	fmt.Println("ready")
	for {
		s, err := st.NewSession(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		base, _ := s.Committed()
		c := s.Edit()
		c.Hostname = fmt.Sprintf("r%d.test", base.Number+1)
		c.Destinations.Entries = append(c.Destinations.Entries, Destination{Domain: fmt.Sprintf("d%d.test", base.Number+1), TLS: "required"})
		s.Set(c)
		if _, err := s.Commit(ctx, c.Hostname, base.Number%2 == 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

// checkConsistent opens the store as a new process would and checks that the head
// and every saved revision are whole: each revision's hostname names its number.
func checkConsistent(t *testing.T, dir string) int {
	t.Helper()
	s := session(t, openDir(t, dir))
	r, c := s.Committed()
	if r.Number > 1 && c.Hostname != fmt.Sprintf("r%d.test", r.Number) {
		t.Fatalf("head is revision %d but holds hostname %q: a mix", r.Number, c.Hostname)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("head revision %d does not validate: %v", r.Number, err)
	}
	hist, err := s.History(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		text, err := s.st.backend.Load(context.Background(), h.Number)
		if err != nil {
			t.Fatalf("saved revision %d: %v", h.Number, err)
		}
		hc, err := Unmarshal(text)
		if err != nil {
			t.Fatalf("saved revision %d: %v", h.Number, err)
		}
		if h.Number > 1 && hc.Hostname != fmt.Sprintf("r%d.test", h.Number) {
			t.Fatalf("saved revision %d holds hostname %q", h.Number, hc.Hostname)
		}
	}
	return r.Number
}

// TestKillDuringCommit kills a committing child process at random moments, 200 times;
// after each kill the store must open at a whole revision.
func TestKillDuringCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("kills 200 processes")
	}
	dir := t.TempDir()
	openDir(t, dir) // factory defaults, before any child runs
	// Kill within a window of a few commits' length.
	probe := session(t, openDir(t, t.TempDir()))
	start := time.Now()
	for i := 0; i < 5; i++ {
		c := probe.Edit()
		c.Hostname = fmt.Sprintf("p%d.test", i)
		probe.Set(c)
		if _, err := probe.Commit(context.Background(), "probe", true); err != nil {
			t.Fatal(err)
		}
	}
	window := 3 * time.Since(start) / 5
	last, midCommit := 1, 0
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make([]byte, 6)
		if _, err := io.ReadFull(out, ready); err != nil {
			t.Fatalf("kill %d: child did not start: %v: %s", i, err, stderr.String())
		}
		time.Sleep(time.Duration(rng.Int64N(int64(window))))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: child ended by itself (%v): %s", i, err, stderr.String())
		}
		if interrupted(dir) {
			midCommit++
		}
		n := checkConsistent(t, dir)
		if n < last {
			t.Fatalf("kill %d: head went back from revision %d to %d", i, last, n)
		}
		last = n
	}
	if midCommit < 20 {
		t.Errorf("only %d of 200 kills interrupted a commit half-way: the test proves little", midCommit)
	}
	t.Logf("200 kills (window %v): %d interrupted a commit half-way; head at revision %d", window, midCommit, last)
}

// interrupted reports whether a commit was cut half-way: a temp file left, or a saved
// revision newer than the head.
func interrupted(dir string) bool {
	for _, pat := range []string{"config/.*", "config/history/.*"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pat+atomicfile.TmpMarker+"*")); len(m) > 0 {
			return true
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, runningFile))
	if err != nil {
		return true
	}
	r, _, err := splitRevision(data)
	if err != nil {
		return true
	}
	_, err = os.Stat(filepath.Join(dir, historyName(r.Number+1)))
	return err == nil
}
