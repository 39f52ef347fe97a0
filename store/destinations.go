package store

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// NormalizeDomain checks a domain of the Destination Controls or of an SMTP route as
// an operator typed it and returns its stored form: A-labels (RFC 5890: "bücher.example"
// is kept as "xn--bcher-kva.example"), lower case, no final dot, at least two labels,
// and the leading dot kept when there is one (".example.com": example.com and its
// subdomains, see Destinations.Match). Wildcards and IP literals are refused. Errors
// are operator facing: lower case, saying what to type instead.
func NormalizeDomain(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q is not valid text (UTF-8): type the domain name again", s)
	}
	sub := strings.HasPrefix(s, ".")
	name := strings.TrimSuffix(strings.TrimPrefix(s, "."), ".")
	switch {
	case name == "":
		return "", errors.New("a domain name is required, such as example.com (or .example.com for example.com and its subdomains)")
	case strings.HasSuffix(name, "."):
		return "", fmt.Errorf("%q has an empty label at its end: write it with at most one final dot, such as example.com", s)
	case strings.HasPrefix(name, "*.") && !strings.Contains(name[2:], "*"):
		return "", fmt.Errorf("wildcards are not accepted: use .%s for %s and its subdomains", name[2:], name[2:])
	case strings.Contains(name, "*"):
		return "", errors.New("wildcards are not accepted: use .example.com for example.com and its subdomains")
	case isIPLiteral(name):
		return "", errors.New("IP addresses are not accepted: enter a domain name, such as example.com")
	}
	a, err := hostProfile().ToASCII(name)
	if err != nil {
		return "", domainError(name, err)
	}
	a = strings.ToLower(a)
	if err := ValidHostname(a); err != nil {
		return "", domainError(name, err)
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("%q is a single label: enter a domain name with at least two parts, such as example.com", name)
	}
	if isDigits(labels[len(labels)-1]) {
		return "", errors.New("a domain name cannot end in a number: enter a domain name, such as example.com")
	}
	if sub {
		a = "." + a
	}
	return a, nil
}

// NormalizeHost checks the host name of an SMTP route's destination and returns its
// stored form: an IP address in its canonical text (no brackets), or a host name in
// A-label form. A single-label host name (an internal relay) is accepted.
func NormalizeHost(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q is not valid text (UTF-8): type the host name again", s)
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		if ip.Zone() != "" {
			return "", errors.New("an address with a zone is not accepted: give a global or site address")
		}
		return ip.Unmap().String(), nil
	}
	name := strings.TrimSuffix(s, ".")
	switch {
	case name == "":
		return "", errors.New("a host name or IP address is required, such as mx.example.com")
	case strings.HasSuffix(name, "."):
		return "", fmt.Errorf("%q has an empty label at its end: write it with at most one final dot, such as mx.example.com", s)
	case strings.Contains(name, "*"):
		return "", errors.New("wildcards are not accepted: give one host name or IP address")
	}
	a, err := hostProfile().ToASCII(name)
	if err != nil {
		return "", hostError(name)
	}
	a = strings.ToLower(a)
	if err := ValidHostname(a); err != nil {
		return "", hostError(name)
	}
	if labels := strings.Split(a, "."); isDigits(labels[len(labels)-1]) {
		return "", fmt.Errorf("%q is neither an IP address nor a host name", name)
	}
	return a, nil
}

// hostProfile is the IDNA profile for names typed by an operator: UTS #46 mapping for
// lookup (case folding, width mapping), the Bidi rule and the DNS length limits.
func hostProfile() *idna.Profile {
	return idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.Transitional(false))
}

// DisplayDomain returns the Unicode form of a stored A-label domain, or "" when it has
// no A-labels (so that callers can show "xn--bcher-kva.example (bücher.example)").
func DisplayDomain(a string) string {
	if !strings.Contains(a, "xn--") {
		return ""
	}
	u, err := idna.ToUnicode(a)
	if err != nil || u == a {
		return ""
	}
	return u
}

func domainError(name string, err error) error {
	if strings.Contains(name, "_") {
		return fmt.Errorf("%q: underscores are not accepted in a domain name", name)
	}
	return fmt.Errorf("%q is not a domain name: use letters, digits, inner hyphens and dots (international names are accepted), such as example.com", name)
}

func hostError(name string) error {
	return fmt.Errorf("%q is not a host name or IP address: give a name such as mx.example.com, or an address such as 192.0.2.1 or [2001:db8::1]", name)
}

