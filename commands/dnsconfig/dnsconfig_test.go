package dnsconfig

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// testEnv returns an Env on a fresh data directory whose candidate has dns, reading
// answers from in.
func testEnv(t *testing.T, in string, dns store.DNSConfig) (*shell.Env, *bytes.Buffer) {
	t.Helper()
	fsys := afero.NewMemMapFs()
	now := func() time.Time { return time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC) }
	st, err := store.Open(context.Background(), fsys, store.Options{Now: now, User: "admin", Hostname: "esa.test"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := st.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := sess.Edit()
	c.DNS = dns
	sess.Set(c)
	out := &bytes.Buffer{}
	lr := shell.NewPlainReader(strings.NewReader(in), out)
	return &shell.Env{Out: out, Err: out, In: lr, P: shell.NewPrompter(lr, out), Session: sess, Fs: fsys, Now: now}, out
}

var twoServers = store.DNSConfig{Servers: []store.DNSServer{
	{Address: "192.0.2.53", Port: 53, Trusted: true},
	{Address: "127.0.0.1", Port: 5353},
}}

// TestDialogEOF: input that ends anywhere in the dialog abandons it and changes
// nothing, even what was done before in the same dialog.
func TestDialogEOF(t *testing.T) {
	tests := []struct {
		name  string
		start store.DNSConfig
		in    string
	}{
		{"at the menu", store.DNSConfig{UseResolvConf: true}, ""},
		{"at the menu after NEW", store.DNSConfig{UseResolvConf: true}, "new\n192.0.2.53\n\ny\n"},
		{"at the address", store.DNSConfig{UseResolvConf: true}, "new\n"},
		{"at the port", store.DNSConfig{UseResolvConf: true}, "new\n192.0.2.53\n"},
		{"at the trust question", store.DNSConfig{UseResolvConf: true}, "new\n192.0.2.53\n53\n"},
		{"in EDIT", twoServers, "edit\n1\n192.0.2.54\n"},
		{"at EDIT's number", twoServers, "edit\n"},
		{"after DELETE", twoServers, "delete\n2\n"},
		{"in SETUP", twoServers, "setup\n"},
		{"in SETUP's first server", store.DNSConfig{UseResolvConf: true}, "setup\n2\n192.0.2.53\n"},
		{"after bad answers", twoServers, "frob\nedit\n0\nx\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out := testEnv(t, tt.in, tt.start)
			before := e.Session.Config().DNS
			err := run(context.Background(), e, nil)
			if !errors.Is(err, shell.ErrAbort) {
				t.Fatalf("dnsconfig with input %q: err = %v, want ErrAbort\n%s", tt.in, err, out)
			}
			if diff := cmp.Diff(before, e.Session.Config().DNS); diff != "" {
				t.Errorf("dnsconfig with input %q changed the configuration (-before +after):\n%s", tt.in, diff)
			}
		})
	}
}

// TestDialog checks what complete dialogs leave in the candidate.
func TestDialog(t *testing.T) {
	tests := []struct {
		name  string
		start store.DNSConfig
		in    string
		want  store.DNSConfig
	}{
		{"nothing", store.DNSConfig{UseResolvConf: true}, "\n", store.DNSConfig{UseResolvConf: true}},
		{"new trusted", store.DNSConfig{UseResolvConf: true}, "new\n192.0.2.53\n\ny\n\n",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "192.0.2.53", Port: 53, Trusted: true}}}},
		{"new loopback with port", store.DNSConfig{UseResolvConf: true}, "new\n127.0.0.1:5353\n\n",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "127.0.0.1", Port: 5353}}}},
		{"new IPv6, bad answers first", store.DNSConfig{UseResolvConf: true}, "new\nns.example\n::\n2001:db8::53\nx\n0\n53\n\n\n",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "2001:db8::53", Port: 53}}}},
		{"duplicate refused", twoServers, "new\n192.0.2.53\n53\n\n", twoServers},
		{"edit", twoServers, "edit\n1\n192.0.2.54\n5300\nn\n\n",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "192.0.2.54", Port: 5300}, {Address: "127.0.0.1", Port: 5353}}}},
		{"edit into a duplicate", twoServers, "edit\n1\n127.0.0.1:5353\n\n", twoServers},
		{"delete", twoServers, "delete\n1\n\n",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "127.0.0.1", Port: 5353}}}},
		{"delete the last", store.DNSConfig{Servers: []store.DNSServer{{Address: "127.0.0.1", Port: 53}}}, "delete\n1\n\n",
			store.DNSConfig{UseResolvConf: true}},
		{"setup resolv.conf keeps the list", twoServers, "setup\n1\n\n",
			store.DNSConfig{UseResolvConf: true, Servers: twoServers.Servers}},
		{"setup own asks for a first server", store.DNSConfig{UseResolvConf: true}, "setup\n2\n127.0.0.1\n\n\n",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "127.0.0.1", Port: 53}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out := testEnv(t, tt.in, tt.start)
			if err := run(context.Background(), e, nil); err != nil {
				t.Fatalf("dnsconfig with input %q: %v\n%s", tt.in, err, out)
			}
			if diff := cmp.Diff(tt.want, e.Session.Config().DNS); diff != "" {
				t.Errorf("dnsconfig with input %q (-want +got):\n%s\n%s", tt.in, diff, out)
			}
		})
	}
}

