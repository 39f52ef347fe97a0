package smtproutes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/store"
)

// maxImportFile bounds a routes file.
const maxImportFile = 64 << 20

// listText renders LIST: one row per route (domain, destinations, and what the route
// disables among DANE and MTA-STS), then a note when a route disables any.
func listText(routes []store.Route, ds *store.Destinations) string {
	if len(routes) == 0 {
		return "\nThere are no routes configured.\n"
	}
	type row struct{ domain, hosts, off string }
	rows := make([]row, len(routes))
	wd, wh := len("Domain"), len("Destinations")
	marked := false
	for i, r := range routes {
		rows[i] = row{r.Domain, store.FormatRouteHosts(r.Hosts), notEnforced(ds, r.Domain)}
		wd, wh = max(wd, len(rows[i].domain)), max(wh, len(rows[i].hosts))
		marked = marked || rows[i].off != ""
	}
	var b strings.Builder
	b.WriteByte('\n')
	line := func(d, h, off string) {
		if off == "" {
			fmt.Fprintf(&b, "%-*s  %s\n", wd, d, h)
			return
		}
		fmt.Fprintf(&b, "%-*s  %-*s  %s\n", wd, d, wh, h, off)
	}
	head, rule := "", ""
	if marked {
		head, rule = "Not Enforced", strings.Repeat("-", len("Not Enforced"))
	}
	line("Domain", "Destinations", head)
	line(strings.Repeat("-", wd), strings.Repeat("-", wh), rule)
	for _, r := range rows {
		line(r.domain, r.hosts, r.off)
	}
	if marked {
		b.WriteString("\nNot Enforced: destconfig turns DANE or MTA-STS on for the domain, but mail follows\nthe SMTP route with the TLS setting only.\n")
	}
	return b.String()
}

// encodeRoutes renders the routes file: "DOMAIN HOST, HOST ..." per line, in order.
func encodeRoutes(routes []store.Route) []byte {
	var b strings.Builder
	for _, r := range routes {
		b.WriteString(r.Domain)
		b.WriteByte(' ')
		b.WriteString(store.FormatRouteHosts(r.Hosts))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// decodeRoutes reads a routes file; an error names the first bad line.
func decodeRoutes(data []byte) ([]store.Route, error) {
	var routes []store.Route
	first := make(map[string]int)
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		n := i + 1
		t := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if t == "" || t[0] == '#' {
			continue
		}
		sp := strings.IndexAny(t, " \t")
		if sp < 0 || strings.TrimSpace(t[sp:]) == "" {
			return nil, fmt.Errorf("line %d: %q: write DOMAIN then its hosts, such as \"example.com mx1.example.net, mx2.example.net/20\"", n, t)
		}
		domain, hosts := t[:sp], t[sp+1:]
		name, err := store.NormalizeDomain(domain)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if at, dup := first[name]; dup {
			return nil, fmt.Errorf("line %d: %s appears twice (first on line %d): give each domain one line", n, name, at)
		}
		first[name] = n
		hs, err := store.ParseRouteHosts(hosts)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		routes = append(routes, store.Route{Domain: name, Hosts: hs})
	}
	slices.SortFunc(routes, compareRoutes)
	return routes, nil
}

// importFile replaces every route with the file's.
func (c *cmd) importFile(file string) error {
	const prefix = "smtproutes import: "
	data, err := c.e.ReadConfigFile(file, maxImportFile)
	if err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	routes, err := decodeRoutes(data)
	if err != nil {
		return fmt.Errorf("%s%s: %v; nothing was imported", prefix, file, err)
	}
	cfg := c.edit()
	cfg.Routes = routes
	c.e.Session.Set(cfg)
	c.e.P.Say("Imported %d routes from %s.", len(routes), file)
	return nil
}

// exportFile writes the candidate's routes to the file.
func (c *cmd) exportFile(file string) error {
	const prefix = "smtproutes export: "
	path, err := c.e.ConfigPath(file)
	if err != nil {
		return fmt.Errorf("%s%v", prefix, err)
	}
	routes := c.routes()
	if err := afero.WriteFile(c.e.Fs, path, encodeRoutes(routes), 0o600); err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	c.e.P.Say("Exported %d routes to %s.", len(routes), file)
	return nil
}
