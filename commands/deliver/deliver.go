// Package deliver holds the delivery commands: deliver (queue a message and deliver
// it now, under the configured policy), showqueue, hoststatus, deliverynow and
// deleterecipients, and the mapping of the committed configuration to the delivery
// engine's plain values (Destination).
//
// deliver writes the message to the queue durably (engine/queue) before it reports
// it queued, then delivers it at once (engine/delivery): the report says, for each
// connection, the MX host and address, the DCID, the TLS protocol and the security
// achieved (dane, mta-sts, tls-verify, tls, none), then each recipient's outcome.
// With --json it prints the `deliver --json` object of DESIGN.md instead, and
// nothing else on its output. A message that is deferred stays in the queue, and is
// retried by the shell's background delivery, deliverynow, or `segcli --run-queue`.
package deliver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/segcli/segcli/engine/delivery"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/shell"
)

const usage = "deliver [--json] --from ADDR --to ADDR[,ADDR] [--to ADDR] [--file MSG]"

// Commands returns deliver, showqueue, hoststatus, deliverynow and
// deleterecipients.
func Commands() []shell.Command {
	return []shell.Command{
		{
			Name:    "deliver",
			Usage:   usage,
			Summary: "Send a message now under the configured TLS, DANE and MTA-STS policy.",
			Description: `Queues a message from ADDR to the recipients, then delivers it at once, as the
gateway delivers mail: the SMTP route or MX hosts of each recipient's domain, with the
TLS, DANE and MTA-STS settings of its Destination Controls entry (destconfig).

  --from ADDR   the envelope sender (MAIL FROM)
  --to ADDR     a recipient (RCPT TO); repeat it, or give several separated by commas
  --file MSG    the message, a file of the data directory's "configuration" folder;
                without it, a short test message is generated
  --json        print one JSON object instead of the report: mid, status (delivered,
                deferred, bounced), security (dane, mta-sts, tls-verify, tls, none),
                attempts (mx, address, dcid, security, tls_version, error), reason,
                recipients

Without arguments it asks for the addresses and the file. The message is on disk
before it is reported queued. A deferred message stays in the queue and is retried
(showqueue lists it; deliverynow retries it at once). Exit status: 0 when every
recipient was delivered, 1 when the message was deferred or bounced, or for bad
input (then nothing is queued).`,
			Run: runDeliver,
		},
		showqueueCommand(),
		hoststatusCommand(),
		deliverynowCommand(),
		deleterecipientsCommand(),
	}
}

// options are deliver's parsed arguments.
type options struct {
	from string
	to   []string
	file string
	json bool
	// given is true when any of --from, --to and --file was given.
	given bool
}

// parseArgs reads deliver's options, as --opt VALUE or --opt=VALUE.
func parseArgs(args []string) (options, error) {
	var o options
	fromSet := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "--json":
			if hasVal {
				return o, fmt.Errorf("deliver: --json takes no value; usage: %s", usage)
			}
			o.json = true
			continue
		case "--from", "--to", "--file":
		default:
			if strings.HasPrefix(a, "-") {
				return o, fmt.Errorf("deliver: unknown option %q; usage: %s", a, usage)
			}
			return o, fmt.Errorf("deliver: unexpected argument %q (addresses follow --from and --to); usage: %s", a, usage)
		}
		if !hasVal {
			if i+1 >= len(args) {
				return o, fmt.Errorf("deliver: %s needs a value; usage: %s", name, usage)
			}
			i++
			val = args[i]
		}
		o.given = true
		switch name {
		case "--from":
			if fromSet {
				return o, errors.New("deliver: give one --from address")
			}
			fromSet = true
			addr, err := CheckAddress(val)
			if err != nil {
				return o, fmt.Errorf("deliver: --from: %w", err)
			}
			o.from = addr
		case "--to":
			to, err := parseRecipients(val)
			if err != nil {
				return o, fmt.Errorf("deliver: --to: %w", err)
			}
			o.to = append(o.to, to...)
		case "--file":
			if o.file != "" {
				return o, errors.New("deliver: give one --file")
			}
			if val == "" {
				return o, fmt.Errorf("deliver: --file needs a file name; usage: %s", usage)
			}
			o.file = val
		}
	}
	o.to = dedupe(o.to)
	if (o.given || o.json) && (o.from == "" || len(o.to) == 0) {
		return o, fmt.Errorf("deliver: give --from ADDR and --to ADDR; usage: %s", usage)
	}
	return o, nil
}

// parseRecipients reads a comma-separated list of addresses.
func parseRecipients(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		a, err := CheckAddress(f)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, errors.New("an address is required, such as user@example.com")
	}
	return out, nil
}

