package destconfig

import (
	"cmp"
	"strconv"
	"strings"

	"github.com/segcli/segcli/store"
)

// inherited is shown for a setting an entry takes from the (Default) row.
const inherited = "Default"

// labelSets holds the option lists once per rendering (not once per row), and the
// (Default) row's numbers as text for the detail view.
type labelSets struct {
	ip, limitType, limitApply, tls, dane, onOff []option
	defConc, defMsgs, defRcpt                   string
}

func newLabelSets(def *store.Destination) *labelSets {
	return &labelSets{
		ip: ipSortOptions(), limitType: limitTypeOptions(), limitApply: limitApplyOptions(),
		tls: tlsOptions(), dane: daneOptions(), onOff: onOffOptions(),
		defConc: intText(def.MaxConcurrency), defMsgs: intText(def.MessagesPerConn), defRcpt: recipients(def),
	}
}

func intText(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

const listColumns = 8

// listText renders LIST: one row per entry, in order, then (Default); the columns
// Domain, Rate Limiting, TLS, DANE, MTA-STS, Bounce Verification, Bounce Profile and
// IP Address Preference. A setting an entry takes from the (Default) row shows as
// "Default". It is linear in the number of entries and builds one string.
func listText(ds *store.Destinations) string {
	ls := newLabelSets(&ds.Default)
	header := [listColumns]string{"Domain", "Rate Limiting", "TLS", "DANE", "MTA-STS", "Bounce Verification", "Bounce Profile", "IP Address Preference"}
	rows := make([][listColumns]string, 0, len(ds.Entries)+1)
	for i := range ds.Entries {
		rows = append(rows, listRow(ls, &ds.Entries[i], false))
	}
	rows = append(rows, listRow(ls, &ds.Default, true))
	var width [listColumns]int
	for i, h := range header {
		width[i] = len(h)
	}
	total := 0
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], len(cell))
		}
	}
	for _, w := range width {
		total += w + 2
	}
	var b strings.Builder
	b.Grow((len(rows) + 3) * total)
	b.WriteByte('\n')
	var rule [listColumns]string
	for i := range rule {
		rule[i] = strings.Repeat("-", width[i])
	}
	writeCells(&b, &width, &header)
	writeCells(&b, &width, &rule)
	for i := range rows {
		writeCells(&b, &width, &rows[i])
	}
	return b.String()
}

func listRow(ls *labelSets, d *store.Destination, isDefault bool) [listColumns]string {
	enum := func(opts []option, v string) string {
		if v == "" {
			return inherited
		}
		return label(opts, v)
	}
	rate := inherited
	if isDefault || d.MaxConcurrency != nil || d.MessagesPerConn != nil || d.RecipientLimit != nil {
		rate = "On"
	}
	domain := d.Domain
	if isDefault {
		domain = defaultName
	}
	return [listColumns]string{
		domain, rate, enum(ls.tls, d.TLS), enum(ls.dane, d.DANE), enum(ls.onOff, d.MTASTS),
		enum(ls.onOff, d.BounceVerification), cmp.Or(d.BounceProfile, inherited), enum(ls.ip, d.IPSort),
	}
}

const spaces = "                                                                "

func pad(b *strings.Builder, n int) {
	for n > 0 {
		k := min(n, len(spaces))
		b.WriteString(spaces[:k])
		n -= k
	}
}

func writeCells(b *strings.Builder, width *[listColumns]int, cells *[listColumns]string) {
	for i, cell := range cells {
		b.WriteString(cell)
		if i < len(cells)-1 {
			pad(b, width[i]-len(cell)+2)
		}
	}
	b.WriteByte('\n')
}

// detailWidth is the width of the label column, colon included.
const detailWidth = len("Max Messages Per Connection:") + 2

// detailText renders DETAIL for one entry, or for the (Default) row when d is nil.
func detailText(ds *store.Destinations, d *store.Destination, routes []store.Route) string {
	var b strings.Builder
	writeDetail(&b, newLabelSets(&ds.Default), ds, d, routeSet(routes))
	return b.String()
}

