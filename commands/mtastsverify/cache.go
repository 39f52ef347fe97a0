package mtastsverify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/segcli/segcli/engine/mtasts"
	"github.com/segcli/segcli/shell"
)

// CacheDir is the data directory's folder of the MTA-STS policy cache; the session's
// engine (commands.NewShell) keeps its FileCache there too.
const CacheDir = "mtasts"

// refreshWorkers bounds the refreshes of "mtastscache refresh" at once.
const refreshWorkers = 8

const cacheUsage = "mtastscache [list | show DOMAIN | flush DOMAIN|all | refresh [DOMAIN]]"

func cacheCommand() shell.Command {
	return shell.Command{
		Name:    "mtastscache",
		Usage:   cacheUsage,
		Summary: "Show, flush or refresh the cached MTA-STS policies.",
		Description: `The gateway keeps the MTA-STS policies it fetched in the data directory, each until
its max_age runs out, and uses them while the domain's TXT record keeps its id.

  list             one line per cached policy: domain, mode, id, expiry, last use
  show DOMAIN      the cached entry and the policy text
  flush DOMAIN     remove the domain's policy: the next delivery fetches it again
  flush all        remove every cached policy
  refresh [DOMAIN] look up the TXT record and fetch the policy now, for DOMAIN
                   (cached or not) or for every cached domain; a policy that cannot
                   be fetched stays cached until it expires

Without arguments, a menu asks for the operation. refresh fails (exit status 1)
when a policy could not be fetched; show when the domain has no cached policy.`,
		Menu: []string{"list", "show", "flush", "refresh"},
		Run:  runCache,
	}
}

// cacheOf returns the session's policy cache.
func cacheOf(e *shell.Env) mtasts.Cache { return mtasts.NewFileCache(e.Fs, CacheDir) }

func runCache(ctx context.Context, e *shell.Env, args []string) error {
	if len(args) == 0 {
		return cacheMenu(ctx, e)
	}
	op, rest := strings.ToLower(args[0]), args[1:]
	switch {
	case op == "list" && len(rest) == 0:
		return cacheList(ctx, e)
	case op == "show" && len(rest) == 1:
		return cacheShow(ctx, e, rest[0])
	case op == "flush" && len(rest) == 1:
		return cacheFlush(ctx, e, rest[0])
	case op == "refresh" && len(rest) == 0:
		return cacheRefreshAll(ctx, e)
	case op == "refresh" && len(rest) == 1:
		return cacheRefresh(ctx, e, rest[0])
	}
	return fmt.Errorf("mtastscache: usage: %s", cacheUsage)
}

// cacheMenu is the dialog form: the operation, then the domain it needs.
func cacheMenu(ctx context.Context, e *shell.Env) error {
	for {
		op, err := e.P.Menu([]shell.MenuItem{
			{Name: "LIST", Description: "List the cached policies."},
			{Name: "SHOW", Description: "Show the cached policy of a domain."},
			{Name: "FLUSH", Description: "Remove the cached policy of a domain, or all of them."},
			{Name: "REFRESH", Description: "Fetch the policy of a domain, or of every cached domain, now."},
		})
		if err != nil || op == "" {
			return err
		}
		var (
			domain string
			opErr  error
		)
		switch op {
		case "LIST":
			opErr = cacheList(ctx, e)
		case "SHOW", "FLUSH", "REFRESH":
			q := map[string]string{
				"SHOW":    "Enter the domain whose cached policy you wish to see.",
				"FLUSH":   `Enter the domain whose cached policy you wish to remove ("all" for every one).`,
				"REFRESH": `Enter the domain whose policy you wish to fetch now ("all" for every cached one).`,
			}[op]
			domain, err = e.P.Text(q, "", func(s string) error {
				if s == "" || (op != "SHOW" && strings.EqualFold(s, "all")) {
					return nil
				}
				_, err := checkDomain(s)
				return err
			})
			if err != nil {
				return err
			}
			switch {
			case domain == "":
			case op == "SHOW":
				opErr = cacheShow(ctx, e, domain)
			case op == "FLUSH":
				opErr = cacheFlush(ctx, e, domain)
			case strings.EqualFold(domain, "all"):
				opErr = cacheRefreshAll(ctx, e)
			default:
				opErr = cacheRefresh(ctx, e, domain)
			}
		}
		if opErr != nil {
			// In the menu, a failed operation is said and the menu asked again.
			fmt.Fprintln(e.Out, opErr)
		}
	}
}

