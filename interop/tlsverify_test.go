//go:build interop

package interop

import (
	"fmt"
	"strings"
	"testing"
)

// tlsverifyResult is tlsverify --json (DESIGN.md).
type tlsverifyResult struct {
	Domain     string `json:"domain"`
	Host       string `json:"host"`
	Address    string `json:"address"`
	STARTTLS   bool   `json:"starttls"`
	TLSVersion string `json:"tls_version"`
	Cipher     string `json:"cipher"`
	Verified   bool   `json:"verified"`
	Error      string `json:"error"`
	Result     string `json:"result"`
}

// TestTLSVerify: segcli's tlsverify against each Postfix listener, verifying the
// listener's own name with the test CA from --ca-file. Its verdict must agree with
// openssl and swaks, and Postfix must have seen the session.
func TestTLSVerify(t *testing.T) {
	for _, m := range mxHosts {
		name := strings.TrimPrefix(m.name, "mx-")
		scenario(t, name, fmt.Sprintf("tlsverify %s %s:25: %s", m.host, m.host, m.describe), func(s *sc) {
			log := mark(fx.postfixLog)
			var res tlsverifyResult
			r := segcliJSON(s, fmt.Sprintf("tlsverify --json %s %s:25", m.host, m.host), &res)
			wantPass := m.cert != "" && m.pkixOK
			if res.STARTTLS != (m.cert != "") || res.Verified != wantPass || (res.Result == "pass") != wantPass {
				s.Errorf("tlsverify: starttls %v verified %v result %q (%s); want starttls %v verified %v: the host has %s\n%s",
					res.STARTTLS, res.Verified, res.Result, res.Error, m.cert != "", wantPass, m.describe, r)
			}
			if (r.code == 0) != wantPass {
				s.Errorf("tlsverify: exit status %d for result %q\n%s", r.code, res.Result, r)
			}
			if res.Address != m.addr {
				s.Errorf("tlsverify: address %q, want %s (from Knot through Unbound)\n%s", res.Address, m.addr, r)
			}
			tls := res.TLSVersion != ""
			if m.cert == "" {
				postfixSaw(s, log, m, "plain")
			} else {
				postfixSaw(s, log, m, "tls")
			}
			agreeTLS(s, m, m.host, tls, res.Verified, res.Error)
		})
	}
}
