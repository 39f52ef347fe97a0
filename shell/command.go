package shell

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Command is one entry of the command table. The table drives dispatch, `help`,
// completion and the README's command list.
type Command struct {
	// Name is what the operator types (lower-case).
	Name string
	// Usage is the synopsis `help CMD` prints first, e.g. "commit [COMMENT]".
	Usage string
	// Summary is the one line `help` prints.
	Summary string
	// Description follows the synopsis in `help CMD`.
	Description string
	// Run does the work. Errors are printed by the shell, once.
	Run func(ctx context.Context, e *Env, args []string) error
	// Menu lists the sub-command names, completed as the first argument.
	Menu []string
	// Complete, if set, returns the candidates for an argument given the words before it
	// (after the command name); it replaces Menu completion.
	Complete func(e *Env, before []string) []string
}

// table is the command table: sorted, with the shell's own commands.
type table struct {
	cmds   []Command
	byName map[string]int
}

func newTable(cmds []Command) *table {
	t := &table{byName: make(map[string]int)}
	t.cmds = append(t.cmds, cmds...)
	sort.Slice(t.cmds, func(i, j int) bool { return t.cmds[i].Name < t.cmds[j].Name })
	for i, c := range t.cmds {
		if _, dup := t.byName[c.Name]; dup {
			panic("shell: command " + c.Name + " registered twice")
		}
		t.byName[c.Name] = i
	}
	return t
}

func (t *table) lookup(name string) (*Command, bool) {
	i, ok := t.byName[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return &t.cmds[i], true
}

// names returns every command name in order.
func (t *table) names() []string {
	out := make([]string, len(t.cmds))
	for i, c := range t.cmds {
		out[i] = c.Name
	}
	return out
}

// writeHelp prints the one-line list of every command.
func (t *table) writeHelp(w io.Writer) {
	width := 0
	for _, c := range t.cmds {
		width = max(width, len(c.Name))
	}
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range t.cmds {
		fmt.Fprintf(w, "%-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintln(w, "\nType \"help COMMAND\" for the usage of one command.")
}

// writeCommandHelp prints `help CMD`: the synopsis, then the description.
func writeCommandHelp(w io.Writer, c *Command) {
	fmt.Fprintf(w, "\nusage: %s\n\n%s\n", c.Usage, c.Summary)
	if c.Description != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.Description, "\n"))
	}
}
