package mtasts

import (
	"errors"
	"path"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/atomicfile"
)

// diskCache returns a FileCache in a real temporary directory, and a
// function that opens another FileCache on the same directory (a restart).
func diskCache(t testing.TB) (*FileCache, func() *FileCache) {
	fsys := afero.NewBasePathFs(afero.NewOsFs(), t.TempDir())
	return NewFileCache(fsys, "mtasts"), func() *FileCache { return NewFileCache(fsys, "mtasts") }
}

// TestFileCacheScenarios: the cache acceptance tests of issue 6, on disk.
func TestFileCacheScenarios(t *testing.T) {
	tests := []struct {
		name     string
		txt      string // after the restart
		site     site   // after the restart
		advance  time.Duration
		want     Action
		wantMX   string
		wantHits int // after the restart
	}{
		{name: "c48 restart keeps the policy: same id, no fetch §10.2", txt: "v=STSv1; id=r1;", site: live500,
			want: Apply, wantMX: "mx-new.d.test", wantHits: 0},
		{name: "c48 restart keeps the policy through a TXT failure (c14)", txt: "SERVFAIL", site: live500,
			want: Apply, wantMX: "mx-new.d.test", wantHits: 0},
		{name: "c43 id change with a failing fetch keeps the old policy §3.3", txt: "v=STSv1; id=r2;", site: live500,
			want: Apply, wantMX: "mx-new.d.test", wantHits: 1},
		{name: "c44 c45 expired cache and no live policy: nothing applies §5.1", txt: "v=STSv1; id=r2;", site: live500, advance: 25 * time.Hour,
			want: NoPolicy, wantHits: 1},
		{name: "c45 expired cache and no TXT record: nothing applies §5.1", txt: "", site: live500, advance: 25 * time.Hour,
			want: NoPolicy, wantHits: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			first, reopen := diskCache(t)
			w.domain("d.test", "v=STSv1; id=r1;", liveEnforce)
			cfg := w.config()
			cfg.Cache = first
			if res, err := w.engine(cfg).Policy(t.Context(), "d.test"); err != nil || res.Action != Apply {
				t.Fatalf("first Policy() = %v, %v", res.Action, err)
			}

			// A new process: new engine, new cache on the same directory.
			w.web.set("d.test", tt.site)
			w.web.mu.Lock()
			w.web.hits = map[string]int{}
			w.web.mu.Unlock()
			publish(w, "d.test", tt.txt)
			w.clock.Advance(tt.advance)
			cfg.Cache = reopen()
			res, err := w.engine(cfg).Policy(t.Context(), "d.test")
			if err != nil || res.Action != tt.want {
				t.Fatalf("Policy() after the restart = %v (%s), %v; want %v", res.Action, res.Reason, err, tt.want)
			}
			if tt.want == Apply && (res.Source != SourceCache || res.Policy.MX[0] != tt.wantMX) {
				t.Errorf("applied %s policy with mx %v, want the cached one with %s", res.Source, res.Policy.MX, tt.wantMX)
			}
			if n := w.web.hitCount("d.test"); n != tt.wantHits {
				t.Errorf("policy host asked %d times after the restart, want %d", n, tt.wantHits)
			}
		})
	}
}

