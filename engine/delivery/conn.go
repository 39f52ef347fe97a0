package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/engine/smtp"
	"github.com/segcli/segcli/engine/tlspolicy"
)

// conn is an open delivery connection, TLS settled.
type conn struct {
	c      *smtp.Client
	dcid   uint64
	domain string
	port   int
	att    Attempt // what every message sent over it records
}

// viaAddress delivers the pending messages through one address of h, a
// connection's worth at a time, until none is pending or a connection fails.
// It returns the error that stopped it ("" when none).
func (e *Engine) viaAddress(ctx context.Context, dest Destination, h PlanHost, a netip.Addr, pending func() []*msgState, per int, finish func(*msgState), mu *sync.Mutex) string {
	plain := false // a new connection without STARTTLS, after a failed handshake under Preferred
	for {
		msgs := pending()
		if len(msgs) == 0 || ctx.Err() != nil {
			return ""
		}
		if len(msgs) > per {
			msgs = msgs[:per]
		}
		cn, att, retryPlain := e.open(ctx, dest, h, a, plain)
		if cn == nil {
			mu.Lock()
			for _, s := range msgs {
				s.res.Attempts = append(s.res.Attempts, att)
			}
			mu.Unlock()
			if retryPlain && !plain {
				plain = true
				continue
			}
			return att.Error
		}
		ok, err := e.sendAll(ctx, cn, msgs, finish, mu)
		cn.c.Quit()
		maillog.Close(cn.dcid).Log(e.log)
		if !ok {
			return err
		}
	}
}

// open connects to a, greets and settles TLS as h.Req says; plain skips
// STARTTLS. On failure it returns a nil conn, the attempt with its error, and
// whether a new connection without STARTTLS may be tried.
func (e *Engine) open(ctx context.Context, dest Destination, h PlanHost, a netip.Addr, plain bool) (*conn, Attempt, bool) {
	dcid, err := e.ids.Next(ctx, maillog.DCID)
	if err != nil {
		e.log.Logf(maillog.Warning, "DCID counter: %v", err)
	}
	domain := dest.Domain
	att := Attempt{MX: h.Name, Address: a.String(), DCID: dcid, Security: SecurityNone}
	client, err := smtp.Dial(ctx, smtp.ClientConfig{
		Addr:        netip.AddrPortFrom(a, uint16(h.Port)).String(),
		EHLOName:    e.ehlo,
		Timeout:     e.timeout,
		DataTimeout: e.dataTimeout,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return e.dial(ctx, network, addr, h.Name)
		},
	})
	if err != nil {
		att.Error = errText(err)
		maillog.ConnectionError(dcid, domain, a.String(), h.Port, att.Error).Log(e.log)
		return nil, att, false
	}
	iface := "unknown"
	if ap, err := netip.ParseAddrPort(client.LocalAddr().String()); err == nil {
		iface = ap.Addr().Unmap().String()
	}
	maillog.NewSMTP(dcid, iface, a.String(), h.Port).Log(e.log)
	cn := &conn{c: client, dcid: dcid, domain: domain, port: h.Port}
	req := h.Req
	if req.Kind == tlspolicy.Plain || plain {
		if plain {
			e.log.Logf(maillog.Info, "DCID %d delivering in clear text after the failed TLS handshake (TLS Preferred)", dcid)
		}
		cn.att = att
		return cn, att, false
	}

	cfg, ver := TLSConfig(req, h.DANE, e.pool, e.now, e.cert)
	err = client.StartTLS(ctx, cfg)
	var ce *smtp.ClientError
	switch {
	case err == nil:
		st := client.TLS()
		maillog.TLSSuccess(dcid, st.Version, st.CipherSuite).Log(e.log)
		att.TLSVersion = mtasts.TLSVersionName(st.Version)
		switch req.Kind {
		case tlspolicy.DANE:
			maillog.DANESuccess(dcid, h.Name).Log(e.log)
			att.Security = SecurityDANE
		case tlspolicy.MTASTS:
			att.Security = SecurityMTASTS
		case tlspolicy.PKIX:
			att.Security = SecurityTLSVerify
			if verr := ver.Err(); verr != nil {
				maillog.TLSVerifyFailed(dcid, VerifyError(verr)).Log(e.log)
				att.Security = SecurityTLS
			}
		default:
			att.Security = SecurityTLS
		}
		if req.ReportOnly {
			if serr := ver.STSErr(); serr != nil {
				e.stsTesting(domain, h.Name, VerifyError(serr))
			}
		}
	case errors.As(err, &ce) && ce.Step == smtp.StepSTARTTLS && client.Usable():
		// Not offered, or refused: the session is still in clear text.
		reason := "STARTTLS not offered"
		if !errors.Is(err, smtp.ErrNoSTARTTLS) {
			reason = "STARTTLS refused: " + ce.Reply.Text()
		}
		if req.ReportOnly {
			e.stsTesting(domain, h.Name, reason)
		}
		// What may follow a failure is tlspolicy's rule (Requirement.After),
		// which the no-downgrade test enumerates.
		if !req.After(tlspolicy.NoSTARTTLS).Deliver {
			maillog.TLSRequired(dcid).Log(e.log)
			att.Error = "TLS was required but could not be successfully negotiated: " + reason
			client.Quit()
			maillog.Close(dcid).Log(e.log)
			return nil, att, false
		}
		if errors.Is(err, smtp.ErrNoSTARTTLS) {
			maillog.TLSNotOffered(dcid).Log(e.log)
		} else {
			maillog.TLSFailed(dcid, reason+"; delivering in clear text").Log(e.log)
		}
	default:
		// The handshake failed (the connection is closed).
		client.Close()
		if verr := ver.Err(); verr != nil {
			why := VerifyError(verr)
			if req.Kind == tlspolicy.DANE {
				maillog.DANEFailed(dcid, h.Name, why).Log(e.log)
				att.Error = "DANE verification failed: " + why
			} else {
				maillog.TLSDeferring(dcid, why).Log(e.log)
				att.Error = "verify error: " + why
			}
			maillog.Close(dcid).Log(e.log)
			return nil, att, false
		}
		why := errText(err)
		if req.ReportOnly {
			e.stsTesting(domain, h.Name, why)
		}
		maillog.TLSFailed(dcid, why).Log(e.log)
		att.Error = "TLS failed: " + why
		after := req.After(tlspolicy.HandshakeFailed)
		if !after.Deliver {
			maillog.TLSRequired(dcid).Log(e.log)
		}
		maillog.Close(dcid).Log(e.log)
		return nil, att, after.PlainRetry && !isContext(err)
	}
	cn.att = att
	return cn, att, false
}

