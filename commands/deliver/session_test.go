package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/commands"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
	"github.com/segcli/segcli/transcripts/fixtures"
)

// clock is the sessions' time: the fixture certificates are valid then.
var clock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

// dataDir is a data directory on disk, with the fixture its sessions use.
type dataDir struct {
	dir   string
	fs    afero.Fs
	setup *fixtures.Setup
	cas   []byte
	now   time.Time
}

func newDataDir(t testing.TB, setup *fixtures.Setup, cas []byte) *dataDir {
	dir := t.TempDir()
	return &dataDir{dir: dir, fs: afero.NewBasePathFs(afero.NewOsFs(), dir), setup: setup, cas: cas, now: clock}
}

func (d *dataDir) options(in io.Reader, out, errOut io.Writer) commands.Options {
	now := d.now
	return commands.Options{
		Fs:         d.fs,
		Locker:     store.FileLocker{Path: filepath.Join(d.dir, "config", ".lock")},
		DataDir:    d.dir,
		In:         shell.NewPlainReader(in, out),
		Out:        out,
		Err:        errOut,
		Now:        func() time.Time { return now },
		User:       "admin",
		Hostname:   "esa.test",
		Resolver:   d.setup.Vars["DNS"],
		ResolvConf: filepath.Join(d.dir, "no-resolv.conf"),
		ExtraCAs:   d.cas,
		Dial:       d.setup.Dial,
		DemoSeed:   []byte("deliver tests"),
	}
}

// session runs line as segcli -c does and returns stdout, stderr and the status.
func (d *dataDir) session(t testing.TB, line string) (stdout, stderr string, status int) {
	t.Helper()
	var out, errOut bytes.Buffer
	sh, err := commands.NewShell(context.Background(), d.options(strings.NewReader(""), &out, &errOut))
	if err != nil {
		t.Fatal(err)
	}
	status = sh.RunBatch(context.Background(), line)
	return out.String(), errOut.String(), status
}

// must runs line and fails the test unless it succeeds.
func (d *dataDir) must(t testing.TB, line string) string {
	t.Helper()
	out, errOut, status := d.session(t, line)
	if status != 0 {
		t.Fatalf("%s: exit status %d\n%s%s", line, status, out, errOut)
	}
	return out
}

// queued returns the messages in the data directory's queue.
func (d *dataDir) queued(t testing.TB) []queue.Message {
	t.Helper()
	q, err := queue.Open(queue.Config{Fs: d.fs})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := q.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// oneObject decodes stdout, which must hold exactly one JSON object.
func oneObject(t testing.TB, stdout string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" || dec.More() {
		t.Fatalf("stdout holds more than one JSON object:\n%s", stdout)
	}
	return v
}

// schema checks values of a decoded JSON object.
type schema struct {
	t    testing.TB
	name string
}

func (s schema) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("%s: "+format, append([]any{s.name}, args...)...)
}

func (s schema) str(m map[string]any, key string, enum ...string) string {
	s.t.Helper()
	x, ok := m[key]
	if !ok {
		s.fail("no key %q in %v", key, m)
		return ""
	}
	v, ok := x.(string)
	if !ok {
		s.fail("%q is %T, want a string", key, x)
		return ""
	}
	if len(enum) > 0 && !contains(enum, v) {
		s.fail("%q = %q, want one of %q", key, v, enum)
	}
	return v
}

func (s schema) num(m map[string]any, key string) float64 {
	s.t.Helper()
	x, ok := m[key].(float64)
	if !ok || x != float64(int64(x)) || x < 0 {
		s.fail("%q = %v (%T), want a whole number", key, m[key], m[key])
	}
	return x
}

