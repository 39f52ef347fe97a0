package mtasts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segcli/segcli/engine/dns"
)

// Version is the only MTA-STS version, in the TXT record ("v=STSv1") and in
// the policy ("version: STSv1").
const Version = "STSv1"

// maxIDLength is the longest policy id (RFC 8461 §3.1, 1*32(ALPHA / DIGIT)).
const maxIDLength = 32

// Errors about records, wrapped by the errors of this package.
var (
	// ErrInvalidRecord: an STS TXT record that does not follow the grammar
	// of RFC 8461 §3.1.
	ErrInvalidRecord = errors.New("invalid MTA-STS TXT record")
	// ErrMultipleRecords: more than one STS TXT record (§3.1: no policy).
	ErrMultipleRecords = errors.New("more than one MTA-STS TXT record")
	// ErrNoRecord: no STS TXT record.
	ErrNoRecord = errors.New("no MTA-STS TXT record")
	// ErrTempFail: a lookup failed temporarily; the caller defers.
	ErrTempFail = errors.New("temporary failure")
)

// Extension is an extension field ("key=value" in the TXT record, "key:
// value" in the policy), kept as it was written.
type Extension struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Record is an MTA-STS TXT record (RFC 8461 §3.1).
type Record struct {
	// ID identifies the policy instance: a new id means a new policy.
	ID string
	// Extensions are the other fields, in order. They are ignored.
	Extensions []Extension
}

// String returns the record in its published form, "v=STSv1; id=ID;" with
// the extensions before the final ";". ParseRecord reads it back.
func (r Record) String() string {
	var b strings.Builder
	b.WriteString("v=" + Version + "; id=" + r.ID + ";")
	for _, e := range r.Extensions {
		b.WriteString(" " + e.Key + "=" + e.Value + ";")
	}
	return b.String()
}

// IsRecord reports whether a TXT string is an STS record candidate: it
// begins with "v=STSv1" followed by the end, white space or ";" (§3.1:
// records that do not begin with "v=STSv1;" are discarded; white space is
// allowed before the ";" by sts-field-delim).
func IsRecord(txt string) bool {
	rest, ok := strings.CutPrefix(txt, "v="+Version)
	return ok && (rest == "" || rest[0] == ';' || isWSP(rest[0]))
}

// ParseRecord parses an STS TXT record by the grammar of RFC 8461 §3.1:
//
//	sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
//	sts-field-delim = *WSP ";" *WSP
//	sts-version     = %s"v=STSv1"
//	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//	sts-extension   = sts-ext-name "=" sts-ext-value
//	sts-ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//	sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//
// The id field is required and may appear once. Errors wrap
// ErrInvalidRecord.
func ParseRecord(txt string) (Record, error) {
	r, why := parseRecord(txt)
	if why != "" {
		return Record{}, fmt.Errorf("mtasts: %w %q: %s", ErrInvalidRecord, txt, why)
	}
	return r, nil
}

// parseRecord is ParseRecord with the reason for rejection as a string.
func parseRecord(txt string) (Record, string) {
	bad := func(format string, args ...any) (Record, string) {
		return Record{}, fmt.Sprintf(format, args...)
	}
	rest, ok := strings.CutPrefix(txt, "v="+Version)
	if !ok {
		return bad("it must begin with v=%s", Version)
	}
	var r Record
	haveID := false
	fields := 0
	for {
		// sts-field-delim, or the end of the record.
		i := skipWSP(rest, 0)
		if i == len(rest) && i == 0 {
			break // the end right after a field
		}
		if i == len(rest) || rest[i] != ';' {
			if i == len(rest) {
				return bad("white space at the end without a ';'")
			}
			return bad("want ';' before %q", clip(rest[i:]))
		}
		i = skipWSP(rest, i+1)
		rest = rest[i:]
		if rest == "" {
			break // [sts-field-delim] at the end
		}
		// sts-field
		end := 0
		for end < len(rest) && rest[end] != ';' && !isWSP(rest[end]) {
			end++
		}
		field := rest[:end]
		rest = rest[end:]
		if field == "" {
			return bad("empty field")
		}
		key, value, found := strings.Cut(field, "=")
		if !found {
			return bad("field %q is not key=value", field)
		}
		fields++
		if key == "id" {
			if haveID {
				return bad("more than one id")
			}
			if value == "" || len(value) > maxIDLength || !isAlnum(value) {
				return bad("id %q must be 1 to %d letters and digits", value, maxIDLength)
			}
			r.ID, haveID = value, true
			continue
		}
		if !validExtName(key) {
			return bad("extension name %q: want a letter or digit, then up to 31 letters, digits, '_', '-' or '.'", key)
		}
		if value == "" || !validRecordExtValue(value) {
			return bad("extension %s: value %q must be 1 or more printable characters other than '=', ';' and space", key, value)
		}
		r.Extensions = append(r.Extensions, Extension{Key: key, Value: value})
	}
	if fields == 0 || !haveID {
		return bad("no id field")
	}
	return r, ""
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func skipWSP(s string, i int) int {
	for i < len(s) && isWSP(s[i]) {
		i++
	}
	return i
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlphaDigit(s[i]) {
			return false
		}
	}
	return true
}

