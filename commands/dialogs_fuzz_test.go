package commands

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/dnstest"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// fuzzDialogs are the commands of the table that ask questions when run without
// arguments: FuzzDialogs runs each of them with a stream of answers.
func fuzzDialogs() []string {
	return []string{
		"sethostname", "destconfig", "smtproutes", "certconfig", "dnsconfig", "clear",
		"mtastscache", "loglevel", "daneverify", "mtastsverify", "tlsverify", "telnet",
		"deliver", "hoststatus", "deleterecipients",
	}
}

// notFuzzedDialogs are the commands left out of FuzzDialogs, and why.
func notFuzzedDialogs() map[string]string {
	return map[string]string{
		"commit":         "commits: the one step FuzzDialogs checks never happens",
		"rollbackconfig": "offers to commit the revision it loads",
		"dig":            "queries the server the answers name with its own dialer (FuzzParseArgs covers its arguments)",
		"help":           "asks nothing", "quit": "leaves the session", "exit": "leaves the session",
		"showchanges": "asks nothing", "saveconfig": "asks nothing", "loadconfig": "asks nothing",
		"showqueue": "asks nothing", "deliverynow": "asks nothing", "tail": "asks nothing", "grep": "asks nothing",
	}
}

// TestFuzzDialogsCoversTable: every command of the table is either fuzzed by
// FuzzDialogs or listed with the reason it is not, so that a new dialog cannot be
// left out unnoticed.
func TestFuzzDialogsCoversTable(t *testing.T) {
	dialogs, skip := fuzzDialogs(), notFuzzedDialogs()
	for _, c := range shell.New(shell.Config{}, Table()...).Commands() {
		_, skipped := skip[c.Name]
		if fuzzed := slices.Contains(dialogs, c.Name); fuzzed == skipped {
			t.Errorf("command %q: fuzzed %v, skipped %v: add it to exactly one of fuzzDialogs and notFuzzedDialogs", c.Name, fuzzed, skipped)
		}
	}
	for _, name := range dialogs {
		if !slices.ContainsFunc(Table(), func(c shell.Command) bool { return c.Name == name }) {
			t.Errorf("fuzzDialogs names %q, which is not in the table", name)
		}
	}
}

// dialogFor returns the dialog command an input names: the name itself when it is
// one, otherwise one picked by the bytes of the name (so that every input runs a
// dialog).
func dialogFor(name string) string {
	dialogs := fuzzDialogs()
	for _, d := range dialogs {
		if strings.EqualFold(name, d) {
			return d
		}
	}
	sum := 0
	for i := 0; i < len(name); i++ {
		sum += int(name[i])
	}
	return dialogs[sum%len(dialogs)]
}

// fuzzZone is the DNS data the dialogs see: one domain whose MX host is on
// loopback, where nothing listens (the dialer refuses every connection anyway);
// every other name does not exist.
const fuzzZone = `
. 300 IN SOA ns.test. hostmaster.test. 1 7200 900 1209600 300
example.test. 300 IN MX 10 mx.example.test.
_mta-sts.example.test. 300 IN TXT "v=STSv1; id=1;"
mx.example.test. 300 IN A 127.0.0.1
_25._tcp.mx.example.test. 300 IN TLSA 3 1 1 0000000000000000000000000000000000000000000000000000000000000000
`

// dialogTimeout bounds one dialog: answers come from memory, DNS from a
// loopback server that answers at once, and every connection is refused.
const dialogTimeout = 10 * time.Second

// copyFs copies every file of src into a new in-memory file system.
func copyFs(tb testing.TB, src afero.Fs) afero.Fs {
	tb.Helper()
	dst := afero.NewMemMapFs()
	err := afero.Walk(src, "", func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() {
			return dst.MkdirAll(p, info.Mode().Perm())
		}
		data, err := afero.ReadFile(src, p)
		if err != nil {
			return err
		}
		return afero.WriteFile(dst, p, data, info.Mode().Perm())
	})
	if err != nil {
		tb.Fatal(err)
	}
	return dst
}

