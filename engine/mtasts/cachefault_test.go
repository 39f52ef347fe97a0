package mtasts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/atomicfile"
	"github.com/segcli/segcli/internal/faultfs"
)

// faultCache returns a FileCache in a real directory through a faultfs (no fault
// on) and the directory.
func faultCache(t *testing.T) (*FileCache, *faultfs.FS, string) {
	t.Helper()
	dir := t.TempDir()
	ffs := faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), dir))
	return NewFileCache(ffs, "mtasts"), ffs, dir
}

// cacheFiles returns the files of the cache directory with their content.
func cacheFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(filepath.Join(dir, "mtasts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "mtasts", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// cacheFaults are the disk faults of the tests below; the budgets cut the new
// entry's file before its first byte and in its middle.
var cacheFaults = []struct {
	name string
	set  func(*faultfs.FS)
	want error
}{
	{"disk full", func(f *faultfs.FS) { f.SetSpace(0) }, syscall.ENOSPC},
	{"disk full mid-file", func(f *faultfs.FS) { f.SetSpace(200) }, syscall.ENOSPC},
	{"read-only", func(f *faultfs.FS) { f.SetReadOnly(true) }, syscall.EROFS},
}

// TestFileCachePutFaults: a Put that cannot be written returns the error, leaves
// the old entry's file byte for byte (no temp or half file), and Get, from this
// cache and from a new process's, still returns the old entry.
func TestFileCachePutFaults(t *testing.T) {
	old := Entry{Domain: "d.test", ID: "r1", Text: policyText(ModeEnforce, 86400, "mx-old.d.test"),
		FetchedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}
	old.Policy, _, _ = ParsePolicy(old.Text)
	next := old
	next.ID, next.Text = "r2", policyText(ModeEnforce, 86400, "mx-new.d.test", "mx-second.d.test")
	next.Policy, _, _ = ParsePolicy(next.Text)
	for _, tt := range cacheFaults {
		t.Run(tt.name, func(t *testing.T) {
			c, ffs, dir := faultCache(t)
			ctx := t.Context()
			if err := c.Put(ctx, old); err != nil {
				t.Fatal(err)
			}
			before := cacheFiles(t, dir)
			tt.set(ffs)
			if err := c.Put(ctx, next); !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "mtasts: cache: ") {
				t.Fatalf("Put under %s = %v, want %v", tt.name, err, tt.want)
			}
			if got := cacheFiles(t, dir); len(got) != len(before) || got["d.test.json"] != before["d.test.json"] {
				t.Fatalf("the failed Put changed the cache directory: %v, want only the old entry", keys(got))
			}
			for name, cache := range map[string]*FileCache{"same cache": c, "new process": NewFileCache(afero.NewBasePathFs(afero.NewOsFs(), dir), "mtasts")} {
				e, ok, err := cache.Get(ctx, "d.test")
				if err != nil || !ok || e.ID != "r1" || len(e.Policy.MX) != 1 || e.Policy.MX[0] != "mx-old.d.test" {
					t.Errorf("%s: Get after the failed Put = %+v, %v, %v; want the old entry", name, e, ok, err)
				}
			}
			ffs.Clear()
			if err := c.Put(ctx, next); err != nil {
				t.Fatalf("Put once the fault is gone: %v", err)
			}
			if e, _, _ := c.Get(ctx, "d.test"); e.ID != "r2" {
				t.Errorf("after the retried Put: id %q, want r2", e.ID)
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCacheWriteFaultsKeepDelivering: when the policy cache cannot be written, the
// delivery decision still uses the policy just fetched (RFC 8461 §5: the policy
// applies; the cache only saves a fetch), the failure is in the mail log, and the
// old entry on disk stays whole, so that a restart applies it until it expires
// (§5.1). A cached policy whose last-used time cannot be written still applies.
func TestCacheWriteFaultsKeepDelivering(t *testing.T) {
	for _, tt := range cacheFaults {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			c, ffs, dir := faultCache(t)
			w.domain("d.test", "v=STSv1; id=r1;", liveEnforce)
			cfg := w.config()
			cfg.Cache = c
			e := w.engine(cfg)
			if res, err := e.Policy(t.Context(), "d.test"); err != nil || res.Action != Apply {
				t.Fatalf("first Policy() = %v, %v", res.Action, err)
			}
			before := cacheFiles(t, dir)

			// A new policy is published under a new id while the disk is faulty.
			w.web.set("d.test", site{body: policyText(ModeEnforce, 86400, "mx-r2.d.test")})
			publish(w, "d.test", "v=STSv1; id=r2;")
			w.log.Reset()
			tt.set(ffs)
			res, err := e.Policy(t.Context(), "d.test")
			if err != nil || !res.Enforced() || res.ID != "r2" || res.Source != SourceFetched || !res.Allows("mx-r2.d.test") || res.Allows("mx-new.d.test") {
				t.Fatalf("Policy() with the cache failing = %+v, %v; want the fetched r2 policy enforced", res, err)
			}
			if !hasLine(w.log, "MTA-STS cache update for the domain (d.test) failed: mtasts: cache: ") {
				t.Errorf("the cache failure is not in the mail log:\n%s", w.log)
			}
			if got := cacheFiles(t, dir); len(got) != 1 || got["d.test.json"] != before["d.test.json"] {
				t.Fatalf("the failed cache write changed the cache directory: %v", keys(got))
			}
			for _, n := range keys(cacheFiles(t, dir)) {
				if strings.Contains(n, atomicfile.TmpMarker) {
					t.Errorf("temp file %s left", n)
				}
			}
			// A restart (new engine and cache, the fault still on, the TXT
			// lookup failing) applies the old entry, whole.
			publish(w, "d.test", "SERVFAIL")
			cfg.Cache = NewFileCache(ffs, "mtasts")
			res, err = w.engine(cfg).Policy(t.Context(), "d.test")
			if err != nil || !res.Enforced() || res.ID != "r1" || res.Source != SourceCache {
				t.Fatalf("Policy() after a restart = %+v, %v; want the cached r1 policy", res, err)
			}
			// A later delivery under the same id, with the last-used time due
			// for a write that fails: the cached policy still applies.
			publish(w, "d.test", "v=STSv1; id=r1;")
			w.clock.Advance(LastUsedGranularity + time.Minute)
			w.log.Reset()
			res, err = w.engine(cfg).Policy(t.Context(), "d.test")
			if err != nil || !res.Enforced() || res.ID != "r1" {
				t.Fatalf("Policy() with the last-used write failing = %+v, %v", res, err)
			}
			if !hasLine(w.log, "MTA-STS cache update for the domain (d.test) failed") {
				t.Errorf("the failed last-used write is not in the mail log:\n%s", w.log)
			}
			// Once the disk is fixed the next fetch is cached.
			ffs.Clear()
			publish(w, "d.test", "v=STSv1; id=r2;")
			if res, err := w.engine(cfg).Policy(t.Context(), "d.test"); err != nil || res.ID != "r2" {
				t.Fatalf("Policy() once the disk is fixed = %+v, %v", res, err)
			}
			if got := cacheFiles(t, dir)["d.test.json"]; !strings.Contains(got, `"id": "r2"`) {
				t.Errorf("the cache file after the fix holds:\n%s", got)
			}
		})
	}
}