func TestBatch(t *testing.T) {
	tests := []struct {
		name  string
		start store.DNSConfig
		args  string
		want  store.DNSConfig
	}{
		{"new", store.DNSConfig{UseResolvConf: true}, "new 192.0.2.53",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "192.0.2.53", Port: 53}}}},
		{"new with options", twoServers, "new 192.0.2.54 --port=5300 --trusted",
			store.DNSConfig{Servers: append(append([]store.DNSServer(nil), twoServers.Servers...), store.DNSServer{Address: "192.0.2.54", Port: 5300, Trusted: true})}},
		{"new IPv6 with port", store.DNSConfig{UseResolvConf: true}, "new [2001:db8::53]:5353 --trusted=no",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "2001:db8::53", Port: 5353}}}},
		{"new mapped IPv4", store.DNSConfig{UseResolvConf: true}, "new ::ffff:192.0.2.1",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "192.0.2.1", Port: 53}}}},
		{"edit by number", twoServers, "edit 2 --port=53 --trusted=yes",
			store.DNSConfig{Servers: []store.DNSServer{twoServers.Servers[0], {Address: "127.0.0.1", Port: 53, Trusted: true}}}},
		{"edit by address", twoServers, "edit 192.0.2.53 --address=192.0.2.54",
			store.DNSConfig{Servers: []store.DNSServer{{Address: "192.0.2.54", Port: 53, Trusted: true}, twoServers.Servers[1]}}},
		{"delete by address and port", twoServers, "delete 127.0.0.1:5353",
			store.DNSConfig{Servers: twoServers.Servers[:1]}},
		{"resolvconf", twoServers, "resolvconf", store.DNSConfig{UseResolvConf: true, Servers: twoServers.Servers}},
		{"own", store.DNSConfig{UseResolvConf: true, Servers: twoServers.Servers}, "own", twoServers},
		{"case of the operation", twoServers, "DELETE 1", store.DNSConfig{Servers: twoServers.Servers[1:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out := testEnv(t, "", tt.start)
			if err := run(context.Background(), e, strings.Fields(tt.args)); err != nil {
				t.Fatalf("dnsconfig %s: %v\n%s", tt.args, err, out)
			}
			if diff := cmp.Diff(tt.want, e.Session.Config().DNS); diff != "" {
				t.Errorf("dnsconfig %s (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

// TestBatchRefused: bad input gets an error saying what to do, and changes nothing.
func TestBatchRefused(t *testing.T) {
	dup := store.DNSConfig{Servers: []store.DNSServer{{Address: "192.0.2.53", Port: 53}, {Address: "192.0.2.53", Port: 5353}}}
	tests := []struct {
		name    string
		start   store.DNSConfig
		args    string
		wantErr string
	}{
		{"host name", twoServers, "new ns1.example.com", "is not an IP address"},
		{"unspecified", twoServers, "new 0.0.0.0", "is not the address of a server"},
		{"multicast", twoServers, "new ff02::1", "is not the address of a server"},
		{"zone", twoServers, "new fe80::1%eth0", "zone"},
		{"duplicate", twoServers, "new 192.0.2.53", "already in the list"},
		{"duplicate with port", twoServers, "new 127.0.0.1 --port=5353", "already in the list"},
		{"port 0", twoServers, "new 192.0.2.54 --port=0", "enter a number from 1 to 65535"},
		{"port 0 inline", twoServers, "new 192.0.2.54:0", "enter a number from 1 to 65535"},
		{"port text", twoServers, "new 192.0.2.54 --port=dns", "enter a number from 1 to 65535"},
		{"port twice", twoServers, "new 192.0.2.54:53 --port=5353", "the port is given twice"},
		{"bad trust", twoServers, "new 192.0.2.54 --trusted=maybe", "give yes or no"},
		{"unknown option", twoServers, "new 192.0.2.54 --ttl=5", "unknown option"},
		{"option twice", twoServers, "new 192.0.2.54 --port=1 --port=2", "given twice"},
		{"no address", twoServers, "new", "usage: dnsconfig new"},
		{"two addresses", twoServers, "new 192.0.2.54 192.0.2.55", "usage: dnsconfig new"},
		{"edit without change", twoServers, "edit 1", "usage: dnsconfig edit"},
		{"edit bad number", twoServers, "edit 3 --port=53", "there is no server number 3"},
		{"edit unknown", twoServers, "edit 192.0.2.99 --port=53", "is not in the list"},
		{"edit into a duplicate", twoServers, "edit 1 --address=127.0.0.1 --port=5353", "already in the list (number 2)"},
		{"edit bad address", twoServers, "edit 1 --address=ns.example", "is not an IP address"},
		{"delete ambiguous", dup, "delete 192.0.2.53", "more than once: give the port too (192.0.2.53:5353)"},
		{"delete empty list", store.DNSConfig{UseResolvConf: true}, "delete 1", "there are no DNS servers of your own"},
		{"delete two", twoServers, "delete 1 2", "usage: dnsconfig delete"},
		{"own without servers", store.DNSConfig{UseResolvConf: true}, "own", "there are no servers of your own yet"},
		{"list with argument", twoServers, "list all", "usage: dnsconfig list"},
		{"unknown operation", twoServers, "setup", "unknown operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := testEnv(t, "", tt.start)
			before := e.Session.Config().DNS
			err := run(context.Background(), e, strings.Fields(tt.args))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("dnsconfig %s = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if diff := cmp.Diff(before, e.Session.Config().DNS); diff != "" {
				t.Errorf("dnsconfig %s changed the configuration (-before +after):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in       string
		wantAddr string
		wantPort int
		wantErr  bool
	}{
		{"192.0.2.53", "192.0.2.53", 0, false},
		{" 192.0.2.53 ", "192.0.2.53", 0, false},
		{"192.0.2.53:5353", "192.0.2.53", 5353, false},
		{"2001:DB8::53", "2001:db8::53", 0, false},
		{"[2001:db8::53]", "2001:db8::53", 0, false},
		{"[2001:db8::53]:53", "2001:db8::53", 53, false},
		{"::ffff:127.0.0.1", "127.0.0.1", 0, false},
		{"::1", "::1", 0, false},
		{"", "", 0, true},
		{"ns.example.com", "", 0, true},
		{"192.0.2.256", "", 0, true},
		{"192.0.2.53:0", "", 0, true},
		{"192.0.2.53:99999", "", 0, true},
		{"0.0.0.0", "", 0, true},
		{"::", "", 0, true},
		{"224.0.0.251", "", 0, true},
		{"fe80::1%eth0", "", 0, true},
	}
	for _, tt := range tests {
		addr, port, err := parseAddress(tt.in)
		if (err != nil) != tt.wantErr || addr != tt.wantAddr || port != tt.wantPort {
			t.Errorf("parseAddress(%q) = %q, %d, %v; want %q, %d, error %v", tt.in, addr, port, err, tt.wantAddr, tt.wantPort, tt.wantErr)
		}
	}
}
