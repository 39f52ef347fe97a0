// Package commands builds segcli's command table from the command packages. The one
// table drives dispatch, help, completion and the README's command list.
package commands

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands/commit"
	"github.com/segcli/segcli/commands/hostname"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts"
)

// Table returns every command of segcli (the shell adds help, quit and exit).
func Table() []shell.Command {
	var t []shell.Command
	t = append(t, commit.Commands()...)
	t = append(t, hostname.Command())
	return t
}

// Options are what a session needs from the process that starts it.
type Options struct {
	// Fs is the data directory; Locker serialises commits in it.
	Fs     afero.Fs
	Locker store.Locker
	In     shell.LineReader
	Out    io.Writer
	Err    io.Writer
	Now    func() time.Time
	// User is recorded with commits.
	User string
	// Hostname names a new data directory's gateway.
	Hostname string
	// Prompt, if set, is shown in the prompt instead of the configured hostname.
	Prompt   string
	Terminal bool
	Pager    func(string) error
	Signals  bool
}

// NewShell opens the store in the data directory (creating the factory defaults on
// first use), takes a session and returns the shell with the whole command table.
func NewShell(ctx context.Context, o Options) (*shell.Shell, error) {
	st, err := store.Open(ctx, o.Fs, store.Options{Locker: o.Locker, Now: o.Now, User: o.User, Hostname: o.Hostname})
	if err != nil {
		return nil, err
	}
	sess, err := st.NewSession(ctx)
	if err != nil {
		return nil, err
	}
	return shell.New(shell.Config{
		In: o.In, Out: o.Out, Err: o.Err,
		Session: sess, Fs: o.Fs, Now: o.Now, Hostname: o.Prompt,
		Terminal: o.Terminal, Pager: o.Pager, Signals: o.Signals,
	}, Table()...), nil
}

// Runner returns the transcripts.Runner that replays a session in the data directory
// fsys: the transcript's clock, user and hostname, its -c command line if any.
func Runner(fsys afero.Fs, locker store.Locker, prompt string) transcripts.Runner {
	return func(ctx context.Context, t *transcripts.Transcript, in shell.LineReader, out io.Writer) int {
		sh, err := NewShell(ctx, Options{
			Fs: fsys, Locker: locker, In: in, Out: out, Err: out,
			Now: func() time.Time { return t.Clock }, User: t.User, Hostname: t.Hostname, Prompt: prompt,
		})
		if err != nil {
			fmt.Fprintf(out, "segcli: %v\n", err)
			return 1
		}
		if t.Command != "" {
			return sh.RunBatch(ctx, t.Command)
		}
		return sh.Run(ctx)
	}
}
