package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/spf13/afero"
)

// tmpMarker is part of every temporary file name, so that files left by a crash can
// be recognised and removed.
const tmpMarker = ".tmp-"

// writeFileAtomic replaces name with data so that a reader (or a restart after a
// crash at any moment) sees either the old file or the new one, never a mix: temp file
// in the same directory, write, fsync, close (checked), rename, fsync the directory.
func writeFileAtomic(fs afero.Fs, name string, data []byte, perm os.FileMode) (err error) {
	dir, base := path.Split(name)
	if dir == "" {
		dir = "."
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("store: temp name: %w", err)
	}
	tmp := path.Join(dir, "."+base+tmpMarker+hex.EncodeToString(rnd[:]))
	f, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = fs.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("store: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("store: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("store: rename %s: %w", name, err)
	}
	return syncDir(fs, dir)
}

// errSyncDir marks a failure after the rename: the new file is in place.
var errSyncDir = errors.New("sync directory")

// syncDir makes a rename in dir durable.
func syncDir(fs afero.Fs, dir string) error {
	d, err := fs.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %w %s: %w", errSyncDir, dir, err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil && !errors.Is(serr, os.ErrInvalid) {
		return fmt.Errorf("store: %w %s: %w", errSyncDir, dir, serr)
	}
	if cerr != nil {
		return fmt.Errorf("store: %w %s (close): %w", errSyncDir, dir, cerr)
	}
	return nil
}

// removeTemps removes temporary files a crashed writer left in dir.
func removeTemps(fs afero.Fs, dir string) {
	infos, err := afero.ReadDir(fs, dir)
	if err != nil {
		return
	}
	for _, fi := range infos {
		if !fi.IsDir() && len(fi.Name()) > 0 && fi.Name()[0] == '.' && containsMarker(fi.Name()) {
			_ = fs.Remove(path.Join(dir, fi.Name()))
		}
	}
}

func containsMarker(name string) bool {
	for i := 0; i+len(tmpMarker) <= len(name); i++ {
		if name[i:i+len(tmpMarker)] == tmpMarker {
			return true
		}
	}
	return false
}
