package dig

import (
	"bytes"
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/transcripts/fixtures"
)

// testEnv returns an Env whose answers come from in and whose session resolver asks
// server; the clock stands still.
func testEnv(in, server string) (*shell.Env, *bytes.Buffer) {
	out := &bytes.Buffer{}
	lr := shell.NewPlainReader(strings.NewReader(in), out)
	return &shell.Env{
		Out: out, Err: out, In: lr, P: shell.NewPrompter(lr, out),
		Now:      func() time.Time { return time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC) },
		Hostname: func() string { return "esa.test" },
		Resolver: func() (*dns.Resolver, error) {
			return dns.New(dns.Config{Servers: []dns.Server{{Addr: server}}, Timeout: time.Second}), nil
		},
	}, out
}

// scrub replaces what changes from run to run: the random message ID and the port.
func scrub(s, server string) string {
	_, port, _ := net.SplitHostPort(server)
	s = regexp.MustCompile(`id: \d+`).ReplaceAllString(s, "id: ID")
	return strings.ReplaceAll(s, port, "PORT")
}

// TestDialog runs the whole no-argument dialog; its transcript (transcripts/dig)
// cannot show the answer because the message ID is random.
func TestDialog(t *testing.T) {
	server := fixtures.StartDNS(t)
	e, out := testEnv("mx1.example.test\nmx\n\n", server)
	if err := run(context.Background(), e, nil); err != nil {
		t.Fatal(err)
	}
	want := `
Enter the host name or IP address to look up.
[]> mx1.example.test

Enter the record type to look up (A, AAAA, CNAME, MX, NS, PTR, SOA, TLSA, TXT, ...).
[A]> mx

Enter the IP address of the DNS server to query (IP:PORT for a port other than 53).
[127.0.0.1:PORT]> 

; <<>> DiG segcli <<>> @127.0.0.1:PORT mx1.example.test MX
; (1 server found)
;; global options: +cmd
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: ID
;; flags: qr rd ra ad; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1

;; OPT PSEUDOSECTION:
; EDNS: version: 0, flags:; udp: 1232
;; QUESTION SECTION:
;mx1.example.test.		IN	MX

;; AUTHORITY SECTION:
example.test.		900	IN	SOA	ns1.example.test. hostmaster.example.test. 2026112901 7200 900 1209600 900

;; Query time: 0 msec
;; SERVER: 127.0.0.1#PORT(127.0.0.1) (UDP)
;; WHEN: Sun Nov 29 13:26:28 UTC 2026
;; MSG SIZE  rcvd: 96

`
	if diff := cmp.Diff(want, scrub(out.String(), server)); diff != "" {
		t.Errorf("dialog (-want +got):\n%s", diff)
	}
}

// TestDialogReverse: an IP address as the name proposes a PTR lookup.
func TestDialogReverse(t *testing.T) {
	server := fixtures.StartDNS(t)
	e, out := testEnv("192.0.2.10\n\n"+server+"\n", server)
	if err := run(context.Background(), e, nil); err != nil {
		t.Fatal(err)
	}
	got := scrub(out.String(), server)
	for _, want := range []string{
		"[PTR]> \n",
		"; <<>> DiG segcli <<>> @127.0.0.1:PORT -x 192.0.2.10\n",
		"10.2.0.192.in-addr.arpa.\t300\tIN\tPTR\texample.test.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dialog output lacks %q:\n%s", want, got)
		}
	}
}

// TestServerByName: @SERVER given as a host name is looked up with the session's
// resolver (smtp.example.test is 127.0.0.1 in the fixture).
func TestServerByName(t *testing.T) {
	server := fixtures.StartDNS(t)
	_, port, _ := net.SplitHostPort(server)
	e, out := testEnv("", server)
	if err := run(context.Background(), e, []string{"+qid=9", "-p", port, "@smtp.example.test", "example.test"}); err != nil {
		t.Fatal(err)
	}
	got := scrub(out.String(), server)
	for _, want := range []string{
		"; (1 server found)\n",
		";; SERVER: 127.0.0.1#PORT(smtp.example.test) (UDP)\n",
		"example.test.\t\t300\tIN\tA\t192.0.2.10\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestNextServer: when the first session server does not answer, dig asks the next.
func TestNextServer(t *testing.T) {
	good := fixtures.StartDNS(t)
	dead := net.JoinHostPort("127.0.0.1", strconv.Itoa(fixtures.ClosedPort(t)))
	e, out := testEnv("", good)
	e.Resolver = func() (*dns.Resolver, error) {
		return dns.New(dns.Config{Servers: []dns.Server{{Addr: dead}, {Addr: good}}}), nil
	}
	if err := run(context.Background(), e, []string{"+short", "+tries=1", "example.test"}); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(dead)
	want := ";; communications error to 127.0.0.1#" + port + ": connection refused\n192.0.2.10\n"
	if got := out.String(); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

// TestInterrupted: a cancelled context (Ctrl-C) stops the wait at once.
func TestInterrupted(t *testing.T) {
	server := fixtures.StartDNS(t)
	e, _ := testEnv("", server)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := run(ctx, e, []string{"+time=30", "@" + server, "timeout.example.test"})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("err = %v, want interrupted", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("dig took %v after the interruption", d)
	}
}

// TestNoResolver: without @SERVER and without a usable session resolver, dig says
// what to do.
func TestNoResolver(t *testing.T) {
	e, _ := testEnv("", "")
	e.Resolver = func() (*dns.Resolver, error) {
		return nil, errors.New("no DNS servers are configured: use dnsconfig to enter one")
	}
	err := run(context.Background(), e, []string{"example.test"})
	if err == nil || !strings.Contains(err.Error(), "use dnsconfig") {
		t.Errorf("err = %v, want a pointer to dnsconfig", err)
	}
}
