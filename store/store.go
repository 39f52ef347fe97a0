// Package store keeps segcli's configuration: the schema, the committed revisions and
// each session's candidate.
//
// The model is the appliance's (and Junos'): a session edits its own candidate; only
// Commit makes a new revision, atomically and durably, and only if nobody committed
// since the session took its candidate; Clear drops the candidate; a saved revision can
// be loaded back into the candidate for rollback. Persistence is behind Backend (the
// files of the data directory by default) and private keys behind Keys.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/afero"
)

// TimeLayout is how the appliance prints times: "Sun Nov 29 13:26:28 2026 UTC".
const TimeLayout = "Mon Jan _2 15:04:05 2006 MST"

// Options configures Open.
type Options struct {
	// Locker serialises commits; FileLocker for a real directory.
	Locker Locker
	// Now is the clock (default time.Now).
	Now func() time.Time
	// User is recorded with each commit.
	User string
	// Hostname is the gateway name of a new data directory's factory defaults.
	Hostname string
	// DemoSeed, for tests and transcripts only, makes the factory demonstration
	// certificate the same on every run (its key is derived from the seed).
	DemoSeed []byte
}

// Store is a configuration store. It is safe for several sessions at once.
type Store struct {
	backend Backend
	keys    Keys
	now     func() time.Time
	user    string
}

