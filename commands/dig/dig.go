// Package dig is the appliance's dig: a DNS query sent as it is to one server, and the
// answer printed in BIND dig's layout (header, flags, OPT pseudo-section, question,
// answer, authority and additional sections, statistics), or only the data with
// +short. Errors read as dig's: ";; communications error to 192.0.2.53#53: timed
// out", ";; no servers could be reached", "dig: 'a..b' is not a legal name (empty
// label)".
//
// Queries carry RD and AD, and EDNS0 with a 1232-byte buffer; +dnssec sets the DO
// bit, +cd the CD bit, +tcp sends over TCP. A truncated UDP answer is asked again
// over TCP. Without @SERVER the query goes to the session's resolvers (--resolver, or
// those of dnsconfig), in order. The message ID is random unless +qid=N names it.
// Query times are measured on the session's clock.
package dig

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/shell"
)

// Command returns dig.
func Command() shell.Command {
	return shell.Command{
		Name:    "dig",
		Usage:   "dig [-s SOURCE_IP] [-t TYPE] [-c CLASS] [-x ADDRESS] [-p PORT] [@SERVER] [+dnssec] [+short] [+tcp] [+cd] [+qid=N] [+time=SECONDS] [+tries=N] NAME [TYPE] [CLASS]",
		Summary: "Look up a DNS record.",
		Description: `Sends one DNS query and prints the answer as BIND's dig does. Without arguments
it asks for the name, the record type and the server.

  @SERVER     the server to ask: an IP address, IP:PORT, or a host name (looked up
              with the session's resolvers); default: the session's resolvers
              (dnsconfig, or --resolver)
  -t TYPE     record type (A, AAAA, MX, TXT, TLSA, PTR, ...); default A
  -x ADDRESS  reverse lookup: the PTR record of an IP address
  -p PORT     server port; default 53
  -s SOURCE_IP  send from this address of the gateway
  +dnssec     ask for DNSSEC records (DO bit); the "ad" flag shows a validated answer
  +cd         checking disabled: the resolver returns data that fails validation
  +tcp        query over TCP
  +short      print only the data of the answer
  +qid=N      use N as the message ID (default random)
  +time=S, +tries=N  wait S seconds (default 5) per try, N tries (default 3)
Options start with "+no" to turn them off (+noadflag, +norecurse).`,
		Run: run,
	}
}

func run(ctx context.Context, e *shell.Env, args []string) error {
	var (
		q   query
		err error
	)
	if len(args) == 0 {
		q, err = dialog(e)
	} else {
		q, err = parseArgs(args)
	}
	if err != nil {
		return err
	}
	return lookup(ctx, e, q)
}

// target is one server to ask.
type target struct {
	addr  netip.AddrPort
	label string // the name shown in ";; SERVER: ip#port(label)"
}

// targets returns the servers for q, and how many @SERVER gave (0 without it).
func targets(ctx context.Context, e *shell.Env, q query) ([]target, int, error) {
	port := func(p uint16) uint16 {
		if q.port != 0 {
			return uint16(q.port)
		}
		return p
	}
	if q.server == "" {
		r, err := resolver(e)
		if err != nil {
			return nil, 0, err
		}
		var out []target
		for _, s := range r.Servers() {
			ap, err := netip.ParseAddrPort(s.Addr)
			if err != nil {
				continue
			}
			ap = netip.AddrPortFrom(ap.Addr(), port(ap.Port()))
			out = append(out, target{addr: ap, label: ap.Addr().String()})
		}
		if len(out) == 0 {
			return nil, 0, errors.New("dig: no DNS servers are configured: use dnsconfig, or give @SERVER")
		}
		return out, 0, nil
	}
	if ap, err := netip.ParseAddrPort(q.server); err == nil {
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		return []target{{addr: ap, label: ap.Addr().String()}}, 1, nil
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(q.server, "["), "]")); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return []target{{addr: netip.AddrPortFrom(a, port(53)), label: a.String()}}, 1, nil
	}
	// A host name: the session's resolvers find its addresses, never the machine's.
	if _, err := legalName(q.server); err != nil {
		return nil, 0, fmt.Errorf("dig: couldn't get address for '%s': not a legal name", q.server)
	}
	r, err := resolver(e)
	if err != nil {
		return nil, 0, err
	}
	var out []target
	v4, _, err4 := r.A(ctx, q.server)
	v6, _, err6 := r.AAAA(ctx, q.server)
	for _, a := range append(v4, v6...) {
		out = append(out, target{addr: netip.AddrPortFrom(a.Unmap(), port(53)), label: q.server})
	}
	if len(out) == 0 {
		why := "not found"
		if err4 != nil && err6 != nil {
			why = "failure"
		}
		return nil, 0, fmt.Errorf("dig: couldn't get address for '%s': %s", q.server, why)
	}
	return out, len(out), nil
}

// resolver returns the session's resolver.
func resolver(e *shell.Env) (*dns.Resolver, error) {
	if e.Resolver == nil {
		return nil, errors.New("dig: no DNS servers are configured: use dnsconfig, or give @SERVER")
	}
	r, err := e.Resolver()
	if err != nil {
		return nil, fmt.Errorf("dig: %w", err)
	}
	return r, nil
}

