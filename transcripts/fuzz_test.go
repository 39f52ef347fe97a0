package transcripts

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse: the transcript parser never panics, and a parsed transcript formats and
// parses back to the same value.
func FuzzParse(f *testing.F) {
	f.Add([]byte("hostname: esa.test\n-- screen --\nesa.test> help\n"))
	f.Add([]byte("clock: 2026-11-29T13:26:28Z\nsecret: x\nfixture: dns\nresolver: $DNS\n-- configuration/a.ini --\n[DEFAULT]\n-- screen --\nesa.test> "))
	f.Add([]byte("bad header\n-- screen --\n"))
	f.Add([]byte("-- screen --"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Parse(data)
		if err != nil {
			return
		}
		back, err := Parse(tr.Format())
		if err != nil {
			t.Fatalf("Parse(Format()): %v", err)
		}
		if diff := cmp.Diff(tr, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}
