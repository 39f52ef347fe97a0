//go:build interop

// Package interop is the interop tier (make interop): segcli against real
// third-party servers on loopback, as DESIGN.md's third test tier describes.
//
// TestMain builds segcli, creates a test PKI (a root CA, an intermediate CA,
// the servers' certificates), writes the zones, and starts:
//
//   - Knot DNS on 127.0.1.1:53, authoritative for every zone: zones it signs
//     itself, one signed by ldns and then altered (bogus.test), unsigned ones;
//   - Unbound on 127.0.1.2:53, validating them with the trust anchors read
//     from Knot (keymgr ds) and ldns, Extended DNS Errors on: segcli's
//     --resolver, and the resolver of every cross-checking tool;
//   - nginx on 127.0.2.1:443, the MTA-STS policy hosts (SNI);
//   - Postfix, one smtpd per MX host on 127.0.3.1-5:25 (mxHosts).
//
// The tests run segcli (and the independent tools: BIND's dig, openssl
// s_client, swaks) against them and check what the servers saw in their
// logs. Every server is stopped by process id at the end, whatever happened;
// TestMain then checks that no process is left in the work directory.
//
// Run with `make interop` (root, Debian's packages: see interop.mk);
// SEGCLI_INTEROP_HOLD=1 keeps the servers up until Ctrl-C instead of running
// the tests, to try commands against them. The
// environment variable SEGCLI_INTEROP_BREAK=tlsa publishes a wrong TLSA
// digest for mx.example.test: the tier must then fail, naming the scenario.
package interop

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fx is the running fixture, set up by TestMain for every test of the package.
var fx *fixture

// fixture is the tier's world: the work directory, the PKI, the servers.
type fixture struct {
	work       string
	bin        string // segcli, built for this run
	breakTLSA  bool
	zones      []zone
	pki        *pki
	procs      procs
	nginxLog   string
	postfixLog string
	mailDir    string // Postfix's Maildirs: mail/DOMAIN/new/
	stopOnce   sync.Once
	stopErr    error
}

// tools are the programs the tier runs, with the Debian package of each.
var tools = map[string]string{
	"knotd": "knot", "keymgr": "knot", "ldns-keygen": "ldnsutils", "ldns-signzone": "ldnsutils",
	"unbound": "unbound", "unbound-checkconf": "unbound", "nginx": "nginx-light", "postfix": "postfix",
	"swaks": "swaks", "openssl": "openssl", "dig": "bind9-dnsutils",
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "interop: the tier needs root (servers on ports 53, 443 and 25): run make interop as root")
		return 1
	}
	var missing []string
	for t, pkg := range tools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, fmt.Sprintf("%s (package %s)", t, pkg))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		fmt.Fprintf(os.Stderr, "interop: not installed: %s: run make interop, which installs them\n", strings.Join(missing, ", "))
		return 1
	}
	if b := os.Getenv("SEGCLI_INTEROP_BREAK"); b != "" && b != "tlsa" {
		fmt.Fprintf(os.Stderr, "interop: SEGCLI_INTEROP_BREAK=%q: the only breakage is \"tlsa\"\n", b)
		return 1
	}
	work := os.Getenv("SEGCLI_INTEROP_WORK")
	keep := work != "" // make interop removes it after a success, keeps it after a failure
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "segcli-interop."); err != nil {
			fmt.Fprintln(os.Stderr, "interop:", err)
			return 1
		}
	}
	work, _ = filepath.Abs(work)
	os.Chmod(work, 0o755) // nginx's worker (nobody) reads the policies
	fx = &fixture{work: work, breakTLSA: os.Getenv("SEGCLI_INTEROP_BREAK") == "tlsa", procs: procs{pidsLog: filepath.Join(work, "pids")}}
	fx.zones = zones(fx.breakTLSA)

	// Whatever happens from here on, the servers are stopped: at the end, on
	// SIGINT/SIGTERM, and before go test's own timeout would kill this process
	// (which would skip every deferred call).
	defer func() {
		if err := fx.shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, "interop:", err)
			code = 1
		}
		if code == 0 && !keep {
			os.RemoveAll(work)
		} else if code != 0 {
			fmt.Fprintf(os.Stderr, "interop: configuration and logs are in %s\n", work)
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "interop: %v: stopping the servers\n", s)
		fx.shutdown()
		fmt.Fprintf(os.Stderr, "interop: configuration and logs are in %s\n", work)
		os.Exit(1)
	}()
	if to := flag.Lookup("test.timeout"); to != nil {
		if d, err := time.ParseDuration(to.Value.String()); err == nil && d > 30*time.Second {
			watchdog := time.AfterFunc(d-15*time.Second, func() {
				fmt.Fprintf(os.Stderr, "interop: watchdog: still running %v after the start, close to go test's -timeout %v: stopping the servers\n", d-15*time.Second, d)
				fx.shutdown()
				fmt.Fprintf(os.Stderr, "interop: configuration and logs are in %s\n", work)
				os.Exit(1)
			})
			defer watchdog.Stop()
		}
	}

	// Postfix's master ends without waiting for its daemons: as the child
	// subreaper, this process inherits them and reaps them at the end, so that
	// not even a zombie is left.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "interop: prctl(PR_SET_CHILD_SUBREAPER):", errno)
	}

	t0 := time.Now()
	if err := fx.up(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: setup:", err)
		return 1
	}
	fmt.Printf("interop: servers up in %v (work directory %s)\n", time.Since(t0).Round(time.Millisecond), work)
	if fx.breakTLSA {
		fmt.Println("interop: SEGCLI_INTEROP_BREAK=tlsa: mx.example.test publishes a wrong TLSA digest; dane/ee-3-1-1 must fail")
	}
	if os.Getenv("SEGCLI_INTEROP_HOLD") != "" {
		// For writing scenarios: the servers stay up until Ctrl-C.
		fmt.Printf("interop: SEGCLI_INTEROP_HOLD: servers up until Ctrl-C; try\n  %s --data-dir %s/segcli/hold --resolver %s:53 --ca-file %s -c 'daneverify example.test'\n",
			fx.bin, work, unboundAddr, fx.pki.caFile)
		select {}
	}
	return m.Run()
}

