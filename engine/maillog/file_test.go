package maillog

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"
)

var at = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

func clock() time.Time { return at }

func readLines(t *testing.T, fsys afero.Fs, name string) []string {
	t.Helper()
	data, err := afero.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestFileLevels(t *testing.T) {
	fsys := afero.NewMemMapFs()
	l, err := OpenFile(FileConfig{Fs: fsys, Path: DefaultPath, Level: Info, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Logf(Info, "MID %d queued for delivery", 1)
	l.Logf(Debug, "dropped at Info")
	l.SetLevel(Debug)
	if !l.Enabled(Debug) || l.Enabled(Trace) {
		t.Errorf("Enabled at Debug: Debug %v Trace %v", l.Enabled(Debug), l.Enabled(Trace))
	}
	l.Logf(Debug, "kept at Debug")
	l.Logf(Trace, "dropped at Debug")
	l.Logf(Critical, "two\nlines")
	want := []string{
		"Sun Nov 29 13:26:28 2026 Info: MID 1 queued for delivery",
		"Sun Nov 29 13:26:28 2026 Debug: kept at Debug",
		`Sun Nov 29 13:26:28 2026 Critical: two\nlines`,
	}
	if diff := cmp.Diff(want, readLines(t, fsys, DefaultPath)); diff != "" {
		t.Errorf("mail_logs (-want +got):\n%s", diff)
	}
	if err := l.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
}

func TestFileAppendsAcrossOpens(t *testing.T) {
	fsys := afero.NewMemMapFs()
	for i := range 2 {
		l, err := OpenFile(FileConfig{Fs: fsys, Path: "mail_logs", Level: Info, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		l.Logf(Info, "run %d", i)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Sun Nov 29 13:26:28 2026 Info: run 0", "Sun Nov 29 13:26:28 2026 Info: run 1"}
	if diff := cmp.Diff(want, readLines(t, fsys, "mail_logs")); diff != "" {
		t.Errorf("mail_logs (-want +got):\n%s", diff)
	}
}

func TestFileRotation(t *testing.T) {
	fsys := afero.NewMemMapFs()
	line := Format(at, Info, "line 00") + "\n" // every line has this length
	l, err := OpenFile(FileConfig{Fs: fsys, Path: "logs/mail_logs", Level: Info, Now: clock,
		MaxSize: int64(3 * len(line)), Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 10 {
		l.Logf(Info, "line %02d", i)
	}
	// 3 lines per file: 00-02, 03-05 (dropped), 06-08 ... wait: the newest
	// file holds the last line, the two before it the full ones.
	want := map[string][]string{
		"logs/mail_logs":   {"line 09"},
		"logs/mail_logs.1": {"line 06", "line 07", "line 08"},
		"logs/mail_logs.2": {"line 03", "line 04", "line 05"},
	}
	for name, texts := range want {
		var w []string
		for _, s := range texts {
			w = append(w, Format(at, Info, s))
		}
		if diff := cmp.Diff(w, readLines(t, fsys, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if _, err := fsys.Stat("logs/mail_logs.3"); err == nil {
		t.Error("logs/mail_logs.3 exists, Keep is 2")
	}
	if diff := cmp.Diff([]string{"logs/mail_logs.2", "logs/mail_logs.1", "logs/mail_logs"}, Files(fsys, "logs/mail_logs")); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
}

func TestFileRotatedByAnotherProcess(t *testing.T) {
	// A real directory: MemMapFs does not append at the end of a file that
	// another handle has grown.
	fsys := afero.NewBasePathFs(afero.NewOsFs(), t.TempDir())
	line := Format(at, Info, "a 0") + "\n"
	cfg := FileConfig{Fs: fsys, Path: "mail_logs", Level: Info, Now: clock, MaxSize: int64(2 * len(line)), Keep: 3}
	a, err := OpenFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a.Logf(Info, "a 0")
	a.Logf(Info, "a 1")
	b.Logf(Info, "b 0") // b believes the file holds one line
	a.Logf(Info, "a 2") // a rotates
	b.Logf(Info, "b 1") // b must not rotate a second time
	files := Files(fsys, "mail_logs")
	if len(files) != 2 {
		t.Errorf("Files = %v, want mail_logs.1 and mail_logs", files)
	}
	n := 0
	for _, f := range files {
		n += len(readLines(t, fsys, f))
	}
	if n != 5 {
		t.Errorf("%d lines in %v, want 5", n, files)
	}
}

func TestFileConcurrent(t *testing.T) {
	fsys := afero.NewMemMapFs()
	l, err := OpenFile(FileConfig{Fs: fsys, Path: "mail_logs", Level: Trace, Now: clock, MaxSize: 4096, Keep: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				l.Logf(Info, "g%d line %d", g, i)
				if i == 50 && g == 0 {
					l.SetLevel(Debug)
				}
			}
		})
	}
	wg.Wait()
	n := 0
	for _, f := range Files(fsys, "mail_logs") {
		for _, line := range readLines(t, fsys, f) {
			if !strings.HasPrefix(line, "Sun Nov 29 13:26:28 2026 Info: g") {
				t.Fatalf("%s: torn line %q", f, line)
			}
			n++
		}
	}
	if n != 800 {
		t.Errorf("%d lines in the log files, want 800", n)
	}
}

func TestOpenFileBad(t *testing.T) {
	if _, err := OpenFile(FileConfig{}); err == nil {
		t.Error("OpenFile without Fs: no error")
	}
	ro := afero.NewReadOnlyFs(afero.NewMemMapFs())
	if _, err := OpenFile(FileConfig{Fs: ro, Path: "logs/mail_logs"}); err == nil {
		t.Error("OpenFile on a read-only file system: no error")
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    Level
		wantErr bool
	}{
		{"Info", Info, false},
		{"debug", Debug, false},
		{" TRACE ", Trace, false},
		{"critical", Critical, false},
		{"Warning", Warning, false},
		{"verbose", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseLevel(%q) = %v, %v, want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		got  Entry
		want string
	}{
		{NewSMTP(5, "192.0.2.1", "198.51.100.7", 25), "Info: New SMTP DCID 5 interface 192.0.2.1 address 198.51.100.7 port 25"},
		{TLSSuccess(5, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256), "Info: DCID 5 TLS success protocol TLSv1.3 cipher TLS_AES_128_GCM_SHA256"},
		{TLSSuccess(5, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384), "Info: DCID 5 TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384"},
		{TLSDeferring(5, "peer cert does not match domain"), "Warning: DCID 5 TLS deferring: verify error: peer cert does not match domain"},
		{TLSRequired(5), "Warning: DCID 5 TLS was required but could not be successfully negotiated"},
		{TLSFailed(5, "handshake failure"), "Warning: DCID 5 TLS failed: handshake failure"},
		{DeliveryStart(5, 7, []int{0}), "Info: Delivery start DCID 5 MID 7 to RID [0]"},
		{MessageDone(5, 7, []int{0, 1}), "Info: Message done DCID 5 MID 7 to RID [0, 1]"},
		{Response(7, []int{0}, "2.0.0 Ok"), "Info: MID 7 RID [0] Response '2.0.0 Ok'"},
		{Delayed(5, 7, 1, "452 4.2.2 full"), "Info: Delayed: DCID 5 MID 7 to RID [1] - 452 4.2.2 full"},
		{Bounced(0, 7, 0, "5.4.7 expired"), "Info: Bounced: DCID 0 MID 7 to RID [0] - 5.4.7 expired"},
		{Queued(7), "Info: MID 7 queued for delivery"},
		{MessageFinished(7, "done"), "Info: Message finished MID 7 done"},
		{Close(5), "Info: DCID 5 close"},
		{ConnectionError(5, "example.com", "198.51.100.7", 25, "connection refused"),
			"Warning: Connection Error: DCID 5 domain: example.com IP: 198.51.100.7 port: 25 details: connection refused"},
	}
	for _, tt := range tests {
		if got := tt.got.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	m := &Memory{Level: Trace}
	Queued(3).Log(m)
	Entry{Debug, "x"}.Log(nil) // no logger: nothing happens
	if got := m.String(); got != "Info: MID 3 queued for delivery" {
		t.Errorf("Entry.Log wrote %q", got)
	}
}

// countingLocker counts the reservations that took the lock.
type countingLocker struct {
	mu sync.Mutex
	n  int
}

func (l *countingLocker) Lock(ctx context.Context) (func(), error) {
	l.mu.Lock()
	l.n++
	return l.mu.Unlock, nil
}

func TestCountersSurviveRestarts(t *testing.T) {
	ctx := t.Context()
	fsys := afero.NewMemMapFs()
	open := func() *Counters {
		c, err := OpenCounters(CountersConfig{Fs: fsys, Path: DefaultCountersPath, Block: 10})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := open()
	for want := uint64(1); want <= 12; want++ {
		if got, err := c.Next(ctx, MID); got != want || err != nil {
			t.Fatalf("Next(MID) = %d, %v, want %d", got, err, want)
		}
	}
	if got, _ := c.Next(ctx, DCID); got != 1 {
		t.Errorf("first DCID = %d, want 1", got)
	}
	// A restart (or a crash) skips the rest of the reserved block.
	c = open()
	if got, _ := c.Next(ctx, MID); got != 21 {
		t.Errorf("MID after restart = %d, want 21 (the block 11-20 was reserved)", got)
	}
	if got, _ := c.Next(ctx, DCID); got != 11 {
		t.Errorf("DCID after restart = %d, want 11", got)
	}
}

func TestCountersTwoProcesses(t *testing.T) {
	ctx := t.Context()
	fsys := afero.NewMemMapFs()
	lock := &countingLocker{}
	var cs []*Counters
	for range 2 {
		c, err := OpenCounters(CountersConfig{Fs: fsys, Path: "counters.json", Block: 3, Locker: lock})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	seen := map[uint64]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 50 {
				n, err := cs[g%2].Next(ctx, DCID)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("DCID %d handed out twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Errorf("%d numbers, want 200", len(seen))
	}
	if lock.n < 200/3 {
		t.Errorf("%d reservations took the lock, want at least %d", lock.n, 200/3)
	}
}

func TestCountersDamaged(t *testing.T) {
	fsys := afero.NewMemMapFs()
	if err := afero.WriteFile(fsys, "c.json", []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCounters(CountersConfig{Fs: fsys, Path: "c.json"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(t.Context(), MID); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("Next on a damaged file: %v, want a damaged-file error", err)
	}
	ro := afero.NewReadOnlyFs(afero.NewMemMapFs())
	c, err = OpenCounters(CountersConfig{Fs: ro, Path: "c.json"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(t.Context(), MID); err == nil {
		t.Error("Next on a read-only file system: no error")
	}
}

func TestMemoryCounters(t *testing.T) {
	c := NewMemoryCounters()
	var got []uint64
	for range 3 {
		n, err := c.Next(t.Context(), ICID)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("ICIDs %v, want [1 2 3]", got)
	}
}
