// Package commands builds segcli's command table from the command packages. The one
// table drives dispatch, help, completion and the README's command list.
package commands

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands/certconfig"
	"github.com/segcli/segcli/commands/commit"
	"github.com/segcli/segcli/commands/daneverify"
	"github.com/segcli/segcli/commands/deliver"
	"github.com/segcli/segcli/commands/destconfig"
	"github.com/segcli/segcli/commands/dig"
	"github.com/segcli/segcli/commands/dnsconfig"
	"github.com/segcli/segcli/commands/hostname"
	mailcmds "github.com/segcli/segcli/commands/maillog"
	"github.com/segcli/segcli/commands/mtastsverify"
	"github.com/segcli/segcli/commands/smtproutes"
	"github.com/segcli/segcli/commands/telnet"
	"github.com/segcli/segcli/commands/tlsverify"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/trust"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts"
)

// Table returns every command of segcli (the shell adds help, quit and exit).
func Table() []shell.Command {
	var t []shell.Command
	t = append(t, commit.Commands()...)
	t = append(t, hostname.Command())
	t = append(t, destconfig.NewCommand(destconfig.Checks{MTASTS: mtastsverify.Check, DANE: daneverify.Check}), smtproutes.Command())
	t = append(t, certconfig.Command())
	t = append(t, dnsconfig.Command(), dig.Command(), telnet.Command())
	t = append(t, mtastsverify.Commands()...)
	t = append(t, daneverify.Commands()...)
	t = append(t, tlsverify.Command())
	t = append(t, deliver.Commands()...)
	t = append(t, mailcmds.Commands()...)
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
	// Resolver (HOST[:PORT]) replaces dnsconfig's servers for the session.
	Resolver string
	// ResolvConf is the file dnsconfig's "use the machine's resolvers" reads
	// (default /etc/resolv.conf).
	ResolvConf string
	// ExtraCAs are PEM certificates trusted for the session (--ca-file).
	ExtraCAs []byte
	// HTTPSProxy is the proxy of policy fetches when destconfig setup names none
	// (the HTTPS_PROXY environment variable, read by the caller).
	HTTPSProxy string
	// Log, if set, receives the mail log's lines too (tests); the mail log itself is
	// the data directory's logs/mail_logs.
	Log maillog.Logger
	// Dial redirects connections (tests only; see shell.Env.Dial).
	Dial func(ctx context.Context, network, addr, host string) (net.Conn, error)
	// DemoSeed makes a new data directory's demonstration certificate reproducible
	// (tests and transcripts only: never on a real gateway).
	DemoSeed []byte
	// DataDir is the data directory's path on disk, for the lock files that
	// serialise the mail log's counters and the queue between processes; empty
	// when Fs is not on disk (they are then serialised within this process only).
	DataDir string
	// Background retries deferred mail while Shell.Run reads commands (an
	// interactive session); off, mail is delivered only by commands (deliver,
	// deliverynow) and `segcli --run-queue`.
	Background bool
}

// NewShell opens the store in the data directory (creating the factory defaults on
// first use), takes a session and returns the shell with the whole command table.
// The session's mail log is the data directory's logs/mail_logs (level Info, which
// loglevel changes for the session), its queue the data directory's spool.
func NewShell(ctx context.Context, o Options) (*shell.Shell, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	st, err := store.Open(ctx, o.Fs, store.Options{Locker: o.Locker, Now: o.Now, User: o.User, Hostname: o.Hostname, DemoSeed: o.DemoSeed})
	if err != nil {
		return nil, err
	}
	sess, err := st.NewSession(ctx)
	if err != nil {
		return nil, err
	}
	resolver, err := newResolvers(o, sess)
	if err != nil {
		return nil, err
	}
	_, c := sess.Committed()
	m, err := openMail(o, c.Hostname)
	if err != nil {
		return nil, err
	}
	trustFn := newTrust(o, sess)
	stsFn := newMTASTS(o, sess, resolver, trustFn, m.log)
	var bg []func(context.Context)
	if o.Background {
		bg = append(bg, m.background(o, st))
	}
	return shell.New(shell.Config{
		In: o.In, Out: o.Out, Err: o.Err,
		Session: sess, Fs: o.Fs, Now: o.Now, Hostname: o.Prompt,
		Terminal: o.Terminal, Pager: o.Pager, Signals: o.Signals,
		Resolver:   resolver,
		Trust:      trustFn,
		MTASTS:     stsFn,
		Log:        m.log,
		Dial:       o.Dial,
		MailLog:    m.file,
		Queue:      m.queue,
		Delivery:   m.delivery(o, newRunner(o, sess, m, resolver, trustFn, stsFn)),
		Background: bg,
	}, Table()...), nil
}

