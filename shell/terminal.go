package shell

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chzyer/readline"
)

// Terminal is the line editor on a terminal: readline with history kept in the data
// directory and tab completion from the command table (and, in a dialog, from the
// sub-menu being asked).
type Terminal struct {
	rl       *readline.Instance
	complete Completer
	out      io.Writer
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return readline.IsTerminal(int(f.Fd())) }

// NewTerminal starts the line editor on stdin/stdout. historyFile may be empty.
func NewTerminal(stdin io.ReadCloser, stdout, stderr io.Writer, historyFile string) (*Terminal, error) {
	t := &Terminal{out: stdout}
	rl, err := readline.NewEx(&readline.Config{
		HistoryFile:            historyFile,
		HistoryLimit:           1000,
		DisableAutoSaveHistory: true,
		AutoComplete:           completerFunc(t.do),
		InterruptPrompt:        "^C",
		EOFPrompt:              "\n",
		Stdin:                  stdin,
		Stdout:                 stdout,
		Stderr:                 stderr,
	})
	if err != nil {
		return nil, fmt.Errorf("shell: start line editor: %w", err)
	}
	t.rl = rl
	return t, nil
}

// ReadLine shows prompt and edits one line.
func (t *Terminal) ReadLine(prompt string, c Completer) (string, error) {
	t.complete = c
	t.rl.SetPrompt(prompt)
	line, err := t.rl.Readline()
	t.complete = nil
	if errors.Is(err, readline.ErrInterrupt) {
		return "", ErrInterrupt
	}
	return line, err
}

// ReadSecret reads without echo.
func (t *Terminal) ReadSecret(prompt string) (string, error) {
	b, err := t.rl.ReadPassword(prompt)
	if errors.Is(err, readline.ErrInterrupt) {
		return "", ErrInterrupt
	}
	return string(b), err
}

// AddHistory saves a command line to the history file.
func (t *Terminal) AddHistory(line string) { _ = t.rl.SaveHistory(line) }

// Close restores the terminal.
func (t *Terminal) Close() error { return t.rl.Close() }

// do adapts a Completer to readline: candidates that extend the word under the cursor.
func (t *Terminal) do(line []rune, pos int) ([][]rune, int) {
	if t.complete == nil {
		return nil, 0
	}
	head := string(line[:pos])
	words := strings.Fields(head)
	word := ""
	if len(words) > 0 && !strings.HasSuffix(head, " ") {
		word, words = words[len(words)-1], words[:len(words)-1]
	}
	var out [][]rune
	for _, c := range t.complete(words, word) {
		if len(c) >= len(word) && strings.EqualFold(c[:len(word)], word) {
			out = append(out, []rune(c[len(word):]+" "))
		}
	}
	return out, len([]rune(word))
}

type completerFunc func(line []rune, pos int) ([][]rune, int)

func (f completerFunc) Do(line []rune, pos int) ([][]rune, int) { return f(line, pos) }

// Pager returns a function that prints text a screenful at a time on a terminal of
// the given height, pausing at `-Press Any Key For More-` (Enter goes on; q stops).
func Pager(lr LineReader, out io.Writer, rows func() int) func(string) error {
	return func(text string) error {
		h := rows()
		if h < 3 {
			_, err := io.WriteString(out, text)
			return err
		}
		lines := strings.SplitAfter(text, "\n")
		for len(lines) > 0 {
			n := min(h-1, len(lines))
			if _, err := io.WriteString(out, strings.Join(lines[:n], "")); err != nil {
				return err
			}
			lines = lines[n:]
			if len(lines) == 0 {
				break
			}
			key, err := lr.ReadLine("-Press Any Key For More-", nil)
			if err != nil || strings.EqualFold(strings.TrimSpace(key), "q") {
				return nil
			}
		}
		return nil
	}
}

// TerminalRows returns the height of the terminal on fd (0 if unknown).
func TerminalRows(fd int) func() int {
	return func() int {
		_, h, err := readline.GetSize(fd)
		if err != nil {
			return 0
		}
		return h
	}
}
