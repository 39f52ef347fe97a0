package faultfs

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/afero"
)

func newFS(t *testing.T) (*FS, afero.Fs) {
	t.Helper()
	base := afero.NewBasePathFs(afero.NewOsFs(), t.TempDir())
	return New(base), base
}

// TestDiskFull: writes within the budget succeed; the write that crosses it writes
// what fits and fails with ENOSPC (write(2) on a full disk); later writes write
// nothing; mkdir fails; removing the limit lets writes through again.
func TestDiskFull(t *testing.T) {
	f, base := newFS(t)
	f.SetSpace(10)
	file, err := f.OpenFile("a", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := file.Write([]byte("12345")); n != 5 || err != nil {
		t.Fatalf("Write within the budget = %d, %v", n, err)
	}
	n, err := file.Write([]byte("6789abcdef"))
	if n != 5 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write crossing the budget = %d, %v; want 5, ENOSPC", n, err)
	}
	if n, err := file.WriteString("x"); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteString on a full disk = %d, %v", n, err)
	}
	if err := f.Mkdir("d", 0o700); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Mkdir on a full disk = %v, want ENOSPC", err)
	}
	if err := f.MkdirAll("d/e", 0o700); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("MkdirAll on a full disk = %v, want ENOSPC", err)
	}
	f.SetSpace(-1)
	if _, err := file.Write([]byte("!")); err != nil {
		t.Fatalf("Write without a limit: %v", err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := afero.ReadFile(base, "a")
	if string(got) != "123456789a!" {
		t.Errorf("file holds %q, want the bytes that fitted and the last write", got)
	}
	if f.Written() != 11 {
		t.Errorf("Written() = %d, want 11", f.Written())
	}
}

// TestReadOnly: every mutation fails with EROFS, also on a file opened before the
// file system went read-only; reads, stats and MkdirAll of an existing directory
// still work; nothing changed underneath.
func TestReadOnly(t *testing.T) {
	f, base := newFS(t)
	if err := afero.WriteFile(base, "a", []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := base.Mkdir("dir", 0o700); err != nil {
		t.Fatal(err)
	}
	open, err := f.OpenFile("a", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.SetReadOnly(true)
	mutations := map[string]func() error{
		"create":         func() error { _, err := f.Create("new"); return err },
		"open for write": func() error { _, err := f.OpenFile("a", os.O_WRONLY, 0); return err },
		"append":         func() error { _, err := f.OpenFile("a", os.O_WRONLY|os.O_APPEND, 0); return err },
		"write":          func() error { _, err := open.Write([]byte("x")); return err },
		"write at":       func() error { _, err := open.WriteAt([]byte("x"), 0); return err },
		"truncate":       func() error { return open.Truncate(0) },
		"rename":         func() error { return f.Rename("a", "b") },
		"remove":         func() error { return f.Remove("a") },
		"remove all":     func() error { return f.RemoveAll("dir") },
		"mkdir":          func() error { return f.Mkdir("d2", 0o700) },
		"mkdir all":      func() error { return f.MkdirAll("d2/d3", 0o700) },
		"chmod":          func() error { return f.Chmod("a", 0o644) },
		"chown":          func() error { return f.Chown("a", 0, 0) },
		"chtimes":        func() error { return f.Chtimes("a", time.Now(), time.Now()) },
	}
	for name, op := range mutations {
		if err := op(); !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s on a read-only FS = %v, want EROFS", name, err)
		}
	}
	if got, err := afero.ReadFile(f, "a"); err != nil || string(got) != "old" {
		t.Errorf("read on a read-only FS = %q, %v", got, err)
	}
	if err := f.MkdirAll("dir", 0o700); err != nil {
		t.Errorf("MkdirAll of an existing directory on a read-only FS = %v, want nil", err)
	}
	if ok, _ := afero.Exists(base, "new"); ok {
		t.Error("a create on the read-only FS made a file underneath")
	}
	f.SetReadOnly(false)
	if err := f.Rename("a", "b"); err != nil {
		t.Errorf("rename after the FS became writable again: %v", err)
	}
	_ = open.Close()
}

// TestFailAt: the n-th counted operation fails once with ErrInjected; a failed
// write may have written half its data; the count covers creates, writes, syncs,
// closes of written files and renames, not reads.
func TestFailAt(t *testing.T) {
	steps := func(f *FS) error {
		file, err := f.OpenFile("t", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // 1
		if err != nil {
			return err
		}
		if _, err := file.Write([]byte("data")); err != nil { // 2
			file.Close()
			return err
		}
		if err := file.Sync(); err != nil { // 3
			file.Close()
			return err
		}
		if err := file.Close(); err != nil { // 4
			return err
		}
		if _, err := afero.ReadFile(f, "t"); err != nil { // not counted
			return err
		}
		return f.Rename("t", "final") // 5
	}
	wantFailed := []string{"open t", "write t", "sync t", "close t", "rename final"}
	for n := 1; n <= 6; n++ {
		f, base := newFS(t)
		f.FailAt(n)
		err := steps(f)
		if n == 6 {
			if err != nil || f.Failed() != "" || f.Counted() != 5 {
				t.Errorf("FailAt(6): %v, failed %q, counted %d; want no fault in 5 operations", err, f.Failed(), f.Counted())
			}
			continue
		}
		if !errors.Is(err, ErrInjected) || f.Failed() != wantFailed[n-1] {
			t.Errorf("FailAt(%d) = %v, failed %q; want ErrInjected at %q", n, err, f.Failed(), wantFailed[n-1])
		}
		if n == 2 {
			if got, _ := afero.ReadFile(base, "t"); string(got) != "da" {
				t.Errorf("failed write left %q, want half the data", got)
			}
		}
	}
}

// TestClear switches every fault off.
func TestClear(t *testing.T) {
	f, _ := newFS(t)
	f.SetReadOnly(true)
	f.SetSpace(0)
	f.FailAt(1)
	f.Clear()
	if err := afero.WriteFile(f, "a", []byte("x"), 0o600); err != nil {
		t.Errorf("write after Clear: %v", err)
	}
}

// TestConcurrent: the budget is shared by concurrent writers and never
// over-spent (run with -race).
func TestConcurrent(t *testing.T) {
	f, base := newFS(t)
	f.SetSpace(1000)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			file, err := f.Create(string(rune('a' + i)))
			if err != nil {
				t.Error(err)
				return
			}
			defer file.Close()
			for range 50 {
				if _, err := file.Write([]byte("0123456789")); err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	var total int64
	infos, _ := afero.ReadDir(base, ".")
	for _, fi := range infos {
		total += fi.Size()
	}
	if total != 1000 || f.Written() != 1000 {
		t.Errorf("%d bytes on disk, %d counted; want exactly the budget of 1000", total, f.Written())
	}
}
