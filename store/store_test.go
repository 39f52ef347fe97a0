package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"
)

var testClock = time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC)

func openDir(t testing.TB, dir string) *Store {
	t.Helper()
	fsys := afero.NewBasePathFs(afero.NewOsFs(), dir)
	st, err := Open(context.Background(), fsys, Options{
		Locker: FileLocker{Path: filepath.Join(dir, "config", ".lock")},
		Now:    func() time.Time { return testClock }, User: "admin", Hostname: "esa.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func session(t testing.TB, st *Store) *Session {
	t.Helper()
	s, err := st.NewSession(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFactoryDefaults(t *testing.T) {
	s := session(t, openDir(t, t.TempDir()))
	r, c := s.Committed()
	if r.Number != 1 || r.Comment != "Factory defaults" {
		t.Errorf("first revision = %+v, want number 1 with the factory comment", r)
	}
	if c.Hostname != "esa.test" || !c.CA.System || !c.DNS.UseResolvConf {
		t.Errorf("factory defaults = %+v", c)
	}
	if len(c.Certificates) != 1 || c.Certificates[0].Name != "Demo" || c.Destinations.Certificate != "Demo" {
		t.Fatalf("factory certificates = %+v, want the Demo certificate selected", c.Certificates)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("factory defaults do not validate: %v", err)
	}
	key, err := s.Key(context.Background(), c.Certificates[0].Key)
	if err != nil || !strings.Contains(string(key), "PRIVATE KEY") {
		t.Fatalf("demo key: %v", err)
	}
	if pending, _ := s.Pending(); pending {
		t.Error("a new session has pending changes")
	}
}

func TestCommitClearRollback(t *testing.T) {
	ctx := context.Background()
	s := session(t, openDir(t, t.TempDir()))
	for i, name := range []string{"a.test", "b.test", "c.test"} {
		c := s.Edit()
		c.Hostname = name
		s.Set(c)
		if pending, _ := s.Pending(); !pending {
			t.Fatalf("after edit %d: nothing pending", i)
		}
		r, err := s.Commit(ctx, "set "+name, true)
		if err != nil {
			t.Fatal(err)
		}
		if r.Number != i+2 {
			t.Errorf("commit %d made revision %d, want %d", i, r.Number, i+2)
		}
	}
	hist, err := s.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range hist {
		got = append(got, fmt.Sprintf("%d %s", r.Number, r.Comment))
	}
	want := []string{"4 set c.test", "3 set b.test", "2 set a.test", "1 Factory defaults"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	if err := s.Rollback(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if s.Config().Hostname != "a.test" {
		t.Errorf("after rollback to 2: hostname %q, want a.test", s.Config().Hostname)
	}
	if _, c := s.Committed(); c.Hostname != "c.test" {
		t.Errorf("rollback changed the committed configuration: %q", c.Hostname)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Config().Hostname != "c.test" {
		t.Errorf("after clear: hostname %q, want c.test", s.Config().Hostname)
	}
}

func TestHistoryKeepsTen(t *testing.T) {
	ctx := context.Background()
	s := session(t, openDir(t, t.TempDir()))
	for i := 0; i < 15; i++ {
		c := s.Edit()
		c.Hostname = fmt.Sprintf("h%d.test", i)
		s.Set(c)
		if _, err := s.Commit(ctx, "", i%5 != 4); err != nil { // every fifth is not saved
			t.Fatal(err)
		}
	}
	hist, err := s.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != MaxSaved {
		t.Fatalf("History has %d entries, want %d", len(hist), MaxSaved)
	}
	// Revisions 2..16; unsaved: 6, 11, 16. Newest ten saved: 15,14,13,12,10,9,8,7,5,4.
	var got []int
	for _, r := range hist {
		got = append(got, r.Number)
	}
	if diff := cmp.Diff([]int{15, 14, 13, 12, 10, 9, 8, 7, 5, 4}, got); diff != "" {
		t.Errorf("saved revisions (-want +got):\n%s", diff)
	}
}

func TestConflictKeepsCandidate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := session(t, openDir(t, dir)), session(t, openDir(t, dir))
	ca := a.Edit()
	ca.Hostname = "first.test"
	a.Set(ca)
	cb := b.Edit()
	cb.Hostname = "second.test"
	b.Set(cb)
	if _, err := a.Commit(ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	_, err := b.Commit(ctx, "b", true)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second commit: err = %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), "revision 2 was committed by admin") {
		t.Errorf("conflict message %q does not say who committed what", err)
	}
	if b.Config().Hostname != "second.test" {
		t.Error("the refused session lost its candidate")
	}
	if err := b.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Config().Hostname != "first.test" {
		t.Errorf("after clear: %q, want the newest revision", b.Config().Hostname)
	}
}

func TestEditDoesNotTouchCandidate(t *testing.T) {
	s := session(t, openDir(t, t.TempDir()))
	c := s.Edit()
	c.Destinations.Default.MaxConcurrency = Int(7)
	c.Destinations.Entries = append(c.Destinations.Entries, Destination{Domain: "x.test"})
	c.Certificates[0].Name = "Changed"
	if *s.Config().Destinations.Default.MaxConcurrency != DefaultConcurrency ||
		len(s.Config().Destinations.Entries) != 0 || s.Config().Certificates[0].Name != "Demo" {
		t.Fatal("editing the copy changed the candidate")
	}
}

func TestUnmarshalRefusesUnknownKeys(t *testing.T) {
	_, err := Unmarshal([]byte("hostname = \"a.test\"\nhostnme = \"typo\"\n"))
	if err == nil || !strings.Contains(err.Error(), "hostnme") {
		t.Fatalf("Unmarshal with a typo: err = %v, want it named", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	s := session(t, openDir(t, t.TempDir()))
	c := s.Edit()
	c.Destinations.Entries = []Destination{{Domain: "example.com", TLS: "preferred", MTASTS: "on", MaxConcurrency: Int(10)}}
	c.Routes = []Route{{Domain: "r.test", Hosts: []RouteHost{{Host: "relay.test", Port: 25, Priority: 0}}}}
	c.DNS.Servers = []DNSServer{{Address: "127.0.0.1", Port: 53, Trusted: true}}
	data, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"factory", func(*Config) {}, ""},
		{"bad hostname", func(c *Config) { c.Hostname = "bad_host" }, "hostname"},
		{"bad tls", func(c *Config) { c.Destinations.Default.TLS = "maybe" }, "tls"},
		{"concurrency range", func(c *Config) { c.Destinations.Default.MaxConcurrency = Int(1001) }, "max_host_concurrency"},
		{"duplicate entry", func(c *Config) {
			c.Destinations.Entries = []Destination{{Domain: "a.test"}, {Domain: "a.test"}}
		}, "twice"},
		{"missing certificate", func(c *Config) { c.Destinations.Certificate = "Nope" }, "not configured"},
		{"bad profile name", func(c *Config) { c.Certificates[0].Name = "a b" }, "Symbols are not allowed."},
	}
	base := session(t, openDir(t, t.TempDir())).Config()
	for _, tt := range tests {
		c := base.Clone()
		tt.edit(c)
		err := c.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: Validate() = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"change", "a\nb\nc\n", "a\nB\nc\n", "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"add at end", "a\n", "a\nb\n", "--- x\n+++ y\n@@ -1 +1,2 @@\n a\n+b\n"},
		{"remove all", "a\n", "", "--- x\n+++ y\n@@ -1 +0,0 @@\n-a\n"},
		{"two hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n", "1\nX\n3\n4\n5\n6\n7\n8\n9\nY\n11\n",
			"--- x\n+++ y\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -7,5 +7,5 @@\n 7\n 8\n 9\n-10\n+Y\n 11\n"},
	}
	for _, tt := range tests {
		if got := Diff(tt.a, tt.b, "x", "y"); got != tt.want {
			t.Errorf("%s: Diff = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDemoSeedIsReproducible(t *testing.T) {
	open := func(seed []byte) string {
		st, err := Open(context.Background(), afero.NewMemMapFs(), Options{Now: func() time.Time { return testClock }, DemoSeed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return session(t, st).Config().Certificates[0].CertPEM
	}
	if a, b := open([]byte("x")), open([]byte("x")); a != b {
		t.Error("the same seed gave two different demonstration certificates")
	}
	if a, b := open(nil), open(nil); a == b {
		t.Error("without a seed two data directories got the same demonstration certificate")
	}
}
