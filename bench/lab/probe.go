package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segcli/segcli/engine/mtasts"
)

// probeResult is what `lab probe` prints: measurements of segcli's engine and
// shell, made in a process of their own on the measured core, as the peer's
// daemon is measured on it.
type probeResult struct {
	Durations   []time.Duration `json:"durations"`
	NsPerOp     int64           `json:"ns_per_op,omitempty"`
	AllocsPerOp int64           `json:"allocs_per_op,omitempty"`
	Rate        float64         `json:"rate,omitempty"`
}

// probe measures one kind of decision, n times, on the domains prefix0,
// prefix1, ... under the lab's zone:
//
//	policy   Engine.Policy on new domains (the cold fetch)
//	verify   Engine.Verify on new domains (mtastsverify's check)
//	dane     the daneverify command in a shell session, on new domains
//	failing  Engine.Policy on one failing domain, n+1 times (the first fetches)
//	cached   Engine.Policy on n domains fetched first, as a benchmark
func probe(ctx context.Context, work, caFile, kind string, n int, prefix string) (probeResult, error) {
	var res probeResult
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return res, err
	}
	l := &lab{o: runOptions{work: work}, ca: ca}
	eng, err := l.engine()
	if err != nil {
		return res, err
	}
	name := func(i int) string { return fmt.Sprintf("%s%d.bench.test", prefix, i) }
	timed := func(f func(i int) error) error {
		for i := range n {
			start := time.Now()
			if err := f(i); err != nil {
				return err
			}
			res.Durations = append(res.Durations, time.Since(start))
		}
		return nil
	}
	switch kind {
	case "policy":
		err = timed(func(i int) error {
			r, err := eng.Policy(ctx, name(i))
			if err != nil || r.Action != mtasts.Apply {
				return fmt.Errorf("%s: %v %v %s", name(i), r.Action, err, r.Reason)
			}
			return nil
		})
	case "verify":
		err = timed(func(i int) error {
			rep := eng.Verify(ctx, name(i))
			if rep.Result != mtasts.VerdictPass {
				b, _ := json.Marshal(rep)
				return fmt.Errorf("%s: result %s: %s", name(i), rep.Result, b)
			}
			return nil
		})
	case "dane":
		sh, serr := l.shell(ctx)
		if serr != nil {
			return res, serr
		}
		err = timed(func(i int) error {
			out, err := sh.run(ctx, "daneverify "+name(i))
			if err != nil || !strings.Contains(out, "DANE SUCCESS") {
				return fmt.Errorf("daneverify %s: %v\n%s", name(i), err, out)
			}
			return nil
		})
	case "failing":
		n++
		err = timed(func(int) error {
			r, _ := eng.Policy(ctx, name(1))
			if r.Action != mtasts.NoPolicy {
				return fmt.Errorf("failing domain: %v (%s)", r.Action, r.Reason)
			}
			return nil
		})
	case "cached":
		for i := range n {
			if r, err := eng.Policy(ctx, name(i)); err != nil || r.Action != mtasts.Apply {
				return res, fmt.Errorf("warming %s: %v %v", name(i), r.Action, err)
			}
		}
		domains := make([]string, n)
		for i := range domains {
			domains[i] = name(i)
		}
		bad := 0
		br := testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if r, _ := eng.Policy(ctx, domains[i%n]); r.Action != mtasts.Apply {
					bad++
				}
			}
		})
		if bad > 0 {
			return res, fmt.Errorf("%d cached decisions were not apply", bad)
		}
		res.NsPerOp, res.AllocsPerOp, res.Rate = br.NsPerOp(), br.AllocsPerOp(), float64(br.N)/br.T.Seconds()
	default:
		err = fmt.Errorf("unknown probe %q", kind)
	}
	return res, err
}

// probeAt switches the delay on or off, then probes.
func (l *lab) probeAt(ctx context.Context, delayed bool, kind string, n int, prefix string) (probeResult, error) {
	if err := l.setDelay(delayed); err != nil {
		return probeResult{}, err
	}
	return l.probe(ctx, kind, n, prefix)
}

// probe runs `lab probe` on the measured core and returns its result.
func (l *lab) probe(ctx context.Context, kind string, n int, prefix string) (probeResult, error) {
	var res probeResult
	cmd := exec.CommandContext(ctx, "taskset", "-c", measuredCPU, l.self, "probe",
		"-work", l.o.work, "-ca", l.caFile, "-kind", kind, "-n", strconv.Itoa(n), "-prefix", prefix)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return res, fmt.Errorf("probe %s: %w", kind, err)
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("probe %s: %w", kind, err)
	}
	return res, nil
}
