package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/sync/errgroup"

	"github.com/segcli/segcli/engine/dns"
	"github.com/segcli/segcli/engine/mtasts"
)

// runOptions are the flags of lab run.
type runOptions struct {
	segcli, work, peer, gobench, write string
	domains, concurrency               int
	rtt                                time.Duration
}

// The cores: the fixtures, the delay and the driver (with its in-process
// measurements of the engine) on one, the process measured (segcli or the
// peer's daemon) alone on the other.
const (
	fixtureCPU  = "0"
	measuredCPU = "1"
	peerAddr    = "127.0.0.1:8461"
	nfQueue     = 1
)

// lab is one run.
type lab struct {
	o      runOptions
	self   string
	caFile string
	ca     []byte
	rep    *report
	// children are killed at the end, whatever happens.
	mu       sync.Mutex
	children []*exec.Cmd
	delayOn  bool
}

func run(ctx context.Context, o runOptions) (err error) {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.segcli, err = filepath.Abs(o.segcli); err != nil {
		return err
	}
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	l := &lab{o: o, self: self, caFile: filepath.Join(o.work, "ca.pem"), rep: newReport(o)}
	defer l.stopAll()
	if err := isolated(); err != nil {
		return err
	}
	if err := l.startServe(ctx); err != nil {
		return err
	}
	if err := l.startDelay(ctx); err != nil {
		return err
	}
	defer l.setDelay(false)
	if err := l.startPeer(ctx); err != nil {
		return err
	}

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"calibration", l.calibrate},
		{"cold policy fetch", l.coldFetch},
		{"cold full check", l.fullCheck},
		{"failing domain", l.failingDomain},
		{"cached answers", l.cachedAnswers},
		{"bulk", l.bulk},
		{"start-up", l.startup},
		{"replay", l.replayRun},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Printf("\n== %s\n", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	if o.gobench != "" {
		if err := l.rep.addGoBench(o.gobench); err != nil {
			return err
		}
	}
	l.rep.printSummary(os.Stdout)
	if o.write != "" {
		if err := l.rep.writeMarkdown(o.write); err != nil {
			return err
		}
		fmt.Printf("\nwrote %s\n", o.write)
	}
	return nil
}

// isolated checks that this namespace reaches nothing but itself.
func isolated() error {
	out, err := exec.Command("ip", "route", "get", "1.1.1.1").CombinedOutput()
	if err == nil {
		return fmt.Errorf("this network namespace has a route out (%s): run the lab inside the namespace `make bench` makes", strings.TrimSpace(string(out)))
	}
	return nil
}

// start runs the command pinned to cpu and waits for the line "ready" on its
// output when wantReady. The child dies with the driver.
func (l *lab) start(ctx context.Context, cpu string, env []string, wantReady bool, name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	var out io.ReadCloser
	if wantReady {
		var err error
		if out, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.children = append(l.children, cmd)
	l.mu.Unlock()
	if !wantReady {
		return cmd, nil
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				io.Copy(io.Discard, out)
				return
			}
		}
		ready <- fmt.Errorf("%s ended before it was ready", name)
	}()
	select {
	case err := <-ready:
		return cmd, err
	case <-time.After(20 * time.Second):
		return cmd, fmt.Errorf("%s not ready after 20 s", name)
	case <-ctx.Done():
		return cmd, ctx.Err()
	}
}