func isIPLiteral(s string) bool {
	if strings.HasPrefix(s, "[") || strings.Contains(s, ":") {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// CompareDomains orders stored domains: by the name without its leading dot, then the
// plain entry before the dotted one, so that example.com and .example.com sit side by
// side. Destinations.Entries and Config.Routes are kept in this order.
func CompareDomains(a, b string) int {
	ka, kb := strings.TrimPrefix(a, "."), strings.TrimPrefix(b, ".")
	if c := strings.Compare(ka, kb); c != 0 {
		return c
	}
	switch da, db := len(ka) < len(a), len(kb) < len(b); {
	case da == db:
		return 0
	case db:
		return -1
	}
	return 1
}

func compareEntry(d Destination, domain string) int { return CompareDomains(d.Domain, domain) }

// Sorted reports whether the entries are in CompareDomains order (a configuration
// loaded from a hand-edited file may not be).
func (ds *Destinations) Sorted() bool {
	return slices.IsSortedFunc(ds.Entries, func(a, b Destination) int { return CompareDomains(a.Domain, b.Domain) })
}

// Sort puts the entries in CompareDomains order.
func (ds *Destinations) Sort() {
	if !ds.Sorted() {
		slices.SortStableFunc(ds.Entries, func(a, b Destination) int { return CompareDomains(a.Domain, b.Domain) })
	}
}

// Index returns the position of the entry for the stored domain, or where it would be
// inserted and false. The entries must be sorted.
func (ds *Destinations) Index(domain string) (int, bool) {
	return slices.BinarySearchFunc(ds.Entries, domain, compareEntry)
}

// Lookup returns the entry for exactly the stored domain.
func (ds *Destinations) Lookup(domain string) (Destination, bool) {
	i, ok := ds.Index(domain)
	if !ok {
		return Destination{}, false
	}
	return ds.Entries[i], true
}

// Put adds d, or replaces the entry with the same domain; it reports whether an
// entry was replaced. The entries must be sorted and stay sorted.
func (ds *Destinations) Put(d Destination) (replaced bool) {
	i, ok := ds.Index(d.Domain)
	if ok {
		ds.Entries[i] = d
		return true
	}
	ds.Entries = slices.Insert(ds.Entries, i, d)
	return false
}

// Remove deletes the entry for the stored domain and reports whether there was one.
func (ds *Destinations) Remove(domain string) bool {
	i, ok := ds.Index(domain)
	if ok {
		ds.Entries = slices.Delete(ds.Entries, i, i+1)
		if len(ds.Entries) == 0 {
			ds.Entries = nil // as a configuration without entries reads back
		}
	}
	return ok
}

// Match returns the entry that applies to the host name name (A-label form, no
// leading dot), and false when the (Default) row applies. The entries must be sorted.
// The matching rule, in this order:
//  1. the entry for exactly that name: "a.example.com";
//  2. the dotted entry of the name itself, then of each parent domain, nearest first:
//     ".a.example.com", then ".example.com" (a dotted entry has at least two labels,
//     so ".com" is never one);
//  3. the (Default) row.
//
// So "example.com" and ".example.com" may both exist: the first decides for
// example.com itself, the second for its subdomains (and for example.com when there is
// no plain entry).
func (ds *Destinations) Match(name string) (Destination, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if d, ok := ds.Lookup(name); ok {
		return d, true
	}
	for s := name; strings.Contains(s, "."); s = s[strings.IndexByte(s, '.')+1:] {
		if d, ok := ds.Lookup("." + s); ok {
			return d, true
		}
	}
	return Destination{}, false
}

// Effective returns d with every unset field taken from the (Default) row.
func (ds *Destinations) Effective(d Destination) Destination {
	def := ds.Default
	str := func(v, dv string) string {
		if v == "" {
			return dv
		}
		return v
	}
	num := func(v, dv *int) *int {
		if v == nil {
			return cloneInt(dv)
		}
		return cloneInt(v)
	}
	out := Destination{
		Domain:             d.Domain,
		IPSort:             str(d.IPSort, def.IPSort),
		MaxConcurrency:     num(d.MaxConcurrency, def.MaxConcurrency),
		MessagesPerConn:    num(d.MessagesPerConn, def.MessagesPerConn),
		RecipientLimit:     num(d.RecipientLimit, def.RecipientLimit),
		RecipientMinutes:   num(d.RecipientMinutes, def.RecipientMinutes),
		LimitType:          str(d.LimitType, def.LimitType),
		LimitApply:         str(d.LimitApply, def.LimitApply),
		TLS:                str(d.TLS, def.TLS),
		DANE:               str(d.DANE, def.DANE),
		MTASTS:             str(d.MTASTS, def.MTASTS),
		BounceVerification: str(d.BounceVerification, def.BounceVerification),
		BounceProfile:      str(d.BounceProfile, def.BounceProfile),
	}
	if d.RecipientLimit != nil || d.RecipientMinutes != nil {
		// The recipient limit and its period go together.
		out.RecipientLimit, out.RecipientMinutes = cloneInt(d.RecipientLimit), cloneInt(d.RecipientMinutes)
	}
	return out
}

// Clone returns a deep copy of d.
func (d Destination) Clone() Destination { return d.clone() }

// Sort puts the hosts of r in priority order (lower first), keeping the given order
// among equal priorities.
func (r *Route) Sort() {
	slices.SortStableFunc(r.Hosts, func(a, b RouteHost) int { return a.Priority - b.Priority })
}

// String renders a route host as the dialogs and the routes file write it:
// HOST[:PORT][/PRIORITY], port 25 and priority 0 left out, IPv6 in brackets.
func (h RouteHost) String() string {
	host := h.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if h.Port != 0 && h.Port != DefaultSMTPPort {
		host += fmt.Sprintf(":%d", h.Port)
	}
	if h.Priority != 0 {
		host += fmt.Sprintf("/%d", h.Priority)
	}
	return host
}

// DefaultSMTPPort is the port of a route host that names none.
const DefaultSMTPPort = 25

// MaxRoutePriority is the highest priority a route host may have.
const MaxRoutePriority = 65535

// ParseRouteHost reads HOST[:PORT][/PRIORITY] (RouteHost.String's form).
func ParseRouteHost(s string) (RouteHost, error) {
	s = strings.TrimSpace(s)
	h := RouteHost{Port: DefaultSMTPPort}
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		p, err := parseUint(s[i+1:], 0, MaxRoutePriority)
		if err != nil {
			return RouteHost{}, fmt.Errorf("%q: the priority after / is a number from 0 to %d", s, MaxRoutePriority)
		}
		h.Priority, s = p, s[:i]
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return RouteHost{}, fmt.Errorf("%q: missing ] after the IPv6 address", s)
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return RouteHost{}, fmt.Errorf("%q: only :PORT may follow the address in brackets", s)
		}
		port = strings.TrimPrefix(port, ":")
	case strings.Count(s, ":") > 1:
		return RouteHost{}, fmt.Errorf("%q: put an IPv6 address in brackets, such as [2001:db8::1]:25", s)
	case strings.Contains(s, ":"):
		i := strings.IndexByte(s, ':')
		host, port = s[:i], s[i+1:]
	}
	if port != "" || strings.HasSuffix(s, ":") {
		p, err := parseUint(port, 1, 65535)
		if err != nil {
			return RouteHost{}, fmt.Errorf("%q: the port after : is a number from 1 to 65535", s)
		}
		h.Port = p
	}
	name, err := NormalizeHost(host)
	if err != nil {
		return RouteHost{}, err
	}
	h.Host = name
	return h, nil
}

