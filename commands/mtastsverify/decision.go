package mtastsverify

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/shell"
)

// Decision is one line of mtastsverify --policy: the MTA-STS decision a delivery
// to the domain would take now (RFC 8461 §5.1), as JSON.
type Decision struct {
	Domain string `json:"domain"`
	// Action is "apply", "no-policy" or "defer".
	Action string `json:"action"`
	// Mode, ID, MX and MaxAge are the policy's; empty without one.
	Mode   string   `json:"mode,omitempty"`
	ID     string   `json:"id,omitempty"`
	MX     []string `json:"mx,omitempty"`
	MaxAge *int64   `json:"max_age,omitempty"`
	// Source is "fetched" or "cache"; Expires when the cached policy expires.
	Source  string `json:"source,omitempty"`
	Expires string `json:"expires,omitempty"`
	Reason  string `json:"reason"`
}

// decisionCSVHeader names the columns of --policy --csv.
var decisionCSVHeader = []string{"domain", "action", "mode", "id", "source", "expires", "mx", "reason"}

// decide takes the decision for d.
func decide(ctx context.Context, eng *mtasts.Engine, d string) Decision {
	res, err := eng.Policy(ctx, d)
	dec := Decision{Domain: res.Domain, Action: res.Action.String(), ID: res.ID, Source: string(res.Source), Reason: res.Reason}
	if dec.Domain == "" {
		dec.Domain = d
	}
	if err != nil && res.Reason == "" {
		dec.Reason = err.Error()
	}
	if p := res.Policy; p != nil {
		dec.Mode = string(p.Mode)
		dec.MX = append([]string(nil), p.MX...)
		age := p.MaxAge
		dec.MaxAge = &age
	}
	if !res.ExpiresAt.IsZero() {
		dec.Expires = res.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return dec
}

// runDecision prints the decision for one domain; a deferral is exit status 1.
func runDecision(ctx context.Context, e *shell.Env, o options, eng *mtasts.Engine, d string) error {
	dec := decide(ctx, eng, d)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mtastsverify: %s: %w", d, err)
	}
	if o.json {
		b, err := json.MarshalIndent(dec, "", "  ")
		if err != nil {
			return fmt.Errorf("mtastsverify: %w", err)
		}
		fmt.Fprintf(e.Out, "%s\n", b)
	} else {
		writeDecision(e.Out, dec)
	}
	if dec.Action == mtasts.Defer.String() {
		return fmt.Errorf("mtastsverify: %s: delivery would be deferred: %s", dec.Domain, dec.Reason)
	}
	return nil
}

// writeDecision prints a decision for an operator.
func writeDecision(w io.Writer, dec Decision) {
	fmt.Fprintf(w, "MTA-STS decision for %s: %s (%s).\n", dec.Domain, dec.Action, dec.Reason)
	if dec.Mode == "" {
		return
	}
	fmt.Fprintf(w, "Policy id %s, mode %s, from the %s", dec.ID, dec.Mode, map[string]string{"cache": "policy cache", "fetched": "policy host"}[dec.Source])
	if dec.Expires != "" {
		fmt.Fprintf(w, ", expires %s", dec.Expires)
	}
	fmt.Fprintln(w, ".")
	if len(dec.MX) > 0 {
		fmt.Fprintf(w, "MX hosts allowed: %s\n", strings.Join(dec.MX, ", "))
	}
}

// decisionTableFormat lays out a row of the --policy table.
const decisionTableFormat = "%-32s %-9s %-8s %-7s %s\n"

// runDecisions prints the decision for every domain of the file, then how many
// domains got each action.
func runDecisions(ctx context.Context, e *shell.Env, o options, eng *mtasts.Engine, domains []string) error {
	bar := newBar(e, len(domains))
	var (
		cw     *csv.Writer
		n      int
		counts = map[string]int{}
	)
	if o.csv {
		cw = csv.NewWriter(e.Out)
		cw.Write(decisionCSVHeader)
	} else if !o.json {
		fmt.Fprintf(e.Out, decisionTableFormat, "Domain", "Action", "Mode", "Source", "Reason")
		fmt.Fprintf(e.Out, decisionTableFormat, strings.Repeat("-", 32), "---------", "--------", "-------", strings.Repeat("-", 18))
	}
	emit := func(dec Decision) error {
		if bar != nil {
			bar.Clear()
			defer bar.Add(1)
		}
		n++
		counts[dec.Action]++
		switch {
		case o.json:
			b, err := json.Marshal(dec)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.Out, "%s\n", b)
			return err
		case cw != nil:
			cw.Write([]string{dec.Domain, dec.Action, dec.Mode, dec.ID, dec.Source, dec.Expires, strings.Join(dec.MX, " "), dec.Reason})
			return nil
		}
		line := fmt.Sprintf(decisionTableFormat, dec.Domain, dec.Action, orDash(dec.Mode), orDash(dec.Source), clip(dec.Reason, 90))
		_, err := io.WriteString(e.Out, line)
		return err
	}
	checkErr := checkAll(ctx, domains, o.concurrency, func(ctx context.Context, d string) Decision { return decide(ctx, eng, d) }, emit)
	if bar != nil {
		bar.Finish()
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil && checkErr == nil {
			checkErr = err
		}
	}
	sum := e.Out
	if o.json || o.csv {
		sum = e.Err
	}
	fmt.Fprintf(sum, "\nSummary of %s:\n", plural(len(domains), "domain"))
	fmt.Fprintf(sum, "%-10s %8s %7s\n", "Action", "Domains", "Share")
	fmt.Fprintf(sum, "%-10s %8s %7s\n", "----------", "--------", "-------")
	for _, a := range []mtasts.Action{mtasts.Apply, mtasts.NoPolicy, mtasts.Defer} {
		c := counts[a.String()]
		fmt.Fprintf(sum, "%-10s %8d %6.1f%%\n", a, c, share(c, len(domains)))
	}
	if n < len(domains) {
		fmt.Fprintf(sum, "%-10s %8d %6.1f%%\n", "unchecked", len(domains)-n, share(len(domains)-n, len(domains)))
	}
	fmt.Fprintf(sum, "%-10s %8d\n", "Total", len(domains))
	if checkErr != nil {
		return fmt.Errorf("mtastsverify: %s: %w (%d of %d domains checked)", o.file, checkErr, n, len(domains))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
