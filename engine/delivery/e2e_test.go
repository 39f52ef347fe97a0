package delivery

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/tlspolicy"
)

// cipherRE scrubs the cipher suite, which depends on the machine (AES
// hardware or not).
var cipherRE = regexp.MustCompile(`cipher \S+`)

// logLines returns the mail log's lines at Info and above, cipher scrubbed.
func (w *world) logLines() []string {
	var out []string
	for _, l := range w.log.Lines() {
		if strings.HasPrefix(l, "Debug: ") || strings.HasPrefix(l, "Trace: ") {
			continue
		}
		out = append(out, cipherRE.ReplaceAllString(l, "cipher X"))
	}
	return out
}

// deliver queues a message to the recipients and delivers it now under dest,
// through the Runner, as the deliver command does.
func (w *world) deliver(t *testing.T, dest Destination, to ...string) Result {
	t.Helper()
	m := w.enqueue(to...)
	return w.deliverMID(t, dest, m.MID)
}

func (w *world) deliverMID(t *testing.T, dest Destination, mid uint64) Result {
	t.Helper()
	r := NewRunner(RunnerConfig{Queue: w.queue, Engine: w.engine(), Destination: func(string) Destination { return dest }})
	res, err := r.DeliverMID(context.Background(), mid)
	if err != nil {
		t.Fatalf("DeliverMID(%d): %v", mid, err)
	}
	return res
}

// wantResult compares a result with the wanted one, given as the JSON of the
// deliver --json contract.
func wantResult(t *testing.T, got Result, want string) {
	t.Helper()
	var w Result
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad wanted result: %v", err)
	}
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func wantLog(t *testing.T, w *world, want []string) {
	t.Helper()
	if diff := cmp.Diff(want, w.logLines()); diff != "" {
		t.Errorf("mail_logs (-want +got):\n%s", diff)
	}
}

// TestMTASTSEnforce: an enforce policy listing the MX host: TLS 1.2+,
// certificate valid for the MX host name, SNI the MX host; security mta-sts.
func TestMTASTSEnforce(t *testing.T) {
	w := newWorld(t)
	mx := w.addMX("sts.test", 10, "mx.sts.test", mxConf{cert: w.ca.leaf(t, "mx.sts.test")})
	w.policy("sts.test", site{body: policyText("enforce", "mx.sts.test")})
	res := w.deliver(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, MTASTS: true}}, "rcpt@sts.test")
	wantResult(t, res, `{"mid": 1, "status": "delivered", "security": "mta-sts",
		"attempts": [{"mx": "mx.sts.test", "address": "127.0.0.1", "dcid": 1, "security": "mta-sts", "tls_version": "TLS1.3", "error": ""}],
		"reason": "",
		"recipients": [{"rid": 0, "to": "rcpt@sts.test", "status": "delivered", "reply": "250 2.0.0 Ok: queued as 1"}]}`)
	wantLog(t, w, []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <sender@esa.test>",
		"Info: MID 1 RID [0] To: <rcpt@sts.test>",
		"Info: MID 1 ready 85 bytes from <sender@esa.test>",
		"Info: MID 1 queued for delivery",
		"Info: Successfully fetched MTA-STS TXT record for domain(sts.test)",
		"Info: MTA-STS policy for the domain (sts.test) Successful.",
		"Info: Applying MTA-STS policy for the domain (sts.test)",
		"Info: New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Info: DCID 1 TLS success protocol TLSv1.3 cipher X",
		"Info: Delivery start DCID 1 MID 1 to RID [0]",
		"Info: Message done DCID 1 MID 1 to RID [0]",
		"Info: MID 1 RID [0] Response '2.0.0 Ok: queued as 1'",
		"Info: Message finished MID 1 done",
		"Info: DCID 1 close",
	})
	_, _, mails, snis := mx.stats()
	if len(mails) != 1 || !mails[0].tls || !strings.Contains(mails[0].data, "\r\n.dot line\r\n") {
		t.Errorf("server got %+v, want one message over TLS", mails)
	}
	if diff := cmp.Diff([]string{"mx.sts.test"}, snis); diff != "" {
		t.Errorf("SNI (-want +got):\n%s", diff)
	}
	if msgs, _ := w.queue.List(context.Background()); len(msgs) != 0 {
		t.Errorf("queue holds %d messages, want none", len(msgs))
	}
	h, ok, err := w.queue.Host(context.Background(), "sts.test")
	if err != nil || !ok || h.Status != StatusDelivered || h.Security != SecurityMTASTS || h.MX != "mx.sts.test" {
		t.Errorf("host status = %+v, %v, %v", h, ok, err)
	}
}

