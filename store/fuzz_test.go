package store

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzUnmarshal feeds loadconfig's parser arbitrary files. Invariants: no panic; a
// file that does not parse, or that Validate refuses, gets a "store: " error; any
// configuration that parses encodes, and decodes back to the same value; a valid one
// stays valid, and its encoding is stable (Marshal is deterministic: showchanges
// and the commit check compare its bytes).
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte("hostname = \"esa.test\"\n"))
	f.Add([]byte("hostname = \"a.test\"\n[destinations]\ncertificate = \"\"\n[destinations.default]\nip_sort_pref = \"PREFER_V4\"\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = \"host\"\nlimit_apply = \"system\"\ntls = \"no\"\ndane = \"none\"\nmta_sts = \"off\"\nbounce_validation = \"off\"\nbounce_profile = \"Default\"\n[[destinations.entry]]\ndomain = \"example.com\"\ntls = \"preferred\"\n"))
	f.Add([]byte("[[smtproute]]\ndomain = \"x.test\"\n[[smtproute.host]]\nhost = \"relay.test\"\nport = 25\n"))
	f.Add([]byte("hostnme = 1"))
	f.Add([]byte("[dns]\nuse_resolv_conf = false\n[[dns.server]]\naddress = \"127.0.0.1\"\nport = 53\ntrusted = true\n"))
	if text, err := Marshal(FactoryDefaults("esa.test")); err == nil {
		f.Add(text)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Unmarshal(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "store: ") {
				t.Fatalf("Unmarshal(%q) error %q: want \"store: ...\"", data, err)
			}
			return
		}
		text, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal of a parsed configuration: %v", err)
		}
		back, err := Unmarshal(text)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(c)): %v\n%s", err, text)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		if err := c.Validate(); err != nil {
			if !strings.HasPrefix(err.Error(), "store: ") {
				t.Fatalf("Validate of %q: error %q: want \"store: ...\"", data, err)
			}
			return
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("a valid configuration is no longer valid after a round trip: %v\n%s", err, text)
		}
		again, err := Marshal(back)
		if err != nil || !bytes.Equal(text, again) {
			t.Fatalf("Marshal is not stable (%v) (-first +second):\n%s", err, cmp.Diff(string(text), string(again)))
		}
	})
}
