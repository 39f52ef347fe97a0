// Package smtproutes holds smtproutes, the appliance's SMTP routes: mail for a domain
// goes to one or more named hosts (each with a port and a priority, lower first)
// instead of the domain's MX hosts.
//
// A route takes precedence over the domain's DANE and MTA-STS settings in destconfig:
// mail follows the route with the TLS setting only (the engine's rule 1), so LIST
// marks the routed domains for which destconfig turns DANE or MTA-STS on. Domains
// follow the rules of destconfig: A-label form, and a leading dot for "this domain and
// its subdomains" (see store.MatchRoute).
package smtproutes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

func subcommands() []shell.MenuItem {
	return []shell.MenuItem{
		{Name: "NEW", Description: "Create a new route."},
		{Name: "EDIT", Description: "Edit destinations of an existing route."},
		{Name: "DELETE", Description: "Remove a route."},
		{Name: "LIST", Description: "Display a list of all routes."},
		{Name: "CLEAR", Description: "Remove all routes."},
		{Name: "IMPORT", Description: "Import new routes from a file."},
		{Name: "EXPORT", Description: "Export all routes to a file."},
	}
}

// forms are the synopses of the operations' batch forms, for help.
const forms = `  smtproutes new DOMAIN HOST[:PORT][/PRIORITY] ...
  smtproutes edit DOMAIN HOST[:PORT][/PRIORITY] ...
  smtproutes delete DOMAIN
  smtproutes list
  smtproutes clear [--confirm]
  smtproutes import FILE
  smtproutes export FILE`

const description = `Without arguments smtproutes shows the menu of operations. An operation named on
the command line asks its questions directly; given its arguments as well, it asks
nothing (for scripts):
` + forms + `

Changes go to the candidate configuration: "commit" makes them the running
configuration.

A route sends the mail for DOMAIN to its hosts instead of the domain's MX hosts:
HOST is a host name or an IP address (IPv6 in brackets), :PORT is 25 unless given,
/PRIORITY orders the hosts (lower first, 0 unless given), for example
"mx1.example.net/10, [2001:db8::25]:2525/20". Hosts go as several arguments or one
comma-separated list. DOMAIN follows destconfig: ".example.com" routes example.com and
all its subdomains; the route for exactly a name wins over the dotted one of its
nearest parent domain.

DANE and MTA-STS are not enforced for a routed domain: mail goes to the route's hosts
with destconfig's TLS setting only. LIST marks the routes of domains for which
destconfig turns DANE or MTA-STS on.

IMPORT and EXPORT read and write FILE in the "configuration" folder of the data
directory: one route per line, "DOMAIN HOST, HOST ...", # starts a comment. Import
replaces every route; a bad line is named and nothing changes. clear removes every
route after asking, or at once with --confirm.`

// Command returns smtproutes.
func Command() shell.Command {
	var menu []string
	for _, it := range subcommands() {
		menu = append(menu, strings.ToLower(it.Name))
	}
	return shell.Command{
		Name:        "smtproutes",
		Usage:       "smtproutes [OPERATION [ARGUMENTS]]",
		Summary:     "Set up permanent domain redirections (SMTP routes).",
		Description: description,
		Menu:        menu,
		Run: func(ctx context.Context, e *shell.Env, args []string) error {
			return (&cmd{e: e}).run(args)
		},
		Complete: complete,
	}
}

// cmd is one run of smtproutes.
type cmd struct {
	e *shell.Env
}

func (c *cmd) run(args []string) error {
	if len(args) == 0 {
		return c.menu()
	}
	op, rest := strings.ToUpper(args[0]), args[1:]
	switch op {
	case "NEW", "EDIT":
		switch len(rest) {
		case 0:
		case 1:
			return fmt.Errorf("usage: smtproutes %s DOMAIN HOST[:PORT][/PRIORITY] ...", strings.ToLower(op))
		default:
			return c.batchPut(strings.ToLower(op), rest[0], strings.Join(rest[1:], ","), op == "NEW")
		}
	case "DELETE":
		if len(rest) > 1 {
			return errors.New("usage: smtproutes delete DOMAIN")
		}
		if len(rest) == 1 {
			return c.batchDelete(rest[0])
		}
	case "LIST":
		if len(rest) > 0 {
			return errors.New("usage: smtproutes list")
		}
	case "CLEAR":
		switch {
		case len(rest) == 1 && rest[0] == "--confirm":
			return c.clear()
		case len(rest) > 0:
			return errors.New("usage: smtproutes clear [--confirm]")
		}
	case "IMPORT", "EXPORT":
		if len(rest) > 1 {
			return fmt.Errorf("usage: smtproutes %s FILE", strings.ToLower(op))
		}
		if len(rest) == 1 {
			if op == "IMPORT" {
				return c.importFile(rest[0])
			}
			return c.exportFile(rest[0])
		}
	default:
		var names []string
		for _, it := range subcommands() {
			names = append(names, strings.ToLower(it.Name))
		}
		return fmt.Errorf("smtproutes: unknown operation %q: use one of %s", args[0], strings.Join(names, ", "))
	}
	return c.do(op)
}

