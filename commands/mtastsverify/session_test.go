package mtastsverify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands"
	"github.com/segcli/segcli/commands/mtastsverify"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts/fixtures"
)

// clock is the sessions' time: the fixture certificates are valid then.
var clock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// dataDir is a data directory on disk for sessions of one test.
type dataDir struct {
	dir string
	fs  afero.Fs
	srv *fixtures.MTASTSServer
}

func newDataDir(t testing.TB, srv *fixtures.MTASTSServer) *dataDir {
	dir := t.TempDir()
	return &dataDir{dir: dir, fs: afero.NewBasePathFs(afero.NewOsFs(), dir), srv: srv}
}

// session runs line as segcli -c does, with in as the input, and returns the
// output, the error output and the exit status.
func (d *dataDir) session(t testing.TB, line, in string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	sh, err := commands.NewShell(context.Background(), commands.Options{
		Fs:         d.fs,
		Locker:     store.FileLocker{Path: filepath.Join(d.dir, "config", ".lock")},
		In:         shell.NewPlainReader(strings.NewReader(in), &out),
		Out:        &out,
		Err:        &errOut,
		Now:        func() time.Time { return clock },
		User:       "admin",
		Hostname:   "esa.test",
		Resolver:   d.srv.DNS,
		ResolvConf: filepath.Join(d.dir, "no-resolv.conf"),
		ExtraCAs:   d.srv.CAPEM,
		Dial:       d.srv.Setup().Dial,
		DemoSeed:   []byte("mtastsverify tests"),
	})
	if err != nil {
		t.Fatal(err)
	}
	status = sh.RunBatch(context.Background(), line)
	return out.String(), errOut.String(), status
}

