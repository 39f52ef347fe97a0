package tlsverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands"
	"github.com/segcli/segcli/commands/tlsverify"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts/fixtures"
)

var clock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// batch runs line as segcli -c does in a fresh data directory under the deliver
// fixture, trusting cas, and returns stdout, stderr and the exit status.
func batch(t *testing.T, srv *fixtures.DeliverServer, cas []byte, line string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	sh, err := commands.NewShell(context.Background(), commands.Options{
		Fs:         afero.NewBasePathFs(afero.NewOsFs(), dir),
		Locker:     store.FileLocker{Path: filepath.Join(dir, "config", ".lock")},
		ResolvConf: filepath.Join(dir, "no-resolv.conf"),
		In:         shell.NewPlainReader(strings.NewReader(""), &out),
		Out:        &out,
		Err:        &errOut,
		Now:        func() time.Time { return clock },
		User:       "admin",
		Hostname:   "esa.test",
		Resolver:   srv.DNS,
		ExtraCAs:   cas,
		Dial:       srv.Setup().Dial,
		DemoSeed:   []byte("tlsverify tests"),
	})
	if err != nil {
		t.Fatal(err)
	}
	status := sh.RunBatch(context.Background(), line)
	return out.String(), errOut.String(), status
}

// checkSchema checks a decoded tlsverify --json object against DESIGN.md: the keys,
// their types and the values of the enumerations.
func checkSchema(t *testing.T, v map[string]any) {
	t.Helper()
	str := func(key string, required bool, enum ...string) {
		t.Helper()
		x, ok := v[key]
		if !ok {
			if required {
				t.Errorf("no key %q in %v", key, v)
			}
			return
		}
		s, ok := x.(string)
		if !ok {
			t.Errorf("%q is %T, want a string", key, x)
			return
		}
		if len(enum) > 0 && !strings.Contains("|"+strings.Join(enum, "|")+"|", "|"+s+"|") {
			t.Errorf("%q = %q, want one of %q", key, s, enum)
		}
	}
	boolean := func(key string) {
		t.Helper()
		if _, ok := v[key].(bool); !ok {
			t.Errorf("%q = %v (%T), want a boolean", key, v[key], v[key])
		}
	}
	str("domain", true)
	str("host", true)
	str("address", true)
	str("tls_version", true, "", "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3")
	str("cipher", true)
	str("matched_name", false)
	str("error", true)
	str("result", true, "pass", "fail")
	boolean("starttls")
	boolean("verified")
	if p, ok := v["port"].(float64); !ok || p < 1 || p > 65535 {
		t.Errorf("port = %v, want a port number", v["port"])
	}
	for k := range v {
		switch k {
		case "domain", "host", "port", "address", "starttls", "tls_version", "cipher", "verified", "matched_name", "error", "result":
		default:
			t.Errorf("unexpected key %q", k)
		}
	}
}

