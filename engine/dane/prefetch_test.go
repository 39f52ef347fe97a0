package dane

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/segcli/segcli/engine/dns"
)

// slowResolver answers through r after a delay, and counts the address
// lookups that were in flight at once.
type slowResolver struct {
	r             Resolver
	delay         time.Duration
	inFlight, max atomic.Int32
}

func (s *slowResolver) Lookup(ctx context.Context, name string, qtype uint16) (*dns.Result, error) {
	if qtype == dns.TypeA || qtype == dns.TypeAAAA {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.max.Load()
			if n <= m || s.max.CompareAndSwap(m, n) {
				break
			}
		}
	}
	time.Sleep(s.delay)
	return s.r.Lookup(ctx, name, qtype)
}

// TestGatherOverlapsAddressLookups: the A and AAAA lookups of every MX host are
// independent queries and run at once; the result is the same as when they ran
// one after the other (RFC 7672 §2.2.2 order of the decisions), and the TLSA
// lookup still waits for secure addresses.
func TestGatherOverlapsAddressLookups(t *testing.T) {
	p := testPKI(t)
	_, addr := startZone(t, p)
	want, err := Gather(t.Context(), newResolver(addr, false), "multi.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	const delay = 50 * time.Millisecond
	slow := &slowResolver{r: newResolver(addr, false), delay: delay}
	start := time.Now()
	got, err := Gather(t.Context(), slow, "multi.test", nil)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(summary(want), summary(got)); diff != "" {
		t.Errorf("overlapped lookups decide differently (-sequential +overlapped):\n%s", diff)
	}
	// Two hosts: four address lookups at once. MX, addresses, then the TLSA
	// lookups one host after the other: 1 + 1 + 2 delays, not 1 + 4 + 2.
	if m := slow.max.Load(); m != 4 {
		t.Errorf("%d address lookups at once, want 4 (A and AAAA of both hosts)", m)
	}
	if limit := 5 * delay; elapsed >= limit {
		t.Errorf("Gather took %v, want under %v", elapsed, limit)
	}
}
