package maillog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/internal/atomicfile"
)

// The counters of the mail log's numbers. RID is not one of them: as on the
// appliance, a RID is the index of a recipient within its message ([0], [1],
// ...).
const (
	// DCID numbers delivery connections.
	DCID = "DCID"
	// MID numbers messages.
	MID = "MID"
	// ICID numbers injection (incoming) connections.
	ICID = "ICID"
)

// Defaults of Counters.
const (
	// DefaultCountersPath is where the counters live in the data directory.
	DefaultCountersPath = "logs/counters.json"
	// DefaultBlock is how many numbers one write reserves.
	DefaultBlock = 100
)

// Locker serialises processes that share the counters file (the shell and
// `segcli --run-queue`); store.FileLocker is one. Lock waits until ctx ends
// and returns the function that releases the lock.
type Locker interface {
	Lock(ctx context.Context) (unlock func(), err error)
}

// CountersConfig configures Counters.
type CountersConfig struct {
	// Fs and Path locate the counters file; a nil Fs keeps the counters in
	// memory only (tests, a session without a data directory).
	Fs   afero.Fs
	Path string
	// Block is how many numbers of a counter one durable write reserves
	// (default DefaultBlock). After a restart, the unused rest of a block is
	// skipped: numbers may jump, they never repeat.
	Block uint64
	// Locker serialises the reservations of several processes; nil only
	// serialises this process's.
	Locker Locker
}

// Counters hands out increasing numbers, per counter name, that survive
// restarts. It is safe for concurrent use.
//
// The file holds, for each counter, the first number not yet reserved. A
// reservation reads it (under Locker), writes it back advanced by Block with
// an atomic durable replace, and only then hands out numbers of the block: a
// crash at any moment leaves a file whose numbers were never handed out.
type Counters struct {
	cfg CountersConfig

	mu    sync.Mutex
	next  map[string]uint64 // next number to hand out
	limit map[string]uint64 // first number past the reserved block
}

// OpenCounters returns the counters cfg describes. The file is read on the
// first reservation of each counter, not here.
func OpenCounters(cfg CountersConfig) (*Counters, error) {
	if cfg.Fs != nil && cfg.Path == "" {
		return nil, errors.New("maillog: counters: no path")
	}
	if cfg.Block == 0 {
		cfg.Block = DefaultBlock
	}
	c := &Counters{cfg: cfg, next: map[string]uint64{}, limit: map[string]uint64{}}
	if cfg.Fs != nil {
		if dir := path.Dir(cfg.Path); dir != "." {
			if err := cfg.Fs.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("maillog: counters: create %s: %w", dir, err)
			}
		}
		atomicfile.RemoveTemps(cfg.Fs, path.Dir(cfg.Path))
	}
	return c, nil
}

// NewMemoryCounters returns counters kept in memory only, starting at 1.
func NewMemoryCounters() *Counters {
	c, _ := OpenCounters(CountersConfig{})
	return c
}

// Next returns the next number of counter name (DCID, MID, ICID or any other
// name), starting at 1.
func (c *Counters) Next(ctx context.Context, name string) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next[name] >= c.limit[name] {
		if err := c.reserve(ctx, name); err != nil {
			return 0, err
		}
	}
	n := c.next[name]
	c.next[name]++
	return n, nil
}

// reserve takes a new block of name; c.mu is held.
func (c *Counters) reserve(ctx context.Context, name string) error {
	base := max(c.next[name], 1)
	if c.cfg.Fs == nil {
		c.next[name], c.limit[name] = base, base+c.cfg.Block
		return nil
	}
	if c.cfg.Locker != nil {
		unlock, err := c.cfg.Locker.Lock(ctx)
		if err != nil {
			return fmt.Errorf("maillog: counters: %w", err)
		}
		defer unlock()
	}
	saved, err := c.read()
	if err != nil {
		return err
	}
	base = max(base, saved[name])
	saved[name] = base + c.cfg.Block
	data, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return fmt.Errorf("maillog: counters: %w", err)
	}
	// An ErrSyncDir failure too: the directory entry may not be durable, and
	// using the block could repeat numbers after a crash.
	if err := atomicfile.Write(c.cfg.Fs, c.cfg.Path, append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("maillog: counters: %w", err)
	}
	c.next[name], c.limit[name] = base, base+c.cfg.Block
	return nil
}

// read returns the saved limits (empty when there is no file yet).
func (c *Counters) read() (map[string]uint64, error) {
	saved := map[string]uint64{}
	data, err := afero.ReadFile(c.cfg.Fs, c.cfg.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return saved, nil
	}
	if err != nil {
		return nil, fmt.Errorf("maillog: counters: %w", err)
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, fmt.Errorf("maillog: counters: %s is damaged (%v); move it aside to start new numbers after the highest in mail_logs", c.cfg.Path, err)
	}
	return saved, nil
}
