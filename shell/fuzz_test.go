package shell

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/store"
)

// FuzzSplitLine: the command-line splitter never panics; it fails only on an
// unterminated quote; it gives no empty command; and quoting the words of the
// commands, joined with "; ", gives back the same commands.
func FuzzSplitLine(f *testing.F) {
	for _, s := range []string{"", "help", `commit "a b"; clear`, `a "b\"c" d\`, `"`, ";;", "dig -t TXT example.com", `x "" "\\" ";" y;z`, "\ta\t;\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmds, err := splitLine(line)
		if err != nil {
			if !errors.Is(err, errQuote) || !strings.Contains(line, `"`) {
				t.Fatalf("splitLine(%q) error %v", line, err)
			}
			return
		}
		parts := make([]string, len(cmds))
		for i, words := range cmds {
			if len(words) == 0 {
				t.Fatalf("splitLine(%q) = %q: an empty command", line, cmds)
			}
			parts[i] = quote(words)
		}
		again, err := splitLine(strings.Join(parts, "; "))
		if err != nil {
			t.Fatalf("splitLine(%q) of the quoted commands: %v", strings.Join(parts, "; "), err)
		}
		if diff := cmp.Diff(cmds, again); diff != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", line, diff)
		}
	})
}

// FuzzDialog feeds a stream of arbitrary answers to every primitive in turn.
// Invariants: no panic; every primitive ends, with an answer or with ErrAbort at
// the end of the input (or the error of an overlong line), and once the input has
// ended every later primitive aborts too; each answer keeps its primitive's contract
// (Int within its range, Choose among the options, Menu one of the names or "",
// Text trimmed and accepted by its validator, Paste whole lines without the final
// ".", Domain a stored domain name or "").
func FuzzDialog(f *testing.F) {
	f.Add("y\n3\n\nnew\n.\n")
	f.Add("maybe\n-1\n99999999999999999999\n\x00\n")
	f.Add(strings.Repeat("x", 70000))
	f.Add("YES\n1,0\n2\nEdit\n  keep me  \nline 1\n .\nkey\n.\nsecret\nexample.com..\nBücher.Example.\n")
	f.Add("no\n\n\n\n\nbad\nok\n.\n.\n\n")
	f.Fuzz(func(t *testing.T, input string) {
		var out bytes.Buffer
		p := NewPrompter(NewPlainReader(strings.NewReader(input), &out), &out)
		check := func(what string, ok bool, got any) {
			t.Helper()
			if !ok {
				t.Fatalf("%s = %#v breaks its contract (input %q)", what, got, input)
			}
		}
		steps := []func() error{
			func() error { _, err := p.YesNo("Q?", false); return err },
			func() error {
				n, err := p.Int("Q", 5, 1, 10)
				check("Int", err != nil || 1 <= n && n <= 10, n)
				return err
			},
			func() error {
				n, err := p.Choose("Q", []string{"a", "b"}, 1)
				check("Choose", err != nil || n == 1 || n == 2, n)
				return err
			},
			func() error {
				s, err := p.Menu([]MenuItem{{"NEW", "n"}, {"EDIT", "e"}})
				check("Menu", err != nil || slices.Contains([]string{"", "NEW", "EDIT"}, s), s)
				return err
			},
			func() error {
				s, err := p.Text("Q", "def", func(s string) error {
					if s == "bad" {
						return errors.New("not bad")
					}
					return nil
				})
				check("Text", err != nil || s != "bad" && s == strings.TrimSpace(s), s)
				return err
			},
			func() error {
				s, err := p.Paste("Q")
				check("Paste", err != nil || s == "" || strings.HasSuffix(s, "\n") && !slices.Contains(strings.Split(s, "\n"), "."), s)
				return err
			},
			func() error { _, err := p.PasteSecret("Q"); return err },
			func() error { _, err := p.Secret("Q"); return err },
			func() error {
				s, err := p.Domain("Q", func(string) error { return nil })
				if err == nil && s != "" {
					n, nerr := store.NormalizeDomain(s)
					check("Domain", nerr == nil && n == s, s)
				}
				return err
			},
		}
		ended := false
		for i, step := range steps {
			err := step()
			switch {
			case err == nil:
				if ended {
					t.Fatalf("step %d answered after the input ended (input %q)", i, input)
				}
			case errors.Is(err, ErrAbort):
				ended = true
			case !strings.Contains(err.Error(), "longer than"):
				t.Fatalf("step %d: unexpected error %v", i, err)
			}
		}
	})
}

// TestDomainFinalDots: Domain refuses a name with two final dots (found by
// FuzzDialogs: NormalizeDomain once returned it with one): the stored form has none (RFC 1035 §2.3.1,
// a label is not empty).
func TestDomainFinalDots(t *testing.T) {
	var out bytes.Buffer
	p := NewPrompter(NewPlainReader(strings.NewReader("example.com..\nexample.com.\n"), &out), &out)
	got, err := p.Domain("Q", func(string) error { return nil })
	if err != nil || got != "example.com" {
		t.Fatalf("Domain = %q, %v; want example.com", got, err)
	}
	if want := `"example.com.." has an empty label at its end`; !strings.Contains(out.String(), want) {
		t.Errorf("screen %q does not refuse the first answer with %q", out.String(), want)
	}
}
