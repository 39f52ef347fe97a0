//go:build interop

package interop

import (
	"fmt"
	"strings"
)

// The loopback addresses of the tier: every server has its own, with the real
// port (53, 443, 25), so that segcli dials them as it would the internet's.
const (
	knotAddr    = "127.0.1.1" // Knot DNS, authoritative for every zone below
	unboundAddr = "127.0.1.2" // Unbound, validating: segcli's --resolver
	nginxAddr   = "127.0.2.1" // nginx, every mta-sts.* policy host (SNI)
)

// mx is a Postfix listener: one MX host with its own address, certificate and
// syslog name (postfix/<name>/smtpd in Postfix's log).
type mx struct {
	name     string // listener name, in Postfix's log as postfix/<name>/smtpd
	host     string // the host name the zones give it
	addr     string // 127.0.3.x, port 25
	cert     string // certificate name in pki.certs; "" = no STARTTLS
	pkixOK   bool   // its certificate is PKIX-valid for host under the test CA
	describe string
}

// mxHosts are the receiving MTAs.
var mxHosts = []mx{
	{name: "mx-valid", host: "mx.example.test", addr: "127.0.3.1", cert: "mx-valid", pkixOK: true,
		describe: "a certificate from the test CA for its name"},
	{name: "mx-wrongname", host: "mx-wrongname.example.test", addr: "127.0.3.2", cert: "mx-wrongname",
		describe: "a certificate from the test CA for another name"},
	{name: "mx-selfsigned", host: "mx-selfsigned.example.test", addr: "127.0.3.3", cert: "mx-selfsigned",
		describe: "a self-signed certificate"},
	{name: "mx-plain", host: "mx-plain.example.test", addr: "127.0.3.4",
		describe: "no STARTTLS"},
	{name: "mx-chain", host: "mx.dane-ta.test", addr: "127.0.3.5", cert: "mx-chain", pkixOK: true,
		describe: "a certificate from an intermediate CA, sent with its chain"},
}

// leaves are the server certificates of the test PKI.
var leaves = []leafSpec{
	{name: "mx-valid", issuer: "root", names: []string{"mx.example.test"}},
	{name: "mx-wrongname", issuer: "root", names: []string{"other-name.example.test"}},
	{name: "mx-selfsigned", issuer: "self", names: []string{"mx-selfsigned.example.test"}},
	{name: "mx-chain", issuer: "inter", names: []string{"mx.dane-ta.test"}},
	{name: "mta-sts", issuer: "root", names: stsPolicyHosts()},
	{name: "other-key", issuer: "root", names: []string{"unused.example.test"}}, // a TLSA digest that matches nothing
}

func mxByName(name string) mx {
	for _, m := range mxHosts {
		if m.name == name {
			return m
		}
	}
	panic("interop: no MX listener " + name)
}

// zone is a DNS zone served by Knot.
type zone struct {
	name string
	// signing: "knot" (Knot signs it, trust anchor from keymgr), "ldns-bogus"
	// (signed by ldns-signzone, then records altered: bogus), "" (unsigned; no
	// trust anchor, so insecure).
	signing string
	records []string // zone-file lines after SOA and NS; {{spki NAME}} is a certificate's SPKI SHA-256
}

// stsSite is an MTA-STS policy host served by nginx at mta-sts.<domain>.
type stsSite struct {
	domain      string
	contentType string // "" when redirect is set
	redirect    string // a 301 Location
	chunked     bool   // sent without Content-Length (chunked transfer encoding)
	body        string // the policy (CRLF lines)
	describe    string
}

func policy(mode string, mxs ...string) string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\nmode: " + mode + "\r\n")
	for _, m := range mxs {
		b.WriteString("mx: " + m + "\r\n")
	}
	b.WriteString("max_age: 86400\r\n")
	return b.String()
}

// oversize is a valid policy padded past RFC 8461's 64 KiB limit with
// unknown fields (which a parser would ignore).
func oversize() string {
	p := policy("enforce", "mx.example.test")
	for i := 0; len(p) <= 70<<10; i++ {
		p += fmt.Sprintf("x-padding-%05d: %s\r\n", i, strings.Repeat("a", 100))
	}
	return p
}

