package dns

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// Record types, so that other packages need not import miekg/dns.
const (
	TypeA      = mdns.TypeA
	TypeNS     = mdns.TypeNS
	TypeCNAME  = mdns.TypeCNAME
	TypeSOA    = mdns.TypeSOA
	TypePTR    = mdns.TypePTR
	TypeMX     = mdns.TypeMX
	TypeTXT    = mdns.TypeTXT
	TypeAAAA   = mdns.TypeAAAA
	TypeSRV    = mdns.TypeSRV
	TypeDNAME  = mdns.TypeDNAME
	TypeDS     = mdns.TypeDS
	TypeRRSIG  = mdns.TypeRRSIG
	TypeNSEC   = mdns.TypeNSEC
	TypeDNSKEY = mdns.TypeDNSKEY
	TypeNSEC3  = mdns.TypeNSEC3
	TypeTLSA   = mdns.TypeTLSA
	TypeSVCB   = mdns.TypeSVCB
	TypeHTTPS  = mdns.TypeHTTPS
	TypeANY    = mdns.TypeANY
	TypeCAA    = mdns.TypeCAA
)

// Response codes (RFC 1035 §4.1.1, RFC 6895 §2.3) as found in Result.Rcode.
const (
	RcodeNoError  = mdns.RcodeSuccess
	RcodeFormErr  = mdns.RcodeFormatError
	RcodeServFail = mdns.RcodeServerFailure
	RcodeNXDomain = mdns.RcodeNameError
	RcodeNotImp   = mdns.RcodeNotImplemented
	RcodeRefused  = mdns.RcodeRefused
)

// TypeFromString returns the record type named s ("MX", "txt", "TYPE65534").
func TypeFromString(s string) (uint16, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if t, ok := mdns.StringToType[s]; ok {
		return t, true
	}
	if n, ok := strings.CutPrefix(s, "TYPE"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		if err == nil {
			return uint16(v), true
		}
	}
	return 0, false
}

