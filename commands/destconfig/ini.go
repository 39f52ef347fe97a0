package destconfig

import (
	"fmt"
	"slices"
	"strings"

	"github.com/segcli/segcli/store"
)

// defaultSection names the (Default) row in the import file.
const defaultSection = "DEFAULT"

// encodeINI renders the Destination Controls table as the import file: [DEFAULT] with
// every key it has, then one section per entry, in order, with only the keys the entry
// sets. decodeINI(encodeINI(t)) gives t back, and encoding that again gives the same
// bytes.
func encodeINI(ds *store.Destinations) []byte {
	ss := settings()
	var b strings.Builder
	b.Grow(64 * (len(ds.Entries) + 1))
	section := func(name string, d *store.Destination) {
		b.WriteByte('[')
		b.WriteString(name)
		b.WriteString("]\n")
		for _, s := range ss {
			if v, ok := s.get(d); ok {
				b.WriteString(s.key)
				b.WriteString(" = ")
				b.WriteString(v)
				b.WriteByte('\n')
			}
		}
	}
	section(defaultSection, &ds.Default)
	for i := range ds.Entries {
		b.WriteByte('\n')
		section(ds.Entries[i].Domain, &ds.Entries[i])
	}
	return []byte(b.String())
}

// lineError is a problem on one line of an import file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func errAt(line int, format string, args ...any) error {
	return &lineError{line: line, msg: fmt.Sprintf(format, args...)}
}

// decodeINI reads an import file: sections [DEFAULT] and [DOMAIN], lines "key = value"
// (":" is accepted for "="), blank lines and comments starting with # or ;. The
// (Default) row needs every key but recipient_minutes, recipient_limit and
// bounce_profile (which defaults to "Default"); a key left out of a domain's section
// means "use the default". It returns the (Default) row and the entries, sorted; an
// error names the first bad line.
func decodeINI(data []byte) (store.Destination, []store.Destination, error) {
	ss := settings()
	type section struct {
		line int
		d    store.Destination
		keys map[string]int
	}
	var (
		def     *section
		entries []*section
		cur     *section
		first   = make(map[string]int)
	)
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, raw := range lines {
		n := i + 1
		t := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		switch {
		case t == "" || t[0] == '#' || t[0] == ';':
			continue
		case t[0] == '[':
			if !strings.HasSuffix(t, "]") {
				return store.Destination{}, nil, errAt(n, "%q: write a section as [DEFAULT] or [example.com]", t)
			}
			name := strings.TrimSpace(t[1 : len(t)-1])
			if strings.EqualFold(name, defaultSection) {
				name = defaultSection
			} else {
				dn, err := store.NormalizeDomain(name)
				if err != nil {
					return store.Destination{}, nil, errAt(n, "[%s]: %v", name, err)
				}
				name = dn
			}
			if at, dup := first[name]; dup {
				return store.Destination{}, nil, errAt(n, "[%s] appears twice (first on line %d): give each domain one section", name, at)
			}
			first[name] = n
			cur = &section{line: n, keys: make(map[string]int)}
			if name == defaultSection {
				def = cur
			} else {
				cur.d.Domain = name
				entries = append(entries, cur)
			}
		default:
			k := strings.IndexAny(t, "=:")
			if k < 0 {
				return store.Destination{}, nil, errAt(n, "%q is not \"key = value\", a [section] or a # comment", t)
			}
			key, val := strings.TrimSpace(t[:k]), strings.TrimSpace(t[k+1:])
			if cur == nil {
				return store.Destination{}, nil, errAt(n, "%q comes before any section: start with [DEFAULT]", t)
			}
			s, ok := findSetting(ss, key)
			if !ok {
				return store.Destination{}, nil, errAt(n, "unknown key %q: use one of %s", key, keyNames(ss))
			}
			if at, dup := cur.keys[s.key]; dup {
				return store.Destination{}, nil, errAt(n, "%s appears twice in this section (first on line %d)", s.key, at)
			}
			cur.keys[s.key] = n
			if val == "" {
				return store.Destination{}, nil, errAt(n, "%s has no value: give %s, or leave the key out", s.key, s.accepted())
			}
			if err := s.set(&cur.d, val); err != nil {
				return store.Destination{}, nil, errAt(n, "%v", err)
			}
		}
	}
	if def == nil {
		return store.Destination{}, nil, fmt.Errorf("no [%s] section: the file needs one, with the default settings", defaultSection)
	}
	if def.d.BounceProfile == "" {
		def.d.BounceProfile = "Default"
	}
	if k := missingRequired(ss, &def.d); k != "" {
		return store.Destination{}, nil, errAt(def.line, "[%s] has no %s: the default needs every key but recipient_minutes, recipient_limit and bounce_profile", defaultSection, k)
	}
	if err := def.d.Validate(true); err != nil {
		return store.Destination{}, nil, errAt(def.line, "[%s]: %v", defaultSection, err)
	}
	var out []store.Destination // nil when there are none, as the store reads it back
	if len(entries) > 0 {
		out = make([]store.Destination, len(entries))
	}
	for i, s := range entries {
		if err := s.d.Validate(false); err != nil {
			return store.Destination{}, nil, errAt(s.line, "[%s]: %v", s.d.Domain, err)
		}
		out[i] = s.d
	}
	slices.SortFunc(out, func(a, b store.Destination) int { return store.CompareDomains(a.Domain, b.Domain) })
	return def.d, out, nil
}