func (d *dataDir) write(t testing.TB, name, data string) {
	t.Helper()
	if err := d.fs.MkdirAll(shell.ConfigDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(d.fs, shell.ConfigDir+"/"+name, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// snapshot returns every file of the data directory with a hash of its content.
func (d *dataDir) snapshot(t testing.TB) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := afero.Walk(d.fs, "/", func(p string, fi fs.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := afero.ReadFile(d.fs, p)
		if err != nil {
			return err
		}
		files[p] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkSchema checks a decoded mtastsverify --json object against DESIGN.md
// ("Contracts"): the keys, their types and the values of the enumerations.
func checkSchema(t testing.TB, v map[string]any) {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Errorf("%v: "+format, append([]any{v["domain"]}, a...)...)
	}
	str := func(m map[string]any, key string, required bool, enum ...string) {
		t.Helper()
		x, ok := m[key]
		if !ok {
			if required {
				fail("missing %q", key)
			}
			return
		}
		s, ok := x.(string)
		if !ok {
			fail("%q = %v (%T), want a string", key, x, x)
			return
		}
		if len(enum) > 0 && !slices.Contains(enum, s) {
			fail("%q = %q, want one of %q", key, s, enum)
		}
	}
	boolean := func(m map[string]any, key string) {
		t.Helper()
		if _, ok := m[key].(bool); !ok {
			fail("%q = %v (%T), want a boolean", key, m[key], m[key])
		}
	}
	object := func(m map[string]any, key string) map[string]any {
		t.Helper()
		o, ok := m[key].(map[string]any)
		if !ok {
			fail("%q = %v (%T), want an object", key, m[key], m[key])
		}
		return o
	}
	str(v, "domain", true)
	str(v, "result", true, "pass", "fail", "none", "tempfail")
	if rec := object(v, "record"); rec != nil {
		str(rec, "status", true, "found", "none", "invalid", "multiple", "tempfail")
		str(rec, "id", false)
		str(rec, "error", false)
		if rec["status"] == "found" {
			str(rec, "id", true)
		}
	}
	if pol := object(v, "policy"); pol != nil {
		str(pol, "status", true, "valid", "invalid", "fetch-error", "not-fetched")
		str(pol, "source", false, "fetched", "cache")
		str(pol, "mode", false, "enforce", "testing", "none")
		str(pol, "error", false)
		if pol["status"] == "valid" {
			str(pol, "mode", true, "enforce", "testing", "none")
			age, ok := pol["max_age"].(float64)
			if !ok || age < 0 || age > 31557600 || age != float64(int64(age)) {
				fail("policy.max_age = %v, want an integer from 0 to 31557600", pol["max_age"])
			}
		}
		for _, key := range []string{"mx", "warnings"} {
			if x, ok := pol[key]; ok {
				list, ok := x.([]any)
				if !ok {
					fail("policy.%s = %v, want an array", key, x)
				}
				for _, s := range list {
					if _, ok := s.(string); !ok {
						fail("policy.%s holds %v, want strings", key, s)
					}
				}
			}
		}
	}
	hosts, ok := v["mx_hosts"].([]any)
	if !ok {
		fail("mx_hosts = %v (%T), want an array", v["mx_hosts"], v["mx_hosts"])
	}
	for _, h := range hosts {
		m, ok := h.(map[string]any)
		if !ok {
			fail("mx_hosts holds %v, want objects", h)
			continue
		}
		str(m, "host", true)
		if p, ok := m["preference"].(float64); !ok || p < 0 || p > 65535 || p != float64(int(p)) {
			fail("mx_hosts preference = %v, want an integer from 0 to 65535", m["preference"])
		}
		boolean(m, "matches_policy")
		boolean(m, "starttls")
		boolean(m, "pkix_valid")
		str(m, "tls_version", false, "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3")
		str(m, "error", false)
	}
}

// decodeOne decodes exactly one JSON object from s: nothing but white space may
// follow it.
func decodeOne(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, s)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		t.Fatalf("output holds more than one JSON value (%v):\n%s", err, s)
	}
	return v
}

// TestJSONContract runs mtastsverify --json under -c for a domain of every
// result: the output holds exactly one JSON object that follows the schema of
// DESIGN.md, the exit status is 1 for fail and tempfail, and diagnostics are in
// the error output only.
func TestJSONContract(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{})
	d := newDataDir(t, srv)
	tests := []struct {
		domain, result, record, policy string
		status                         int
	}{
		{"example.com", "pass", "found", "valid", 0},
		{"testing.test", "pass", "found", "valid", 0},
		{"lenient.test", "pass", "found", "valid", 0},
		{"norecord.test", "none", "none", "not-fetched", 0},
		{"tworecords.test", "none", "multiple", "not-fetched", 0},
		{"badrecord.test", "none", "invalid", "not-fetched", 0},
		{"modenone.test", "none", "found", "valid", 0},
		{"tempfail.test", "tempfail", "tempfail", "not-fetched", 1},
		{"redirect.test", "fail", "found", "fetch-error", 1},
		{"html.test", "fail", "found", "fetch-error", 1},
		{"notfound.test", "fail", "found", "fetch-error", 1},
		{"expired.test", "fail", "found", "fetch-error", 1},
		{"invalid.test", "fail", "found", "invalid", 1},
		{"mismatch.test", "fail", "found", "valid", 1},
		{"nostarttls.test", "fail", "found", "valid", 1},
		{"badcert.test", "fail", "found", "valid", 1},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, status := d.session(t, "mtastsverify --json "+tt.domain, "")
			if status != tt.status {
				t.Errorf("exit status %d, want %d (stderr %q)", status, tt.status, stderr)
			}
			v := decodeOne(t, stdout)
			checkSchema(t, v)
			rec, _ := v["record"].(map[string]any)
			pol, _ := v["policy"].(map[string]any)
			got := [3]any{v["result"], rec["status"], pol["status"]}
			if want := [3]any{tt.result, tt.record, tt.policy}; got != want {
				t.Errorf("result, record.status, policy.status = %v, want %v", got, want)
			}
			wantErr := ""
			if tt.status != 0 {
				wantErr = "mtastsverify: " + tt.domain + ": result " + tt.result + "\n"
			}
			if stderr != wantErr {
				t.Errorf("stderr = %q, want %q", stderr, wantErr)
			}
		})
	}
}

// TestJSONValues checks the values of a passing report against the fixture.
func TestJSONValues(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{})
	d := newDataDir(t, srv)
	stdout, _, _ := d.session(t, "mtastsverify example.com --json", "")
	var rep struct {
		Domain string
		Record struct{ Status, ID string }
		Policy struct {
			Status, Source, Mode string
			MX                   []string
			MaxAge               int64 `json:"max_age"`
		}
		MXHosts []struct {
			Host          string
			Preference    int
			MatchesPolicy bool   `json:"matches_policy"`
			STARTTLS      bool   `json:"starttls"`
			TLSVersion    string `json:"tls_version"`
			PKIXValid     bool   `json:"pkix_valid"`
		} `json:"mx_hosts"`
		Result string
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v", rep)
	want := "{Domain:example.com Record:{Status:found ID:20160831085700Z} Policy:{Status:valid Source:fetched Mode:enforce " +
		"MX:[mail.example.com *.example.net backupmx.example.com] MaxAge:604800} MXHosts:[" +
		"{Host:mail.example.com Preference:10 MatchesPolicy:true STARTTLS:true TLSVersion:TLS1.3 PKIXValid:true} " +
		"{Host:backupmx.example.com Preference:20 MatchesPolicy:true STARTTLS:true TLSVersion:TLS1.3 PKIXValid:true}] Result:pass}"
	if got != want {
		t.Errorf("report\n got %s\nwant %s", got, want)
	}
}