// Open opens the store in the data directory fsys, creating the factory defaults
// (revision 1, with a demonstration certificate) on first use.
func Open(ctx context.Context, fsys afero.Fs, opts Options) (*Store, error) {
	if opts.Locker == nil {
		opts.Locker = new(MutexLocker)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hostname == "" {
		opts.Hostname = "esa.test"
	}
	fb, err := NewFileBackend(fsys, opts.Locker)
	if err != nil {
		return nil, err
	}
	s := &Store{backend: fb, keys: fb, now: opts.Now, user: opts.User}
	if err := s.init(ctx, opts.Hostname, opts.DemoSeed); err != nil {
		return nil, err
	}
	return s, nil
}

// NewStore returns a store on any backend (no factory defaults are written).
func NewStore(b Backend, k Keys, now func() time.Time, user string) *Store {
	return &Store{backend: b, keys: k, now: now, user: user}
}

func (s *Store) init(ctx context.Context, hostname string, seed []byte) error {
	_, _, err := s.backend.Head(ctx)
	if !errors.Is(err, ErrNoConfig) {
		return err
	}
	c := FactoryDefaults(hostname)
	demo, err := s.demoCertificate(ctx, hostname, seed)
	if err != nil {
		return err
	}
	c.Certificates = []Certificate{demo}
	text, err := Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.backend.Commit(ctx, 0, Revision{Time: s.now(), User: "system", Comment: "Factory defaults"}, text, true)
	if errors.Is(err, ErrConflict) {
		return nil // another process created them first
	}
	return err
}

// Session is one operator's view: the revision it started from and its candidate.
// A Session is used by one goroutine at a time.
type Session struct {
	st        *Store
	base      Revision
	committed *Config
	baseText  []byte
	cand      *Config
	// candText caches Marshal(cand) for the candidate candFor.
	candFor  *Config
	candText []byte
}

// NewSession takes a candidate from the committed configuration.
func (s *Store) NewSession(ctx context.Context) (*Session, error) {
	ss := &Session{st: s}
	if err := ss.reload(ctx); err != nil {
		return nil, err
	}
	return ss, nil
}

func (ss *Session) reload(ctx context.Context) error {
	r, text, err := ss.st.backend.Head(ctx)
	if err != nil {
		return err
	}
	c, err := Unmarshal(text)
	if err != nil {
		return fmt.Errorf("store: committed revision %d: %w", r.Number, err)
	}
	// The text is re-rendered so that Pending compares like with like even if the
	// document was written by another version.
	if text, err = Marshal(c); err != nil {
		return err
	}
	ss.base, ss.committed, ss.baseText, ss.cand = r, c, text, c.Clone()
	return nil
}

// text returns Marshal(candidate), computed once per candidate.
func (ss *Session) text() ([]byte, error) {
	if ss.candFor == ss.cand && ss.candText != nil {
		return ss.candText, nil
	}
	t, err := Marshal(ss.cand)
	if err != nil {
		return nil, err
	}
	ss.candFor, ss.candText = ss.cand, t
	return t, nil
}

// Now returns the store's clock reading.
func (ss *Session) Now() time.Time { return ss.st.now() }

// Config returns the candidate. Callers must not modify it: take Edit's copy, change
// that, and Set it when the dialog is complete.
func (ss *Session) Config() *Config { return ss.cand }

// Edit returns a copy of the candidate to change.
func (ss *Session) Edit() *Config { return ss.cand.Clone() }

// Set makes c the candidate.
func (ss *Session) Set(c *Config) { ss.cand = c }

// Committed returns the revision the session started from and its configuration.
func (ss *Session) Committed() (Revision, *Config) { return ss.base, ss.committed }

// Pending reports whether the candidate differs from the committed configuration.
func (ss *Session) Pending() (bool, error) {
	text, err := ss.text()
	if err != nil {
		return false, err
	}
	return string(text) != string(ss.baseText), nil
}

// Changes returns the candidate against the committed configuration as a line diff;
// empty when nothing is pending.
func (ss *Session) Changes() (string, error) {
	text, err := ss.text()
	if err != nil {
		return "", err
	}
	return Diff(string(ss.baseText), string(text), fmt.Sprintf("committed (revision %d)", ss.base.Number), "candidate"), nil
}

// Commit makes the candidate a new revision. It returns ErrConflict (wrapped, with who
// committed) when another session committed first; the candidate is then kept. With
// ErrNotDurable the revision is committed and the error is a warning.
func (ss *Session) Commit(ctx context.Context, comment string, save bool) (Revision, error) {
	text, err := ss.text()
	if err != nil {
		return Revision{}, err
	}
	r := Revision{Time: ss.st.now(), User: ss.st.user, Comment: comment}
	r, err = ss.st.backend.Commit(ctx, ss.base.Number, r, text, save)
	if err != nil && !errors.Is(err, ErrNotDurable) {
		return Revision{}, err
	}
	ss.base, ss.committed, ss.baseText, ss.cand = r, ss.cand, text, ss.cand.Clone()
	ss.candFor, ss.candText = ss.cand, text
	return r, err
}

// Clear drops the candidate and starts again from the newest committed revision.
func (ss *Session) Clear(ctx context.Context) error { return ss.reload(ctx) }

// History lists the revisions saved for rollback, newest first.
func (ss *Session) History(ctx context.Context) ([]Revision, error) {
	return ss.st.backend.History(ctx)
}

// Rollback loads a saved revision into the candidate.
func (ss *Session) Rollback(ctx context.Context, number int) error {
	text, err := ss.st.backend.Load(ctx, number)
	if err != nil {
		return err
	}
	c, err := Unmarshal(text)
	if err != nil {
		return fmt.Errorf("store: saved revision %d: %w", number, err)
	}
	ss.cand = c
	return nil
}

// PutKey stores a private key and returns the reference a Certificate keeps.
func (ss *Session) PutKey(ctx context.Context, pem []byte) (string, error) {
	return ss.st.keys.PutKey(ctx, pem)
}

// Key reads a private key by reference.
func (ss *Session) Key(ctx context.Context, ref string) ([]byte, error) {
	return ss.st.keys.Key(ctx, ref)
}

// CurrentUser names the operator for commit records.
func CurrentUser() string {
	for _, k := range []string{"SEGCLI_USER", "USER", "LOGNAME"} {
		if u := os.Getenv(k); u != "" {
			return u
		}
	}
	return "admin"
}
