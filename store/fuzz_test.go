package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzUnmarshal feeds loadconfig's parser arbitrary files: it must never panic, and a
// file that parses and validates must survive Marshal and Unmarshal unchanged.
func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte("hostname = \"esa.test\"\n"))
	f.Add([]byte("hostname = \"a.test\"\n[destinations]\ncertificate = \"\"\n[destinations.default]\nip_sort_pref = \"PREFER_V4\"\nmax_host_concurrency = 500\nmax_messages_per_connection = 50\nlimit_type = \"host\"\nlimit_apply = \"system\"\ntls = \"no\"\ndane = \"none\"\nmta_sts = \"off\"\nbounce_validation = \"off\"\nbounce_profile = \"Default\"\n[[destinations.entry]]\ndomain = \"example.com\"\ntls = \"preferred\"\n"))
	f.Add([]byte("[[smtproute]]\ndomain = \"x.test\"\n[[smtproute.host]]\nhost = \"relay.test\"\nport = 25\n"))
	f.Add([]byte("hostnme = 1"))
	f.Add([]byte("[dns]\nuse_resolv_conf = false\n[[dns.server]]\naddress = \"127.0.0.1\"\nport = 53\ntrusted = true\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Unmarshal(data)
		if err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		text, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal of a valid configuration: %v", err)
		}
		back, err := Unmarshal(text)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(c)): %v\n%s", err, text)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}
