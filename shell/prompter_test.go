package shell

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func prompter(in string) (*Prompter, *bytes.Buffer) {
	var out bytes.Buffer
	return NewPrompter(NewPlainReader(strings.NewReader(in), &out), &out), &out
}

func TestText(t *testing.T) {
	p, out := prompter("\nbad\ngood\n")
	got, err := p.Text("Enter a word.", "", func(s string) error {
		if s != "good" {
			return errors.New("Say good.")
		}
		return nil
	})
	if err != nil || got != "good" {
		t.Fatalf("Text = %q, %v", got, err)
	}
	want := "\nEnter a word.\n[]> \nSay good.\n\nEnter a word.\n[]> bad\nSay good.\n\nEnter a word.\n[]> good\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("screen (-want +got):\n%s", diff)
	}
}

func TestIntDefaultAndRange(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		rejects int
	}{
		{"\n", 500, 0},
		{"7\n", 7, 0},
		{"1,000\n", 1000, 0},
		{"0\n1001\nabc\n-5\n12\n", 12, 4},
	}
	for _, tt := range tests {
		p, out := prompter(tt.in)
		got, err := p.Int("Enter the max concurrency limit.", 500, 1, 1000)
		if err != nil || got != tt.want {
			t.Errorf("Int(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
		if n := strings.Count(out.String(), "You must enter a number between 1 and 1000.\n"); n != tt.rejects {
			t.Errorf("Int(%q): %d refusals, want %d:\n%s", tt.in, n, tt.rejects, out)
		}
		if !strings.Contains(out.String(), "\nEnter the max concurrency limit.\n[500]> ") {
			t.Errorf("Int prompt layout:\n%s", out)
		}
	}
}

func TestYesNo(t *testing.T) {
	tests := []struct {
		in   string
		def  bool
		want bool
	}{
		{"\n", true, true},
		{"\n", false, false},
		{"Y\n", false, true},
		{"yes\n", false, true},
		{"N\n", true, false},
		{"no\n", true, false},
		{"maybe\nyes\n", false, true},
	}
	for _, tt := range tests {
		p, out := prompter(tt.in)
		got, err := p.YesNo("Continue?", tt.def)
		if err != nil || got != tt.want {
			t.Errorf("YesNo(%q, %v) = %v, %v; want %v", tt.in, tt.def, got, err, tt.want)
		}
		if strings.HasPrefix(tt.in, "maybe") && !strings.Contains(out.String(), "maybe\nPlease answer Y or N.\n\nContinue? [N]> yes\n") {
			t.Errorf("YesNo bad answer screen:\n%s", out)
		}
	}
}

func TestChoose(t *testing.T) {
	p, out := prompter("7\nx\n\n")
	got, err := p.Choose("Do you want to use TLS support?", []string{"No", "Preferred", "Required"}, 2)
	if err != nil || got != 2 {
		t.Fatalf("Choose = %d, %v; want the default 2", got, err)
	}
	want := "\nDo you want to use TLS support?\n1. No\n2. Preferred\n3. Required\n[2]> 7\nYou must enter a value from 1 to 3.\n" +
		"\nDo you want to use TLS support?\n1. No\n2. Preferred\n3. Required\n[2]> x\nYou must enter a value from 1 to 3.\n" +
		"\nDo you want to use TLS support?\n1. No\n2. Preferred\n3. Required\n[2]> \n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("screen (-want +got):\n%s", diff)
	}
	// Without a default an empty answer is refused.
	p, _ = prompter("\n3\n")
	if got, err := p.Choose("Pick.", []string{"a", "b", "c"}, 0); got != 3 || err != nil {
		t.Errorf("Choose without default = %d, %v", got, err)
	}
}

func TestMenu(t *testing.T) {
	items := []MenuItem{{"NEW", "Create a new entry."}, {"EDIT", "Modify an entry."}}
	p, out := prompter("bogus\nedit\n")
	got, err := p.Menu(items)
	if err != nil || got != "EDIT" {
		t.Fatalf("Menu = %q, %v; want EDIT (case-insensitive)", got, err)
	}
	want := "\nChoose the operation you want to perform:\n- NEW - Create a new entry.\n- EDIT - Modify an entry.\n[]> bogus\n" +
		"Unknown operation \"bogus\". Choose one of: NEW, EDIT.\n" +
		"\nChoose the operation you want to perform:\n- NEW - Create a new entry.\n- EDIT - Modify an entry.\n[]> edit\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("screen (-want +got):\n%s", diff)
	}
	p, _ = prompter("\n")
	if got, err := p.Menu(items); got != "" || err != nil {
		t.Errorf("empty answer at a menu = %q, %v; want \"\" (up one level)", got, err)
	}
}