// menu loops over the operations until an empty answer.
func (c *cmd) menu() error {
	for {
		if n := len(c.routes()); n == 0 {
			c.e.P.Say("There are no routes configured.")
		} else {
			c.e.P.Say("There are currently %d routes configured.", n)
		}
		op, err := c.e.P.Menu(subcommands())
		if err != nil || op == "" {
			return err
		}
		if err := c.do(op); err != nil {
			if errors.Is(err, shell.ErrAbort) {
				return err
			}
			fmt.Fprintln(c.e.Err, strings.TrimRight(err.Error(), "\n"))
		}
	}
}

func (c *cmd) do(op string) error {
	switch op {
	case "NEW":
		return c.dialogNew()
	case "EDIT":
		return c.dialogEdit()
	case "DELETE":
		return c.dialogDelete()
	case "LIST":
		return c.e.Page(listText(c.routes(), c.destinations()))
	case "CLEAR":
		return c.dialogClear()
	case "IMPORT":
		name, err := c.e.P.Text(fmt.Sprintf("Enter the name of the file on machine \"%s\" to import:", c.e.Hostname()), "", nil)
		if err != nil || name == "" {
			return err
		}
		return c.importFile(name)
	case "EXPORT":
		name, err := c.e.P.Text("Enter a name for the exported file:", "", nil)
		if err != nil || name == "" {
			return err
		}
		return c.exportFile(name)
	}
	return fmt.Errorf("smtproutes: no operation %s", op)
}

// routes returns the candidate's routes for reading, sorted (a configuration loaded
// from a hand-edited file may not be: then a sorted copy).
func (c *cmd) routes() []store.Route {
	rs := c.e.Session.Config().Routes
	if slices.IsSortedFunc(rs, compareRoutes) {
		return rs
	}
	cp := slices.Clone(rs)
	store.SortRoutes(cp)
	return cp
}

// destinations returns the candidate's Destination Controls for reading, sorted.
func (c *cmd) destinations() *store.Destinations {
	ds := &c.e.Session.Config().Destinations
	if ds.Sorted() {
		return ds
	}
	cp := *ds
	cp.Entries = slices.Clone(ds.Entries)
	cp.Sort()
	return &cp
}

func compareRoutes(a, b store.Route) int { return store.CompareDomains(a.Domain, b.Domain) }

// edit returns a copy of the candidate to change, its routes sorted.
func (c *cmd) edit() *store.Config {
	cfg := c.e.Session.Edit()
	store.SortRoutes(cfg.Routes)
	cfg.Destinations.Sort()
	return cfg
}

func (c *cmd) askHosts(domain, def string) ([]store.RouteHost, error) {
	var hosts []store.RouteHost
	q := fmt.Sprintf("Enter the destination hosts, separated by commas, to which you want mail for %s to be delivered.\n"+
		"Add :PORT for a port other than 25 and /PRIORITY to order them (lower first), such as mx1.example.net:2525/10.", domain)
	_, err := c.e.P.Text(q, def, func(s string) error {
		h, err := store.ParseRouteHosts(s)
		if err != nil {
			return errors.New(shell.Sentence(err))
		}
		hosts = h
		return nil
	})
	return hosts, err
}

func (c *cmd) dialogNew() error {
	cfg := c.edit()
	name, err := c.e.P.Domain("Enter the domain you want to route.", func(n string) error {
		if _, ok := store.RouteIndex(cfg.Routes, n); ok {
			return fmt.Errorf("A route for %s already exists: use EDIT to change its destinations.", n)
		}
		return nil
	})
	if err != nil || name == "" {
		return err
	}
	hosts, err := c.askHosts(name, "")
	if err != nil {
		return err
	}
	cfg.Routes = store.PutRoute(cfg.Routes, store.Route{Domain: name, Hosts: hosts})
	c.e.Session.Set(cfg)
	c.sayNotEnforced(&cfg.Destinations, name)
	return nil
}

func (c *cmd) askExisting(routes []store.Route, question string) (string, error) {
	return c.e.P.Domain(question, func(n string) error {
		if _, ok := store.RouteIndex(routes, n); !ok {
			return fmt.Errorf("There is no route for %s: enter a routed domain (LIST shows them).", n)
		}
		return nil
	})
}

func (c *cmd) dialogEdit() error {
	cfg := c.edit()
	if len(cfg.Routes) == 0 {
		c.e.P.Say("There are no routes to edit: use NEW to create one.")
		return nil
	}
	name, err := c.askExisting(cfg.Routes, "Enter the domain of the route you wish to edit.")
	if err != nil || name == "" {
		return err
	}
	i, _ := store.RouteIndex(cfg.Routes, name)
	hosts, err := c.askHosts(name, store.FormatRouteHosts(cfg.Routes[i].Hosts))
	if err != nil {
		return err
	}
	cfg.Routes[i].Hosts = hosts
	c.e.Session.Set(cfg)
	return nil
}

