package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The values each enumerated Destination field accepts, as in the import file.
var (
	ipSortValues      = []string{"PREFER_V4", "REQUIRE_V4", "PREFER_V6", "REQUIRE_V6"}
	limitTypeValues   = []string{"host", "MXIP"}
	limitApplyValues  = []string{"system", "VG"}
	tlsValues         = []string{"no", "preferred", "required", "preferred_verify", "required_verify", "required_verify_hosted"}
	daneValues        = []string{"none", "opportunistic", "mandatory"}
	mtaSTSValues      = []string{"off", "on"}
	bounceValidValues = []string{"off", "on"}
)

// Validate checks a configuration read from a file: names, enumerated values, ranges
// and references. It reports the first problem found.
func (c *Config) Validate() error {
	if err := ValidHostname(c.Hostname); err != nil {
		return fmt.Errorf("store: hostname: %w", err)
	}
	if err := c.Destinations.Default.validate(true); err != nil {
		return fmt.Errorf("store: destination (Default): %w", err)
	}
	seen := make(map[string]bool)
	for _, d := range c.Destinations.Entries {
		if d.Domain == "" {
			return errors.New("store: destination entry without a domain")
		}
		if seen[d.Domain] {
			return fmt.Errorf("store: destination %s: listed twice", d.Domain)
		}
		seen[d.Domain] = true
		if err := d.validate(false); err != nil {
			return fmt.Errorf("store: destination %s: %w", d.Domain, err)
		}
	}
	certs := make(map[string]bool)
	for _, cert := range c.Certificates {
		if err := ValidProfileName(cert.Name); err != nil {
			return fmt.Errorf("store: certificate %q: %w", cert.Name, err)
		}
		if certs[cert.Name] {
			return fmt.Errorf("store: certificate %s: listed twice", cert.Name)
		}
		certs[cert.Name] = true
	}
	if name := c.Destinations.Certificate; name != "" && !certs[name] {
		return fmt.Errorf("store: destinations: certificate %q is not configured", name)
	}
	for _, s := range c.DNS.Servers {
		if s.Address == "" || s.Port < 0 || s.Port > 65535 {
			return fmt.Errorf("store: dns server %q port %d: not a valid server", s.Address, s.Port)
		}
	}
	return nil
}

func (d Destination) validate(isDefault bool) error {
	enums := []struct {
		key, val string
		ok       []string
	}{
		{"ip_sort_pref", d.IPSort, ipSortValues},
		{"limit_type", d.LimitType, limitTypeValues},
		{"limit_apply", d.LimitApply, limitApplyValues},
		{"tls", d.TLS, tlsValues},
		{"dane", d.DANE, daneValues},
		{"mta_sts", d.MTASTS, mtaSTSValues},
		{"bounce_validation", d.BounceVerification, bounceValidValues},
	}
	for _, e := range enums {
		if e.val == "" && !isDefault {
			continue
		}
		if !slices.Contains(e.ok, e.val) {
			return fmt.Errorf("%s = %q: use one of %s", e.key, e.val, strings.Join(e.ok, ", "))
		}
	}
	ranges := []struct {
		key    string
		val    *int
		lo, hi int
		needed bool
	}{
		{"max_host_concurrency", d.MaxConcurrency, 1, 1000, isDefault},
		{"max_messages_per_connection", d.MessagesPerConn, 1, 1000, isDefault},
		{"recipient_limit", d.RecipientLimit, 0, 1_000_000_000, false},
		{"recipient_minutes", d.RecipientMinutes, 1, 60, false},
	}
	for _, r := range ranges {
		if r.val == nil {
			if r.needed {
				return fmt.Errorf("%s is missing", r.key)
			}
			continue
		}
		if *r.val < r.lo || *r.val > r.hi {
			return fmt.Errorf("%s = %d: use a number from %d to %d", r.key, *r.val, r.lo, r.hi)
		}
	}
	return nil
}

// ValidHostname checks a host name (RFC 1123 labels, at most 253 characters).
func ValidHostname(name string) error {
	if name == "" || len(name) > 253 {
		return errors.New("a host name has 1 to 253 characters")
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q: each part between dots has 1 to 63 characters", name)
		}
		for i, r := range label {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
				r == '-' && i > 0 && i < len(label)-1
			if !ok {
				return fmt.Errorf("%q: use letters, digits and inner hyphens only", name)
			}
		}
	}
	return nil
}

// ValidProfileName checks a certificate profile name: letters, digits, _ and -.
func ValidProfileName(name string) error {
	if name == "" {
		return errors.New("a name is required")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return errors.New("Symbols are not allowed.")
		}
	}
	return nil
}
