package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/atomicfile"
)

// Backend keeps the committed revisions. The files in the data directory are the
// embedded default (FileBackend); a cluster of gateways can share one configuration
// through another implementation without any change to the dialogs or the engine.
//
// A backend stores configurations as the documents Marshal makes; it never needs to
// understand them.
type Backend interface {
	// Head returns the committed revision and its configuration document; ErrNoConfig
	// when none was ever committed.
	Head(ctx context.Context) (Revision, []byte, error)
	// Commit stores config as revision base+1 if base is still the head, else it
	// returns an error wrapping ErrConflict. With save, the revision is kept for
	// rollback.
	Commit(ctx context.Context, base int, r Revision, config []byte, save bool) (Revision, error)
	// History lists the revisions kept for rollback, newest first.
	History(ctx context.Context) ([]Revision, error)
	// Load reads the configuration document of one revision of History.
	Load(ctx context.Context, number int) ([]byte, error)
}

// Keys keeps private keys outside the configuration, content-addressed so that every
// revision that names a key can still find it.
type Keys interface {
	PutKey(ctx context.Context, pem []byte) (ref string, err error)
	Key(ctx context.Context, ref string) ([]byte, error)
}

// Sentinel errors callers branch on.
var (
	// ErrNoConfig: nothing was ever committed (a new data directory).
	ErrNoConfig = errors.New("store: no committed configuration")
	// ErrConflict: another session committed since this one took its candidate.
	ErrConflict = errors.New("store: commit conflict")
	// ErrNotDurable: the revision was committed (readers see it) but syncing its
	// directory failed, so a power loss could still undo it.
	ErrNotDurable = errors.New("store: committed, but the disk did not confirm the write")
	// ErrNoSpace: the data directory's disk (or quota) is full; the write changed
	// nothing.
	ErrNoSpace = errors.New("store: no space left on the data directory's disk")
	// ErrReadOnly: the data directory cannot be written (a read-only file system,
	// or no permission); the write changed nothing.
	ErrReadOnly = errors.New("store: the data directory cannot be written")
)

// What to do after a failed write, in the operator's words.
const (
	commitAgain = "commit again; your changes are kept"
	addKeyAgain = "add the key again; nothing was changed"
)

// diskFault words a write failure the operator must fix on the machine (full disk,
// read-only data directory) and says what to do then; nil for any other error.
func diskFault(err error, then string) error {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: free some space on it, then %s (%w)", ErrNoSpace, then, err)
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: make it writable (is its file system mounted read-only?), then %s (%w)", ErrReadOnly, then, err)
	}
	return nil
}

// MaxSaved is how many saved revisions are kept for rollbackconfig.
const MaxSaved = 10

// Paths inside the data directory.
const (
	runningFile = "config/running.toml"
	historyDir  = "config/history"
	keysDir     = "keys"
)

// FileBackend stores revisions as TOML files in a data directory:
// config/running.toml holds the head, config/history/ the saved revisions, keys/ the
// private keys (0600). Every write is atomic and durable; Locker serialises commits.
type FileBackend struct {
	fs     afero.Fs
	locker Locker
}

// NewFileBackend returns the backend on fs (rooted at the data directory).
func NewFileBackend(fsys afero.Fs, l Locker) (*FileBackend, error) {
	for _, d := range []string{"config", historyDir, keysDir} {
		if err := fsys.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", d, err)
		}
	}
	return &FileBackend{fs: fsys, locker: l}, nil
}

// Head reads config/running.toml.
func (b *FileBackend) Head(ctx context.Context) (Revision, []byte, error) {
	data, err := afero.ReadFile(b.fs, runningFile)
	if errors.Is(err, fs.ErrNotExist) {
		return Revision{}, nil, ErrNoConfig
	}
	if err != nil {
		return Revision{}, nil, fmt.Errorf("store: read committed configuration: %w", err)
	}
	r, c, err := splitRevision(data)
	if err != nil {
		return Revision{}, nil, fmt.Errorf("store: read committed configuration %s: %w", runningFile, err)
	}
	return r, c, nil
}