func (s schema) list(m map[string]any, key string) []any {
	s.t.Helper()
	x, ok := m[key].([]any)
	if !ok {
		s.fail("%q = %v (%T), want an array", key, m[key], m[key])
	}
	return x
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

var (
	statuses   = []string{"delivered", "deferred", "bounced"}
	securities = []string{"dane", "mta-sts", "tls-verify", "tls", "none"}
	versions   = []string{"", "TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3"}
)

// checkDeliver checks a `deliver --json` object against DESIGN.md: the keys, their
// types and the values of the enumerations.
func checkDeliver(t testing.TB, name string, v map[string]any) {
	t.Helper()
	s := schema{t, name}
	if s.num(v, "mid") < 1 {
		s.fail("mid %v, want 1 or more", v["mid"])
	}
	s.str(v, "status", statuses...)
	s.str(v, "security", securities...)
	s.str(v, "reason")
	for _, x := range s.list(v, "attempts") {
		a, ok := x.(map[string]any)
		if !ok {
			s.fail("attempt %v is not an object", x)
			continue
		}
		s.str(a, "mx")
		s.str(a, "address")
		s.num(a, "dcid")
		s.str(a, "security", securities...)
		s.str(a, "tls_version", versions...)
		s.str(a, "error")
	}
	if _, ok := v["recipients"]; ok {
		for _, x := range s.list(v, "recipients") {
			r, ok := x.(map[string]any)
			if !ok {
				s.fail("recipient %v is not an object", x)
				continue
			}
			s.num(r, "rid")
			s.str(r, "to")
			s.str(r, "status", statuses...)
			s.str(r, "reply")
		}
	}
}

// TestDeliverJSON runs deliver --json under -c for each security value and status
// of DESIGN.md: stdout holds exactly one JSON object valid against the schema; the
// exit status is 0 only when the message was delivered, with the closing line on
// stderr otherwise; a deferred message stays queued, the others leave the queue.
func TestDeliverJSON(t *testing.T) {
	dl := fixtures.StartDeliver(t)
	sts := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{})
	dane := fixtures.NewSetup()
	fixtures.Registry()["dane"](t, dane)
	tests := []struct {
		name     string
		setup    *fixtures.Setup
		cas      []byte
		config   string // commands run first, in their own session
		to       string
		status   string
		security string
		queued   int
	}{
		{"clear text", dl.Setup(), nil, "", "user@deliver.test", "delivered", "none", 0},
		{"tls", dl.Setup(), nil, "destconfig new deliver.test --tls=preferred", "user@deliver.test", "delivered", "tls", 0},
		{"tls-verify", dl.Setup(), dl.CAPEM, "destconfig new deliver.test --tls=required_verify", "user@deliver.test", "delivered", "tls-verify", 0},
		{"tls-verify hosted", dl.Setup(), dl.CAPEM, "destconfig new hosted.test --tls=required_verify_hosted", "user@hosted.test", "delivered", "tls-verify", 0},
		{"mta-sts", sts.Setup(), sts.CAPEM, "destconfig new example.com --tls=preferred --mta_sts=on", "user@example.com", "delivered", "mta-sts", 0},
		{"dane", dane, nil, "destconfig new good.dane.test --tls=preferred --dane=opportunistic", "user@good.dane.test", "delivered", "dane", 0},
		{"deferred by the server", dl.Setup(), nil, "", "user@defer.deliver.test", "deferred", "none", 1},
		{"deferred by the policy", dl.Setup(), dl.CAPEM, "destconfig new hosted.test --tls=required_verify", "user@hosted.test", "deferred", "none", 1},
		{"deferred: DANE mandatory", dl.Setup(), nil, "destconfig new deliver.test --tls=required --dane=mandatory", "user@deliver.test", "deferred", "none", 1},
		{"bounced", dl.Setup(), nil, "", "user@bounce.deliver.test", "bounced", "none", 0},
		{"bounced: null MX", dl.Setup(), nil, "", "user@nomail.deliver.test", "bounced", "none", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDataDir(t, tt.setup, tt.cas)
			if tt.config != "" {
				d.must(t, tt.config+`; commit "test"`)
			}
			stdout, stderr, status := d.session(t, "deliver --json --from admin@esa.test --to "+tt.to)
			v := oneObject(t, stdout)
			checkDeliver(t, tt.name, v)
			if v["status"] != tt.status || v["security"] != tt.security {
				t.Errorf("status %v security %v, want %s %s\n%s", v["status"], v["security"], tt.status, tt.security, stdout)
			}
			wantStatus := 0
			if tt.status != "delivered" {
				wantStatus = 1
				if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "MID 1 "+tt.status+": ") {
					t.Errorf("stderr = %q, want the closing line", stderr)
				}
			} else if stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if status != wantStatus {
				t.Errorf("exit status %d, want %d", status, wantStatus)
			}
			if n := len(d.queued(t)); n != tt.queued {
				t.Errorf("%d messages queued after the delivery, want %d", n, tt.queued)
			}
		})
	}
}

