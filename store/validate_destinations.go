package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The values each enumerated Destination field accepts, as in the import file.
func ipSortValues() []string     { return []string{"PREFER_V4", "REQUIRE_V4", "PREFER_V6", "REQUIRE_V6"} }
func limitTypeValues() []string  { return []string{"host", "MXIP"} }
func limitApplyValues() []string { return []string{"system", "VG"} }
func tlsValues() []string {
	return []string{"no", "preferred", "required", "preferred_verify", "required_verify", "required_verify_hosted"}
}
func daneValues() []string  { return []string{"none", "opportunistic", "mandatory"} }
func onOffValues() []string { return []string{"off", "on"} }

func (c *Config) validateDestinations() error {
	if err := c.Destinations.Default.Validate(true); err != nil {
		return fmt.Errorf("store: destination (Default): %w", err)
	}
	seen := make(map[string]bool, len(c.Destinations.Entries))
	for _, d := range c.Destinations.Entries {
		if d.Domain == "" {
			return errors.New("store: destination entry without a domain")
		}
		if seen[d.Domain] {
			return fmt.Errorf("store: destination %s: listed twice", d.Domain)
		}
		seen[d.Domain] = true
		if err := d.Validate(false); err != nil {
			return fmt.Errorf("store: destination %s: %w", d.Domain, err)
		}
	}
	return validateRoutes(c.Routes)
}

// Validate checks one row of the Destination Controls: the domain (in its stored form,
// see NormalizeDomain) unless isDefault, the enumerated values, the number ranges, the
// recipient limit and its period given together, and, for the (Default) row, that
// every field but the recipient limit is set.
func (d Destination) Validate(isDefault bool) error {
	if !isDefault {
		n, err := NormalizeDomain(d.Domain)
		if err != nil {
			return err
		}
		if n != d.Domain {
			return fmt.Errorf("domain %q: write it as %q", d.Domain, n)
		}
	}
	enums := []struct {
		key, val string
		ok       []string
	}{
		{"ip_sort_pref", d.IPSort, ipSortValues()},
		{"limit_type", d.LimitType, limitTypeValues()},
		{"limit_apply", d.LimitApply, limitApplyValues()},
		{"tls", d.TLS, tlsValues()},
		{"dane", d.DANE, daneValues()},
		{"mta_sts", d.MTASTS, onOffValues()},
		{"bounce_validation", d.BounceVerification, onOffValues()},
	}
	for _, e := range enums {
		if e.val == "" && !isDefault {
			continue
		}
		if !slices.Contains(e.ok, e.val) {
			return fmt.Errorf("%s = %q: use one of %s", e.key, e.val, strings.Join(e.ok, ", "))
		}
	}
	switch {
	case d.BounceProfile == "" && isDefault:
		return errors.New("bounce_profile is missing")
	case d.BounceProfile != "":
		if err := ValidProfileName(d.BounceProfile); err != nil {
			return fmt.Errorf("bounce_profile = %q: use letters, digits, _ and -", d.BounceProfile)
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
		{"recipient_minutes", d.RecipientMinutes, 1, 60, false},
		{"recipient_limit", d.RecipientLimit, 0, 1_000_000_000, false},
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
	if (d.RecipientLimit == nil) != (d.RecipientMinutes == nil) {
		return errors.New("recipient_limit and recipient_minutes go together: give both or neither")
	}
	return nil
}

// validateRoutes checks the SMTP routes: stored domains, each once, and at least one
// valid host per route.
func validateRoutes(routes []Route) error {
	seen := make(map[string]bool, len(routes))
	for _, r := range routes {
		n, err := NormalizeDomain(r.Domain)
		if err != nil {
			return fmt.Errorf("store: smtp route %q: %w", r.Domain, err)
		}
		if n != r.Domain {
			return fmt.Errorf("store: smtp route %q: write the domain as %q", r.Domain, n)
		}
		if seen[r.Domain] {
			return fmt.Errorf("store: smtp route %s: listed twice", r.Domain)
		}
		seen[r.Domain] = true
		if len(r.Hosts) == 0 {
			return fmt.Errorf("store: smtp route %s: no destination host", r.Domain)
		}
		for _, h := range r.Hosts {
			n, err := NormalizeHost(h.Host)
			if err != nil {
				return fmt.Errorf("store: smtp route %s: %w", r.Domain, err)
			}
			if n != h.Host {
				return fmt.Errorf("store: smtp route %s: write the host %q as %q", r.Domain, h.Host, n)
			}
			if h.Port < 1 || h.Port > 65535 {
				return fmt.Errorf("store: smtp route %s: host %s: port %d: use a number from 1 to 65535", r.Domain, h.Host, h.Port)
			}
			if h.Priority < 0 || h.Priority > MaxRoutePriority {
				return fmt.Errorf("store: smtp route %s: host %s: priority %d: use a number from 0 to %d", r.Domain, h.Host, h.Priority, MaxRoutePriority)
			}
		}
	}
	return nil
}