// Commit writes the saved copy (if asked), then replaces the head. A crash between the
// two leaves a history file newer than the head, which History ignores and the next
// commit overwrites.
func (b *FileBackend) Commit(ctx context.Context, base int, r Revision, config []byte, save bool) (Revision, error) {
	unlock, err := b.locker.Lock(ctx)
	if err != nil {
		if d := diskFault(err, commitAgain); d != nil {
			return Revision{}, d // the lock file cannot be created
		}
		return Revision{}, err
	}
	defer unlock()
	head, _, err := b.Head(ctx)
	switch {
	case errors.Is(err, ErrNoConfig):
		head = Revision{}
	case err != nil:
		return Revision{}, err
	}
	if head.Number != base {
		return head, fmt.Errorf("%w: revision %d was committed by %s at %s after this session started",
			ErrConflict, head.Number, head.User, head.Time.Format(TimeLayout))
	}
	atomicfile.RemoveTemps(b.fs, "config")
	atomicfile.RemoveTemps(b.fs, historyDir)
	r.Number = head.Number + 1
	data, err := revisionFile(r, config)
	if err != nil {
		return Revision{}, err
	}
	if save {
		if err := atomicfile.Write(b.fs, historyName(r.Number), data, 0o600); err != nil {
			if errors.Is(err, atomicfile.ErrSyncDir) {
				// In place but perhaps not durable: the running file decides.
				_ = b.fs.Remove(historyName(r.Number))
			}
			return Revision{}, commitError(err)
		}
	}
	if err := atomicfile.Write(b.fs, runningFile, data, 0o600); err != nil {
		if errors.Is(err, atomicfile.ErrSyncDir) {
			b.prune(r.Number)
			return r, fmt.Errorf("%w: %w", ErrNotDurable, err)
		}
		if save {
			// The revision was not made: its saved copy goes too, so that a
			// failed commit leaves the directory as it found it (and frees
			// the space on a full disk).
			_ = b.fs.Remove(historyName(r.Number))
		}
		return Revision{}, commitError(err)
	}
	b.prune(r.Number)
	return r, nil
}

// commitError words a failed write of a commit.
func commitError(err error) error {
	if d := diskFault(err, commitAgain); d != nil {
		return d
	}
	return fmt.Errorf("store: %w", err)
}

func historyName(n int) string { return path.Join(historyDir, fmt.Sprintf("rev-%08d.toml", n)) }

// savedNumbers lists the history file numbers up to head, newest first.
func (b *FileBackend) savedNumbers(head int) []int {
	infos, err := afero.ReadDir(b.fs, historyDir)
	if err != nil {
		return nil
	}
	var nums []int
	for _, fi := range infos {
		name := fi.Name()
		if !strings.HasPrefix(name, "rev-") || !strings.HasSuffix(name, ".toml") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "rev-"), ".toml"))
		if err == nil && n <= head {
			nums = append(nums, n)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(nums)))
	return nums
}

// prune removes saved revisions beyond the newest MaxSaved (best effort: a file left
// over is only pruned at the next commit).
func (b *FileBackend) prune(head int) {
	nums := b.savedNumbers(head)
	for _, n := range nums[min(len(nums), MaxSaved):] {
		_ = b.fs.Remove(historyName(n))
	}
}

// History reads the description of each saved revision.
func (b *FileBackend) History(ctx context.Context) ([]Revision, error) {
	head, _, err := b.Head(ctx)
	if err != nil {
		return nil, err
	}
	var out []Revision
	for _, n := range b.savedNumbers(head.Number) {
		if len(out) == MaxSaved {
			break
		}
		data, err := afero.ReadFile(b.fs, historyName(n))
		if err != nil {
			continue
		}
		r, _, err := splitRevision(data)
		if err != nil || r.Number != n {
			continue // unreadable saved copy: not offered for rollback
		}
		out = append(out, r)
	}
	return out, nil
}

// Load reads a saved revision.
func (b *FileBackend) Load(ctx context.Context, number int) ([]byte, error) {
	data, err := afero.ReadFile(b.fs, historyName(number))
	if err != nil {
		return nil, fmt.Errorf("store: revision %d is not saved: %w", number, err)
	}
	_, c, err := splitRevision(data)
	if err != nil {
		return nil, fmt.Errorf("store: read revision %d: %w", number, err)
	}
	return c, nil
}

// PutKey writes a private key (mode 0600) under a name derived from its content and
// returns that name.
func (b *FileBackend) PutKey(ctx context.Context, pem []byte) (string, error) {
	sum := sha256.Sum256(pem)
	ref := "sha256-" + hex.EncodeToString(sum[:])
	name := path.Join(keysDir, ref+".pem")
	if ok, _ := afero.Exists(b.fs, name); ok {
		return ref, nil
	}
	if err := atomicfile.Write(b.fs, name, pem, 0o600); err != nil {
		if errors.Is(err, atomicfile.ErrSyncDir) {
			_ = b.fs.Remove(name) // in place, perhaps not durable: not relied on
		}
		if d := diskFault(err, addKeyAgain); d != nil {
			return "", d
		}
		return "", fmt.Errorf("store: write private key: %w", err)
	}
	return ref, nil
}

// Key reads a private key written by PutKey.
func (b *FileBackend) Key(ctx context.Context, ref string) ([]byte, error) {
	if strings.ContainsAny(ref, "/\\") || !strings.HasPrefix(ref, "sha256-") {
		return nil, fmt.Errorf("store: bad key reference %q", ref)
	}
	data, err := afero.ReadFile(b.fs, path.Join(keysDir, ref+".pem"))
	if err != nil {
		return nil, fmt.Errorf("store: read private key: %w", err)
	}
	return data, nil
}
