package mtastsverify_test

import (
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/segcli/segcli/transcripts/fixtures"
)

// decisionWant is the action --policy gives for BulkDomain(i) (RFC 8461 §5.1): a
// valid policy applies (also when no MX host would pass: that is the delivery's
// business), a failed fetch with nothing cached and no record mean no policy.
func decisionWant(i int) string {
	if fixtures.BulkResult(i) == "pass" {
		return "apply"
	}
	return "no-policy"
}

// TestPolicyDecisions takes the decisions for 50 domains twice, 8 at a time: the
// first run fetches each policy once (§3.3) and caches the valid ones, the second
// answers every valid one from the cache without a request to a policy host; a
// domain whose fetch failed is not fetched again within the session's hold-off.
func TestPolicyDecisions(t *testing.T) {
	const n = 50
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{Bulk: n})
	d := newDataDir(t, srv)
	d.write(t, "domains.txt", bulkFile(n))

	run := func(wantSource string) {
		t.Helper()
		stdout, stderr, status := d.session(t, "mtastsverify --policy --file domains.txt --csv --concurrency 8", "")
		if status != 0 {
			t.Fatalf("exit status %d: %s", status, stderr)
		}
		rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n+1 || strings.Join(rows[0], ",") != "domain,action,mode,id,source,expires,mx,reason" {
			t.Fatalf("%d rows, header %q", len(rows), rows[0])
		}
		for i, r := range rows[1:] {
			want := decisionWant(i + 1)
			if r[0] != fixtures.BulkDomain(i+1) || r[1] != want {
				t.Errorf("row %d = %q %q, want %q %q", i+1, r[0], r[1], fixtures.BulkDomain(i+1), want)
			}
			if want == "apply" && (r[4] != wantSource || r[2] != "enforce" || r[6] == "") {
				t.Errorf("row %d: mode %q source %q mx %q, want enforce from %s with MX patterns", i+1, r[2], r[4], r[6], wantSource)
			}
		}
		apply := 0
		for i := 1; i <= n; i++ {
			if decisionWant(i) == "apply" {
				apply++
			}
		}
		if line := fmt.Sprintf("apply      %8d", apply); !strings.Contains(stderr, line) {
			t.Errorf("summary on stderr:\n%s\nwant %q", stderr, line)
		}
	}
	run("fetched")
	first := srv.Requests()
	wantFetches := 0
	for i := 1; i <= n; i++ {
		if fixtures.BulkResult(i) != "none" {
			wantFetches++
		}
	}
	if first != wantFetches {
		t.Errorf("first run: %d policy requests, want %d (one per domain with a record)", first, wantFetches)
	}
	failing := 0
	for i := 1; i <= n; i++ {
		if fixtures.BulkResult(i) == "fail" {
			failing++
		}
	}
	// A new session: the valid policies come from the policy cache on disk; the
	// hold-off of failed fetches lives in the session's engine, so the failing
	// domains are fetched once more.
	run("cache")
	if got := srv.Requests() - first; got != failing {
		t.Errorf("second session: %d policy requests, want %d (the failing domains only)", got, failing)
	}
	// Within one session the failures are held off: two runs, no new fetch in the
	// second.
	before := srv.Requests()
	_, stderr, status := d.session(t, "mtastsverify --policy --file domains.txt --csv; mtastsverify --policy --file domains.txt --csv", "")
	if status != 0 {
		t.Fatalf("exit status %d: %s", status, stderr)
	}
	if got := srv.Requests() - before; got != failing {
		t.Errorf("one session, two runs: %d policy requests, want %d (failures held off in the second)", got, failing)
	}
}

// TestPolicyDecisionSingle prints one decision, as text and JSON.
func TestPolicyDecisionSingle(t *testing.T) {
	srv := fixtures.StartMTASTS(t, fixtures.MTASTSOptions{Bulk: 1})
	d := newDataDir(t, srv)
	stdout, stderr, status := d.session(t, "mtastsverify --policy "+fixtures.BulkDomain(1), "")
	if status != 0 {
		t.Fatalf("exit status %d: %s", status, stderr)
	}
	for _, want := range []string{"MTA-STS decision for d00001.bulk.test: apply (fetched).", "mode enforce, from the policy host", "MX hosts allowed: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	stdout, stderr, status = d.session(t, "mtastsverify --policy --json "+fixtures.BulkDomain(1), "")
	if status != 0 {
		t.Fatalf("exit status %d: %s", status, stderr)
	}
	v := decodeOne(t, stdout)
	if v["action"] != "apply" || v["source"] != "cache" || v["mode"] != "enforce" {
		t.Errorf("JSON = %v, want action apply, source cache, mode enforce", v)
	}
}
