package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// A Locker serialises commits between sessions that share one configuration.
type Locker interface {
	// Lock waits for the lock until ctx ends and returns the function that releases it.
	Lock(ctx context.Context) (unlock func(), err error)
}

// ErrLocked reports that another session held the configuration lock for too long.
var ErrLocked = errors.New("store: the configuration is locked by another session; try again")

// FileLocker locks with flock(2) on a file, so that processes sharing a data
// directory commit one at a time. The lock dies with its process: a crash never
// leaves a stale lock behind.
type FileLocker struct {
	Path string
	// Wait bounds how long Lock waits (default 30 s).
	Wait time.Duration
}

// Lock takes the lock, polling until it is free, ctx ends or Wait passes.
func (l FileLocker) Lock(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	wait := l.Wait
	if wait == 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	delay := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("store: lock %s: %w", l.Path, err)
		}
		if time.Now().After(deadline) {
			_ = f.Close()
			return nil, ErrLocked
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// MutexLocker serialises sessions within one process, for stores on an in-memory
// file system. Share one value between the stores that must exclude each other.
type MutexLocker struct{ mu sync.Mutex }

// Lock takes the mutex.
func (l *MutexLocker) Lock(ctx context.Context) (func(), error) {
	l.mu.Lock()
	return l.mu.Unlock, nil
}
