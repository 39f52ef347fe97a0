package mtastsverify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/shell"
)

// csvHeader names the columns of --csv.
var csvHeader = []string{"domain", "result", "record", "id", "policy", "mode", "max_age",
	"mx_hosts", "mx_matching", "mx_passing", "warnings", "fix"}

// readDomains reads the domains of a bulk file: one a line (the first word, so
// that a CSV column or a trailing comment may follow), blank lines and lines starting
// with # skipped. Every domain is checked before anything runs.
func readDomains(e *shell.Env, file string) ([]string, error) {
	data, err := e.ReadConfigFile(file, maxFileSize)
	if err != nil {
		return nil, fmt.Errorf("mtastsverify: %w", err)
	}
	var domains []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		words := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ';' })
		if len(words) == 0 {
			continue
		}
		d, err := checkDomain(words[0])
		if err != nil {
			return nil, fmt.Errorf("mtastsverify: %s line %d: %w; nothing was checked", file, n, err)
		}
		if len(domains) == MaxDomains {
			return nil, fmt.Errorf("mtastsverify: %s lists more than %d domains: split it; nothing was checked", file, MaxDomains)
		}
		domains = append(domains, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("mtastsverify: read %s: %w", file, err)
	}
	if len(domains) == 0 {
		return nil, fmt.Errorf("mtastsverify: %s lists no domain: write one domain a line", file)
	}
	return domains, nil
}

// row is what the table and the summary keep of one result.
type row struct {
	domain, result, record, policy, mode string
	mx, matching, passing                int
	fix                                  string
}

func rowOf(rep mtasts.Report) row {
	r := row{domain: rep.Domain, result: string(rep.Result), record: string(rep.Record.Status),
		policy: string(rep.Policy.Status), mode: string(rep.Policy.Mode), mx: len(rep.MXHosts)}
	for _, m := range rep.MXHosts {
		if m.MatchesPolicy {
			r.matching++
		}
		if passes(m) {
			r.passing++
		}
	}
	if fixes := fixesOf(rep); len(fixes) > 0 {
		r.fix = fixes[0]
	}
	return r
}

// runBulk checks every domain of o.file, o.concurrency at a time, and prints the
// results in the order of the file as they become ready, then the summary. With
// --json or --csv the results go to the output and the summary to the error
// output, so that the output holds only JSON Lines or CSV.
func runBulk(ctx context.Context, e *shell.Env, o options) error {
	domains, err := readDomains(e, o.file)
	if err != nil {
		return err
	}
	eng, err := e.MTASTS()
	if err != nil {
		return fmt.Errorf("mtastsverify: %w", err)
	}
	if o.policy {
		return runDecisions(ctx, e, o, eng, domains)
	}

	bar := newBar(e, len(domains))
	out := newEmitter(e.Out, o)
	rows := make([]row, 0, len(domains))
	emit := func(rep mtasts.Report) error {
		if bar != nil {
			bar.Clear()
		}
		rows = append(rows, rowOf(rep))
		err := out.write(rep)
		if bar != nil {
			bar.Add(1)
		}
		return err
	}
	checkErr := checkAll(ctx, domains, o.concurrency, eng.Verify, emit)
	if bar != nil {
		bar.Finish()
	}
	if err := out.flush(); err != nil && checkErr == nil {
		checkErr = err
	}
	sum := e.Out
	if o.json || o.csv {
		sum = e.Err
	}
	writeSummary(sum, rows, len(domains))
	if checkErr != nil {
		return fmt.Errorf("mtastsverify: %s: %w (%d of %d domains checked)", o.file, checkErr, len(rows), len(domains))
	}
	return nil
}

// newBar returns the progress bar of a bulk check on a terminal, nil otherwise.
func newBar(e *shell.Env, n int) *progressbar.ProgressBar {
	if !e.Terminal {
		return nil
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(e.Err),
		progressbar.OptionSetDescription("Checking MTA-STS"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100_000_000), // 100 ms
	)
}