// detailAllText renders DETAIL all: every entry, in order, then (Default).
func detailAllText(ds *store.Destinations, routes []store.Route) string {
	var b strings.Builder
	b.Grow((len(ds.Entries) + 1) * 700)
	ls, routed := newLabelSets(&ds.Default), routeSet(routes)
	for i := range ds.Entries {
		writeDetail(&b, ls, ds, &ds.Entries[i], routed)
	}
	writeDetail(&b, ls, ds, nil, routed)
	return b.String()
}

func routeSet(routes []store.Route) map[string]bool {
	m := make(map[string]bool, len(routes))
	for _, r := range routes {
		m[r.Domain] = true
	}
	return m
}

// writeDetail writes one indented block, preceded by a blank line. A setting taken
// from the (Default) row reads "Default (VALUE)"; notes say when DANE and MTA-STS do
// not apply (TLS support No, or an SMTP route for the domain).
func writeDetail(b *strings.Builder, ls *labelSets, ds *store.Destinations, d *store.Destination, routed map[string]bool) {
	def := &ds.Default
	isDefault := d == nil
	if isDefault {
		d = def
	}
	b.WriteByte('\n')
	if isDefault {
		b.WriteString(defaultName)
	} else {
		b.WriteString(d.Domain)
		if u := store.DisplayDomain(d.Domain); u != "" {
			b.WriteString(" (")
			b.WriteString(u)
			b.WriteByte(')')
		}
	}
	b.WriteByte('\n')
	line := func(title string, own bool, val string) {
		b.WriteString("    ")
		b.WriteString(title)
		b.WriteByte(':')
		pad(b, detailWidth-len(title)-1)
		if !own && !isDefault {
			b.WriteString(inherited)
			b.WriteString(" (")
			b.WriteString(val)
			b.WriteString(")\n")
		} else {
			b.WriteString(val)
			b.WriteByte('\n')
		}
	}
	enum := func(title string, opts []option, own, dv string) {
		if own != "" {
			line(title, true, label(opts, own))
			return
		}
		line(title, false, label(opts, dv))
	}
	num := func(title string, own *int, dv string) {
		if own != nil {
			line(title, true, strconv.Itoa(*own))
			return
		}
		line(title, false, dv)
	}
	enum("IP Sort Preference", ls.ip, d.IPSort, def.IPSort)
	num("Max Concurrency", d.MaxConcurrency, ls.defConc)
	num("Max Messages Per Connection", d.MessagesPerConn, ls.defMsgs)
	if d.RecipientLimit != nil {
		line("Recipient Limit", true, recipients(d))
	} else {
		line("Recipient Limit", false, ls.defRcpt)
	}
	enum("Limits Apply To", ls.limitType, d.LimitType, def.LimitType)
	enum("Limits Enforced", ls.limitApply, d.LimitApply, def.LimitApply)
	enum("TLS Support", ls.tls, d.TLS, def.TLS)
	enum("DANE Support", ls.dane, d.DANE, def.DANE)
	enum("MTA STS Support", ls.onOff, d.MTASTS, def.MTASTS)
	enum("Bounce Verification", ls.onOff, d.BounceVerification, def.BounceVerification)
	if d.BounceProfile != "" {
		line("Bounce Profile", true, d.BounceProfile)
	} else {
		line("Bounce Profile", false, def.BounceProfile)
	}
	tls, dane, sts := cmp.Or(d.TLS, def.TLS), cmp.Or(d.DANE, def.DANE), cmp.Or(d.MTASTS, def.MTASTS)
	switch {
	case dane == "none" && sts != "on":
	case tls == "no":
		b.WriteString("    Note: TLS support is No, so DANE and MTA STS do not apply.\n")
	case !isDefault && routed[d.Domain]:
		b.WriteString("    Note: this domain has an SMTP route, so DANE and MTA STS are not enforced.\n")
	}
}

func recipients(d *store.Destination) string {
	if d.RecipientLimit == nil {
		return "No limit"
	}
	return strconv.Itoa(*d.RecipientLimit) + " per " + strconv.Itoa(*d.RecipientMinutes) + " minutes"
}
