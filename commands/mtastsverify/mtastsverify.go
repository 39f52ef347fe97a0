// Package mtastsverify holds two commands around MTA-STS (RFC 8461):
// mtastsverify checks a domain's setup live, the way a strict sender sees it, and says
// what to fix; mtastscache shows and manages the policies the gateway has cached.
//
// mtastsverify DOMAIN prints the report an operator needs before turning MTA-STS on
// for a domain (destconfig offers the same check through Check): the TXT records at
// _mta-sts.DOMAIN and the policy id, the policy URL, the HTTP status and content type,
// the policy text and its fields, the warnings where strict senders reject what
// lenient ones accept, each MX host with its preference, whether it matches the
// policy, offers STARTTLS, its TLS version and whether its certificate is PKIX-valid
// for its name, and the verdict with what to fix. --json prints the same as one JSON
// object (DESIGN.md, "Contracts"). With --file, it checks every domain of a file of
// the data directory's configuration folder, a bounded number at a time, and prints
// one result per line (a table, CSV or JSON Lines) in the order of the file, then a
// summary.
//
// Exit status: a single check fails (1) when the result is fail or tempfail, and
// succeeds (0) for pass and none: a domain without MTA-STS is not an error. A bulk
// check succeeds when every domain was checked, whatever the results (they are in the
// output); bad input fails it before anything is checked. Nothing either command
// does changes the configuration; mtastsverify touches the policy cache only with --policy,
// which takes the decision a delivery would take, from and into the cache.
package mtastsverify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// Limits of the bulk mode.
const (
	// DefaultConcurrency is how many domains a bulk check runs at once by default.
	DefaultConcurrency = 16
	// MaxConcurrency is the most --concurrency accepts.
	MaxConcurrency = 256
	// MaxDomains is the most domains a --file may list.
	MaxDomains = 100000
	// maxFileSize bounds the file a bulk check reads.
	maxFileSize = 16 << 20
)

// Commands returns mtastsverify and mtastscache.
func Commands() []shell.Command {
	return []shell.Command{verifyCommand(), cacheCommand()}
}

const verifyUsage = "mtastsverify [--policy] [DOMAIN] [--json] | mtastsverify [--policy] --file FILE [--json|--csv] [--concurrency N]"

func verifyCommand() shell.Command {
	return shell.Command{
		Name:    "mtastsverify",
		Usage:   verifyUsage,
		Summary: "Verify the MTA-STS record, policy and MX hosts of a domain.",
		Description: `Checks DOMAIN's MTA-STS setup (RFC 8461) live, as a strict sender would: the
TXT record at _mta-sts.DOMAIN and its id; the policy fetched from
https://mta-sts.DOMAIN/.well-known/mta-sts.txt (status 200, text/plain, no redirect,
a certificate valid for mta-sts.DOMAIN), its text and fields, and warnings where
strict senders reject what lenient ones accept; then each MX host: whether it
matches the policy, offers STARTTLS, its TLS version, and whether its certificate is
valid for its name. The verdict says what to fix. Without DOMAIN it asks for it.
The policy cache is neither used nor changed (see mtastscache), except with --policy.

  --json              print one JSON object instead of the report
  --file FILE         check every domain of FILE (one a line, # comments), a file in
                      the configuration folder of the data directory
  --csv               with --file: print CSV rows instead of a table
  --concurrency N     with --file: check N domains at once (1-256, default 16)
  --policy            print the MTA-STS decision a delivery would take now instead:
                      apply, no-policy or defer, with the policy's mode, id and MX
                      patterns and where it came from. This uses and updates the
                      policy cache, as deliveries do, and probes no MX host.

Results: pass (a valid enforce or testing policy, and an MX host that matches it
and passes the TLS checks), fail (a record, but the policy cannot be fetched, is
invalid, or no MX host passes), none (no record, or mode none), tempfail (a lookup
failed temporarily). Exit status 1 for fail and tempfail, 0 for pass and none; with
--file, 0 once every domain was checked (the results are in the output).`,
		Run: runVerify,
	}
}

// options is an mtastsverify command line.
type options struct {
	domain      string
	file        string
	json, csv   bool
	policy      bool // the delivery decision instead of the live check
	concurrency int  // 0: not given
}

