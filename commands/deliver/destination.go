package deliver

import (
	"fmt"
	"strings"

	"github.com/segcli/segcli/engine/delivery"
	"github.com/segcli/segcli/engine/tlspolicy"
	"github.com/segcli/segcli/store"
)

// Destination returns what the configuration c says about mail for domain, as the
// delivery engine's plain values: the Destination Controls entry that applies
// (store.Destinations.Match: the exact domain, then the dotted entries of the
// domain and its parents), its empty fields taken from the (Default) row, mapped
// to the TLS, DANE and MTA-STS controls, the IP sort preference and the limits;
// and the hosts of the SMTP route that applies (store.MatchRoute), in priority
// order. An error means a value that Validate should have refused.
func Destination(c *store.Config, domain string) (delivery.Destination, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(domain)), ".")
	entry, _ := c.Destinations.Match(d)
	eff := c.Destinations.Effective(entry)
	ctl, err := Controls(eff)
	if err != nil {
		return delivery.Destination{Domain: d}, err
	}
	sortPref, err := delivery.ParseIPSort(eff.IPSort)
	if err != nil {
		return delivery.Destination{Domain: d}, fmt.Errorf("deliver: destination %s: %w", d, err)
	}
	out := delivery.Destination{Domain: d, Controls: ctl, IPSort: sortPref}
	if eff.MessagesPerConn != nil {
		out.MessagesPerConnection = *eff.MessagesPerConn
	}
	if eff.MaxConcurrency != nil {
		out.Concurrency = *eff.MaxConcurrency
	}
	if r, ok := store.MatchRoute(c.Routes, d); ok {
		r.Hosts = append([]store.RouteHost(nil), r.Hosts...)
		r.Sort()
		for _, h := range r.Hosts {
			port := h.Port
			if port == 0 {
				port = store.DefaultSMTPPort
			}
			out.Routes = append(out.Routes, delivery.Host{Name: h.Host, Port: port})
		}
	}
	return out, nil
}

// tlsModes are the destconfig file values of "Do you want to use TLS support?".
var tlsModes = map[string]tlspolicy.TLSMode{
	"no":                     tlspolicy.TLSNo,
	"preferred":              tlspolicy.TLSPreferred,
	"required":               tlspolicy.TLSRequired,
	"preferred_verify":       tlspolicy.TLSPreferredVerify,
	"required_verify":        tlspolicy.TLSRequiredVerify,
	"required_verify_hosted": tlspolicy.TLSRequiredVerifyHosted,
}

// daneModes are the values of "Do you want to use DANE support?".
var daneModes = map[string]tlspolicy.DANEMode{
	"none":          tlspolicy.DANENone,
	"opportunistic": tlspolicy.DANEOpportunistic,
	"mandatory":     tlspolicy.DANEMandatory,
}

// Controls maps the TLS, DANE and MTA-STS values of an effective destination row
// (every field set, see store.Destinations.Effective) to tlspolicy's controls.
func Controls(d store.Destination) (tlspolicy.Controls, error) {
	name := d.Domain
	if name == "" {
		name = "(Default)"
	}
	tlsMode, ok := tlsModes[strings.ToLower(d.TLS)]
	if !ok {
		return tlspolicy.Controls{}, fmt.Errorf("deliver: destination %s: unknown TLS setting %q", name, d.TLS)
	}
	dane, ok := daneModes[strings.ToLower(d.DANE)]
	if !ok {
		return tlspolicy.Controls{}, fmt.Errorf("deliver: destination %s: unknown DANE setting %q", name, d.DANE)
	}
	var sts bool
	switch strings.ToLower(d.MTASTS) {
	case "on":
		sts = true
	case "off":
	default:
		return tlspolicy.Controls{}, fmt.Errorf("deliver: destination %s: unknown MTA-STS setting %q", name, d.MTASTS)
	}
	return tlspolicy.Controls{TLS: tlsMode, DANE: dane, MTASTS: sts}, nil
}

// FailClosed is the destination used when the configuration of domain cannot be
// read (Destination failed): TLS Required - Verify, no route. Mail waits rather than
// leave with less protection than the operator may have asked for.
func FailClosed(domain string) delivery.Destination {
	return delivery.Destination{Domain: domain, Controls: tlspolicy.Controls{TLS: tlspolicy.TLSRequiredVerify, DANE: tlspolicy.DANENone}}
}
