package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/engine/tlspolicy"
	"github.com/segcli/segcli/internal/dnstest"
)

// certKind says which certificate a row's server presents.
type certKind int

const (
	noTLS       certKind = iota // STARTTLS not offered
	trustedMX                   // trusted CA, names mx.t.test
	trustedBoth                 // trusted CA, names t.test and mx.t.test
	untrusted                   // untrusted CA, names mx.t.test
)

// TestTLSSettings runs one message to t.test (MX mx.t.test) under each TLS
// setting against servers that offer, refuse or break STARTTLS.
func TestTLSSettings(t *testing.T) {
	tests := []struct {
		name         string
		tls          tlspolicy.TLSMode
		cert         certKind
		refuse, drop bool
		policy       string // MTA-STS policy of t.test ("": none)
		wantStatus   string
		wantSecurity string
		wantConns    int      // connections the server got
		wantErrors   []string // the attempts' errors (prefixes: a broken handshake's error varies)
		wantLines    []string // prefixes of log lines that must appear, in order
	}{
		{name: "No: never STARTTLS", tls: tlspolicy.TLSNo, cert: trustedMX,
			wantStatus: StatusDelivered, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{""}},
		{name: "Preferred, not offered: clear text", tls: tlspolicy.TLSPreferred, cert: noTLS,
			wantStatus: StatusDelivered, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{""},
			wantLines: []string{"Info: DCID 1 TLS not offered by the server, delivering in clear text"}},
		{name: "Preferred, refused: clear text on the same connection", tls: tlspolicy.TLSPreferred, cert: trustedMX, refuse: true,
			wantStatus: StatusDelivered, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{""},
			wantLines: []string{"Warning: DCID 1 TLS failed: STARTTLS refused: 454 4.7.0 TLS not available due to temporary reason; delivering in clear text"}},
		{name: "Preferred, handshake fails: a new connection without STARTTLS", tls: tlspolicy.TLSPreferred, cert: trustedMX, drop: true,
			wantStatus: StatusDelivered, wantSecurity: SecurityNone, wantConns: 2, wantErrors: []string{"TLS failed: ", ""},
			wantLines: []string{"Warning: DCID 1 TLS failed: ", "Info: DCID 2 delivering in clear text after the failed TLS handshake (TLS Preferred)"}},
		{name: "Preferred - Verify, untrusted: TLS without verification", tls: tlspolicy.TLSPreferredVerify, cert: untrusted,
			wantStatus: StatusDelivered, wantSecurity: SecurityTLS, wantConns: 1, wantErrors: []string{""},
			wantLines: []string{"Warning: DCID 1 TLS verify failed, delivering without verification: verify error: unable to get local issuer certificate"}},
		{name: "Preferred - Verify, not offered: clear text", tls: tlspolicy.TLSPreferredVerify, cert: noTLS,
			wantStatus: StatusDelivered, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{""}},
		{name: "Preferred - Verify, valid for the domain", tls: tlspolicy.TLSPreferredVerify, cert: trustedBoth,
			wantStatus: StatusDelivered, wantSecurity: SecurityTLSVerify, wantConns: 1, wantErrors: []string{""}},
		{name: "Required, not offered: deferred", tls: tlspolicy.TLSRequired, cert: noTLS,
			wantStatus: StatusDeferred, wantSecurity: SecurityNone, wantConns: 1,
			wantErrors: []string{"TLS was required but could not be successfully negotiated: STARTTLS not offered"},
			wantLines:  []string{"Warning: DCID 1 TLS was required but could not be successfully negotiated"}},
		{name: "Required, handshake fails: deferred, no clear text", tls: tlspolicy.TLSRequired, cert: trustedMX, drop: true,
			wantStatus: StatusDeferred, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{"TLS failed: "},
			wantLines: []string{"Warning: DCID 1 TLS failed: ", "Warning: DCID 1 TLS was required but could not be successfully negotiated"}},
		{name: "Required, untrusted certificate: delivered, not verified", tls: tlspolicy.TLSRequired, cert: untrusted,
			wantStatus: StatusDelivered, wantSecurity: SecurityTLS, wantConns: 1, wantErrors: []string{""}},
		{name: "Required - Verify, untrusted: deferred", tls: tlspolicy.TLSRequiredVerify, cert: untrusted,
			wantStatus: StatusDeferred, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{"verify error: unable to get local issuer certificate"},
			wantLines: []string{"Warning: DCID 1 TLS deferring: verify error: unable to get local issuer certificate"}},
		{name: "Required - Verify, valid for the domain", tls: tlspolicy.TLSRequiredVerify, cert: trustedBoth,
			wantStatus: StatusDelivered, wantSecurity: SecurityTLSVerify, wantConns: 1, wantErrors: []string{""}},
		{name: "MTA-STS enforce, untrusted certificate: deferred", tls: tlspolicy.TLSPreferred, cert: untrusted, policy: "enforce",
			wantStatus: StatusDeferred, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{"verify error: unable to get local issuer certificate"},
			wantLines: []string{"Warning: DCID 1 TLS deferring: verify error: unable to get local issuer certificate"}},
		{name: "MTA-STS enforce, STARTTLS not offered: deferred", tls: tlspolicy.TLSPreferred, cert: noTLS, policy: "enforce",
			wantStatus: StatusDeferred, wantSecurity: SecurityNone, wantConns: 1,
			wantErrors: []string{"TLS was required but could not be successfully negotiated: STARTTLS not offered"}},
		{name: "MTA-STS testing, untrusted certificate: delivered by the setting, failure logged", tls: tlspolicy.TLSPreferred, cert: untrusted, policy: "testing",
			wantStatus: StatusDelivered, wantSecurity: SecurityTLS, wantConns: 1, wantErrors: []string{""},
			wantLines: []string{"Warning: MTA-STS policy of t.test (testing): MX(mx.t.test) fails the policy: unable to get local issuer certificate; delivering per the TLS setting"}},
		{name: "MTA-STS testing, not offered: delivered in clear text, failure logged", tls: tlspolicy.TLSPreferred, cert: noTLS, policy: "testing",
			wantStatus: StatusDelivered, wantSecurity: SecurityNone, wantConns: 1, wantErrors: []string{""},
			wantLines: []string{"Warning: MTA-STS policy of t.test (testing): MX(mx.t.test) fails the policy: STARTTLS not offered; delivering per the TLS setting"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			conf := mxConf{refuseTLS: tt.refuse, dropTLS: tt.drop}
			switch tt.cert {
			case trustedMX:
				conf.cert = w.ca.leaf(t, "mx.t.test")
			case trustedBoth:
				conf.cert = w.ca.leaf(t, "mx.t.test", "t.test")
			case untrusted:
				conf.cert = w.rogue.leaf(t, "mx.t.test")
			}
			mx := w.addMX("t.test", 10, "mx.t.test", conf)
			if tt.policy != "" {
				w.policy("t.test", site{body: policyText(tt.policy, "mx.t.test")})
			}
			res := w.deliver(t, Destination{Controls: tlspolicy.Controls{TLS: tt.tls, MTASTS: tt.policy != ""}}, "rcpt@t.test")
			if res.Status != tt.wantStatus || res.Security != tt.wantSecurity {
				t.Errorf("status %s security %s, want %s %s (reason %q)", res.Status, res.Security, tt.wantStatus, tt.wantSecurity, res.Reason)
			}
			var errs []string
			for i, a := range res.Attempts {
				e := a.Error
				if i < len(tt.wantErrors) && tt.wantErrors[i] != "" && strings.HasPrefix(e, tt.wantErrors[i]) {
					e = tt.wantErrors[i]
				}
				errs = append(errs, e)
			}
			if diff := cmp.Diff(tt.wantErrors, errs); diff != "" {
				t.Errorf("attempt errors (-want +got):\n%s", diff)
			}
			conns, mailFrom, mails, snis := mx.stats()
			if conns != tt.wantConns {
				t.Errorf("%d connections, want %d", conns, tt.wantConns)
			}
			if tt.wantStatus != StatusDelivered && mailFrom != 0 {
				t.Errorf("%d MAIL FROM reached the server, want none", mailFrom)
			}
			if tt.wantStatus == StatusDelivered && (len(mails) != 1 || mails[0].tls != (tt.wantSecurity != SecurityNone)) {
				t.Errorf("server mails %+v, want one, TLS %v", mails, tt.wantSecurity != SecurityNone)
			}
			if tt.tls == tlspolicy.TLSNo && len(snis) != 0 {
				t.Errorf("handshakes under TLS No: %v", snis)
			}
			got := w.logLines()
			i := 0
			for _, l := range got {
				if i < len(tt.wantLines) && strings.HasPrefix(l, tt.wantLines[i]) {
					i++
				}
			}
			if i < len(tt.wantLines) {
				t.Errorf("log misses %q; log:\n%s", tt.wantLines[i], strings.Join(got, "\n"))
			}
		})
	}
}

