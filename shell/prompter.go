package shell

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/segcli/segcli/store"
)

// ErrAbort is returned by every dialog primitive when the operator ended the input
// (EOF) or pressed Ctrl-C: the dialog must return it and change nothing.
var ErrAbort = errors.New("dialog abandoned")

// abort wraps the reader's error so that callers can tell EOF from Ctrl-C if they must.
func abort(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, ErrInterrupt) {
		return fmt.Errorf("%w: %w", ErrAbort, err)
	}
	return err
}

// Prompter asks the dialog questions. Every question is preceded by a blank line, as
// on the appliance; a bad answer gets one line saying what is accepted and the same
// question again.
type Prompter struct {
	lr  LineReader
	out io.Writer
}

// NewPrompter returns a prompter reading from lr and printing to out.
func NewPrompter(lr LineReader, out io.Writer) *Prompter { return &Prompter{lr: lr, out: out} }

// Say prints a paragraph of a dialog: a blank line, then text.
func (p *Prompter) Say(format string, args ...any) {
	fmt.Fprintf(p.out, "\n"+format+"\n", args...)
}

// ask prints the lines above the prompt (after a blank line) and reads the answer.
func (p *Prompter) ask(lines, prompt string, c Completer) (string, error) {
	if lines != "" {
		fmt.Fprintf(p.out, "\n%s\n", lines)
	} else {
		fmt.Fprintln(p.out)
	}
	s, err := p.lr.ReadLine(prompt, c)
	if err != nil {
		return "", abort(err)
	}
	return strings.TrimSpace(s), nil
}

// reject prints the reason an answer was refused.
func (p *Prompter) reject(msg string) { fmt.Fprintln(p.out, msg) }

func bracket(def string) string { return "[" + def + "]> " }

// Text asks a free-text question: `question` on its own line, then `[def]> `. An
// empty answer takes def. validate (optional) refuses an answer with its message.
func (p *Prompter) Text(question, def string, validate func(string) error) (string, error) {
	for {
		s, err := p.ask(question, bracket(def), nil)
		if err != nil {
			return "", err
		}
		if s == "" {
			s = def
		}
		if validate != nil {
			if err := validate(s); err != nil {
				p.reject(err.Error())
				continue
			}
		}
		return s, nil
	}
}

// Secret asks for a pass phrase without showing it; `question` then `[]> `.
func (p *Prompter) Secret(question string) (string, error) {
	fmt.Fprintf(p.out, "\n%s\n", question)
	s, err := p.lr.ReadSecret(bracket(""))
	if err != nil {
		return "", abort(err)
	}
	return s, nil
}

// Int asks for a whole number in [lo, hi]: `question` then `[def]> `.
func (p *Prompter) Int(question string, def, lo, hi int) (int, error) {
	for {
		s, err := p.ask(question, bracket(strconv.Itoa(def)), nil)
		if err != nil {
			return 0, err
		}
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
		if err != nil || n < lo || n > hi {
			p.reject(fmt.Sprintf("You must enter a number between %d and %d.", lo, hi))
			continue
		}
		return n, nil
	}
}

// YesNo asks `question [Y]> ` (or `[N]> `) on one line.
func (p *Prompter) YesNo(question string, def bool) (bool, error) {
	d := "N"
	if def {
		d = "Y"
	}
	for {
		s, err := p.ask("", question+" "+bracket(d), nil)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(s) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		p.reject("Please answer Y or N.")
	}
}

// Choose asks a numbered question: `question`, then `1. Label` per option, then
// `[def]> ` (def is 1-based; 0 means no default). It returns the 1-based choice.
func (p *Prompter) Choose(question string, options []string, def int) (int, error) {
	var b strings.Builder
	b.WriteString(question)
	for i, o := range options {
		fmt.Fprintf(&b, "\n%d. %s", i+1, o)
	}
	d := ""
	if def > 0 {
		d = strconv.Itoa(def)
	}
	for {
		s, err := p.ask(b.String(), bracket(d), nil)
		if err != nil {
			return 0, err
		}
		if s == "" && def > 0 {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > len(options) {
			p.reject(fmt.Sprintf("You must enter a value from 1 to %d.", len(options)))
			continue
		}
		return n, nil
	}
}

// MenuItem is one operation of a sub-menu: `- NAME - Description.`
type MenuItem struct {
	Name        string
	Description string
}

// Menu asks `Choose the operation you want to perform:` with one `- NAME - Desc` line
// per item, then `[]> `. Names are matched case-insensitively; the answer is returned
// upper-case. An empty answer returns "" (the caller goes up one level).
func (p *Prompter) Menu(items []MenuItem) (string, error) {
	var b strings.Builder
	b.WriteString("Choose the operation you want to perform:")
	names := make([]string, len(items))
	for i, it := range items {
		fmt.Fprintf(&b, "\n- %s - %s", it.Name, it.Description)
		names[i] = it.Name
	}
	complete := func(before []string, word string) []string {
		if len(before) > 0 {
			return nil
		}
		return names
	}
	for {
		s, err := p.ask(b.String(), bracket(""), complete)
		if err != nil {
			return "", err
		}
		if s == "" {
			return "", nil
		}
		for _, n := range names {
			if strings.EqualFold(s, n) {
				return n, nil
			}
		}
		p.reject(fmt.Sprintf("Unknown operation %q. Choose one of: %s.", s, strings.Join(names, ", ")))
	}
}

// Paste reads a multi-line block ending with a line holding only `.`: `question`,
// then one line per answer. Lines are returned joined with "\n", ending in "\n".
func (p *Prompter) Paste(question string) (string, error) {
	fmt.Fprintf(p.out, "\n%s\n", question)
	var b strings.Builder
	for {
		s, err := p.lr.ReadLine("", nil)
		if err != nil {
			return "", abort(err)
		}
		if strings.TrimSpace(s) == "." {
			return b.String(), nil
		}
		if b.Len()+len(s) > maxPaste {
			return "", fmt.Errorf("pasted text longer than %d bytes", maxPaste)
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
}

// PasteSecret reads a multi-line block that must not appear on the screen (a private
// key): `question`, then lines read without echo up to a line holding only `.`.
func (p *Prompter) PasteSecret(question string) (string, error) {
	fmt.Fprintf(p.out, "\n%s\n", question)
	var b strings.Builder
	for {
		s, err := p.lr.ReadSecret("")
		if err != nil {
			return "", abort(err)
		}
		if strings.TrimSpace(s) == "." {
			return b.String(), nil
		}
		if b.Len()+len(s) > maxPaste {
			return "", fmt.Errorf("pasted text longer than %d bytes", maxPaste)
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
}

// maxPaste bounds a multi-line paste (a certificate chain fits many times over).
const maxPaste = 1 << 20

// Sentence turns an error into the line a dialog prints: first letter upper-case,
// a final full stop.
func Sentence(err error) string {
	s := err.Error()
	if r, n := utf8.DecodeRuneInString(s); r != utf8.RuneError {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// Domain asks for a domain name until it is valid (store.NormalizeDomain: A-label
// form, a leading dot for the domain and its subdomains) and check accepts it. An
// empty answer returns "" (the caller goes back to its menu).
func (p *Prompter) Domain(question string, check func(string) error) (string, error) {
	var name string
	_, err := p.Text(question, "", func(s string) error {
		name = ""
		if s == "" {
			return nil
		}
		n, err := store.NormalizeDomain(s)
		if err != nil {
			return errors.New(Sentence(err))
		}
		if err := check(n); err != nil {
			return err
		}
		name = n
		return nil
	})
	return name, err
}
