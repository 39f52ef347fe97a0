package deliver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/segcli/segcli/engine/delivery"
	"github.com/segcli/segcli/engine/queue"
	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// checkDomain returns a recipient domain in lower case without its final dot, or
// why it is not one.
func checkDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if _, err := netip.ParseAddr(strings.Trim(d, "[]")); err == nil {
		return "", fmt.Errorf("%q is an IP address: give a mail domain such as example.com", s)
	}
	if d == "" || store.ValidHostname(d) != nil {
		return "", fmt.Errorf("%q is not a domain name: give a mail domain such as example.com", s)
	}
	return d, nil
}

// dialogError words a validation error as a dialog line.
func dialogError(err error) error {
	return fmt.Errorf("%s.", strings.TrimSuffix(capital(err.Error()), "."))
}

func noQueue(cmd string) error { return fmt.Errorf("%s: this session has no mail queue", cmd) }

func showqueueCommand() shell.Command {
	return shell.Command{
		Name:    "showqueue",
		Usage:   "showqueue",
		Summary: "List the messages in the delivery queue.",
		Description: `Lists the messages waiting in the delivery queue, oldest first: for each, its MID,
sender, size and arrival, and for each recipient its state (waiting, delivered,
bounced, deleted), the attempts made, the next attempt and the last reply or reason.`,
		Run: runShowqueue,
	}
}

func runShowqueue(ctx context.Context, e *shell.Env, args []string) error {
	if len(args) > 0 {
		return errors.New("showqueue: no arguments are accepted; usage: showqueue")
	}
	if e.Queue == nil {
		return noQueue("showqueue")
	}
	msgs, err := e.Queue.List(ctx)
	if err != nil {
		return fmt.Errorf("showqueue: %w", err)
	}
	if len(msgs) == 0 {
		fmt.Fprintln(e.Out, "The queue is empty.")
		return nil
	}
	var b strings.Builder
	waiting := 0
	for _, m := range msgs {
		fmt.Fprintf(&b, "\nMID %d from <%s>, %d bytes, received %s\n", m.MID, m.From, m.Size, shell.FormatTime(m.Received))
		if m.Lease != nil && m.Lease.Until.After(e.Now()) {
			fmt.Fprintf(&b, "  Being delivered (claimed until %s).\n", shell.FormatTime(m.Lease.Until))
		}
		for _, r := range m.Recipients {
			fmt.Fprintf(&b, "  RID [%d] <%s>: ", r.RID, r.To)
			switch r.State {
			case queue.Queued:
				waiting++
				fmt.Fprintf(&b, "waiting, %s, next attempt %s\n", plural(r.Attempts, "attempt"), shell.FormatTime(r.NextAttempt))
			default:
				fmt.Fprintf(&b, "%s\n", r.State)
			}
			if r.Reason != "" {
				fmt.Fprintf(&b, "      Last reply: %s\n", r.Reason)
			}
		}
	}
	fmt.Fprintf(&b, "\n%s in the queue, %s waiting.\n", plural(len(msgs), "message"), plural(waiting, "recipient"))
	return e.Page(b.String())
}

func hoststatusCommand() shell.Command {
	return shell.Command{
		Name:    "hoststatus",
		Usage:   "hoststatus [DOMAIN]",
		Summary: "Show the delivery status of a recipient domain.",
		Description: `Shows what the last delivery attempt to DOMAIN saw: when it was, its outcome
(delivered, deferred, bounced), the MX host and address connected to, the security
the connection achieved (dane, mta-sts, tls-verify, tls, none) with the TLS protocol,
the reason of a deferral or bounce, the last delivery, and the recipients at DOMAIN
still waiting with their next attempt. Without DOMAIN it asks for it.`,
		Run: runHoststatus,
	}
}