// message builds the query of q.
func message(q query) *mdns.Msg {
	m := new(mdns.Msg)
	if q.qid >= 0 {
		m.Id = uint16(q.qid)
	} else {
		m.Id = mdns.Id()
	}
	m.Opcode = mdns.OpcodeQuery
	m.RecursionDesired = q.rd
	m.AuthenticatedData = q.ad
	m.CheckingDisabled = q.cd
	m.Question = []mdns.Question{{Name: q.name, Qtype: q.qtype, Qclass: q.qclass}}
	opt := &mdns.OPT{Hdr: mdns.RR_Header{Name: ".", Rrtype: mdns.TypeOPT}}
	opt.SetUDPSize(ednsSize)
	if q.dnssec {
		opt.SetDo()
	}
	m.Extra = []mdns.RR{opt}
	return m
}

// errNoServers ends a lookup that got no answer.
var errNoServers = errors.New(";; no servers could be reached")

// lookup sends q to each server in turn, q.tries times each, and prints the first
// answer.
func lookup(ctx context.Context, e *shell.Env, q query) error {
	ts, found, err := targets(ctx, e, q)
	if err != nil {
		return err
	}
	if !q.short {
		writeBanner(e.Out, q.args, found)
	}
	m := message(q)
	warn := func(s string) { fmt.Fprintln(e.Out, s) }
	for _, t := range ts {
		for range q.tries {
			tcp := q.tcp
			start := e.Now()
			a, err := exchange(ctx, t.addr, q.source, m, tcp, q.timeout, warn)
			if err == nil && a.msg.Truncated && !tcp {
				fmt.Fprintln(e.Out, ";; Truncated, retrying in TCP mode.")
				tcp = true
				a, err = exchange(ctx, t.addr, q.source, m, tcp, q.timeout, warn)
			}
			if ctx.Err() != nil {
				return errors.New("dig: interrupted")
			}
			var be *errBind
			if errors.As(err, &be) {
				return be
			}
			if err != nil {
				fmt.Fprintf(e.Out, ";; communications error to %s#%d: %s\n", t.addr.Addr(), t.addr.Port(), commError(err))
				continue
			}
			if q.short {
				writeShort(e.Out, a.msg)
				return nil
			}
			writeAnswer(e.Out, a.msg, stats{
				elapsed: e.Now().Sub(start), server: t.addr, label: t.label,
				tcp: tcp, when: e.Now(), size: a.size,
			})
			return nil
		}
	}
	return errNoServers
}

// dialog asks for the name, the type and the server, as the appliance's dig does
// without arguments.
func dialog(e *shell.Env) (query, error) {
	q := newQuery()
	var reverse bool
	name, err := e.P.Text("Enter the host name or IP address to look up.", "", func(s string) error {
		if s == "" {
			return errors.New("Enter a host name such as example.com, or an IP address for a reverse lookup.")
		}
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			return nil
		}
		if _, err := legalName(s); err != nil {
			return fmt.Errorf("%s. Enter a host name such as example.com, or an IP address.", strings.TrimPrefix(err.Error(), "dig: "))
		}
		return nil
	})
	if err != nil {
		return q, err
	}
	defType := "A"
	if a, err := netip.ParseAddr(name); err == nil {
		reverse = true
		defType = "PTR"
		q.name, _ = mdns.ReverseAddr(a.Unmap().String())
	} else {
		q.name, _ = legalName(name)
	}
	typ, err := e.P.Text("Enter the record type to look up (A, AAAA, CNAME, MX, NS, PTR, SOA, TLSA, TXT, ...).", defType, func(s string) error {
		if _, ok := dns.TypeFromString(s); !ok {
			return fmt.Errorf("'%s' is not a record type. Enter a type such as A, MX, TXT or TLSA.", s)
		}
		return nil
	})
	if err != nil {
		return q, err
	}
	q.qtype, _ = dns.TypeFromString(typ)
	typ = typeName(q.qtype)
	def := ""
	if e.Resolver != nil {
		if r, err := e.Resolver(); err == nil && len(r.Servers()) > 0 {
			def = r.Servers()[0].Addr
			if ap, err := netip.ParseAddrPort(def); err == nil && ap.Port() == 53 {
				def = ap.Addr().String()
			}
		}
	}
	server, err := e.P.Text("Enter the IP address of the DNS server to query (IP:PORT for a port other than 53).", def, func(s string) error {
		if s == "" {
			return errors.New("No DNS server is configured (see dnsconfig): enter the IP address of a DNS server.")
		}
		if _, err := dns.ParseServer(s); err != nil {
			return fmt.Errorf("'%s' is not an IP address. Enter an address such as 192.0.2.53 or 127.0.0.1:5353.", s)
		}
		return nil
	})
	if err != nil {
		return q, err
	}
	q.server = server
	q.args = []string{"@" + server, name, typ}
	if reverse {
		q.args = []string{"@" + server, "-x", name}
		if q.qtype != mdns.TypePTR {
			q.args = append(q.args, typ)
		}
	}
	return q, nil
}