// up builds segcli and starts every server, in dependency order.
func (f *fixture) up() error {
	for _, a := range []string{knotAddr + ":53", unboundAddr + ":53", nginxAddr + ":443"} {
		if err := free(a); err != nil {
			return err
		}
	}
	for _, m := range mxHosts {
		if err := free(m.addr + ":25"); err != nil {
			return err
		}
	}
	step := func(name string, fn func() error) error {
		t := time.Now()
		if err := fn(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("interop: %-8s %v\n", name, time.Since(t).Round(time.Millisecond))
		return nil
	}
	var anchors []string
	return firstErr(
		func() error { return step("segcli", f.build) },
		func() error {
			return step("pki", func() (err error) {
				f.pki, err = newPKI(filepath.Join(f.work, "pki"), time.Now(), leaves)
				return err
			})
		},
		func() error { return step("knot", func() (err error) { anchors, err = f.startKnot(); return err }) },
		func() error { return step("unbound", func() error { return f.startUnbound(anchors) }) },
		func() error { return step("nginx", f.startNginx) },
		func() error { return step("postfix", f.startPostfix) },
	)
}

func firstErr(fns ...func() error) error {
	for _, fn := range fns {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// free checks that nothing listens on addr already (a server left by a
// crashed run, or another program).
func free(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s is in use (%v): is a previous run's server still there? (ps -ef; interop/testdata/reap.sh WORKDIR stops one)", addr, err)
	}
	return l.Close()
}

// build compiles segcli into the work directory (or takes the binary that
// SEGCLI_INTEROP_BIN names).
func (f *fixture) build() error {
	if b := os.Getenv("SEGCLI_INTEROP_BIN"); b != "" {
		f.bin, _ = filepath.Abs(b)
		_, err := os.Stat(f.bin)
		return err
	}
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	f.bin = filepath.Join(f.work, "bin", "segcli")
	_, err := toolWithin(5*time.Minute, "..", goBin, "build", "-o", f.bin, "./cmd/segcli")
	return err
}

// shutdown stops every server (once) and checks that none is left.
func (f *fixture) shutdown() error {
	f.stopOnce.Do(func() {
		t := time.Now()
		err := f.procs.stopAll()
		// Postfix's daemons leave with their master; give them a moment.
		reapOrphans(5 * time.Second)
		var left []leftover
		for i := 0; i < 50; i++ {
			if left = leftovers(f.work); len(left) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(left) > 0 {
			var s []string
			for _, l := range left {
				s = append(s, l.String())
				syscall.Kill(l.pid, syscall.SIGKILL)
			}
			err = errors.Join(err, fmt.Errorf("processes left running after the stop (now killed): %s", strings.Join(s, "; ")))
		}
		f.stopErr = err
		if err == nil {
			fmt.Printf("interop: servers stopped in %v, no process left in %s\n", time.Since(t).Round(time.Millisecond), f.work)
		}
	})
	return f.stopErr
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER (linux/prctl.h).
const prSetChildSubreaper = 36

// reapOrphans waits for the processes this one inherited as the child
// subreaper (every server has been waited for already) until none is left or
// the time is up.
func reapOrphans(within time.Duration) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case err == syscall.ECHILD:
			return // no child left
		case err == nil && pid > 0:
			continue // reaped one; look for more
		}
		time.Sleep(20 * time.Millisecond)
	}
}
