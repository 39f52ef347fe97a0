package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// query asks the servers for (name, qtype): Attempts rounds over the server
// list, stopping at the first definite answer (NOERROR, NXDOMAIN or Bogus).
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) *step {
	if len(r.servers) == 0 {
		return &step{status: TempFail, rcode: -1, err: ErrNoServers}
	}
	last := &step{status: TempFail, rcode: -1}
	q := fmt.Sprintf("Q('%s', '%s')", debugName(name), TypeString(qtype))
	for range r.attempts {
		for _, srv := range r.servers {
			if err := ctxDone(ctx); err != nil {
				last.err = contextErr(err)
				return last
			}
			r.debugf("DNS query: %s to %s", q, srv.Addr)
			resp, err := r.ask(ctx, srv.Addr, name, qtype, false)
			if err != nil {
				r.debugf("DNS query failed: %s to %s: %v", q, srv.Addr, err)
				last = &step{status: TempFail, rcode: -1, server: srv.Addr, err: fmt.Errorf("%s: %w", srv.Addr, err)}
				if ctxDone(ctx) != nil {
					return last
				}
				continue
			}
			s := classify(resp, srv)
			if s.rcode == RcodeServFail && s.status == TempFail {
				// RFC 4035 §3.2.2: a validating resolver answers
				// SERVFAIL for data that fails validation, and the
				// data itself when CD is set. An answer with CD
				// tells a DNSSEC failure from an outage.
				r.debugf("DNS query: %s to %s with CD (after SERVFAIL)", q, srv.Addr)
				cd, err := r.ask(ctx, srv.Addr, name, qtype, true)
				if err == nil && (cd.Rcode == RcodeNoError || cd.Rcode == RcodeNXDomain) {
					s.status = Bogus
					s.err = fmt.Errorf("%s: SERVFAIL, but answers with checking disabled: %w", srv.Addr, ErrBogus)
				}
			}
			if s.status != TempFail {
				return s
			}
			r.debugf("DNS query failed: %s to %s: %v", q, srv.Addr, s.err)
			last = s
		}
	}
	return last
}

// classify turns an answer from srv into a step.
func classify(resp *mdns.Msg, srv Server) *step {
	s := &step{rcode: resp.Rcode, server: srv.Addr, ede: edes(resp)}
	switch resp.Rcode {
	case RcodeNoError, RcodeNXDomain:
		s.status = Insecure
		if resp.AuthenticatedData && trusted(srv) {
			s.status = Secure
		}
		for _, rr := range resp.Answer {
			if rr.Header().Rrtype == TypeRRSIG || rr.Header().Class != mdns.ClassINET {
				continue
			}
			s.answer = append(s.answer, fromMiekg(rr))
		}
		s.negTTL = negativeTTL(resp)
	case RcodeServFail:
		s.status = TempFail
		s.err = fmt.Errorf("%s: %w", srv.Addr, ErrServFail)
		for _, e := range s.ede {
			if e.DNSSEC() {
				// RFC 8914 §4: the EDE says why validation failed.
				s.status = Bogus
				s.err = fmt.Errorf("%s: SERVFAIL with %s: %w", srv.Addr, e, ErrBogus)
				break
			}
		}
	case RcodeRefused:
		s.status = TempFail
		s.err = fmt.Errorf("%s: %w", srv.Addr, ErrRefused)
	default:
		s.status = TempFail
		s.err = fmt.Errorf("%s: %s: %w", srv.Addr, RcodeString(resp.Rcode), errUnknownRcode)
	}
	return s
}

// edes returns the Extended DNS Errors of an answer.
func edes(resp *mdns.Msg) []EDE {
	opt := resp.IsEdns0()
	if opt == nil {
		return nil
	}
	var out []EDE
	for _, o := range opt.Option {
		if e, ok := o.(*mdns.EDNS0_EDE); ok {
			out = append(out, EDE{Code: e.InfoCode, Text: e.ExtraText})
		}
	}
	return out
}

// negativeTTL returns the TTL of a negative answer (RFC 2308 §5): the smaller
// of the SOA record's TTL and its MINIMUM field, or DefaultNegativeTTL when
// the authority section holds no SOA.
func negativeTTL(resp *mdns.Msg) uint32 {
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*mdns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	return uint32(DefaultNegativeTTL / time.Second)
}

// newQuery returns a recursive query for (name, qtype) with EDNS0, DO and a
// random ID (miekg/dns draws it from crypto/rand).
func newQuery(name string, qtype uint16, cd bool) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.CheckingDisabled = cd
	m.SetEdns0(UDPSize, true)
	return m
}

// ask sends one query to addr over UDP, and again over TCP when the answer
// is truncated.
func (r *Resolver) ask(ctx context.Context, addr, name string, qtype uint16, cd bool) (*mdns.Msg, error) {
	resp, _, err := r.exchange(ctx, addr, newQuery(name, qtype, cd), false)
	oversize := errors.Is(err, errOversize)
	if err != nil && !oversize {
		return nil, err
	}
	if oversize || resp.Truncated {
		// RFC 7766 §5: truncated over UDP, ask again over TCP.
		r.debugf("DNS query: Q('%s', '%s') to %s over TCP (truncated over UDP)", debugName(name), TypeString(qtype), addr)
		resp, _, err = r.exchange(ctx, addr, newQuery(name, qtype, cd), true)
		if err != nil {
			return nil, fmt.Errorf("tcp: %w", err)
		}
		if resp.Truncated {
			// RFC 2181 §9: a truncated answer is to be ignored, and
			// over TCP there is no larger transport to ask again.
			return nil, fmt.Errorf("tcp: truncated answer: %w", ErrBadAnswer)
		}
	}
	return resp, nil
}

// Exchange sends m to server ("ip[:port]", default the first configured
// server when empty) over UDP, or TCP when tcp is set, and returns the
// answer and the round-trip time. It is a raw exchange for dig: no retry, no
// TCP fallback on truncation, no cache, and m is sent as it is.
func (r *Resolver) Exchange(ctx context.Context, server string, m *mdns.Msg, tcp bool) (*mdns.Msg, time.Duration, error) {
	if server == "" {
		if len(r.servers) == 0 {
			return nil, 0, fmt.Errorf("dns: exchange: %w", ErrNoServers)
		}
		server = r.servers[0].Addr
	}
	addr, err := normalizeAddr(server)
	if err != nil {
		return nil, 0, fmt.Errorf("dns: exchange with %s: %w", server, err)
	}
	resp, rtt, err := r.exchange(ctx, addr, m, tcp)
	if err != nil {
		return nil, rtt, fmt.Errorf("dns: exchange with %s: %w", addr, err)
	}
	return resp, rtt, nil
}

