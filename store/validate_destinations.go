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

func (c *Config) validateDestinations() error {
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
