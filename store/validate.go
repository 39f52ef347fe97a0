package store

import (
	"errors"
	"fmt"
	"strings"
)

// Validate checks a configuration read from a file: names, enumerated values, ranges
// and references. It reports the first problem found.
func (c *Config) Validate() error {
	if err := ValidHostname(c.Hostname); err != nil {
		return fmt.Errorf("store: hostname: %w", err)
	}
	if err := c.validateDestinations(); err != nil {
		return err
	}
	if err := c.validateCertificates(); err != nil {
		return err
	}
	for _, s := range c.DNS.Servers {
		if s.Address == "" || s.Port < 0 || s.Port > 65535 {
			return fmt.Errorf("store: dns server %q port %d: not a valid server", s.Address, s.Port)
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