// stsSites are the policy hosts, one per MTA-STS scenario domain.
var stsSites = []stsSite{
	{domain: "sts-pass.test", contentType: "text/plain", body: policy("enforce", "mx.example.test"), describe: "a good enforce policy"},
	{domain: "sts-redirect.test", redirect: "https://mta-sts.sts-pass.test/.well-known/mta-sts.txt", describe: "a 301 redirect to a good policy"},
	{domain: "sts-badtype.test", contentType: "text/html", body: policy("enforce", "mx.example.test"), describe: "a policy served as text/html"},
	{domain: "sts-testing.test", contentType: "text/plain", body: policy("testing", "mx.example.test"), describe: "a testing-mode policy"},
	{domain: "sts-oversize.test", contentType: "text/plain", body: oversize(), describe: "a policy body over 64 KiB"},
	{domain: "sts-chunked.test", contentType: "text/plain", chunked: true, body: oversize(), describe: "a policy body over 64 KiB, chunked (no Content-Length)"},
	{domain: "sts-wrongname.test", contentType: "text/plain", body: policy("enforce", "mx-wrongname.example.test"), describe: "an MX whose certificate is for another name"},
	{domain: "sts-selfsigned.test", contentType: "text/plain", body: policy("enforce", "mx-selfsigned.example.test"), describe: "an MX with a self-signed certificate"},
	{domain: "sts-plain.test", contentType: "text/plain", body: policy("enforce", "mx-plain.example.test"), describe: "an MX without STARTTLS"},
}

// stsMX is the MX host of each MTA-STS scenario domain.
var stsMX = map[string]string{
	"sts-pass.test":       "mx.example.test",
	"sts-redirect.test":   "mx.example.test",
	"sts-badtype.test":    "mx.example.test",
	"sts-testing.test":    "mx.example.test",
	"sts-oversize.test":   "mx.example.test",
	"sts-chunked.test":    "mx.example.test",
	"sts-wrongname.test":  "mx-wrongname.example.test",
	"sts-selfsigned.test": "mx-selfsigned.example.test",
	"sts-plain.test":      "mx-plain.example.test",
}

func stsPolicyHosts() []string {
	var out []string
	for _, s := range stsSites {
		out = append(out, "mta-sts."+s.domain)
	}
	return out
}

// zones returns every zone. breakTLSA publishes a wrong digest for
// mx.example.test (SEGCLI_INTEROP_BREAK=tlsa).
func zones(breakTLSA bool) []zone {
	exampleTLSA := "_25._tcp.mx TLSA 3 1 1 {{spki mx-valid}}"
	if breakTLSA {
		exampleTLSA = "_25._tcp.mx TLSA 3 1 1 {{spki other-key}}"
	}
	zs := []zone{
		{name: "example.test", signing: "knot", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-valid").addr,
			exampleTLSA,
			"mx-wrongname A " + mxByName("mx-wrongname").addr,
			"mx-selfsigned A " + mxByName("mx-selfsigned").addr,
			"mx-plain A " + mxByName("mx-plain").addr,
		}},
		// DANE-TA(2): the digest of the intermediate CA's key; the server sends
		// its leaf and the intermediate.
		{name: "dane-ta.test", signing: "knot", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-chain").addr,
			"_25._tcp.mx TLSA 2 1 1 {{spki inter}}",
		}},
		// A signed TLSA RRset whose digest matches no certificate of the host.
		{name: "dane-mismatch.test", signing: "knot", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-valid").addr,
			"_25._tcp.mx TLSA 3 1 1 {{spki other-key}}",
		}},
		// DANE-EE(3) checks no name: the host whose certificate is for another
		// name authenticates, and so does the self-signed one.
		{name: "dane-wrongname.test", signing: "knot", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-wrongname").addr,
			"_25._tcp.mx TLSA 3 1 1 {{spki mx-wrongname}}",
		}},
		{name: "dane-selfsigned.test", signing: "knot", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-selfsigned").addr,
			"_25._tcp.mx TLSA 3 1 1 {{spki mx-selfsigned}}",
		}},
		// TLSA records, but the host offers no STARTTLS.
		{name: "dane-plain.test", signing: "knot", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-plain").addr,
			"_25._tcp.mx TLSA 3 1 1 {{spki mx-valid}}",
		}},
		// Signed by ldns, then altered (see tamper): the MX RRset of bogus.test
		// and the TLSA RRset of mx2.bogus.test no longer match their signatures;
		// sub.bogus.test's MX and mx2's address still validate.
		{name: "bogus.test", signing: "ldns-bogus", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-valid").addr,
			"_25._tcp.mx TLSA 3 1 1 {{spki mx-valid}}",
			"sub MX 10 mx2",
			"mx2 A " + mxByName("mx-valid").addr,
			"_25._tcp.mx2 TLSA 3 1 1 {{spki mx-valid}}",
		}},
		// Unsigned: records, but no DNSSEC.
		{name: "insecure.test", records: []string{
			"@ MX 10 mx",
			"mx A " + mxByName("mx-valid").addr,
			"_25._tcp.mx TLSA 3 1 1 {{spki mx-valid}}",
		}},
	}
	for _, s := range stsSites {
		zs = append(zs, zone{name: s.domain, records: []string{
			"@ MX 10 " + stsMX[s.domain] + ".",
			"mta-sts A " + nginxAddr,
			`_mta-sts TXT "v=STSv1; id=20261129T000000;"`,
		}})
	}
	return zs
}