// TypeString returns the mnemonic of record type t, or "TYPEn" (RFC 3597 §5)
// for a type without one.
func TypeString(t uint16) string {
	if s, ok := mdns.TypeToString[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// RcodeString returns the mnemonic of a response code ("NXDOMAIN"), or
// "RCODEn" for one without a name.
func RcodeString(rcode int) string {
	if s, ok := mdns.RcodeToString[rcode]; ok {
		return s
	}
	return "RCODE" + strconv.Itoa(rcode)
}

// Status is the DNSSEC verdict on a Result. See the package documentation.
// The zero value is Insecure, so that a zero Result never claims security.
type Status int

const (
	// Insecure is usable data that is not validated, or validated by a
	// server that is not trusted.
	Insecure Status = iota
	// Secure is data (or a denial) validated by a trusted server.
	Secure
	// Bogus is data that failed DNSSEC validation.
	Bogus
	// TempFail is a failure to get an answer: SERVFAIL without a DNSSEC
	// reason, REFUSED, timeout, network error.
	TempFail
)

// String returns "secure", "insecure", "bogus" or "tempfail".
func (s Status) String() string {
	switch s {
	case Secure:
		return "secure"
	case Insecure:
		return "insecure"
	case Bogus:
		return "bogus"
	case TempFail:
		return "tempfail"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// weaker returns the weaker of two statuses, for a chain whose status is that
// of its weakest step: TempFail < Bogus < Insecure < Secure.
func weaker(a, b Status) Status {
	rank := func(s Status) int {
		switch s {
		case Secure:
			return 3
		case Insecure:
			return 2
		case Bogus:
			return 1
		}
		return 0
	}
	if rank(b) < rank(a) {
		return b
	}
	return a
}

// RR is a resource record as plain data. Name is the owner name, canonical
// (lower case, fully qualified); Data is the record data in zone-file text
// form ("10 mx.example.com." for an MX record). RR values compare with ==, so
// fake resolvers in tests can build them by hand or with ParseRR.
type RR struct {
	Name string
	Type uint16
	TTL  uint32
	Data string
}

// String returns the record in zone-file form, "name TTL IN TYPE data";
// ParseRR reads it back.
func (rr RR) String() string {
	return fmt.Sprintf("%s\t%d\tIN\t%s\t%s", rr.Name, rr.TTL, TypeString(rr.Type), rr.Data)
}

// ParseRR parses one record in zone-file form, such as
// "example.com. 300 IN MX 10 mx.example.com.". Names must be fully qualified.
func ParseRR(s string) (RR, error) {
	rr, err := parseZoneRR(s)
	if err != nil {
		return RR{}, err
	}
	return fromMiekg(rr), nil
}

// parseZoneRR parses a single record with miekg's zone parser, with $INCLUDE
// disabled and exactly one line accepted.
func parseZoneRR(s string) (mdns.RR, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "\n\r") {
		return nil, fmt.Errorf("dns: parse record %q: want exactly one line", s)
	}
	zp := mdns.NewZoneParser(strings.NewReader(s+"\n"), ".", "")
	zp.SetIncludeAllowed(false)
	rr, ok := zp.Next()
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("dns: parse record %q: %w", s, err)
	}
	if !ok || rr == nil {
		return nil, fmt.Errorf("dns: parse record %q: no record", s)
	}
	return rr, nil
}

// fromMiekg converts a miekg record to an RR.
func fromMiekg(rr mdns.RR) RR {
	h := rr.Header()
	return RR{
		Name: mdns.CanonicalName(h.Name),
		Type: h.Rrtype,
		TTL:  h.Ttl,
		Data: strings.TrimPrefix(rr.String(), h.String()),
	}
}

// rdata parses the record's data back into a miekg record of the right type.
func (rr RR) rdata() (mdns.RR, error) {
	name := rr.Name
	if name == "" {
		name = "."
	}
	return parseZoneRR(fmt.Sprintf("%s 0 IN %s %s", name, TypeString(rr.Type), rr.Data))
}

// Addr returns the address of an A or AAAA record.
func (rr RR) Addr() (netip.Addr, bool) {
	if rr.Type != TypeA && rr.Type != TypeAAAA {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(rr.Data))
	if err != nil || (rr.Type == TypeA) != a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// MX is a mail exchanger: host name (canonical, fully qualified) and
// preference. The null MX of RFC 7505 has Host ".".
type MX struct {
	Host string
	Pref uint16
}

// IsNull reports whether m is a null MX (RFC 7505 §3): the domain accepts no
// mail.
func (m MX) IsNull() bool { return m.Host == "." }

// String returns the record data form, "10 mx.example.com.".
func (m MX) String() string { return strconv.Itoa(int(m.Pref)) + " " + m.Host }

// MX returns the data of an MX record.
func (rr RR) MX() (MX, bool) {
	if rr.Type != TypeMX {
		return MX{}, false
	}
	r, err := rr.rdata()
	if err != nil {
		return MX{}, false
	}
	mx, ok := r.(*mdns.MX)
	if !ok {
		return MX{}, false
	}
	return MX{Host: mdns.CanonicalName(mx.Mx), Pref: mx.Preference}, true
}

// TXT returns the character-strings of a TXT record, unescaped and not
// joined.
func (rr RR) TXT() ([]string, bool) {
	if rr.Type != TypeTXT {
		return nil, false
	}
	r, err := rr.rdata()
	if err != nil {
		return nil, false
	}
	txt, ok := r.(*mdns.TXT)
	if !ok {
		return nil, false
	}
	out := make([]string, len(txt.Txt))
	for i, s := range txt.Txt {
		out[i] = unescape(s)
	}
	return out, true
}

// unescape undoes the zone-file escapes miekg/dns keeps in character-strings
// (RFC 1035 §5.1): \DDD is the byte with decimal value DDD, \X is X.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if v, err := strconv.Atoi(s[i+1 : i+4]); err == nil && v <= 255 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// TLSA is the data of a TLSA record (RFC 6698 §2.1).
type TLSA struct {
	Usage        uint8
	Selector     uint8
	MatchingType uint8
	Data         []byte
}

// String returns the record data form, "3 1 1 <hex>"; ParseTLSA reads it
// back.
func (t TLSA) String() string {
	return fmt.Sprintf("%d %d %d %s", t.Usage, t.Selector, t.MatchingType, hex.EncodeToString(t.Data))
}

// ParseTLSA parses TLSA record data, "3 1 1 <hex>".
func ParseTLSA(s string) (TLSA, error) {
	t, ok := RR{Type: TypeTLSA, Data: s}.TLSA()
	if !ok {
		return TLSA{}, fmt.Errorf("dns: parse TLSA %q: want usage selector matching-type hex-data", s)
	}
	return t, nil
}

// TLSA returns the data of a TLSA record.
func (rr RR) TLSA() (TLSA, bool) {
	if rr.Type != TypeTLSA {
		return TLSA{}, false
	}
	r, err := rr.rdata()
	if err != nil {
		return TLSA{}, false
	}
	t, ok := r.(*mdns.TLSA)
	if !ok {
		return TLSA{}, false
	}
	data, err := hex.DecodeString(t.Certificate)
	if err != nil {
		return TLSA{}, false
	}
	return TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data}, true
}

// Target returns the domain name held by a CNAME, DNAME, NS or PTR record,
// canonical and fully qualified.
func (rr RR) Target() (string, bool) {
	switch rr.Type {
	case TypeCNAME, TypeDNAME, TypeNS, TypePTR:
	default:
		return "", false
	}
	// The data is the name itself, in presentation form.
	name := strings.TrimSpace(rr.Data)
	if _, ok := mdns.IsDomainName(name); !ok || !mdns.IsFqdn(name) {
		return "", false
	}
	return mdns.CanonicalName(name), true
}

// EDE is an Extended DNS Error (RFC 8914) seen in an answer.
type EDE struct {
	Code uint16
	Text string
}

// String returns "EDE 6 (DNSSEC Bogus)" followed by ": text" when there is
// extra text.
func (e EDE) String() string {
	name, ok := mdns.ExtendedErrorCodeToString[e.Code]
	if !ok {
		name = "Unknown"
	}
	s := fmt.Sprintf("EDE %d (%s)", e.Code, name)
	if e.Text != "" {
		s += ": " + e.Text
	}
	return s
}

// DNSSEC reports whether the info-code says that DNSSEC validation failed
// (RFC 8914 §4 and the IANA registry): 1 Unsupported DNSKEY Algorithm,
// 2 Unsupported DS Digest Type, 5 DNSSEC Indeterminate, 6 DNSSEC Bogus,
// 7 Signature Expired, 8 Signature Not Yet Valid, 9 DNSKEY Missing,
// 10 RRSIGs Missing, 11 No Zone Key Bit Set, 12 NSEC Missing,
// 25 Signature Expired before Valid, 27 Unsupported NSEC3 Iterations Value.
// With SERVFAIL, any of them makes the answer Bogus.
func (e EDE) DNSSEC() bool {
	switch e.Code {
	case 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 25, 27:
		return true
	}
	return false
}