// TestRecipientsApart: 4xx and 5xx per recipient are kept apart: the
// accepted one is delivered, the 452 one stays queued with its reason, the
// 550 one bounces (a bounce message for the sender).
func TestRecipientsApart(t *testing.T) {
	w := newWorld(t)
	w.addMX("r.test", 10, "mx.r.test", mxConf{rcpt: map[string]string{
		"full@r.test":   "452 4.2.2 mailbox full",
		"nobody@r.test": "550 5.1.1 no such user",
	}})
	res := w.deliver(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred}}, "ok@r.test", "full@r.test", "nobody@r.test")
	wantResult(t, res, `{"mid": 1, "status": "deferred", "security": "none",
		"attempts": [{"mx": "mx.r.test", "address": "127.0.0.1", "dcid": 1, "security": "none", "tls_version": "", "error": "452 4.2.2 mailbox full"}],
		"reason": "452 4.2.2 mailbox full",
		"recipients": [
			{"rid": 0, "to": "ok@r.test", "status": "delivered", "reply": "250 2.0.0 Ok: queued as 1"},
			{"rid": 1, "to": "full@r.test", "status": "deferred", "reply": "452 4.2.2 mailbox full"},
			{"rid": 2, "to": "nobody@r.test", "status": "bounced", "reply": "550 5.1.1 no such user"}]}`)
	for _, l := range []string{
		"Info: Delayed: DCID 1 MID 1 to RID [1] - 452 4.2.2 mailbox full",
		"Info: Bounced: DCID 1 MID 1 to RID [2] - 550 5.1.1 no such user",
		"Info: Message done DCID 1 MID 1 to RID [0]",
		"Info: MID 1 bounce message for <sender@esa.test> written to queue/bounce/1-2.eml",
	} {
		if !w.hasLine(l) {
			t.Errorf("log misses %q:\n%s", l, w.log)
		}
	}
	msgs, err := w.queue.List(context.Background())
	if err != nil || len(msgs) != 1 {
		t.Fatalf("List: %v, %v", msgs, err)
	}
	var states []string
	for _, r := range msgs[0].Recipients {
		states = append(states, string(r.State)+" "+r.Reason)
	}
	want := []string{"delivered ", "queued 452 4.2.2 mailbox full", "bounced 550 5.1.1 no such user"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("queue states (-want +got):\n%s", diff)
	}
	bounce, err := afero.ReadFile(w.fs, "queue/bounce/1-2.eml")
	if err != nil || !strings.Contains(string(bounce), "Final-Recipient: rfc822; nobody@r.test\r\nAction: failed\r\nStatus: 5.1.1\r\n") {
		t.Errorf("bounce message: %v\n%s", err, bounce)
	}
	h, _, _ := w.queue.Host(context.Background(), "r.test")
	if h.Status != StatusDeferred || h.Reason != "452 4.2.2 mailbox full" || h.Pending != 1 || h.LastDelivered.IsZero() {
		t.Errorf("host status %+v, want deferred with its reason, 1 pending, a delivery time", h)
	}
}

