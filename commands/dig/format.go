package dig

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// whenLayout is the date of dig's ";; WHEN:" line.
const whenLayout = "Mon Jan 02 15:04:05 MST 2006"

// writeBanner prints dig's first lines: the command echo, the number of servers found
// for @SERVER (found is 0 without @SERVER) and the global options.
func writeBanner(w io.Writer, args []string, found int) {
	fmt.Fprintf(w, "\n; <<>> DiG segcli <<>> %s\n", strings.Join(args, " "))
	switch {
	case found == 1:
		fmt.Fprintln(w, "; (1 server found)")
	case found > 1:
		fmt.Fprintf(w, "; (%d servers found)\n", found)
	}
	fmt.Fprintln(w, ";; global options: +cmd")
}

// stats are the lines after the sections.
type stats struct {
	elapsed time.Duration
	server  netip.AddrPort
	label   string // how the server was named: its IP, or the host name given
	tcp     bool
	when    time.Time
	size    int
}

// writeAnswer prints a response in BIND dig's layout: header, flags, OPT
// pseudo-section, the four sections, then the statistics.
func writeAnswer(w io.Writer, m *mdns.Msg, st stats) {
	var b strings.Builder
	b.WriteString(";; Got answer:\n")
	fmt.Fprintf(&b, ";; ->>HEADER<<- opcode: %s, status: %s, id: %d\n",
		opcodeString(m.Opcode), rcodeString(m.Rcode), m.Id)
	fmt.Fprintf(&b, ";; flags:%s; QUERY: %d, ANSWER: %d, AUTHORITY: %d, ADDITIONAL: %d\n",
		flags(m), len(m.Question), len(m.Answer), len(m.Ns), len(m.Extra))
	if m.RecursionDesired && !m.RecursionAvailable {
		b.WriteString(";; WARNING: recursion requested but not available\n")
	}
	b.WriteString("\n")
	if opt := m.IsEdns0(); opt != nil {
		writeOPT(&b, opt)
	}
	if len(m.Question) > 0 {
		b.WriteString(";; QUESTION SECTION:\n")
		for _, q := range m.Question {
			b.WriteString(tabbed([]string{";" + q.Name, className(q.Qclass), typeName(q.Qtype)}, []int{32, 40}) + "\n")
		}
		b.WriteString("\n")
	}
	writeSection(&b, "ANSWER", m.Answer)
	writeSection(&b, "AUTHORITY", m.Ns)
	var extra []mdns.RR
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != mdns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	writeSection(&b, "ADDITIONAL", extra)
	proto := "UDP"
	if st.tcp {
		proto = "TCP"
	}
	fmt.Fprintf(&b, ";; Query time: %d msec\n", st.elapsed.Milliseconds())
	fmt.Fprintf(&b, ";; SERVER: %s#%d(%s) (%s)\n", st.server.Addr(), st.server.Port(), st.label, proto)
	fmt.Fprintf(&b, ";; WHEN: %s\n", st.when.Format(whenLayout))
	fmt.Fprintf(&b, ";; MSG SIZE  rcvd: %d\n\n", st.size)
	io.WriteString(w, b.String())
}

// writeShort prints the data of each answer record, one a line (+short).
func writeShort(w io.Writer, m *mdns.Msg) {
	var b strings.Builder
	for _, rr := range m.Answer {
		_, data := split(rr)
		b.WriteString(data + "\n")
	}
	io.WriteString(w, b.String())
}

func writeSection(b *strings.Builder, name string, rrs []mdns.RR) {
	if len(rrs) == 0 {
		return
	}
	fmt.Fprintf(b, ";; %s SECTION:\n", name)
	for _, rr := range rrs {
		b.WriteString(rrLine(rr) + "\n")
	}
	b.WriteString("\n")
}

// writeOPT prints the EDNS pseudo-section (RFC 6891), with Extended DNS Errors
// (RFC 8914) as dig shows them.
func writeOPT(b *strings.Builder, opt *mdns.OPT) {
	b.WriteString(";; OPT PSEUDOSECTION:\n")
	f := ""
	if opt.Do() {
		f = " do"
	}
	fmt.Fprintf(b, "; EDNS: version: %d, flags:%s; udp: %d\n", opt.Version(), f, opt.UDPSize())
	for _, o := range opt.Option {
		switch o := o.(type) {
		case *mdns.EDNS0_EDE:
			name := mdns.ExtendedErrorCodeToString[o.InfoCode]
			if name == "" {
				name = "Unknown"
			}
			fmt.Fprintf(b, "; EDE: %d (%s)", o.InfoCode, name)
			if o.ExtraText != "" {
				fmt.Fprintf(b, ": (%s)", printable(o.ExtraText))
			}
			b.WriteString("\n")
		case *mdns.EDNS0_COOKIE:
			fmt.Fprintf(b, "; COOKIE: %s\n", o.Cookie)
		case *mdns.EDNS0_NSID:
			fmt.Fprintf(b, "; NSID: %s\n", o.Nsid)
		default:
			fmt.Fprintf(b, "; OPT=%d: %s\n", o.Option(), printable(o.String()))
		}
	}
}

// flags returns the header flags in dig's order, each after a space.
func flags(m *mdns.Msg) string {
	var s strings.Builder
	for _, f := range []struct {
		on   bool
		name string
	}{
		{m.Response, "qr"}, {m.Authoritative, "aa"}, {m.Truncated, "tc"},
		{m.RecursionDesired, "rd"}, {m.RecursionAvailable, "ra"},
		{m.AuthenticatedData, "ad"}, {m.CheckingDisabled, "cd"},
	} {
		if f.on {
			s.WriteString(" " + f.name)
		}
	}
	return s.String()
}

// rrLine prints a record in zone-file form, in dig's columns.
func rrLine(rr mdns.RR) string {
	head, data := split(rr)
	return tabbed(append(head, data), []int{24, 32, 40, 48})
}

// split returns a record's owner, TTL, class and type fields, and its data.
func split(rr mdns.RR) ([]string, string) {
	hs := rr.Header().String() // "owner\tttl\tclass\ttype\t"
	data := strings.TrimPrefix(rr.String(), hs)
	head := strings.Split(strings.TrimSuffix(hs, "\t"), "\t")
	return head, printable(data)
}

// tabbed joins fields with tabs so that field i+1 starts at column stops[i] or,
// when field i is too long for that, at the next tab stop, as dig aligns records.
func tabbed(fields []string, stops []int) string {
	var b strings.Builder
	col := 0
	for i, f := range fields {
		b.WriteString(f)
		col += len(f)
		if i == len(fields)-1 {
			break
		}
		target := col + 1
		if i < len(stops) {
			target = stops[i]
		}
		for {
			b.WriteByte('\t')
			col = (col/8 + 1) * 8
			if col >= target {
				break
			}
		}
	}
	return b.String()
}

func opcodeString(op int) string {
	if s, ok := mdns.OpcodeToString[op]; ok {
		return s
	}
	return fmt.Sprintf("RESERVED%d", op)
}

func rcodeString(rc int) string {
	if s, ok := mdns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RESERVED%d", rc)
}

func className(c uint16) string { return mdns.Class(c).String() }

func typeName(t uint16) string { return mdns.Type(t).String() }

// printable replaces control characters, so that a server cannot send escape
// sequences to the operator's terminal.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			fmt.Fprintf(&b, `\%03d`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }
