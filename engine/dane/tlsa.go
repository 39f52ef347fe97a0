package dane

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"

	"github.com/segcli/segcli/engine/dns"
)

// TLSA certificate usages (RFC 6698 §2.1.1, names from RFC 7218).
const (
	UsagePKIXTA = 0 // PKIX-TA: unusable for SMTP (RFC 7672 §3.1.3)
	UsagePKIXEE = 1 // PKIX-EE: unusable for SMTP (RFC 7672 §3.1.3)
	UsageDANETA = 2 // DANE-TA: trust anchor, chain and name checks (RFC 7672 §3.1.2)
	UsageDANEEE = 3 // DANE-EE: the server's own key or certificate (RFC 7672 §3.1.1)
)

// TLSA selectors (RFC 6698 §2.1.2).
const (
	SelectorCert = 0 // the whole certificate, DER
	SelectorSPKI = 1 // the SubjectPublicKeyInfo, DER
)

// TLSA matching types (RFC 6698 §2.1.3).
const (
	MatchFull   = 0 // the selected content itself
	MatchSHA256 = 1 // SHA2-256 of the selected content
	MatchSHA512 = 2 // SHA2-512 of the selected content
)

// ErrUnusable is wrapped by the reasons Usable gives for a record that cannot
// be used (RFC 7672 §2.2, RFC 6698 §4.1).
var ErrUnusable = errors.New("unusable TLSA record")

// Record is one TLSA record of an RRset, with the verdict on its use.
type Record struct {
	// TLSA is the record data. It is zero when Text could not be parsed.
	TLSA dns.TLSA
	// Text is the presentation form, "3 1 1 <hex>".
	Text string
	// Usable says that the record is usable for SMTP (RFC 7672 §2.2).
	Usable bool
	// Used says that verification uses it: usable, and not set aside by
	// digest agility (RFC 7671 §9).
	Used bool
	// Reason says why the record is not used; empty when Used.
	Reason string
}

// String returns the presentation form, "3 1 1 <hex>".
func (r Record) String() string { return r.Text }

// UsageName returns the RFC 7218 mnemonic of a usage with its number,
// "DANE-EE(3)".
func UsageName(u uint8) string {
	switch u {
	case UsagePKIXTA:
		return "PKIX-TA(0)"
	case UsagePKIXEE:
		return "PKIX-EE(1)"
	case UsageDANETA:
		return "DANE-TA(2)"
	case UsageDANEEE:
		return "DANE-EE(3)"
	}
	return "usage(" + strconv.Itoa(int(u)) + ")"
}

// Usable reports whether t can be used to authenticate an SMTP server, and
// why not: the error wraps ErrUnusable. Usable records have usage DANE-TA(2)
// or DANE-EE(3) (PKIX-TA(0) and PKIX-EE(1) are not used for SMTP,
// RFC 7672 §3.1.3), selector Cert(0) or SPKI(1), matching type Full(0),
// SHA2-256(1) or SHA2-512(2) with data of the digest's length, and, for
// Full(0), data that parses as a certificate or a public key (RFC 6698
// §4.1: records with unknown parameters are unusable).
func Usable(t dns.TLSA) error {
	switch t.Usage {
	case UsageDANETA, UsageDANEEE:
	case UsagePKIXTA, UsagePKIXEE:
		return fmt.Errorf("%w: %s is not used for SMTP (RFC 7672 §3.1.3)", ErrUnusable, UsageName(t.Usage))
	default:
		return fmt.Errorf("%w: unknown usage %d", ErrUnusable, t.Usage)
	}
	if t.Selector != SelectorCert && t.Selector != SelectorSPKI {
		return fmt.Errorf("%w: unknown selector %d", ErrUnusable, t.Selector)
	}
	switch t.MatchingType {
	case MatchSHA256:
		if len(t.Data) != sha256.Size {
			return fmt.Errorf("%w: SHA2-256 data of %d bytes, want %d", ErrUnusable, len(t.Data), sha256.Size)
		}
	case MatchSHA512:
		if len(t.Data) != sha512.Size {
			return fmt.Errorf("%w: SHA2-512 data of %d bytes, want %d", ErrUnusable, len(t.Data), sha512.Size)
		}
	case MatchFull:
		if t.Selector == SelectorCert {
			if _, err := x509.ParseCertificate(t.Data); err != nil {
				return fmt.Errorf("%w: data is not a certificate: %v", ErrUnusable, err)
			}
		} else if _, err := x509.ParsePKIXPublicKey(t.Data); err != nil {
			return fmt.Errorf("%w: data is not a public key: %v", ErrUnusable, err)
		}
	default:
		return fmt.Errorf("%w: unknown matching type %d", ErrUnusable, t.MatchingType)
	}
	return nil
}

