package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/atomicfile"
	"github.com/segcli/segcli/internal/faultfs"
)

// TestCommitFaults fails each write, sync, rename and close of a commit in turn; the
// store must then reopen at the old or the new revision, never a mix, and a failed
// commit must leave the session able to commit again.
func TestCommitFaults(t *testing.T) {
	ctx := context.Background()
	for failAt := 1; ; failAt++ {
		dir := t.TempDir()
		base := afero.NewBasePathFs(afero.NewOsFs(), dir)
		ffs := faultfs.New(base)
		opts := Options{Locker: new(MutexLocker), Now: func() time.Time { return testClock }, User: "admin"}
		st, err := Open(ctx, ffs, opts)
		if err != nil {
			t.Fatal(err)
		}
		s := session(t, st)
		_, old := s.Committed()
		c := s.Edit()
		c.Hostname = "new.test"
		s.Set(c)
		ffs.FailAt(failAt)
		_, cerr := s.Commit(ctx, "change", true)
		failed := ffs.Failed()
		ffs.Clear()
		if failed == "" {
			if cerr != nil {
				t.Fatalf("commit without a fault: %v", cerr)
			}
			if failAt < 8 {
				t.Fatalf("a commit makes only %d faultable operations: the test covers nothing", failAt-1)
			}
			t.Logf("covered %d fault points", failAt-1)
			return
		}
		if cerr == nil {
			t.Errorf("fault at %s: commit reported success", failed)
		}
		// Reopen without faults: old or new, readable.
		st2, err := Open(ctx, base, opts)
		if err != nil {
			t.Fatalf("fault at %s: reopen: %v", failed, err)
		}
		s2 := session(t, st2)
		r, got := s2.Committed()
		switch {
		case r.Number == 1 && got.Hostname == old.Hostname:
		case r.Number == 2 && got.Hostname == "new.test":
			if !errors.Is(cerr, ErrNotDurable) {
				t.Errorf("fault at %s: revision 2 is visible but the commit said %v", failed, cerr)
			}
		default:
			t.Fatalf("fault at %s: reopened at revision %d hostname %q: a mix", failed, r.Number, got.Hostname)
		}
		// History must stay readable and never list a revision newer than the head.
		hist, err := s2.History(ctx)
		if err != nil {
			t.Fatalf("fault at %s: history: %v", failed, err)
		}
		for _, h := range hist {
			if h.Number > r.Number {
				t.Errorf("fault at %s: history lists revision %d beyond head %d", failed, h.Number, r.Number)
			}
		}
		// The failed session can commit again (unless the fault came after the rename).
		if !errors.Is(cerr, ErrNotDurable) {
			if _, err := s.Commit(ctx, "again", true); err != nil {
				t.Errorf("fault at %s: retry: %v", failed, err)
			}
		}
		// No temporary files are left for the next reader to trip on after the next commit.
		leftovers, _ := afero.Glob(base, "config/.*"+atomicfile.TmpMarker+"*")
		if len(leftovers) > 0 && !errors.Is(cerr, ErrNotDurable) {
			t.Errorf("fault at %s: temp files left after a successful retry: %v", failed, leftovers)
		}
	}
}