func parseUint(s string, lo, hi int) (int, error) {
	if s == "" || len(s) > 10 || !isDigits(s) {
		return 0, errors.New("not a number")
	}
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	if n < lo || n > hi {
		return 0, errors.New("out of range")
	}
	return n, nil
}

// ParseRouteHosts reads a comma-separated list of route hosts, checks that no host
// and port appears twice, and returns them in priority order.
func ParseRouteHosts(s string) ([]RouteHost, error) {
	var hosts []RouteHost
	seen := make(map[string]bool)
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		h, err := ParseRouteHost(part)
		if err != nil {
			return nil, err
		}
		k := fmt.Sprintf("%s|%d", h.Host, h.Port)
		if seen[k] {
			return nil, fmt.Errorf("the host %s is listed twice: give each host and port once", RouteHost{Host: h.Host, Port: h.Port})
		}
		seen[k] = true
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil, errors.New("at least one destination host is required, such as mx.example.net")
	}
	r := Route{Hosts: hosts}
	r.Sort()
	return r.Hosts, nil
}

// FormatRouteHosts renders hosts as ParseRouteHosts reads them.
func FormatRouteHosts(hosts []RouteHost) string {
	parts := make([]string, len(hosts))
	for i, h := range hosts {
		parts[i] = h.String()
	}
	return strings.Join(parts, ", ")
}

func compareRoute(r Route, domain string) int { return CompareDomains(r.Domain, domain) }

// SortRoutes puts routes in CompareDomains order.
func SortRoutes(routes []Route) {
	if !slices.IsSortedFunc(routes, func(a, b Route) int { return CompareDomains(a.Domain, b.Domain) }) {
		slices.SortStableFunc(routes, func(a, b Route) int { return CompareDomains(a.Domain, b.Domain) })
	}
}

// RouteIndex returns the position of the route for the stored domain in sorted
// routes, or where it would be inserted and false.
func RouteIndex(routes []Route, domain string) (int, bool) {
	return slices.BinarySearchFunc(routes, domain, compareRoute)
}

// PutRoute adds r to sorted routes, or replaces the route with the same domain.
func PutRoute(routes []Route, r Route) []Route {
	i, ok := RouteIndex(routes, r.Domain)
	if ok {
		routes[i] = r
		return routes
	}
	return slices.Insert(routes, i, r)
}

// RemoveRoute deletes the route for the stored domain from sorted routes.
func RemoveRoute(routes []Route, domain string) ([]Route, bool) {
	i, ok := RouteIndex(routes, domain)
	if !ok {
		return routes, false
	}
	routes = slices.Delete(routes, i, i+1)
	if len(routes) == 0 {
		routes = nil
	}
	return routes, true
}

// MatchRoute returns the route that applies to the host name name by the matching
// rule of the Destination Controls (exact name, then the dotted entries of the name
// and its parents). The routes must be sorted.
func MatchRoute(routes []Route, name string) (Route, bool) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if i, ok := RouteIndex(routes, name); ok {
		return routes[i], true
	}
	for s := name; strings.Contains(s, "."); s = s[strings.IndexByte(s, '.')+1:] {
		if i, ok := RouteIndex(routes, "."+s); ok {
			return routes[i], true
		}
	}
	return Route{}, false
}