// cacheList prints one line per cached policy.
func cacheList(ctx context.Context, e *shell.Env) error {
	entries, err := cacheOf(e).List(ctx)
	if len(entries) == 0 {
		if err != nil {
			return fmt.Errorf("mtastscache: %w", err)
		}
		fmt.Fprintln(e.Out, "The MTA-STS policy cache is empty.")
		return nil
	}
	now := e.Now()
	tw := tabwriter.NewWriter(e.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Domain\tMode\tId\tFetched\tExpires\tLast used")
	fmt.Fprintln(tw, "------\t----\t--\t-------\t-------\t---------")
	for _, en := range entries {
		expires := shell.FormatTime(en.ExpiresAt.UTC())
		if !en.Valid(now) {
			expires += " (expired)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", en.Domain, en.Policy.Mode, en.ID,
			shell.FormatTime(en.FetchedAt.UTC()), expires, lastUsed(en.LastUsed))
	}
	tw.Flush()
	fmt.Fprintf(e.Out, "%s.\n", plural(len(entries), "cached policy"))
	if err != nil {
		return fmt.Errorf("mtastscache: some entries could not be read: %w", err)
	}
	return nil
}

func lastUsed(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return shell.FormatTime(t.UTC())
}

// cacheShow prints one entry and its policy.
func cacheShow(ctx context.Context, e *shell.Env, domain string) error {
	d, err := checkDomain(domain)
	if err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	en, ok, err := cacheOf(e).Get(ctx, d)
	if err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	if !ok {
		return fmt.Errorf("mtastscache: there is no cached MTA-STS policy for %s (\"mtastscache refresh %s\" fetches it)", d, d)
	}
	now := e.Now()
	state := "valid"
	if !en.Valid(now) {
		state = "expired: no delivery applies it"
	}
	tw := tabwriter.NewWriter(e.Out, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "Domain:\t%s\n", en.Domain)
	fmt.Fprintf(tw, "Policy id:\t%s\n", en.ID)
	fmt.Fprintf(tw, "Mode:\t%s\n", en.Policy.Mode)
	if len(en.Policy.MX) > 0 {
		fmt.Fprintf(tw, "MX patterns:\t%s\n", strings.Join(en.Policy.MX, ", "))
	}
	fmt.Fprintf(tw, "Max age:\t%d seconds (%s)\n", en.Policy.MaxAge, duration(en.Policy.MaxAge))
	fmt.Fprintf(tw, "Fetched:\t%s\n", shell.FormatTime(en.FetchedAt.UTC()))
	fmt.Fprintf(tw, "Expires:\t%s (%s)\n", shell.FormatTime(en.ExpiresAt.UTC()), state)
	fmt.Fprintf(tw, "Last used:\t%s\n", lastUsed(en.LastUsed))
	tw.Flush()
	if en.Text != "" {
		writeText(e.Out, en.Text)
	}
	return nil
}

// cacheFlush removes one entry, or all.
func cacheFlush(ctx context.Context, e *shell.Env, domain string) error {
	c := cacheOf(e)
	if strings.EqualFold(domain, "all") {
		entries, listErr := c.List(ctx)
		n := 0
		for _, en := range entries {
			if err := c.Delete(ctx, en.Domain); err != nil {
				return fmt.Errorf("mtastscache: %w (%d of %d removed)", err, n, len(entries))
			}
			n++
		}
		if n == 0 && listErr == nil {
			fmt.Fprintln(e.Out, "The MTA-STS policy cache is empty: nothing to remove.")
			return nil
		}
		fmt.Fprintf(e.Out, "Removed %s.\n", plural(n, "cached policy"))
		if listErr != nil {
			return fmt.Errorf("mtastscache: some entries could not be read, and stay: %w", listErr)
		}
		return nil
	}
	d, err := checkDomain(domain)
	if err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	_, ok, err := c.Get(ctx, d)
	if err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	if !ok {
		fmt.Fprintf(e.Out, "There is no cached MTA-STS policy for %s: nothing to remove.\n", d)
		return nil
	}
	if err := c.Delete(ctx, d); err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	fmt.Fprintf(e.Out, "Removed the cached MTA-STS policy for %s: the next delivery fetches it again.\n", d)
	return nil
}

// cacheRefresh fetches one domain's policy now.
func cacheRefresh(ctx context.Context, e *shell.Env, domain string) error {
	d, err := checkDomain(domain)
	if err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	eng, err := e.MTASTS()
	if err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	res := eng.RefreshDomain(ctx, d)
	writeRefresh(e, res)
	if res.Err != nil {
		return fmt.Errorf("mtastscache: the policy of %s could not be refreshed", d)
	}
	return nil
}

// cacheRefreshAll fetches every cached domain's policy now, a few at a time, and
// prints the outcomes in domain order.
func cacheRefreshAll(ctx context.Context, e *shell.Env) error {
	eng, err := e.MTASTS()
	if err != nil {
		return fmt.Errorf("mtastscache: %w", err)
	}
	entries, listErr := cacheOf(e).List(ctx)
	if len(entries) == 0 && listErr == nil {
		fmt.Fprintln(e.Out, "The MTA-STS policy cache is empty: nothing to refresh.")
		return nil
	}
	results := make([]mtasts.RefreshResult, len(entries))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(refreshWorkers, len(entries)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = eng.RefreshDomain(ctx, entries[i].Domain)
			}
		}()
	}
	for i := range entries {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mtastscache: refresh: %w", err)
	}
	failed := 0
	for _, r := range results {
		writeRefresh(e, r)
		if r.Err != nil {
			failed++
		}
	}
	var errs []error
	if failed > 0 {
		errs = append(errs, fmt.Errorf("mtastscache: %d of %d policies could not be refreshed", failed, len(results)))
	}
	if listErr != nil {
		errs = append(errs, fmt.Errorf("mtastscache: some entries could not be read: %w", listErr))
	}
	return errors.Join(errs...)
}