// TestJSON runs tlsverify --json under -c: stdout holds exactly one JSON object,
// valid against the schema, with the expected verdict; the exit status is 0 for
// pass, 1 for fail with the closing line on stderr.
func TestJSON(t *testing.T) {
	srv := fixtures.StartDeliver(t)
	tests := []struct {
		name  string
		cas   []byte
		args  string
		want  tlsverify.Report
		state int
	}{
		{"pass: the domain's MX", srv.CAPEM, "deliver.test", tlsverify.Report{Domain: "deliver.test", Host: "mx.deliver.test", Port: 25, Address: "192.0.2.25",
			STARTTLS: true, TLSVersion: "TLS1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Verified: true, MatchedName: "deliver.test", Result: "pass"}, 0},
		{"pass: by the MX host's name", srv.CAPEM, "hosted.test", tlsverify.Report{Domain: "hosted.test", Host: "mx.deliver.test", Port: 25, Address: "192.0.2.25",
			STARTTLS: true, TLSVersion: "TLS1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Verified: true, MatchedName: "mx.deliver.test", Result: "pass"}, 0},
		{"pass: an address", srv.CAPEM, "deliver.test 192.0.2.25", tlsverify.Report{Domain: "deliver.test", Host: "192.0.2.25", Port: 25, Address: "192.0.2.25",
			STARTTLS: true, TLSVersion: "TLS1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", Verified: true, MatchedName: "deliver.test", Result: "pass"}, 0},
		{"fail: an address, the domain not named", srv.CAPEM, "hosted.test 192.0.2.25", tlsverify.Report{Domain: "hosted.test", Host: "192.0.2.25", Port: 25, Address: "192.0.2.25",
			STARTTLS: true, TLSVersion: "TLS1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			Error: "certificate verification failed: peer cert does not match domain", Result: "fail"}, 1},
		{"fail: CA not trusted", nil, "deliver.test", tlsverify.Report{Domain: "deliver.test", Host: "mx.deliver.test", Port: 25, Address: "192.0.2.25",
			STARTTLS: true, TLSVersion: "TLS1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			Error: "certificate verification failed: unable to get local issuer certificate", Result: "fail"}, 1},
		{"fail: self-signed", srv.CAPEM, "selfsigned.deliver.test", tlsverify.Report{Domain: "selfsigned.deliver.test", Host: "mx.selfsigned.deliver.test", Port: 25, Address: "192.0.2.30",
			STARTTLS: true, TLSVersion: "TLS1.2", Cipher: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			Error: "certificate verification failed: self signed certificate", Result: "fail"}, 1},
		{"fail: no STARTTLS", srv.CAPEM, "plain.deliver.test", tlsverify.Report{Domain: "plain.deliver.test", Host: "mx.plain.deliver.test", Port: 25, Address: "192.0.2.28",
			Error: "STARTTLS is not offered by mx.plain.deliver.test", Result: "fail"}, 1},
		{"fail: null MX", srv.CAPEM, "nomail.deliver.test", tlsverify.Report{Domain: "nomail.deliver.test", Host: "nomail.deliver.test", Port: 25,
			Error: "nomail.deliver.test accepts no mail (null MX)", Result: "fail"}, 1},
		{"fail: no such domain", srv.CAPEM, "nosuch.deliver.test", tlsverify.Report{Domain: "nosuch.deliver.test", Host: "nosuch.deliver.test", Port: 25,
			Error: "the domain nosuch.deliver.test does not exist", Result: "fail"}, 1},
		{"fail: a host without an address", srv.CAPEM, "deliver.test nosuch.deliver.test", tlsverify.Report{Domain: "deliver.test", Host: "nosuch.deliver.test", Port: 25,
			Error: "no address for nosuch.deliver.test", Result: "fail"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, status := batch(t, srv, tt.cas, "tlsverify --json "+tt.args)
			dec := json.NewDecoder(strings.NewReader(stdout))
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
			}
			if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" {
				t.Fatalf("stdout holds more than the JSON object:\n%s", stdout)
			}
			checkSchema(t, v)
			var got tlsverify.Report
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if status != tt.state {
				t.Errorf("exit status %d, want %d", status, tt.state)
			}
			if tt.state == 1 && (strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "TLS connection to "+tt.want.Host+" failed: ")) {
				t.Errorf("stderr = %q, want the closing line", stderr)
			}
			if tt.state == 0 && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
		})
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		in       string
		host     string
		port     int
		wantErr  bool
		errWords string
	}{
		{"mx.example.com", "mx.example.com", 25, false, ""},
		{"MX.Example.COM.", "mx.example.com", 25, false, ""},
		{"mx.example.com:26", "mx.example.com", 26, false, ""},
		{"192.0.2.1", "192.0.2.1", 25, false, ""},
		{"192.0.2.1:587", "192.0.2.1", 587, false, ""},
		{"2001:db8::1", "2001:db8::1", 25, false, ""},
		{"[2001:db8::1]", "2001:db8::1", 25, false, ""},
		{"[2001:db8::1]:2525", "2001:db8::1", 2525, false, ""},
		{"[::ffff:192.0.2.1]", "192.0.2.1", 25, false, ""},
		{"mx.example.com:0", "", 0, true, "port"},
		{"mx.example.com:65536", "", 0, true, "port"},
		{"mx.example.com:x", "", 0, true, "port"},
		{"[mx.example.com]:25", "", 0, true, "brackets"},
		{"[2001:db8::1", "", 0, true, "bracket"},
		{"[2001:db8::1]25", "", 0, true, "HOST:PORT"},
		{"fe80::1%eth0", "", 0, true, "zone"},
		{"bad_host", "", 0, true, "host name"},
		{"", "", 0, true, "host name"},
	}
	for _, tt := range tests {
		host, port, err := tlsverify.ParseHost(tt.in)
		if (err != nil) != tt.wantErr || host != tt.host || port != tt.port {
			t.Errorf("ParseHost(%q) = %q, %d, %v; want %q, %d, error %v", tt.in, host, port, err, tt.host, tt.port, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), tt.errWords) {
			t.Errorf("ParseHost(%q) error %q does not say %q", tt.in, err, tt.errWords)
		}
	}
}
