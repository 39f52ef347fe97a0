// Package atomicfile replaces files so that a reader, or a restart after a crash at any
// moment, sees the old content or the new one, never a mix: temp file in the same
// directory, write, fsync, close (checked), rename, fsync of the directory.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/spf13/afero"
)

// TmpMarker is part of every temporary file name, so that files a crash left behind
// can be recognised (RemoveTemps).
const TmpMarker = ".tmp-"

// ErrSyncDir marks a failure after the rename: the new file is in place, but the
// directory entry may not be on disk yet.
var ErrSyncDir = errors.New("sync directory")

// Write replaces name with data (mode perm), durably: when it returns, the new
// content is on disk.
func Write(fs afero.Fs, name string, data []byte, perm os.FileMode) error {
	return replace(fs, name, data, perm, true)
}

// WriteUnsynced replaces name with data (mode perm) as Write does for readers
// and for a crash of the process (they see the old content or the new one),
// but does not wait for the disk: after a power failure or a crash of the
// system the file may be old, missing or empty. It is for caches, where such a
// loss costs one lookup again and a damaged file reads as a miss, and where
// two disk flushes per entry would bound how many entries a second can be
// written.
func WriteUnsynced(fs afero.Fs, name string, data []byte, perm os.FileMode) error {
	return replace(fs, name, data, perm, false)
}

func replace(fs afero.Fs, name string, data []byte, perm os.FileMode, durable bool) (err error) {
	dir, base := path.Split(name)
	if dir == "" {
		dir = "."
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("temp name: %w", err)
	}
	tmp := path.Join(dir, "."+base+TmpMarker+hex.EncodeToString(rnd[:]))
	f, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return wrap("create", tmp, err)
	}
	defer func() {
		if err != nil && !errors.Is(err, ErrSyncDir) {
			_ = fs.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return wrap("write", tmp, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			_ = f.Close()
			return wrap("sync", tmp, err)
		}
	}
	if err := f.Close(); err != nil {
		return wrap("close", tmp, err)
	}
	if err := fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("rename %s: %w", name, err)
	}
	if !durable {
		return nil
	}
	return SyncDir(fs, dir)
}

// wrap names the operation and file of err, unless err already does (an
// *fs.PathError from the file system names both).
func wrap(op, name string, err error) error {
	var pe *iofs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, name, err)
}

// SyncDir makes a rename in dir durable. Its errors wrap ErrSyncDir.
func SyncDir(fs afero.Fs, dir string) error {
	d, err := fs.Open(dir)
	if err != nil {
		return fmt.Errorf("%w %s: %w", ErrSyncDir, dir, err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil && !errors.Is(serr, os.ErrInvalid) {
		return fmt.Errorf("%w %s: %w", ErrSyncDir, dir, serr)
	}
	if cerr != nil {
		return fmt.Errorf("%w %s (close): %w", ErrSyncDir, dir, cerr)
	}
	return nil
}

// StaleAfter is how long a temporary file must have been left untouched before
// RemoveTemps takes it for a crashed writer's: a write in progress (in this process or
// another sharing the directory) touches its file within milliseconds.
const StaleAfter = time.Minute

// RemoveTemps removes the temporary files a crashed writer left in dir: those not
// modified for StaleAfter. It never removes the file of a write in progress.
func RemoveTemps(fs afero.Fs, dir string) {
	infos, err := afero.ReadDir(fs, dir)
	if err != nil {
		return
	}
	now := time.Now()
	for _, fi := range infos {
		if !fi.IsDir() && strings.HasPrefix(fi.Name(), ".") && strings.Contains(fi.Name(), TmpMarker) &&
			now.Sub(fi.ModTime()) > StaleAfter {
			_ = fs.Remove(path.Join(dir, fi.Name()))
		}
	}
}