// TestDestinationDNS: what DNS says before any connection.
func TestDestinationDNS(t *testing.T) {
	tests := []struct {
		name       string
		zone       []string
		servfail   string
		domain     string
		wantStatus string
		wantReason string
	}{
		{name: "null MX bounces (RFC 7505)", zone: []string{"null.test. 300 IN MX 0 ."}, domain: "null.test",
			wantStatus: StatusBounced, wantReason: "556 5.1.10 domain null.test accepts no mail (null MX)"},
		{name: "a domain that does not exist bounces", domain: "nx.test",
			wantStatus: StatusBounced, wantReason: "5.1.2 domain nx.test does not exist"},
		{name: "MX lookup SERVFAIL defers", servfail: "sf.test.", domain: "sf.test",
			wantStatus: StatusDeferred, wantReason: "MX lookup for sf.test failed: dns: lookup sf.test. MX: "},
		{name: "no MX and no address bounces", zone: []string{"bare.test. 300 IN TXT \"x\""}, domain: "bare.test",
			wantStatus: StatusBounced, wantReason: "5.1.2 domain bare.test has no mail host (no MX and no address record)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.dns.Add(tt.zone...)
			if tt.servfail != "" {
				w.dns.SetSpecial(tt.servfail, dnstest.ServFail)
			}
			res := w.deliver(t, Destination{}, "rcpt@"+tt.domain)
			if res.Status != tt.wantStatus || !strings.HasPrefix(res.Reason, tt.wantReason) {
				t.Errorf("status %s reason %q, want %s %q", res.Status, res.Reason, tt.wantStatus, tt.wantReason)
			}
			if len(res.Attempts) != 0 {
				t.Errorf("attempts %+v, want none", res.Attempts)
			}
		})
	}
}

