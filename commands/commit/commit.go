// Package commit holds the commands of the configuration lifecycle: commit, clear,
// rollbackconfig, showchanges, saveconfig and loadconfig.
package commit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// Commands returns the lifecycle commands.
func Commands() []shell.Command {
	return []shell.Command{
		{
			Name:    "commit",
			Usage:   "commit [COMMENT]",
			Summary: "Commit the changes.",
			Description: `Makes this session's changes the running configuration, as a new revision.
Without COMMENT it asks for a comment and whether to save the revision for
rollbackconfig; with COMMENT it saves it without asking. The commit is refused when
another session committed since this one started: your changes are kept.`,
			Run: runCommit,
		},
		{
			Name:        "clear",
			Usage:       "clear",
			Summary:     "Clear the changes.",
			Description: "Drops every change made since the last commit and loads the newest committed revision.",
			Run:         runClear,
		},
		{
			Name:    "rollbackconfig",
			Usage:   "rollbackconfig [NUMBER]",
			Summary: "Roll back to one of the last ten saved configurations.",
			Description: `Lists the saved revisions, loads the chosen one into the candidate and offers to
commit it. NUMBER picks the entry of the list without asking.`,
			Run: runRollback,
		},
		{
			Name:        "showchanges",
			Usage:       "showchanges",
			Summary:     "Show the changes not yet committed.",
			Description: "Prints the candidate against the committed configuration as a unified line diff.",
			Run:         runShowChanges,
		},
		{
			Name:    "saveconfig",
			Usage:   "saveconfig FILE",
			Summary: "Save the committed configuration to a file.",
			Description: `Writes the committed configuration as TOML to FILE in the "configuration"
folder of the data directory. Private keys are not included.`,
			Run: runSaveConfig,
		},
		{
			Name:    "loadconfig",
			Usage:   "loadconfig FILE",
			Summary: "Load a configuration file into the candidate.",
			Description: `Reads FILE (from the "configuration" folder of the data directory) into this
session's candidate; "commit" makes it the running configuration. A file that does not
parse changes nothing.`,
			Run: runLoadConfig,
		},
	}
}

func runCommit(ctx context.Context, e *shell.Env, args []string) error {
	pending, err := e.Session.Pending()
	if err != nil {
		return err
	}
	if !pending {
		fmt.Fprintln(e.Out, "\nThere is no data to commit.")
		return nil
	}
	comment, save := strings.Join(args, " "), true
	if len(args) == 0 {
		if comment, err = e.P.Text("Please enter some comments describing your changes:", "", nil); err != nil {
			return err
		}
		if save, err = e.P.YesNo("Do you want to save the current configuration for rollback?", true); err != nil {
			return err
		}
	}
	return commit(ctx, e, comment, save)
}

func commit(ctx context.Context, e *shell.Env, comment string, save bool) error {
	r, err := e.Session.Commit(ctx, comment, save)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("commit refused: %s.\nYour changes are kept: \"showchanges\" lists them; \"clear\" discards them and loads the newest revision, then make them again", strings.TrimPrefix(err.Error(), "store: commit conflict: "))
	}
	if err != nil {
		return fmt.Errorf("commit failed, nothing changed: %w", err)
	}
	fmt.Fprintf(e.Out, "\nChanges committed: %s\n", shell.FormatTime(r.Time))
	return nil
}

func runClear(ctx context.Context, e *shell.Env, args []string) error {
	ok, err := e.P.YesNo("Are you sure you want to clear all changes since the last commit?", true)
	if err != nil || !ok {
		return err
	}
	if err := e.Session.Clear(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "\nChanges cleared: %s\n", shell.FormatTime(e.Now()))
	return nil
}

