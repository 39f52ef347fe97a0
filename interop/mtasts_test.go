//go:build interop

package interop

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// stsReport is mtastsverify --json (DESIGN.md).
type stsReport struct {
	Domain string `json:"domain"`
	Record struct {
		Status string `json:"status"`
		ID     string `json:"id"`
	} `json:"record"`
	Policy struct {
		Status string   `json:"status"`
		Mode   string   `json:"mode"`
		MX     []string `json:"mx"`
		MaxAge int      `json:"max_age"`
		Error  string   `json:"error"`
	} `json:"policy"`
	MXHosts []struct {
		Host          string `json:"host"`
		MatchesPolicy bool   `json:"matches_policy"`
		STARTTLS      bool   `json:"starttls"`
		TLSVersion    string `json:"tls_version"`
		PKIXValid     bool   `json:"pkix_valid"`
		Error         string `json:"error"`
	} `json:"mx_hosts"`
	Result string `json:"result"`
}

// TestMTASTS: mtastsverify --json against the policies nginx serves and the
// MX hosts Postfix runs; nginx's access log must show the fetch (with the
// policy host as SNI), Postfix's the MX check, and openssl and swaks must
// agree with the MX hosts' PKIX verdicts.
func TestMTASTS(t *testing.T) {
	cases := []struct {
		name, domain string
		result       string
		policy       string // policy.status
		mode         string
		policyErr    string // a regexp policy.error must match
		nginx        int    // the HTTP status nginx logged for the fetch
		mxChecked    bool   // the MX host matches the policy: its TLS verdict is asserted
	}{
		{"pass", "sts-pass.test", "pass", "valid", "enforce", "", 200, true},
		{"redirect", "sts-redirect.test", "fail", "fetch-error", "", `redirect`, 301, false},
		{"wrong-type", "sts-badtype.test", "fail", "fetch-error", "", `text/plain.*text/html|content type`, 200, false},
		{"testing", "sts-testing.test", "pass", "valid", "testing", "", 200, true},
		{"oversize", "sts-oversize.test", "fail", "fetch-error", "", `64 KiB`, 200, false},
		{"oversize-chunked", "sts-chunked.test", "fail", "fetch-error", "", `64 KiB`, 200, false},
		{"mx-wrong-name", "sts-wrongname.test", "fail", "valid", "enforce", "", 200, true},
		{"mx-self-signed", "sts-selfsigned.test", "fail", "valid", "enforce", "", 200, true},
		{"mx-no-starttls", "sts-plain.test", "fail", "valid", "enforce", "", 200, true},
	}
	for _, c := range cases {
		site := siteOf(c.domain)
		scenario(t, c.name, site.describe+" at mta-sts."+c.domain, func(s *sc) {
			nginx, postfix := mark(fx.nginxLog), mark(fx.postfixLog)
			var rep stsReport
			r := segcliJSON(s, "mtastsverify "+c.domain+" --json", &rep)
			if rep.Result != c.result || rep.Record.Status != "found" || rep.Policy.Status != c.policy || rep.Policy.Mode != c.mode {
				s.Errorf("mtastsverify %s: result %q, record %q, policy %q mode %q (error %q); want %q, found, %q mode %q\n%s",
					c.domain, rep.Result, rep.Record.Status, rep.Policy.Status, rep.Policy.Mode, rep.Policy.Error, c.result, c.policy, c.mode, r)
			}
			if c.policyErr != "" && !regexp.MustCompile(c.policyErr).MatchString(rep.Policy.Error) {
				s.Errorf("mtastsverify %s: policy.error %q does not say why (want a match for %s)\n%s", c.domain, rep.Policy.Error, c.policyErr, r)
			}
			wantCode := 1 // fail, tempfail
			if c.result == "pass" || c.result == "none" {
				wantCode = 0
			}
			if r.code != wantCode {
				s.Errorf("mtastsverify %s: exit status %d, want %d for result %s\n%s", c.domain, r.code, wantCode, c.result, r)
			}

			// What nginx saw: one GET of the policy, the policy host as SNI and Host.
			host := "mta-sts." + c.domain
			want := fmt.Sprintf(`(?m)^\S+ sni=%s host=%s "GET /\.well-known/mta-sts\.txt HTTP/1\.1" %d `, regexp.QuoteMeta(host), regexp.QuoteMeta(host), c.nginx)
			got, missing := nginx.wait(5e9, want)
			if len(missing) > 0 {
				s.Errorf("nginx's access log does not show the fetch (%s); its lines since the scenario started:\n%s", want, got)
			}
			if n := strings.Count(got, "\n"); n != 1 {
				s.Errorf("nginx's access log has %d requests for one check, want 1 (a redirect must not be followed):\n%s", n, got)
			}

			if !c.mxChecked {
				return
			}
			if len(rep.MXHosts) != 1 || rep.MXHosts[0].Host != stsMX[c.domain] || !rep.MXHosts[0].MatchesPolicy {
				s.Fatalf("mtastsverify %s: MX hosts %+v, want %s matching the policy\n%s", c.domain, rep.MXHosts, stsMX[c.domain], r)
			}
			h := rep.MXHosts[0]
			m := mxOfHost(h.Host)
			if h.STARTTLS != (m.cert != "") || h.PKIXValid != m.pkixOK {
				s.Errorf("mtastsverify %s: MX %s: starttls %v, pkix_valid %v (error %q); the host has %s\n%s", c.domain, h.Host, h.STARTTLS, h.PKIXValid, h.Error, m.describe, r)
			}
			// What Postfix saw, and the independent tools' verdicts on the same host.
			if m.cert == "" {
				postfixSaw(s, postfix, m, "plain")
			} else {
				postfixSaw(s, postfix, m, "tls")
			}
			agreeTLS(s, m, h.Host, h.STARTTLS, h.PKIXValid, h.Error)
		})
	}
}

func siteOf(domain string) stsSite {
	for _, s := range stsSites {
		if s.domain == domain {
			return s
		}
	}
	panic("interop: no policy site for " + domain)
}

func mxOfHost(host string) mx {
	for _, m := range mxHosts {
		if m.host == host {
			return m
		}
	}
	panic("interop: no MX listener for " + host)
}
