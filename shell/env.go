package shell

import (
	"context"
	"fmt"
	"io"
	"net"
	"path"
	"strings"
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

// Env carries the outside world into commands: input, output, the session's
// configuration, the data directory and the clock. Nothing in segcli reaches for
// os.Stdin, os.Stdout or time.Now directly.
type Env struct {
	// Out is the screen; Err receives errors and diagnostics (under -c they stay out of
	// a --json result on Out).
	Out, Err io.Writer
	// P asks dialog questions.
	P *Prompter
	// In is the line reader behind P, for commands that read raw lines (telnet).
	In LineReader
	// Session holds the committed configuration and this session's candidate.
	Session *store.Session
	// Fs is the data directory (files named by the operator live in its
	// "configuration" folder, as on the appliance).
	Fs afero.Fs
	// Now is the clock.
	Now func() time.Time
	// Terminal is true when the operator types at a terminal (line editor, pager,
	// progress output).
	Terminal bool
	// Batch is true under -c: no main prompt, commands given on the command line.
	Batch bool
	// Hostname is the name shown in the prompt.
	Hostname func() string
	// Resolver returns the session's DNS resolver: the --resolver server if one was
	// given, else the servers of the committed dnsconfig.
	Resolver func() (*dns.Resolver, error)
	// Trust returns the trust pool of the committed CA lists plus the session's
	// --ca-file certificates: what PKIX verification (policy hosts, Verify TLS modes,
	// MTA-STS MX checks) uses.
	Trust func() (*trust.Pool, error)
	// MTASTS returns the MTA-STS engine of the committed configuration (resolver, trust
	// pool, the persistent policy cache of the data directory, the proxy).
	MTASTS func() (*mtasts.Engine, error)
	// Log is the mail log the engine writes to.
	Log maillog.Logger
	// MailLog is the mail log file of the data directory (logs/mail_logs) behind Log:
	// what tail and grep read and loglevel changes. Nil when the session has none.
	MailLog *maillog.File
	// Queue is the outbound spool of the data directory; nil when the session has
	// none.
	Queue *queue.Queue
	// Delivery returns the delivery runner of the committed configuration (the
	// destconfig entries, SMTP routes, certificate, resolver, trust pool and
	// MTA-STS engine), rebuilt after a commit. The shell's background delivery is
	// paused until release is called, so that a command's delivery and its report
	// are its own; Delivery waits for a background round in progress (until ctx
	// ends). Nil when the session cannot deliver.
	Delivery func(ctx context.Context) (r *delivery.Runner, release func(), err error)
	// Dial opens the TCP connections of network commands (telnet, probes, fetches):
	// nil means a plain net.Dialer. Tests use it to send the real ports (25, 443) of
	// a name to listeners on ephemeral loopback ports. addr is "ip:port", host the
	// name it was resolved from.
	Dial func(ctx context.Context, network, addr, host string) (net.Conn, error)

	pager func(text string) error
}

// Page prints text, pausing with `-Press Any Key For More-` each screenful on a
// terminal; elsewhere it prints it whole.
func (e *Env) Page(text string) error {
	if e.pager != nil {
		return e.pager(text)
	}
	_, err := io.WriteString(e.Out, text)
	return err
}

// DialContext opens a TCP connection through Dial when it is set.
func (e *Env) DialContext(ctx context.Context, network, addr, host string) (net.Conn, error) {
	if e.Dial != nil {
		return e.Dial(ctx, network, addr, host)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// FormatTime renders t as the appliance does: "Sun Nov 29 13:26:28 2026 UTC".
func FormatTime(t time.Time) string { return t.Format(store.TimeLayout) }

// ConfigDir is the data directory's folder for files the operator names in
// saveconfig, loadconfig, import and export commands, as on the appliance.
const ConfigDir = "configuration"

// ConfigPath returns the path in the data directory of the file an operator named.
// Only plain file names are accepted: no folders, no "..".
func (e *Env) ConfigPath(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
		return "", fmt.Errorf("%q is not a file name: give a name such as config.toml; files live in the %q folder of the data directory", name, ConfigDir)
	}
	if err := e.Fs.MkdirAll(ConfigDir, 0o700); err != nil {
		return "", fmt.Errorf("create %s folder: %w", ConfigDir, err)
	}
	return path.Join(ConfigDir, name), nil
}

// ReadConfigFile reads the file the operator named from the configuration folder,
// refusing a missing file, a folder and a file larger than max bytes. Its errors say
// what to do next; callers add their command's name.
func (e *Env) ReadConfigFile(name string, max int64) ([]byte, error) {
	p, err := e.ConfigPath(name)
	if err != nil {
		return nil, err
	}
	fi, err := e.Fs.Stat(p)
	switch {
	case err != nil:
		return nil, fmt.Errorf("there is no file %q in the %q folder of the data directory: copy it there first", name, ConfigDir)
	case fi.IsDir():
		return nil, fmt.Errorf("%q is a folder, not a file", name)
	case fi.Size() > max:
		return nil, fmt.Errorf("the file %q is larger than %s", name, byteSize(max))
	}
	f, err := e.Fs.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("the file %q is larger than %s", name, byteSize(max))
	}
	return data, nil
}

// byteSize renders a size bound for an operator: "64 MiB", "512 KiB", "100 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
