package mtastsverify

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/transcripts/fixtures"
)

// testEnv returns an Env whose engine checks the MTA-STS fixture's domains.
func testEnv(t *testing.T, srv *fixtures.MTASTSServer, terminal bool) (*shell.Env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CAPEM) {
		t.Fatal("fixture CA not parsed")
	}
	now := func() time.Time { return time.Date(2026, 11, 29, 13, 26, 28, 0, time.UTC) }
	eng, err := mtasts.New(mtasts.Config{
		Resolver: dns.New(dns.Config{Servers: []dns.Server{{Addr: srv.DNS, Trusted: true}}, Now: now}),
		RootCAs:  pool,
		Dial:     srv.Setup().Dial,
		Now:      now,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	e := &shell.Env{Out: &out, Err: &errOut, Fs: afero.NewMemMapFs(), Now: now, Terminal: terminal,
		MTASTS: func() (*mtasts.Engine, error) { return eng, nil }}
	return e, &out, &errOut
}

func writeDomains(t *testing.T, e *shell.Env, n int) {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintln(&b, fixtures.BulkDomain(i))
	}
	if err := e.Fs.MkdirAll(shell.ConfigDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := afero.WriteFile(e.Fs, shell.ConfigDir+"/d.txt", []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBulkProgress: at a terminal a progress bar runs on the error output and is
// cleared at the end; elsewhere there is none.
func TestBulkProgress(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{Bulk: 20})
	for _, terminal := range []bool{true, false} {
		t.Run(fmt.Sprint("terminal=", terminal), func(t *testing.T) {
			e, out, errOut := testEnv(t, srv, terminal)
			writeDomains(t, e, 20)
			if err := runVerify(context.Background(), e, []string{"--file", "d.txt", "--concurrency", "4"}); err != nil {
				t.Fatal(err)
			}
			bar := strings.Contains(errOut.String(), "Checking MTA-STS")
			if bar != terminal {
				t.Errorf("progress bar shown: %v, want %v; error output %q", bar, terminal, errOut.String())
			}
			if strings.Contains(out.String(), "Checking MTA-STS") {
				t.Error("the progress bar went to the output")
			}
			if got := strings.Count(out.String(), ".bulk.test "); got != 20 {
				t.Errorf("%d rows, want 20:\n%s", got, out.String())
			}
		})
	}
}

// TestBulkCancel: an interrupted run stops, says how far it went, and the summary
// counts the domains left unchecked.
func TestBulkCancel(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{Bulk: 100, Delay: 20 * time.Millisecond})
	e, out, _ := testEnv(t, srv, false)
	writeDomains(t, e, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := runVerify(ctx, e, []string{"--file", "d.txt", "--concurrency", "2"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("runVerify = %v, want the context's error", err)
	}
	if !strings.Contains(err.Error(), "of 100 domains checked") || !strings.Contains(out.String(), "unchecked") {
		t.Errorf("error %q, output\n%s", err, out.String())
	}
}

// TestCheckAllOrder: results come out in the order of the input whatever order the
// checks end in, and never more than n run at once.
func TestCheckAllOrder(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{Bulk: 50, Delay: 2 * time.Millisecond})
	e, _, _ := testEnv(t, srv, false)
	eng, _ := e.MTASTS()
	var domains []string
	for i := 50; i >= 1; i-- {
		domains = append(domains, fixtures.BulkDomain(i))
	}
	var got []string
	err := checkAll(context.Background(), domains, 5, eng.Verify, func(r mtasts.Report) error {
		got = append(got, r.Domain)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != strings.Join(domains, " ") {
		t.Errorf("order:\n got %v\nwant %v", got, domains)
	}
	if m := srv.MaxInFlight(); m > 5 {
		t.Errorf("%d policy requests at once, want at most 5", m)
	}
	// An error of emit stops the run.
	stop := errors.New("disk full")
	n := 0
	err = checkAll(context.Background(), domains, 5, eng.Verify, func(mtasts.Report) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("checkAll with a failing emit = %v after %d results, want %v after 3", err, n, stop)
	}
}

func TestReadDomains(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  string
	}{
		{name: "lines", in: "example.com\nExample.ORG.\n", want: []string{"example.com", "example.org"}},
		{name: "comments and columns", in: "# list\n\n  a.example  first\nb.example,2\n;,\nc.example;x\n",
			want: []string{"a.example", "b.example", "c.example"}},
		{name: "crlf", in: "a.example\r\nb.example\r\n", want: []string{"a.example", "b.example"}},
		{name: "bad line", in: "a.example\nnot_a.example\n", wantErr: "d.txt line 2"},
		{name: "empty", in: "# nothing\n", wantErr: "lists no domain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &shell.Env{Fs: afero.NewMemMapFs()}
			if err := e.Fs.MkdirAll(shell.ConfigDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := afero.WriteFile(e.Fs, shell.ConfigDir+"/d.txt", []byte(tt.in), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readDomains(e, "d.txt")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readDomains(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("readDomains(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestClip(t *testing.T) {
	if got := clip("RFC 8461 §3.2 says", 10); got != "RFC 846..." {
		t.Errorf("clip = %q", got)
	}
	if got := clip("§§§§§", 5); got != "§§§§§" {
		t.Errorf("clip = %q", got)
	}
}
