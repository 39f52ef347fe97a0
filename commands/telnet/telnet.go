// Package telnet is the appliance's telnet: a TCP connection to HOST (port 25 by
// default), the lines typed sent with CR LF and the server's lines printed, and an
// escape to a "telnet>" prompt (a line holding ^] or the character 0x1d) with quit,
// close, status and starttls. starttls, which real telnet cannot do, upgrades an SMTP
// session to TLS (EHLO, STARTTLS, RFC 3207) and shows the server's certificate and
// whether it verifies.
//
// Host names are looked up with the session's resolvers (never the machine's);
// addresses are tried in turn, IPv4 first, with messages in telnet's words
// ("telnet: Unable to connect to remote host: Connection refused").
//
// Piped input (not a terminal) is a conversation: before each line is sent, telnet
// waits for the server's reply to the previous one, so that the screen reads as it
// would have been typed. A reply is complete at the last line of an SMTP reply
// ("250 OK"), when the connection closes, or after a second of silence (longer for an
// SMTP greeting, and while an SMTP reply is half sent), and never takes longer than
// 30 seconds. Lines of a message after DATA's 354 go out without waiting. The end of
// the input closes the connection. At a terminal, lines go out as they are typed and
// the server's lines are printed as they come; when the server closes the connection,
// Enter returns to the prompt (the line editor cannot be interrupted).
//
// Everything is bounded: connecting takes at most 20 seconds per address, a line
// from the server is cut every 8 KiB, and nothing the server sends is kept beyond
// the line being printed.
package telnet

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// limits bound the waits and the memory of a session.
type limits struct {
	connect time.Duration // per address tried
	quiet   time.Duration // piped input: silence that ends a reply
	greet   time.Duration // piped input: wait for an SMTP port's greeting
	reply   time.Duration // piped input: longest wait for a reply; a STARTTLS step
	line    int           // longest line printed whole
	roots   *x509.CertPool
}

// defaults are the limits of the command.
func defaults() limits {
	return limits{
		connect: 20 * time.Second,
		quiet:   time.Second,
		greet:   10 * time.Second,
		reply:   30 * time.Second,
		line:    8 << 10,
	}
}

// Command returns telnet.
func Command() shell.Command {
	return shell.Command{
		Name:    "telnet",
		Usage:   "telnet [HOST [PORT]]",
		Summary: "Connect to a remote host.",
		Description: `Opens a TCP connection to HOST (a name, looked up with the session's resolvers, or
an IP address) on PORT (25 by default; smtp, submission, smtps, http and https are
known by name) and exchanges lines: what you type is sent with CR LF, what the
server sends is printed. Without HOST it asks for the host and the port.

A line holding only ^] (or Ctrl-]) gives the "telnet>" prompt:
  quit, close  close the connection
  starttls     on an SMTP server: send EHLO and STARTTLS, then show the TLS version,
               the cipher and the certificate (subject, names, issuer, validity) and
               whether it verifies; continue with EHLO
  status       show the connection
  an empty line returns to the connection.

With piped input each line is sent once the server has answered the previous one;
the end of the input closes the connection.`,
		Run: func(ctx context.Context, e *shell.Env, args []string) error {
			lim := defaults()
			if e.Trust != nil {
				// starttls verifies against the gateway's trust pool (the committed CA
				// lists and --ca-file), as every other check does.
				p, err := e.Trust()
				if err != nil {
					return fmt.Errorf("telnet: %w", err)
				}
				lim.roots = p.CertPool()
			}
			return run(ctx, e, args, lim)
		},
	}
}

// parseArgs reads HOST [PORT].
func parseArgs(args []string) (string, int, error) {
	if len(args) == 0 || len(args) > 2 {
		return "", 0, errors.New("usage: telnet [HOST [PORT]]")
	}
	host, err := checkHost(args[0])
	if err != nil {
		return "", 0, err
	}
	port := 25
	if len(args) == 2 {
		if port, err = parsePort(args[1]); err != nil {
			return "", 0, err
		}
	}
	return host, port, nil
}

func checkHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return a.String(), nil
	}
	if store.ValidHostname(h) != nil {
		return "", fmt.Errorf("telnet: %q is not a host name or an IP address", h)
	}
	return h, nil
}

// parsePort reads a port number or one of the service names telnet knows.
func parsePort(s string) (int, error) {
	switch strings.ToLower(s) {
	case "smtp":
		return 25, nil
	case "submission":
		return 587, nil
	case "smtps":
		return 465, nil
	case "http":
		return 80, nil
	case "https":
		return 443, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("telnet: %q is not a port: give a number from 1 to 65535 (or smtp, submission, smtps, http, https)", s)
	}
	return p, nil
}

// dialog asks for the host and the port, as the appliance's telnet does without
// arguments.
func dialog(e *shell.Env) (string, int, error) {
	host, err := e.P.Text("Enter the remote hostname or IP address.", "", func(s string) error {
		if s == "" {
			return errors.New("Enter a host name such as mail.example.com, or an IP address.")
		}
		if _, err := checkHost(s); err != nil {
			return fmt.Errorf("%s.", strings.TrimPrefix(err.Error(), "telnet: "))
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	host, _ = checkHost(host)
	port, err := e.P.Int("Enter the remote port.", 25, 1, 65535)
	return host, port, err
}

func run(ctx context.Context, e *shell.Env, args []string, lim limits) error {
	var (
		host string
		port int
		err  error
	)
	if len(args) == 0 {
		host, port, err = dialog(e)
	} else {
		host, port, err = parseArgs(args)
	}
	if err != nil {
		return err
	}
	addrs, err := resolve(ctx, e, host, port)
	if err != nil {
		return err
	}
	conn, err := connect(ctx, e, host, addrs, port, lim)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Out, "Connected to %s.\nEscape character is '^]'.\n", host)
	s := newSession(e, lim, host, port, conn)
	return s.run(ctx)
}

// resolve returns the addresses of host: an IP address as it is, a name through the
// session's resolvers, IPv4 first.
func resolve(ctx context.Context, e *shell.Env, host string, port int) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a.Unmap()}, nil
	}
	if e.Resolver == nil {
		return nil, fmt.Errorf("telnet: could not resolve %s/%d: no DNS servers are configured: use dnsconfig, or give an IP address", host, port)
	}
	r, err := e.Resolver()
	if err != nil {
		return nil, fmt.Errorf("telnet: could not resolve %s/%d: %w", host, port, err)
	}
	v4, res4, err4 := r.A(ctx, host)
	v6, _, err6 := r.AAAA(ctx, host)
	var out []netip.Addr
	for _, a := range append(v4, v6...) {
		out = append(out, a.Unmap())
	}
	if len(out) > 0 {
		return out, nil
	}
	why := "No address associated with hostname"
	switch {
	case ctx.Err() != nil:
		return nil, errors.New("telnet: interrupted")
	case err4 != nil && err6 != nil:
		why = "Temporary failure in name resolution"
	case res4 != nil && res4.NXDomain:
		why = "Name or service not known"
	}
	return nil, fmt.Errorf("telnet: could not resolve %s/%d: %s", host, port, why)
}

// connect tries each address in turn, as telnet does.
func connect(ctx context.Context, e *shell.Env, host string, addrs []netip.Addr, port int, lim limits) (net.Conn, error) {
	var last error
	for i, a := range addrs {
		fmt.Fprintf(e.Out, "Trying %s...\n", a)
		dctx, cancel := context.WithTimeout(ctx, lim.connect)
		c, err := e.DialContext(dctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String(), host)
		cancel()
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, errors.New("telnet: interrupted")
		}
		last = err
		if i < len(addrs)-1 {
			fmt.Fprintf(e.Err, "telnet: connect to address %s: %s\n", a, reason(err))
		}
	}
	return nil, fmt.Errorf("telnet: Unable to connect to remote host: %s", reason(last))
}

// reason says why a connection failed, in the C library's words.
func reason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "No route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "Network is unreachable"
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "Connection timed out"
	case errors.Is(err, syscall.ECONNRESET):
		return "Connection reset by peer"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "Cannot assign requested address"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
