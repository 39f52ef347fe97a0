package mtasts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/atomicfile"
)

// Entry is a cached policy: what the cache keeps per policy domain.
type Entry struct {
	// Domain is the policy domain, lower case A-labels, no trailing dot.
	Domain string `json:"domain"`
	// ID is the id of the TXT record the policy was fetched under.
	ID string `json:"id"`
	// Text is the policy body as served; Policy is what it parses to.
	Text   string `json:"text"`
	Policy Policy `json:"policy"`
	// FetchedAt is when the policy was fetched; ExpiresAt is FetchedAt
	// plus the policy's max_age.
	FetchedAt time.Time `json:"fetched_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// LastUsed is when a delivery last applied the entry (updated at most
	// once per LastUsedGranularity, to spare the disk).
	LastUsed time.Time `json:"last_used"`
}

// Valid reports whether the entry has not expired at now. An entry of
// max_age 0 is never valid: it served the delivery that fetched it.
func (e Entry) Valid(now time.Time) bool { return now.Before(e.ExpiresAt) }

// UnmarshalJSON decodes an entry and parses its Text again, so that Policy
// always says what the text says, whatever wrote the entry.
func (e *Entry) UnmarshalJSON(b []byte) error {
	type plain Entry
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	pol, _, err := ParsePolicy(p.Text)
	if err != nil {
		return fmt.Errorf("cached policy for %s: %w", p.Domain, err)
	}
	p.Policy = pol
	*e = Entry(p)
	return nil
}

// clone returns a copy that shares no slice with e.
func (e Entry) clone() Entry {
	e.Policy.MX = slices.Clone(e.Policy.MX)
	e.Policy.Extensions = slices.Clone(e.Policy.Extensions)
	return e
}

// LastUsedGranularity is how stale Entry.LastUsed may get before a delivery
// writes the entry again.
const LastUsedGranularity = time.Hour

// Cache stores policies by domain. The data directory's FileCache is the
// default; a fleet can share one cache through another implementation. All
// methods are safe for concurrent use; domain names are as in Entry.Domain.
type Cache interface {
	// Get returns the entry for domain; false when there is none.
	Get(ctx context.Context, domain string) (Entry, bool, error)
	// Put stores e, replacing the entry for e.Domain.
	Put(ctx context.Context, e Entry) error
	// List returns every entry, sorted by domain. On error it may return
	// the entries it could read as well.
	List(ctx context.Context) ([]Entry, error)
	// Delete removes the entry for domain; no entry is not an error.
	Delete(ctx context.Context, domain string) error
}

// MemoryCache is a Cache in memory, for tests and for a session without a
// data directory. The zero value is ready to use. Reads take a read lock
// only; each entry is stored as a copy that is never modified afterwards,
// so that the engine can read it in place (view) without copying it.
type MemoryCache struct {
	mu sync.RWMutex
	m  map[string]*Entry
}

// Get returns the entry for domain.
func (c *MemoryCache) Get(ctx context.Context, domain string) (Entry, bool, error) {
	p, ok := c.view(domain)
	if !ok {
		return Entry{}, false, nil
	}
	return p.clone(), true, nil
}

// view returns the stored entry for domain itself, shared: the caller must
// not modify it (nor its slices).
func (c *MemoryCache) view(domain string) (*Entry, bool) {
	c.mu.RLock()
	p, ok := c.m[domain]
	c.mu.RUnlock()
	return p, ok
}

// Put stores e.
func (c *MemoryCache) Put(ctx context.Context, e Entry) error {
	e = e.clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*Entry)
	}
	c.m[e.Domain] = &e
	return nil
}

// List returns every entry, sorted by domain.
func (c *MemoryCache) List(ctx context.Context) ([]Entry, error) {
	c.mu.RLock()
	out := make([]Entry, 0, len(c.m))
	for _, p := range c.m {
		out = append(out, p.clone())
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Domain, b.Domain) })
	return out, nil
}

// Delete removes the entry for domain.
func (c *MemoryCache) Delete(ctx context.Context, domain string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, domain)
	return nil
}

// FileCache is a Cache in a directory: one JSON file per domain
// ("example.com.json"), each replaced atomically (internal/atomicfile), so that
// a reader, or a restart after the process crashed at any moment, finds every
// entry whole. Entries are not flushed to the disk one by one (two flushes per
// entry bound a bulk check to a few hundred domains a second): a power failure
// may lose the latest entries, which costs one fetch each, and a file it
// damaged reads as missing. Decoded entries are kept in memory and read again
// only when the file changed (another process wrote it).
type FileCache struct {
	fs  afero.Fs
	dir string

	mu  sync.Mutex
	mem map[string]memEntry
}

// memEntry is a decoded file and the file's identity when it was read.
type memEntry struct {
	entry Entry
	info  fs.FileInfo
}

// NewFileCache returns a cache in dir on fsys; dir is created on the first
// Put.
func NewFileCache(fsys afero.Fs, dir string) *FileCache {
	return &FileCache{fs: fsys, dir: dir, mem: make(map[string]memEntry)}
}

// errBadDomain rejects names that cannot be a file name in the cache.
var errBadDomain = errors.New("not a domain name")

// file returns the file of domain, which must be a normalized domain name.
func (c *FileCache) file(domain string) (string, error) {
	if domain == "" || domain[0] == '.' || strings.Contains(domain, "..") || len(domain) > 253 {
		return "", fmt.Errorf("mtasts: cache %q: %w", domain, errBadDomain)
	}
	for i := 0; i < len(domain); i++ {
		if c := domain[i]; !isAlphaDigit(c) && c != '-' && c != '.' && c != '_' {
			return "", fmt.Errorf("mtasts: cache %q: %w", domain, errBadDomain)
		}
	}
	return path.Join(c.dir, domain+".json"), nil
}

// same reports whether two stats describe the same file content: the same
// file (inode), size and modification time.
func same(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// Get returns the entry for domain.
func (c *FileCache) Get(ctx context.Context, domain string) (Entry, bool, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}
	name, err := c.file(domain)
	if err != nil {
		return Entry{}, false, err
	}
	info, err := c.fs.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		c.forget(domain)
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("mtasts: cache: %w", err)
	}
	c.mu.Lock()
	m, ok := c.mem[domain]
	c.mu.Unlock()
	if ok && same(m.info, info) {
		return m.entry.clone(), true, nil
	}
	e, err := c.read(name, info, domain)
	if err != nil {
		return Entry{}, false, err
	}
	return e.clone(), true, nil
}

// read decodes the file name and remembers it.
func (c *FileCache) read(name string, info fs.FileInfo, domain string) (Entry, error) {
	b, err := afero.ReadFile(c.fs, name)
	if err != nil {
		return Entry{}, fmt.Errorf("mtasts: cache: %w", err)
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, fmt.Errorf("mtasts: cache %s: %w", name, err)
	}
	if e.Domain != domain {
		return Entry{}, fmt.Errorf("mtasts: cache %s: holds domain %q", name, e.Domain)
	}
	c.mu.Lock()
	c.mem[domain] = memEntry{entry: e, info: info}
	c.mu.Unlock()
	return e, nil
}

func (c *FileCache) forget(domain string) {
	c.mu.Lock()
	delete(c.mem, domain)
	c.mu.Unlock()
}

// Put stores e in its file, atomically.
func (c *FileCache) Put(ctx context.Context, e Entry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, err := c.file(e.Domain)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	if err := c.fs.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	if err := atomicfile.WriteUnsynced(c.fs, name, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	if info, err := c.fs.Stat(name); err == nil {
		c.mu.Lock()
		c.mem[e.Domain] = memEntry{entry: e.clone(), info: info}
		c.mu.Unlock()
	}
	return nil
}

// List returns every entry, sorted by domain. Files that cannot be read are
// left out and named in the error. Temporary files a crash left behind are
// removed.
func (c *FileCache) List(ctx context.Context) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	infos, err := afero.ReadDir(c.fs, c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mtasts: cache: %w", err)
	}
	atomicfile.RemoveTemps(c.fs, c.dir)
	var (
		out  []Entry
		errs []error
	)
	for _, fi := range infos {
		domain, ok := strings.CutSuffix(fi.Name(), ".json")
		if fi.IsDir() || !ok || strings.HasPrefix(fi.Name(), ".") {
			continue
		}
		e, found, err := c.Get(ctx, domain)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if found {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Domain, b.Domain) })
	return out, errors.Join(errs...)
}

// Delete removes the entry for domain.
func (c *FileCache) Delete(ctx context.Context, domain string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	name, err := c.file(domain)
	if err != nil {
		return err
	}
	c.forget(domain)
	if err := c.fs.Remove(name); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	if err := atomicfile.SyncDir(c.fs, c.dir); err != nil {
		return fmt.Errorf("mtasts: cache: %w", err)
	}
	return nil
}
