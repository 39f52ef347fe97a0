package transcripts

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// Runner runs one session the way segcli does: commands and answers from in, all
// output (screen and errors) to out, with the transcript's clock, user, hostname and
// command line. It returns the exit status.
type Runner func(ctx context.Context, t *Transcript, in shell.LineReader, out io.Writer) int

// Result is the outcome of a replay.
type Result struct {
	// Got is the screen the session printed.
	Got string
	// Exit is the session's exit status.
	Exit int
}

// Vars are the values of $NAME variables (NAME without the $).
type Vars map[string]string

// Expand replaces each $NAME of s by its value.
func (v Vars) Expand(s string) string {
	for _, k := range v.names() {
		s = strings.ReplaceAll(s, "$"+k, v[k])
	}
	return s
}

// Scrub replaces each value in s by $NAME (longest values first).
func (v Vars) Scrub(s string) string {
	names := v.names()
	sort.Slice(names, func(i, j int) bool { return len(v[names[i]]) > len(v[names[j]]) })
	for _, k := range names {
		if v[k] != "" {
			s = strings.ReplaceAll(s, v[k], "$"+k)
		}
	}
	return s
}

// names returns the variable names, longest first so that $DNS6 expands before $DNS.
func (v Vars) names() []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// Replay copies the transcript's files into fsys (the data directory), runs the
// session with the answers found in the screen, and returns what it printed, with the
// values of vars scrubbed back to $NAME.
func Replay(ctx context.Context, t *Transcript, fsys afero.Fs, vars Vars, run Runner) (Result, error) {
	for _, f := range t.Files {
		if strings.Contains(f.Name, "..") || strings.HasPrefix(f.Name, "/") {
			return Result{}, fmt.Errorf("transcripts: file %q: must be a relative path inside the data directory", f.Name)
		}
		if err := fsys.MkdirAll(dirOf(f.Name), 0o700); err != nil {
			return Result{}, err
		}
		if err := afero.WriteFile(fsys, f.Name, f.Data, 0o600); err != nil {
			return Result{}, err
		}
	}
	out := &syncBuffer{}
	r := &Reader{want: t.Screen, got: out, secrets: t.Secrets, vars: vars}
	run1 := *t
	run1.Command, run1.Resolver = vars.Expand(t.Command), vars.Expand(t.Resolver)
	exit := run(ctx, &run1, r, out)
	return Result{Got: vars.Scrub(out.String()), Exit: exit}, nil
}

func dirOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return "."
}

// Check compares a replay's screen with the transcript's. The error names the file
// and line of the first difference and holds a (-want +got) line diff.
func Check(file string, data []byte, t *Transcript, got string) error {
	if got == t.Screen {
		return nil
	}
	w, g := strings.SplitAfter(t.Screen, "\n"), strings.SplitAfter(got, "\n")
	n := 0
	for n < len(w) && n < len(g) && w[n] == g[n] {
		n++
	}
	d := store.Diff(t.Screen, got, "want", "got")
	return fmt.Errorf("%s:%d: the session differs from the transcript (-want +got):\n%s", file, screenLine(data, n), d)
}

// syncBuffer is the session's screen: output and echoed answers in order.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) WriteString(p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Reader is the LineReader of a replay. While the session prints what the transcript
// shows, the answer to a prompt is the rest of the transcript's line after it; once
// they differ, it looks for the prompt further on in the transcript, and answers a
// prompt the transcript does not have with its default (a few in a row at most), so
// that a replay with --update survives changed texts and new questions. The end of
// the transcript at a prompt is the end of input.
type Reader struct {
	want    string
	got     *syncBuffer
	secrets []string
	vars    Vars
	synced  int // want[:synced] == got[:synced]
	inSync  bool
	wpos    int // position in want after the last answer
	misses  int // prompts in a row not found in want
	started bool
}

// maxMisses bounds the new prompts answered with their default in a row.
const maxMisses = 3

// ReadLine echoes prompt and the answer into the screen, like a plain reader.
func (r *Reader) ReadLine(prompt string, _ shell.Completer) (string, error) {
	r.got.WriteString(prompt)
	line, err := r.answer(prompt)
	if err != nil {
		return "", err
	}
	line = r.vars.Expand(line)
	r.got.WriteString(line + "\n")
	return line, nil
}

// ReadSecret answers with the next "secret:" line of the transcript's header, since
// secrets are not on the screen: like a plain reader it shows a prompt followed by a
// newline, and nothing at all for a line read without a prompt (a pasted key).
func (r *Reader) ReadSecret(prompt string) (string, error) {
	if prompt != "" {
		r.got.WriteString(prompt)
		if _, err := r.answer(prompt); err != nil {
			return "", err
		}
		r.got.WriteString("\n")
	}
	if len(r.secrets) == 0 {
		return "", io.EOF // the input ends: no more secrets
	}
	s := r.secrets[0]
	r.secrets = r.secrets[1:]
	return s, nil
}

func (r *Reader) answer(prompt string) (string, error) {
	got := r.vars.Scrub(r.got.String())
	p := len(got)
	if !r.started {
		r.started, r.inSync = true, true
	}
	if r.inSync {
		if p <= len(r.want) && got[r.synced:p] == r.want[r.synced:p] {
			r.synced = p
			rest := r.want[p:]
			i := strings.IndexByte(rest, '\n')
			if i < 0 {
				r.wpos = len(r.want)
				if rest == "" {
					return "", io.EOF
				}
				return rest, nil // a last answer without newline
			}
			r.wpos = p + i + 1
			r.synced = r.wpos
			return rest[:i], nil
		}
		r.inSync = false
	}
	// Out of step: find the prompt further on.
	rest := r.want[r.wpos:]
	if prompt == "" {
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			return "", io.EOF
		}
		r.wpos += i + 1
		return rest[:i], nil
	}
	j := strings.Index(rest, prompt)
	if j < 0 {
		// A prompt the transcript does not have (a new question): take its default,
		// a few times in a row at most, so that an update keeps the rest.
		if rest != "" && r.misses < maxMisses {
			r.misses++
			return "", nil
		}
		return "", io.EOF
	}
	r.misses = 0
	after := rest[j+len(prompt):]
	i := strings.IndexByte(after, '\n')
	if i < 0 {
		r.wpos = len(r.want)
		if after == "" {
			return "", io.EOF
		}
		return after, nil
	}
	r.wpos += j + len(prompt) + i + 1
	return after[:i], nil
}

// AddHistory does nothing.
func (r *Reader) AddHistory(string) {}

// Close does nothing.
func (r *Reader) Close() error { return nil }