// TestImplicitMX: no MX RRset: the domain's own address is the mail host.
func TestImplicitMX(t *testing.T) {
	w := newWorld(t)
	w.addHost("implicit.test", mxConf{})
	res := w.deliver(t, Destination{}, "rcpt@implicit.test")
	if res.Status != StatusDelivered || len(res.Attempts) != 1 || res.Attempts[0].MX != "implicit.test" {
		t.Errorf("result %+v, want delivered to implicit.test", res)
	}
}

// TestNextMXAfterConnectFailure: the preferred MX does not answer; the next
// one gets the message.
func TestNextMXAfterConnectFailure(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("two.test. 300 IN MX 10 down.two.test.", "down.two.test. 300 IN A 127.0.0.1")
	up := w.addMX("two.test", 20, "up.two.test", mxConf{})
	res := w.deliver(t, Destination{}, "rcpt@two.test")
	if res.Status != StatusDelivered || len(res.Attempts) != 2 || res.Attempts[0].MX != "down.two.test" || res.Attempts[0].Error == "" {
		t.Errorf("result %+v, want a failed attempt at down.two.test, then delivered", res)
	}
	if !w.hasLine("Warning: Connection Error: DCID 1 domain: two.test IP: 127.0.0.1 port: 25 details: connect: test dialer: no SMTP server for down.two.test") {
		t.Errorf("log:\n%s", w.log)
	}
	if _, _, mails, _ := up.stats(); len(mails) != 1 {
		t.Errorf("up.two.test got %d messages", len(mails))
	}
}

// TestConnectionReuse: five messages, two per connection, one connection at
// a time: three connections, every message delivered once.
func TestConnectionReuse(t *testing.T) {
	w := newWorld(t)
	mx := w.addMX("reuse.test", 10, "mx.reuse.test", mxConf{cert: w.ca.leaf(t, "mx.reuse.test")})
	for range 5 {
		w.enqueue("rcpt@reuse.test")
	}
	r := NewRunner(RunnerConfig{Queue: w.queue, Engine: w.engine(), Destination: func(string) Destination {
		return Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequired}, MessagesPerConnection: 2, Concurrency: 1}
	}})
	n, err := r.Drain(context.Background())
	if err != nil || n != 5 {
		t.Fatalf("Drain = %d, %v; want 5", n, err)
	}
	conns, _, mails, _ := mx.stats()
	var per []int
	for _, m := range mails {
		per = append(per, m.dcid)
	}
	if conns != 3 || !cmp.Equal(per, []int{1, 1, 2, 2, 3}) {
		t.Errorf("%d connections, messages by connection %v; want 3 and [1 1 2 2 3]", conns, per)
	}
	if msgs, _ := w.queue.List(context.Background()); len(msgs) != 0 {
		t.Errorf("%d messages left in the queue", len(msgs))
	}
}

// TestMessageTooBig: above the server's SIZE the message bounces without
// being sent.
func TestMessageTooBig(t *testing.T) {
	w := newWorld(t)
	mx := w.addMX("small.test", 10, "mx.small.test", mxConf{size: 50})
	res := w.deliver(t, Destination{}, "rcpt@small.test")
	if res.Status != StatusBounced || !strings.HasPrefix(res.Reason, "552 5.3.4 ") {
		t.Errorf("result %+v, want bounced 552 5.3.4", res)
	}
	if _, n, _, _ := mx.stats(); n != 0 {
		t.Errorf("%d MAIL FROM, want none", n)
	}
}

