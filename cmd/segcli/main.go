// Command segcli is a shell for the outbound-TLS side of a Secure Email Gateway: the
// appliance's configuration dialogs over a versioned configuration store, and the
// MTA-STS, DANE and TLS troubleshooting commands.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

const usage = `usage: segcli [--data-dir DIR] [--hostname NAME] [--resolver HOST[:PORT]] [--ca-file PEM]
              [-c "CMD; CMD ..."] [--replay FILE [--update]] [--record FILE] [--version]
       segcli [--data-dir DIR] [--resolver HOST[:PORT]] [--ca-file PEM] --run-queue
`

// options are the parsed command line.
type options struct {
	dataDir, hostname, command, record, replay, resolver, caFile string
	update, version, runQueue                                    bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("segcli", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.dataDir, "data-dir", "", "data directory (env SEGCLI_DATA_DIR)")
	fs.StringVar(&o.hostname, "hostname", "", "gateway host name for this session")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server HOST[:PORT] for this session")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates trusted for this session")
	fs.StringVar(&o.command, "c", "", "run these commands and exit")
	fs.StringVar(&o.record, "record", "", "record the session to FILE")
	fs.StringVar(&o.replay, "replay", "", "replay the transcript FILE and compare")
	fs.BoolVar(&o.update, "update", false, "with --replay: rewrite FILE with the new screen")
	fs.BoolVar(&o.version, "version", false, "print the version")
	fs.BoolVar(&o.runQueue, "run-queue", false, "deliver the queued mail that is due, refresh the MTA-STS policies close to expiry, and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("segcli: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("segcli: unexpected argument %q (commands go after -c, quoted)", fs.Arg(0))
	case o.update && o.replay == "":
		return o, errors.New("segcli: --update needs --replay FILE")
	case o.replay != "" && (o.command != "" || o.record != ""):
		return o, errors.New("segcli: --replay cannot be combined with -c or --record")
	case o.runQueue && (o.command != "" || o.record != "" || o.replay != ""):
		return o, errors.New("segcli: --run-queue cannot be combined with -c, --replay or --record")
	case o.resolver != "" && badServer(o.resolver) != nil:
		return o, fmt.Errorf("segcli: --resolver: %v", badServer(o.resolver))
	case o.hostname != "" && store.ValidHostname(o.hostname) != nil:
		return o, fmt.Errorf("segcli: --hostname %q: %v", o.hostname, store.ValidHostname(o.hostname))
	}
	return o, nil
}

// dataDir picks the data directory: the flag, SEGCLI_DATA_DIR, $XDG_DATA_HOME/segcli,
// else ~/.local/share/segcli.
func dataDir(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if d := os.Getenv("SEGCLI_DATA_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "segcli"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("segcli: no home directory for the default data directory: give --data-dir: %w", err)
	}
	return filepath.Join(home, ".local", "share", "segcli"), nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\n%s", err, usage)
		return 2
	}
	if o.version {
		fmt.Fprintf(stdout, "segcli %s\n", version)
		return 0
	}
	var cas []byte
	if o.caFile != "" {
		if cas, err = readCAFile(o.caFile); err != nil {
			fmt.Fprintf(stderr, "%v\n%s", err, usage)
			return 2
		}
	}
	dir, err := dataDir(o.dataDir)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(stderr, "segcli: create data directory: %v\n", err)
		return 1
	}
	fsys := afero.NewBasePathFs(afero.NewOsFs(), dir)
	locker := store.FileLocker{Path: filepath.Join(dir, "config", ".lock")}
	if o.replay != "" {
		return replay(ctx, o, dir, fsys, locker, cas, stdout, stderr)
	}
	if o.runQueue {
		return runQueue(ctx, o, dir, fsys, locker, cas, stderr)
	}
	return interactive(ctx, o, dir, fsys, locker, cas, stdin, stdout, stderr)
}

func interactive(ctx context.Context, o options, dir string, fsys afero.Fs, locker store.Locker, cas []byte, stdin io.Reader, stdout, stderr io.Writer) int {
	now := time.Now
	screen, errs := stdout, stderr
	var rec *bytes.Buffer
	start := time.Now().UTC().Truncate(time.Second)
	if o.record != "" {
		// A recorded session's clock stands still so that its replay is exact.
		now = func() time.Time { return start }
		rec = new(bytes.Buffer)
		stdout, stderr = io.MultiWriter(stdout, rec), io.MultiWriter(stderr, rec)
	}
	in, inOK := stdin.(*os.File)
	tty, ttyOK := screen.(*os.File)
	terminal := inOK && ttyOK && shell.IsTerminal(in) && shell.IsTerminal(tty)
	var lr shell.LineReader
	var pager func(string) error
	if terminal {
		t, err := shell.NewTerminal(in, tty, errs, filepath.Join(dir, "history"))
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		lr = t
		if rec != nil {
			lr = &recording{LineReader: t, rec: rec}
		}
		pager = shell.Pager(lr, stdout, shell.TerminalRows(int(tty.Fd())))
	} else {
		lr = shell.NewPlainReader(stdin, stdout)
	}
	defer lr.Close()
	host := o.hostname
	sh, err := commands.NewShell(ctx, commands.Options{
		Fs: fsys, Locker: locker, In: lr, Out: stdout, Err: stderr, Now: now,
		User: store.CurrentUser(), Hostname: hostOr(host), Prompt: host,
		Terminal: terminal, Pager: pager, Signals: terminal, Resolver: o.resolver, ExtraCAs: cas,
		HTTPSProxy: httpsProxy(), DataDir: dir,
		// Deferred mail is retried while an interactive session is open; not under
		// -c, and not while recording (the replay must see the same queue).
		Background: o.command == "" && o.record == "",
	})
	if err != nil {
		fmt.Fprintf(stderr, "segcli: %v\n", err)
		return 1
	}
	var status int
	if o.command != "" {
		status = sh.RunBatch(ctx, o.command)
	} else {
		status = sh.Run(ctx)
	}
	if rec != nil {
		t := &transcripts.Transcript{Hostname: hostOr(host), Clock: start, User: store.CurrentUser(), Command: o.command, Screen: rec.String()}
		if err := os.WriteFile(o.record, t.Format(), 0o600); err != nil {
			fmt.Fprintf(errs, "segcli: write transcript: %v\n", err)
			return 1
		}
	}
	return status
}

func hostOr(h string) string {
	if h == "" {
		return "esa.test"
	}
	return h
}

// recording adds what the line editor showed (prompt and typed line) to a transcript.
type recording struct {
	shell.LineReader
	rec io.Writer
}

func (r *recording) ReadLine(prompt string, c shell.Completer) (string, error) {
	line, err := r.LineReader.ReadLine(prompt, c)
	if err == nil {
		fmt.Fprintf(r.rec, "%s%s\n", prompt, line)
	} else {
		io.WriteString(r.rec, prompt)
	}
	return line, err
}

func (r *recording) ReadSecret(prompt string) (string, error) {
	s, err := r.LineReader.ReadSecret(prompt)
	fmt.Fprintf(r.rec, "%s\n", prompt)
	return s, err
}

func replay(ctx context.Context, o options, dir string, fsys afero.Fs, locker store.Locker, cas []byte, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(o.replay)
	if err != nil {
		fmt.Fprintf(stderr, "segcli: %v\n", err)
		return 1
	}
	t, err := transcripts.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "segcli: %s: %v\n", o.replay, err)
		return 1
	}
	res, err := transcripts.Replay(ctx, t, fsys, nil, commands.Runner(commands.Options{Fs: fsys, Locker: locker, Prompt: o.hostname, Resolver: o.resolver, ExtraCAs: cas, HTTPSProxy: httpsProxy(), DataDir: dir}))
	if err != nil {
		fmt.Fprintf(stderr, "segcli: %s: %v\n", o.replay, err)
		return 1
	}
	if err := transcripts.Check(o.replay, data, t, res.Got); err != nil {
		if !o.update {
			fmt.Fprintln(stderr, err)
			return 1
		}
		t.Screen = res.Got
		if err := os.WriteFile(o.replay, t.Format(), 0o644); err != nil {
			fmt.Fprintf(stderr, "segcli: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "updated %s\n", o.replay)
		return 0
	}
	fmt.Fprintf(stdout, "%s: replay matches (%d lines)\n", o.replay, strings.Count(t.Screen, "\n"))
	return 0
}

// runQueue is --run-queue: the queue is delivered until nothing is due and the
// MTA-STS policies close to expiry are refreshed; what happened is in the mail
// log, and only errors are printed (cron mails any output). SIGINT and SIGTERM
// end the run: deliveries in flight are recorded as far as the servers answered.
func runQueue(ctx context.Context, o options, dir string, fsys afero.Fs, locker store.Locker, cas []byte, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := commands.RunQueue(ctx, commands.Options{
		Fs: fsys, Locker: locker, DataDir: dir, User: store.CurrentUser(), Hostname: hostOr(o.hostname),
		Resolver: o.resolver, ExtraCAs: cas, HTTPSProxy: httpsProxy(),
	})
	if err != nil {
		fmt.Fprintf(stderr, "segcli: %v\n", err)
		return 1
	}
	return 0
}

// badServer checks a --resolver value: an IP address with an optional port.
func badServer(s string) error {
	_, err := dns.ParseServer(s)
	return err
}

// maxCAFile bounds a --ca-file.
const maxCAFile = 16 << 20

// readCAFile reads and checks a --ca-file: PEM certificates only.
func readCAFile(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("segcli: --ca-file: %w", err)
	}
	if fi.Size() > maxCAFile {
		return nil, fmt.Errorf("segcli: --ca-file %s: larger than %d MiB", name, maxCAFile>>20)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("segcli: --ca-file: %w", err)
	}
	if _, err := trust.ParsePEM(data); err != nil {
		return nil, fmt.Errorf("segcli: --ca-file %s: %w", name, err)
	}
	return data, nil
}

// httpsProxy is the proxy for MTA-STS policy fetches from the environment, used when
// destconfig setup names none.
func httpsProxy() string {
	if p := os.Getenv("HTTPS_PROXY"); p != "" {
		return p
	}
	return os.Getenv("https_proxy")
}