// stopAll ends every child: SIGTERM, then SIGKILL after a second.
func (l *lab) stopAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.children {
		syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	for _, c := range l.children {
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	l.children = nil
}

func (l *lab) startServe(ctx context.Context) error {
	if _, err := l.start(ctx, fixtureCPU, nil, true, l.self, "serve", "-ca", l.caFile); err != nil {
		return err
	}
	var err error
	l.ca, err = os.ReadFile(l.caFile)
	return err
}

// startDelay starts the packet holder; setDelay switches the rule that sends
// packets to it. The socketmap and control ports are never delayed: they stand
// for a local socket, not the internet.
func (l *lab) startDelay(ctx context.Context) error {
	per := l.o.rtt / 2
	_, err := l.start(ctx, fixtureCPU, nil, true, l.self, "delay", "-queue", strconv.Itoa(nfQueue), "-per-packet", per.String())
	return err
}

func (l *lab) setDelay(on bool) error {
	if on == l.delayOn {
		return nil
	}
	op := "-D"
	if on {
		op = "-A"
	}
	rules := [][]string{
		{"OUTPUT", "-o", "lo", "-p", "tcp", "--dport", "8461", "-j", "ACCEPT"},
		{"OUTPUT", "-o", "lo", "-p", "tcp", "--sport", "8461", "-j", "ACCEPT"},
		{"OUTPUT", "-o", "lo", "-p", "tcp", "--dport", "8462", "-j", "ACCEPT"},
		{"OUTPUT", "-o", "lo", "-p", "tcp", "--sport", "8462", "-j", "ACCEPT"},
		{"OUTPUT", "-o", "lo", "-j", "NFQUEUE", "--queue-num", strconv.Itoa(nfQueue), "--queue-bypass"},
	}
	for _, r := range rules {
		if out, err := exec.Command("iptables", append([]string{op}, r...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %s %s: %v: %s", op, strings.Join(r, " "), err, out)
		}
	}
	l.delayOn = on
	return nil
}

// startPeer starts postfix-mta-sts-resolver's daemon on its own core, with
// an in-memory cache, trusting the lab's CA.
func (l *lab) startPeer(ctx context.Context) error {
	cfg := filepath.Join(l.o.work, "mta-sts-daemon.yml")
	conf := `host: 127.0.0.1
port: 8461
reuse_port: true
shutdown_timeout: 1
cache_grace: 60
cache:
  type: internal
  options:
    cache_size: 200000
default_zone:
  strict_testing: false
  timeout: 4
`
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return err
	}
	if _, err := l.start(ctx, measuredCPU, []string{"SSL_CERT_FILE=" + l.caFile}, false, l.o.peer, "-c", cfg, "-v", "error"); err != nil {
		return fmt.Errorf("peer: %w (install postfix-mta-sts-resolver)", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", peerAddr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("peer: not listening on %s after 20 s: %w", peerAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counters reads the fixture's counters.
func (l *lab) counters() (snapshot, error) {
	var s snapshot
	resp, err := http.Get("http://" + controlAddr + "/")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&s)
	return s, err
}

// engine returns segcli's MTA-STS engine as the shell builds it: the resolver
// on the lab's DNS server, the lab's CA, an in-memory policy cache.
func (l *lab) engine() (*mtasts.Engine, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(l.ca) {
		return nil, errors.New("no CA certificate")
	}
	r := dns.New(dns.Config{Servers: []dns.Server{{Addr: dnsAddr}}})
	return mtasts.New(mtasts.Config{Resolver: r, RootCAs: pool, EHLOName: "esa.test"})
}

// rtt measures the round trip: sequential DNS queries over UDP.
func rttOf(n int) (time.Duration, error) {
	c := &mdns.Client{Net: "udp", Timeout: 5 * time.Second}
	var ds []time.Duration
	for i := range n {
		m := new(mdns.Msg)
		m.SetQuestion(fmt.Sprintf("_mta-sts.k%d.bench.test.", i), mdns.TypeTXT)
		start := time.Now()
		if _, _, err := c.Exchange(m, dnsAddr); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

// tcpRTT measures a TCP connect to a policy host (one round trip).
func tcpRTT(n int) (time.Duration, error) {
	var ds []time.Duration
	for range n {
		start := time.Now()
		c, err := net.DialTimeout("tcp", net.JoinHostPort(policyAddr, "443"), 5*time.Second)
		if err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
		c.Close()
	}
	return median(ds), nil
}

func (l *lab) calibrate(ctx context.Context) error {
	base, err := rttOf(21)
	if err != nil {
		return err
	}
	if err := l.setDelay(true); err != nil {
		return err
	}
	udp, err := rttOf(21)
	if err != nil {
		return err
	}
	tcp, err := tcpRTT(21)
	if err != nil {
		return err
	}
	l.rep.rtt = udp
	l.rep.baseRTT = base
	l.rep.tcpRTT = tcp
	fmt.Printf("round trip: %s configured, %s measured (UDP query), %s (TCP connect); %s without delay\n",
		l.o.rtt, ms(udp), ms(tcp), us(base))
	if udp < l.o.rtt*9/10 || udp > l.o.rtt*3/2 {
		return fmt.Errorf("measured round trip %s is far from the configured %s: is the NFQUEUE rule in place?", udp, l.o.rtt)
	}
	return nil
}

// coldFetch: one domain's policy, nothing cached, at the delayed round trip.
// The floor is four round trips: TXT and the policy host's address (which
// can overlap), TCP, TLS 1.3, GET.
func (l *lab) coldFetch(ctx context.Context) error {
	const n = 15
	pr, err := l.probeAt(ctx, true, "policy", n, "ca")
	if err != nil {
		return err
	}
	seg, peer := pr.Durations, []time.Duration(nil)
	sm, err := dialSocketmap(peerAddr)
	if err != nil {
		return err
	}
	defer sm.Close()
	for i := range n {
		d := fmt.Sprintf("cb%d.bench.test", i)
		start := time.Now()
		reply, err := sm.query("postfix", d, 30*time.Second)
		el := time.Since(start)
		if err != nil || !strings.HasPrefix(reply, "OK secure match=mx."+d) {
			return fmt.Errorf("peer: %s: %q %v", d, reply, err)
		}
		peer = append(peer, el)
	}
	floor := 4 * l.rep.rtt
	s, p := median(seg), median(peer)
	l.rep.add(row{
		key: "cold", what: "Cold MTA-STS policy fetch, one domain, at the delayed round trip (median of 15)",
		segcli: ms(s), peer: ms(p), floor: ms(floor) + " (4 RTT)",
		ratio:  ratio(s, floor) + " of the floor; " + ratio(s, p) + " of the peer",
		target: "<= 1.05x the floor, faster than the peer", met: s <= floor*105/100 && s < p,
		why: "Four round trips cannot be avoided (TXT beside the policy host's address, TCP, TLS 1.3, GET); " +
			"what is left is work on the two cores: in a trace of one fetch the client spent about 2 ms between the " +
			"server's handshake flight and its Finished (X25519MLKEM768 and the ECDSA chain check) and sent its three " +
			"DNS questions 0.5 ms apart, and the fixture's server and the delay share the other core. Runs of the lab " +
			"have measured 1.03x to 1.07x: the target is inside the machine's noise.",
		how: "Engine.Policy on new domains in `lab probe`, a process on the measured core; the peer's daemon through its socketmap",
	})
	// The same through the command line, whole process (start-up included).
	data := l.dataDir("cold-cli")
	var cli []time.Duration
	for i := range 7 {
		d := fmt.Sprintf("cc%d.bench.test", i)
		start := time.Now()
		if out, err := l.segcli(ctx, data, "mtastsverify --policy "+d); err != nil {
			return fmt.Errorf("segcli mtastsverify --policy %s: %v\n%s", d, err, out)
		}
		cli = append(cli, time.Since(start))
	}
	c := median(cli)
	l.rep.add(row{
		key: "cold-cli", what: "The same through the shell: `segcli -c \"mtastsverify --policy DOMAIN\"`, whole process (median of 7)",
		segcli: ms(c), peer: ms(p) + " (daemon)", floor: ms(floor),
		ratio:  ratio(c, floor) + " of the floor; " + ratio(c, p) + " of the peer",
		target: "-", met: true,
		how: "includes process start-up and opening the data directory",
	})
	return nil
}

// fullCheck: mtastsverify's whole check, and daneverify's DANE decision, on
// new domains at the delayed round trip. Each floor is the longest chain of
// round trips that cannot overlap. mtastsverify: MX, the MX host's address,
// TCP connect and banner (2), EHLO, STARTTLS, the TLS 1.3 handshake and the
// QUIT that RFC 5321 §4.1.1.10 says to wait for: 8 (the policy's four round
// trips run beside them). daneverify: the same and the TLSA lookup, which
// cannot overlap the connection: a host whose TLSA RRset turns out bogus must
// not be connected to at all (RFC 7672 §2.1.1; the interop tier checks that
// Postfix sees no connection): 9.
func (l *lab) fullCheck(ctx context.Context) error {
	const n = 9
	pr, err := l.probeAt(ctx, true, "verify", n, "va")
	if err != nil {
		return err
	}
	ds := pr.Durations
	floor := 8 * l.rep.rtt
	v := median(ds)
	l.rep.add(row{
		key: "full", what: "Cold full check, `mtastsverify DOMAIN`: TXT, policy, MX, addresses, STARTTLS probe with PKIX check (median of 9)",
		segcli: ms(v), peer: "-", floor: ms(floor) + " (8 RTT)",
		ratio: ratio(v, floor) + " of the floor", target: "<= 1.10x the floor", met: v <= floor*110/100,
		how: "Engine.Verify on new domains (`lab probe`, a process on the measured core)",
	})

	if pr, err = l.probe(ctx, "dane", n, "ea"); err != nil {
		return err
	}
	ds = pr.Durations
	dv := median(ds)
	daneFloor := 9 * l.rep.rtt
	l.rep.add(row{
		key: "dane", what: "Cold DANE decision, `daneverify DOMAIN`: MX, addresses, then TLSA, STARTTLS, DANE-EE match (median of 9)",
		segcli: ms(dv), peer: "-", floor: ms(daneFloor) + " (9 RTT)",
		ratio: ratio(dv, daneFloor) + " of the floor", target: "<= 1.10x the floor", met: dv <= daneFloor*110/100,
		how: "the daneverify command in a shell session (`lab probe`, a process on the measured core)",
	})
	return nil
}

// failingDomain: a domain whose policy host answers 404, asked again and
// again. segcli holds a failed fetch off (RFC 8461 §3.3); the peer fetches
// every time.
func (l *lab) failingDomain(ctx context.Context) error {
	const n = 10
	if err := l.setDelay(true); err != nil {
		return err
	}
	before, err := l.counters()
	if err != nil {
		return err
	}
	pr, err := l.probe(ctx, "failing", n, "fa")
	if err != nil {
		return err
	}
	first, seg := pr.Durations[0], pr.Durations[1:]
	mid, err := l.counters()
	if err != nil {
		return err
	}
	sm, err := dialSocketmap(peerAddr)
	if err != nil {
		return err
	}
	defer sm.Close()
	var peer []time.Duration
	for range n + 1 {
		start := time.Now()
		reply, err := sm.query("postfix", "fb1.bench.test", 30*time.Second)
		if err != nil || !strings.HasPrefix(reply, "NOTFOUND") {
			return fmt.Errorf("peer: failing domain: %q %v", reply, err)
		}
		peer = append(peer, time.Since(start))
	}
	after, err := l.counters()
	if err != nil {
		return err
	}
	s, p := slices.Max(seg), median(peer[1:])
	l.rep.add(row{
		key: "failing", what: fmt.Sprintf("A failing domain (policy host answers 404) asked %d more times after the first, at the delayed round trip", n),
		segcli: fmt.Sprintf("slowest %s (first %s); %d fetch in all", us(s), ms(first), mid.HTTPS-before.HTTPS),
		peer:   fmt.Sprintf("median %s; %d fetches in all", ms(p), after.HTTPS-mid.HTTPS),
		floor:  "-", ratio: ratio(s, p) + " of the peer",
		target: "< 1 ms from the negative cache", met: s < time.Millisecond,
		how: "Engine.Policy in `lab probe` on the measured core; the peer's daemon through its socketmap",
	})
	return nil
}

// cachedAnswers: decisions for domains whose policy is cached, without delay.
func (l *lab) cachedAnswers(ctx context.Context) error {
	const warm = 1000
	pr, err := l.probeAt(ctx, false, "cached", warm, "wa")
	if err != nil {
		return err
	}
	segRate := pr.Rate

	// The peer: the same number of domains fetched once, then asked by
	// 64 connections for 5 s (inside its 60 s cache grace).
	peerDomains := make([]string, warm)
	for i := range peerDomains {
		peerDomains[i] = fmt.Sprintf("wb%d.bench.test", i)
	}
	if _, err := l.peerBulk(ctx, peerDomains, l.o.concurrency); err != nil {
		return err
	}
	rate, p99, err := l.peerHammer(ctx, peerDomains, l.o.concurrency, 5*time.Second)
	if err != nil {
		return err
	}
	l.rep.add(row{
		key: "cached", what: "Cached answers per second on one core (policy cached, TXT in the DNS cache)",
		segcli: fmt.Sprintf("%s/s (%d ns, %d allocs per decision)", kilo(segRate), pr.NsPerOp, pr.AllocsPerOp),
		peer:   fmt.Sprintf("%s/s at concurrency %d (p99 %s)", kilo(rate), l.o.concurrency, ms(p99)),
		floor:  "-", ratio: fmt.Sprintf("%.0fx the peer", segRate/rate),
		target: ">= 1,000,000/s and >= 40x the peer", met: segRate >= 1e6 && segRate >= 40*rate,
		how: "Engine.Policy in `lab probe` on the measured core (testing.Benchmark, one core); the peer's daemon through 64 socketmap connections",
	})
	l.rep.peerCached = rate
	return nil
}

// onConns runs work on conc connections to the peer's socketmap at once and
// returns the first error; w numbers the connections from 0.
func onConns(ctx context.Context, conc int, work func(w int, sm *socketmap) error) error {
	g, _ := errgroup.WithContext(ctx)
	for w := range conc {
		g.Go(func() error {
			sm, err := dialSocketmap(peerAddr)
			if err != nil {
				return err
			}
			defer sm.Close()
			return work(w, sm)
		})
	}
	return g.Wait()
}

// peerHammer asks the peer for domains over conc connections for d and
// returns answers per second and the 99th percentile latency.
func (l *lab) peerHammer(ctx context.Context, domains []string, conc int, d time.Duration) (float64, time.Duration, error) {
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	stop := time.Now().Add(d)
	start := time.Now()
	err := onConns(ctx, conc, func(w int, sm *socketmap) error {
		var mine []time.Duration
		for i := w; time.Now().Before(stop) && ctx.Err() == nil; i += conc {
			dom := domains[i%len(domains)]
			t0 := time.Now()
			reply, err := sm.query("postfix", dom, 30*time.Second)
			if err != nil || !strings.HasPrefix(reply, "OK secure") {
				return fmt.Errorf("peer: %s: %q %v", dom, reply, err)
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	el := time.Since(start)
	slices.Sort(lat)
	return float64(len(lat)) / el.Seconds(), lat[len(lat)*99/100], nil
}

// peerBulk asks the peer for every domain once, conc at a time, and returns
// the elapsed time.
func (l *lab) peerBulk(ctx context.Context, domains []string, conc int) (time.Duration, error) {
	var next atomic.Int64
	start := time.Now()
	err := onConns(ctx, conc, func(_ int, sm *socketmap) error {
		for ctx.Err() == nil {
			i := int(next.Add(1)) - 1
			if i >= len(domains) {
				return nil
			}
			reply, err := sm.query("postfix", domains[i], 60*time.Second)
			if err != nil || !strings.HasPrefix(reply, "OK secure match=mx."+domains[i]) {
				return fmt.Errorf("peer: %s: %q %v", domains[i], reply, err)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// bulk: n new domains, the same concurrency on both sides, without and with
// delay; then segcli's second pass over its own domains (policies cached on
// disk), and its full check.
func (l *lab) bulk(ctx context.Context) error {
	n, conc := l.o.domains, l.o.concurrency
	for _, delayed := range []bool{false, true} {
		if err := l.setDelay(delayed); err != nil {
			return err
		}
		tag, label := "a", "without delay"
		if delayed {
			tag, label = "b", fmt.Sprintf("at %s per round trip", ms(l.rep.rtt))
		}
		segDomains := domainList("s"+tag, n)
		data := l.dataDir("bulk-" + tag)
		if err := writeDomains(data, "domains.txt", segDomains); err != nil {
			return err
		}
		start := time.Now()
		out, err := l.segcli(ctx, data, fmt.Sprintf("mtastsverify --policy --file domains.txt --csv --concurrency %d", conc))
		segEl := time.Since(start)
		if err != nil {
			return fmt.Errorf("segcli bulk: %v\n%s", err, tail(out))
		}
		if err := wantSummary(out, "apply", n); err != nil {
			return err
		}
		peerEl, err := l.peerBulk(ctx, domainList("p"+tag, n), conc)
		if err != nil {
			return err
		}
		segRate, peerRate := float64(n)/segEl.Seconds(), float64(n)/peerEl.Seconds()
		l.rep.add(row{
			key: "bulk-" + tag, what: fmt.Sprintf("%d new domains, concurrency %d, %s: policy decisions", n, conc, label),
			segcli: fmt.Sprintf("%.0f domains/s (%s)", segRate, secs(segEl)),
			peer:   fmt.Sprintf("%.0f domains/s (%s)", peerRate, secs(peerEl)),
			floor:  "-", ratio: fmt.Sprintf("%.1fx the peer", segRate/peerRate),
			target: ">= 5x the peer", met: segRate >= 5*peerRate,
			why: bulkWhy(delayed),
			how: fmt.Sprintf("`segcli -c \"mtastsverify --policy --file F --csv --concurrency %d\"` whole process; the peer's daemon through %d socketmap connections", conc, conc),
		})
		if !delayed {
			// Second pass: the policies are in the cache on disk.
			start := time.Now()
			out, err := l.segcli(ctx, data, fmt.Sprintf("mtastsverify --policy --file domains.txt --csv --concurrency %d", conc))
			el := time.Since(start)
			if err != nil {
				return fmt.Errorf("segcli bulk, cached: %v\n%s", err, tail(out))
			}
			if err := wantSummary(out, "apply", n); err != nil {
				return err
			}
			rate := float64(n) / el.Seconds()
			l.rep.add(row{
				key: "bulk-cached", what: fmt.Sprintf("The same %d domains again through the shell: policies from the cache on disk, TXT records asked again (a new process)", n),
				segcli: fmt.Sprintf("%.0f domains/s (%s)", rate, secs(el)),
				peer:   fmt.Sprintf("%s/s cached, in its memory", kilo(l.rep.peerCached)),
				floor:  "-", ratio: fmt.Sprintf("%.1fx the peer", rate/l.rep.peerCached),
				target: "-", met: true,
				how: "whole process, one core",
			})
		}
		// The full check of every domain (two TLS handshakes each).
		fullDomains := domainList("u"+tag, n)
		data = l.dataDir("full-" + tag)
		if err := writeDomains(data, "domains.txt", fullDomains); err != nil {
			return err
		}
		start = time.Now()
		out, err = l.segcli(ctx, data, fmt.Sprintf("mtastsverify --file domains.txt --csv --concurrency %d", conc))
		el := time.Since(start)
		if err != nil {
			return fmt.Errorf("segcli full bulk: %v\n%s", err, tail(out))
		}
		if err := wantSummary(out, "pass", n); err != nil {
			return err
		}
		rate := float64(n) / el.Seconds()
		l.rep.add(row{
			key: "full-" + tag, what: fmt.Sprintf("%d new domains, concurrency %d, %s: the full check (policy, MX, STARTTLS probe)", n, conc, label),
			segcli: fmt.Sprintf("%.0f domains/s (%s)", rate, secs(el)),
			peer:   "(does no such check)", floor: "-", ratio: "-", target: "-", met: true,
			how: fmt.Sprintf("`segcli -c \"mtastsverify --file F --csv --concurrency %d\"` whole process", conc),
		})
	}
	return l.setDelay(false)
}

// startup: segcli to its first prompt and out (stdin at end of file), whole
// process, against reading the configuration file with cat.
func (l *lab) startup(ctx context.Context) error {
	data := l.dataDir("startup")
	if out, err := l.segcli(ctx, data, "help commit"); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	var seg, peer []time.Duration
	for range 21 {
		start := time.Now()
		cmd := exec.CommandContext(ctx, "taskset", "-c", measuredCPU, l.o.segcli, "--data-dir", data, "--resolver", dnsAddr)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "> ") {
			return fmt.Errorf("segcli: %v: %s", err, out)
		}
		seg = append(seg, time.Since(start))
		start = time.Now()
		if out, err := exec.CommandContext(ctx, "taskset", "-c", measuredCPU, "cat", filepath.Join(data, "config", "running.toml")).CombinedOutput(); err != nil {
			return fmt.Errorf("cat: %v: %s", err, out)
		}
		peer = append(peer, time.Since(start))
	}
	s, p := median(seg), median(peer)
	l.rep.add(row{
		key: "startup", what: "Start-up to the first prompt, whole process (stdin at end of file), median of 21",
		segcli: ms(s), peer: ms(p) + " (`cat running.toml`)", floor: "-",
		ratio: ratio(s, p) + " of cat", target: "< 30 ms", met: s < 30*time.Millisecond,
		how: "`segcli --data-dir D` < /dev/null",
	})
	return nil
}

// replayRun: a recorded 1,000-step transcript replayed, against the same
// session run from piped input.
func (l *lab) replayRun(ctx context.Context) error {
	const steps = 1000
	var in strings.Builder
	for i := range steps {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&in, "sethostname esa%d.test\n", i)
		case 1:
			in.WriteString("showchanges\n")
		case 2:
			in.WriteString("destconfig list\n")
		case 3:
			in.WriteString("clear\ny\n") // the confirmation is part of the step
		}
	}
	data := l.dataDir("replay")
	tr := filepath.Join(l.o.work, "replay-1000.txt")
	rec := exec.CommandContext(ctx, "taskset", "-c", measuredCPU, l.o.segcli, "--data-dir", data, "--resolver", dnsAddr, "--record", tr)
	rec.Stdin = strings.NewReader(in.String())
	if out, err := rec.CombinedOutput(); err != nil {
		return fmt.Errorf("record: %v: %s", err, tail(string(out)))
	}
	var rep, piped []time.Duration
	for range 5 {
		start := time.Now()
		cmd := exec.CommandContext(ctx, "taskset", "-c", measuredCPU, l.o.segcli, "--data-dir", l.dataDir("replay-run"), "--replay", tr)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("replay: %v: %s", err, tail(string(out)))
		}
		rep = append(rep, time.Since(start))
		start = time.Now()
		cmd = exec.CommandContext(ctx, "taskset", "-c", measuredCPU, l.o.segcli, "--data-dir", l.dataDir("replay-piped"), "--resolver", dnsAddr)
		cmd.Stdin = strings.NewReader(in.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("piped: %v: %s", err, tail(string(out)))
		}
		piped = append(piped, time.Since(start))
	}
	r, p := median(rep), median(piped)
	l.rep.add(row{
		key: "replay", what: "Replay of a recorded 1,000-step transcript (sethostname, showchanges, destconfig list, clear), whole process, median of 5",
		segcli: ms(r), peer: ms(p) + " (the same input piped)", floor: "-",
		ratio: ratio(r, p) + " of the piped session", target: "-", met: true,
		how: "`segcli --replay FILE` against `segcli < input`",
	})
	return nil
}

// dataDir returns a new, empty data directory.
func (l *lab) dataDir(name string) string {
	for i := 0; ; i++ {
		d := filepath.Join(l.o.work, "data", fmt.Sprintf("%s-%d", name, i))
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			return d
		}
	}
}

// segcli runs one command line in a segcli process on the measured core.
func (l *lab) segcli(ctx context.Context, data, line string) (string, error) {
	cmd := exec.CommandContext(ctx, "taskset", "-c", measuredCPU, l.o.segcli,
		"--data-dir", data, "--resolver", dnsAddr, "--ca-file", l.caFile, "-c", line)
	var out, errOut strings.Builder
	cmd.Stdout = io.Discard
	if !strings.Contains(line, "--csv") {
		cmd.Stdout = &out
	}
	cmd.Stderr = &errOut
	err := cmd.Run()
	return out.String() + errOut.String(), err
}

func domainList(prefix string, n int) []string {
	ds := make([]string, n)
	for i := range ds {
		ds[i] = fmt.Sprintf("%s%05d.bench.test", prefix, i)
	}
	return ds
}

func writeDomains(data, name string, domains []string) error {
	dir := filepath.Join(data, "configuration")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(domains, "\n")+"\n"), 0o644)
}

// wantSummary checks a bulk summary line "WORD   N".
func wantSummary(out, word string, n int) error {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == word {
			if got, _ := strconv.Atoi(f[1]); got == n {
				return nil
			}
			return fmt.Errorf("summary: %q, want %d domains %s\n%s", line, n, word, tail(out))
		}
	}
	return fmt.Errorf("no summary line %q in\n%s", word, tail(out))
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string   { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
func us(d time.Duration) string   { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func ratio(a, b time.Duration) string {
	r := float64(a) / float64(b)
	if r < 0.01 {
		return fmt.Sprintf("1/%.0f", 1/r) // "0.00x" would say nothing
	}
	return fmt.Sprintf("%.2fx", r)
}
func kilo(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// bulkWhy explains a missed bulk target.
func bulkWhy(delayed bool) string {
	if delayed {
		return "Across runs of the lab this ratio has been 4.5x to 5.8x: the target is at the edge. Both sides " +
			"stay below what their round trips allow at this concurrency: segcli reaches 55 % to 65 % of the " +
			"64 / (4 RTT) domains a second, the peer about 15 % of 64 / (5 RTT). Where segcli's remaining time " +
			"goes under this load (a single fetch costs 1.03x its four round trips) was not found yet."
	}
	return "Without delay both sides are bound by CPU on one core: each new domain costs a TLS 1.3 handshake " +
		"(X25519MLKEM768, an ECDSA chain check), three DNS questions and a cache file. A profile of segcli shows the " +
		"time spread over public-key arithmetic, system calls and the garbage collector, none above 12 %; 5x the " +
		"peer would need about a third of a millisecond per domain, about what the handshake's public-key " +
		"operations cost alone. Turning ML-KEM off (GODEBUG=tlsmlkem=0) gained 13 % in a trial and was not kept: " +
		"it is the default key exchange of Go's TLS."
}
