package store

import (
	"bytes"
	"fmt"
)

// validateCertificates checks the certificate profiles (names, PEM contents, key
// references), the certificate destconfig selects, and the custom CA list.
func (c *Config) validateCertificates() error {
	certs := make(map[string]bool)
	for _, cert := range c.Certificates {
		if err := ValidProfileName(cert.Name); err != nil {
			return fmt.Errorf("store: certificate %q: %w", cert.Name, err)
		}
		if certs[cert.Name] {
			return fmt.Errorf("store: certificate %s: listed twice", cert.Name)
		}
		certs[cert.Name] = true
		if _, _, err := cert.Parse(); err != nil {
			return err
		}
		if _, err := cert.ParseCSR(); err != nil {
			return err
		}
		if err := validKeyRef(cert.Key); err != nil {
			return fmt.Errorf("store: certificate %s: %w", cert.Name, err)
		}
	}
	if name := c.Destinations.Certificate; name != "" && !certs[name] {
		return fmt.Errorf("store: destinations: certificate %q is not configured", name)
	}
	var seen [][]byte
	for i, ca := range c.CA.Custom {
		list, err := ParseCertificates(ca.PEM)
		if err != nil {
			return fmt.Errorf("store: custom CA %d (%s): %w", i+1, ca.Name, err)
		}
		if len(list) != 1 {
			return fmt.Errorf("store: custom CA %d (%s): want one certificate, found %d", i+1, ca.Name, len(list))
		}
		for _, s := range seen {
			if bytes.Equal(s, list[0].Raw) {
				return fmt.Errorf("store: custom CA %d (%s): listed twice", i+1, ca.Name)
			}
		}
		seen = append(seen, list[0].Raw)
	}
	return nil
}
