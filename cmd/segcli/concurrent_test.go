package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bounds of TestConcurrentCommits.
const (
	concurrentProcs   = 4
	commitsPerProcess = 250
)

// TestConcurrentCommits: 4 segcli processes share one data directory and make 250
// commit attempts each, at once, as piped sessions: each attempt clears the
// candidate (taking the newest revision), adds a destination entry of its own,
// commits, and saves the committed configuration (saveconfig, whose header names
// the session's committed revision). Bound: every one of the 1,000 attempts is
// either accepted ("Changes committed", a new revision) or refused with the store's
// conflict message; the accepted revisions are distinct and consecutive, the head
// is the first revision plus the number accepted, every accepted entry is in the
// final configuration and no refused one is; no temporary file is left.
func TestConcurrentCommits(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := segcli(t, "", "--data-dir", dir, "-c", "help"); code != 0 {
		t.Fatal(stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	outs := make([]*lockedBuffer, concurrentProcs)
	errs := make([]error, concurrentProcs)
	var wg sync.WaitGroup
	start := time.Now()
	for p := range concurrentProcs {
		var script strings.Builder
		for i := range commitsPerProcess {
			fmt.Fprintf(&script, "clear\ny\ndestconfig new p%d-%d.test\ncommit c%d-%d\nsaveconfig r%d-%d.toml\n", p, i, p, i, p, i)
		}
		cmd := exec.CommandContext(ctx, os.Args[0], "--data-dir", dir)
		cmd.Env = append(os.Environ(), mainEnv+"=1", "SEGCLI_USER=p"+strconv.Itoa(p))
		cmd.Stdin = strings.NewReader(script.String())
		outs[p] = new(lockedBuffer)
		// One pipe for both streams, so that an error stays next to its command.
		cmd.Stdout, cmd.Stderr = outs[p], outs[p]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { errs[p] = cmd.Wait() })
	}
	wg.Wait()
	wall := time.Since(start)

	refusal := regexp.MustCompile(`^commit refused: revision (\d+) was committed by p[0-3] at .+ after this session started\.\n` +
		`Your changes are kept: "showchanges" lists them; "clear" discards them and loads the newest revision, then make them again\n$`)
	header := regexp.MustCompile(`^# segcli configuration, revision (\d+), committed `)
	accepted := map[int]string{} // revision -> entry
	var refused []string
	for p := range concurrentProcs {
		out := outs[p].String()
		var ee *exec.ExitError
		if errs[p] != nil && !(errorAs(errs[p], &ee) && ee.ExitCode() == 1) {
			t.Fatalf("process %d: %v\n%s", p, errs[p], tail(out))
		}
		for i := range commitsPerProcess {
			entry := fmt.Sprintf("p%d-%d.test", p, i)
			cmdLine := fmt.Sprintf("esa.test> commit c%d-%d\n", p, i)
			a := strings.Index(out, cmdLine)
			b := strings.Index(out, fmt.Sprintf("esa.test> saveconfig r%d-%d.toml\n", p, i))
			if a < 0 || b < a {
				t.Fatalf("process %d: attempt %d not found in the output:\n%s", p, i, tail(out))
			}
			said := out[a+len(cmdLine) : b]
			saved, err := os.ReadFile(filepath.Join(dir, "configuration", fmt.Sprintf("r%d-%d.toml", p, i)))
			if err != nil {
				t.Fatalf("process %d attempt %d: %v", p, i, err)
			}
			m := header.FindSubmatch(saved)
			if m == nil {
				t.Fatalf("process %d attempt %d: saveconfig header: %q", p, i, saved[:min(len(saved), 80)])
			}
			rev, _ := strconv.Atoi(string(m[1]))
			switch {
			case strings.HasPrefix(said, "\nChanges committed: ") && strings.Count(said, "\n") == 2:
				if other, dup := accepted[rev]; dup {
					t.Errorf("revision %d accepted twice: %s and %s", rev, other, entry)
				}
				accepted[rev] = entry
				if !strings.Contains(string(saved), `domain = "`+entry+`"`) {
					t.Errorf("revision %d (%s) does not hold its entry", rev, entry)
				}
			case refusal.MatchString(said):
				refused = append(refused, entry)
			default:
				t.Fatalf("process %d attempt %d: neither accepted nor refused with the store's message:\n%q", p, i, said)
			}
		}
	}

	// The head is the first revision plus the number accepted, and the accepted
	// revisions are exactly 2..head.
	data, err := os.ReadFile(filepath.Join(dir, "config", "running.toml"))
	if err != nil {
		t.Fatal(err)
	}
	final := string(data)
	head := regexp.MustCompile(`\[revision\]\n\s+number = (\d+)`).FindStringSubmatch(final)
	if head == nil {
		t.Fatalf("no revision in running.toml")
	}
	if n, _ := strconv.Atoi(head[1]); n != 1+len(accepted) {
		t.Errorf("head revision %d, want 1 + %d accepted", n, len(accepted))
	}
	for r := 2; r <= 1+len(accepted); r++ {
		if _, ok := accepted[r]; !ok {
			t.Errorf("revision %d was not reported to any session", r)
		}
	}
	// None lost, none smuggled in.
	for rev, entry := range accepted {
		if !strings.Contains(final, `domain = "`+entry+`"`) {
			t.Errorf("accepted change %s (revision %d) is lost from the final configuration", entry, rev)
		}
	}
	for _, entry := range refused {
		if strings.Contains(final, `domain = "`+entry+`"`) {
			t.Errorf("refused change %s is in the final configuration", entry)
		}
	}
	if got := strings.Count(final, "[[destinations.entry]]"); got != len(accepted) {
		t.Errorf("%d destination entries in the final configuration, want %d", got, len(accepted))
	}
	for _, pat := range []string{"config/.*tmp-*", "config/history/.*tmp-*", "configuration/.*"} {
		if m, _ := filepath.Glob(filepath.Join(dir, pat)); len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}
	}
	if len(accepted)+len(refused) != concurrentProcs*commitsPerProcess {
		t.Errorf("%d accepted + %d refused, want %d attempts", len(accepted), len(refused), concurrentProcs*commitsPerProcess)
	}
	if len(accepted) == 0 || len(refused) == 0 {
		t.Errorf("%d accepted, %d refused: the test shows both outcomes only when both occur", len(accepted), len(refused))
	}
	t.Logf("%d commit attempts in %d processes: %d accepted, %d refused (conflict), wall time %v",
		concurrentProcs*commitsPerProcess, concurrentProcs, len(accepted), len(refused), wall.Round(time.Millisecond))
}

// errorAs is errors.As for an *exec.ExitError.
func errorAs(err error, target **exec.ExitError) bool {
	ee, ok := err.(*exec.ExitError)
	if ok {
		*target = ee
	}
	return ok
}

// tail returns the end of a long output, for failure messages.
func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}
