package destconfig

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// Texts said after a question, as on the appliance.
const (
	tlsReminder = "You have chosen to enable TLS. Please use the 'certconfig' command to ensure that there is a valid certificate configured."
	routeNote   = "MTA STS is not enforced for domains that have SMTP routes configured."
	defaultName = "(Default)"
)

func (c *cmd) dialogNew() error {
	cfg := c.edit()
	ds := &cfg.Destinations
	name, err := c.e.P.Domain("Enter the domain you wish to configure.", func(n string) error {
		if _, ok := ds.Index(n); ok {
			return fmt.Errorf("The domain %s is already configured: use EDIT to change it.", n)
		}
		return nil
	})
	if err != nil || name == "" {
		return err
	}
	d, err := c.askEntry(ds, store.Destination{Domain: name}, true)
	if err != nil {
		return err
	}
	ds.Put(d)
	c.e.Session.Set(cfg)
	return nil
}

// askExisting asks for a configured domain.
func (c *cmd) askExisting(ds *store.Destinations, question string) (string, error) {
	return c.e.P.Domain(question, func(n string) error {
		if _, ok := ds.Index(n); !ok {
			return fmt.Errorf("There is no entry for %s: enter a configured domain (LIST shows them).", n)
		}
		return nil
	})
}

func (c *cmd) dialogEdit() error {
	cfg := c.edit()
	ds := &cfg.Destinations
	if len(ds.Entries) == 0 {
		c.e.P.Say("There are no entries to edit: use NEW to create one, or DEFAULT to change the default.")
		return nil
	}
	name, err := c.askExisting(ds, "Enter the domain you wish to edit.")
	if err != nil || name == "" {
		return err
	}
	cur, _ := ds.Lookup(name)
	d, err := c.askEntry(ds, cur.Clone(), false)
	if err != nil {
		return err
	}
	ds.Put(d)
	c.e.Session.Set(cfg)
	return nil
}

func (c *cmd) dialogDelete() error {
	cfg := c.edit()
	ds := &cfg.Destinations
	if len(ds.Entries) == 0 {
		c.e.P.Say("There are no entries to delete.")
		return nil
	}
	name, err := c.askExisting(ds, "Enter the domain you wish to delete.")
	if err != nil || name == "" {
		return err
	}
	ds.Remove(name)
	c.e.Session.Set(cfg)
	return nil
}

// intOr returns *p, else *q, else def.
func intOr(def int, ps ...*int) int {
	for _, p := range ps {
		if p != nil {
			return *p
		}
	}
	return def
}

// askCount asks for a number in [lo, hi] with def as the default, or with no default
// when def is nil (then an empty answer is refused like a bad one).
func (c *cmd) askCount(question string, def *int, lo, hi int) (int, error) {
	if def != nil {
		return c.e.P.Int(question, *def, lo, hi)
	}
	bad := fmt.Errorf("You must enter a number between %d and %d.", lo, hi)
	var n int
	_, err := c.e.P.Text(question, "", func(s string) error {
		v, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
		if err != nil || v < lo || v > hi {
			return bad
		}
		n = v
		return nil
	})
	return n, err
}

