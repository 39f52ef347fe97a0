// Package destconfig holds destconfig, the appliance's Destination Controls: per
// destination domain, the delivery limits, the TLS setting, DANE and MTA-STS support,
// bounce verification and the bounce profile; a (Default) row for every other domain;
// and the global settings (the alert on a failed required TLS connection, the
// certificate for outbound TLS).
//
// The dialogs mirror the appliance's (reference/dialogs.md, section destconfig):
// question texts, numbering, defaults and order. Each completed operation (NEW, EDIT,
// ...) changes the session's candidate at once; an operation abandoned by EOF or
// Ctrl-C changes nothing. Every operation has a batch form with arguments, for
// scripts, using the import file's key names (--tls=preferred).
//
// Domains are stored in A-label form; a leading dot means "this domain and its
// subdomains". For a host name the entry for exactly that name applies, else the
// dotted entry of the name or of its nearest parent domain, else the (Default) row
// (see store.Destinations.Match).
package destconfig

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/shell"
	"github.com/segcli/segcli/store"
)

// Checks are the domain checks a dialog offers to run when DANE or MTA-STS is switched
// on for a domain ("Do you want to verify ... now? [N]>"). A nil check is not offered;
// the MTA-STS and DANE commands provide them.
type Checks struct {
	// MTASTS runs the check of mtastsverify for domain.
	MTASTS func(ctx context.Context, e *shell.Env, domain string) error
	// DANE runs the check of daneverify for domain.
	DANE func(ctx context.Context, e *shell.Env, domain string) error
}

// Command returns destconfig without the domain checks.
func Command() shell.Command { return NewCommand(Checks{}) }

// subcommands are the operations, in the menu's order.
func subcommands() []shell.MenuItem {
	return []shell.MenuItem{
		{Name: "SETUP", Description: "Change global settings."},
		{Name: "NEW", Description: "Create a new entry."},
		{Name: "EDIT", Description: "Modify an entry."},
		{Name: "DELETE", Description: "Remove an entry."},
		{Name: "DEFAULT", Description: "Change the default."},
		{Name: "LIST", Description: "Display a summary list of all entries."},
		{Name: "DETAIL", Description: "Display details for one destination or all entries."},
		{Name: "CLEAR", Description: "Remove all entries."},
		{Name: "IMPORT", Description: "Import tables from a file."},
		{Name: "EXPORT", Description: "Export tables to a file."},
	}
}

// forms are the synopses of the operations' batch forms, for help.
const forms = `  destconfig setup [--tls_alert=on|off] [--certificate=NAME]
  destconfig new DOMAIN [--KEY=VALUE ...]
  destconfig edit DOMAIN --KEY=VALUE ...
  destconfig delete DOMAIN
  destconfig default --KEY=VALUE ...
  destconfig list
  destconfig detail DOMAIN|default|all
  destconfig clear [--confirm]
  destconfig import FILE
  destconfig export FILE`

// NewCommand returns destconfig; checks are offered when DANE or MTA-STS is switched
// on for a domain.
func NewCommand(checks Checks) shell.Command {
	var menu []string
	for _, it := range subcommands() {
		menu = append(menu, strings.ToLower(it.Name))
	}
	return shell.Command{
		Name:        "destconfig",
		Usage:       "destconfig [OPERATION [ARGUMENTS]]",
		Summary:     "Configure Destination Controls per domain: TLS, DANE, MTA-STS, delivery limits.",
		Description: description(),
		Menu:        menu,
		Run: func(ctx context.Context, e *shell.Env, args []string) error {
			return (&cmd{ctx: ctx, e: e, checks: checks}).run(args)
		},
		Complete: complete,
	}
}

func description() string {
	var b strings.Builder
	b.WriteString(`Without arguments destconfig shows the menu of operations. An operation named on
the command line asks its questions directly; given its arguments as well, it asks
nothing (for scripts):
` + forms + `

Changes go to the candidate configuration: "commit" makes them the running
configuration.

Domains: "example.com" is that domain only; ".example.com" is example.com and all its
subdomains. For a host name, the entry for exactly that name applies, else the dotted
entry of the name or of its nearest parent domain, else the (Default) row.
International names are accepted and stored in A-label form (xn--...); wildcards and
IP addresses are refused.

Keys of --KEY=VALUE and of the import file (a key left out, or given empty as in
--tls=, means "use the (Default) row"):
`)
	ss := settings()
	for _, s := range ss {
		vals := strings.TrimPrefix(s.accepted(), "one of ")
		for len(vals) > 55 {
			i := strings.LastIndex(vals[:55], ", ")
			fmt.Fprintf(&b, "  %-28s %s,\n", s.key, vals[:i])
			s.key, vals = "", vals[i+2:]
		}
		fmt.Fprintf(&b, "  %-28s %s\n", s.key, vals)
	}
	b.WriteString(`recipient_limit and recipient_minutes go together. DANE and MTA-STS apply only when
TLS support is not "no", and not to a domain that has an SMTP route (smtproutes).
setup takes --tls_alert=on|off and --certificate=NAME (a certificate of certconfig).

IMPORT and EXPORT read and write FILE in the "configuration" folder of the data
directory: an INI file with a [DEFAULT] section (every key but recipient_minutes,
recipient_limit and bounce_profile) and one [DOMAIN] section per entry. Import
replaces the (Default) row and every entry; a bad line is named and nothing changes.
clear removes every entry (not the default) after asking, or at once with --confirm.`)
	return b.String()
}

