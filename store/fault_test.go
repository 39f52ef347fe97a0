package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/atomicfile"
)

var errInjected = errors.New("injected fault")

// faultFs fails the n-th write, sync, rename, close, create or directory open it sees
// (counting from 1) once armed.
type faultFs struct {
	afero.Fs
	armed  bool
	count  int
	failAt int
	failed string
}

func (f *faultFs) hit(op string) error {
	if !f.armed {
		return nil
	}
	f.count++
	if f.count == f.failAt {
		f.failed = op
		return fmt.Errorf("%s: %w", op, errInjected)
	}
	return nil
}

func (f *faultFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if flag&os.O_CREATE != 0 {
		if err := f.hit("create " + name); err != nil {
			return nil, err
		}
	}
	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, writable: flag&(os.O_WRONLY|os.O_RDWR) != 0}, nil
}

// Open is used for reads and for syncing a directory; only the latter is faulted
// (a read's close cannot lose data).
func (f *faultFs) Open(name string) (afero.File, error) {
	file, err := f.Fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFs) Rename(from, to string) error {
	if err := f.hit("rename " + to); err != nil {
		return err
	}
	return f.Fs.Rename(from, to)
}

type faultFile struct {
	afero.File
	fs       *faultFs
	writable bool // opened for writing, or synced: its close counts
}

func (f *faultFile) Write(p []byte) (int, error) {
	if err := f.fs.hit("write " + f.Name()); err != nil {
		// A failed write may still have written part of the data.
		n, _ := f.File.Write(p[:len(p)/2])
		return n, err
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	f.writable = true
	if err := f.fs.hit("sync " + f.Name()); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultFile) Close() error {
	if !f.writable {
		return f.File.Close()
	}
	if err := f.fs.hit("close " + f.Name()); err != nil {
		f.File.Close()
		return err
	}
	return f.File.Close()
}

// TestCommitFaults fails each write, sync, rename and close of a commit in turn; the
// store must then reopen at the old or the new revision, never a mix, and a failed
// commit must leave the session able to commit again.
func TestCommitFaults(t *testing.T) {
	ctx := context.Background()
	for failAt := 1; ; failAt++ {
		dir := t.TempDir()
		base := afero.NewBasePathFs(afero.NewOsFs(), dir)
		ffs := &faultFs{Fs: base, failAt: failAt}
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
		ffs.armed = true
		_, cerr := s.Commit(ctx, "change", true)
		ffs.armed = false
		if ffs.failed == "" {
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
			t.Errorf("fault at %s: commit reported success", ffs.failed)
		}
		// Reopen without faults: old or new, readable.
		st2, err := Open(ctx, base, opts)
		if err != nil {
			t.Fatalf("fault at %s: reopen: %v", ffs.failed, err)
		}
		s2 := session(t, st2)
		r, got := s2.Committed()
		switch {
		case r.Number == 1 && got.Hostname == old.Hostname:
		case r.Number == 2 && got.Hostname == "new.test":
			if !errors.Is(cerr, ErrNotDurable) {
				t.Errorf("fault at %s: revision 2 is visible but the commit said %v", ffs.failed, cerr)
			}
		default:
			t.Fatalf("fault at %s: reopened at revision %d hostname %q: a mix", ffs.failed, r.Number, got.Hostname)
		}
		// History must stay readable and never list a revision newer than the head.
		hist, err := s2.History(ctx)
		if err != nil {
			t.Fatalf("fault at %s: history: %v", ffs.failed, err)
		}
		for _, h := range hist {
			if h.Number > r.Number {
				t.Errorf("fault at %s: history lists revision %d beyond head %d", ffs.failed, h.Number, r.Number)
			}
		}
		// The failed session can commit again (unless the fault came after the rename).
		if !errors.Is(cerr, ErrNotDurable) {
			if _, err := s.Commit(ctx, "again", true); err != nil {
				t.Errorf("fault at %s: retry: %v", ffs.failed, err)
			}
		}
		// No temporary files are left for the next reader to trip on after the next commit.
		leftovers, _ := afero.Glob(base, "config/.*"+atomicfile.TmpMarker+"*")
		if len(leftovers) > 0 && !errors.Is(cerr, ErrNotDurable) {
			t.Errorf("fault at %s: temp files left after a successful retry: %v", ffs.failed, leftovers)
		}
	}
}
