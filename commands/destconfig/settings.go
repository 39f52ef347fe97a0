package destconfig

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/segcli/segcli/store"
)

// option is one value of an enumerated setting: the import file's word and the
// dialog's label.
type option struct {
	value, label string
}

// setting is one key of the import file (and of the batch forms' --KEY=VALUE). A
// setting is either enumerated (options), a number (lo..hi) or a profile name.
type setting struct {
	key     string
	options []option
	number  bool
	lo, hi  int
	// required on the (Default) row.
	required bool
	str      func(d *store.Destination) *string
	num      func(d *store.Destination) **int
}

// The labels of the enumerated settings, in the dialogs' numbering.
func ipSortOptions() []option {
	return []option{
		{"PREFER_V4", "IPv4 Preferred"}, {"REQUIRE_V4", "IPv4 Required"},
		{"PREFER_V6", "IPv6 Preferred"}, {"REQUIRE_V6", "IPv6 Required"},
	}
}

func limitTypeOptions() []option {
	return []option{{"host", "One limit applies to the entire domain"}, {"MXIP", "Separate limit for each mail exchanger IP address"}}
}

func limitApplyOptions() []option {
	return []option{{"system", "System Wide"}, {"VG", "Per Virtual Gateway(tm)"}}
}

func tlsOptions() []option {
	return []option{
		{"no", "No"}, {"preferred", "Preferred"}, {"required", "Required"},
		{"preferred_verify", "Preferred - Verify"}, {"required_verify", "Required - Verify"},
		{"required_verify_hosted", "Required - Verify Hosted Domains"},
	}
}

func daneOptions() []option {
	return []option{{"none", "None"}, {"opportunistic", "Opportunistic"}, {"mandatory", "Mandatory"}}
}

func onOffOptions() []option { return []option{{"off", "Off"}, {"on", "On"}} }

// settings returns the keys of the import file, in the file's order.
func settings() []setting {
	return []setting{
		{key: "ip_sort_pref", options: ipSortOptions(), required: true,
			str: func(d *store.Destination) *string { return &d.IPSort }},
		{key: "max_host_concurrency", number: true, lo: 1, hi: 1000, required: true,
			num: func(d *store.Destination) **int { return &d.MaxConcurrency }},
		{key: "max_messages_per_connection", number: true, lo: 1, hi: 1000, required: true,
			num: func(d *store.Destination) **int { return &d.MessagesPerConn }},
		{key: "recipient_minutes", number: true, lo: 1, hi: 60,
			num: func(d *store.Destination) **int { return &d.RecipientMinutes }},
		{key: "recipient_limit", number: true, lo: 0, hi: 1_000_000_000,
			num: func(d *store.Destination) **int { return &d.RecipientLimit }},
		{key: "limit_type", options: limitTypeOptions(), required: true,
			str: func(d *store.Destination) *string { return &d.LimitType }},
		{key: "limit_apply", options: limitApplyOptions(), required: true,
			str: func(d *store.Destination) *string { return &d.LimitApply }},
		{key: "tls", options: tlsOptions(), required: true,
			str: func(d *store.Destination) *string { return &d.TLS }},
		{key: "dane", options: daneOptions(), required: true,
			str: func(d *store.Destination) *string { return &d.DANE }},
		{key: "mta_sts", options: onOffOptions(), required: true,
			str: func(d *store.Destination) *string { return &d.MTASTS }},
		{key: "bounce_validation", options: onOffOptions(), required: true,
			str: func(d *store.Destination) *string { return &d.BounceVerification }},
		{key: "bounce_profile",
			str: func(d *store.Destination) *string { return &d.BounceProfile }},
	}
}

// keyNames lists the keys for messages.
func keyNames(ss []setting) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.key
	}
	return strings.Join(names, ", ")
}

// findSetting returns the setting named key (case-insensitive).
func findSetting(ss []setting, key string) (setting, bool) {
	for _, s := range ss {
		if strings.EqualFold(s.key, key) {
			return s, true
		}
	}
	return setting{}, false
}

// accepted describes the values s accepts.
func (s setting) accepted() string {
	switch {
	case s.number:
		return fmt.Sprintf("a number from %d to %d", s.lo, s.hi)
	case s.options != nil:
		vals := make([]string, len(s.options))
		for i, o := range s.options {
			vals[i] = o.value
		}
		return "one of " + strings.Join(vals, ", ")
	}
	return "a profile name (letters, digits, _ and -)"
}

// set stores raw, the file's text of the value, into d. An empty raw clears the key
// ("use the default row"). Values of enumerations are matched case-insensitively and
// stored as the file writes them.
func (s setting) set(d *store.Destination, raw string) error {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		if s.number {
			*s.num(d) = nil
		} else {
			*s.str(d) = ""
		}
		return nil
	}
	switch {
	case s.number:
		n, err := strconv.Atoi(raw)
		if err != nil || n < s.lo || n > s.hi || raw[0] == '+' {
			return fmt.Errorf("%s = %q: use %s", s.key, raw, s.accepted())
		}
		*s.num(d) = &n
	case s.options != nil:
		for _, o := range s.options {
			if strings.EqualFold(o.value, raw) {
				*s.str(d) = o.value
				return nil
			}
		}
		return fmt.Errorf("%s = %q: use %s", s.key, raw, s.accepted())
	default:
		if store.ValidProfileName(raw) != nil {
			return fmt.Errorf("%s = %q: use %s", s.key, raw, s.accepted())
		}
		*s.str(d) = raw
	}
	return nil
}

// get returns the file's text of s in d, and false when it is not set.
func (s setting) get(d *store.Destination) (string, bool) {
	if s.number {
		p := *s.num(d)
		if p == nil {
			return "", false
		}
		return strconv.Itoa(*p), true
	}
	v := *s.str(d)
	return v, v != ""
}

// label returns the dialog's label for the file value v of an enumerated setting
// (v itself when it has none).
func label(opts []option, v string) string {
	for _, o := range opts {
		if o.value == v {
			return o.label
		}
	}
	return v
}

// index returns the 1-based position of v in opts, or 0.
func index(opts []option, v string) int {
	for i, o := range opts {
		if o.value == v {
			return i + 1
		}
	}
	return 0
}

func labels(opts []option) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.label
	}
	return out
}

// missingRequired names the first key the (Default) row lacks, or "".
func missingRequired(ss []setting, d *store.Destination) string {
	for _, s := range ss {
		if _, ok := s.get(d); s.required && !ok {
			return s.key
		}
	}
	return ""
}
