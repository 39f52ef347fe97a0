package store

// Config is the whole configuration of one gateway: what a revision holds and what a
// session's candidate edits. It is plain data; the dialogs validate values before they
// store them, and Validate checks a configuration loaded from a file.
type Config struct {
	// Hostname is the gateway's name, shown in the prompt (`sethostname`).
	Hostname     string        `toml:"hostname"`
	Destinations Destinations  `toml:"destinations"`
	Certificates []Certificate `toml:"certificate"`
	CA           CAConfig      `toml:"certauthority"`
	Routes       []Route       `toml:"smtproute"`
	DNS          DNSConfig     `toml:"dns"`
}

// Destinations holds the Destination Controls: the global settings of `destconfig
// setup`, the (Default) row and one entry per domain. Entries are kept sorted by
// domain in CompareDomains order (A-labels; "example.com" just before ".example.com");
// Match picks the entry that applies to a host name (see its doc for the rule).
type Destinations struct {
	// TLSAlert sends an alert when a required TLS connection fails.
	TLSAlert bool `toml:"tls_alert"`
	// Certificate names the certificate profile used for outbound TLS.
	Certificate string `toml:"certificate"`
	// HTTPProxy, when set, is used for MTA-STS policy fetches (http://host:port).
	HTTPProxy string        `toml:"http_proxy,omitempty"`
	Default   Destination   `toml:"default"`
	Entries   []Destination `toml:"entry"`
}

// Destination is one row of the Destination Controls table. In an entry an empty
// string or a nil number means "use the (Default) row"; the (Default) row has every
// field set but the recipient limit (nil: no limit). The string values are the import
// file's (see reference/dialogs.md); Validate checks them.
type Destination struct {
	// Domain is the A-label form of the domain (NormalizeDomain); a leading dot means
	// the domain and its subdomains. Empty on the (Default) row.
	Domain string `toml:"domain,omitempty"`
	// IPSort is PREFER_V4, REQUIRE_V4, PREFER_V6 or REQUIRE_V6.
	IPSort             string `toml:"ip_sort_pref,omitempty"`
	MaxConcurrency     *int   `toml:"max_host_concurrency,omitempty"`
	MessagesPerConn    *int   `toml:"max_messages_per_connection,omitempty"`
	RecipientLimit     *int   `toml:"recipient_limit,omitempty"`
	RecipientMinutes   *int   `toml:"recipient_minutes,omitempty"`
	LimitType          string `toml:"limit_type,omitempty"`  // host or MXIP
	LimitApply         string `toml:"limit_apply,omitempty"` // system or VG
	TLS                string `toml:"tls,omitempty"`         // no, preferred, required, preferred_verify, required_verify, required_verify_hosted
	DANE               string `toml:"dane,omitempty"`        // none, opportunistic, mandatory
	MTASTS             string `toml:"mta_sts,omitempty"`     // off, on
	BounceVerification string `toml:"bounce_validation,omitempty"`
	BounceProfile      string `toml:"bounce_profile,omitempty"`
}

// Certificate is a certificate profile. The private key is not part of the
// configuration: Key names a file in the data directory's key folder (mode 0600),
// written through Session.PutKey.
type Certificate struct {
	// Name is the profile name: letters, digits, _ and -.
	Name string `toml:"name"`
	// CertPEM is the certificate, one PEM CERTIFICATE block.
	CertPEM string `toml:"certificate"`
	// ChainPEM holds the intermediate certificates, the certificate's issuer first.
	ChainPEM string `toml:"chain,omitempty"`
	// Key is the reference PutKey returned for the private key (PKCS#8 PEM).
	Key string `toml:"key"`
	// CSR is the certificate signing request certconfig NEW made, until it is
	// replaced by the signed certificate (kept so that it can be viewed again).
	CSR string `toml:"csr,omitempty"`
}

// CAConfig selects the certificate authorities the gateway trusts. Both lists feed
// the one trust pool of the engine (engine/trust).
type CAConfig struct {
	// System enables the system CA list (the machine's roots, else the bundled ones).
	System bool `toml:"system"`
	// CustomEnabled enables the Custom list.
	CustomEnabled bool       `toml:"custom_enabled"`
	Custom        []CustomCA `toml:"custom"`
}

// CustomCA is one certificate of the custom CA list.
type CustomCA struct {
	// Name is the certificate's subject common name (or its whole subject), as listed.
	Name string `toml:"name"`
	// PEM is the certificate, one PEM CERTIFICATE block.
	PEM string `toml:"pem"`
}

// Route is an SMTP route: mail for Domain goes to Hosts instead of the domain's MX.
// Domain follows the Destination Controls' form and matching rule (MatchRoute);
// Config.Routes is kept in CompareDomains order and Hosts in priority order.
type Route struct {
	Domain string      `toml:"domain"`
	Hosts  []RouteHost `toml:"host"`
}

// RouteHost is one destination of a route; lower Priority is tried first. Host is a
// host name in A-label form or an IP address (without brackets); String renders it
// as HOST[:PORT][/PRIORITY].
type RouteHost struct {
	Host     string `toml:"host"`
	Port     int    `toml:"port"`
	Priority int    `toml:"priority"`
}

// DNSConfig chooses the resolvers: the machine's resolv.conf, or Servers.
type DNSConfig struct {
	// UseResolvConf reads the servers from /etc/resolv.conf at run time.
	UseResolvConf bool `toml:"use_resolv_conf"`
	// Servers are the operator's own resolvers, asked in order when UseResolvConf is
	// false; kept (unused) when it is true. dnsconfig never leaves UseResolvConf false
	// with no server.
	Servers []DNSServer `toml:"server"`
}

// DNSServer is a resolver the operator entered.
type DNSServer struct {
	// Address is an IP address in canonical form (dnsconfig accepts no host names:
	// they would need a resolver to find the resolver).
	Address string `toml:"address"`
	// Port is the server's port; 0 means 53.
	Port int `toml:"port"`
	// Trusted marks the resolver as validating and the path to it as secure, so its
	// AD bit counts (a loopback resolver is always trusted).
	Trusted bool `toml:"trusted"`
}

// Clone returns a deep copy of c: editing the copy never changes c.
func (c *Config) Clone() *Config {
	n := *c
	n.Destinations.Default = c.Destinations.Default.clone()
	n.Destinations.Entries = cloneSlice(c.Destinations.Entries, Destination.clone)
	n.Certificates = cloneSlice(c.Certificates, func(x Certificate) Certificate { return x })
	n.CA.Custom = cloneSlice(c.CA.Custom, func(x CustomCA) CustomCA { return x })
	n.Routes = cloneSlice(c.Routes, func(r Route) Route {
		r.Hosts = cloneSlice(r.Hosts, func(h RouteHost) RouteHost { return h })
		return r
	})
	n.DNS.Servers = cloneSlice(c.DNS.Servers, func(s DNSServer) DNSServer { return s })
	return &n
}

func (d Destination) clone() Destination {
	d.MaxConcurrency = cloneInt(d.MaxConcurrency)
	d.MessagesPerConn = cloneInt(d.MessagesPerConn)
	d.RecipientLimit = cloneInt(d.RecipientLimit)
	d.RecipientMinutes = cloneInt(d.RecipientMinutes)
	return d
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneSlice[T any](s []T, f func(T) T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	for i, x := range s {
		out[i] = f(x)
	}
	return out
}

// Int returns a pointer to v, for the optional numbers of a Destination.
func Int(v int) *int { return &v }