// parseArgs reads the command line; options may come before or after DOMAIN.
func parseArgs(args []string) (options, error) {
	var o options
	usage := func(format string, a ...any) (options, error) {
		return options{}, fmt.Errorf("mtastsverify: "+format+"; usage: "+verifyUsage, a...)
	}
	value := func(i *int, name, inline string, hasInline bool) (string, error) {
		if hasInline {
			return inline, nil
		}
		if *i+1 >= len(args) {
			return "", fmt.Errorf("mtastsverify: %s needs a value; usage: %s", name, verifyUsage)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if o.domain != "" {
				return usage("one domain at a time (%q and %q); use --file for many", o.domain, a)
			}
			o.domain = a
			continue
		}
		name, inline, hasInline := strings.Cut(a, "=")
		switch name {
		case "--json", "-json":
			if hasInline {
				return usage("%s takes no value", name)
			}
			o.json = true
		case "--policy", "-policy":
			if hasInline {
				return usage("%s takes no value", name)
			}
			o.policy = true
		case "--csv", "-csv":
			if hasInline {
				return usage("%s takes no value", name)
			}
			o.csv = true
		case "--file", "-file":
			v, err := value(&i, name, inline, hasInline)
			if err != nil {
				return options{}, err
			}
			if v == "" {
				return usage("--file needs a file name")
			}
			o.file = v
		case "--concurrency", "-concurrency":
			v, err := value(&i, name, inline, hasInline)
			if err != nil {
				return options{}, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxConcurrency {
				return usage("--concurrency %q: give a number from 1 to %d", v, MaxConcurrency)
			}
			o.concurrency = n
		default:
			return usage("unknown option %q", a)
		}
	}
	switch {
	case o.file != "" && o.domain != "":
		return usage("give DOMAIN or --file FILE, not both")
	case o.json && o.csv:
		return usage("--json and --csv exclude each other")
	case o.csv && o.file == "":
		return usage("--csv goes with --file (a single domain prints a report, or --json)")
	case o.concurrency != 0 && o.file == "":
		return usage("--concurrency goes with --file")
	}
	if o.concurrency == 0 {
		o.concurrency = DefaultConcurrency
	}
	return o, nil
}

// checkDomain checks a policy domain as typed and returns it in A-label form.
func checkDomain(s string) (string, error) {
	if strings.HasPrefix(strings.TrimSpace(s), ".") {
		return "", fmt.Errorf("%q: a policy domain has no leading dot: enter a domain name, such as example.com", s)
	}
	d, err := store.NormalizeDomain(s)
	if err != nil {
		return "", err
	}
	return d, nil
}

func runVerify(ctx context.Context, e *shell.Env, args []string) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	if o.file != "" {
		return runBulk(ctx, e, o)
	}
	if o.domain == "" {
		o.domain, err = e.P.Text("Enter the domain whose MTA-STS record and policy you wish to verify.", "", func(s string) error {
			if s == "" {
				return nil
			}
			_, err := checkDomain(s)
			return err
		})
		if err != nil || o.domain == "" {
			return err
		}
	}
	d, err := checkDomain(o.domain)
	if err != nil {
		return fmt.Errorf("mtastsverify: %w", err)
	}
	eng, err := e.MTASTS()
	if err != nil {
		return fmt.Errorf("mtastsverify: %w", err)
	}
	if o.policy {
		return runDecision(ctx, e, o, eng, d)
	}
	if !o.json {
		fmt.Fprintf(e.Out, "Verifying the MTA-STS record and policy of %s.\n", d)
	}
	rep := eng.Verify(ctx, d)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mtastsverify: %s: %w", d, err)
	}
	if o.json {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("mtastsverify: %w", err)
		}
		fmt.Fprintf(e.Out, "%s\n", b)
	} else {
		writeReport(e.Out, rep)
	}
	if failed(rep.Result) {
		return fmt.Errorf("mtastsverify: %s: result %s", d, rep.Result)
	}
	return nil
}

// failed reports whether a result makes the exit status 1.
func failed(v mtasts.Verdict) bool { return v == mtasts.VerdictFail || v == mtasts.VerdictTempFail }

// Check runs the report of mtastsverify DOMAIN (without --json) for destconfig's
// offer to verify a domain whose MTA-STS support is being switched on. The verdict
// is in the report; the error says only that the check could not run (a bad domain,
// no DNS server configured) or was interrupted, so that the dialog goes on either
// way.
func Check(ctx context.Context, e *shell.Env, domain string) error {
	d, err := checkDomain(domain)
	if err != nil {
		return fmt.Errorf("mtastsverify: %w", err)
	}
	eng, err := e.MTASTS()
	if err != nil {
		return fmt.Errorf("mtastsverify: %w", err)
	}
	fmt.Fprintf(e.Out, "Verifying the MTA-STS record and policy of %s.\n", d)
	rep := eng.Verify(ctx, d)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mtastsverify: %s: %w", d, err)
	}
	writeReport(e.Out, rep)
	return nil
}