// exchange sends m to addr and reads the answer within the resolver's
// timeout, honouring ctx cancellation. Over UDP, answers with another ID or
// question are ignored (RFC 5452 §9.1); over TCP they are an error.
func (r *Resolver) exchange(ctx context.Context, addr string, m *mdns.Msg, tcp bool) (*mdns.Msg, time.Duration, error) {
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return nil, 0, fmt.Errorf("%q: %w", addr, ErrBadServer)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	network := "udp"
	if tcp {
		network = "tcp"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, 0, transportErr(parent, ctx, err, nil)
	}
	defer conn.Close()
	// Cancellation unblocks the read; the deadline bounds the attempt.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	co := &mdns.Conn{Conn: conn, UDPSize: maxUDPReceive}
	start := time.Now()
	if err := co.WriteMsg(m); err != nil {
		return nil, 0, transportErr(parent, ctx, err, nil)
	}
	// Over UDP, every datagram is read into the same buffer, and one whose
	// ID is not the query's is dropped before it is parsed: a flood of
	// forged answers costs neither memory nor parsing (RFC 5452 §9.1).
	var buf []byte
	if !tcp {
		buf = make([]byte, maxUDPReceive+1) // one more: a larger datagram shows
	}
	var (
		ignored error // why the last stray datagram was dropped
		strayID = -1  // its ID, when a wrong ID was the reason
	)
	for {
		var (
			p   []byte
			n   int
			err error
		)
		if tcp {
			p, err = co.ReadMsgHeader(nil)
		} else {
			n, err = conn.Read(buf)
			if err == nil && n < headerSize {
				err = mdns.ErrShortRead
			}
			p = buf[:n]
		}
		var resp *mdns.Msg
		switch {
		case err != nil && !errors.Is(err, mdns.ErrShortRead):
			if strayID >= 0 {
				ignored = fmt.Errorf("answer ID %d, query ID %d: %w", strayID, m.Id, ErrBadAnswer)
			}
			return nil, time.Since(start), transportErr(parent, ctx, err, ignored)
		case err != nil:
		case !tcp && binary.BigEndian.Uint16(p) != m.Id:
			strayID = int(binary.BigEndian.Uint16(p))
			continue
		case !tcp && n > maxUDPReceive:
			// Larger than asked for (RFC 6891 §7): the kernel cut it, so it
			// cannot be read; ask over TCP as for a truncated answer.
			return nil, time.Since(start), errOversize
		default:
			resp = new(mdns.Msg)
			if err = resp.Unpack(p); err == nil {
				err = matches(m, resp)
			}
		}
		if err != nil {
			if tcp {
				if !errors.Is(err, ErrBadAnswer) {
					err = fmt.Errorf("%v: %w", err, ErrBadAnswer)
				}
				return nil, time.Since(start), err
			}
			// A stray, forged or broken datagram: keep waiting for
			// the real answer until the deadline.
			ignored, strayID = err, -1
			continue
		}
		return resp, time.Since(start), nil
	}
}

// errOversize: a UDP answer larger than maxUDPReceive, which ask takes as
// truncated.
var errOversize = fmt.Errorf("UDP answer larger than %d bytes: %w", maxUDPReceive, ErrBadAnswer)

// headerSize is the size of a DNS message header (RFC 1035 §4.1.1).
const headerSize = 12

// matches checks that resp answers m: same ID, QR set, same question.
func matches(m, resp *mdns.Msg) error {
	if resp.Id != m.Id {
		return fmt.Errorf("answer ID %d, query ID %d: %w", resp.Id, m.Id, ErrBadAnswer)
	}
	if !resp.Response {
		return fmt.Errorf("QR bit not set: %w", ErrBadAnswer)
	}
	if len(resp.Question) == 0 && resp.Rcode != RcodeNoError {
		return nil // some servers drop the question from errors
	}
	if len(resp.Question) != 1 || len(m.Question) != 1 {
		return fmt.Errorf("%d questions in answer: %w", len(resp.Question), ErrBadAnswer)
	}
	q, a := m.Question[0], resp.Question[0]
	if !strings.EqualFold(q.Name, a.Name) || q.Qtype != a.Qtype || q.Qclass != a.Qclass {
		return fmt.Errorf("answer for %s %s: %w", a.Name, TypeString(a.Qtype), ErrBadAnswer)
	}
	return nil
}

// transportErr turns a network error into ErrTimeout or the context's error.
func transportErr(parent, attempt context.Context, err, ignored error) error {
	if perr := ctxDone(parent); perr != nil {
		return contextErr(perr)
	}
	var ne net.Error
	if attempt.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		if ignored != nil {
			return fmt.Errorf("ignored %v: %w", ignored, ErrTimeout)
		}
		return ErrTimeout
	}
	return err
}

// ctxDone returns the context's error, or DeadlineExceeded once its deadline
// has passed even if its timer has not fired yet (a socket deadline set from
// it can fire first).
func ctxDone(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// contextErr returns the error of a done context; a deadline is also a
// timeout.
func contextErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

// normalizeAddr returns addr as "ip:port", adding port 53 when there is no
// port. Host names are refused: they would need the machine's resolver.
func normalizeAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.String(), nil
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")); err == nil {
		return netip.AddrPortFrom(a, 53).String(), nil
	}
	return "", fmt.Errorf("%q: %w", addr, ErrBadServer)
}