// TestDANESuccessSTSSkipped: secure MX, address and TLSA (3 1 1 of a
// certificate no CA vouches for): DANE authenticates, SNI is the TLSA base
// domain, and MTA-STS is not even looked up.
func TestDANESuccessSTSSkipped(t *testing.T) {
	w := newWorld(t)
	cert := w.rogue.leaf(t, "mx.dane.test")
	mx := w.addMX("dane.test", 10, "mx.dane.test", mxConf{cert: cert})
	w.dns.Add("_25._tcp.mx.dane.test. 300 IN TLSA " + tlsa311(cert))
	w.policy("dane.test", site{body: policyText("enforce", "other.dane.test")})
	res := w.deliver(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANEOpportunistic, MTASTS: true}}, "rcpt@dane.test")
	wantResult(t, res, `{"mid": 1, "status": "delivered", "security": "dane",
		"attempts": [{"mx": "mx.dane.test", "address": "127.0.0.1", "dcid": 1, "security": "dane", "tls_version": "TLS1.3", "error": ""}],
		"reason": "",
		"recipients": [{"rid": 0, "to": "rcpt@dane.test", "status": "delivered", "reply": "250 2.0.0 Ok: queued as 1"}]}`)
	wantLog(t, w, []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <sender@esa.test>",
		"Info: MID 1 RID [0] To: <rcpt@dane.test>",
		"Info: MID 1 ready 85 bytes from <sender@esa.test>",
		"Info: MID 1 queued for delivery",
		"Info: SECURE MX record(mx.dane.test) found for dane.test",
		"Info: SECURE A record (127.0.0.1) found for MX(mx.dane.test) in dane.test",
		"Info: SECURE denial of AAAA record found for MX(mx.dane.test) in dane.test",
		"Info: SECURE TLSA record found for MX(mx.dane.test) in dane.test",
		"Info: New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Info: DCID 1 TLS success protocol TLSv1.3 cipher X",
		"Info: DCID 1 DANE SUCCESS for MX(mx.dane.test)",
		"Info: Delivery start DCID 1 MID 1 to RID [0]",
		"Info: Message done DCID 1 MID 1 to RID [0]",
		"Info: MID 1 RID [0] Response '2.0.0 Ok: queued as 1'",
		"Info: Message finished MID 1 done",
		"Info: DCID 1 close",
	})
	if _, _, _, snis := mx.stats(); !cmp.Equal(snis, []string{"mx.dane.test"}) {
		t.Errorf("SNI %v, want the TLSA base domain mx.dane.test", snis)
	}
	if n := w.dns.Asked("_mta-sts.dane.test. TXT"); n != 0 || w.web.hitCount("dane.test") != 0 {
		t.Errorf("MTA-STS looked up (%d TXT queries, %d fetches): DANE decided", n, w.web.hitCount("dane.test"))
	}
}

