package transcripts

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fuzzSeeds are transcripts for both targets.
func fuzzSeeds() []string {
	return []string{
		"hostname: esa.test\n-- screen --\nesa.test> help\n",
		"clock: 2026-11-29T13:26:28Z\nsecret: x\nfixture: dns\nresolver: $DNS\n-- configuration/a.ini --\n[DEFAULT]\n-- screen --\nesa.test> ",
		"# a note\n\nuser: admin\ncommand: destconfig list\n-- screen --\nesa.test> sethostname\n\nEnter the new hostname.\n[esa.test]> bad_name\nNot a host name.\n\nEnter the new hostname.\n[esa.test]> mail.example.test\nesa.test> ",
		"bad header\n-- screen --\n",
		"clock: yesterday\n-- screen --\n",
		"-- screen --",
		"-- screen --\n-- screen --\na> b> c\n> \n",
	}
}

// FuzzParse: the transcript parser never panics; a rejected file gets a
// "transcripts: " error; a parsed transcript formats and parses back to the same
// value, and formatting that gives the same bytes again.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "transcripts: ") {
				t.Fatalf("Parse(%q) error %q: want \"transcripts: ...\"", data, err)
			}
			return
		}
		text := tr.Format()
		back, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(Format()): %v\n%s", err, text)
		}
		// An empty file's data reads back as empty, not nil: the same file.
		if diff := cmp.Diff(tr, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		if again := back.Format(); !bytes.Equal(text, again) {
			t.Fatalf("Format is not stable (-first +second):\n%s", cmp.Diff(string(text), string(again)))
		}
	})
}

// FuzzReader replays the screen of a parsed transcript through the replay's
// Reader with a session that prints exactly what the screen shows, taking the text
// up to the first "> " of a line as its prompt (the whole line at the end of a
// screen that ends at a prompt). Invariants: no panic; every answer
// is one line, the rest of the screen's line after the prompt; the input ends (EOF)
// only at a final prompt; and the session's screen is the transcript's, so Check
// passes. Then a session that asks the prompts of prompts, which need not be on
// the screen, gets one-line answers or EOF, and never more answers than there are
// lines on the screen plus maxMisses defaults in a row.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), "esa.test> \n[]> \nesa.test> ")
	}
	f.Fuzz(func(t *testing.T, data []byte, prompts string) {
		tr, err := Parse(data)
		if err != nil {
			return
		}
		want := tr.Screen
		out := &syncBuffer{}
		r := &Reader{want: want, got: out}
		for rest := want; rest != ""; {
			line, next, nl := strings.Cut(rest, "\n")
			rest = next
			k := strings.Index(line, "> ")
			if !nl && k >= 0 {
				// The screen ends at a prompt (Parse keeps no newline only
				// there): the whole line is the prompt.
				k = len(line) - 2
			}
			if k < 0 {
				out.WriteString(line)
				if nl {
					out.WriteString("\n")
				}
				continue
			}
			ans, err := r.ReadLine(line[:k+2], nil)
			if errors.Is(err, io.EOF) {
				if nl || k+2 != len(line) {
					t.Fatalf("EOF at prompt %q, which is not the end of the screen %q", line[:k+2], want)
				}
				break
			}
			if err != nil || ans != line[k+2:] {
				t.Fatalf("ReadLine(%q) = %q, %v; want %q", line[:k+2], ans, err, line[k+2:])
			}
		}
		if err := Check("t.txt", data, tr, out.String()); err != nil {
			t.Fatalf("an exact session does not replay: %v", err)
		}

		r = &Reader{want: want, got: &syncBuffer{}}
		answers, limit := 0, strings.Count(want, "\n")+1+maxMisses
		for p := range strings.SplitSeq(prompts, "\n") {
			ans, err := r.ReadLine(p, nil)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("ReadLine(%q): %v, want an answer or EOF", p, err)
				}
				continue
			}
			if answers++; strings.Contains(ans, "\n") || answers > limit {
				t.Fatalf("ReadLine(%q) = %q: answer %d of a screen of %d lines", p, ans, answers, limit-maxMisses)
			}
		}
	})
}
