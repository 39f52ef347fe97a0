package daneverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands"
	"github.com/segcli/segcli/commands/daneverify"
	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts/fixtures"
)

var testNow = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// startDANE starts the dane fixture (its resolver and SMTP servers).
func startDANE(t *testing.T) *fixtures.Setup {
	t.Helper()
	s := fixtures.NewSetup()
	fixtures.Registry()["dane"](t, s)
	return s
}

// batch runs one -c command line in a fresh data directory under the dane
// fixture and returns stdout, stderr and the exit status.
func batch(t *testing.T, s *fixtures.Setup, line string) (stdout, stderr string, status int) {
	t.Helper()
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	o := commands.Options{
		Fs:         afero.NewBasePathFs(afero.NewOsFs(), dir),
		Locker:     store.FileLocker{Path: filepath.Join(dir, "config", ".lock")},
		ResolvConf: filepath.Join(dir, "no-resolv.conf"),
		DemoSeed:   []byte("segcli daneverify tests"),
		In:         shell.NewPlainReader(strings.NewReader(""), &out),
		Out:        &out,
		Err:        &errOut,
		Now:        func() time.Time { return testNow },
		User:       "admin",
		Hostname:   "esa.test",
		Resolver:   s.Vars["DNS"],
		Dial:       s.Dial,
	}
	sh, err := commands.NewShell(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	status = sh.RunBatch(context.Background(), line)
	return out.String(), errOut.String(), status
}

// TestJSON runs daneverify --json under -c for every case of the fixture:
// stdout holds exactly one JSON object, valid against DESIGN.md's schema, with
// the expected result and per-host verdicts; the exit status is 0 for success
// and unsupported, 1 for failed and tempfail, and the closing line of a
// failure goes to stderr.
func TestJSON(t *testing.T) {
	s := startDANE(t)
	tests := []struct {
		domain string
		result string
		dane   []string // per MX host, in order
		status int
	}{
		{"good.dane.test", "success", []string{"authenticated", "authenticated"}, 0},
		{"mismatch.dane.test", "failed", []string{"failed"}, 1},
		{"nostarttls.dane.test", "failed", []string{"failed"}, 1},
		{"notlsa.dane.test", "unsupported", []string{"not-applicable"}, 0},
		{"unusable.dane.test", "unsupported", []string{"unusable"}, 0},
		{"bogus.dane.test", "failed", []string{"failed"}, 1},
		{"tempfail.dane.test", "tempfail", []string{"failed"}, 1},
		{"bogusmx.dane.test", "failed", []string{}, 1},
		{"plain.test", "unsupported", []string{"not-applicable"}, 0},
		{"insecaddr.dane.test", "unsupported", []string{"not-applicable"}, 0},
		{"mixed.dane.test", "failed", []string{"authenticated", "failed"}, 1},
		{"nomx.dane.test", "unsupported", []string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			stdout, stderr, status := batch(t, s, "daneverify --json "+tt.domain)
			if status != tt.status {
				t.Errorf("exit status %d, want %d", status, tt.status)
			}
			dec := json.NewDecoder(strings.NewReader(stdout))
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
			}
			if _, err := dec.Token(); !errors.Is(err, io.EOF) {
				t.Fatalf("stdout holds more than one JSON object:\n%s", stdout)
			}
			for _, p := range checkSchema(obj) {
				t.Errorf("schema: %s", p)
			}
			if obj["domain"] != tt.domain || obj["result"] != tt.result {
				t.Errorf("domain %v result %v, want %s %s", obj["domain"], obj["result"], tt.domain, tt.result)
			}
			var got []string
			hosts, _ := obj["mx_hosts"].([]any)
			for _, h := range hosts {
				hm, _ := h.(map[string]any)
				d, _ := hm["dane"].(string)
				got = append(got, d)
			}
			if !slices.Equal(got, tt.dane) && !(len(got) == 0 && len(tt.dane) == 0) {
				t.Errorf("dane per host = %q, want %q", got, tt.dane)
			}
			wantErr := ""
			if tt.status == 1 {
				wantErr = "DANE FAILED for " + tt.domain + ": "
			}
			if !strings.HasPrefix(stderr, wantErr) || (wantErr == "") != (stderr == "") {
				t.Errorf("stderr = %q, want a line starting %q", stderr, wantErr)
			}
		})
	}
}