// checkAll runs check on domains, at most n at a time, and hands the results to
// emit in the order of domains, each as soon as it and those before it are done.
// It stops at the first error of emit, or when ctx ends.
func checkAll[T any](ctx context.Context, domains []string, n int, check func(context.Context, string) T, emit func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		ready   = make(map[int]T)
		next    int
		emitErr error
		wg      sync.WaitGroup
	)
	work := make(chan int)
	for range min(n, len(domains)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				rep := check(ctx, domains[i])
				if ctx.Err() != nil {
					continue
				}
				mu.Lock()
				ready[i] = rep
				for emitErr == nil {
					r, ok := ready[next]
					if !ok {
						break
					}
					delete(ready, next)
					next++
					if emitErr = emit(r); emitErr != nil {
						cancel()
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range domains {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if emitErr != nil {
		return emitErr
	}
	return ctx.Err()
}

// emitter prints results in one of the three forms.
type emitter struct {
	w     io.Writer
	o     options
	csv   *csv.Writer
	table bool
	n     int
}

func newEmitter(w io.Writer, o options) *emitter {
	em := &emitter{w: w, o: o, table: !o.json && !o.csv}
	if o.csv {
		em.csv = csv.NewWriter(w)
	}
	return em
}

// tableFormat lays out a row of the table (the rows are printed as they come, so
// the columns have fixed widths). MX is "passing/total", "-/total" without a policy
// that applies.
const tableFormat = "%-32s %-8s %-8s %-11s %-7s %-5s %s\n"

func (em *emitter) write(rep mtasts.Report) error {
	defer func() { em.n++ }()
	switch {
	case em.o.json:
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(em.w, "%s\n", b)
		return err
	case em.csv != nil:
		if em.n == 0 {
			em.csv.Write(csvHeader)
		}
		r := rowOf(rep)
		age := ""
		if rep.Policy.MaxAge != nil {
			age = strconv.FormatInt(*rep.Policy.MaxAge, 10)
		}
		em.csv.Write([]string{r.domain, r.result, r.record, rep.Record.ID, r.policy, r.mode, age,
			strconv.Itoa(r.mx), strconv.Itoa(r.matching), strconv.Itoa(r.passing),
			strings.Join(rep.Policy.Warnings, "; "), strings.Join(fixesOf(rep), " ")})
		em.csv.Flush()
		return em.csv.Error()
	}
	if em.n == 0 {
		fmt.Fprintf(em.w, tableFormat, "Domain", "Result", "Record", "Policy", "Mode", "MX", "First thing to fix")
		fmt.Fprintf(em.w, tableFormat, strings.Repeat("-", 32), "--------", "--------", "-----------", "-------", "-----", strings.Repeat("-", 18))
	}
	r := rowOf(rep)
	mode := r.mode
	if mode == "" {
		mode = "-"
	}
	mx := fmt.Sprintf("%d/%d", r.passing, r.mx)
	if r.policy != string(mtasts.PolicyValid) || r.mode == string(mtasts.ModeNone) {
		mx = fmt.Sprintf("-/%d", r.mx)
	}
	line := fmt.Sprintf(tableFormat, r.domain, r.result, r.record, r.policy, mode, mx, clip(r.fix, 90))
	_, err := io.WriteString(em.w, strings.TrimRight(line, " \n")+"\n")
	return err
}

func (em *emitter) flush() error {
	if em.csv != nil {
		em.csv.Flush()
		return em.csv.Error()
	}
	return nil
}

// clip shortens s to n characters with "...".
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}

// writeSummary prints how many domains got each result, and the main reasons for
// the failures.
func writeSummary(w io.Writer, rows []row, total int) {
	counts := map[string]int{}
	reasons := map[string]int{}
	for _, r := range rows {
		counts[r.result]++
		if r.result == string(mtasts.VerdictFail) {
			reasons[failReason(r)]++
		}
	}
	fmt.Fprintf(w, "\nSummary of %s:\n", plural(total, "domain"))
	fmt.Fprintf(w, "%-10s %8s %7s\n", "Result", "Domains", "Share")
	fmt.Fprintf(w, "%-10s %8s %7s\n", "----------", "--------", "-------")
	for _, res := range []mtasts.Verdict{mtasts.VerdictPass, mtasts.VerdictFail, mtasts.VerdictNone, mtasts.VerdictTempFail} {
		n := counts[string(res)]
		fmt.Fprintf(w, "%-10s %8d %6.1f%%\n", res, n, share(n, total))
	}
	if len(rows) < total {
		fmt.Fprintf(w, "%-10s %8d %6.1f%%\n", "unchecked", total-len(rows), share(total-len(rows), total))
	}
	fmt.Fprintf(w, "%-10s %8d\n", "Total", total)
	if len(reasons) > 0 {
		fmt.Fprintf(w, "\nWhy the failures failed:\n")
		for _, k := range []string{"policy fetch error", "policy invalid", "no MX host", "MX not in policy", "MX TLS checks"} {
			if n := reasons[k]; n > 0 {
				fmt.Fprintf(w, "%-20s %8d\n", k, n)
			}
		}
	}
}

// failReason classifies a failed domain for the summary.
func failReason(r row) string {
	switch {
	case r.policy == string(mtasts.PolicyFetchError):
		return "policy fetch error"
	case r.policy == string(mtasts.PolicyInvalid):
		return "policy invalid"
	case r.mx == 0:
		return "no MX host"
	case r.matching == 0:
		return "MX not in policy"
	}
	return "MX TLS checks"
}

func share(n, total int) float64 {
	if total == 0 {
		return 0
	}
	return 100 * float64(n) / float64(total)
}
