package deliver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// MaxMessageSize bounds a message file given to deliver.
const MaxMessageSize = 10 << 20

// maxAddress is the longest address accepted (RFC 5321 §4.5.3.1.3, a path of 256
// octets with its angle brackets).
const maxAddress = 254

// CheckAddress returns an envelope address as deliver accepts it: local@domain in
// ASCII, with optional angle brackets, the domain a host name (IP literals and
// internationalised names are refused: give the A-label form). Errors are for the
// operator.
func CheckAddress(s string) (string, error) {
	a := strings.TrimSpace(s)
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
		a = a[1 : len(a)-1]
	}
	i := strings.LastIndexByte(a, '@')
	switch {
	case a == "":
		return "", errors.New("an address is required, such as user@example.com")
	case len(a) > maxAddress:
		return "", fmt.Errorf("%q is longer than %d characters", s, maxAddress)
	case i <= 0 || i == len(a)-1:
		return "", fmt.Errorf("%q is not an address: give one such as user@example.com", s)
	}
	for _, r := range a {
		switch {
		case r > 126:
			return "", fmt.Errorf("%q holds characters outside ASCII: give the domain in its A-label form (xn--...) and an ASCII local part", s)
		case r <= ' ' || strings.ContainsRune(`<>()[],;:\"`, r):
			return "", fmt.Errorf("%q is not an address: spaces, brackets, quotes, colons, commas and semicolons are not accepted", s)
		}
	}
	local, domain := a[:i], strings.ToLower(strings.TrimSuffix(a[i+1:], "."))
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") || len(local) > 64 {
		return "", fmt.Errorf("%q is not an address: the part before @ is not a valid local part", s)
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return "", fmt.Errorf("%q: address literals are not accepted: give a domain name", s)
	}
	if err := store.ValidHostname(domain); err != nil || !strings.Contains(domain, ".") {
		return "", fmt.Errorf("%q: %q is not a mail domain: give one such as example.com", s, domain)
	}
	return local + "@" + domain, nil
}

// readMessage reads the message file name of the data directory's configuration
// folder.
func readMessage(e *shell.Env, name string) ([]byte, error) {
	data, err := e.ReadConfigFile(name, MaxMessageSize)
	if err != nil {
		return nil, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("message file %q is empty", name)
	}
	return data, nil
}

// TestMessage returns the message deliver sends when no file is given: a short
// plain-text message from sender to the recipients, dated now, with a Message-ID
// of hostname (always the same size for the same addresses and host name).
func TestMessage(hostname, from string, to []string, now time.Time) []byte {
	var id [8]byte
	_, _ = rand.Read(id[:])
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("Date: %s", now.Format(time.RFC1123Z))
	w("From: <%s>", from)
	w("To: %s", "<"+strings.Join(to, ">, <")+">")
	w("Subject: segcli test message from %s", hostname)
	w("Message-ID: <%s.%s@%s>", now.UTC().Format("20060102150405"), hex.EncodeToString(id[:]), hostname)
	w("MIME-Version: 1.0")
	w("Content-Type: text/plain; charset=us-ascii")
	w("")
	w("This is a test message sent by the deliver command of segcli on %s,", hostname)
	w("to check delivery under the configured TLS, DANE and MTA-STS settings.")
	return []byte(b.String())
}
