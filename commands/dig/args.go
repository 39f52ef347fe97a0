package dig

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/idna"

	"github.com/segcli/segcli/engine/dns"
)

// Defaults of BIND's dig.
const (
	defaultTimeout = 5 * time.Second // +time
	defaultTries   = 3               // +tries
	ednsSize       = 1232            // EDNS0 buffer advertised (DNS Flag Day 2020)
)

// query is one dig command line, parsed.
type query struct {
	name   string // fully qualified, presentation format
	qtype  uint16
	qclass uint16
	// server is @SERVER as given: an IP address, "IP:PORT", "[IPv6]:PORT" or a host
	// name; "" means the session's resolvers.
	server string
	port   int        // -p; 0 when not given
	source netip.Addr // -s; zero when not given
	// Query flags and display options.
	dnssec, short, tcp, cd, ad, rd bool
	qid                            int // +qid; -1 for a random ID
	timeout                        time.Duration
	tries                          int
	// args are the arguments as typed, echoed in the "; <<>> DiG" line.
	args []string
}

// newQuery returns a query with dig's defaults: type A, class IN, RD and AD set.
func newQuery() query {
	return query{
		qclass: mdns.ClassINET, ad: true, rd: true, qid: -1,
		timeout: defaultTimeout, tries: defaultTries,
	}
}

// parseArgs reads `dig [-s SOURCE_IP] [-t TYPE] [-c CLASS] [-x ADDRESS] [-p PORT]
// [@SERVER] [+OPTION...] NAME [TYPE] [CLASS]` as BIND's dig does: options anywhere, a
// word that names a type (then a class) is the type (the class), the other word is
// the name. Without a name dig asks for the root's NS records.
func parseArgs(args []string) (query, error) {
	q := newQuery()
	q.args = args
	var typeSet, classSet, nameSet bool
	setName := func(s string) error {
		if nameSet {
			return fmt.Errorf("dig: '%s': only one name can be looked up at a time", s)
		}
		name, err := legalName(s)
		if err != nil {
			return err
		}
		q.name, nameSet = name, true
		return nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "@"):
			if a == "@" {
				return q, fmt.Errorf("dig: '@' needs a server: @192.0.2.53 or @ns.example.com")
			}
			q.server = a[1:]
		case strings.HasPrefix(a, "+"):
			if err := q.plusOption(a); err != nil {
				return q, err
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			opt, val := a[1], a[2:]
			if !strings.ContainsRune("tcxps", rune(opt)) {
				return q, fmt.Errorf("dig: invalid option: %s", a)
			}
			if val == "" {
				if i+1 >= len(args) {
					return q, fmt.Errorf("dig: option -%c needs a value", opt)
				}
				i++
				val = args[i]
			}
			switch opt {
			case 't':
				t, ok := dns.TypeFromString(val)
				if !ok {
					return q, fmt.Errorf("dig: '%s' is not a record type", val)
				}
				q.qtype, typeSet = t, true
			case 'c':
				c, ok := classFromString(val)
				if !ok {
					return q, fmt.Errorf("dig: '%s' is not a class", val)
				}
				q.qclass, classSet = c, true
			case 'x':
				addr, err := netip.ParseAddr(val)
				if err != nil || addr.Zone() != "" {
					return q, fmt.Errorf("dig: -x: '%s' is not an IP address", val)
				}
				rev, err := mdns.ReverseAddr(addr.Unmap().String())
				if err != nil {
					return q, fmt.Errorf("dig: -x: '%s' is not an IP address", val)
				}
				if nameSet {
					return q, fmt.Errorf("dig: '%s': only one name can be looked up at a time", val)
				}
				q.name, nameSet = rev, true
				if !typeSet {
					q.qtype = mdns.TypePTR
				}
			case 'p':
				p, err := strconv.Atoi(val)
				if err != nil || p < 1 || p > 65535 {
					return q, fmt.Errorf("dig: invalid port number '%s': give a number from 1 to 65535", val)
				}
				q.port = p
			case 's':
				addr, err := netip.ParseAddr(val)
				if err != nil || addr.Zone() != "" {
					return q, fmt.Errorf("dig: -s: '%s' is not an IP address of this machine", val)
				}
				q.source = addr.Unmap()
			}
		default:
			if t, ok := dns.TypeFromString(a); ok && !typeSet && !strings.Contains(a, ".") {
				q.qtype, typeSet = t, true
				continue
			}
			if c, ok := classFromString(a); ok && !classSet && !strings.Contains(a, ".") {
				q.qclass, classSet = c, true
				continue
			}
			if err := setName(a); err != nil {
				return q, err
			}
		}
	}
	if !nameSet {
		// BIND's dig without a name asks for the root's servers.
		q.name = "."
		if !typeSet {
			q.qtype = mdns.TypeNS
		}
	}
	if q.qtype == 0 && !typeSet {
		q.qtype = mdns.TypeA
	}
	if q.server != "" && q.port != 0 {
		if _, err := netip.ParseAddrPort(q.server); err == nil {
			return q, fmt.Errorf("dig: the port is given twice (@%s and -p %d): give it once", q.server, q.port)
		}
	}
	return q, nil
}

