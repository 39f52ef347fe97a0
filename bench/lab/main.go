// Command lab is segcli's performance lab, run by `make bench` inside a network
// namespace that has only its own loopback interface. It plays the internet
// (serve: a DNS server playing a validating resolver, MTA-STS policy hosts and
// MX hosts with STARTTLS for any number of domains), delays packets to give
// them a round-trip time (delay: netfilter's NFQUEUE), and measures segcli
// side by side with postfix-mta-sts-resolver against the same fixtures (run),
// then writes BENCHMARKS.md.
//
//	lab serve -ca FILE
//	lab delay -queue N -per-packet DURATION
//	lab probe -work DIR -ca FILE -kind KIND -n N -prefix P   (run's measurements of the engine)
//	lab run -segcli BIN -work DIR [-gobench FILE] [-write BENCHMARKS.md] [-domains N]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lab serve|delay|run [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		ca := fs.String("ca", "ca.pem", "file to write the lab's CA certificate to")
		fs.Parse(args)
		ready := make(chan struct{})
		go func() {
			<-ready
			fmt.Println("ready")
		}()
		err = serve(ctx, *ca, ready)
	case "delay":
		fs := flag.NewFlagSet("delay", flag.ExitOnError)
		queue := fs.Uint("queue", 1, "NFQUEUE number")
		per := fs.Duration("per-packet", 10*time.Millisecond, "delay of each packet (half the round trip on loopback)")
		fs.Parse(args)
		fmt.Println("ready")
		err = delay(ctx, uint16(*queue), *per)
	case "probe":
		fs := flag.NewFlagSet("probe", flag.ExitOnError)
		work := fs.String("work", "", "scratch directory")
		ca := fs.String("ca", "ca.pem", "the lab's CA certificate")
		kind := fs.String("kind", "policy", "policy, verify, dane, failing or cached")
		n := fs.Int("n", 9, "measurements (domains for cached)")
		prefix := fs.String("prefix", "x", "first letters of the domains")
		fs.Parse(args)
		var res probeResult
		if res, err = probe(ctx, *work, *ca, *kind, *n, *prefix); err == nil {
			err = json.NewEncoder(os.Stdout).Encode(res)
		}
	case "run":
		var o runOptions
		fs := flag.NewFlagSet("run", flag.ExitOnError)
		fs.StringVar(&o.segcli, "segcli", "bin/segcli", "the segcli binary")
		fs.StringVar(&o.work, "work", "", "scratch directory (required)")
		fs.StringVar(&o.peer, "peer", "mta-sts-daemon", "the peer's daemon")
		fs.StringVar(&o.gobench, "gobench", "", "output of go test -bench to include in the report")
		fs.StringVar(&o.write, "write", "", "BENCHMARKS.md to rewrite")
		fs.IntVar(&o.domains, "domains", 10000, "domains of the bulk runs")
		fs.IntVar(&o.concurrency, "concurrency", 64, "concurrency of the bulk runs, both sides")
		fs.DurationVar(&o.rtt, "rtt", 20*time.Millisecond, "round-trip time of the delayed runs")
		fs.Parse(args)
		if o.work == "" {
			fmt.Fprintln(os.Stderr, "lab run: -work is required")
			os.Exit(2)
		}
		err = run(ctx, o)
	default:
		err = fmt.Errorf("unknown command %q: serve, delay or run", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