func runRollback(ctx context.Context, e *shell.Env, args []string) error {
	hist, err := e.Session.History(ctx)
	if err != nil {
		return err
	}
	if len(hist) == 0 {
		fmt.Fprintln(e.Out, "\nThere are no saved configurations to roll back to.")
		return nil
	}
	fmt.Fprintln(e.Out, "\nPrevious Commits:")
	fmt.Fprintf(e.Out, "%-4s %-6s %-30s %-12s %s\n", "", "Rev", "Committed On", "User", "Description")
	for i, r := range hist {
		fmt.Fprintf(e.Out, "%-4s %-6d %-30s %-12s %s\n", strconv.Itoa(i+1)+".", r.Number, shell.FormatTime(r.Time), r.User, r.Comment)
	}
	var n int
	if len(args) > 0 {
		n, err = strconv.Atoi(args[0])
		if err != nil || n < 1 || n > len(hist) {
			return fmt.Errorf("rollbackconfig: %q is not in the list: give a number from 1 to %d", args[0], len(hist))
		}
	} else {
		if n, err = e.P.Int("Enter the number of the config to revert to.", 1, 1, len(hist)); err != nil {
			return err
		}
		ok, err := e.P.YesNo(fmt.Sprintf("Are you sure you want to roll back to revision %d?", hist[n-1].Number), false)
		if err != nil || !ok {
			return err
		}
	}
	r := hist[n-1]
	if err := e.Session.Rollback(ctx, r.Number); err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "\nRevision %d loaded into the candidate configuration.\n", r.Number)
	now := len(args) > 1 && strings.EqualFold(args[1], "commit")
	if len(args) == 0 {
		if now, err = e.P.YesNo("Do you want to commit this configuration now?", false); err != nil {
			return err
		}
	}
	if !now {
		fmt.Fprintln(e.Out, "Use \"commit\" to make it the running configuration, or \"clear\" to drop it.")
		return nil
	}
	pending, err := e.Session.Pending()
	if err != nil {
		return err
	}
	if !pending {
		fmt.Fprintln(e.Out, "\nThere is no data to commit.")
		return nil
	}
	return commit(ctx, e, fmt.Sprintf("Rollback to revision %d", r.Number), true)
}

func runShowChanges(ctx context.Context, e *shell.Env, args []string) error {
	d, err := e.Session.Changes()
	if err != nil {
		return err
	}
	if d == "" {
		fmt.Fprintln(e.Out, "\nThere are no uncommitted changes.")
		return nil
	}
	fmt.Fprintln(e.Out)
	return e.Page(d)
}

func fileArg(e *shell.Env, cmd string, args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("usage: %s FILE", cmd)
	}
	return e.ConfigPath(args[0])
}

func runSaveConfig(ctx context.Context, e *shell.Env, args []string) error {
	name, err := fileArg(e, "saveconfig", args)
	if err != nil {
		return err
	}
	r, c := e.Session.Committed()
	data, err := store.Marshal(c)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# segcli configuration, revision %d, committed %s\n", r.Number, shell.FormatTime(r.Time))
	if err := afero.WriteFile(e.Fs, name, append([]byte(header), data...), 0o600); err != nil {
		return fmt.Errorf("saveconfig: %w", err)
	}
	fmt.Fprintf(e.Out, "\nThe file %s has been saved in the configuration directory.\n", args[0])
	if pending, _ := e.Session.Pending(); pending {
		fmt.Fprintln(e.Out, "Uncommitted changes are not in the file: commit them first to include them.")
	}
	return nil
}

// maxConfigFile bounds a configuration file read by loadconfig.
const maxConfigFile = 64 << 20

func runLoadConfig(ctx context.Context, e *shell.Env, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: loadconfig FILE")
	}
	data, err := e.ReadConfigFile(args[0], maxConfigFile)
	if err != nil {
		return fmt.Errorf("loadconfig: %w", err)
	}
	c, err := store.Unmarshal(data)
	if err != nil {
		return fmt.Errorf("loadconfig: %s: %s; nothing was loaded", args[0], strings.TrimPrefix(err.Error(), "store: "))
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("loadconfig: %s: %s; nothing was loaded", args[0], strings.TrimPrefix(err.Error(), "store: "))
	}
	e.Session.Set(c)
	fmt.Fprintf(e.Out, "\nConfiguration loaded from %s. Use \"commit\" to make it the running configuration.\n", args[0])
	return nil
}