// TestDelivered: the message reaches the server whole, over TLS when the policy asks
// for it, with the envelope given.
func TestDelivered(t *testing.T) {
	dl := fixtures.StartDeliver(t)
	d := newDataDir(t, dl.Setup(), nil)
	d.write(t, "m.eml", "Subject: dots\n\n.leading dot\nlast line\n")
	d.must(t, `destconfig new deliver.test --tls=required; commit "tls"`)
	d.must(t, "deliver --from admin@esa.test --to a@deliver.test,b@deliver.test --file m.eml")
	got := dl.Delivered()
	if len(got) != 1 {
		t.Fatalf("%d messages delivered, want 1", len(got))
	}
	m := got[0]
	if !m.TLS || m.From != "admin@esa.test" || strings.Join(m.To, " ") != "a@deliver.test b@deliver.test" ||
		m.Data != "Subject: dots\r\n\r\n.leading dot\r\nlast line\r\n" {
		t.Errorf("delivered %+v", m)
	}
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

// TestBadInputQueuesNothing: bad command lines fail with one line on stderr, print
// nothing on stdout, and leave the queue empty.
func TestBadInputQueuesNothing(t *testing.T) {
	dl := fixtures.StartDeliver(t)
	d := newDataDir(t, dl.Setup(), nil)
	d.write(t, "empty.eml", "\n\n")
	d.write(t, "big.eml", strings.Repeat("x", 10<<20+1))
	if err := d.fs.MkdirAll(shell.ConfigDir+"/folder", 0o700); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"deliver --from admin@esa.test",
		"deliver --to user@deliver.test",
		"deliver --json",
		"deliver --json --to user@deliver.test",
		"deliver --from admin --to user@deliver.test",
		"deliver --from admin@esa.test --to user",
		"deliver --from admin@esa.test --to user@[192.0.2.1]",
		"deliver --from admin@esa.test --to user@deliver.test --file missing.eml",
		"deliver --from admin@esa.test --to user@deliver.test --file empty.eml",
		"deliver --from admin@esa.test --to user@deliver.test --file big.eml",
		"deliver --from admin@esa.test --to user@deliver.test --file folder",
		"deliver --from admin@esa.test --to user@deliver.test --file ../config/running.toml",
		"deliver --from admin@esa.test --to user@deliver.test --bogus",
		"deliver --from admin@esa.test --to user@deliver.test stray",
		"deliver --from admin@esa.test --to",
	} {
		t.Run(line, func(t *testing.T) {
			stdout, stderr, status := d.session(t, line)
			if status != 1 {
				t.Errorf("exit status %d, want 1", status)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "deliver: ") {
				t.Errorf("stderr = %q, want one line starting with deliver:", stderr)
			}
		})
	}
	if msgs := d.queued(t); len(msgs) != 0 {
		t.Errorf("%d messages queued by bad input", len(msgs))
	}
	if got := dl.Delivered(); len(got) != 0 {
		t.Errorf("%d messages delivered by bad input", len(got))
	}
}

// TestNoResolverQueuesNothing: when the configuration cannot deliver (dnsconfig uses
// a resolv.conf that does not exist), deliver says so and queues nothing.
func TestNoResolverQueuesNothing(t *testing.T) {
	s := fixtures.NewSetup() // no $DNS: the session's resolver is dnsconfig's
	d := newDataDir(t, s, nil)
	stdout, stderr, status := d.session(t, "deliver --from admin@esa.test --to user@deliver.test")
	if status != 1 || stdout != "" || !strings.Contains(stderr, "dnsconfig") {
		t.Errorf("exit status %d, stdout %q, stderr %q; want 1, nothing, and what to do", status, stdout, stderr)
	}
	if msgs := d.queued(t); len(msgs) != 0 {
		t.Errorf("%d messages queued", len(msgs))
	}
}