// stsTesting logs what an enforced MTA-STS policy would have refused.
func (e *Engine) stsTesting(domain, host, why string) {
	e.log.Logf(maillog.Warning, "MTA-STS policy of %s (testing): MX(%s) fails the policy: %s; delivering per the TLS setting", domain, host, why)
}

// sendAll sends msgs over cn, one transaction each, and settles each
// recipient whose outcome the server gave. It returns false, with the
// error, when the connection failed or closed before every message was sent.
func (e *Engine) sendAll(ctx context.Context, cn *conn, msgs []*msgState, finish func(*msgState), mu *sync.Mutex) (bool, string) {
	for _, s := range msgs {
		if !cn.c.Usable() {
			return false, "connection closed by the server"
		}
		mu.Lock()
		rcpts := append([]Recipient(nil), s.pending...)
		mu.Unlock()
		rids := make([]int, len(rcpts))
		to := make([]string, len(rcpts))
		for i, r := range rcpts {
			rids[i], to[i] = r.RID, r.To
		}
		maillog.DeliveryStart(cn.dcid, s.msg.MID, rids).Log(e.log)
		att := cn.att
		body, err := s.msg.Open()
		if err != nil {
			// A local failure: the message waits, the connection goes on.
			why := "cannot read the message: " + err.Error()
			mu.Lock()
			for _, r := range rcpts {
				maillog.Delayed(cn.dcid, s.msg.MID, r.RID, why).Log(e.log)
				s.settle(r, StatusDeferred, why)
			}
			att.Error = why
			s.res.Attempts = append(s.res.Attempts, att)
			mu.Unlock()
			finish(s)
			continue
		}
		res, err := cn.c.Send(ctx, smtp.Envelope{From: s.msg.From, To: to, Size: s.msg.Size, EightBit: s.msg.EightBit}, body)
		body.Close()
		if err != nil {
			var permanent string
			switch {
			case errors.Is(err, smtp.ErrTooBig):
				permanent = "552 5.3.4 " + smtp.ErrTooBig.Error()
			case errors.Is(err, smtp.ErrBadAddress):
				permanent = "553 5.1.3 " + errText(err)
			}
			if permanent != "" {
				mu.Lock()
				for _, r := range rcpts {
					maillog.Bounced(cn.dcid, s.msg.MID, r.RID, permanent).Log(e.log)
					s.settle(r, StatusBounced, permanent)
				}
				att.Error = permanent
				s.res.Attempts = append(s.res.Attempts, att)
				mu.Unlock()
				finish(s)
				continue
			}
		}
		mu.Lock()
		var delivered []int
		final := ""
		for i, r := range rcpts {
			o := res.Outcome(i)
			switch {
			case o.Code == 0:
				// Unknown: the recipient waits for the next host.
			case o.Positive():
				delivered = append(delivered, r.RID)
				final = o.Text()
				s.settle(r, StatusDelivered, o.Text())
			case o.Temporary():
				maillog.Delayed(cn.dcid, s.msg.MID, r.RID, o.Text()).Log(e.log)
				s.settle(r, StatusDeferred, o.Text())
				if att.Error == "" {
					att.Error = o.Text()
				}
			default:
				maillog.Bounced(cn.dcid, s.msg.MID, r.RID, o.Text()).Log(e.log)
				s.settle(r, StatusBounced, o.Text())
				if att.Error == "" {
					att.Error = o.Text()
				}
			}
		}
		if len(delivered) > 0 {
			maillog.MessageDone(cn.dcid, s.msg.MID, delivered).Log(e.log)
			maillog.Response(s.msg.MID, delivered, trimCode(final)).Log(e.log)
			s.security = att.Security
		}
		if err != nil {
			att.Error = errText(err)
			maillog.ConnectionError(cn.dcid, cn.domain, att.Address, cn.port, att.Error).Log(e.log)
		}
		s.res.Attempts = append(s.res.Attempts, att)
		left := len(s.pending)
		mu.Unlock()
		if left == 0 {
			finish(s)
		}
		if err != nil {
			return false, att.Error
		}
	}
	return true, ""
}

// trimCode drops the reply code from a reply's text: the Response line
// quotes the text ("2.0.0 Ok: queued as 1234").
func trimCode(text string) string {
	if len(text) > 4 && text[3] == ' ' {
		if _, err := strconv.Atoi(text[:3]); err == nil {
			return text[4:]
		}
	}
	return text
}

// errText renders a delivery error without the client's address prefix:
// "connect: dial tcp ...: connection refused", "banner: unexpected reply: 554
// ...".
func errText(err error) string {
	var ce *smtp.ClientError
	if errors.As(err, &ce) {
		return fmt.Sprintf("%s: %v", ce.Step, ce.Err)
	}
	return errString(err)
}
