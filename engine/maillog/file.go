package maillog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/afero"
)

// Defaults of a File.
const (
	// DefaultPath is where the mail log lives in the data directory.
	DefaultPath = "logs/mail_logs"
	// DefaultMaxSize is the size at which the log is rotated.
	DefaultMaxSize = 10 << 20
	// DefaultKeep is the number of rotated files kept (mail_logs.1 to
	// mail_logs.9).
	DefaultKeep = 9
)

// FileConfig configures a File. Fs and Path are required.
type FileConfig struct {
	// Fs is the data directory; Path the log inside it (DefaultPath).
	Fs   afero.Fs
	Path string
	// Level is the threshold: lines above it (more verbose) are dropped.
	// Critical is the zero value, so callers set it (Info is the
	// appliance's default).
	Level Level
	// MaxSize is the size in bytes past which the log is rotated before the
	// next line (default DefaultMaxSize).
	MaxSize int64
	// Keep is the number of rotated files kept (default DefaultKeep; a
	// negative value keeps none: the log starts over).
	Keep int
	// Now stamps the lines (default time.Now).
	Now func() time.Time
}

// File is the mail log on disk. Lines are appended whole (O_APPEND, one write
// per line), so that two processes sharing the data directory (the shell and
// `segcli --run-queue`) never interleave inside a line. It is safe for
// concurrent use. A write error does not stop logging: the next line reopens
// the file, and Err reports the last error.
type File struct {
	fs      afero.Fs
	path    string
	maxSize int64
	keep    int
	now     func() time.Time

	mu      sync.Mutex
	level   Level
	f       afero.File
	size    int64
	err     error
	checked time.Time // when movedAway last ran
	// torn: a write failed part-way (a full disk) and left the end of the
	// file without a line break; the next line starts with one, so that a
	// torn line never runs into a whole one.
	torn bool
}

// OpenFile opens (creating it and its directory as needed) the log cfg
// describes.
func OpenFile(cfg FileConfig) (*File, error) {
	if cfg.Fs == nil || cfg.Path == "" {
		return nil, errors.New("maillog: no file system or path")
	}
	l := &File{fs: cfg.Fs, path: cfg.Path, maxSize: cfg.MaxSize, keep: cfg.Keep, now: cfg.Now, level: cfg.Level}
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxSize
	}
	if l.keep == 0 {
		l.keep = DefaultKeep
	}
	if l.now == nil {
		l.now = time.Now
	}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

// open opens the log for appending; l.mu is held (or l is new).
func (l *File) open() error {
	if dir := path.Dir(l.path); dir != "." {
		if err := l.fs.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("maillog: create %s: %w", dir, err)
		}
	}
	f, err := l.fs.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("maillog: open %s: %w", l.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("maillog: stat %s: %w", l.path, err)
	}
	if fi.Size() == 0 {
		l.torn = false // a new file (rotated): nothing to terminate
	}
	l.f, l.size = f, fi.Size()
	return nil
}

// Path returns the log's path in the file system.
func (l *File) Path() string { return l.path }

// Level returns the current threshold.
func (l *File) Level() Level {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.level
}

// SetLevel changes the threshold (loglevel); it applies to the next line.
func (l *File) SetLevel(level Level) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.level = level
}

// Enabled reports whether lines of level are written, so that callers can
// skip building costly Debug and Trace lines.
func (l *File) Enabled(level Level) bool { return level <= l.Level() }

// Logf writes the line if its level is enabled.
func (l *File) Logf(level Level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if level > l.level {
		return
	}
	line := Format(l.now(), level, fmt.Sprintf(format, args...)) + "\n"
	if l.f == nil {
		if err := l.open(); err != nil {
			l.err = err
			return
		}
	}
	if time.Since(l.checked) >= reopenCheck {
		l.checked = time.Now()
		if l.movedAway() {
			_ = l.f.Close()
			if err := l.open(); err != nil {
				l.f, l.err = nil, err
				return
			}
		}
	}
	if l.size > 0 && l.size+int64(len(line)) > l.maxSize {
		if err := l.rotate(); err != nil {
			l.err = err
			if l.f == nil {
				return
			}
		}
	}
	if l.torn {
		line = "\n" + line
	}
	n, err := l.f.Write([]byte(line))
	l.size += int64(n)
	if n > 0 {
		l.torn = n < len(line)
	}
	if err != nil {
		l.err = fmt.Errorf("maillog: write %s: %w", l.path, err)
		_ = l.f.Close()
		l.f = nil
	}
}

// reopenCheck is how often a File checks that its path still names the file
// it writes (another process may have rotated it).
const reopenCheck = time.Second

// movedAway reports whether the file at the path is not the one l writes:
// another process rotated the log. l.mu is held.
func (l *File) movedAway() bool {
	at, err := l.fs.Stat(l.path)
	if err != nil {
		return true
	}
	mine, err := l.f.Stat()
	if err != nil {
		return false
	}
	if _, ok := at.Sys().(*syscall.Stat_t); ok {
		return !os.SameFile(at, mine)
	}
	// Without inode numbers: the other file is smaller than what this
	// process has written to its own.
	return at.Size() < l.size
}

// rotate renames mail_logs.i to mail_logs.i+1 (dropping the last), the log to
// mail_logs.1, and opens a new log; l.mu is held. When another process
// rotated the log since this one opened it, the new log is only reopened.
func (l *File) rotate() error {
	if l.movedAway() {
		_ = l.f.Close()
		l.f = nil
		return l.open()
	}
	_ = l.f.Close()
	l.f = nil
	if l.keep < 0 {
		if err := l.fs.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("maillog: rotate %s: %w", l.path, err)
		}
		return l.open()
	}
	if err := l.fs.Remove(l.rotated(l.keep)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("maillog: rotate %s: %w", l.path, err)
	}
	for i := l.keep - 1; i >= 1; i-- {
		if err := l.fs.Rename(l.rotated(i), l.rotated(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("maillog: rotate %s: %w", l.path, err)
		}
	}
	if err := l.fs.Rename(l.path, l.rotated(1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		_ = l.open()
		return fmt.Errorf("maillog: rotate %s: %w", l.path, err)
	}
	return l.open()
}

func (l *File) rotated(i int) string { return l.path + "." + strconv.Itoa(i) }

// Err returns the last error met while writing or rotating, nil when none.
func (l *File) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Sync flushes the log to stable storage.
func (l *File) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	return l.f.Sync()
}

// Close closes the log; a later line opens it again.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Files returns the log and its rotated files that exist, oldest first
// (mail_logs.9 ... mail_logs.1, mail_logs): what `grep` searches and `tail`
// starts from.
func Files(fsys afero.Fs, logPath string) []string {
	var out []string
	for i := 1; ; i++ {
		if _, err := fsys.Stat(logPath + "." + strconv.Itoa(i)); err != nil {
			break
		}
		out = append([]string{logPath + "." + strconv.Itoa(i)}, out...)
	}
	if _, err := fsys.Stat(logPath); err == nil {
		out = append(out, logPath)
	}
	return out
}