// TestBadInputChangesNothing: bad command lines fail with one line on the error
// output and leave the data directory as it was; nothing is printed on the output.
func TestBadInputChangesNothing(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{})
	d := newDataDir(t, srv)
	d.write(t, "bad.txt", "example.com\nnot a domain\n")
	d.session(t, "mtastscache refresh example.com", "") // something in the cache
	before := d.snapshot(t)
	for _, line := range []string{
		"mtastsverify --bogus example.com",
		"mtastsverify exa_mple.com",
		"mtastsverify a.example b.example",
		"mtastsverify --file missing.txt",
		"mtastsverify --file bad.txt",
		"mtastsverify --file ../x",
		"mtastsverify --csv example.com",
		"mtastsverify --file bad.txt --concurrency 1000",
		"mtastscache purge",
		"mtastscache flush exa_mple.com",
		"mtastscache show nothing.example",
	} {
		t.Run(line, func(t *testing.T) {
			stdout, stderr, status := d.session(t, line, "")
			if status != 1 {
				t.Errorf("exit status %d, want 1", status)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, strings.Fields(line)[0]+": ") {
				t.Errorf("stderr = %q, want one line starting with the command's name", stderr)
			}
		})
	}
	after := d.snapshot(t)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("the data directory changed:\nbefore %v\nafter  %v", before, after)
	}
}

// TestCacheSurvivesSession: a policy cached by one session is in the cache of the
// next one, which applies it without fetching.
func TestCacheSurvivesSession(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{})
	d := newDataDir(t, srv)
	if out, errOut, status := d.session(t, "mtastscache refresh example.com", ""); status != 0 {
		t.Fatalf("refresh: exit status %d\n%s%s", status, out, errOut)
	}
	fetches := srv.Requests()
	out, errOut, status := d.session(t, "mtastscache show example.com; mtastscache list", "")
	if status != 0 {
		t.Fatalf("show: exit status %d\n%s%s", status, out, errOut)
	}
	for _, want := range []string{"Policy id:   20160831085700Z", "Expires:     Sun Dec  6 13:26:28 2026 UTC (valid)", "1 cached policy."} {
		if !strings.Contains(out, want) {
			t.Errorf("second session: no %q in\n%s", want, out)
		}
	}
	// A third session's engine applies the cached policy without a fetch.
	var sh *shell.Shell
	sh, err := commands.NewShell(context.Background(), commands.Options{
		Fs: d.fs, Locker: store.FileLocker{Path: filepath.Join(d.dir, "config", ".lock")},
		In: shell.NewPlainReader(strings.NewReader(""), io.Discard), Out: io.Discard, Err: io.Discard,
		Now: func() time.Time { return clock }, Resolver: srv.DNS, ExtraCAs: srv.CAPEM, Dial: srv.Setup().Dial,
		ResolvConf: filepath.Join(d.dir, "no-resolv.conf"),
	})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sh.Env().MTASTS()
	if err != nil {
		t.Fatal(err)
	}
	res, err := eng.Policy(context.Background(), "example.com")
	if err != nil || res.Source != "cache" || res.ID != "20160831085700Z" {
		t.Errorf("Policy(example.com) = %+v, %v; want the cached policy", res, err)
	}
	if n := srv.Requests(); n != fetches {
		t.Errorf("%d policy fetches after the first session, want none", n-fetches)
	}
	// flush in one session is seen by the next.
	d.session(t, "mtastscache flush all", "")
	if out, _, status := d.session(t, "mtastscache list", ""); status != 0 || out != "The MTA-STS policy cache is empty.\n" {
		t.Errorf("after flush all: %q (exit status %d)", out, status)
	}
}

