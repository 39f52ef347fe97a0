//go:build interop

package interop

import (
	"fmt"
	"regexp"
	"testing"
	"time"
)

// deliverResult is deliver --json (DESIGN.md).
type deliverResult struct {
	MID      int    `json:"mid"`
	Status   string `json:"status"`
	Security string `json:"security"`
	Attempts []struct {
		MX         string `json:"mx"`
		Address    string `json:"address"`
		Security   string `json:"security"`
		TLSVersion string `json:"tls_version"`
		Error      string `json:"error"`
	} `json:"attempts"`
	Reason string `json:"reason"`
}

// TestDeliver: deliver under each TLS mode, DANE and MTA-STS against Postfix.
// The message must reach Postfix's mailbox only where the rules allow, over
// TLS where TLS was required, and Postfix must never have received a mail
// transaction in clear text where TLS was required.
func TestDeliver(t *testing.T) {
	cases := []struct {
		name, about string
		domain      string
		flags       string // destconfig new DOMAIN FLAGS
		status      string // delivered, deferred
		security    string // when delivered
		mx          string // the listener that must have received it, when delivered
	}{
		{"tls-no", "TLS No: clear text even though STARTTLS is offered", "example.test", "--tls=no", "delivered", "none", "mx-valid"},
		{"tls-preferred", "TLS Preferred to a host with STARTTLS", "example.test", "--tls=preferred", "delivered", "tls", "mx-valid"},
		{"tls-preferred-plain", "TLS Preferred to a host without STARTTLS: clear text", "sts-plain.test", "--tls=preferred", "delivered", "none", "mx-plain"},
		{"tls-required-plain", "TLS Required to a host without STARTTLS: never in clear text", "sts-plain.test", "--tls=required", "deferred", "", ""},
		{"tls-required-selfsigned", "TLS Required needs no verification", "sts-selfsigned.test", "--tls=required", "delivered", "tls", "mx-selfsigned"},
		{"tls-preferred-verify-selfsigned", "Preferred - Verify: TLS without verification when it does not verify", "sts-selfsigned.test", "--tls=preferred_verify", "delivered", "tls", "mx-selfsigned"},
		{"tls-required-verify-hosted", "Required - Verify Hosted Domains accepts the MX host's name", "example.test", "--tls=required_verify_hosted", "delivered", "tls-verify", "mx-valid"},
		{"tls-required-verify-wrongname", "Required - Verify to a certificate for another name", "sts-wrongname.test", "--tls=required_verify", "deferred", "", ""},
		{"dane-opportunistic", "DANE Opportunistic, 3 1 1", "example.test", "--tls=preferred --dane=opportunistic", "delivered", "dane", "mx-valid"},
		{"dane-mandatory-ta", "DANE Mandatory, 2 1 1 with an intermediate CA", "dane-ta.test", "--tls=preferred --dane=mandatory", "delivered", "dane", "mx-chain"},
		{"dane-mandatory-unsigned", "DANE Mandatory to an unsigned zone: DANE not supported", "insecure.test", "--tls=preferred --dane=mandatory", "deferred", "", ""},
		{"dane-opportunistic-unsigned", "DANE Opportunistic to an unsigned zone: the TLS setting", "insecure.test", "--tls=preferred --dane=opportunistic", "delivered", "tls", "mx-valid"},
		{"dane-mismatch", "DANE with a TLSA digest that matches nothing: no fallback", "dane-mismatch.test", "--tls=preferred --dane=opportunistic", "deferred", "", ""},
		{"dane-bogus", "DANE with a bogus TLSA RRset: the host must not be used", "sub.bogus.test", "--tls=preferred --dane=opportunistic", "deferred", "", ""},
		{"mta-sts-enforce", "MTA-STS enforce, a PKIX-valid MX", "sts-pass.test", "--tls=preferred --mta_sts=on", "delivered", "mta-sts", "mx-valid"},
		{"mta-sts-enforce-wrongname", "MTA-STS enforce, the MX certificate is for another name", "sts-wrongname.test", "--tls=preferred --mta_sts=on", "deferred", "", ""},
		{"mta-sts-testing", "MTA-STS testing: delivered by the TLS setting", "sts-testing.test", "--tls=preferred --mta_sts=on", "delivered", "tls", "mx-valid"},
	}
	for _, c := range cases {
		scenario(t, c.name, c.about, func(s *sc) {
			log := mark(fx.postfixLog)
			rcpt := fmt.Sprintf("%s-%d@%s", c.name, time.Now().UnixNano(), c.domain)
			var res deliverResult
			dir := dataDir(s)
			if r := segcliAt(s, dir, "", fmt.Sprintf("destconfig new %s %s; commit interop", c.domain, c.flags)); r.code != 0 {
				s.Fatalf("configuring %s: %s", c.domain, r)
			}
			r := segcliJSONAt(s, dir, fmt.Sprintf("deliver --json --from sender@esa.test --to %s", rcpt), &res)
			if res.Status != c.status || (c.status == "delivered" && res.Security != c.security) {
				s.Errorf("deliver to %s: status %q security %q (reason %q); want %q %q\n%s", rcpt, res.Status, res.Security, res.Reason, c.status, c.security, r)
			}
			if c.status != "delivered" {
				got := log.settle()
				if regexp.MustCompile(`disconnect from .* mail=`).MatchString(got) {
					s.Errorf("Postfix received a mail transaction although the rules forbid delivery:\n%s", got)
				}
				if msg := findMail(c.domain, "Delivered-To: "+rcpt); msg != "" {
					s.Errorf("the message reached the mailbox although the rules forbid delivery:\n%s", msg)
				}
				return
			}
			msg, err := waitMail(c.domain, "Delivered-To: "+rcpt, 10*time.Second)
			if err != nil {
				s.Fatalf("%v\n%s", err, r)
			}
			m := mxByName(c.mx)
			tls := regexp.MustCompile(`(?s)\(using TLSv1\.[23] with cipher .*\s+by ` + regexp.QuoteMeta(m.host) + ` \(Postfix\) with ESMTPS`).MatchString(msg)
			if tls != (c.security != "none") {
				s.Errorf("the message arrived with TLS %v, security %q says otherwise:\n%s", tls, c.security, msg)
			}
			if _, missing := log.wait(5e9, fmt.Sprintf(`postfix/%s/smtpd\[\d+\]: disconnect from .* mail=1 `, regexp.QuoteMeta(m.name))); len(missing) > 0 {
				s.Errorf("Postfix's log does not show the delivery on %s:\n%s", m.name, log.since())
			}
		})
	}
}