// TestFileCache: the file backend itself.
func TestFileCache(t *testing.T) {
	c, reopen := diskCache(t)
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p, _, err := ParsePolicy(rfcExample)
	if err != nil {
		t.Fatal(err)
	}
	a := Entry{Domain: "a.test", ID: "1", Text: rfcExample, Policy: p, FetchedAt: now, ExpiresAt: now.Add(time.Hour), LastUsed: now}
	b := a
	b.Domain, b.ID = "b.test", "2"

	if _, ok, err := c.Get(ctx, "a.test"); ok || err != nil {
		t.Fatalf("Get on an empty cache = %v, %v", ok, err)
	}
	if l, err := c.List(ctx); len(l) != 0 || err != nil {
		t.Fatalf("List on an empty cache = %v, %v", l, err)
	}
	for _, e := range []Entry{b, a} {
		if err := c.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := reopen().Get(ctx, "a.test")
	if err != nil || !ok {
		t.Fatalf("Get after reopen = %v, %v", ok, err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("entry after reopen (-want +got):\n%s", diff)
	}
	list, err := reopen().List(ctx)
	if err != nil || len(list) != 2 || list[0].Domain != "a.test" || list[1].Domain != "b.test" {
		t.Errorf("List = %v, %v; want a.test, b.test", list, err)
	}

	// Another process replaces a.test's file: the next Get sees it.
	other := reopen()
	a2 := a
	a2.ID = "3"
	if err := other.Put(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := c.Get(ctx, "a.test"); got.ID != "3" {
		t.Errorf("Get after another writer = id %s, want 3", got.ID)
	}

	// A corrupt file is an error for Get and left out of List.
	if err := afero.WriteFile(c.fs, path.Join("mtasts", "b.test.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reopen().Get(ctx, "b.test"); err == nil {
		t.Errorf("Get of a corrupt file: no error")
	}
	if list, err := reopen().List(ctx); err == nil || len(list) != 1 {
		t.Errorf("List with a corrupt file = %d entries, %v; want 1 and an error", len(list), err)
	}
	// A file whose policy text no longer parses is corrupt too.
	if err := afero.WriteFile(c.fs, path.Join("mtasts", "b.test.json"), []byte(`{"domain":"b.test","text":"garbage"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reopen().Get(ctx, "b.test"); !errors.Is(err, ErrInvalidPolicy) {
		t.Errorf("Get of an entry with a bad policy = %v, want ErrInvalidPolicy", err)
	}

	// Temporary files a crash left behind are removed by List.
	tmp := path.Join("mtasts", ".c.test.json.tmp-0123456789ab")
	if err := afero.WriteFile(c.fs, tmp, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := time.Now().Add(-2 * atomicfile.StaleAfter) // older than any write in progress
	if err := c.fs.Chtimes(tmp, stale, stale); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx); err == nil {
		t.Log("(b.test still corrupt)")
	}
	if ok, _ := afero.Exists(c.fs, tmp); ok {
		t.Errorf("List left %s", tmp)
	}

	if err := c.Delete(ctx, "a.test"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := reopen().Get(ctx, "a.test"); ok {
		t.Errorf("a.test still there after Delete")
	}
	if err := c.Delete(ctx, "never.test"); err != nil {
		t.Errorf("Delete of a missing entry = %v", err)
	}
}

// TestFileCacheBadNames: names that cannot be a file in the cache are
// refused and change nothing.
func TestFileCacheBadNames(t *testing.T) {
	c, _ := diskCache(t)
	for _, name := range []string{"", "../etc", "a/b", ".hidden", "a..b", "x y"} {
		if err := c.Put(t.Context(), Entry{Domain: name, Text: rfcExample}); !errors.Is(err, errBadDomain) {
			t.Errorf("Put(%q) = %v, want errBadDomain", name, err)
		}
		if _, _, err := c.Get(t.Context(), name); !errors.Is(err, errBadDomain) {
			t.Errorf("Get(%q) = %v, want errBadDomain", name, err)
		}
	}
	if l, _ := c.List(t.Context()); len(l) != 0 {
		t.Errorf("List after bad names = %v", l)
	}
}

// TestMemoryCache: the memory backend returns copies.
func TestMemoryCache(t *testing.T) {
	var c MemoryCache
	p, _, _ := ParsePolicy(rfcExample)
	if err := c.Put(t.Context(), Entry{Domain: "a.test", Policy: p}); err != nil {
		t.Fatal(err)
	}
	got, _, _ := c.Get(t.Context(), "a.test")
	got.Policy.MX[0] = "changed"
	again, _, _ := c.Get(t.Context(), "a.test")
	if again.Policy.MX[0] != "mail.example.com" {
		t.Errorf("a caller's change reached the cache: %v", again.Policy.MX)
	}
	if err := c.Delete(t.Context(), "a.test"); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.List(t.Context()); len(l) != 0 {
		t.Errorf("List after Delete = %v", l)
	}
}