// TestCheck: destconfig's check prints the report and fails only when it cannot
// run.
func TestCheck(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{})
	d := newDataDir(t, srv)
	var out bytes.Buffer
	sh, err := commands.NewShell(context.Background(), commands.Options{
		Fs: d.fs, Locker: store.FileLocker{Path: filepath.Join(d.dir, "config", ".lock")},
		In: shell.NewPlainReader(strings.NewReader(""), &out), Out: &out, Err: &out,
		Now: func() time.Time { return clock }, Resolver: srv.DNS, ExtraCAs: srv.CAPEM, Dial: srv.Setup().Dial,
		ResolvConf: filepath.Join(d.dir, "no-resolv.conf"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mtastsverify.Check(context.Background(), sh.Env(), "notfound.test"); err != nil {
		t.Errorf("Check(notfound.test) = %v, want nil: the verdict is in the report", err)
	}
	if !strings.Contains(out.String(), "MTA-STS FAIL for notfound.test") {
		t.Errorf("Check(notfound.test) printed\n%s", out.String())
	}
	if err := mtastsverify.Check(context.Background(), sh.Env(), "not a domain"); err == nil {
		t.Error("Check(not a domain) = nil, want an error")
	}
}

// bulkFile returns a file of n bulk domains.
func bulkFile(n int) string {
	var b strings.Builder
	b.WriteString("# bulk domains\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s\n", fixtures.BulkDomain(i))
	}
	return b.String()
}

// TestBulk checks 200 domains with at most 8 at a time: CSV and JSON Lines hold one
// result per domain in the order of the file, the summary counts them, and the
// policy server never saw more than 8 requests at once.
func TestBulk(t *testing.T) {
	const n, conc = 200, 8
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{Bulk: n, Delay: 5 * time.Millisecond})
	d := newDataDir(t, srv)
	d.write(t, "domains.txt", bulkFile(n))
	want := map[string]int{}
	for i := 1; i <= n; i++ {
		want[fixtures.BulkResult(i)]++
	}
	summary := fmt.Sprintf("pass       %8d", want["pass"])

	t.Run("csv", func(t *testing.T) {
		stdout, stderr, status := d.session(t, fmt.Sprintf("mtastsverify --file domains.txt --csv --concurrency %d", conc), "")
		if status != 0 {
			t.Fatalf("exit status %d: %s", status, stderr)
		}
		rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n+1 || rows[0][0] != "domain" || rows[0][1] != "result" {
			t.Fatalf("%d CSV rows, header %q; want %d and a header", len(rows), rows[0], n+1)
		}
		for i, r := range rows[1:] {
			if r[0] != fixtures.BulkDomain(i+1) || r[1] != fixtures.BulkResult(i+1) {
				t.Errorf("row %d = %q %q, want %q %q", i+1, r[0], r[1], fixtures.BulkDomain(i+1), fixtures.BulkResult(i+1))
			}
		}
		if !strings.Contains(stderr, "Summary of 200 domains:") || !strings.Contains(stderr, summary) {
			t.Errorf("summary on stderr:\n%s\nwant %q", stderr, summary)
		}
		t.Logf("policy requests at once: at most %d (concurrency %d)", srv.MaxInFlight(), conc)
		if m := srv.MaxInFlight(); m > conc || m < 2 {
			t.Errorf("at most %d policy requests at once, want 2 to %d", m, conc)
		}
	})
	t.Run("json", func(t *testing.T) {
		stdout, stderr, status := d.session(t, fmt.Sprintf("mtastsverify --file=domains.txt --json --concurrency=%d", conc), "")
		if status != 0 {
			t.Fatalf("exit status %d: %s", status, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != n {
			t.Fatalf("%d lines, want %d", len(lines), n)
		}
		for i, l := range lines {
			v := decodeOne(t, l)
			checkSchema(t, v)
			if v["domain"] != fixtures.BulkDomain(i+1) || v["result"] != fixtures.BulkResult(i+1) {
				t.Errorf("line %d: %v %v, want %s %s", i+1, v["domain"], v["result"], fixtures.BulkDomain(i+1), fixtures.BulkResult(i+1))
			}
		}
		if !strings.Contains(stderr, summary) {
			t.Errorf("summary on stderr:\n%s\nwant %q", stderr, summary)
		}
	})
	t.Run("table", func(t *testing.T) {
		stdout, stderr, status := d.session(t, "mtastsverify --file domains.txt", "")
		if status != 0 || stderr != "" {
			t.Fatalf("exit status %d: %s", status, stderr)
		}
		if got := strings.Count(stdout, ".bulk.test "); got != n {
			t.Errorf("%d table rows, want %d", got, n)
		}
		for _, res := range []string{"pass", "fail", "none"} {
			if line := fmt.Sprintf("\n%-10s %8d", res, want[res]); !strings.Contains(stdout, line) {
				t.Errorf("summary: no %q in\n%s", line, stdout[strings.Index(stdout, "Summary"):])
			}
		}
	})
}

// BenchmarkBulk checks 10,000 domains against the local fixtures, 64 at a time,
// and reports domains per second.
func BenchmarkBulk(b *testing.B) {
	const n = 10000
	srv := fixtures.StartMTASTS(b, fixtures.MTASTSOptions{Bulk: n})
	d := newDataDir(b, srv)
	d.write(b, "domains.txt", bulkFile(n))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		_, stderr, status := d.session(b, "mtastsverify --file domains.txt --csv --concurrency 64", "")
		if status != 0 {
			b.Fatalf("exit status %d: %s", status, stderr)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "domains/s")
}
