package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// row is one figure of the side-by-side run.
type row struct {
	key, what, segcli, peer, floor, ratio, target, how string
	met                                                bool
	// why explains a miss, shown only when the target was missed.
	why string
}

// report collects the figures of a run.
type report struct {
	o                    runOptions
	started              time.Time
	rtt, baseRTT, tcpRTT time.Duration
	peerCached           float64
	rows                 []row
	gobench              []benchLine
	gobenchCmds          []string
	peerVersion          string
}

func newReport(o runOptions) *report {
	r := &report{o: o, started: time.Now(), peerVersion: "?"}
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "postfix-mta-sts-resolver").Output(); err == nil {
		r.peerVersion = strings.TrimSpace(string(out))
	}
	return r
}

// add records a row and prints it at once.
func (r *report) add(x row) {
	r.rows = append(r.rows, x)
	mark := "met"
	if !x.met {
		mark = "MISSED"
	}
	if x.target == "-" {
		mark = ""
	}
	fmt.Printf("%s\n  segcli: %s\n  peer:   %s\n  floor:  %s\n  ratio:  %s   target: %s %s\n", x.what, x.segcli, x.peer, x.floor, x.ratio, x.target, mark)
}

// benchLine is the median of one Go benchmark over its -count runs.
type benchLine struct {
	pkg, name         string
	ns, bytes, allocs float64
	extra             map[string]float64
	runs              int
	hasMem            bool
}

// addGoBench reads `go test -bench` output and keeps each benchmark's medians.
func (r *report) addGoBench(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	type acc struct {
		pkg               string
		ns, bytes, allocs []float64
		extra             map[string][]float64
	}
	all := map[string]*acc{}
	var order []string
	pkg := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/segcli/segcli/")
			continue
		}
		if strings.HasPrefix(line, "# command: ") {
			r.gobenchCmds = append(r.gobenchCmds, strings.TrimPrefix(line, "# command: "))
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		key := pkg + " " + fs[0]
		a := all[key]
		if a == nil {
			a = &acc{pkg: pkg, extra: map[string][]float64{}}
			all[key] = a
			order = append(order, key)
		}
		for i := 2; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				continue
			}
			switch unit := fs[i+1]; unit {
			case "ns/op":
				a.ns = append(a.ns, v)
			case "B/op":
				a.bytes = append(a.bytes, v)
			case "allocs/op":
				a.allocs = append(a.allocs, v)
			default:
				a.extra[unit] = append(a.extra[unit], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, k := range order {
		a := all[k]
		b := benchLine{pkg: a.pkg, name: strings.SplitN(k, " ", 2)[1], ns: med(a.ns), runs: len(a.ns), extra: map[string]float64{}}
		if len(a.bytes) > 0 {
			b.hasMem, b.bytes, b.allocs = true, med(a.bytes), med(a.allocs)
		}
		for u, vs := range a.extra {
			b.extra[u] = med(vs)
		}
		r.gobench = append(r.gobench, b)
	}
	return nil
}

func med(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[len(s)/2]
}

// find returns the median ns/op of the benchmark whose name starts with name.
func (r *report) find(pkg, name string) (benchLine, bool) {
	for _, b := range r.gobench {
		if b.pkg == pkg && (b.name == name || strings.HasPrefix(b.name, name+"-")) {
			return b, true
		}
	}
	return benchLine{}, false
}

// goTargets are the targets that Go benchmarks measure.
func (r *report) goTargets() []row {
	var rows []row
	if c, ok := r.find("store", "BenchmarkCommit10000"); ok {
		peer := "-"
		rat := "-"
		if p, ok := r.find("store", "BenchmarkWrite10000Plain"); ok {
			peer = fmt.Sprintf("%.0f ms (encode + os.WriteFile once)", p.ns/1e6)
			rat = fmt.Sprintf("%.2fx the plain write", c.ns/p.ns)
		}
		rows = append(rows, row{key: "commit", what: "Commit of 10,000 destination entries (lock, conflict check, two atomic writes with fsync)",
			segcli: fmt.Sprintf("%.0f ms", c.ns/1e6), peer: peer, floor: "-", ratio: rat,
			target: "< 200 ms", met: c.ns < 200e6, how: "`BenchmarkCommit10000` (store)"})
	}
	if s, ok := r.find("cmd/segcli", "BenchmarkStartup"); ok {
		peer, rat := "-", "-"
		if p, ok := r.find("cmd/segcli", "BenchmarkStartupFloor"); ok {
			peer = fmt.Sprintf("%.0f µs (read and decode running.toml)", p.ns/1e3)
			rat = fmt.Sprintf("%.1fx the floor", s.ns/p.ns)
		}
		rows = append(rows, row{key: "startup-go", what: "Start-up in process: flags, open the store, read the head revision, build the shell",
			segcli: fmt.Sprintf("%.0f µs", s.ns/1e3), peer: peer, floor: "-", ratio: rat,
			target: "< 30 ms", met: s.ns < 30e6, how: "`BenchmarkStartup` (cmd/segcli)"})
	}
	return rows
}

// printSummary prints every target and whether it was met.
func (r *report) printSummary(w io.Writer) {
	fmt.Fprintf(w, "\n== summary (round trip %s measured for %s configured)\n", ms(r.rtt), r.o.rtt)
	for _, x := range append(slices.Clone(r.rows), r.goTargets()...) {
		if x.target == "-" {
			continue
		}
		mark := "met   "
		if !x.met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "%s  %-28s %-40s %s\n", mark, x.key, x.target, x.ratio)
		if !x.met && x.why != "" {
			fmt.Fprintf(w, "        why: %s\n", x.why)
		}
	}
}

