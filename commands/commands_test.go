package commands

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/shell"
)

// readmeList renders the README's command list from the command table.
func readmeList() string {
	var b strings.Builder
	for _, c := range shell.New(shell.Config{}, Table()...).Commands() {
		b.WriteString("- `" + c.Usage + "`: " + c.Summary + "\n")
	}
	return b.String()
}

var updateReadme = flag.Bool("update-readme", false, "rewrite README.md's command list from the table")

// TestReadmeCommands fails when the README's command list drifts from the table.
func TestReadmeCommands(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- commands -->\n", "<!-- /commands -->"
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", begin, end)
	}
	if *updateReadme {
		s = s[:i+len(begin)] + readmeList() + s[j:]
		if err := os.WriteFile("../README.md", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(readmeList(), s[i+len(begin):j]); diff != "" {
		t.Errorf("README.md command list is stale; run go test ./commands -run TestReadmeCommands -update-readme (-table +readme):\n%s", diff)
	}
}

// TestTableIsComplete: every command has a synopsis starting with its name, a summary
// sentence and a Run function.
func TestTableIsComplete(t *testing.T) {
	for _, c := range shell.New(shell.Config{}, Table()...).Commands() {
		if !strings.HasPrefix(c.Usage, c.Name) || c.Summary == "" || !strings.HasSuffix(c.Summary, ".") || c.Run == nil {
			t.Errorf("command %q: usage %q summary %q: incomplete table entry", c.Name, c.Usage, c.Summary)
		}
	}
}
