package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits on what the client reads from a server.
const (
	// MaxLineLength bounds one reply line, CRLF included. RFC 5321 §4.5.3.1.5
	// allows 512 octets; real servers exceed it, so the client is lenient, but
	// a line longer than this is an error, never an unbounded read.
	MaxLineLength = 4096
	// MaxReplyLines bounds the lines of one multi-line reply (an EHLO reply
	// has a few dozen at most).
	MaxReplyLines = 100
)

// Errors about the server's replies, wrapped by the errors Probe returns.
var (
	// ErrLineTooLong: a reply line exceeded MaxLineLength.
	ErrLineTooLong = errors.New("reply line too long")
	// ErrTooManyLines: a reply had more than MaxReplyLines lines.
	ErrTooManyLines = errors.New("too many reply lines")
	// ErrMalformedReply: a line that is not "NNN", "NNN text" or "NNN-text",
	// or a multi-line reply whose codes differ.
	ErrMalformedReply = errors.New("malformed reply")
)

// Reply is a server reply (RFC 5321 §4.2): a three-digit code and the text of
// each line, without the code, the separator and the CRLF.
type Reply struct {
	Code  int
	Lines []string
}

// String returns the reply as the server sent it, lines joined by "\n":
// "250-mx.example.com\n250 STARTTLS".
func (r Reply) String() string {
	if r.Code == 0 {
		return ""
	}
	if len(r.Lines) == 0 {
		return strconv.Itoa(r.Code)
	}
	var b strings.Builder
	for i, l := range r.Lines {
		sep := "-"
		if i == len(r.Lines)-1 {
			sep = " "
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Itoa(r.Code))
		b.WriteString(sep)
		b.WriteString(l)
	}
	return b.String()
}

// Positive reports whether the code is 2xx.
func (r Reply) Positive() bool { return r.Code >= 200 && r.Code < 300 }

// readReply reads one (possibly multi-line) reply. Lines may end in LF or
// CRLF; a line longer than MaxLineLength or a reply of more than
// MaxReplyLines lines is an error. On any error the reply is the zero
// Reply: a reply is complete only with its last line (RFC 5321 §4.2.1), and
// the code of a reply that never ended decides nothing (a "250-" flood cut
// short is not an acceptance of the message, RFC 5321 §4.1.1.4).
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	for n := 0; ; n++ {
		if n == MaxReplyLines {
			return Reply{}, fmt.Errorf("%w (more than %d)", ErrTooManyLines, MaxReplyLines)
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return Reply{}, fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, MaxLineLength)
		}
		if err != nil {
			return Reply{}, err
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		code, more, text, ok := splitLine(s)
		if !ok || (r.Code != 0 && code != r.Code) {
			return Reply{}, fmt.Errorf("%w: %q", ErrMalformedReply, truncate(s, 80))
		}
		r.Code = code
		r.Lines = append(r.Lines, text)
		if !more {
			return r, nil
		}
	}
}

// splitLine splits a reply line into its code, whether more lines follow,
// and its text.
func splitLine(s string) (code int, more bool, text string, ok bool) {
	if len(s) < 3 || s[0] < '2' || s[0] > '5' || !isDigit(s[1]) || !isDigit(s[2]) {
		return 0, false, "", false
	}
	code = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	if len(s) == 3 {
		return code, false, "", true
	}
	switch s[3] {
	case '-':
		return code, true, s[4:], true
	case ' ':
		return code, false, s[4:], true
	}
	return 0, false, "", false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
