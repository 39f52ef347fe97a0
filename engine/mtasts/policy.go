package mtasts

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits of RFC 8461.
const (
	// MaxAgeLimit is the largest max_age applied, in seconds (§3.2: "up to
	// 31557600", one year); a larger value is capped with a warning.
	MaxAgeLimit = 31557600
	// MaxPolicySize is the most of a policy body that is read (§3.3
	// suggests 64 KB); a larger body is rejected.
	MaxPolicySize = 64 << 10
)

// ErrInvalidPolicy marks a policy body that does not parse (§3.2).
var ErrInvalidPolicy = errors.New("invalid policy")

// Mode is a policy's mode (§5).
type Mode string

// The modes.
const (
	// ModeEnforce: deliver only to matching MX hosts over validated TLS.
	ModeEnforce Mode = "enforce"
	// ModeTesting: deliver as without a policy, and report failures.
	ModeTesting Mode = "testing"
	// ModeNone: the domain has no policy (§8.3, removing MTA-STS).
	ModeNone Mode = "none"
)

// Policy is a parsed MTA-STS policy (RFC 8461 §3.2).
type Policy struct {
	Version string `json:"version"`
	Mode    Mode   `json:"mode"`
	// MX are the mx patterns, in order, as written.
	MX []string `json:"mx,omitempty"`
	// MaxAge is the lifetime applied, in seconds: the policy's max_age,
	// capped at MaxAgeLimit.
	MaxAge int64 `json:"max_age"`
	// Extensions are the unknown fields that follow the grammar, in order
	// (the first occurrence of each). They are ignored.
	Extensions []Extension `json:"extensions,omitempty"`
}

// String returns the policy as served, one "key: value" line each, LF
// line endings: version, mode, the mx lines, max_age, then the extensions.
// ParsePolicy reads it back to an equal Policy.
func (p Policy) String() string {
	var b strings.Builder
	b.WriteString("version: " + p.Version + "\n")
	b.WriteString("mode: " + string(p.Mode) + "\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(p.MaxAge, 10) + "\n")
	for _, e := range p.Extensions {
		b.WriteString(e.Key + ": " + e.Value + "\n")
	}
	return b.String()
}

// Match reports whether mxHost matches one of the policy's mx patterns
// (§4.1, see MatchMX).
func (p Policy) Match(mxHost string) bool {
	host, ok := asciiName(mxHost)
	if !ok {
		return false
	}
	for _, pat := range p.MX {
		if matchASCII(pat, host) {
			return true
		}
	}
	return false
}

// MatchMX reports whether host matches the mx pattern (RFC 8461 §4.1): the
// same name, or for "*.rest" a name made of exactly one label followed by
// rest. Case and a trailing dot do not matter; names with U-labels are
// compared as IDNA A-labels.
func MatchMX(pattern, host string) bool {
	h, ok := asciiName(host)
	return ok && matchASCII(pattern, h)
}

func matchASCII(pattern, host string) bool {
	rest, wild := strings.CutPrefix(pattern, "*.")
	p, ok := asciiName(rest)
	if !ok || p == "" {
		return false
	}
	if !wild {
		return host == p
	}
	label, parent, found := strings.Cut(host, ".")
	return found && label != "" && parent == p
}

// asciiName returns name lower case, without a trailing dot, U-labels
// turned into A-labels.
func asciiName(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			a, err := idna.Lookup.ToASCII(name)
			if err != nil {
				return "", false
			}
			return a, true
		}
	}
	return strings.ToLower(name), true
}

