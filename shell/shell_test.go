package shell

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/store"
)

func newTestShell(t *testing.T, lr LineReader, out io.Writer, cmds ...Command) *Shell {
	t.Helper()
	fsys := afero.NewMemMapFs()
	now := func() time.Time { return time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC) }
	st, err := store.Open(context.Background(), fsys, store.Options{Now: now, User: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{In: lr, Out: out, Err: out, Session: sess, Fs: fsys, Now: now}, cmds...)
}

// scripted answers each ReadLine from a list; an entry "^C" is Ctrl-C.
type scripted struct {
	lines []string
	out   io.Writer
}

func (s *scripted) ReadLine(prompt string, _ Completer) (string, error) {
	io.WriteString(s.out, prompt)
	if len(s.lines) == 0 {
		return "", io.EOF
	}
	l := s.lines[0]
	s.lines = s.lines[1:]
	if l == "^C" {
		io.WriteString(s.out, "^C\n")
		return "", ErrInterrupt
	}
	io.WriteString(s.out, l+"\n")
	return l, nil
}
func (s *scripted) ReadSecret(p string) (string, error) { return s.ReadLine(p, nil) }
func (s *scripted) AddHistory(string)                   {}
func (s *scripted) Close() error                        { return nil }

func TestCtrlC(t *testing.T) {
	var out bytes.Buffer
	ran := 0
	cmd := Command{Name: "ask", Usage: "ask", Summary: "Ask.", Run: func(ctx context.Context, e *Env, args []string) error {
		if _, err := e.P.YesNo("Sure?", false); err != nil {
			return err
		}
		ran++
		return nil
	}}
	lr := &scripted{lines: []string{"^C", "ask", "^C", "ask", "y"}, out: &out}
	sh := newTestShell(t, lr, &out, cmd)
	if code := sh.Run(context.Background()); code != 0 {
		t.Errorf("exit %d", code)
	}
	if ran != 1 {
		t.Errorf("the dialog completed %d times, want 1 (Ctrl-C abandons it and returns to the prompt)", ran)
	}
	want := "esa.test> ^C\nesa.test> ask\n\nSure? [N]> ^C\n\nesa.test> ask\n\nSure? [N]> y\nesa.test> "
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("screen (-want +got):\n%s", diff)
	}
}

func TestComplete(t *testing.T) {
	cmds := []Command{
		{Name: "destconfig", Usage: "destconfig", Summary: "d", Menu: []string{"NEW", "EDIT"}, Run: nil},
		{Name: "dig", Usage: "dig", Summary: "d", Complete: func(e *Env, before []string) []string { return []string{"TXT", "TLSA"} }},
	}
	sh := newTestShell(t, &scripted{out: io.Discard}, io.Discard, cmds...)
	term := &Terminal{complete: sh.complete}
	tests := []struct {
		line string
		want []string
	}{
		{"de", []string{"stconfig "}},
		{"d", []string{"estconfig ", "ig "}},
		{"destconfig ", []string{"NEW ", "EDIT "}},
		{"destconfig e", []string{"DIT "}},
		{"dig T", []string{"XT ", "LSA "}},
		{"help di", []string{"g "}},
		{"nosuch ", nil},
	}
	for _, tt := range tests {
		cands, _ := term.do([]rune(tt.line), len([]rune(tt.line)))
		var got []string
		for _, c := range cands {
			got = append(got, string(c))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("complete %q (-want +got):\n%s", tt.line, diff)
		}
	}
}

func TestHelpListsTheTable(t *testing.T) {
	var out bytes.Buffer
	cmd := Command{Name: "zeta", Usage: "zeta [X]", Summary: "Do zeta.", Description: "Long text.", Run: func(context.Context, *Env, []string) error { return nil }}
	sh := newTestShell(t, &scripted{lines: []string{"help", "help zeta", "help nope"}, out: &out}, &out, cmd)
	if code := sh.Run(context.Background()); code != 1 {
		t.Errorf("exit %d, want 1 (help nope failed)", code)
	}
	for _, want := range []string{"zeta  Do zeta.", "usage: zeta [X]\n\nDo zeta.\n\nLong text.", `help: no command "nope"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