// dedupe drops repeated addresses (compared without regard to case).
func dedupe(addrs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		k := strings.ToLower(a)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

// dialog asks for what deliver needs when it is given no arguments.
func dialog(e *shell.Env) (options, error) {
	var o options
	from, err := e.P.Text("Enter the envelope sender (MAIL FROM) address.", "", func(s string) error {
		if _, err := CheckAddress(s); err != nil {
			return fmt.Errorf("%s.", strings.TrimSuffix(capital(err.Error()), "."))
		}
		return nil
	})
	if err != nil {
		return o, err
	}
	o.from, _ = CheckAddress(from)
	to, err := e.P.Text("Enter the recipient addresses (RCPT TO), separated by commas.", "", func(s string) error {
		if _, err := parseRecipients(s); err != nil {
			return fmt.Errorf("%s.", strings.TrimSuffix(capital(err.Error()), "."))
		}
		return nil
	})
	if err != nil {
		return o, err
	}
	rcpts, _ := parseRecipients(to)
	o.to = dedupe(rcpts)
	o.file, err = e.P.Text(`Enter the name of a message file in the "configuration" folder, or leave it empty to send a test message.`, "", func(s string) error {
		if s == "" {
			return nil
		}
		if _, err := readMessage(e, s); err != nil {
			return fmt.Errorf("%s.", strings.TrimSuffix(capital(err.Error()), "."))
		}
		return nil
	})
	return o, err
}

// capital makes the first letter of a dialog's message upper case.
func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func runDeliver(ctx context.Context, e *shell.Env, args []string) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	if !o.given && !o.json {
		if o, err = dialog(e); err != nil {
			return err
		}
	}
	if e.Queue == nil || e.Delivery == nil {
		return errors.New("deliver: this session has no mail queue")
	}
	var data []byte
	if o.file != "" {
		if data, err = readMessage(e, o.file); err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
	} else {
		_, c := e.Session.Committed()
		data = TestMessage(c.Hostname, o.from, o.to, e.Now())
	}
	// The runner first: a configuration that cannot deliver queues nothing.
	runner, release, err := e.Delivery(ctx)
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	defer release()
	m, err := e.Queue.Enqueue(ctx, queue.Envelope{From: o.from, To: o.to}, data)
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	var w io.Writer = e.Out
	if o.json {
		w = io.Discard
	}
	fmt.Fprintf(w, "MID %d queued for delivery: %s, %d bytes.\n", m.MID, plural(len(m.Recipients), "recipient"), m.Size)
	res, err := runner.DeliverMID(ctx, m.MID)
	switch {
	case errors.Is(err, delivery.ErrBusy):
		res = delivery.Result{MID: m.MID, Status: delivery.StatusDeferred, Security: delivery.SecurityNone,
			Attempts: []delivery.Attempt{}, Recipients: []delivery.RecipientResult{},
			Reason: "being delivered by another process"}
	case err != nil:
		return fmt.Errorf("deliver: MID %d is queued, but its delivery did not start: %w", m.MID, err)
	}
	// The recipients of several domains come domain by domain: in RID order here.
	slices.SortStableFunc(res.Recipients, func(a, b delivery.RecipientResult) int { return cmp.Compare(a.RID, b.RID) })
	if o.json {
		enc := json.NewEncoder(e.Out)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("deliver: %w", err)
		}
	} else {
		Report(e.Out, res)
	}
	return outcome(ctx, e, res)
}

// outcome returns nil for a delivered message, else the closing line of the
// report, which the shell prints (exit status 1).
func outcome(ctx context.Context, e *shell.Env, res delivery.Result) error {
	switch res.Status {
	case delivery.StatusDelivered:
		return nil
	case delivery.StatusBounced:
		return fmt.Errorf("MID %d bounced: %s", res.MID, res.Reason)
	}
	next := ""
	if m, err := e.Queue.Get(ctx, res.MID); err == nil && !m.NextAttempt().IsZero() {
		next = "; next attempt " + shell.FormatTime(m.NextAttempt())
	}
	return fmt.Errorf("MID %d deferred: %s. It stays in the queue%s (showqueue; deliverynow retries it now)", res.MID, res.Reason, next)
}

// Report prints the human report of a delivery: one line per attempt, one per
// recipient, and "MID n delivered (security ...)." when it was.
func Report(w io.Writer, res delivery.Result) {
	for _, a := range res.Attempts {
		fmt.Fprintln(w, attemptLine(a))
	}
	for _, r := range res.Recipients {
		fmt.Fprintf(w, "RID [%d] <%s>: %s: %s\n", r.RID, r.To, r.Status, r.Reply)
	}
	if res.Status == delivery.StatusDelivered {
		fmt.Fprintf(w, "MID %d delivered (security %s).\n", res.MID, res.Security)
	}
}

// attemptLine renders one attempt: "DCID 1 MX(mx.example.com) 192.0.2.25:
// TLSv1.2, security tls." or the host and why it was not used.
func attemptLine(a delivery.Attempt) string {
	if a.DCID == 0 && a.Address == "" {
		return fmt.Sprintf("MX(%s): %s.", a.MX, strings.TrimSuffix(a.Error, "."))
	}
	var parts []string
	switch {
	case a.TLSVersion != "":
		parts = append(parts, fmt.Sprintf("%s, security %s", logVersion(a.TLSVersion), a.Security))
	case a.Error == "":
		parts = append(parts, "clear text, security "+a.Security)
	}
	if a.Error != "" {
		parts = append(parts, strings.TrimSuffix(a.Error, "."))
	}
	head := fmt.Sprintf("MX(%s) %s", a.MX, a.Address)
	if a.MX == a.Address {
		head = a.Address // a route's host given by its address
	}
	if a.DCID != 0 {
		head = fmt.Sprintf("DCID %d %s", a.DCID, head)
	}
	return head + ": " + strings.Join(parts, ": ") + "."
}

// logVersion writes a JSON TLS version ("TLS1.2") as the mail log does ("TLSv1.2").
func logVersion(v string) string {
	if v == "TLS1.0" {
		return "TLSv1"
	}
	if rest, ok := strings.CutPrefix(v, "TLS1."); ok {
		return "TLSv1." + rest
	}
	return v
}

// plural renders "1 recipient", "2 recipients".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