// TestTwoDomains: one message to two domains: one delivered, one deferred;
// the result merges both, the queue keeps the deferred recipient.
func TestTwoDomains(t *testing.T) {
	w := newWorld(t)
	w.addMX("a.test", 10, "mx.a.test", mxConf{})
	w.addMX("b.test", 10, "mx.b.test", mxConf{rcpt: map[string]string{"x@b.test": "421 4.3.2 closing"}})
	res := w.deliver(t, Destination{}, "x@a.test", "x@b.test")
	if res.Status != StatusDeferred || len(res.Attempts) != 2 || len(res.Recipients) != 2 {
		t.Errorf("result %+v, want deferred with two attempts and two recipients", res)
	}
	msgs, _ := w.queue.List(context.Background())
	if len(msgs) != 1 || len(msgs[0].Pending()) != 1 || msgs[0].Pending()[0].Domain != "b.test" || msgs[0].Lease != nil {
		t.Errorf("queue %+v, want x@b.test pending and no lease", msgs)
	}
}

// TestDeliverMIDErrors: a message that does not exist, and one held by
// another claim.
func TestDeliverMIDErrors(t *testing.T) {
	w := newWorld(t)
	r := NewRunner(RunnerConfig{Queue: w.queue, Engine: w.engine()})
	if _, err := r.DeliverMID(context.Background(), 99); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("DeliverMID(99) = %v, want ErrNotFound", err)
	}
	m := w.enqueue("x@held.test")
	if _, err := w.queue.Claim(context.Background(), queue.Selector{MID: m.MID}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeliverMID(context.Background(), m.MID); !errors.Is(err, ErrBusy) {
		t.Errorf("DeliverMID(held) = %v, want ErrBusy", err)
	}
}

// TestIPSortPlan: each host's addresses come in the IP sort preference's
// order, the excluded family dropped.
func TestIPSortPlan(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("ip.test. 300 IN MX 10 mx.ip.test.", "mx.ip.test. 300 IN A 127.0.0.1", "mx.ip.test. 300 IN AAAA ::1",
		"v4.test. 300 IN MX 10 mx.v4.test.", "mx.v4.test. 300 IN A 127.0.0.1")
	tests := []struct {
		domain string
		pref   IPSort
		want   string
	}{
		{"ip.test", PreferV4, "[127.0.0.1 ::1]"},
		{"ip.test", PreferV6, "[::1 127.0.0.1]"},
		{"ip.test", RequireV4, "[127.0.0.1]"},
		{"ip.test", RequireV6, "[::1]"},
		{"v4.test", RequireV6, "[] no address for mx.v4.test"},
	}
	for _, tt := range tests {
		p := w.engine().Plan(context.Background(), Destination{Domain: tt.domain, IPSort: tt.pref})
		if len(p.Hosts) != 1 {
			t.Fatalf("Plan(%s) = %+v", tt.domain, p)
		}
		got := strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(p.Hosts[0].Addrs)+" "+p.Hosts[0].Err, "  ", " "))
		if got != tt.want {
			t.Errorf("Plan(%s, %v) addresses %q, want %q", tt.domain, tt.pref, got, tt.want)
		}
	}
}

// TestInterrupted: cancelling the context in the middle of a delivery
// defers without counting an attempt, and releases the claim.
func TestInterrupted(t *testing.T) {
	w := newWorld(t)
	w.addMX("slowmx.test", 10, "mx.slowmx.test", mxConf{delay: time.Second})
	m := w.enqueue("rcpt@slowmx.test")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r := NewRunner(RunnerConfig{Queue: w.queue, Engine: w.engine()})
	start := time.Now()
	res, err := r.DeliverMID(ctx, m.MID)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("DeliverMID took %v after the cancel", d)
	}
	if res.Status != StatusDeferred || !strings.HasPrefix(res.Reason, "delivery interrupted") {
		t.Errorf("result %+v, want deferred, interrupted", res)
	}
	q, _ := w.queue.Get(context.Background(), m.MID)
	if q.Lease != nil || q.Recipients[0].Attempts != 0 {
		t.Errorf("queued message %+v, want no lease and no attempt counted", q)
	}
}

// TestRunInBackground: Run delivers what is queued, then stops with its
// context.
func TestRunInBackground(t *testing.T) {
	w := newWorld(t)
	mx := w.addMX("bg.test", 10, "mx.bg.test", mxConf{})
	w.enqueue("rcpt@bg.test")
	ctx, cancel := context.WithCancel(context.Background())
	r := NewRunner(RunnerConfig{Queue: w.queue, Engine: w.engine(), Poll: 20 * time.Millisecond})
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, mails, _ := mx.stats(); len(mails) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not delivered in the background")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.enqueue("rcpt2@bg.test") // picked up by a later round
	for {
		if _, _, mails, _ := mx.stats(); len(mails) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second message was not delivered in the background")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}