// ParsePolicy parses a policy body by RFC 8461 §3.2:
//
//	sts-policy-record      = sts-policy-field *WSP
//	                         *(sts-policy-term sts-policy-field *WSP)
//	                         [sts-policy-term]
//	sts-policy-field-delim = ":" *WSP
//	sts-policy-term        = LF / CRLF
//
// with the fields version (STSv1), mode (enforce, testing, none), max_age
// (1*10 DIGIT) and mx (["*."] Domain, RFC 5321), all required except mx
// when the mode is none. The first occurrence of a field wins (mx lines
// accumulate); unknown fields are ignored. What lenient senders accept and
// the grammar does not is accepted and described in the warnings: blank
// lines, mixed line endings, white space before a key or before ':',
// duplicate fields, malformed extension fields, a field name in the wrong
// case, a max_age above MaxAgeLimit (capped), U-labels in mx. Errors wrap
// ErrInvalidPolicy.
func ParsePolicy(text string) (Policy, []string, error) {
	var (
		p        Policy
		warnings []string
		seen     = map[string]int{} // field -> line of its first occurrence
		crlf, lf int
	)
	warn := func(line int, format string, args ...any) {
		warnings = append(warnings, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
	}
	bad := func(line int, format string, args ...any) (Policy, []string, error) {
		where := ""
		if line > 0 {
			where = fmt.Sprintf("line %d: ", line)
		}
		return Policy{}, warnings, fmt.Errorf("mtasts: %w: %s%s", ErrInvalidPolicy, where, fmt.Sprintf(format, args...))
	}
	if text == "" {
		return bad(0, "empty body")
	}
	rest := text
	for n := 1; rest != ""; n++ {
		line, next, found := strings.Cut(rest, "\n")
		rest = next
		if found {
			if l, ok := strings.CutSuffix(line, "\r"); ok {
				line = l
				crlf++
			} else {
				lf++
			}
		}
		if strings.Trim(line, " \t") == "" {
			warn(n, "blank line (strict senders reject the policy)")
			continue
		}
		if isWSP(line[0]) {
			warn(n, "white space before the field name")
			line = strings.TrimLeft(line, " \t")
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return bad(n, "%q is not a \"key: value\" field", clip(line))
		}
		if k := strings.TrimRight(key, " \t"); k != key {
			warn(n, "white space before ':'")
			key = k
		}
		value = strings.Trim(value, " \t")
		switch key {
		case "version", "mode", "max_age", "mx":
		default:
			switch lk := strings.ToLower(key); lk {
			case "version", "mode", "max_age", "mx":
				warn(n, "field name %q is not %q: names are case-sensitive, so it is ignored", key, lk)
			default:
				if !validExtName(key) || !validPolicyExtValue(value) {
					warn(n, "malformed extension field %q ignored", clip(line))
					continue
				}
				if first, dup := seen[key]; dup {
					warn(n, "duplicate field %s ignored (first on line %d)", key, first)
					continue
				}
				seen[key] = n
				p.Extensions = append(p.Extensions, Extension{Key: key, Value: value})
			}
			continue
		}
		if key == "mx" {
			w, err := checkMX(value)
			if err != "" {
				return bad(n, "mx %q: %s", value, err)
			}
			if w != "" {
				warn(n, "mx %q: %s", value, w)
			}
			if slices.Contains(p.MX, value) {
				warn(n, "mx %s listed twice", value)
			}
			p.MX = append(p.MX, value)
			continue
		}
		if first, dup := seen[key]; dup {
			warn(n, "duplicate field %s ignored (first on line %d)", key, first)
			continue
		}
		seen[key] = n
		switch key {
		case "version":
			if value != Version {
				return bad(n, "version %q: want %s", value, Version)
			}
			p.Version = value
		case "mode":
			switch m := Mode(value); m {
			case ModeEnforce, ModeTesting, ModeNone:
				p.Mode = m
			default:
				return bad(n, "mode %q: want enforce, testing or none", value)
			}
		case "max_age":
			if value == "" || len(value) > 10 || !isDigits(value) {
				return bad(n, "max_age %q: want 1 to 10 digits (seconds)", value)
			}
			v, _ := strconv.ParseInt(value, 10, 64) // at most 10 digits: fits
			if v > MaxAgeLimit {
				warn(n, "max_age %d is above %d (one year): capped", v, MaxAgeLimit)
				v = MaxAgeLimit
			}
			p.MaxAge = v
		}
	}
	if crlf > 0 && lf > 0 {
		warnings = append(warnings, fmt.Sprintf("mixed line endings (%d CRLF, %d LF)", crlf, lf))
	}
	switch {
	case p.Version == "":
		return bad(0, "no version field")
	case p.Mode == "":
		return bad(0, "no mode field")
	case seen["max_age"] == 0:
		return bad(0, "no max_age field")
	case p.Mode != ModeNone && len(p.MX) == 0:
		return bad(0, "mode %s needs at least one mx field", p.Mode)
	}
	return p, warnings, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validPolicyExtValue checks sts-policy-ext-value: printable ASCII or UTF-8,
// spaces inside but not at either end (the caller trims), no control
// characters, not empty.
func validPolicyExtValue(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// checkMX checks an mx pattern, ["*."] Domain (RFC 5321 §4.1.2: labels of
// letters, digits and '-', not beginning or ending with '-'). It returns a
// warning for a pattern accepted leniently (U-labels), or the reason it is
// rejected.
func checkMX(pattern string) (warning, reason string) {
	if pattern == "" {
		return "", "empty"
	}
	name, _ := strings.CutPrefix(pattern, "*.")
	if strings.Contains(name, "*") {
		return "", "'*' is allowed only as the whole leftmost label, \"*.\""
	}
	if strings.HasSuffix(name, ".") {
		return "", "trailing dot"
	}
	if !utf8.ValidString(name) {
		return "", "not valid UTF-8"
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			a, err := idna.Lookup.ToASCII(name)
			if err != nil {
				return "", "not a valid internationalized domain name"
			}
			if _, r := checkMX(strings.TrimSuffix(pattern, name) + a); r != "" {
				return "", r
			}
			return "U-labels: the grammar wants A-labels (" + a + ")", ""
		}
	}
	if len(name) > 253 {
		return "", "longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return "", "empty label"
		}
		if len(l) > 63 {
			return "", "label longer than 63 characters"
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", "a label begins or ends with '-'"
		}
		for i := 0; i < len(l); i++ {
			if !isAlphaDigit(l[i]) && l[i] != '-' {
				return "", fmt.Sprintf("character %q is not allowed in a host name", l[i])
			}
		}
	}
	if isDigits(labels[len(labels)-1]) {
		return "", "an IP address, not a host name"
	}
	return "", ""
}