func runHoststatus(ctx context.Context, e *shell.Env, args []string) error {
	var d string
	switch len(args) {
	case 0:
		s, err := e.P.Text("Recipient host:", "", func(s string) error {
			_, err := checkDomain(s)
			if err != nil {
				return dialogError(err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		d, _ = checkDomain(s)
	case 1:
		var err error
		if d, err = checkDomain(args[0]); err != nil {
			return fmt.Errorf("hoststatus: %w", err)
		}
	default:
		return errors.New("hoststatus: give one domain; usage: hoststatus [DOMAIN]")
	}
	if e.Queue == nil {
		return noQueue("hoststatus")
	}
	h, ok, err := e.Queue.Host(ctx, d)
	if err != nil {
		return fmt.Errorf("hoststatus: %w", err)
	}
	if !ok {
		fmt.Fprintf(e.Out, "No delivery to %s has been attempted, and no recipient at %s is waiting.\n", d, d)
		return nil
	}
	row := func(label, value string) { fmt.Fprintf(e.Out, "%-22s%s\n", label+":", value) }
	row("Host mail status for", "'"+d+"'")
	row("Status as of", shell.FormatTime(e.Now()))
	if h.LastAttempt.IsZero() {
		row("Last attempt", "never")
	} else {
		row("Last attempt", shell.FormatTime(h.LastAttempt)+" ("+h.Status+")")
		if h.MX != "" {
			row("Last host", fmt.Sprintf("%s (%s)", h.MX, h.Address))
		}
		if h.Security != "" {
			sec := h.Security
			if h.TLSVersion != "" {
				sec += " (" + logVersion(h.TLSVersion) + ")"
			}
			row("Security", sec)
		}
		switch h.Status {
		case delivery.StatusDeferred:
			row("Deferral reason", h.Reason)
		case delivery.StatusBounced:
			row("Bounce reason", h.Reason)
		}
	}
	if h.LastDelivered.IsZero() {
		row("Last delivery", "never")
	} else {
		row("Last delivery", shell.FormatTime(h.LastDelivered))
	}
	row("Recipients waiting", strconv.Itoa(h.Pending))
	if h.Pending > 0 {
		row("Next attempt", shell.FormatTime(h.NextAttempt))
	}
	return nil
}

func deliverynowCommand() shell.Command {
	return shell.Command{
		Name:    "deliverynow",
		Usage:   "deliverynow [DOMAIN]",
		Summary: "Deliver the waiting messages now, for one domain or all.",
		Description: `Makes the recipients waiting for DOMAIN (all of them without DOMAIN) due at once,
whatever their retry schedule, then delivers what is due and prints one line per
message: delivered, deferred (with the reason; it is retried later) or bounced.`,
		Run: runDeliverynow,
	}
}

func runDeliverynow(ctx context.Context, e *shell.Env, args []string) error {
	var d string
	switch len(args) {
	case 0:
	case 1:
		var err error
		if d, err = checkDomain(args[0]); err != nil {
			return fmt.Errorf("deliverynow: %w", err)
		}
	default:
		return errors.New("deliverynow: give at most one domain; usage: deliverynow [DOMAIN]")
	}
	if e.Queue == nil || e.Delivery == nil {
		return noQueue("deliverynow")
	}
	n, err := e.Queue.DeliverNow(ctx, queue.Match{Domain: d})
	if err != nil {
		return fmt.Errorf("deliverynow: %w", err)
	}
	if n == 0 {
		if d == "" {
			fmt.Fprintln(e.Out, "No recipient is waiting in the queue.")
		} else {
			fmt.Fprintf(e.Out, "No recipient at %s is waiting in the queue.\n", d)
		}
		return nil
	}
	fmt.Fprintf(e.Out, "Rescheduled %s for immediate delivery.\n", plural(n, "recipient"))
	runner, release, err := e.Delivery(ctx)
	if err != nil {
		return fmt.Errorf("deliverynow: the recipients are due, but delivery did not start: %w", err)
	}
	defer release()
	results, err := drain(ctx, runner)
	for _, res := range results {
		line := fmt.Sprintf("MID %d %s: %s", res.MID, res.Status, strings.TrimSuffix(res.Reason, "."))
		if res.Status == delivery.StatusDelivered {
			line = fmt.Sprintf("MID %d delivered (security %s)", res.MID, res.Security)
		}
		// Recipients that were not due (other domains) still wait.
		if m, gerr := e.Queue.Get(ctx, res.MID); gerr == nil && res.Status != delivery.StatusDeferred {
			if n := len(m.Pending()); n > 0 {
				line += fmt.Sprintf("; %s still waiting", plural(n, "recipient"))
			}
		}
		fmt.Fprintln(e.Out, line+".")
	}
	if err != nil {
		return fmt.Errorf("deliverynow: %w", err)
	}
	return nil
}

// drain runs delivery rounds until no message is due (as Runner.Drain does) and
// returns the last result of each message, by MID.
func drain(ctx context.Context, r *delivery.Runner) ([]delivery.Result, error) {
	last := map[uint64]delivery.Result{}
	for {
		res, err := r.RunOnce(ctx)
		fresh := false
		for _, x := range res {
			if _, ok := last[x.MID]; !ok {
				fresh = true
			}
			last[x.MID] = x
		}
		if err != nil || len(res) == 0 || !fresh {
			out := make([]delivery.Result, 0, len(last))
			for _, x := range last {
				out = append(out, x)
			}
			slices.SortFunc(out, func(a, b delivery.Result) int { return cmp.Compare(a.MID, b.MID) })
			return out, err
		}
	}
}

const deleteUsage = "deleterecipients [host DOMAIN | sender ADDR | mid MID | all]"

func deleterecipientsCommand() shell.Command {
	return shell.Command{
		Name:    "deleterecipients",
		Usage:   deleteUsage,
		Summary: "Delete messages from the delivery queue.",
		Description: `Deletes the waiting recipients of the delivery queue: those at a recipient host
(DOMAIN), those of the messages from a sender (the envelope From address), those of
one message (MID), or all. A message left without waiting recipients leaves the
queue. Without arguments it asks what to delete and for a confirmation; the batch
form does not ask. A message being delivered at that moment may still be delivered.`,
		Menu: []string{"host", "sender", "mid", "all"},
		Run:  runDeleterecipients,
	}
}

// deletion is what deleterecipients deletes.
type deletion struct {
	match queue.Match
}

func parseDeletion(args []string) (deletion, error) {
	bad := fmt.Errorf("deleterecipients: usage: %s", deleteUsage)
	switch strings.ToLower(args[0]) {
	case "all":
		if len(args) != 1 {
			return deletion{}, bad
		}
		return deletion{}, nil
	case "host", "sender", "mid":
		if len(args) != 2 {
			return deletion{}, bad
		}
	default:
		return deletion{}, fmt.Errorf("deleterecipients: unknown selection %q; usage: %s", args[0], deleteUsage)
	}
	switch strings.ToLower(args[0]) {
	case "host":
		d, err := checkDomain(args[1])
		if err != nil {
			return deletion{}, fmt.Errorf("deleterecipients: %w", err)
		}
		return deletion{match: queue.Match{Domain: d}}, nil
	case "sender":
		a, err := CheckAddress(args[1])
		if err != nil {
			return deletion{}, fmt.Errorf("deleterecipients: %w", err)
		}
		return deletion{match: queue.Match{Sender: a}}, nil
	}
	mid, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil || mid == 0 {
		return deletion{}, fmt.Errorf("deleterecipients: %q is not a MID: give the number showqueue lists", args[1])
	}
	return deletion{match: queue.Match{MID: mid}}, nil
}

// deleteDialog asks what to delete and for a confirmation; ok is false when the
// operator declined.
func deleteDialog(e *shell.Env) (del deletion, ok bool, err error) {
	n, err := e.P.Choose("Please select how you would like to delete messages:",
		[]string{"By recipient host.", "By Envelope From address.", "All."}, 1)
	if err != nil {
		return del, false, err
	}
	var question string
	switch n {
	case 1:
		s, err := e.P.Text("Please enter the hostname for the messages you wish to delete.", "", func(s string) error {
			if _, err := checkDomain(s); err != nil {
				return dialogError(err)
			}
			return nil
		})
		if err != nil {
			return del, false, err
		}
		d, _ := checkDomain(s)
		del.match.Domain = d
		question = fmt.Sprintf("Are you sure you want to delete all messages being delivered to %q?", d)
	case 2:
		s, err := e.P.Text("Please enter the Envelope From address for the messages you wish to delete.", "", func(s string) error {
			if _, err := CheckAddress(s); err != nil {
				return dialogError(err)
			}
			return nil
		})
		if err != nil {
			return del, false, err
		}
		a, _ := CheckAddress(s)
		del.match.Sender = a
		question = fmt.Sprintf("Are you sure you want to delete all messages with the Envelope From address %q?", a)
	default:
		question = "Are you sure you want to delete all messages in the delivery queue (all waiting recipients)?"
	}
	ok, err = e.P.YesNo(question, false)
	return del, ok, err
}

func runDeleterecipients(ctx context.Context, e *shell.Env, args []string) error {
	var del deletion
	if len(args) == 0 {
		var ok bool
		var err error
		if del, ok, err = deleteDialog(e); err != nil || !ok {
			return err
		}
	} else {
		var err error
		if del, err = parseDeletion(args); err != nil {
			return err
		}
	}
	if e.Queue == nil {
		return noQueue("deleterecipients")
	}
	n, err := e.Queue.DeleteRecipients(ctx, del.match)
	if err != nil {
		return fmt.Errorf("deleterecipients: %s deleted, then: %w", plural(n, "recipient"), err)
	}
	fmt.Fprintf(e.Out, "%s deleted.\n", plural(n, "recipient"))
	return nil
}
