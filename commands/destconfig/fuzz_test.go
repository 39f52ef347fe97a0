package destconfig

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/store"
)

// FuzzDecodeINI feeds the import file parser (destconfig import) arbitrary files.
// Invariants: no panic; a rejected file gets an error that names a line of the
// file, or says what the file lacks; an accepted file gives a table that the store
// validates (sorted, one entry per domain) and that round-trips: decoding the
// exported file gives the same table, and exporting that again gives the same
// bytes.
func FuzzDecodeINI(f *testing.F) {
	f.Add([]byte(fullTable))
	f.Add(encodeINI(&store.FactoryDefaults("esa.test").Destinations))
	f.Add([]byte("[DEFAULT]\nip_sort_pref = PREFER_V4\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = host\nlimit_apply = system\ntls = no\ndane = none\nmta_sts = off\nbounce_validation = off\n[example.com]\n[EXAMPLE.com.]\n"))
	f.Add([]byte("[default]\r\ntls: required\r\n[xn--bcher-kva.example]\r\nrecipient_limit = 5\r\n"))
	f.Add([]byte("tls = no\n"))
	f.Add([]byte("[DEFAULT\n"))
	f.Add([]byte("[DEFAULT]\nfoo = bar\n"))
	f.Add([]byte("[DEFAULT]\ntls =\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, entries, err := decodeINI(data)
		if err != nil {
			checkINIError(t, data, err)
			return
		}
		cfg := store.FactoryDefaults("esa.test")
		cfg.Destinations.Certificate = ""
		cfg.Destinations.Default, cfg.Destinations.Entries = def, entries
		if err := cfg.Validate(); err != nil {
			t.Fatalf("decodeINI(%q) accepted a table the store rejects: %v", data, err)
		}
		if !cfg.Destinations.Sorted() {
			t.Fatalf("decodeINI(%q): entries not sorted: %v", data, entries)
		}
		text := encodeINI(&cfg.Destinations)
		def2, entries2, err := decodeINI(text)
		if err != nil {
			t.Fatalf("decodeINI(%q) ok, but its export does not import: %v\n%s", data, err, text)
		}
		if diff := cmp.Diff(cfg.Destinations.Default, def2); diff != "" {
			t.Fatalf("round trip of (Default) (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(entries, entries2); diff != "" {
			t.Fatalf("round trip of the entries (-want +got):\n%s", diff)
		}
		ds := store.Destinations{Default: def2, Entries: entries2}
		if again := encodeINI(&ds); string(again) != string(text) {
			t.Fatalf("export, import, export differ (-first +second):\n%s", cmp.Diff(string(text), string(again)))
		}
	})
}

// checkINIError fails t unless err, decodeINI's error for data, says what is wrong:
// a line of the file, or the missing [DEFAULT] section.
func checkINIError(t *testing.T, data []byte, err error) {
	t.Helper()
	var le *lineError
	switch {
	case errors.As(err, &le):
		if n := strings.Count(string(data), "\n") + 1; le.line < 1 || le.line > n || le.msg == "" {
			t.Fatalf("decodeINI(%q) = %v: line %d of %d, or no message", data, err, le.line, n)
		}
	case !strings.Contains(err.Error(), "[DEFAULT]"):
		t.Fatalf("decodeINI(%q) = %v: neither a line nor the missing [DEFAULT]", data, err)
	}
}
