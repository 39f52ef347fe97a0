package shell

import (
	"errors"
	"strings"
)

// errQuote reports an unterminated double quote.
var errQuote = errors.New("missing closing quote (\")")

// splitLine splits a command line into commands at each `;` outside double quotes,
// and each command into words. Double quotes group a word (`commit "add a domain"`);
// inside them \" and \\ stand for " and \.
func splitLine(line string) ([][]string, error) {
	var (
		cmds   [][]string
		words  []string
		word   strings.Builder
		inWord bool
		quoted bool
	)
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			i++
			word.WriteByte(line[i])
		case c == '"':
			quoted = !quoted
			inWord = true
		case quoted:
			word.WriteByte(c)
		case c == ';':
			endCmd()
		case c == ' ' || c == '\t':
			endWord()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, errQuote
	}
	endCmd()
	return cmds, nil
}

// quote renders words back into a command line that splitLine reads the same way.
func quote(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w != "" && !strings.ContainsAny(w, " \t;\"\\") {
			out[i] = w
			continue
		}
		out[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
	}
	return strings.Join(out, " ")
}
