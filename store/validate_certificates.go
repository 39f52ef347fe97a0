package store

import "fmt"

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
	}
	if name := c.Destinations.Certificate; name != "" && !certs[name] {
		return fmt.Errorf("store: destinations: certificate %q is not configured", name)
	}
	return nil
}
