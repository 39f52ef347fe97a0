// Package dnsconfig holds dnsconfig, the dialog that chooses the DNS servers the
// gateway asks: the machine's resolvers (the nameserver lines of /etc/resolv.conf,
// the factory default) or a list the operator enters, each an IP address, a port and
// whether its DNSSEC validation (the AD bit) is trusted. Loopback servers are always
// trusted (see engine/dns). Changes go to the session's candidate and take effect
// with commit; the --resolver flag overrides them for one session.
package dnsconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// ResolvConf is the file whose nameserver lines are "the machine's resolvers".
const ResolvConf = "/etc/resolv.conf"

// Command returns dnsconfig.
func Command() shell.Command {
	return shell.Command{
		Name: "dnsconfig",
		Usage: `dnsconfig
       dnsconfig list
       dnsconfig new ADDRESS[:PORT] [--port=PORT] [--trusted[=yes|no]]
       dnsconfig edit NUMBER|ADDRESS[:PORT] [--address=ADDRESS] [--port=PORT] [--trusted=yes|no]
       dnsconfig delete NUMBER|ADDRESS[:PORT]
       dnsconfig resolvconf
       dnsconfig own`,
		Summary: "Configure DNS servers.",
		Description: `Chooses the DNS servers the gateway asks: the machine's resolvers (the nameserver
lines of /etc/resolv.conf, the default) or your own list. Each server of the list is
an IP address, a port (53 by default) and whether its DNSSEC validation is trusted:
the AD bit of its answers counts for DANE only when it is (a loopback server always
is). Answer Y only for a validating resolver reached over a secure path.

Without arguments it shows the servers and asks what to change. "new" adds a server
and uses your own list from then on; "delete" removes one (the machine's resolvers
are used again when none is left); "resolvconf" and "own" switch between the
machine's resolvers and your list. Changes take effect with "commit"; --resolver
overrides them for one session.`,
		Menu: []string{"list", "new", "edit", "delete", "resolvconf", "own"},
		Run:  run,
	}
}

func run(ctx context.Context, e *shell.Env, args []string) error {
	if len(args) == 0 {
		return dialog(e)
	}
	c := e.Session.Edit()
	d := &c.DNS
	var err error
	switch sub, rest := strings.ToLower(args[0]), args[1:]; sub {
	case "list":
		if len(rest) > 0 {
			return errors.New("usage: dnsconfig list")
		}
		writeStatus(e.Out, e.Session.Config().DNS)
		return nil
	case "new":
		err = batchNew(e.Out, d, rest)
	case "edit":
		err = batchEdit(d, rest)
	case "delete":
		err = batchDelete(e.Out, d, rest)
	case "resolvconf":
		if len(rest) > 0 {
			return errors.New("usage: dnsconfig resolvconf")
		}
		d.UseResolvConf = true
	case "own":
		if len(rest) > 0 {
			return errors.New("usage: dnsconfig own")
		}
		if len(d.Servers) == 0 {
			return errors.New("dnsconfig: there are no servers of your own yet: add one with \"dnsconfig new ADDRESS\"")
		}
		d.UseResolvConf = false
	default:
		return fmt.Errorf("dnsconfig: unknown operation %q: use list, new, edit, delete, resolvconf or own (see \"help dnsconfig\")", args[0])
	}
	if err != nil {
		return err
	}
	e.Session.Set(c)
	return nil
}

// writeStatus prints which servers are in use, and the list of the operator's own.
func writeStatus(w io.Writer, d store.DNSConfig) {
	var b strings.Builder
	switch {
	case d.UseResolvConf:
		fmt.Fprintf(&b, "\nCurrently using the machine's resolvers (%s).\n", ResolvConf)
		if len(d.Servers) > 0 {
			b.WriteString("Your own DNS servers (not in use):\n")
		}
	default:
		b.WriteString("\nCurrently using your own DNS servers:\n")
	}
	for i, s := range d.Servers {
		fmt.Fprintf(&b, "%d. %s\n", i+1, describe(s))
	}
	io.WriteString(w, b.String())
}

// describe renders one server: "192.0.2.53 port 53, not trusted for DNSSEC".
func describe(s store.DNSServer) string {
	trust := "not trusted for DNSSEC"
	switch {
	case isLoopback(s.Address):
		trust = "trusted for DNSSEC (loopback)"
	case s.Trusted:
		trust = "trusted for DNSSEC"
	}
	return fmt.Sprintf("%s port %d, %s", s.Address, portOf(s), trust)
}

func portOf(s store.DNSServer) int {
	if s.Port == 0 {
		return 53
	}
	return s.Port
}

func isLoopback(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && a.Unmap().IsLoopback()
}

// parseAddress reads a server address: "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT".
// It returns the address in canonical form and the port (0 when none was given).
func parseAddress(s string) (string, int, error) {
	s = strings.TrimSpace(s)
	var (
		a    netip.Addr
		port int
	)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return "", 0, badPort(strconv.Itoa(int(ap.Port())))
		}
		a, port = ap.Addr(), int(ap.Port())
	} else if x, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		a = x
	} else {
		return "", 0, fmt.Errorf("%q is not an IP address: enter the DNS server's IP address, such as 192.0.2.53 (a host name would need a DNS server to find it)", s)
	}
	switch a = a.Unmap(); {
	case a.Zone() != "":
		return "", 0, fmt.Errorf("%q: an address with a zone (%%%s) is not supported: enter a global or loopback address", s, a.Zone())
	case a.IsUnspecified(), a.IsMulticast():
		return "", 0, fmt.Errorf("%s is not the address of a server: enter the DNS server's IP address, such as 192.0.2.53", a)
	}
	return a.String(), port, nil
}

func badPort(s string) error {
	return fmt.Errorf("port %q: enter a number from 1 to 65535", s)
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, badPort(s)
	}
	return p, nil
}

// index returns the position of the server address:port in d, or -1.
func index(d *store.DNSConfig, addr string, port int) int {
	for i, s := range d.Servers {
		if s.Address == addr && portOf(s) == port {
			return i
		}
	}
	return -1
}

// useOwn switches to the operator's servers after one was added, and says so.
func useOwn(w io.Writer, d *store.DNSConfig) {
	if d.UseResolvConf {
		d.UseResolvConf = false
		fmt.Fprintf(w, "\nYour own DNS servers are used from now on, instead of the machine's resolvers (%s).\n", ResolvConf)
	}
}

// removeAt deletes server i; with none left, the machine's resolvers are used again.
func removeAt(w io.Writer, d *store.DNSConfig, i int) {
	d.Servers = append(d.Servers[:i], d.Servers[i+1:]...)
	if len(d.Servers) == 0 {
		d.Servers = nil
		if !d.UseResolvConf {
			d.UseResolvConf = true
			fmt.Fprintf(w, "\nNo DNS server of your own is left: the machine's resolvers (%s) are used.\n", ResolvConf)
		}
	}
}
