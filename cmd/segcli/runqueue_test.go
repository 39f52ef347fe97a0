package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/transcripts/fixtures"
)

// TestRunQueue: segcli --run-queue delivers the queued mail that is due and exits
// quietly; a message the server defers stays queued with its attempt counted; what
// happened is in the mail log. The routes point at loopback listeners, and the
// resolver at a closed loopback port, so nothing leaves the machine.
func TestRunQueue(t *testing.T) {
	srv := fixtures.StartDeliver(t)
	accept := srv.Redirect[net.JoinHostPort("192.0.2.25", "25")]
	deferring := srv.Redirect[net.JoinHostPort("192.0.2.26", "25")]
	resolver := "127.0.0.1:" + strconv.Itoa(fixtures.ClosedPort(t))
	dir := t.TempDir()
	if _, stderr, code := segcli(t, "", "--data-dir", dir, "--resolver", resolver, "-c",
		"smtproutes new sink.test "+accept+"; smtproutes new later.test "+deferring+`; commit "routes"`); code != 0 {
		t.Fatalf("setup: exit %d: %s", code, stderr)
	}
	q, err := queue.Open(queue.Config{Fs: afero.NewBasePathFs(afero.NewOsFs(), dir)})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"user@sink.test", "user@later.test"} {
		if _, err := q.Enqueue(context.Background(), queue.Envelope{From: "admin@esa.test", To: []string{to}}, []byte("Subject: cron\r\n\r\nhello\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	stdout, stderr, code := segcli(t, "", "--data-dir", dir, "--resolver", resolver, "--run-queue")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("--run-queue: exit %d, stdout %q, stderr %q; want 0 and nothing printed", code, stdout, stderr)
	}
	if got := srv.Delivered(); len(got) != 1 || got[0].To[0] != "user@sink.test" {
		t.Errorf("delivered %+v, want the message to sink.test", got)
	}
	msgs, err := q.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Recipients[0].To != "user@later.test" || msgs[0].Recipients[0].Attempts != 1 ||
		msgs[0].Recipients[0].Reason != fixtures.DeliverDeferReply {
		t.Errorf("queue after the run: %+v", msgs)
	}
	log, err := os.ReadFile(filepath.Join(dir, "logs", "mail_logs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Queue run: 2 message deliveries attempted; 1 messages left in the queue", "MTA-STS policy refresh: "} {
		if !strings.Contains(string(log), want) {
			t.Errorf("mail_logs has no %q:\n%s", want, log)
		}
	}
	// The deferred message is not due yet: a second run attempts nothing.
	if _, stderr, code := segcli(t, "", "--data-dir", dir, "--resolver", resolver, "--run-queue"); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if msgs, _ := q.List(context.Background()); len(msgs) != 1 || msgs[0].Recipients[0].Attempts != 1 {
		t.Errorf("queue after the second run: %+v", msgs)
	}
}

// TestRunQueueErrors: bad combinations are usage errors (2); a configuration that
// cannot deliver is an error (1) that says what to do.
func TestRunQueueErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--run-queue", "-c", "help"},
		{"--run-queue", "--record", "x.txt"},
		{"--run-queue", "--replay", "x.txt"},
	} {
		_, stderr, code := segcli(t, "", append([]string{"--data-dir", t.TempDir()}, args...)...)
		if code != 2 || !strings.Contains(stderr, "--run-queue cannot be combined") {
			t.Errorf("segcli %v = %d, stderr %q; want 2", args, code, stderr)
		}
	}
	// dnsconfig's default reads the machine's resolv.conf; with none usable the
	// run fails before any lookup. Simulate it with a data directory whose dnsconfig
	// names no server.
	dir := t.TempDir()
	if _, stderr, code := segcli(t, "", "--data-dir", dir, "-c", "help"); code != 0 {
		t.Fatal(stderr)
	}
	running := filepath.Join(dir, "config", "running.toml")
	data, err := os.ReadFile(running)
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "use_resolv_conf = true", "use_resolv_conf = false", 1))
	if err := os.WriteFile(running, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := segcli(t, "", "--data-dir", dir, "--run-queue")
	if code != 1 || !strings.Contains(stderr, "dnsconfig") {
		t.Errorf("--run-queue without DNS servers: exit %d, stderr %q", code, stderr)
	}
}