// checkSchema returns the ways obj departs from DESIGN.md's daneverify --json
// schema: the keys (no unknown ones), their types and enumerations.
func checkSchema(obj map[string]any) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	keys := func(where string, m map[string]any, required, optional []string) {
		for _, k := range required {
			if _, ok := m[k]; !ok {
				bad("%s: no %q", where, k)
			}
		}
		for k := range m {
			if !slices.Contains(required, k) && !slices.Contains(optional, k) {
				bad("%s: unknown key %q", where, k)
			}
		}
	}
	str := func(where string, v any, enum ...string) {
		s, ok := v.(string)
		switch {
		case !ok:
			bad("%s = %v (%T), want a string", where, v, v)
		case len(enum) > 0 && !slices.Contains(enum, s):
			bad("%s = %q, want one of %q", where, s, enum)
		}
	}
	boolean := func(where string, v any) {
		if _, ok := v.(bool); !ok {
			bad("%s = %v (%T), want a boolean", where, v, v)
		}
	}

	keys("top", obj, []string{"domain", "mx_secure", "mx_hosts", "result"}, []string{"reason"})
	str("domain", obj["domain"])
	boolean("mx_secure", obj["mx_secure"])
	str("result", obj["result"], "success", "failed", "unsupported", "tempfail")
	if r, ok := obj["reason"]; ok {
		str("reason", r)
	}
	hosts, ok := obj["mx_hosts"].([]any)
	if !ok {
		bad("mx_hosts = %v (%T), want an array", obj["mx_hosts"], obj["mx_hosts"])
	}
	for i, h := range hosts {
		at := fmt.Sprintf("mx_hosts[%d]", i)
		hm, ok := h.(map[string]any)
		if !ok {
			bad("%s is %T, want an object", at, h)
			continue
		}
		keys(at, hm, []string{"host", "address_secure", "tlsa", "tls", "dane"}, []string{"error"})
		str(at+".host", hm["host"])
		boolean(at+".address_secure", hm["address_secure"])
		str(at+".dane", hm["dane"], "authenticated", "failed", "unusable", "not-applicable")
		if e, ok := hm["error"]; ok {
			str(at+".error", e)
		}
		if tlsa, ok := hm["tlsa"].(map[string]any); !ok {
			bad("%s.tlsa is %T, want an object", at, hm["tlsa"])
		} else {
			keys(at+".tlsa", tlsa, []string{"status", "records", "usable"}, nil)
			str(at+".tlsa.status", tlsa["status"], "secure", "insecure", "none", "bogus", "tempfail")
			recs, ok := tlsa["records"].([]any)
			if !ok {
				bad("%s.tlsa.records = %v, want an array", at, tlsa["records"])
			}
			for j, r := range recs {
				str(fmt.Sprintf("%s.tlsa.records[%d]", at, j), r)
			}
			n, ok := tlsa["usable"].(float64)
			if !ok || n != float64(int(n)) || n < 0 || int(n) > len(recs) {
				bad("%s.tlsa.usable = %v, want a count of at most %d records", at, tlsa["usable"], len(recs))
			}
		}
		if tl, ok := hm["tls"].(map[string]any); !ok {
			bad("%s.tls is %T, want an object", at, hm["tls"])
		} else {
			keys(at+".tls", tl, []string{"established", "version", "cipher"}, nil)
			boolean(at+".tls.established", tl["established"])
			str(at+".tls.cipher", tl["cipher"])
			if tl["established"] == true {
				str(at+".tls.version", tl["version"], "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3")
				if tl["cipher"] == "" {
					bad("%s.tls: established without a cipher", at)
				}
			} else {
				str(at+".tls.version", tl["version"], "")
			}
		}
	}
	return p
}

