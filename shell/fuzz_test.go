package shell

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSplitLine: the command-line splitter never panics, and quoting the words of a
// command gives back the same words.
func FuzzSplitLine(f *testing.F) {
	for _, s := range []string{"", "help", `commit "a b"; clear`, `a "b\"c" d\`, `"`, ";;", "dig -t TXT example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmds, err := splitLine(line)
		if err != nil {
			return
		}
		for _, words := range cmds {
			again, err := splitLine(quote(words))
			if err != nil || len(again) != 1 {
				t.Fatalf("splitLine(quote(%q)) = %q, %v", words, again, err)
			}
			if diff := cmp.Diff(words, again[0]); diff != "" {
				t.Fatalf("round trip (-want +got):\n%s", diff)
			}
		}
	})
}

// FuzzDialog feeds a stream of arbitrary answers to every primitive in turn: no panic,
// and every primitive ends, with an answer or with ErrAbort at the end of the input.
func FuzzDialog(f *testing.F) {
	f.Add("y\n3\n\nnew\n.\n")
	f.Add("maybe\n-1\n99999999999999999999\n\x00\n")
	f.Add(strings.Repeat("x", 70000))
	f.Fuzz(func(t *testing.T, input string) {
		var out bytes.Buffer
		p := NewPrompter(NewPlainReader(strings.NewReader(input), &out), &out)
		steps := []func() error{
			func() error { _, err := p.YesNo("Q?", false); return err },
			func() error { _, err := p.Int("Q", 5, 1, 10); return err },
			func() error { _, err := p.Choose("Q", []string{"a", "b"}, 1); return err },
			func() error { _, err := p.Menu([]MenuItem{{"NEW", "n"}, {"EDIT", "e"}}); return err },
			func() error { _, err := p.Text("Q", "", nil); return err },
			func() error { _, err := p.Paste("Q"); return err },
			func() error { _, err := p.PasteSecret("Q"); return err },
		}
		for _, step := range steps {
			if err := step(); err != nil && !errors.Is(err, ErrAbort) && !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}