// TestDANEMandatoryFailure: the first MX does not match its TLSA record (no
// fallback to PKIX or clear text), the second has no DANE (an unsigned zone)
// and DANE is Mandatory: nothing is delivered, the message is deferred.
func TestDANEMandatoryFailure(t *testing.T) {
	w := newWorld(t)
	mx1 := w.addMX("danefail.test", 10, "mx1.danefail.test", mxConf{cert: w.ca.leaf(t, "mx1.danefail.test")})
	w.dns.Add("_25._tcp.mx1.danefail.test. 300 IN TLSA " + tlsa311(w.ca.leaf(t, "another.key.test")))
	mx2 := w.addMX("danefail.test", 20, "mx2.unsigned.test", mxConf{cert: w.ca.leaf(t, "mx2.unsigned.test")})
	w.dns.SetInsecure("unsigned.test")
	res := w.deliver(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANEMandatory, MTASTS: true}}, "rcpt@danefail.test")
	wantResult(t, res, `{"mid": 1, "status": "deferred", "security": "none",
		"attempts": [
			{"mx": "mx1.danefail.test", "address": "127.0.0.1", "dcid": 1, "security": "none", "tls_version": "",
			 "error": "DANE verification failed: 1 DANE-EE(3) record, none matches the server certificate: no TLSA record matches the server certificate"},
			{"mx": "mx2.unsigned.test", "address": "", "dcid": 0, "security": "none", "tls_version": "",
			 "error": "skipped: DANE not supported by mx2.unsigned.test and DANE is Mandatory for danefail.test"}],
		"reason": "skipped: DANE not supported by mx2.unsigned.test and DANE is Mandatory for danefail.test",
		"recipients": [{"rid": 0, "to": "rcpt@danefail.test", "status": "deferred", "reply": "skipped: DANE not supported by mx2.unsigned.test and DANE is Mandatory for danefail.test"}]}`)
	wantLog(t, w, []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <sender@esa.test>",
		"Info: MID 1 RID [0] To: <rcpt@danefail.test>",
		"Info: MID 1 ready 85 bytes from <sender@esa.test>",
		"Info: MID 1 queued for delivery",
		"Info: SECURE MX record(mx1.danefail.test) found for danefail.test",
		"Info: SECURE MX record(mx2.unsigned.test) found for danefail.test",
		"Info: SECURE A record (127.0.0.1) found for MX(mx1.danefail.test) in danefail.test",
		"Info: SECURE denial of AAAA record found for MX(mx1.danefail.test) in danefail.test",
		"Info: SECURE TLSA record found for MX(mx1.danefail.test) in danefail.test",
		"Info: INSECURE A record (127.0.0.1) found for MX(mx2.unsigned.test) in danefail.test",
		"Info: INSECURE denial of AAAA record found for MX(mx2.unsigned.test) in danefail.test",
		"Info: TLSA record not queried for MX(mx2.unsigned.test) in danefail.test: the address is INSECURE",
		"Warning: MX(mx2.unsigned.test) in danefail.test not used: DANE not supported by mx2.unsigned.test and DANE is Mandatory for danefail.test",
		"Info: New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Warning: DCID 1 DANE verification failed for MX(mx1.danefail.test): 1 DANE-EE(3) record, none matches the server certificate: no TLSA record matches the server certificate",
		"Info: DCID 1 close",
		"Info: Delayed: DCID 0 MID 1 to RID [0] - skipped: DANE not supported by mx2.unsigned.test and DANE is Mandatory for danefail.test",
	})
	if _, n, _, _ := mx1.stats(); n != 0 {
		t.Errorf("mx1 saw %d MAIL FROM, want none", n)
	}
	if c, _, _, _ := mx2.stats(); c != 0 {
		t.Errorf("mx2 got %d connections, want none", c)
	}
	msgs, _ := w.queue.List(context.Background())
	if len(msgs) != 1 || msgs[0].Reason() == "" || msgs[0].Recipients[0].Attempts != 1 {
		t.Errorf("queue = %+v, want the message deferred with its reason", msgs)
	}
}

// TestDANEUnavailableSTSTimeout: DANE Opportunistic but the zone is unsigned,
// MTA-STS On but the policy host never answers: the TLS setting (Preferred)
// applies.
func TestDANEUnavailableSTSTimeout(t *testing.T) {
	w := newWorld(t)
	w.dns.SetInsecure("slow.test")
	w.addMX("slow.test", 10, "mx.slow.test", mxConf{cert: w.rogue.leaf(t, "mx.slow.test")})
	w.policy("slow.test", site{hang: true})
	res := w.deliver(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, DANE: tlspolicy.DANEOpportunistic, MTASTS: true}}, "rcpt@slow.test")
	wantResult(t, res, `{"mid": 1, "status": "delivered", "security": "tls",
		"attempts": [{"mx": "mx.slow.test", "address": "127.0.0.1", "dcid": 1, "security": "tls", "tls_version": "TLS1.3", "error": ""}],
		"reason": "",
		"recipients": [{"rid": 0, "to": "rcpt@slow.test", "status": "delivered", "reply": "250 2.0.0 Ok: queued as 1"}]}`)
	wantLog(t, w, []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <sender@esa.test>",
		"Info: MID 1 RID [0] To: <rcpt@slow.test>",
		"Info: MID 1 ready 85 bytes from <sender@esa.test>",
		"Info: MID 1 queued for delivery",
		"Info: INSECURE MX record(mx.slow.test) found for slow.test",
		"Info: INSECURE A record (127.0.0.1) found for MX(mx.slow.test) in slow.test",
		"Info: INSECURE denial of AAAA record found for MX(mx.slow.test) in slow.test",
		"Info: TLSA record not queried for MX(mx.slow.test) in slow.test: the address is INSECURE",
		"Info: Successfully fetched MTA-STS TXT record for domain(slow.test)",
		"Warning: Failed to fetch MTA-STS policy for the domain (slow.test)",
		"Info: New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Info: DCID 1 TLS success protocol TLSv1.3 cipher X",
		"Info: Delivery start DCID 1 MID 1 to RID [0]",
		"Info: Message done DCID 1 MID 1 to RID [0]",
		"Info: MID 1 RID [0] Response '2.0.0 Ok: queued as 1'",
		"Info: Message finished MID 1 done",
		"Info: DCID 1 close",
	})
}

// TestHostedDomain: a domain hosted by a provider whose certificate names
// the provider's MX host: Required - Verify defers ("peer cert does not match
// domain"), Required - Verify Hosted Domains delivers.
func TestHostedDomain(t *testing.T) {
	w := newWorld(t)
	mx := w.addMX("hosted.test", 10, "mx.provider.test", mxConf{cert: w.ca.leaf(t, "mx.provider.test")})
	m := w.enqueue("rcpt@hosted.test")
	res := w.deliverMID(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequiredVerify}}, m.MID)
	wantResult(t, res, `{"mid": 1, "status": "deferred", "security": "none",
		"attempts": [{"mx": "mx.provider.test", "address": "127.0.0.1", "dcid": 1, "security": "none", "tls_version": "",
			"error": "verify error: peer cert does not match domain"}],
		"reason": "verify error: peer cert does not match domain",
		"recipients": [{"rid": 0, "to": "rcpt@hosted.test", "status": "deferred", "reply": "verify error: peer cert does not match domain"}]}`)
	if _, n, _, _ := mx.stats(); n != 0 {
		t.Errorf("the server saw %d MAIL FROM under Required - Verify, want none", n)
	}
	msgs, _ := w.queue.List(context.Background())
	if len(msgs) != 1 || msgs[0].Reason() != "verify error: peer cert does not match domain" {
		t.Fatalf("queue = %+v, want the message deferred with its reason", msgs)
	}
	res = w.deliverMID(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequiredVerifyHosted}}, m.MID)
	wantResult(t, res, `{"mid": 1, "status": "delivered", "security": "tls-verify",
		"attempts": [{"mx": "mx.provider.test", "address": "127.0.0.1", "dcid": 2, "security": "tls-verify", "tls_version": "TLS1.3", "error": ""}],
		"reason": "",
		"recipients": [{"rid": 0, "to": "rcpt@hosted.test", "status": "delivered", "reply": "250 2.0.0 Ok: queued as 2"}]}`)
	wantLog(t, w, []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <sender@esa.test>",
		"Info: MID 1 RID [0] To: <rcpt@hosted.test>",
		"Info: MID 1 ready 85 bytes from <sender@esa.test>",
		"Info: MID 1 queued for delivery",
		"Info: New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Warning: DCID 1 TLS deferring: verify error: peer cert does not match domain",
		"Info: DCID 1 close",
		"Info: Delayed: DCID 0 MID 1 to RID [0] - verify error: peer cert does not match domain",
		"Info: New SMTP DCID 2 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Info: DCID 2 TLS success protocol TLSv1.3 cipher X",
		"Info: Delivery start DCID 2 MID 1 to RID [0]",
		"Info: Message done DCID 2 MID 1 to RID [0]",
		"Info: MID 1 RID [0] Response '2.0.0 Ok: queued as 2'",
		"Info: Message finished MID 1 done",
		"Info: DCID 2 close",
	})
}

