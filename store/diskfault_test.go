package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/faultfs"
)

// snapshot returns every file under the data directory dir with its content (the
// lock file aside: flock needs it, and it holds nothing).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".lock" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// faultStore opens a store in a new directory through a faultfs (no fault on), with
// a session whose candidate renames the gateway.
func faultStore(t *testing.T) (dir string, ffs *faultfs.FS, s *Session) {
	t.Helper()
	dir = t.TempDir()
	ffs = faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), dir))
	st, err := Open(context.Background(), ffs, Options{
		Locker: FileLocker{Path: filepath.Join(dir, "config", ".lock")},
		Now:    func() time.Time { return testClock }, User: "admin", Hostname: "esa.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	s = session(t, st)
	c := s.Edit()
	c.Hostname = "new.test"
	c.Destinations.Entries = append(c.Destinations.Entries, Destination{Domain: "full.test", TLS: "required"})
	s.Set(c)
	return dir, ffs, s
}

// commitBytes measures how many bytes a commit of faultStore's candidate writes.
func commitBytes(t *testing.T) int64 {
	t.Helper()
	_, ffs, s := faultStore(t)
	before := ffs.Written()
	if _, err := s.Commit(context.Background(), "change", true); err != nil {
		t.Fatal(err)
	}
	return ffs.Written() - before
}

// checkFailedCommit checks what a commit refused for a disk fault must leave: an
// error that names the fault and says what to do, the directory exactly as it was
// (no temp file, no saved copy of a revision that was not made, the running
// configuration unchanged), and the candidate kept so that a commit after the fault
// is fixed makes revision 2.
func checkFailedCommit(t *testing.T, what string, dir string, before map[string]string, s *Session, err error, want error, fix func()) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: Commit() = %v, want %v", what, err, want)
	}
	msg := err.Error()
	if !strings.Contains(msg, "then commit again; your changes are kept") || strings.Contains(msg, "\n") {
		t.Errorf("%s: message %q: want one line that says what to do", what, msg)
	}
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("%s: the failed commit changed the data directory (-before +after):\n%s", what, diff)
	}
	if r, _ := s.Committed(); r.Number != 1 {
		t.Errorf("%s: the session's base moved to revision %d", what, r.Number)
	}
	if pending, _ := s.Pending(); !pending || s.Config().Hostname != "new.test" {
		t.Errorf("%s: the candidate was not kept (pending %v, hostname %q)", what, pending, s.Config().Hostname)
	}
	// A new process sees revision 1, whole.
	s2 := session(t, openDir(t, dir))
	if r, c := s2.Committed(); r.Number != 1 || c.Hostname != "esa.test" {
		t.Errorf("%s: reopened at revision %d hostname %q, want revision 1 unchanged", what, r.Number, c.Hostname)
	}
	fix()
	r, err := s.Commit(context.Background(), "again", true)
	if err != nil || r.Number != 2 {
		t.Fatalf("%s: commit after the fault was fixed = %d, %v; want revision 2", what, r.Number, err)
	}
	if _, c := session(t, openDir(t, dir)).Committed(); c.Hostname != "new.test" || c.Destinations.Entries[len(c.Destinations.Entries)-1].Domain != "full.test" {
		t.Errorf("%s: the retried commit did not land: %+v", what, c)
	}
}

// TestCommitDiskFull: the disk fills up at every point of a commit (the budget
// runs out after 0 bytes, in the saved copy, between the two files, inside the
// running file, one byte short). Bound: every one of those commits fails with
// ErrNoSpace and leaves the directory byte for byte as it was; a budget of exactly
// the commit's size succeeds.
func TestCommitDiskFull(t *testing.T) {
	total := commitBytes(t)
	if total < 1000 {
		t.Fatalf("a commit writes only %d bytes", total)
	}
	budgets := []int64{0, 1, total/2 - 1, total / 2, total/2 + 1, total - 1}
	for b := int64(0); b < total; b += total / 20 {
		budgets = append(budgets, b)
	}
	for _, budget := range budgets {
		dir, ffs, s := faultStore(t)
		before := snapshot(t, dir)
		ffs.SetSpace(budget)
		_, err := s.Commit(context.Background(), "change", true)
		checkFailedCommit(t, "disk full after "+strconv.FormatInt(budget, 10)+" bytes", dir, before, s, err, ErrNoSpace, func() { ffs.SetSpace(-1) })
	}
	// The bound is exact: with room for the commit it succeeds.
	_, ffs, s := faultStore(t)
	ffs.SetSpace(total)
	if _, err := s.Commit(context.Background(), "change", true); err != nil {
		t.Errorf("commit with exactly %d bytes free: %v", total, err)
	}
	t.Logf("a commit writes %d bytes; %d disk-full points checked", total, len(budgets))
}

// TestCommitReadOnly: a read-only data directory (the file system remounted
// read-only; root ignores permission bits, so the fault is injected) refuses the
// commit with ErrReadOnly and changes nothing; without save too.
func TestCommitReadOnly(t *testing.T) {
	for _, save := range []bool{true, false} {
		dir, ffs, s := faultStore(t)
		before := snapshot(t, dir)
		ffs.SetReadOnly(true)
		_, err := s.Commit(context.Background(), "change", save)
		checkFailedCommit(t, "read-only, save "+strconv.FormatBool(save), dir, before, s, err, ErrReadOnly, func() { ffs.SetReadOnly(false) })
	}
}

// TestPutKeyDiskFaults: a private key that cannot be written (full disk, read-only
// directory) is refused with a message that says what to do, and no key file or
// temp file is left; once fixed, the same key is written 0600.
func TestPutKeyDiskFaults(t *testing.T) {
	key := []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBm8SgYt1HOQqV0qXmJnCKnMvxv+6b2bWMhhzfgPtVvS\n-----END PRIVATE KEY-----\n")
	faults := []struct {
		name string
		set  func(*faultfs.FS)
		want error
	}{
		{"disk full", func(f *faultfs.FS) { f.SetSpace(10) }, ErrNoSpace},
		{"read-only", func(f *faultfs.FS) { f.SetReadOnly(true) }, ErrReadOnly},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			dir, ffs, s := faultStore(t)
			before := snapshot(t, dir)
			tt.set(ffs)
			_, err := s.PutKey(context.Background(), key)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "then add the key again") {
				t.Fatalf("PutKey() = %v, want %v with what to do", err, tt.want)
			}
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("the failed PutKey changed the data directory (-before +after):\n%s", diff)
			}
			ffs.Clear()
			ref, err := s.PutKey(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dir, keysDir, ref+".pem"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key file after the retry: %v, %v; want mode 0600", fi, err)
			}
		})
	}
}

// TestOpenReadOnly: a data directory that became read-only still opens (its
// folders exist), and its configuration is read.
func TestOpenReadOnly(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir)
	ffs := faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), dir))
	ffs.SetReadOnly(true)
	st, err := Open(context.Background(), ffs, Options{Now: func() time.Time { return testClock }})
	if err != nil {
		t.Fatalf("Open on a read-only data directory: %v", err)
	}
	if r, _ := session(t, st).Committed(); r.Number != 1 {
		t.Errorf("read-only open at revision %d", r.Number)
	}
}
