package destconfig

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// bigTable returns an environment whose candidate holds n entries with a mix of
// settings, and SMTP routes for one domain in ten.
func bigTable(b testing.TB, n int) *shell.Env {
	e, _ := newEnv(b, "")
	cfg := e.Session.Edit()
	tls := tlsOptions()
	for i := range n {
		d := store.Destination{Domain: fmt.Sprintf("d%05d.example", i), TLS: tls[i%len(tls)].value}
		if i%4 == 0 {
			d.MTASTS, d.DANE = "on", "opportunistic"
		}
		if i%7 == 0 {
			d.MaxConcurrency, d.RecipientLimit, d.RecipientMinutes = store.Int(10), store.Int(100), store.Int(60)
		}
		cfg.Destinations.Entries = append(cfg.Destinations.Entries, d)
		if i%10 == 0 {
			cfg.Routes = append(cfg.Routes, store.Route{Domain: d.Domain, Hosts: []store.RouteHost{{Host: "relay.example.net", Port: 25}}})
		}
	}
	cfg.Destinations.Sort()
	e.Session.Set(cfg)
	e.Out, e.Err = io.Discard, io.Discard
	return e
}

func TestBigTable(t *testing.T) {
	e := bigTable(t, 1000)
	var out strings.Builder
	e.Out = &out
	mustRun(t, e, "list")
	if got := strings.Count(out.String(), "\n"); got != 1000+4 {
		t.Errorf("list printed %d lines, want %d", got, 1000+4)
	}
	out.Reset()
	mustRun(t, e, "detail", "all")
	if got := strings.Count(out.String(), "\n    IP Sort Preference:"); got != 1001 {
		t.Errorf("detail all printed %d blocks, want 1001", got)
	}
	want := 0
	for i := range 1000 {
		if i%10 == 0 && i%4 == 0 && tlsOptions()[i%6].value != "no" {
			want++
		}
	}
	if got := strings.Count(out.String(), "SMTP route"); got != want || want == 0 {
		t.Errorf("detail all has %d route notes, want %d (routed entries with DANE or MTA-STS on and TLS)", got, want)
	}
}

// BenchmarkList10000 measures `destconfig list` over 10,000 entries.
func BenchmarkList10000(b *testing.B) {
	e := bigTable(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if err := run(e, "list"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetailAll10000 measures `destconfig detail all` over 10,000 entries.
func BenchmarkDetailAll10000(b *testing.B) {
	e := bigTable(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if err := run(e, "detail", "all"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshal10000 is the peer of the list and detail benchmarks: encoding the
// same 10,000 entries as the configuration file (one pass over the same data, no
// formatting decisions), the floor of any rendering of the table.
func BenchmarkMarshal10000(b *testing.B) {
	e := bigTable(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Marshal(e.Session.Config()); err != nil {
			b.Fatal(err)
		}
	}
}
