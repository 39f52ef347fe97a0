// Package transcripts records shell sessions as text files that read like the screen,
// and replays them: the answers found after each prompt are fed back to the shell and
// everything it prints is compared with the file.
//
// A transcript is a txtar archive. Its comment holds "key: value" lines (hostname, the
// clock's reading, the user, optional -c command line, pass phrases for secret
// prompts, the DNS server, the fixtures a test harness starts); the file "screen" holds the session as it was seen (a screen whose last
// line is a prompt ends there: the input ended at it); any other file is
// copied into the data directory before the session starts (fixtures such as files to
// import).
//
// Variables: values that cannot be injected (the address of a fixture server on an
// ephemeral port) appear as $NAME in the transcript. A replay expands them in the
// header and in the answers it feeds, and writes $NAME back in place of each value
// in what the session printed.
package transcripts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/tools/txtar"
)

// ScreenFile is the archive member that holds the screen.
const ScreenFile = "screen"

// Transcript is one recorded session.
type Transcript struct {
	// Hostname of the data directory's factory defaults (default esa.test).
	Hostname string
	// Clock is the time the session's clock shows (it does not move).
	Clock time.Time
	// User is recorded with commits.
	User string
	// Command, if set, runs as -c does instead of reading commands at the prompt.
	Command string
	// Secrets answer the pass-phrase prompts, in order (they are not on the screen).
	Secrets []string
	// Resolver is the DNS server of the session (--resolver), e.g. "$DNS".
	Resolver string
	// Fixtures name the servers a test harness starts before the replay (each
	// provides variables such as $DNS, see Vars).
	Fixtures []string
	// Screen is what the session printed and read.
	Screen string
	// Files are copied into the data directory first.
	Files []txtar.File
	// Notes are comment lines (starting with #) kept as they are.
	Notes []string
}

// DefaultClock is the clock of a transcript that names none.
var defaultClock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// Parse reads a transcript.
func Parse(data []byte) (*Transcript, error) {
	a := txtar.Parse(data)
	t := &Transcript{Hostname: "esa.test", Clock: defaultClock, User: "admin"}
	sc := bufio.NewScanner(bytes.NewReader(a.Comment))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			t.Notes = append(t.Notes, sc.Text())
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("transcripts: header line %d: want \"key: value\", got %q", n, line)
		}
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "hostname":
			t.Hostname = val
		case "clock":
			c, err := time.Parse(time.RFC3339, val)
			if err != nil {
				return nil, fmt.Errorf("transcripts: header line %d: clock: %w", n, err)
			}
			t.Clock = c
		case "user":
			t.User = val
		case "command":
			t.Command = val
		case "secret":
			t.Secrets = append(t.Secrets, val)
		case "resolver":
			t.Resolver = val
		case "fixture":
			t.Fixtures = append(t.Fixtures, val)
		default:
			return nil, fmt.Errorf("transcripts: header line %d: unknown key %q (hostname, clock, user, command, secret, resolver, fixture)", n, key)
		}
	}
	found := false
	for _, f := range a.Files {
		if f.Name == ScreenFile {
			t.Screen, found = trimFinalPrompt(string(f.Data)), true
			continue
		}
		t.Files = append(t.Files, f)
	}
	if !found {
		return nil, errors.New("transcripts: no \"-- screen --\" section")
	}
	return t, nil
}

// Format renders the transcript; Parse(Format()) gives it back.
func (t *Transcript) Format() []byte {
	var c bytes.Buffer
	for _, n := range t.Notes {
		fmt.Fprintln(&c, n)
	}
	fmt.Fprintf(&c, "hostname: %s\nclock: %s\nuser: %s\n", t.Hostname, t.Clock.Format(time.RFC3339), t.User)
	if t.Command != "" {
		fmt.Fprintf(&c, "command: %s\n", t.Command)
	}
	for _, s := range t.Secrets {
		fmt.Fprintf(&c, "secret: %s\n", s)
	}
	if t.Resolver != "" {
		fmt.Fprintf(&c, "resolver: %s\n", t.Resolver)
	}
	for _, f := range t.Fixtures {
		fmt.Fprintf(&c, "fixture: %s\n", f)
	}
	a := &txtar.Archive{Comment: c.Bytes()}
	a.Files = append(a.Files, t.Files...)
	a.Files = append(a.Files, txtar.File{Name: ScreenFile, Data: []byte(t.Screen)})
	return txtar.Format(a)
}

// trimFinalPrompt undoes the newline txtar adds after a screen that ends at a prompt:
// a last line ending in "> " is where the input ended (an empty answer there would
// have been followed by more output).
func trimFinalPrompt(s string) string {
	if strings.HasSuffix(s, "> \n") {
		return strings.TrimSuffix(s, "\n")
	}
	return s
}

// screenLine returns the 1-based line of the transcript file where the screen's line
// n (0-based) is.
func screenLine(file []byte, n int) int {
	lines := bytes.Split(file, []byte("\n"))
	for i, l := range lines {
		if string(l) == "-- "+ScreenFile+" --" {
			return i + 2 + n
		}
	}
	return n + 1
}
