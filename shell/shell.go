// Package shell is segcli's REPL: the command table, dispatch, help and completion,
// the dialog primitives every command uses, and the line editor (readline on a
// terminal, a plain reader that echoes its input otherwise).
package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/delivery"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/store"
)

// UnknownCommand is the answer to a command that is not in the table.
const UnknownCommand = "Unknown command or missing feature key"

// Config is what New needs from the caller.
type Config struct {
	In       LineReader
	Out, Err io.Writer
	Session  *store.Session
	Fs       afero.Fs
	Now      func() time.Time
	// Hostname, if set, is shown in the prompt instead of the configured hostname.
	Hostname string
	// Terminal: stdin and stdout are a terminal.
	Terminal bool
	// Pager, if set, is used by Env.Page (the terminal pager).
	Pager func(text string) error
	// Signals: cancel a running command's context on SIGINT (terminal sessions).
	Signals bool
	// Resolver returns the session's DNS resolver (see Env.Resolver).
	Resolver func() (*dns.Resolver, error)
	// Trust returns the session's trust pool (see Env.Trust).
	Trust func() (*trust.Pool, error)
	// MTASTS, Log and Dial: see Env.
	MTASTS func() (*mtasts.Engine, error)
	Log    maillog.Logger
	Dial   func(ctx context.Context, network, addr, host string) (net.Conn, error)
	// MailLog, Queue and Delivery: see Env.
	MailLog  *maillog.File
	Queue    *queue.Queue
	Delivery func(ctx context.Context) (*delivery.Runner, func(), error)
	// Background are tasks that run while Run reads commands (the retries of
	// deferred mail): each starts with Run and gets a context that is cancelled
	// when Run returns, which waits for them to end. They must not print: the
	// screen belongs to the prompt. RunBatch does not start them.
	Background []func(ctx context.Context)
}

// Shell runs commands from the table against one session.
type Shell struct {
	env        *Env
	tab        *table
	lr         LineReader
	signals    bool
	failed     bool
	done       bool
	background []func(ctx context.Context)
}

// New returns a shell with the given commands plus its own help, quit and exit.
func New(cfg Config, cmds ...Command) *Shell {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = maillog.Discard{}
	}
	s := &Shell{lr: cfg.In, signals: cfg.Signals, background: cfg.Background}
	s.env = &Env{
		Out: cfg.Out, Err: cfg.Err,
		P:       NewPrompter(cfg.In, cfg.Out),
		In:      cfg.In,
		Session: cfg.Session, Fs: cfg.Fs, Now: cfg.Now,
		Terminal: cfg.Terminal,
		Resolver: cfg.Resolver,
		Trust:    cfg.Trust,
		MTASTS:   cfg.MTASTS,
		Log:      cfg.Log,
		Dial:     cfg.Dial,
		MailLog:  cfg.MailLog,
		Queue:    cfg.Queue,
		Delivery: cfg.Delivery,
		pager:    cfg.Pager,
	}
	s.env.Hostname = func() string {
		if cfg.Hostname != "" {
			return cfg.Hostname
		}
		_, c := s.env.Session.Committed()
		return c.Hostname
	}
	all := append([]Command{
		{Name: "help", Usage: "help [COMMAND]", Summary: "List the commands, or show the usage of one command.", Run: s.help},
		{Name: "quit", Usage: "quit", Summary: "Leave the shell (asks first when changes are not committed).", Run: s.quit},
		{Name: "exit", Usage: "exit", Summary: "Leave the shell (asks first when changes are not committed).", Run: s.quit},
	}, cmds...)
	s.tab = newTable(all)
	s.tab.byName["?"] = s.tab.byName["help"]
	return s
}

// Env returns the environment commands run with.
func (s *Shell) Env() *Env { return s.env }

// Commands returns the command table in order.
func (s *Shell) Commands() []Command { return append([]Command(nil), s.tab.cmds...) }

// Prompt is the main prompt, "HOSTNAME> ".
func (s *Shell) Prompt() string { return s.env.Hostname() + "> " }

