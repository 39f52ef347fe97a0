//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// sc is a running scenario: its failures name it and say what it is about.
type sc struct {
	*testing.T
	id    string // "dane/ee-3-1-1"
	about string
}

// scenario runs fn as the subtest name of t. A panic in fn fails the
// scenario instead of killing the test binary (which would skip the servers'
// stop in TestMain).
func scenario(t *testing.T, name, about string, fn func(s *sc)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		s := &sc{T: t, id: strings.ToLower(strings.TrimPrefix(t.Name(), "Test")), about: about}
		defer func() {
			if r := recover(); r != nil {
				s.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		fn(s)
	})
}

func (s *sc) prefix() string { return fmt.Sprintf("scenario %s (%s): ", s.id, s.about) }

// Errorf fails the scenario, naming it.
func (s *sc) Errorf(format string, args ...any) {
	s.T.Helper()
	s.T.Errorf(s.prefix()+format, args...)
}

// Fatalf fails the scenario, naming it, and stops it.
func (s *sc) Fatalf(format string, args ...any) {
	s.T.Helper()
	s.T.Fatalf(s.prefix()+format, args...)
}

// result is what a program printed and its exit status.
type result struct {
	cmd            string
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit status %d\n--- stdout\n%s--- stderr\n%s", r.cmd, r.code, r.stdout, r.stderr)
}

// runProg runs a program with stdin, at most 60 s, and returns its output and
// exit status; a failure to run it at all fails the scenario.
func runProg(s *sc, stdin string, argv ...string) result {
	s.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = fx.work
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{cmd: strings.Join(argv, " "), stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		r.code = ee.ExitCode()
	default:
		s.Fatalf("%s: %v (after %v)\n%s", r.cmd, err, 60*time.Second, r)
	}
	return r
}

// segcli runs segcli -c command on a new data directory, with the fixture's
// resolver and CA, and stdin as the answers.
func segcli(s *sc, stdin, command string) result {
	s.Helper()
	return segcliAt(s, dataDir(s), stdin, command)
}

// dataDir makes a new data directory for the scenario.
func dataDir(s *sc) string {
	s.Helper()
	base := filepath.Join(fx.work, "segcli")
	os.MkdirAll(base, 0o755)
	dir, err := os.MkdirTemp(base, strings.ReplaceAll(s.id, "/", "_")+".")
	if err != nil {
		s.Fatalf("%v", err)
	}
	return dir
}

// segcliAt runs segcli -c command on the data directory dir.
func segcliAt(s *sc, dir, stdin, command string) result {
	s.Helper()
	return runProg(s, stdin, fx.bin, "--data-dir", dir, "--resolver", unboundAddr+":53", "--ca-file", fx.pki.caFile, "-c", command)
}

// segcliJSON runs a --json command on a new data directory and decodes its output
// into v: stdout must hold exactly one JSON object (DESIGN.md).
func segcliJSON(s *sc, command string, v any) result {
	s.Helper()
	return segcliJSONAt(s, dataDir(s), command, v)
}

// segcliJSONAt is segcliJSON on the data directory dir.
func segcliJSONAt(s *sc, dir, command string, v any) result {
	s.Helper()
	r := segcliAt(s, dir, "", command)
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(v); err != nil {
		s.Fatalf("segcli -c %q: stdout is not one JSON object: %v\n%s", command, err, r)
	}
	if dec.More() {
		s.Fatalf("segcli -c %q: more than one JSON object on stdout\n%s", command, r)
	}
	return r
}

// logMark is a position in a server's log: what was written after it belongs
// to the scenario that took the mark (scenarios run one at a time).
type logMark struct {
	file string
	off  int64
}

func mark(file string) logMark {
	fi, err := os.Stat(file)
	if err != nil {
		return logMark{file: file}
	}
	return logMark{file: file, off: fi.Size()}
}

// since returns what the log got after the mark.
func (m logMark) since() string {
	b, err := os.ReadFile(m.file)
	if err != nil || int64(len(b)) < m.off {
		return ""
	}
	return string(b[m.off:])
}

// wait returns the log after the mark once every pattern has matched it (the
// servers write their logs a moment after the client is done), or after
// within, with the patterns that did not match.
func (m logMark) wait(within time.Duration, patterns ...string) (string, []string) {
	deadline := time.Now().Add(within)
	for {
		got := m.since()
		var missing []string
		for _, p := range patterns {
			if !regexp.MustCompile(p).MatchString(got) {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			return got, missing
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until the log has stopped growing for a moment: used before
// asserting that something did NOT happen.
func (m logMark) settle() string {
	last := -1
	for i := 0; i < 40; i++ {
		got := m.since()
		if len(got) == last {
			return got
		}
		last = len(got)
		time.Sleep(150 * time.Millisecond)
	}
	return m.since()
}