// FuzzDialogs runs one dialog of the table (see fuzzDialogs) in a shell session
// over a fresh data directory with a stream of answer lines, as a piped session
// would read them. Invariants (DESIGN.md, the dialogs): no panic; the dialog returns
// within dialogTimeout, with its answer or at the end of the input; the committed
// configuration (the head revision and its file) does not change, since only
// commit makes a revision; and the candidate it leaves still passes the store's
// Validate and encodes.
func FuzzDialogs(f *testing.F) {
	clock := func() time.Time { return time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC) }
	ctx := context.Background()
	template := afero.NewMemMapFs()
	if _, err := store.Open(ctx, template, store.Options{Locker: new(store.MutexLocker), Now: clock, User: "admin", Hostname: "esa.test", DemoSeed: []byte("segcli fuzz")}); err != nil {
		f.Fatal(err)
	}
	_, resolver := dnstest.Start(f, dnstest.Options{Zone: fuzzZone})
	noResolvConf := filepath.Join(f.TempDir(), "no-resolv.conf")
	refuse := func(ctx context.Context, network, addr, host string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused (fuzz)")}
	}
	for _, s := range []struct{ name, answers string }{
		{"sethostname", "bad_name\nmail.example.test\n"},
		{"destconfig", "new\nexample.com\n5\nY\n10\n100\nN\nN\n1\n3\n2\n2\nN\n\n"},
		{"destconfig", "frob\nnew\n*.example.com\n192.0.2.1\nlocalhost\nexample.com\n9\n"},
		{"destconfig", "default\n\n\n\n\n\n\n\n\n\n\n\n\n"},
		{"destconfig", "setup\n"},
		{"smtproutes", "new\nexample.com\nmx1.example.net/10, [2001:db8::25]:2525\nlist\n\n"},
		{"certconfig", "certificate\nnew\nfuzz\nmail.example.test\n\n\n\n\n\n\n1\n2\n1\n\n\n"},
		{"certconfig", "certauthority\nsystem\nN\n\n\n"},
		{"certconfig", "certificate\npaste\nx\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n.\n"},
		{"dnsconfig", "new\n127.0.0.1\n53\nY\n\n"},
		{"dnsconfig", "setup\n2\n"},
		{"clear", "Y\n"},
		{"mtastscache", "list\nshow\nexample.test\nflush\nexample.test\n\n"},
		{"loglevel", "5\n"},
		{"daneverify", "example.test\n"},
		{"mtastsverify", "example.test\n"},
		{"tlsverify", "example.test\nmx.example.test:26\n"},
		{"telnet", "127.0.0.1\n25\n"},
		{"deliver", "a@example.test\nb@example.test\n\n"},
		{"hoststatus", "example.test\n"},
		{"deleterecipients", "1\nexample.test\nY\n"},
	} {
		f.Add(s.name, s.answers)
	}
	f.Fuzz(func(t *testing.T, name, answers string) {
		name = dialogFor(name)
		fsys := copyFs(t, template)
		locker := new(store.MutexLocker)
		backend, err := store.NewFileBackend(fsys, locker)
		if err != nil {
			t.Fatal(err)
		}
		rev, head, err := backend.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sh, err := NewShell(ctx, Options{
			Fs: fsys, Locker: locker, In: shell.NewPlainReader(strings.NewReader(answers), &out),
			Out: &out, Err: &out, Now: clock, User: "admin", Hostname: "esa.test",
			Resolver: resolver, ResolvConf: noResolvConf, Dial: refuse,
		})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, dialogTimeout)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			sh.ExecLine(rctx, name)
		}()
		select {
		case <-done:
		case <-time.After(dialogTimeout + time.Second):
			t.Fatalf("%s with answers %q did not return within %v; screen so far:\n%s", name, answers, dialogTimeout, screenTail(out.String()))
		}
		if rctx.Err() != nil {
			t.Fatalf("%s with answers %q ran into the %v bound; screen:\n%s", name, answers, dialogTimeout, screenTail(out.String()))
		}
		sess := sh.Env().Session
		if r, _ := sess.Committed(); r.Number != rev.Number {
			t.Fatalf("%s with answers %q changed the session's committed revision %d to %d", name, answers, rev.Number, r.Number)
		}
		rev2, head2, err := backend.Head(ctx)
		if err != nil || rev2.Number != rev.Number || !bytes.Equal(head, head2) {
			t.Fatalf("%s with answers %q changed the committed configuration (revision %d -> %d, %v)", name, answers, rev.Number, rev2.Number, err)
		}
		cand := sess.Config()
		if err := cand.Validate(); err != nil {
			t.Fatalf("%s with answers %q left a candidate that does not validate: %v; screen:\n%s", name, answers, err, screenTail(out.String()))
		}
		if _, err := store.Marshal(cand); err != nil {
			t.Fatalf("%s with answers %q left a candidate that does not encode: %v", name, answers, err)
		}
	})
}

// tail returns the end of a screen, for failure messages.
func screenTail(s string) string {
	const n = 3000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
