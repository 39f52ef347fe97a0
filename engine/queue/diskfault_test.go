package queue

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/faultfs"
)

// spoolSnapshot returns every file of the spool in dir with its content.
func spoolSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
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

// diskSpool opens a spool in a real directory through a faultfs, with durable MID
// counters in the same data directory (as segcli runs it), and queues three
// messages.
func diskSpool(t *testing.T) (string, *faultfs.FS, *Queue) {
	t.Helper()
	dir := t.TempDir()
	ffs := faultfs.New(afero.NewBasePathFs(afero.NewOsFs(), dir))
	ids, err := maillog.OpenCounters(maillog.CountersConfig{Fs: ffs, Path: maillog.DefaultCountersPath, Block: 2})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Open(Config{Fs: ffs, Now: newClock().Now, IDs: ids, Locker: &mutexLocker{}, Hostname: "esa.test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		enqueue(t, q, "a@esa.test", "x"+strconv.Itoa(i)+"@example.com")
	}
	return dir, ffs, q
}

// enqueueBytes measures what the Enqueue of data writes after diskSpool's three
// messages and a fourth that uses up the MID block: the message's two files and a
// MID block reservation.
func enqueueBytes(t *testing.T, data []byte) int64 {
	t.Helper()
	_, ffs, q := diskSpool(t)
	enqueue(t, q, "a@esa.test", "fill@example.com")
	before := ffs.Written()
	if _, err := q.Enqueue(context.Background(), Envelope{From: "a@esa.test", To: []string{"y@example.com"}}, data); err != nil {
		t.Fatal(err)
	}
	return ffs.Written() - before
}

// TestEnqueueDiskFaults: Enqueue on a full disk (the space running out at every
// point of the message's two files, and of a MID block reservation) or a read-only
// data directory fails with ErrNoSpace / ErrReadOnly and a message that says what
// to do; the spool is byte for byte as it was (the other messages intact, no temp
// or half file); once the fault is gone the same Enqueue works and the message
// reads back whole.
func TestEnqueueDiskFaults(t *testing.T) {
	data := []byte(testData + strings.Repeat("line of the body\r\n", 40))
	total := enqueueBytes(t, data)
	type fault struct {
		name string
		set  func(*faultfs.FS)
		want error
	}
	faults := []fault{{"read-only", func(f *faultfs.FS) { f.SetReadOnly(true) }, ErrReadOnly}}
	for b := int64(0); b < total; b += max(1, total/25) {
		faults = append(faults, fault{"disk full after " + strconv.FormatInt(b, 10) + " bytes", func(f *faultfs.FS) { f.SetSpace(b) }, ErrNoSpace})
	}
	faults = append(faults, fault{"disk full one byte short", func(f *faultfs.FS) { f.SetSpace(total - 1) }, ErrNoSpace})
	counters := filepath.FromSlash(maillog.DefaultCountersPath)
	for _, tt := range faults {
		dir, ffs, q := diskSpool(t)
		// Use up the MID block, so that the Enqueue under test reserves a new one.
		enqueue(t, q, "a@esa.test", "fill@example.com")
		before := spoolSnapshot(t, dir)
		tt.set(ffs)
		_, err := q.Enqueue(context.Background(), Envelope{From: "a@esa.test", To: []string{"y@example.com"}}, data)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "then send it again") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s: Enqueue() = %v, want %v in one line that says what to do", tt.name, err, tt.want)
		}
		after := spoolSnapshot(t, dir)
		// A MID block reserved before the fault hit is used up: numbers may
		// jump, never repeat (maillog.Counters). The file must still be whole.
		var saved map[string]uint64
		if err := json.Unmarshal([]byte(after[counters]), &saved); err != nil || saved[maillog.MID] < 5 {
			t.Fatalf("%s: counters file %q after the fault: %v", tt.name, after[counters], err)
		}
		delete(before, counters)
		delete(after, counters)
		if diff := cmp.Diff(before, after); diff != "" {
			t.Fatalf("%s: the failed Enqueue changed the data directory (-before +after):\n%s", tt.name, diff)
		}
		ffs.Clear()
		msgs, err := q.List(context.Background())
		if err != nil || len(msgs) != 4 {
			t.Fatalf("%s: after the fault: %d messages, %v; want the 4 queued before", tt.name, len(msgs), err)
		}
		m, err := q.Enqueue(context.Background(), Envelope{From: "a@esa.test", To: []string{"y@example.com"}}, data)
		if err != nil {
			t.Fatalf("%s: Enqueue once the fault is gone: %v", tt.name, err)
		}
		r, err := q.Open(m.MID)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != string(data) {
			t.Errorf("%s: the retried message reads back as %d bytes, want %d", tt.name, len(got), len(data))
		}
		// A restart finds the five messages and nothing else to clean.
		after = spoolSnapshot(t, dir)
		if _, err := Open(Config{Fs: afero.NewBasePathFs(afero.NewOsFs(), dir)}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(after, spoolSnapshot(t, dir)); diff != "" {
			t.Errorf("%s: a restart had leftovers to remove (-before +after):\n%s", tt.name, diff)
		}
	}
	t.Logf("an Enqueue writes %d bytes (with a MID block reservation); %d faults checked", total, len(faults))
}