// newMTASTS returns the session's MTA-STS engine source, rebuilt when a commit
// changes the configuration; the policy cache is the data directory's and outlives
// every engine.
func newMTASTS(o Options, sess *store.Session, resolver func() (*dns.Resolver, error), pool func() (*trust.Pool, error), log maillog.Logger) func() (*mtasts.Engine, error) {
	var (
		cached *mtasts.Engine
		rev    = -1
	)
	cache := mtasts.NewFileCache(o.Fs, mtastsverify.CacheDir)
	return func() (*mtasts.Engine, error) {
		r, c := sess.Committed()
		if cached != nil && r.Number == rev {
			return cached, nil
		}
		res, err := resolver()
		if err != nil {
			return nil, err
		}
		p, err := pool()
		if err != nil {
			return nil, err
		}
		cfg := mtasts.Config{Resolver: res, RootCAs: p.CertPool(), Cache: cache, Log: log, EHLOName: c.Hostname, Now: o.Now, Dial: o.Dial}
		proxy := c.Destinations.HTTPProxy
		if proxy == "" {
			proxy = o.HTTPSProxy
		}
		if proxy != "" {
			u, err := url.Parse(proxy)
			if err != nil || u.Host == "" {
				return nil, fmt.Errorf("the HTTP proxy %q for MTA-STS policy fetches is not a URL such as http://proxy.example.com:3128", proxy)
			}
			cfg.Proxy = u
		}
		e, err := mtasts.New(cfg)
		if err != nil {
			return nil, err
		}
		cached, rev = e, r.Number
		return cached, nil
	}
}

// newTrust returns the session's trust pool source: the committed CA lists plus the
// --ca-file certificates, rebuilt when a commit changes the configuration.
func newTrust(o Options, sess *store.Session) func() (*trust.Pool, error) {
	var (
		cached *trust.Pool
		rev    = -1
	)
	return func() (*trust.Pool, error) {
		r, c := sess.Committed()
		if cached != nil && r.Number == rev {
			return cached, nil
		}
		var extra [][]byte
		if len(o.ExtraCAs) > 0 {
			extra = [][]byte{o.ExtraCAs}
		}
		p, err := certconfig.TrustPool(c, extra...)
		if err != nil {
			return nil, err
		}
		cached, rev = p, r.Number
		return cached, nil
	}
}

// newResolvers returns the session's resolver source. A --resolver server is used for
// the whole session (trusted for the AD bit only when it is on loopback); otherwise the
// resolver follows the committed dnsconfig and is rebuilt when a commit changes it, so
// its cache lives as long as the configuration it came from.
func newResolvers(o Options, sess *store.Session) (func() (*dns.Resolver, error), error) {
	if o.Resolver != "" {
		srv, err := dns.ParseServer(o.Resolver)
		if err != nil {
			return nil, fmt.Errorf("--resolver %q: %w", o.Resolver, err)
		}
		r := dns.New(dns.Config{Servers: []dns.Server{srv}, Now: o.Now})
		return func() (*dns.Resolver, error) { return r, nil }, nil
	}
	resolvConf := o.ResolvConf
	if resolvConf == "" {
		resolvConf = "/etc/resolv.conf"
	}
	var (
		cached *dns.Resolver
		rev    = -1
	)
	return func() (*dns.Resolver, error) {
		r, c := sess.Committed()
		if cached != nil && r.Number == rev {
			return cached, nil
		}
		servers, err := Servers(c.DNS, resolvConf)
		if err != nil {
			return nil, err
		}
		cached, rev = dns.New(dns.Config{Servers: servers, Now: o.Now}), r.Number
		return cached, nil
	}, nil
}

// Servers returns the DNS servers a dnsconfig selects.
func Servers(c store.DNSConfig, resolvConf string) ([]dns.Server, error) {
	if c.UseResolvConf {
		s, err := dns.ServersFromResolvConf(resolvConf)
		if err != nil {
			return nil, fmt.Errorf("dnsconfig uses the machine's resolvers, but %s has none: %w; use dnsconfig to enter servers", resolvConf, err)
		}
		return s, nil
	}
	if len(c.Servers) == 0 {
		return nil, fmt.Errorf("no DNS servers are configured: use dnsconfig to enter one")
	}
	out := make([]dns.Server, len(c.Servers))
	for i, s := range c.Servers {
		port := s.Port
		if port == 0 {
			port = 53
		}
		out[i] = dns.Server{Addr: net.JoinHostPort(s.Address, strconv.Itoa(port)), Trusted: s.Trusted}
	}
	return out, nil
}

// Runner returns the transcripts.Runner that replays a session with base's data
// directory, locker, prompt and resolv.conf, and the transcript's clock, user,
// hostname, resolver and -c command line.
func Runner(base Options) transcripts.Runner {
	return func(ctx context.Context, t *transcripts.Transcript, in shell.LineReader, out io.Writer) int {
		o := base
		o.In, o.Out, o.Err = in, out, out
		o.Now = func() time.Time { return t.Clock }
		o.User, o.Hostname = t.User, t.Hostname
		if t.Resolver != "" {
			o.Resolver = t.Resolver
		}
		sh, err := NewShell(ctx, o)
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