// cmd is one run of destconfig.
type cmd struct {
	ctx    context.Context
	e      *shell.Env
	checks Checks
}

func (c *cmd) run(args []string) error {
	if len(args) == 0 {
		return c.menu()
	}
	op, rest := strings.ToUpper(args[0]), args[1:]
	switch op {
	case "SETUP":
		if len(rest) > 0 {
			return c.batchSetup(rest)
		}
	case "NEW":
		if len(rest) > 0 {
			return c.batchEntry("new", rest[0], rest[1:], true)
		}
	case "EDIT":
		if len(rest) == 1 {
			return fmt.Errorf("destconfig edit: give the settings to change as --KEY=VALUE (%s), or run \"destconfig edit\" to answer the questions", keyNames(settings()))
		}
		if len(rest) > 1 {
			return c.batchEntry("edit", rest[0], rest[1:], false)
		}
	case "DELETE":
		if len(rest) > 1 {
			return errors.New("usage: destconfig delete DOMAIN")
		}
		if len(rest) == 1 {
			return c.batchDelete(rest[0])
		}
	case "DEFAULT":
		if len(rest) > 0 {
			return c.batchDefault(rest)
		}
	case "LIST":
		if len(rest) > 0 {
			return errors.New("usage: destconfig list")
		}
	case "DETAIL":
		if len(rest) > 1 {
			return errors.New("usage: destconfig detail DOMAIN|default|all")
		}
		if len(rest) == 1 {
			return c.detail("destconfig detail: ", rest[0])
		}
	case "CLEAR":
		switch {
		case len(rest) == 1 && rest[0] == "--confirm":
			return c.clear()
		case len(rest) > 0:
			return errors.New("usage: destconfig clear [--confirm]")
		}
	case "IMPORT", "EXPORT":
		if len(rest) > 1 {
			return fmt.Errorf("usage: destconfig %s FILE", strings.ToLower(op))
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
		return fmt.Errorf("destconfig: unknown operation %q: use one of %s", args[0], strings.Join(names, ", "))
	}
	return c.do(op)
}

// menu is the appliance's loop: the number of entries, the operations, until an
// empty answer. A failed operation (a file that does not import) is reported and the
// menu comes back.
func (c *cmd) menu() error {
	for {
		c.e.P.Say("There are currently %d entries configured.", len(c.view().Entries)+1)
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

// do runs the dialog of one operation.
func (c *cmd) do(op string) error {
	switch op {
	case "SETUP":
		return c.dialogSetup()
	case "NEW":
		return c.dialogNew()
	case "EDIT":
		return c.dialogEdit()
	case "DELETE":
		return c.dialogDelete()
	case "DEFAULT":
		return c.dialogDefault()
	case "LIST":
		return c.e.Page(listText(c.view()))
	case "DETAIL":
		return c.dialogDetail()
	case "CLEAR":
		return c.dialogClear()
	case "IMPORT":
		return c.dialogImport()
	case "EXPORT":
		return c.dialogExport()
	}
	return fmt.Errorf("destconfig: no operation %s", op)
}

// view returns the candidate's Destination Controls for reading, sorted (a
// configuration loaded from a hand-edited file may not be: then a sorted copy).
func (c *cmd) view() *store.Destinations {
	ds := &c.e.Session.Config().Destinations
	if ds.Sorted() {
		return ds
	}
	cp := *ds
	cp.Entries = append([]store.Destination(nil), ds.Entries...)
	cp.Sort()
	return &cp
}

// edit returns a copy of the candidate to change, its entries sorted.
func (c *cmd) edit() *store.Config {
	cfg := c.e.Session.Edit()
	cfg.Destinations.Sort()
	store.SortRoutes(cfg.Routes)
	return cfg
}

// complete offers the operations, then configured domains (edit, delete, detail),
// settings (new, edit, default, setup) or files (import, export).
func complete(e *shell.Env, before []string) []string {
	if len(before) == 0 {
		var out []string
		for _, it := range subcommands() {
			out = append(out, strings.ToLower(it.Name))
		}
		return out
	}
	op := strings.ToLower(before[0])
	domains := func() []string {
		ds := &e.Session.Config().Destinations
		out := make([]string, 0, len(ds.Entries)+2)
		for _, d := range ds.Entries {
			out = append(out, d.Domain)
		}
		return out
	}
	switch {
	case len(before) == 1 && (op == "edit" || op == "delete"):
		return domains()
	case len(before) == 1 && op == "detail":
		return append(domains(), "default", "all")
	case op == "default" || op == "new" && len(before) >= 2 || op == "edit" && len(before) >= 2:
		return settingWords()
	case op == "setup":
		out := []string{"--tls_alert=on", "--tls_alert=off"}
		for _, cert := range e.Session.Config().Certificates {
			out = append(out, "--certificate="+cert.Name)
		}
		return out
	case op == "clear" && len(before) == 1:
		return []string{"--confirm"}
	case (op == "import" || op == "export") && len(before) == 1:
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

// settingWords are the whole --KEY=VALUE words of the enumerated settings (a number
// has no word to offer).
func settingWords() []string {
	var out []string
	for _, s := range settings() {
		for _, o := range s.options {
			out = append(out, "--"+s.key+"="+o.value)
		}
	}
	return append(out, "--bounce_profile=Default")
}