// TestRouteBypassesDANEAndSTS: an SMTP route for a domain whose DANE records
// and MTA-STS policy would both refuse the route's host: the route's host gets
// the mail under the TLS setting only, and neither TLSA nor the MTA-STS record
// is asked for.
func TestRouteBypassesDANEAndSTS(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("routed.test. 300 IN MX 10 mx.routed.test.", "mx.routed.test. 300 IN A 127.0.0.1",
		"_25._tcp.mx.routed.test. 300 IN TLSA "+tlsa311(w.ca.leaf(t, "unrelated.test")))
	w.policy("routed.test", site{body: policyText("enforce", "mx.routed.test")})
	relay := w.addHost("relay.test", mxConf{cert: w.rogue.leaf(t, "relay.test")})
	res := w.deliver(t, Destination{
		Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequired, DANE: tlspolicy.DANEMandatory, MTASTS: true},
		Routes:   []Host{{Name: "relay.test"}},
	}, "rcpt@routed.test")
	wantResult(t, res, `{"mid": 1, "status": "delivered", "security": "tls",
		"attempts": [{"mx": "relay.test", "address": "127.0.0.1", "dcid": 1, "security": "tls", "tls_version": "TLS1.3", "error": ""}],
		"reason": "",
		"recipients": [{"rid": 0, "to": "rcpt@routed.test", "status": "delivered", "reply": "250 2.0.0 Ok: queued as 1"}]}`)
	wantLog(t, w, []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <sender@esa.test>",
		"Info: MID 1 RID [0] To: <rcpt@routed.test>",
		"Info: MID 1 ready 85 bytes from <sender@esa.test>",
		"Info: MID 1 queued for delivery",
		"Info: Delivery to routed.test via SMTP route relay.test: DANE and MTA-STS are not applied",
		"Info: New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Info: DCID 1 TLS success protocol TLSv1.3 cipher X",
		"Info: Delivery start DCID 1 MID 1 to RID [0]",
		"Info: Message done DCID 1 MID 1 to RID [0]",
		"Info: MID 1 RID [0] Response '2.0.0 Ok: queued as 1'",
		"Info: Message finished MID 1 done",
		"Info: DCID 1 close",
	})
	if _, _, mails, _ := relay.stats(); len(mails) != 1 {
		t.Errorf("the relay got %d messages, want 1", len(mails))
	}
	for _, q := range []string{"_25._tcp.mx.routed.test. TLSA", "_mta-sts.routed.test. TXT", "routed.test. MX"} {
		if n := w.dns.Asked(q); n != 0 {
			t.Errorf("%d queries for %s, want none for a routed domain", n, q)
		}
	}
}

// TestEnforcePreferredMXMismatch: the preferred MX is not in the enforce
// policy: it is never contacted; the next MX, listed, gets the mail.
func TestEnforcePreferredMXMismatch(t *testing.T) {
	w := newWorld(t)
	mx1 := w.addMX("mism.test", 10, "mx1.mism.test", mxConf{cert: w.ca.leaf(t, "mx1.mism.test")})
	mx2 := w.addMX("mism.test", 20, "mx2.mism.test", mxConf{cert: w.ca.leaf(t, "mx2.mism.test")})
	w.policy("mism.test", site{body: policyText("enforce", "mx2.mism.test")})
	res := w.deliver(t, Destination{Controls: tlspolicy.Controls{TLS: tlspolicy.TLSPreferred, MTASTS: true}}, "rcpt@mism.test")
	wantResult(t, res, `{"mid": 1, "status": "delivered", "security": "mta-sts",
		"attempts": [
			{"mx": "mx1.mism.test", "address": "", "dcid": 0, "security": "none", "tls_version": "",
			 "error": "skipped: MTA-STS policy of mism.test (enforce) does not list mx1.mism.test"},
			{"mx": "mx2.mism.test", "address": "127.0.0.1", "dcid": 1, "security": "mta-sts", "tls_version": "TLS1.3", "error": ""}],
		"reason": "",
		"recipients": [{"rid": 0, "to": "rcpt@mism.test", "status": "delivered", "reply": "250 2.0.0 Ok: queued as 1"}]}`)
	wantLog(t, w, []string{
		"Info: Start MID 1",
		"Info: MID 1 From: <sender@esa.test>",
		"Info: MID 1 RID [0] To: <rcpt@mism.test>",
		"Info: MID 1 ready 85 bytes from <sender@esa.test>",
		"Info: MID 1 queued for delivery",
		"Info: Successfully fetched MTA-STS TXT record for domain(mism.test)",
		"Info: MTA-STS policy for the domain (mism.test) Successful.",
		"Info: Applying MTA-STS policy for the domain (mism.test)",
		"Warning: MX(mx1.mism.test) in mism.test not used: MTA-STS policy of mism.test (enforce) does not list mx1.mism.test",
		"Info: New SMTP DCID 1 interface 127.0.0.1 address 127.0.0.1 port 25",
		"Info: DCID 1 TLS success protocol TLSv1.3 cipher X",
		"Info: Delivery start DCID 1 MID 1 to RID [0]",
		"Info: Message done DCID 1 MID 1 to RID [0]",
		"Info: MID 1 RID [0] Response '2.0.0 Ok: queued as 1'",
		"Info: Message finished MID 1 done",
		"Info: DCID 1 close",
	})
	if c, n, _, _ := mx1.stats(); c != 0 || n != 0 {
		t.Errorf("the unlisted MX got %d connections and %d MAIL FROM, want none", c, n)
	}
	if _, _, mails, _ := mx2.stats(); len(mails) != 1 {
		t.Errorf("the listed MX got %d messages, want 1", len(mails))
	}
}
