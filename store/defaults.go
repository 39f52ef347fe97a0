package store

// Factory default values of the (Default) destination row.
const (
	DefaultConcurrency     = 500
	DefaultMessagesPerConn = 50
	DefaultCertificateName = "Demo"
)

// FactoryDefaults returns the configuration of a new gateway named hostname: the
// (Default) destination row, the system CA list enabled, resolvers from resolv.conf.
// The demonstration certificate is added by Open, which can write its key.
func FactoryDefaults(hostname string) *Config {
	return &Config{
		Hostname: hostname,
		Destinations: Destinations{
			Certificate: DefaultCertificateName,
			Default: Destination{
				IPSort:             "PREFER_V4",
				MaxConcurrency:     Int(DefaultConcurrency),
				MessagesPerConn:    Int(DefaultMessagesPerConn),
				LimitType:          "host",
				LimitApply:         "system",
				TLS:                "no",
				DANE:               "none",
				MTASTS:             "off",
				BounceVerification: "off",
				BounceProfile:      "Default",
			},
		},
		CA:  CAConfig{System: true},
		DNS: DNSConfig{UseResolvConf: true},
	}
}