// Run is the REPL: it reads command lines until quit, or EOF. It returns the exit
// status: 0, or 1 when a command failed. The background tasks run meanwhile.
func (s *Shell) Run(ctx context.Context) int {
	stop := s.startBackground(ctx)
	defer stop()
	for !s.done {
		line, err := s.lr.ReadLine(s.Prompt(), s.complete)
		switch {
		case errors.Is(err, ErrInterrupt):
			continue
		case errors.Is(err, io.EOF):
			if s.env.Terminal {
				// Ctrl-D at the prompt: leave as `exit` does.
				s.exec(ctx, []string{"exit"})
				continue
			}
			return s.status()
		case err != nil:
			fmt.Fprintln(s.env.Err, err)
			s.failed = true
			return s.status()
		}
		if strings.TrimSpace(line) != "" {
			s.lr.AddHistory(strings.TrimSpace(line))
		}
		if s.ExecLine(ctx, line) {
			return s.status()
		}
	}
	return s.status()
}

// startBackground starts the background tasks and returns the function that
// cancels them and waits for them to end.
func (s *Shell) startBackground(ctx context.Context) func() {
	if len(s.background) == 0 {
		return func() {}
	}
	bctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, task := range s.background {
		wg.Go(func() { task(bctx) })
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// RunBatch runs one command line (-c) without the main prompt and returns the exit
// status.
func (s *Shell) RunBatch(ctx context.Context, line string) int {
	s.env.Batch = true
	s.ExecLine(ctx, line)
	return s.status()
}

func (s *Shell) status() int {
	if s.failed {
		return 1
	}
	return 0
}

// ExecLine runs the `;`-separated commands of line. It reports whether the input
// ended inside a dialog (the session is over).
func (s *Shell) ExecLine(ctx context.Context, line string) (eof bool) {
	cmds, err := splitLine(line)
	if err != nil {
		fmt.Fprintln(s.env.Err, err)
		s.failed = true
		return false
	}
	for _, words := range cmds {
		if s.done {
			return false
		}
		err := s.exec(ctx, words)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false // the rest of a `;` batch is not run after a failure
		}
	}
	return false
}

// exec runs one command and prints its error. It returns the error (io.EOF when the
// input ended in a dialog).
func (s *Shell) exec(ctx context.Context, words []string) error {
	c, ok := s.tab.lookup(words[0])
	if !ok {
		fmt.Fprintln(s.env.Err, UnknownCommand)
		s.failed = true
		return errors.New(UnknownCommand)
	}
	if s.signals {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
	}
	err := c.Run(ctx, s.env, words[1:])
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrAbort) && errors.Is(err, ErrInterrupt):
		fmt.Fprintln(s.env.Out)
		return nil // Ctrl-C: back to the prompt, nothing changed
	case errors.Is(err, ErrAbort):
		return io.EOF // input ended: the dialog changed nothing and the session is over
	}
	fmt.Fprintln(s.env.Err, strings.TrimRight(err.Error(), "\n"))
	s.failed = true
	return err
}

func (s *Shell) help(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		s.tab.writeHelp(e.Out)
		return nil
	}
	c, ok := s.tab.lookup(args[0])
	if !ok {
		return fmt.Errorf("help: no command %q; type \"help\" for the list", args[0])
	}
	writeCommandHelp(e.Out, c)
	return nil
}

func (s *Shell) quit(ctx context.Context, e *Env, args []string) error {
	pending, err := e.Session.Pending()
	if err != nil {
		return err
	}
	if pending {
		ok, err := e.P.YesNo("You have uncommitted changes. Are you sure you want to exit?", false)
		if err != nil || !ok {
			return err
		}
	}
	s.done = true
	return nil
}

// complete offers command names for the first word, then the command's own
// candidates.
func (s *Shell) complete(before []string, word string) []string {
	if len(before) == 0 {
		return s.tab.names()
	}
	c, ok := s.tab.lookup(before[0])
	if !ok {
		return nil
	}
	if c.Complete != nil {
		return c.Complete(s.env, before[1:])
	}
	if len(before) == 1 {
		if c.Name == "help" {
			return s.tab.names()
		}
		return c.Menu
	}
	return nil
}
