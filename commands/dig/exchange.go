package dig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
)

// errBind is a source address (-s) that cannot be used.
type errBind struct {
	addr netip.Addr
	err  error
}

func (e *errBind) Error() string {
	return fmt.Sprintf("dig: couldn't bind to source address %s: %s", e.addr, commError(e.err))
}

func (e *errBind) Unwrap() error { return e.err }

// answer is a response and its size on the wire.
type answer struct {
	msg  *mdns.Msg
	size int
}

// exchange sends m to server over UDP (TCP when tcp is set), from source when it is
// valid, and waits at most timeout for the answer. Over UDP a datagram that is not
// the answer (another ID, garbage) is reported through warn and the wait goes on,
// as dig does; over TCP it is an error.
func exchange(ctx context.Context, server netip.AddrPort, source netip.Addr, m *mdns.Msg, tcp bool, timeout time.Duration, warn func(string)) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	network := "udp"
	var d net.Dialer
	if tcp {
		network = "tcp"
	}
	if source.IsValid() {
		if tcp {
			d.LocalAddr = &net.TCPAddr{IP: source.AsSlice()}
		} else {
			d.LocalAddr = &net.UDPAddr{IP: source.AsSlice()}
		}
	}
	conn, err := d.DialContext(ctx, network, server.String())
	if err != nil {
		if source.IsValid() && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EINVAL)) {
			return answer{}, &errBind{addr: source, err: err}
		}
		return answer{}, err
	}
	defer conn.Close()
	// Cancellation (Ctrl-C) unblocks the read at once; the deadline bounds the try.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	co := &mdns.Conn{Conn: conn, UDPSize: mdns.MaxMsgSize}
	if err := co.WriteMsg(m); err != nil {
		return answer{}, err
	}
	for {
		p, err := co.ReadMsgHeader(nil)
		if err != nil {
			if ctx.Err() != nil {
				return answer{}, ctx.Err()
			}
			return answer{}, err
		}
		resp := new(mdns.Msg)
		if err := resp.Unpack(p); err != nil {
			if tcp {
				return answer{}, fmt.Errorf("bad packet: %v", err)
			}
			warn(fmt.Sprintf(";; Got bad packet: %v", err))
			continue
		}
		if resp.Id != m.Id {
			if tcp {
				return answer{}, fmt.Errorf("ID mismatch: expected ID %d, got %d", m.Id, resp.Id)
			}
			warn(fmt.Sprintf(";; Warning: ID mismatch: expected ID %d, got %d", m.Id, resp.Id))
			continue
		}
		return answer{msg: resp, size: len(p)}, nil
	}
}

// commError says why a try failed, in dig's words ("timed out").
func commError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "address not available"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "end of file"
	}
	var se *net.OpError
	if errors.As(err, &se) && se.Err != nil {
		return se.Err.Error()
	}
	return err.Error()
}
