// Package faultfs is an afero.Fs that injects the file system faults a data
// directory meets in the field, for tests of the code that writes to it:
//
//   - a full disk: after a budget of bytes, a write writes what still fits and
//     fails with ENOSPC, as write(2) does; creating a directory fails too;
//   - a read-only file system: every create, write, truncate, rename, remove,
//     mkdir and attribute change fails with EROFS, as on a file system mounted
//     (or remounted) read-only, including writes to files opened before;
//   - a single failure: the n-th write, sync, rename, close of a written file,
//     or create fails with ErrInjected, so that a test can fail each step of
//     an operation in turn.
//
// Tests run as root, for whom permission bits do not make a directory
// read-only: the wrapper does what chmod cannot. An FS is safe for concurrent
// use; faults can be switched on and off while files are open.
package faultfs

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/afero"
)

// ErrInjected is the error of a FailAt fault.
var ErrInjected = errors.New("faultfs: injected fault")

// FS wraps an afero.Fs with faults. The zero configuration (from New) injects
// none.
type FS struct {
	afero.Fs

	mu       sync.Mutex
	readOnly bool
	limited  bool  // a disk budget is set
	space    int64 // bytes that still fit when limited
	written  int64 // bytes written through the FS
	failAt   int   // fail the failAt-th counted operation (0: never)
	count    int   // counted operations since FailAt
	failed   string
}

// New returns fs with no fault switched on.
func New(fs afero.Fs) *FS { return &FS{Fs: fs} }

// SetReadOnly switches the read-only fault on or off.
func (f *FS) SetReadOnly(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readOnly = on
}

// SetSpace makes the disk full after n more bytes; a negative n removes the
// limit.
func (f *FS) SetSpace(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limited, f.space = n >= 0, n
}

// FailAt makes the n-th counted operation from now on fail with ErrInjected
// (0 switches the fault off). Counted are: creates (OpenFile with O_CREATE),
// writes, syncs, closes of files opened for writing or synced (a directory's
// too), and renames.
func (f *FS) FailAt(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.count, f.failed = n, 0, ""
}

// Failed names the operation a FailAt fault failed ("" when none did yet).
func (f *FS) Failed() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// Counted returns how many operations were counted since FailAt.
func (f *FS) Counted() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// Written returns the number of bytes written through the FS so far.
func (f *FS) Written() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written
}

// Clear switches every fault off.
func (f *FS) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readOnly, f.limited, f.failAt, f.count = false, false, 0, 0
}

// counted counts an operation and returns ErrInjected when it is the one to
// fail.
func (f *FS) counted(op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAt == 0 {
		return nil
	}
	f.count++
	if f.count == f.failAt {
		f.failed = op + " " + name
		return &os.PathError{Op: op, Path: name, Err: ErrInjected}
	}
	return nil
}

// rofs returns the EROFS error of op when the FS is read-only.
func (f *FS) rofs(op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readOnly {
		return &os.PathError{Op: op, Path: name, Err: syscall.EROFS}
	}
	return nil
}

// check is a mutation of name: read-only fault, then the counted one.
func (f *FS) check(op, name string, count bool) error {
	if err := f.rofs(op, name); err != nil {
		return err
	}
	if count {
		return f.counted(op, name)
	}
	return nil
}

// take reserves up to n bytes of the disk budget and reports how many fit.
func (f *FS) take(n int) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.limited || int64(n) <= f.space {
		if f.limited {
			f.space -= int64(n)
		}
		f.written += int64(n)
		return n, true
	}
	fit := int(f.space)
	f.space = 0
	f.written += int64(fit)
	return fit, false
}

// full reports whether no byte fits any more.
func (f *FS) full() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limited && f.space <= 0
}

const writeFlags = os.O_WRONLY | os.O_RDWR | os.O_CREATE | os.O_TRUNC | os.O_APPEND

// Create creates name for writing.
func (f *FS) Create(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// OpenFile opens name; opening for writing fails on a read-only FS.
func (f *FS) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if flag&writeFlags != 0 {
		if err := f.check("open", name, flag&os.O_CREATE != 0); err != nil {
			return nil, err
		}
	}
	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &File{File: file, fs: f, name: name, writable: flag&(os.O_WRONLY|os.O_RDWR) != 0}, nil
}

// Open opens name for reading. It is not counted (a directory is opened
// this way to be synced: its Sync and Close are).
func (f *FS) Open(name string) (afero.File, error) {
	file, err := f.Fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &File{File: file, fs: f, name: name}, nil
}