func TestPaste(t *testing.T) {
	p, out := prompter("-----BEGIN X-----\nabc\n-----END X-----\n.\n")
	got, err := p.Paste("Paste public certificate in PEM format (end with '.'):")
	if err != nil || got != "-----BEGIN X-----\nabc\n-----END X-----\n" {
		t.Fatalf("Paste = %q, %v", got, err)
	}
	if !strings.HasPrefix(out.String(), "\nPaste public certificate in PEM format (end with '.'):\n-----BEGIN X-----\n") {
		t.Errorf("Paste screen:\n%s", out)
	}
}

func TestSecretIsNotEchoed(t *testing.T) {
	p, out := prompter("hunter2\n")
	got, err := p.Secret("Enter pass phrase for the private key:")
	if err != nil || got != "hunter2" {
		t.Fatalf("Secret = %q, %v", got, err)
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("the pass phrase was echoed:\n%s", out)
	}
}

// TestEOFAbandons: every primitive returns ErrAbort (wrapping io.EOF) at end of input,
// even after bad answers.
func TestEOFAbandons(t *testing.T) {
	prims := map[string]func(*Prompter) error{
		"Text": func(p *Prompter) error {
			_, err := p.Text("Q", "", func(string) error { return errors.New("no") })
			return err
		},
		"Int":         func(p *Prompter) error { _, err := p.Int("Q", 1, 1, 2); return err },
		"YesNo":       func(p *Prompter) error { _, err := p.YesNo("Q", true); return err },
		"Choose":      func(p *Prompter) error { _, err := p.Choose("Q", []string{"a"}, 1); return err },
		"Menu":        func(p *Prompter) error { _, err := p.Menu([]MenuItem{{"A", "a"}}); return err },
		"Paste":       func(p *Prompter) error { _, err := p.Paste("Q"); return err },
		"Secret":      func(p *Prompter) error { _, err := p.Secret("Q"); return err },
		"PasteSecret": func(p *Prompter) error { _, err := p.PasteSecret("Q"); return err },
	}
	for name, f := range prims {
		for _, in := range []string{"", "bad answer\n"} {
			p, _ := prompter(in)
			if name == "Paste" || name == "Secret" || name == "PasteSecret" {
				p, _ = prompter("") // these accept any line
			}
			err := f(p)
			if !errors.Is(err, ErrAbort) || !errors.Is(err, io.EOF) {
				t.Errorf("%s at EOF after %q: err = %v, want ErrAbort wrapping io.EOF", name, in, err)
			}
		}
	}
}

// interruptReader answers every read with Ctrl-C.
type interruptReader struct{ *PlainReader }

func (interruptReader) ReadLine(string, Completer) (string, error) { return "", ErrInterrupt }

func TestInterruptAbandons(t *testing.T) {
	p := NewPrompter(interruptReader{NewPlainReader(strings.NewReader(""), io.Discard)}, io.Discard)
	if _, err := p.YesNo("Q", true); !errors.Is(err, ErrAbort) || !errors.Is(err, ErrInterrupt) {
		t.Errorf("Ctrl-C: err = %v, want ErrAbort wrapping ErrInterrupt", err)
	}
}

func TestPlainReaderLongLine(t *testing.T) {
	var out bytes.Buffer
	r := NewPlainReader(strings.NewReader(strings.Repeat("x", maxLine+10)+"\nnext\n"), &out)
	if _, err := r.ReadLine("> ", nil); err == nil {
		t.Fatal("an overlong line was accepted")
	}
	if got, err := r.ReadLine("> ", nil); got != "next" || err != nil {
		t.Errorf("after an overlong line: %q, %v; want the next line", got, err)
	}
}

func TestPasteSecretIsNotEchoed(t *testing.T) {
	p, out := prompter("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIDEADBEEF\n-----END PRIVATE KEY-----\n.\n")
	got, err := p.PasteSecret("Paste private key in PEM format (end with '.'):")
	if err != nil || !strings.Contains(got, "MC4CAQAwBQYDK2VwBCIEIDEADBEEF") {
		t.Fatalf("PasteSecret = %q, %v", got, err)
	}
	if want := "\nPaste private key in PEM format (end with '.'):\n"; out.String() != want {
		t.Errorf("screen = %q, want only the question: the key must not be echoed", out.String())
	}
}
