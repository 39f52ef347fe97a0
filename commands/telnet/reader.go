package telnet

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// reader cuts what the server sends into lines of at most max bytes: a longer line
// comes in pieces, so that a server that never sends a newline cannot make the
// command hold more than one bufio buffer and max bytes.
type reader struct {
	br   *bufio.Reader
	line []byte // the line being read; kept when a read times out
	max  int
}

func newReader(r io.Reader, max int) *reader {
	return &reader{br: bufio.NewReaderSize(r, 4096), line: make([]byte, 0, 256), max: max}
}

// next returns the next line without its CR LF (or LF), or a piece of max bytes of
// a longer one. At the end of the input a last line without newline is returned
// first. After an error (a timeout) the bytes read so far stay for the next call.
func (r *reader) next() (string, error) {
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(r.line) > 0 {
				return r.take(), nil
			}
			return "", err
		}
		if b == '\n' {
			return r.take(), nil
		}
		r.line = append(r.line, b)
		if len(r.line) >= r.max {
			return r.take(), nil
		}
	}
}

func (r *reader) take() string {
	s := strings.TrimSuffix(string(r.line), "\r")
	r.line = r.line[:0]
	return s
}

// buffered reports whether bytes the server sent wait in the reader.
func (r *reader) buffered() bool { return r.br.Buffered() > 0 || len(r.line) > 0 }

// lineKind sorts server lines for the piped conversation.
type lineKind int

const (
	other        lineKind = iota
	smtpFinal             // "250 OK": the last line of an SMTP reply (RFC 5321 §4.2)
	smtpContinue          // "250-SIZE": more lines of the reply follow
)

// kind tells an SMTP reply line, and its code.
func kind(line string) (lineKind, int) {
	if len(line) < 3 {
		return other, 0
	}
	code := 0
	for i := range 3 {
		c := line[i]
		if c < '0' || c > '9' {
			return other, 0
		}
		code = code*10 + int(c-'0')
	}
	switch {
	case len(line) == 3 || line[3] == ' ':
		return smtpFinal, code
	case line[3] == '-':
		return smtpContinue, code
	}
	return other, 0
}

// printable shows control characters in caret notation (ESC as ^[) and invalid
// UTF-8 as U+FFFD, so that a server cannot drive the operator's terminal.
func printable(s string) string {
	clean := utf8.ValidString(s) && !strings.ContainsFunc(s, isControl)
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == 0x7f:
			b.WriteString("^?")
		case isControl(r):
			b.WriteByte('^')
			b.WriteRune(r + '@')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }
