// Package maillog holds the commands that read and tune the mail log: tail (the end
// of a log, then what is written to it until Ctrl-C on a terminal), grep (the lines
// of a log and its rotated files that match a regular expression) and loglevel (the
// level of the session's mail log).
//
// The logs are files of the data directory's logs folder; mail_logs is the one the
// engine writes (engine/maillog), rotated by size to mail_logs.1, mail_logs.2, ...
// The level loglevel sets applies to this session (the shell and its background
// delivery) until it ends: a new session, and `segcli --run-queue`, start at Info.
package maillog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/afero"

	mlog "github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/shell"
)

// DefaultLog is the log tail reads when none is named.
const DefaultLog = "mail_logs"

// maxLine bounds a line read from a log.
const maxLine = 1 << 20

// Commands returns tail, grep and loglevel.
func Commands() []shell.Command {
	return []shell.Command{
		{
			Name:    "tail",
			Usage:   "tail [-n LINES] [LOG]",
			Summary: "Show the end of a log and follow it.",
			Description: `Prints the last lines of LOG (mail_logs when none is named; 10 lines, or LINES).
At a terminal it then prints each line written to the log as it comes, until
Ctrl-C; otherwise (piped input, -c) it stops after the last line.`,
			Complete: completeLog,
			Run:      runTail,
		},
		{
			Name:    "grep",
			Usage:   "grep [-i] [-v] REGEX LOG",
			Summary: "Search a log for lines matching a regular expression.",
			Description: `Prints the lines of LOG, oldest first and its rotated files included, that match
REGEX (Go's regular expressions, RE2 syntax).

  -i  ignore case
  -v  print the lines that do not match`,
			Complete: completeLog,
			Run:      runGrep,
		},
		{
			Name:    "loglevel",
			Usage:   "loglevel [LEVEL]",
			Summary: "Show or change the level of the mail log.",
			Description: `Sets the level of mail_logs: Critical, Warning, Info, Debug or Trace (each level
includes the ones before it; Info is the default). Without LEVEL it shows the level
and asks for the new one. The level applies to this session, its background delivery
included, until it ends; a new session starts at Info.`,
			Menu: []string{"critical", "warning", "info", "debug", "trace"},
			Run:  runLoglevel,
		},
	}
}

// logPath returns the path of the log named name in the data directory.
func logPath(e *shell.Env, name string) (string, error) {
	if name == DefaultLog {
		if e.MailLog != nil {
			return e.MailLog.Path(), nil
		}
		return mlog.DefaultPath, nil
	}
	return "", fmt.Errorf("no log named %q; the logs are: %s", name, DefaultLog)
}

func completeLog(e *shell.Env, before []string) []string { return []string{DefaultLog} }

// tailOptions are tail's parsed arguments.
type tailOptions struct {
	lines int
	log   string
}

func parseTail(args []string) (tailOptions, error) {
	o := tailOptions{lines: 10}
	const usage = "usage: tail [-n LINES] [LOG]"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-n":
			if i+1 >= len(args) {
				return o, fmt.Errorf("tail: -n needs a number of lines; %s", usage)
			}
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 1 || n > 100000 {
				return o, fmt.Errorf("tail: -n %q: give a number of lines from 1 to 100000", args[i])
			}
			o.lines = n
		case strings.HasPrefix(a, "-"):
			return o, fmt.Errorf("tail: unknown option %q; %s", a, usage)
		case o.log != "":
			return o, fmt.Errorf("tail: give one log; %s", usage)
		default:
			o.log = a
		}
	}
	if o.log == "" {
		o.log = DefaultLog
	}
	return o, nil
}

func runTail(ctx context.Context, e *shell.Env, args []string) error {
	o, err := parseTail(args)
	if err != nil {
		return err
	}
	p, err := logPath(e, o.log)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	lines, err := lastLines(e.Fs, p, o.lines)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	for _, l := range lines {
		fmt.Fprintln(e.Out, l)
	}
	if !e.Terminal {
		return nil
	}
	fmt.Fprintln(e.Out, "Press Ctrl-C to stop.")
	err = follow(ctx, e.Fs, p, e.Out, followPoll)
	fmt.Fprintln(e.Out)
	return err
}

// lastLines returns the last n lines of the log at p, taken from its rotated
// files when the log itself has fewer.
func lastLines(fsys afero.Fs, p string, n int) ([]string, error) {
	files := mlog.Files(fsys, p)
	var out []string
	for i := len(files) - 1; i >= 0 && len(out) < n; i-- {
		lines, err := fileTail(fsys, files[i], n-len(out))
		if err != nil {
			return nil, err
		}
		out = append(lines, out...)
	}
	return out, nil
}

// fileTail returns the last n lines of one file.
func fileTail(fsys afero.Fs, name string, n int) ([]string, error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ring := make([]string, 0, n)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		if len(ring) == n {
			ring = ring[1:]
		}
		ring = append(ring, sc.Text())
	}
	return ring, sc.Err()
}

// followPoll is how often tail looks for new lines.
const followPoll = 250 * time.Millisecond

// follow prints the lines written to the log at p from its current end, until ctx
// ends. A log rotated meanwhile (renamed, a new one created) is followed to its
// end and then the new log from its start.
func follow(ctx context.Context, fsys afero.Fs, p string, w io.Writer, poll time.Duration) error {
	f, err := fsys.Open(p)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	fi, err := f.Stat() // the size, not Seek: afero's in-memory files race on Seek
	if err != nil {
		return err
	}
	off := fi.Size()
	var partial []byte
	buf := make([]byte, 64<<10)
	drain := func() error {
		for {
			n, err := f.ReadAt(buf, off)
			if n > 0 {
				off += int64(n)
				partial = append(partial, buf[:n]...)
				if i := bytes.LastIndexByte(partial, '\n'); i >= 0 {
					if _, werr := w.Write(partial[:i+1]); werr != nil {
						return werr
					}
					partial = slices.Clone(partial[i+1:])
				}
			}
			if errors.Is(err, io.EOF) || n == 0 {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := drain(); err != nil {
			return err
		}
		if !replaced(fsys, p, f, off) {
			continue
		}
		// Rotated. The writer closed the old file before renaming it: read it to
		// its end again (lines may have come since the read above), then the files
		// rotated after it, if the log was rotated more than once since the last
		// look (found by their identity on disk), and the new log from its start.
		if err := drain(); err != nil {
			return err
		}
		nf, err := fsys.Open(p)
		if err != nil {
			continue // between the rename and the new log
		}
		nfi, _ := nf.Stat()
		for _, name := range rotatedAfter(fsys, p, f) {
			if fi, err := fsys.Stat(name); err == nil && nfi != nil && os.SameFile(fi, nfi) {
				break // the new log was rotated too meanwhile: the next look reads on
			}
			of, err := fsys.Open(name)
			if err != nil {
				continue
			}
			f.Close()
			f, off, partial = of, 0, nil
			if err := drain(); err != nil {
				nf.Close()
				return err
			}
		}
		f.Close()
		f, off, partial = nf, 0, nil
		if err := drain(); err != nil {
			return err
		}
	}
}

// rotatedAfter returns the rotated files of the log at p that are newer than f,
// oldest first: f is mail_logs.K, they are mail_logs.K-1 ... mail_logs.1. Without
// file identities (a file system that is not on disk) it returns none.
func rotatedAfter(fsys afero.Fs, p string, f afero.File) []string {
	mine, err := f.Stat()
	if err != nil {
		return nil
	}
	if _, ok := mine.Sys().(*syscall.Stat_t); !ok {
		return nil
	}
	for k := 1; ; k++ {
		fi, err := fsys.Stat(p + "." + strconv.Itoa(k))
		if err != nil {
			return nil
		}
		if os.SameFile(fi, mine) {
			var out []string
			for i := k - 1; i >= 1; i-- {
				out = append(out, p+"."+strconv.Itoa(i))
			}
			return out
		}
	}
}

// replaced reports whether the path p no longer names the open file f (read up to
// off): it was rotated away.
func replaced(fsys afero.Fs, p string, f afero.File, off int64) bool {
	at, err := fsys.Stat(p)
	if err != nil {
		return false
	}
	mine, err := f.Stat()
	if err != nil {
		return false
	}
	if _, ok := at.Sys().(*syscall.Stat_t); ok {
		return !os.SameFile(at, mine)
	}
	return at.Size() < off
}

// grepOptions are grep's parsed arguments.
type grepOptions struct {
	ignoreCase, invert bool
	re                 *regexp.Regexp
	log                string
}

func parseGrep(args []string) (grepOptions, error) {
	var o grepOptions
	const usage = "usage: grep [-i] [-v] REGEX LOG"
	var pos []string
	opts := true
	for _, a := range args {
		switch {
		case opts && a == "--":
			opts = false
		case opts && len(a) > 1 && strings.HasPrefix(a, "-"):
			for _, c := range a[1:] {
				switch c {
				case 'i':
					o.ignoreCase = true
				case 'v':
					o.invert = true
				default:
					return o, fmt.Errorf("grep: unknown option %q; %s", a, usage)
				}
			}
		default:
			opts = false
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return o, fmt.Errorf("grep: give a regular expression and a log; %s", usage)
	}
	expr := pos[0]
	if o.ignoreCase {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return o, fmt.Errorf("grep: bad regular expression %q: %v", pos[0], strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	o.re, o.log = re, pos[1]
	return o, nil
}

func runGrep(ctx context.Context, e *shell.Env, args []string) error {
	o, err := parseGrep(args)
	if err != nil {
		return err
	}
	p, err := logPath(e, o.log)
	if err != nil {
		return fmt.Errorf("grep: %w", err)
	}
	var b strings.Builder
	var w io.Writer = e.Out
	if e.Terminal {
		w = &b // paged at the end
	}
	for _, name := range mlog.Files(e.Fs, p) {
		if err := grepFile(ctx, e.Fs, name, o, w); err != nil {
			return fmt.Errorf("grep: %w", err)
		}
	}
	if e.Terminal {
		return e.Page(b.String())
	}
	return nil
}

// grepFile writes the lines of one file that o selects.
func grepFile(ctx context.Context, fsys afero.Fs, name string, o grepOptions, w io.Writer) error {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // rotated away meanwhile
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for n := 0; sc.Scan(); n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if o.re.Match(sc.Bytes()) != o.invert {
			if _, err := fmt.Fprintln(w, sc.Text()); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

// levels are the choices of loglevel's dialog, in Level order.
var levels = []string{"Critical", "Warning", "Info", "Debug", "Trace"}

func runLoglevel(ctx context.Context, e *shell.Env, args []string) error {
	if e.MailLog == nil {
		return errors.New("loglevel: this session has no mail log")
	}
	cur := e.MailLog.Level()
	var level mlog.Level
	switch len(args) {
	case 0:
		fmt.Fprintf(e.Out, "The level of %s is %s.\n", DefaultLog, cur)
		n, err := e.P.Choose("Choose the level of "+DefaultLog+":", levels, int(cur)+1)
		if err != nil {
			return err
		}
		level = mlog.Level(n - 1)
	case 1:
		l, err := mlog.ParseLevel(args[0])
		if err != nil {
			return fmt.Errorf("loglevel: unknown level %q: give one of %s", args[0], strings.Join(levels, ", "))
		}
		level = l
	default:
		return errors.New("loglevel: give one level; usage: loglevel [LEVEL]")
	}
	e.MailLog.SetLevel(level)
	fmt.Fprintf(e.Out, "The level of %s is now %s, for this session.\n", DefaultLog, level)
	return nil
}