// TestQueueCommands: showqueue, hoststatus, deliverynow and deleterecipients on a
// deferred message, across sessions (the queue and the counters persist).
func TestQueueCommands(t *testing.T) {
	dl := fixtures.StartDeliver(t)
	d := newDataDir(t, dl.Setup(), nil)
	if _, _, status := d.session(t, "deliver --from admin@esa.test --to user@greylist.deliver.test --to user@defer.deliver.test"); status != 1 {
		t.Fatalf("deliver: exit status %d, want 1 (deferred)", status)
	}
	out := d.must(t, "showqueue")
	for _, want := range []string{"MID 1 from <admin@esa.test>", "RID [0] <user@greylist.deliver.test>: waiting, 1 attempt",
		"Last reply: " + fixtures.DeliverGreylistReply, "1 message in the queue, 2 recipients waiting."} {
		if !strings.Contains(out, want) {
			t.Errorf("showqueue: no %q in\n%s", want, out)
		}
	}
	out = d.must(t, "hoststatus defer.deliver.test")
	for _, want := range []string{"Last attempt:         Sun Nov 29 13:26:28 2026 UTC (deferred)", "Deferral reason:      " + fixtures.DeliverDeferReply,
		"Recipients waiting:   1", "Next attempt:         Sun Nov 29 13:27:28 2026 UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("hoststatus: no %q in\n%s", want, out)
		}
	}
	// The next session's deliverynow delivers the greylisted recipient, not the
	// deferred one; MIDs and DCIDs go on from the last session's.
	out = d.must(t, "deliverynow greylist.deliver.test")
	if out != "Rescheduled 1 recipient for immediate delivery.\nMID 1 delivered (security none); 1 recipient still waiting.\n" {
		t.Errorf("deliverynow greylist.deliver.test:\n%s", out)
	}
	msgs := d.queued(t)
	if len(msgs) != 1 || len(msgs[0].Pending()) != 1 || msgs[0].Pending()[0].Domain != "defer.deliver.test" {
		t.Fatalf("queue after deliverynow: %+v", msgs)
	}
	if got := dl.Delivered(); len(got) != 1 || got[0].To[0] != "user@greylist.deliver.test" {
		t.Errorf("delivered %+v", got)
	}
	// A new session's MID comes after the last session's (the counters reserve
	// blocks of numbers durably: they may jump, never repeat).
	v := oneObject(t, d.must(t, "deliver --json --from admin@esa.test --to user@deliver.test"))
	if mid, _ := v["mid"].(float64); mid <= 1 {
		t.Errorf("the second message's MID is %v, want more than 1", v["mid"])
	}
	if got := dl.Delivered(); len(got) != 2 || !strings.Contains(got[1].Data, "Message-ID: ") {
		t.Errorf("delivered %+v", got)
	}
	out = d.must(t, "deleterecipients sender admin@esa.test")
	if out != "1 recipient deleted.\n" {
		t.Errorf("deleterecipients: %q", out)
	}
	if msgs := d.queued(t); len(msgs) != 0 {
		t.Errorf("queue after deleterecipients: %+v", msgs)
	}
	if out := d.must(t, "grep aborted mail_logs"); !strings.Contains(out, "Message finished MID 1 aborted") {
		t.Errorf("mail_logs: %q", out)
	}
}

// TestDeleteRecipientsBatch: the batch forms delete without asking, each what it
// names.
func TestDeleteRecipientsBatch(t *testing.T) {
	dl := fixtures.StartDeliver(t)
	d := newDataDir(t, dl.Setup(), nil)
	for _, line := range []string{
		"deliver --from a@esa.test --to user@defer.deliver.test",
		"deliver --from b@esa.test --to user@defer.deliver.test,other@defer.deliver.test",
		"deliver --from c@esa.test --to user@greylist.deliver.test",
		"deliver --from d@esa.test --to user2@greylist.deliver.test",
	} {
		if _, _, status := d.session(t, line); status != 1 {
			t.Fatalf("%s: exit status %d, want 1 (deferred)", line, status)
		}
	}
	mids := func() []uint64 {
		var out []uint64
		for _, m := range d.queued(t) {
			out = append(out, m.MID)
		}
		return out
	}
	all := mids()
	if len(all) != 4 {
		t.Fatalf("queue %v, want 4 messages", all)
	}
	steps := []struct {
		line string
		out  string
		left int
	}{
		{"deleterecipients mid " + strconv.FormatUint(all[0], 10), "1 recipient deleted.\n", 3},
		{"deleterecipients host DEFER.deliver.test.", "2 recipients deleted.\n", 2},
		{"deleterecipients host defer.deliver.test", "0 recipients deleted.\n", 2},
		{"deleterecipients all", "2 recipients deleted.\n", 0},
	}
	for _, s := range steps {
		if out := d.must(t, s.line); out != s.out {
			t.Errorf("%s: %q, want %q", s.line, out, s.out)
		}
		if n := len(mids()); n != s.left {
			t.Errorf("after %s: %d messages, want %d", s.line, n, s.left)
		}
	}
}
