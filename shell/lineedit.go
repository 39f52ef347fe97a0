package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrInterrupt is returned by a LineReader when the operator pressed Ctrl-C.
var ErrInterrupt = errors.New("interrupted")

// maxLine bounds one input line (a pasted certificate arrives line by line).
const maxLine = 64 << 10

// A Completer returns the candidates for the word being typed, given the words
// before it on the line.
type Completer func(before []string, word string) []string

// LineReader reads the operator's answers. On a terminal it is the line editor; else
// it prints each prompt and echoes the line it consumed, so that the output reads
// like the screen. ReadLine returns io.EOF at end of input and ErrInterrupt on Ctrl-C.
type LineReader interface {
	ReadLine(prompt string, complete Completer) (string, error)
	// ReadSecret reads a pass phrase, or a line of a private key, without showing it.
	ReadSecret(prompt string) (string, error)
	// AddHistory records a command line (the terminal editor keeps it).
	AddHistory(line string)
	Close() error
}

// PlainReader reads lines from a non-terminal input and echoes them to out.
type PlainReader struct {
	in  *bufio.Reader
	out io.Writer
}

// NewPlainReader returns a LineReader over in that writes prompts and echoes to out.
func NewPlainReader(in io.Reader, out io.Writer) *PlainReader {
	return &PlainReader{in: bufio.NewReaderSize(in, 4096), out: out}
}

// ReadLine prints prompt, reads one line and echoes it. At end of input the prompt
// stays as it is and io.EOF is returned (a last line without newline is returned first).
func (r *PlainReader) ReadLine(prompt string, _ Completer) (string, error) {
	if _, err := io.WriteString(r.out, prompt); err != nil {
		return "", err
	}
	line, err := r.read()
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintln(r.out, line)
	return line, err
}

// ReadSecret prints prompt and reads one line without echoing it: after a prompt
// only the newline is printed, and a line read without a prompt (a pasted key) leaves
// no trace on the screen.
func (r *PlainReader) ReadSecret(prompt string) (string, error) {
	if _, err := io.WriteString(r.out, prompt); err != nil {
		return "", err
	}
	line, err := r.read()
	if err != nil {
		return "", err
	}
	if prompt != "" {
		_, err = fmt.Fprintln(r.out)
	}
	return line, err
}

func (r *PlainReader) read() (string, error) {
	var b strings.Builder
	for {
		chunk, isPrefix, err := r.in.ReadLine()
		if err != nil {
			if err == io.EOF && b.Len() > 0 {
				break
			}
			return "", err
		}
		if b.Len()+len(chunk) > maxLine {
			// Drain the rest of the overlong line, then refuse it.
			for isPrefix && err == nil {
				_, isPrefix, err = r.in.ReadLine()
			}
			return "", fmt.Errorf("input line longer than %d bytes", maxLine)
		}
		b.Write(chunk)
		if !isPrefix {
			break
		}
	}
	return strings.TrimSuffix(b.String(), "\r"), nil
}

// AddHistory does nothing: a pipe has no history.
func (r *PlainReader) AddHistory(string) {}

// Close does nothing.
func (r *PlainReader) Close() error { return nil }