// TestBadInput: bad arguments print one clear line on stderr, nothing on
// stdout, and exit 1.
func TestBadInput(t *testing.T) {
	s := startDANE(t)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"bad domain", "daneverify bad_domain!", `daneverify: "bad_domain!" is not a domain name: give a mail domain such as example.com`},
		{"unknown flag", "daneverify --xml good.dane.test", `daneverify: unknown option "--xml"; usage: daneverify [DOMAIN] [--json]`},
		{"json without domain", "daneverify --json", `daneverify: --json needs a DOMAIN; usage: daneverify [DOMAIN] [--json]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, status := batch(t, s, tt.in)
			if status != 1 || stdout != "" || stderr != tt.want+"\n" {
				t.Errorf("%s: status %d, stdout %q, stderr %q; want 1, \"\", %q", tt.in, status, stdout, stderr, tt.want)
			}
		})
	}
}

// testEnv returns an Env for Check under the dane fixture.
func testEnv(s *fixtures.Setup, out io.Writer) *shell.Env {
	srv, err := dns.ParseServer(s.Vars["DNS"])
	r := dns.New(dns.Config{Servers: []dns.Server{srv}, Now: func() time.Time { return testNow }})
	return &shell.Env{
		Out: out, Err: out,
		Now:      func() time.Time { return testNow },
		Hostname: func() string { return "esa.test" },
		Resolver: func() (*dns.Resolver, error) { return r, err },
		Dial:     s.Dial,
	}
}

// TestCheck: the check destconfig offers prints the whole human report, closing
// line included, and returns nil whatever the verdict; an error only when it
// could not run.
func TestCheck(t *testing.T) {
	s := startDANE(t)
	tests := []struct {
		domain  string
		last    string
		wantErr string
	}{
		{domain: "good.dane.test", last: "DANE SUCCESS for good.dane.test"},
		{domain: "mismatch.dane.test", last: "DANE FAILED for mismatch.dane.test: MX(mx.mismatch.dane.test): certificate verification failed: 1 DANE-EE(3) record, none matches the server certificate: no TLSA record matches the server certificate"},
		{domain: "notlsa.dane.test.", last: "DANE UNSUPPORTED for notlsa.dane.test: MX(mx.notlsa.dane.test): no TLSA record at _25._tcp.mx.notlsa.dane.test (validated denial): DANE does not apply (RFC 7672 §2.2)"},
		{domain: "bad_domain!", wantErr: `daneverify: "bad_domain!" is not a domain name: give a mail domain such as example.com`},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			var out bytes.Buffer
			err := daneverify.Check(context.Background(), testEnv(s, &out), tt.domain)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || out.Len() != 0 {
					t.Fatalf("Check(%q) = %v, printed %q; want error %q and nothing printed", tt.domain, err, out.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check(%q): %v", tt.domain, err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if got := lines[len(lines)-1]; got != tt.last {
				t.Errorf("Check(%q) last line = %q, want %q", tt.domain, got, tt.last)
			}
		})
	}
}

// TestCheckNoResolver: without a resolver the check says what to do.
func TestCheckNoResolver(t *testing.T) {
	var out bytes.Buffer
	e := &shell.Env{Out: &out, Err: &out, Now: func() time.Time { return testNow }}
	err := daneverify.Check(context.Background(), e, "example.com")
	want := "daneverify: no DNS servers are configured: use dnsconfig to enter one"
	if err == nil || err.Error() != want {
		t.Errorf("Check without a resolver = %v, want %q", err, want)
	}
}

// TestCheckSchemaRejects: the schema check catches a missing key, an unknown
// key, a wrong type and a value outside an enumeration.
func TestCheckSchemaRejects(t *testing.T) {
	good := `{"domain":"d","mx_secure":true,"mx_hosts":[{"host":"h","address_secure":true,
		"tlsa":{"status":"secure","records":["3 1 1 00"],"usable":1},
		"tls":{"established":true,"version":"TLS1.2","cipher":"c"},"dane":"authenticated"}],"result":"success"}`
	tests := []struct {
		name, old, new string
	}{
		{"missing key", `"mx_secure":true,`, ``},
		{"unknown key", `"result":"success"`, `"result":"success","extra":1`},
		{"wrong type", `"mx_secure":true`, `"mx_secure":"yes"`},
		{"result enum", `"result":"success"`, `"result":"ok"`},
		{"dane enum", `"dane":"authenticated"`, `"dane":"ok"`},
		{"tlsa status enum", `"status":"secure"`, `"status":"valid"`},
		{"usable above records", `"usable":1`, `"usable":2`},
		{"version enum", `"version":"TLS1.2"`, `"version":"TLSv1.2"`},
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(good), &obj); err != nil {
		t.Fatal(err)
	}
	if p := checkSchema(obj); len(p) > 0 {
		t.Fatalf("checkSchema(good) = %q, want none", p)
	}
	for _, tt := range tests {
		bad := strings.Replace(good, tt.old, tt.new, 1)
		var obj map[string]any
		if err := json.Unmarshal([]byte(bad), &obj); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if p := checkSchema(obj); len(p) == 0 {
			t.Errorf("%s: checkSchema found nothing wrong in %s", tt.name, bad)
		}
	}
}