// writeRefresh prints the outcome of one refresh.
func writeRefresh(e *shell.Env, r mtasts.RefreshResult) {
	why := ""
	if r.Err != nil {
		why = engineMessage(r.Err.Error())
	}
	switch r.Outcome {
	case mtasts.RefreshRefreshed:
		fmt.Fprintf(e.Out, "%s: policy id %s fetched, mode %s, cached until %s.\n", r.Domain, r.Entry.ID, r.Entry.Policy.Mode,
			shell.FormatTime(r.Entry.ExpiresAt.UTC()))
	case mtasts.RefreshKept:
		fmt.Fprintf(e.Out, "%s: no new policy (%s); the cached one (id %s) applies until %s.\n", r.Domain, why, r.Entry.ID,
			shell.FormatTime(r.Entry.ExpiresAt.UTC()))
	case mtasts.RefreshRemoved:
		fmt.Fprintf(e.Out, "%s: no new policy (%s); the cached one had expired and was removed.\n", r.Domain, why)
	case mtasts.RefreshNone:
		fmt.Fprintf(e.Out, "%s: no MTA-STS policy (%s); nothing is cached.\n", r.Domain, why)
	case mtasts.RefreshSkipped:
		fmt.Fprintf(e.Out, "%s: not due.\n", r.Domain)
	}
}