// writeMarkdown rewrites the generated part of BENCHMARKS.md (between the
// markers) and leaves the rest as it is.
func (r *report) writeMarkdown(file string) error {
	const begin, end = "<!-- make bench: begin -->", "<!-- make bench: end -->"
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var b strings.Builder
	b.WriteString(begin + "\n")
	r.markdown(&b)
	b.WriteString(end)
	s := string(old)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + b.String() + s[j+len(end):]
	default:
		s = "# Benchmarks\n\n" + b.String() + "\n" + s
	}
	return os.WriteFile(file, []byte(s), 0o644)
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func (r *report) markdown(w io.Writer) {
	fmt.Fprintf(w, "## Side by side with postfix-mta-sts-resolver (`make bench`)\n\n")
	fmt.Fprintf(w, "Written by `make bench` on %s (%s, %d CPUs, %s). Everything ran in a network namespace\n",
		r.started.UTC().Format("2006-01-02"), runtime.GOOS+"/"+runtime.GOARCH, onlineCPUs(), runtime.Version())
	fmt.Fprintf(w, "with only its loopback interface: the lab's DNS server on 127.0.0.1:53 (playing a validating\n")
	fmt.Fprintf(w, "resolver), policy hosts on 127.0.2.1:443 and MX hosts on 127.0.3.1:25, for any number of\n")
	fmt.Fprintf(w, "domains. The fixtures and the driver ran on CPU %s; the process measured (segcli, or the\n", fixtureCPU)
	fmt.Fprintf(w, "peer's `mta-sts-daemon` %s from Debian, with an in-memory cache, fed through its socketmap)\n", r.peerVersion)
	fmt.Fprintf(w, "alone on CPU %s.\n", measuredCPU)
	fmt.Fprintf(w, "Round trips were delayed by holding each packet for half the round trip in an NFQUEUE\n")
	fmt.Fprintf(w, "(`bench/lab delay`): configured %s, measured %s for a DNS query and %s for a TCP\n", r.o.rtt, ms(r.rtt), ms(r.tcpRTT))
	fmt.Fprintf(w, "connect (%s without the delay). Floors are whole round trips of the measured length.\n\n", us(r.baseRTT))
	fmt.Fprintf(w, "| figure | segcli | peer | floor | ratio | target | met |\n|---|---|---|---|---|---|---|\n")
	for _, x := range append(slices.Clone(r.rows), r.goTargets()...) {
		met := "yes"
		if !x.met {
			met = "**no**"
		}
		if x.target == "-" {
			met = "-"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", cell(x.what), cell(x.segcli), cell(x.peer), cell(x.floor), cell(x.ratio), cell(x.target), met)
	}
	var missed []row
	for _, x := range append(slices.Clone(r.rows), r.goTargets()...) {
		if !x.met && x.target != "-" {
			missed = append(missed, x)
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(w, "\nTargets missed in this run, by how much and why:\n\n")
		for _, x := range missed {
			fmt.Fprintf(w, "- %s: %s, target %s. %s\n", x.key, x.ratio, x.target, x.why)
		}
	}
	fmt.Fprintf(w, "\nHow each was measured:\n\n")
	for _, x := range append(slices.Clone(r.rows), r.goTargets()...) {
		fmt.Fprintf(w, "- %s: %s\n", x.key, x.how)
	}
	if len(r.gobench) == 0 {
		return
	}
	fmt.Fprintf(w, "\n## Go benchmarks (`make bench`)\n\n")
	if len(r.gobenchCmds) > 0 {
		fmt.Fprintf(w, "Commands, one a package; the table gives the median of each benchmark's runs:\n\n")
		for _, c := range r.gobenchCmds {
			fmt.Fprintf(w, "- `%s`\n", c)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| package | benchmark | runs | time/op | B/op | allocs/op | other |\n|---|---|---|---|---|---|---|\n")
	for _, b := range r.gobench {
		mem, allocs := "-", "-"
		if b.hasMem {
			mem, allocs = strconv.FormatFloat(b.bytes, 'f', 0, 64), strconv.FormatFloat(b.allocs, 'f', 0, 64)
		}
		var extra []string
		for _, u := range sortedKeys(b.extra) {
			extra = append(extra, fmt.Sprintf("%.4g %s", b.extra[u], u))
		}
		fmt.Fprintf(w, "| %s | `%s` | %d | %s | %s | %s | %s |\n", b.pkg, b.name, b.runs, nsText(b.ns), mem, allocs, strings.Join(extra, ", "))
	}
}

func sortedKeys(m map[string]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func nsText(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

// onlineCPUs counts the machine's processors (runtime.NumCPU counts those
// this process may run on, and the driver is pinned to one).
func onlineCPUs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	return strings.Count(string(b), "\nprocessor") + btoi(strings.HasPrefix(string(b), "processor"))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