func isAlphaDigit(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validExtName checks (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."),
// the same in the record (§3.1) and the policy (§3.2).
func validExtName(s string) bool {
	if s == "" || len(s) > 32 || !isAlphaDigit(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlphaDigit(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validRecordExtValue checks 1*(%x21-3A / %x3C / %x3E-7E).
func validRecordExtValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return s != ""
}

func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// RecordStatus is the outcome of a TXT lookup; the values are those of the
// mtastsverify JSON ("record.status").
type RecordStatus string

// The record statuses.
const (
	// RecordFound: exactly one STS record, and it is valid.
	RecordFound RecordStatus = "found"
	// RecordNone: no STS record (NXDOMAIN, NODATA, or only unrelated TXT
	// records).
	RecordNone RecordStatus = "none"
	// RecordInvalid: one STS record that does not follow the grammar, or a
	// record that looks like one but does not begin with "v=STSv1". The
	// domain has no policy.
	RecordInvalid RecordStatus = "invalid"
	// RecordMultiple: more than one STS record. The domain has no policy.
	RecordMultiple RecordStatus = "multiple"
	// RecordTempFail: the lookup failed temporarily (SERVFAIL, timeout,
	// bogus answer). Not a denial.
	RecordTempFail RecordStatus = "tempfail"
)

// RecordLookup is the outcome of LookupRecord.
type RecordLookup struct {
	// Name is the name asked, "_mta-sts.example.com".
	Name string
	// Status says what was found; Record is set when it is RecordFound.
	Status RecordStatus
	Record Record
	// TXT are all TXT records at Name (each record's strings joined), STS
	// or not, in answer order.
	TXT []string
	// Err says why the status is not RecordFound; it wraps ErrNoRecord,
	// ErrInvalidRecord, ErrMultipleRecords or ErrTempFail.
	Err error
}

// LookupRecord asks for the TXT records at _mta-sts.DOMAIN through r
// (following CNAMEs) and picks the STS record by RFC 8461 §3.1. domain is
// the policy domain: the recipient domain itself (§3.4: never a parent), or
// the smart host's domain when the caller delivers through one.
func LookupRecord(ctx context.Context, r *dns.Resolver, domain string) RecordLookup {
	lk, _ := lookupRecord(ctx, r, domain)
	return lk
}

// lookupRecord is LookupRecord, with the time until which r's cache keeps
// the answer (dns.Result.Expires: zero when it does not keep it).
func lookupRecord(ctx context.Context, r *dns.Resolver, domain string) (RecordLookup, time.Time) {
	name := "_mta-sts." + strings.TrimSuffix(domain, ".")
	lk := RecordLookup{Name: name}
	txts, res, err := r.TXT(ctx, name)
	lk.TXT = txts
	if err != nil {
		// SERVFAIL, timeouts and bogus answers alike: a resolver that
		// validates would have said SERVFAIL for a bogus one too.
		lk.Status = RecordTempFail
		lk.Err = fmt.Errorf("mtasts: lookup %s TXT: %w: %w", name, ErrTempFail, err)
		return lk, res.Expires
	}
	return pickRecord(lk, res), res.Expires
}

// pickRecord fills lk from the TXT records of the answer res (§3.1).
func pickRecord(lk RecordLookup, res *dns.Result) RecordLookup {
	name, txts := lk.Name, lk.TXT
	var candidates, stsLike []string
	for _, t := range txts {
		switch {
		case IsRecord(t):
			candidates = append(candidates, t)
		case strings.Contains(strings.ToLower(t), "v=sts"):
			stsLike = append(stsLike, t)
		}
	}
	switch len(candidates) {
	case 0:
		if len(stsLike) > 0 {
			lk.Status = RecordInvalid
			lk.Err = fmt.Errorf("mtasts: %s: %w %q: it must begin with v=%s", name, ErrInvalidRecord, stsLike[0], Version)
			return lk
		}
		lk.Status = RecordNone
		why := "no TXT record"
		switch {
		case res.NXDomain:
			why = "the name does not exist"
		case len(txts) > 0:
			why = fmt.Sprintf("%d TXT records, none begins with v=%s", len(txts), Version)
		}
		lk.Err = fmt.Errorf("mtasts: %s: %w (%s)", name, ErrNoRecord, why)
	case 1:
		rec, why := parseRecord(candidates[0])
		if why != "" {
			lk.Status = RecordInvalid
			lk.Err = fmt.Errorf("mtasts: %s: %w %q: %s", name, ErrInvalidRecord, candidates[0], why)
			return lk
		}
		lk.Status, lk.Record = RecordFound, rec
	default:
		lk.Status = RecordMultiple
		lk.Err = fmt.Errorf("mtasts: %s: %w (%d); senders see no policy", name, ErrMultipleRecords, len(candidates))
	}
	return lk
}