func (c *cmd) dialogDelete() error {
	cfg := c.edit()
	if len(cfg.Routes) == 0 {
		c.e.P.Say("There are no routes to delete.")
		return nil
	}
	name, err := c.askExisting(cfg.Routes, "Enter the domain of the route you wish to delete.")
	if err != nil || name == "" {
		return err
	}
	cfg.Routes, _ = store.RemoveRoute(cfg.Routes, name)
	c.e.Session.Set(cfg)
	return nil
}

func (c *cmd) dialogClear() error {
	if len(c.routes()) == 0 {
		c.e.P.Say("There are no routes to remove.")
		return nil
	}
	sure, err := c.e.P.YesNo("Are you sure you want to remove all routes?", false)
	if err != nil || !sure {
		return err
	}
	return c.clear()
}

func (c *cmd) clear() error {
	cfg := c.edit()
	cfg.Routes = nil
	c.e.Session.Set(cfg)
	return nil
}

// batchPut is `smtproutes new|edit DOMAIN HOST ...`.
func (c *cmd) batchPut(op, domain, hosts string, isNew bool) error {
	prefix := "smtproutes " + op + ": "
	name, err := store.NormalizeDomain(domain)
	if err != nil {
		return fmt.Errorf("%s%v", prefix, err)
	}
	cfg := c.edit()
	_, exists := store.RouteIndex(cfg.Routes, name)
	switch {
	case isNew && exists:
		return fmt.Errorf("%sa route for %s already exists: use \"smtproutes edit %s HOST ...\" to change it", prefix, name, name)
	case !isNew && !exists:
		return fmt.Errorf("%sthere is no route for %s: use \"smtproutes new %s HOST ...\" to create it", prefix, name, name)
	}
	hs, err := store.ParseRouteHosts(hosts)
	if err != nil {
		return fmt.Errorf("%s%v; nothing changed", prefix, err)
	}
	cfg.Routes = store.PutRoute(cfg.Routes, store.Route{Domain: name, Hosts: hs})
	c.e.Session.Set(cfg)
	if isNew {
		c.sayNotEnforced(&cfg.Destinations, name)
	}
	return nil
}

func (c *cmd) batchDelete(domain string) error {
	name, err := store.NormalizeDomain(domain)
	if err != nil {
		return fmt.Errorf("smtproutes delete: %v", err)
	}
	cfg := c.edit()
	var ok bool
	if cfg.Routes, ok = store.RemoveRoute(cfg.Routes, name); !ok {
		return fmt.Errorf("smtproutes delete: there is no route for %s: \"smtproutes list\" shows the routes", name)
	}
	c.e.Session.Set(cfg)
	return nil
}

// notEnforced names what destconfig turns on for the route domain and the route
// disables: "DANE", "MTA-STS", "DANE, MTA-STS" or "".
func notEnforced(ds *store.Destinations, domain string) string {
	d, ok := ds.Lookup(domain)
	if !ok {
		d, _ = ds.Match(strings.TrimPrefix(domain, "."))
	}
	eff := ds.Effective(d)
	if eff.TLS == "no" {
		return ""
	}
	var on []string
	if eff.DANE != "none" {
		on = append(on, "DANE")
	}
	if eff.MTASTS == "on" {
		on = append(on, "MTA-STS")
	}
	return strings.Join(on, ", ")
}

// sayNotEnforced tells, after a new route, that it disables DANE or MTA-STS.
func (c *cmd) sayNotEnforced(ds *store.Destinations, domain string) {
	what := notEnforced(ds, domain)
	if what == "" {
		return
	}
	verb := "it is"
	if strings.Contains(what, ",") {
		what, verb = strings.ReplaceAll(what, ", ", " and "), "they are"
	}
	c.e.P.Say("destconfig turns %s on for %s, but %s not enforced while this route exists:\nmail goes to the route's hosts with the TLS setting only.", what, domain, verb)
}

// complete offers the operations, then routed domains (edit, delete) or files.
func complete(e *shell.Env, before []string) []string {
	if len(before) == 0 {
		var out []string
		for _, it := range subcommands() {
			out = append(out, strings.ToLower(it.Name))
		}
		return out
	}
	op := strings.ToLower(before[0])
	switch {
	case len(before) == 1 && (op == "edit" || op == "delete"):
		var out []string
		for _, r := range e.Session.Config().Routes {
			out = append(out, r.Domain)
		}
		return out
	case len(before) == 1 && op == "new":
		var out []string
		for _, d := range e.Session.Config().Destinations.Entries {
			out = append(out, d.Domain)
		}
		return out
	case len(before) == 1 && op == "clear":
		return []string{"--confirm"}
	case len(before) == 1 && (op == "import" || op == "export"):
		infos, err := afero.ReadDir(e.Fs, shell.ConfigDir)
		if err != nil {
			return nil
		}
		var out []string
		for _, fi := range infos {
			if !fi.IsDir() {
				out = append(out, fi.Name())
			}
		}
		return out
	}
	return nil
}