// Classify returns the records of a TLSA RRset with their verdicts: which
// are usable (see Usable), and which verification uses. Digest agility
// (RFC 7671 §9): for each usage and selector, only the digest records of the
// strongest matching type present among the usable records are used, SHA2-512
// before SHA2-256; Full(0) records are not digests and are always used.
func Classify(rrset []dns.TLSA) []Record {
	out := make([]Record, len(rrset))
	for i, t := range rrset {
		out[i] = Record{TLSA: t, Text: t.String()}
		if err := Usable(t); err != nil {
			out[i].Reason = err.Error()
			continue
		}
		out[i].Usable = true
		out[i].Used = true
	}
	agility(out)
	return out
}

// agility marks the usable digest records that a stronger digest of the same
// usage and selector replaces (RFC 7671 §9).
func agility(recs []Record) {
	type key struct{ usage, selector uint8 }
	best := make(map[key]uint8)
	for _, r := range recs {
		if !r.Usable || r.TLSA.MatchingType == MatchFull {
			continue
		}
		k := key{r.TLSA.Usage, r.TLSA.Selector}
		best[k] = max(best[k], r.TLSA.MatchingType)
	}
	for i, r := range recs {
		if !r.Usable || r.TLSA.MatchingType == MatchFull {
			continue
		}
		if b := best[key{r.TLSA.Usage, r.TLSA.Selector}]; r.TLSA.MatchingType < b {
			recs[i].Used = false
			recs[i].Reason = fmt.Sprintf("ignored: a %s record with the same usage and selector is published (RFC 7671 §9 digest agility)", matchingName(b))
		}
	}
}

func matchingName(m uint8) string {
	switch m {
	case MatchFull:
		return "Full(0)"
	case MatchSHA256:
		return "SHA2-256(1)"
	case MatchSHA512:
		return "SHA2-512(2)"
	}
	return "matching(" + strconv.Itoa(int(m)) + ")"
}

// Used returns the TLSA data of the records verification uses.
func Used(recs []Record) []dns.TLSA {
	var out []dns.TLSA
	for _, r := range recs {
		if r.Used {
			out = append(out, r.TLSA)
		}
	}
	return out
}

// countUsed counts the records verification uses.
func countUsed(recs []Record) int {
	n := 0
	for _, r := range recs {
		if r.Used {
			n++
		}
	}
	return n
}

// selected returns the content of cert that selector s picks (RFC 6698
// §2.1.2).
func selected(cert *x509.Certificate, s uint8) []byte {
	if s == SelectorSPKI {
		return cert.RawSubjectPublicKeyInfo
	}
	return cert.Raw
}

// matches reports whether the record matches cert (RFC 6698 §2.1.2, §2.1.3).
// The record must be usable.
func matches(t dns.TLSA, cert *x509.Certificate) bool {
	data := selected(cert, t.Selector)
	switch t.MatchingType {
	case MatchFull:
		return string(data) == string(t.Data)
	case MatchSHA256:
		sum := sha256.Sum256(data)
		return string(sum[:]) == string(t.Data)
	case MatchSHA512:
		sum := sha512.Sum512(data)
		return string(sum[:]) == string(t.Data)
	}
	return false
}
