//go:build interop

package interop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTelnet: segcli's telnet to port 25 of each Postfix listener, with the
// "^]" escape and starttls (piped input, as a script would type it). Its
// certificate verdict (with --ca-file) must agree with openssl and swaks,
// and Postfix must have seen the session.
func TestTelnet(t *testing.T) {
	for _, m := range mxHosts {
		name := strings.TrimPrefix(m.name, "mx-")
		scenario(t, name, fmt.Sprintf("telnet %s 25 and starttls: %s", m.host, m.describe), func(s *sc) {
			log := mark(fx.postfixLog)
			r := segcli(s, "^]\nstarttls\nEHLO esa.test\nQUIT\n", "telnet "+m.host+" 25")
			for _, want := range []string{
				"Trying " + m.addr + "...\n",
				"Connected to " + m.host + ".\n",
				"220 " + m.host + " ESMTP interop\n",
				"telnet> starttls\n",
				"221 2.0.0 Bye\n",
			} {
				if !strings.Contains(r.stdout, want) {
					s.Errorf("telnet: no %q in the output\n%s", want, r)
				}
			}
			if r.code != 0 {
				s.Errorf("telnet: exit status %d\n%s", r.code, r)
			}
			tls := strings.Contains(r.stdout, "TLS connection established: protocol TLSv1.")
			verified := strings.Contains(r.stdout, "Certificate verification successful.")
			why := ""
			if m := regexp.MustCompile(`Certificate verification failed: (.*)`).FindStringSubmatch(r.stdout); m != nil {
				why = m[1]
			}
			if m.cert == "" {
				if tls || !strings.Contains(r.stdout, "The server does not offer STARTTLS.\n") {
					s.Errorf("telnet: the host offers no STARTTLS, telnet should say so\n%s", r)
				}
				postfixSaw(s, log, m, "plain")
			} else {
				if !tls || verified != m.pkixOK {
					s.Errorf("telnet: TLS %v, certificate verified %v (%s); want TLS, verified %v: the host has %s, the test CA is in --ca-file\n%s",
						tls, verified, why, m.pkixOK, m.describe, r)
				}
				postfixSaw(s, log, m, "tls")
			}
			agreeTLS(s, m, m.host, tls, verified, why)
		})
	}

	// The mailbox: swaks sends a message over verified TLS to the valid host;
	// Postfix must deliver it to the Maildir with a Received header that says
	// TLS. (deliver's scenarios read the mailbox the same way.)
	m := mxByName("mx-valid")
	scenario(t, "mailbox", "swaks delivers over verified TLS to "+m.host+"; Postfix stores it with a TLS Received header", func(s *sc) {
		subject := fmt.Sprintf("interop swaks %d", time.Now().UnixNano())
		w := swaks(s, m, m.host, true, "postmaster@example.test", subject)
		if !w.ok || !w.tls {
			s.Fatalf("swaks: TLS %v, delivered %v\n%s", w.tls, w.ok, w.out)
		}
		msg, err := waitMail("example.test", "Subject: "+subject, 10*time.Second)
		if err != nil {
			s.Fatalf("%v", err)
		}
		if !regexp.MustCompile(`(?s)Received: from interop\.client\.test .*\(using TLSv1\.[23] with cipher .*\s+by mx\.example\.test \(Postfix\) with ESMTPS`).MatchString(msg) {
			s.Errorf("the message in the mailbox has no Received header with TLS:\n%s", msg)
		}
	})
}

// findMail returns the message in the Maildir of domain that has the header
// line, or "".
func findMail(domain, header string) string {
	dir := filepath.Join(fx.mailDir, domain, "new")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil && strings.Contains(string(b), "\n"+header+"\n") {
			return string(b)
		}
	}
	return ""
}

// waitMail waits for a message with the header line in the Maildir of domain
// and returns it.
func waitMail(domain, header string, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for {
		if msg := findMail(domain, header); msg != "" {
			return msg, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no message with %q in %s after %v; Postfix's log:\n%s",
				header, filepath.Join(fx.mailDir, domain, "new"), within, tail(fx.postfixLog, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