// askEntry asks the questions of NEW and EDIT for cur (a copy) and returns the entry.
func (c *cmd) askEntry(ds *store.Destinations, cur store.Destination, isNew bool) (store.Destination, error) {
	p, def, name := c.e.P, ds.Default, cur.Domain
	d := cur
	before := ds.Effective(cur)
	// IP sort preference: the four values, then "Default (...)".
	ipOpts := ipSortOptions()
	choices := append(labels(ipOpts), fmt.Sprintf("Default (%s)", label(ipOpts, def.IPSort)))
	ip := index(ipOpts, cur.IPSort)
	if ip == 0 {
		ip = len(choices)
	}
	n, err := p.Choose("Choose the IP sort preference.", choices, ip)
	if err != nil {
		return cur, err
	}
	d.IPSort = ""
	if n <= len(ipOpts) {
		d.IPSort = ipOpts[n-1].value
	}
	// Limits.
	yes, err := p.YesNo(fmt.Sprintf("Do you wish to configure a concurrency limit for %s?", name), isNew || cur.MaxConcurrency != nil)
	if err != nil {
		return cur, err
	}
	d.MaxConcurrency = nil
	if yes {
		v, err := p.Int(fmt.Sprintf("Enter the max concurrency limit for \"%s\".", name), intOr(store.DefaultConcurrency, cur.MaxConcurrency, def.MaxConcurrency), 1, 1000)
		if err != nil {
			return cur, err
		}
		d.MaxConcurrency = &v
	}
	if yes, err = p.YesNo("Do you wish to apply a messages-per-connection limit to this domain?", cur.MessagesPerConn != nil); err != nil {
		return cur, err
	}
	d.MessagesPerConn = nil
	if yes {
		v, err := p.Int(fmt.Sprintf("Enter the max number of messages per connection for \"%s\".", name), intOr(store.DefaultMessagesPerConn, cur.MessagesPerConn, def.MessagesPerConn), 1, 1000)
		if err != nil {
			return cur, err
		}
		d.MessagesPerConn = &v
	}
	if yes, err = p.YesNo("Do you wish to apply a recipient limit to this domain?", cur.RecipientLimit != nil); err != nil {
		return cur, err
	}
	d.RecipientLimit, d.RecipientMinutes = nil, nil
	if yes {
		if d.RecipientMinutes, d.RecipientLimit, err = c.askRecipients(fmt.Sprintf(" for \"%s\"", name), cur, def); err != nil {
			return cur, err
		}
	}
	if d.LimitType, err = c.choose(fmt.Sprintf("Select how you want to apply the limits for %s:", name),
		[]option{{"host", "One limit applies to the entire domain for " + name}, limitTypeOptions()[1]},
		cur.LimitType, def.LimitType); err != nil {
		return cur, err
	}
	if d.LimitApply, err = c.choose("Select how the limits will be enforced:", limitApplyOptions(), cur.LimitApply, def.LimitApply); err != nil {
		return cur, err
	}
	// TLS, then DANE and MTA-STS when TLS support is 2-6.
	if yes, err = p.YesNo("Do you wish to apply a specific TLS setting for this domain?", cur.TLS != ""); err != nil {
		return cur, err
	}
	d.TLS = ""
	if yes {
		if d.TLS, err = c.choose("Do you want to use TLS support?", tlsOptions(), cur.TLS, "preferred"); err != nil {
			return cur, err
		}
		if d.TLS != "no" {
			p.Say(tlsReminder)
		}
	}
	if ds.Effective(d).TLS != "no" {
		if yes, err = p.YesNo("Do you wish to apply a specific DANE support for this domain?", cur.DANE != ""); err != nil {
			return cur, err
		}
		d.DANE = ""
		if yes {
			if d.DANE, err = c.choose("Do you want to use DANE support?", daneOptions(), cur.DANE, "none"); err != nil {
				return cur, err
			}
			if d.DANE != "none" && (isNew || before.DANE == "none") {
				if err := c.offerCheck(c.checks.DANE, fmt.Sprintf("Do you want to verify the DANE records of %s now?", strings.TrimPrefix(name, ".")), name); err != nil {
					return cur, err
				}
			}
		}
		if yes, err = p.YesNo("Do you wish to apply a specific MTA STS support for this domain?", cur.MTASTS != ""); err != nil {
			return cur, err
		}
		d.MTASTS = ""
		if yes {
			if d.MTASTS, err = c.choose("Do you want to use MTA STS support?", onOffOptions(), cur.MTASTS, "off"); err != nil {
				return cur, err
			}
			if d.MTASTS == "on" {
				p.Say(routeNote)
				if isNew || before.MTASTS != "on" {
					if err := c.offerCheck(c.checks.MTASTS, fmt.Sprintf("Do you want to verify the MTA-STS record and policy of %s now?", strings.TrimPrefix(name, ".")), name); err != nil {
						return cur, err
					}
				}
			}
		}
	}
	// Bounces.
	if yes, err = p.YesNo("Do you wish to apply a specific bounce verification address tagging setting for this domain?", cur.BounceVerification != ""); err != nil {
		return cur, err
	}
	d.BounceVerification = ""
	if yes {
		on, err := p.YesNo("Perform bounce verification address tagging?", before.BounceVerification == "on")
		if err != nil {
			return cur, err
		}
		d.BounceVerification = onOff(on)
	}
	if yes, err = p.YesNo("Do you wish to apply a specific bounce profile to this domain?", cur.BounceProfile != ""); err != nil {
		return cur, err
	}
	d.BounceProfile = ""
	if yes {
		if d.BounceProfile, err = c.askProfile("Enter the name of the bounce profile to use.", before.BounceProfile); err != nil {
			return cur, err
		}
	}
	return d, nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// choose asks a numbered question over opts; the default is cur, else fallback.
func (c *cmd) choose(question string, opts []option, cur, fallback string) (string, error) {
	def := index(opts, cur)
	if def == 0 {
		def = index(opts, fallback)
	}
	n, err := c.e.P.Choose(question, labels(opts), def)
	if err != nil {
		return "", err
	}
	return opts[n-1].value, nil
}

// askRecipients asks the period and the number of the recipient limit; forName is
// ` for "example.com"` or "" on the default row.
func (c *cmd) askRecipients(forName string, cur, def store.Destination) (minutes, limit *int, err error) {
	m, err := c.e.P.Int("Enter the number of minutes used to measure the recipient limit.", intOr(60, cur.RecipientMinutes, def.RecipientMinutes), 1, 60)
	if err != nil {
		return nil, nil, err
	}
	limDef := cur.RecipientLimit
	if limDef == nil {
		limDef = def.RecipientLimit
	}
	l, err := c.askCount(fmt.Sprintf("Enter the max number of recipients per %d minutes%s.", m, forName), limDef, 0, 1_000_000_000)
	if err != nil {
		return nil, nil, err
	}
	return &m, &l, nil
}

func (c *cmd) askProfile(question, def string) (string, error) {
	return c.e.P.Text(question, def, func(s string) error {
		if err := store.ValidProfileName(s); err != nil {
			return errors.New("Enter a profile name: letters, digits, _ and -.")
		}
		return nil
	})
}

// offerCheck asks question and runs check when the answer is yes; a failed check is
// reported and the dialog goes on. Nothing is asked while check is nil.
func (c *cmd) offerCheck(check func(ctx context.Context, e *shell.Env, domain string) error, question, name string) error {
	if check == nil {
		return nil
	}
	yes, err := c.e.P.YesNo(question, false)
	if err != nil || !yes {
		return err
	}
	if err := check(c.ctx, c.e, strings.TrimPrefix(name, ".")); err != nil {
		if errors.Is(err, shell.ErrAbort) {
			return err
		}
		fmt.Fprintln(c.e.Out, strings.TrimRight(err.Error(), "\n"))
	}
	return nil
}

// dialogDefault asks the questions of the (Default) row: the same as an entry's,
// without the domain, each with the current value as its default.
func (c *cmd) dialogDefault() error {
	cfg := c.edit()
	cur := cfg.Destinations.Default.Clone()
	d, err := c.askDefault(cur)
	if err != nil {
		return err
	}
	cfg.Destinations.Default = d
	c.e.Session.Set(cfg)
	return nil
}

func (c *cmd) askDefault(cur store.Destination) (store.Destination, error) {
	p, d := c.e.P, cur.Clone()
	var err error
	if d.IPSort, err = c.choose("Choose the IP sort preference.", ipSortOptions(), cur.IPSort, "PREFER_V4"); err != nil {
		return cur, err
	}
	conc, err := p.Int("Enter the default max concurrency limit.", intOr(store.DefaultConcurrency, cur.MaxConcurrency), 1, 1000)
	if err != nil {
		return cur, err
	}
	msgs, err := p.Int("Enter the default max number of messages per connection.", intOr(store.DefaultMessagesPerConn, cur.MessagesPerConn), 1, 1000)
	if err != nil {
		return cur, err
	}
	d.MaxConcurrency, d.MessagesPerConn = &conc, &msgs
	yes, err := p.YesNo("Do you wish to apply a default recipient limit?", cur.RecipientLimit != nil)
	if err != nil {
		return cur, err
	}
	d.RecipientLimit, d.RecipientMinutes = nil, nil
	if yes {
		if d.RecipientMinutes, d.RecipientLimit, err = c.askRecipients("", cur, store.Destination{}); err != nil {
			return cur, err
		}
	}
	if d.LimitType, err = c.choose("Select how you want to apply the default limits:", limitTypeOptions(), cur.LimitType, "host"); err != nil {
		return cur, err
	}
	if d.LimitApply, err = c.choose("Select how the limits will be enforced:", limitApplyOptions(), cur.LimitApply, "system"); err != nil {
		return cur, err
	}
	if d.TLS, err = c.choose("Do you want to use TLS support?", tlsOptions(), cur.TLS, "no"); err != nil {
		return cur, err
	}
	if d.TLS != "no" {
		p.Say(tlsReminder)
		if d.DANE, err = c.choose("Do you want to use DANE support?", daneOptions(), cur.DANE, "none"); err != nil {
			return cur, err
		}
		if d.MTASTS, err = c.choose("Do you want to use MTA STS support?", onOffOptions(), cur.MTASTS, "off"); err != nil {
			return cur, err
		}
		if d.MTASTS == "on" && cur.MTASTS != "on" {
			p.Say("MTA STS on the default applies to every domain without a specific entry: each delivery to\nthem looks up an MTA-STS record, and fetches a policy where one is published. This adds\nload for little benefit; enable MTA STS for the domains that publish a policy instead.")
			sure, err := p.YesNo("Are you sure you want to enable MTA STS for the default?", false)
			if err != nil {
				return cur, err
			}
			if !sure {
				d.MTASTS = cur.MTASTS
			}
		}
		if d.MTASTS == "on" {
			p.Say(routeNote)
		}
	}
	on, err := p.YesNo("Perform bounce verification address tagging?", cur.BounceVerification == "on")
	if err != nil {
		return cur, err
	}
	d.BounceVerification = onOff(on)
	if d.BounceProfile, err = c.askProfile("Enter the name of the default bounce profile.", cmp.Or(cur.BounceProfile, "Default")); err != nil {
		return cur, err
	}
	return d, nil
}

// dialogSetup asks the global settings: the alert, the certificate for outbound TLS.
func (c *cmd) dialogSetup() error {
	cfg := c.edit()
	dst := &cfg.Destinations
	alert, err := c.e.P.YesNo("Would you like to enable the sending of an alert when a required TLS connection fails?", dst.TLSAlert)
	if err != nil {
		return err
	}
	dst.TLSAlert = alert
	if len(cfg.Certificates) == 0 {
		c.e.P.Say("There are no certificates: use the 'certconfig' command to add one.")
	} else {
		names := make([]string, len(cfg.Certificates))
		def := 1
		for i, cert := range cfg.Certificates {
			names[i] = cert.Name
			if cert.Name == dst.Certificate {
				def = i + 1
			}
		}
		n, err := c.e.P.Choose("Choose the certificate to use for outbound TLS connections.", names, def)
		if err != nil {
			return err
		}
		dst.Certificate = names[n-1]
	}
	c.e.Session.Set(cfg)
	return nil
}

func (c *cmd) dialogDetail() error {
	ds := c.view()
	var name string
	_, err := c.e.P.Text(`Enter the domain you wish to view, "default" or "all".`, "", func(s string) error {
		name = s
		if s == "" || strings.EqualFold(s, "default") || strings.EqualFold(s, "all") {
			return nil
		}
		n, err := store.NormalizeDomain(s)
		if err != nil {
			return errors.New(shell.Sentence(err))
		}
		if _, ok := ds.Index(n); !ok {
			return fmt.Errorf("There is no entry for %s: enter a configured domain, \"default\" or \"all\".", n)
		}
		name = n
		return nil
	})
	if err != nil || name == "" {
		return err
	}
	return c.detail("", name)
}

// detail prints one entry, the default row or all of them.
func (c *cmd) detail(prefix, what string) error {
	cfg := c.e.Session.Config()
	ds := c.view()
	switch {
	case strings.EqualFold(what, "all"):
		return c.e.Page(detailAllText(ds, cfg.Routes))
	case strings.EqualFold(what, "default"):
		return c.e.Page(detailText(ds, nil, nil))
	}
	n, err := store.NormalizeDomain(what)
	if err != nil {
		return fmt.Errorf("%s%v", prefix, err)
	}
	d, ok := ds.Lookup(n)
	if !ok {
		return fmt.Errorf("%s%s is not configured: \"destconfig list\" shows the entries", prefix, n)
	}
	return c.e.Page(detailText(ds, &d, cfg.Routes))
}

func (c *cmd) dialogClear() error {
	if len(c.view().Entries) == 0 {
		c.e.P.Say("There are no entries to remove.")
		return nil
	}
	sure, err := c.e.P.YesNo("Are you sure you want to remove all entries?", false)
	if err != nil || !sure {
		return err
	}
	return c.clear()
}

func (c *cmd) clear() error {
	cfg := c.edit()
	cfg.Destinations.Entries = nil
	c.e.Session.Set(cfg)
	return nil
}

func (c *cmd) dialogImport() error {
	name, err := c.e.P.Text(fmt.Sprintf("Enter the name of the file on machine \"%s\" to import:", c.e.Hostname()), "", nil)
	if err != nil || name == "" {
		return err
	}
	return c.importFile(name)
}

func (c *cmd) dialogExport() error {
	name, err := c.e.P.Text("Enter a name for the exported file:", "", nil)
	if err != nil || name == "" {
		return err
	}
	return c.exportFile(name)
}