// Mkdir fails on a read-only or full FS.
func (f *FS) Mkdir(name string, perm os.FileMode) error {
	if err := f.check("mkdir", name, false); err != nil {
		return err
	}
	if f.full() {
		return &os.PathError{Op: "mkdir", Path: name, Err: syscall.ENOSPC}
	}
	return f.Fs.Mkdir(name, perm)
}

// MkdirAll succeeds when the directory exists, as os.MkdirAll does; creating
// one fails on a read-only or full FS.
func (f *FS) MkdirAll(name string, perm os.FileMode) error {
	if fi, err := f.Fs.Stat(name); err == nil && fi.IsDir() {
		return nil
	}
	if err := f.check("mkdir", name, false); err != nil {
		return err
	}
	if f.full() {
		return &os.PathError{Op: "mkdir", Path: name, Err: syscall.ENOSPC}
	}
	return f.Fs.MkdirAll(name, perm)
}

// Remove fails on a read-only FS.
func (f *FS) Remove(name string) error {
	if err := f.check("remove", name, false); err != nil {
		return err
	}
	return f.Fs.Remove(name)
}

// RemoveAll fails on a read-only FS.
func (f *FS) RemoveAll(name string) error {
	if err := f.check("remove", name, false); err != nil {
		return err
	}
	return f.Fs.RemoveAll(name)
}

// Rename fails on a read-only FS, and is counted.
func (f *FS) Rename(from, to string) error {
	if err := f.check("rename", to, true); err != nil {
		return err
	}
	return f.Fs.Rename(from, to)
}

// Chmod fails on a read-only FS.
func (f *FS) Chmod(name string, mode os.FileMode) error {
	if err := f.check("chmod", name, false); err != nil {
		return err
	}
	return f.Fs.Chmod(name, mode)
}

// Chown fails on a read-only FS.
func (f *FS) Chown(name string, uid, gid int) error {
	if err := f.check("chown", name, false); err != nil {
		return err
	}
	return f.Fs.Chown(name, uid, gid)
}

// Chtimes fails on a read-only FS.
func (f *FS) Chtimes(name string, atime, mtime time.Time) error {
	if err := f.check("chtimes", name, false); err != nil {
		return err
	}
	return f.Fs.Chtimes(name, atime, mtime)
}

// Name names the wrapper.
func (f *FS) Name() string { return "faultfs(" + f.Fs.Name() + ")" }

// File is a file opened through an FS.
type File struct {
	afero.File
	fs       *FS
	name     string // as opened (the wrapped file may name it otherwise)
	writable bool   // opened for writing, or synced: its close is counted
}

// Write writes what fits: on a full disk it writes the part that still fits
// and fails with ENOSPC.
func (f *File) Write(p []byte) (int, error) {
	if err := f.fs.check("write", f.name, true); err != nil {
		// A failed write may still have written part of the data.
		if errors.Is(err, ErrInjected) {
			n, _ := f.File.Write(p[:len(p)/2])
			return n, err
		}
		return 0, err
	}
	fit, ok := f.fs.take(len(p))
	n, err := f.File.Write(p[:fit])
	if err != nil {
		return n, err
	}
	if !ok {
		return n, &os.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	return n, nil
}

// WriteAt is Write at an offset.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.check("write", f.name, true); err != nil {
		return 0, err
	}
	fit, ok := f.fs.take(len(p))
	n, err := f.File.WriteAt(p[:fit], off)
	if err != nil {
		return n, err
	}
	if !ok {
		return n, &os.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	return n, nil
}

// WriteString is Write of a string.
func (f *File) WriteString(s string) (int, error) { return f.Write([]byte(s)) }

// Truncate fails on a read-only FS.
func (f *File) Truncate(size int64) error {
	if err := f.fs.check("truncate", f.name, false); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

// Sync is counted.
func (f *File) Sync() error {
	f.writable = true
	if err := f.fs.counted("sync", f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

// Close of a file opened for writing (or synced) is counted; the file is
// closed either way.
func (f *File) Close() error {
	if !f.writable {
		return f.File.Close()
	}
	if err := f.fs.counted("close", f.name); err != nil {
		_ = f.File.Close()
		return err
	}
	return f.File.Close()
}

// String describes the faults switched on, for test logs.
func (f *FS) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("faultfs{readOnly: %v, limited: %v, space: %d, failAt: %d}", f.readOnly, f.limited, f.space, f.failAt)
}
