package destconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/store"
)

// maxImportFile bounds an import file (10,000 entries take well under 1 MiB).
const maxImportFile = 64 << 20

// applyOptions reads --KEY=VALUE words into d. An empty value clears the key (use the
// default row), except on the default row itself, where every key but the recipient
// limit needs a value.
func applyOptions(d *store.Destination, words []string, onDefault bool) error {
	ss := settings()
	seen := make(map[string]bool)
	for _, w := range words {
		kv, dashed := strings.CutPrefix(w, "--")
		key, val, hasEq := strings.Cut(kv, "=")
		if !dashed || !hasEq || key == "" {
			return fmt.Errorf("%q: give each setting as --KEY=VALUE, such as --tls=preferred", w)
		}
		s, ok := findSetting(ss, key)
		if !ok {
			return fmt.Errorf("unknown key %q: use one of %s", key, keyNames(ss))
		}
		if seen[s.key] {
			return fmt.Errorf("--%s is given twice", s.key)
		}
		seen[s.key] = true
		if val == "" && onDefault && (s.required || s.key == "bounce_profile") {
			return fmt.Errorf("--%s= would leave the default without a value: use %s", s.key, s.accepted())
		}
		if err := s.set(d, val); err != nil {
			return err
		}
	}
	return nil
}

// batchEntry is `destconfig new|edit DOMAIN --KEY=VALUE ...`.
func (c *cmd) batchEntry(op, domain string, words []string, isNew bool) error {
	prefix := "destconfig " + op + ": "
	name, err := store.NormalizeDomain(domain)
	if err != nil {
		return fmt.Errorf("%s%v", prefix, err)
	}
	cfg := c.edit()
	ds := &cfg.Destinations
	cur, exists := ds.Lookup(name)
	switch {
	case isNew && exists:
		return fmt.Errorf("%s%s is already configured: use \"destconfig edit %s --KEY=VALUE\" to change it", prefix, name, name)
	case !isNew && !exists:
		return fmt.Errorf("%s%s is not configured: use \"destconfig new %s\" to create it", prefix, name, name)
	}
	d := cur.Clone()
	d.Domain = name
	if err := applyOptions(&d, words, false); err != nil {
		return fmt.Errorf("%s%v; nothing changed", prefix, err)
	}
	if err := d.Validate(false); err != nil {
		return fmt.Errorf("%s%v; nothing changed", prefix, err)
	}
	ds.Put(d)
	c.e.Session.Set(cfg)
	return nil
}

// batchDefault is `destconfig default --KEY=VALUE ...`.
func (c *cmd) batchDefault(words []string) error {
	cfg := c.edit()
	d := cfg.Destinations.Default.Clone()
	if err := applyOptions(&d, words, true); err != nil {
		return fmt.Errorf("destconfig default: %v; nothing changed", err)
	}
	if err := d.Validate(true); err != nil {
		return fmt.Errorf("destconfig default: %v; nothing changed", err)
	}
	cfg.Destinations.Default = d
	c.e.Session.Set(cfg)
	return nil
}

// batchDelete is `destconfig delete DOMAIN`.
func (c *cmd) batchDelete(domain string) error {
	name, err := store.NormalizeDomain(domain)
	if err != nil {
		return fmt.Errorf("destconfig delete: %v", err)
	}
	cfg := c.edit()
	if !cfg.Destinations.Remove(name) {
		return fmt.Errorf("destconfig delete: %s is not configured: \"destconfig list\" shows the entries", name)
	}
	c.e.Session.Set(cfg)
	return nil
}

// batchSetup is `destconfig setup --tls_alert=on|off --certificate=NAME`.
func (c *cmd) batchSetup(words []string) error {
	cfg := c.edit()
	dst := &cfg.Destinations
	for _, w := range words {
		key, val, ok := strings.Cut(strings.TrimPrefix(w, "--"), "=")
		switch {
		case !ok || !strings.HasPrefix(w, "--"):
			return fmt.Errorf("destconfig setup: %q: give each setting as --KEY=VALUE, such as --tls_alert=on; nothing changed", w)
		case key == "tls_alert":
			switch strings.ToLower(val) {
			case "on":
				dst.TLSAlert = true
			case "off":
				dst.TLSAlert = false
			default:
				return fmt.Errorf("destconfig setup: tls_alert = %q: use on or off; nothing changed", val)
			}
		case key == "certificate":
			var names []string
			found := false
			for _, cert := range cfg.Certificates {
				names = append(names, cert.Name)
				found = found || cert.Name == val
			}
			if !found {
				if len(names) == 0 {
					return errors.New("destconfig setup: there are no certificates: add one with \"certconfig\" first; nothing changed")
				}
				return fmt.Errorf("destconfig setup: certificate = %q: use one of %s; nothing changed", val, strings.Join(names, ", "))
			}
			dst.Certificate = val
		default:
			return fmt.Errorf("destconfig setup: unknown key %q: use tls_alert or certificate; nothing changed", key)
		}
	}
	c.e.Session.Set(cfg)
	return nil
}

// importFile replaces the (Default) row and every entry with the file's.
func (c *cmd) importFile(file string) error {
	const prefix = "destconfig import: "
	data, err := c.e.ReadConfigFile(file, maxImportFile)
	if err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	def, entries, err := decodeINI(data)
	if err != nil {
		return fmt.Errorf("%s%s: %v; nothing was imported", prefix, file, err)
	}
	cfg := c.edit()
	cfg.Destinations.Default, cfg.Destinations.Entries = def, entries
	c.e.Session.Set(cfg)
	c.e.P.Say("Imported %d entries from %s.", len(entries)+1, file)
	return nil
}

// exportFile writes the candidate's table to the file.
func (c *cmd) exportFile(file string) error {
	const prefix = "destconfig export: "
	path, err := c.e.ConfigPath(file)
	if err != nil {
		return fmt.Errorf("%s%v", prefix, err)
	}
	ds := c.view()
	if err := afero.WriteFile(c.e.Fs, path, encodeINI(ds), 0o600); err != nil {
		return fmt.Errorf("%s%w", prefix, err)
	}
	c.e.P.Say("Exported %d entries to %s.", len(ds.Entries)+1, file)
	return nil
}