// plusOption applies one +[no]KEYWORD[=VALUE] option.
func (q *query) plusOption(a string) error {
	word, val, hasVal := strings.Cut(a[1:], "=")
	word = strings.ToLower(word)
	on := true
	if w, ok := strings.CutPrefix(word, "no"); ok && w != "" {
		on, word = false, w
	}
	flag := func(p *bool) error {
		if hasVal {
			return fmt.Errorf("dig: invalid option: %s", a)
		}
		*p = on
		return nil
	}
	number := func(lo, hi int) (int, error) {
		n, err := strconv.Atoi(val)
		if !on || !hasVal || err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("dig: invalid option: %s: give +%s=N with N from %d to %d", a, word, lo, hi)
		}
		return n, nil
	}
	switch word {
	case "dnssec":
		return flag(&q.dnssec)
	case "short":
		return flag(&q.short)
	case "tcp", "vc":
		return flag(&q.tcp)
	case "cd", "cdflag":
		return flag(&q.cd)
	case "ad", "adflag":
		return flag(&q.ad)
	case "rec", "recurse":
		return flag(&q.rd)
	case "qid":
		n, err := number(0, 65535)
		q.qid = n
		return err
	case "time":
		n, err := number(1, 60)
		q.timeout = time.Duration(n) * time.Second
		return err
	case "tries":
		n, err := number(1, 10)
		q.tries = n
		return err
	case "retry":
		n, err := number(0, 9)
		q.tries = n + 1
		return err
	}
	return fmt.Errorf("dig: invalid option: %s", a)
}

// classFromString returns the class named s: IN, CH, HS, ANY or CLASSn.
func classFromString(s string) (uint16, bool) {
	s = strings.ToUpper(s)
	switch s {
	case "IN", "CH", "HS", "ANY", "NONE", "CS":
		return mdns.StringToClass[s], true
	}
	if n, ok := strings.CutPrefix(s, "CLASS"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		if err == nil {
			return uint16(v), true
		}
	}
	return 0, false
}

// legalName checks a name as BIND's dig does and returns it fully qualified. A name
// in Unicode is converted to its ASCII form (IDNA2008, RFC 5891).
func legalName(s string) (string, error) {
	name := s
	if !isASCII(name) {
		a, err := idna.Lookup.ToASCII(strings.TrimSuffix(name, "."))
		if err != nil {
			return "", fmt.Errorf("dig: '%s' is not a legal IDN name (%v)", s, err)
		}
		name = a
	}
	if name == "." {
		return ".", nil
	}
	if name == "" {
		return "", fmt.Errorf("dig: '' is not a legal name (empty label)")
	}
	if !strings.Contains(name, `\`) {
		total := 1
		for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
			switch {
			case label == "":
				return "", fmt.Errorf("dig: '%s' is not a legal name (empty label)", s)
			case len(label) > 63:
				return "", fmt.Errorf("dig: '%s' is not a legal name (label too long)", s)
			}
			total += len(label) + 1
		}
		if total > 255 {
			return "", fmt.Errorf("dig: '%s' is not a legal name (ran out of space)", s)
		}
	}
	// Check the name as it will be sent: a final backslash would escape the dot
	// that Fqdn adds (a\ would become a\., a name of one label and no root).
	fq := mdns.Fqdn(name)
	if _, ok := mdns.IsDomainName(fq); !ok || !mdns.IsFqdn(fq) {
		return "", fmt.Errorf("dig: '%s' is not a legal name (bad escape or too long)", s)
	}
	return fq, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
