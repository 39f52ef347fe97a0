package mtastsverify

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/segcli/segcli/engine/mtasts"
)

// maxTextLines is the most lines of a policy the report shows.
const maxTextLines = 40

// writeReport prints the human report of a verification, in the order a sender
// works: the TXT record, the policy, each MX host, then the verdict and what to fix.
func writeReport(w io.Writer, rep mtasts.Report) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	d := rep.Domain
	r := rep.Record

	// The TXT record.
	var sts, other []string
	for _, t := range r.TXT {
		if mtasts.IsRecord(t) {
			sts = append(sts, t)
		} else {
			other = append(other, t)
		}
	}
	switch r.Status {
	case mtasts.RecordFound:
		for _, t := range sts {
			p("MTA-STS TXT record(%s) found for %s", t, d)
		}
		p("Policy id: %s", r.ID)
	case mtasts.RecordMultiple:
		for _, t := range sts {
			p("MTA-STS TXT record(%s) found for %s", t, d)
		}
		p("%d MTA-STS TXT records at %s: senders see no policy while there is more than one.", len(sts), r.Name)
	case mtasts.RecordInvalid:
		for _, t := range r.TXT {
			if mtasts.IsRecord(t) || strings.Contains(strings.ToLower(t), "v=sts") {
				p("MTA-STS TXT record(%s) found for %s", t, d)
			}
		}
		p("The record is invalid, and senders ignore it: %s.", recordProblem(r.Error))
	case mtasts.RecordNone:
		if r.Name == "" {
			// The domain itself was refused.
			p("No MTA-STS check for %s: %s", d, engineMessage(r.Error))
			break
		}
		p("No MTA-STS TXT record found for %s (%s).", d, noRecordReason(r.Name, r.Error))
		for _, t := range other {
			p("TXT record(%s) at %s is not an MTA-STS record.", t, r.Name)
		}
	case mtasts.RecordTempFail:
		why := r.Error
		if i := strings.LastIndex(why, "TXT: "); i >= 0 {
			why = why[i+len("TXT: "):]
		}
		p("The lookup of the MTA-STS TXT record at %s failed temporarily: %s.", r.Name, engineMessage(why))
	}

	// The policy.
	pol := rep.Policy
	switch {
	case pol.Source == mtasts.SourceCache:
		p("The cached policy (id %s) is shown: senders apply it while the TXT lookup fails.", r.ID)
	case pol.Status != mtasts.PolicyNotFetched:
		via := ""
		if pol.ViaProxy {
			via = " through the HTTP proxy"
		}
		p("Fetching the policy from %s%s.", pol.URL, via)
		if pol.HTTPStatus != 0 {
			ct := pol.ContentType
			if ct == "" {
				ct = "(none)"
			}
			p("HTTP status %d, Content-Type %s.", pol.HTTPStatus, ct)
		}
	case r.Status == mtasts.RecordMultiple || r.Status == mtasts.RecordInvalid:
		p("The policy at %s was not fetched.", pol.URL)
	}
	if pol.Text != "" {
		writeText(w, pol.Text)
	}
	switch pol.Status {
	case mtasts.PolicyValid:
		line := fmt.Sprintf("Policy valid: mode %s, max_age %d seconds (%s)", pol.Mode, maxAge(pol), duration(maxAge(pol)))
		if len(pol.MX) > 0 {
			line += ", mx " + strings.Join(pol.MX, ", ")
		}
		p("%s.", line)
	case mtasts.PolicyInvalid:
		p("Policy invalid: %s", engineMessage(pol.Error))
	case mtasts.PolicyFetchError:
		p("Policy fetch failed: %s", engineMessage(pol.Error))
	}
	for _, warn := range pol.Warnings {
		p("Warning: %s", warn)
	}

	// The MX hosts.
	if rep.Error != "" {
		p("No MX host to check: %s.", engineMessage(rep.Error))
	}
	policy := pol.Status == mtasts.PolicyValid && pol.Mode != mtasts.ModeNone
	for _, m := range rep.MXHosts {
		if m.Implicit {
			p("No MX record: %s itself receives the mail (implicit MX)", m.Host)
		} else {
			p("MX record(%s) preference %d found for %s", m.Host, m.Preference, d)
		}
		if policy {
			if m.MatchesPolicy {
				p("  MX(%s) matches the policy.", m.Host)
			} else {
				p("  MX(%s) matches no mx of the policy.", m.Host)
			}
		}
		writeMX(w, m)
	}

	// The verdict.
	switch rep.Result {
	case mtasts.VerdictPass:
		pass := 0
		for _, m := range rep.MXHosts {
			if passes(m) {
				pass++
			}
		}
		note := ""
		if pol.Mode == mtasts.ModeTesting {
			note = "; mode testing: senders report failures and deliver anyway"
		}
		verb := "pass"
		if len(rep.MXHosts) == 1 {
			verb = "passes"
		}
		p("MTA-STS PASS for %s: %d of %s %s%s.", d, pass, plural(len(rep.MXHosts), "MX host"), verb, note)
	case mtasts.VerdictFail:
		p("MTA-STS FAIL for %s", d)
	case mtasts.VerdictNone:
		why := "no MTA-STS policy applies"
		if pol.Mode == mtasts.ModeNone && pol.Status == mtasts.PolicyValid {
			why = "the policy's mode is none: no MTA-STS policy applies"
		}
		p("MTA-STS NONE for %s: %s.", d, why)
	case mtasts.VerdictTempFail:
		p("MTA-STS TEMPFAIL for %s", d)
	}
	fixes := fixesOf(rep)
	if len(fixes) > 0 {
		p("What to fix:")
		for _, f := range fixes {
			p("- %s", f)
		}
	}
}

// fixesOf returns what to fix, one sentence each: for a record or policy problem a
// precise instruction, else the engine's advice made readable; and a word on the
// warnings of a policy that strict senders would reject.
func fixesOf(rep mtasts.Report) []string {
	var out []string
	r, pol := rep.Record, rep.Policy
	switch {
	case r.Status == mtasts.RecordInvalid:
		out = append(out, fmt.Sprintf("Publish one TXT record \"v=STSv1; id=ID;\" at %s with an id of 1 to 32 letters and digits: senders ignore the one there (%s).",
			r.Name, recordProblem(r.Error)))
	case r.Status == mtasts.RecordFound && pol.Status == mtasts.PolicyFetchError:
		out = append(out, fetchFix(rep.Domain, pol))
	case r.Status == mtasts.RecordFound && pol.Status == mtasts.PolicyInvalid:
		out = append(out, "Fix the policy text: "+strings.TrimPrefix(engineMessage(pol.Error), "invalid policy: ")+".")
	default:
		for _, f := range rep.Fixes {
			f = engineMessage(f)
			for _, m := range rep.MXHosts {
				f = strings.Replace(f, ": certificate not valid for "+m.Host+": ", ": ", 1)
			}
			out = append(out, capitalize(f)+".")
		}
	}
	if len(pol.Warnings) > 0 {
		out = append(out, "Serve the policy exactly as RFC 8461 §3.2 writes it: strict senders may reject it for the warnings above.")
	}
	return out
}

// fetchFix says how to make the policy fetchable, by what went wrong.
func fetchFix(domain string, pol mtasts.PolicyReport) string {
	msg := engineMessage(pol.Error)
	host := "mta-sts." + domain
	switch {
	case pol.HTTPStatus >= 300 && pol.HTTPStatus < 400:
		return fmt.Sprintf("Serve the policy itself at %s, with status 200: senders do not follow redirects (%s).", pol.URL, msg)
	case pol.HTTPStatus != 0 && pol.HTTPStatus != 200:
		return fmt.Sprintf("Serve the policy at %s with status 200 (it answers %d %s).", pol.URL, pol.HTTPStatus, http.StatusText(pol.HTTPStatus))
	case pol.HTTPStatus == 200 && strings.Contains(msg, "content type"):
		ct := pol.ContentType
		if ct == "" {
			ct = "none"
		}
		return fmt.Sprintf("Serve the policy with Content-Type text/plain (it is %s).", ct)
	case pol.HTTPStatus == 0 && strings.Contains(msg, "certificate"):
		return fmt.Sprintf("Give %s a certificate from a trusted CA that names it and is valid now (%s).", host, msg)
	case pol.HTTPStatus == 0:
		return fmt.Sprintf("Make %s answer HTTPS on port 443 (%s).", host, msg)
	}
	return fmt.Sprintf("Serve the policy at %s with status 200, Content-Type text/plain, and no redirect (%s).", pol.URL, msg)
}

// recordProblem extracts why an STS record is invalid from the lookup's error,
// "... invalid MTA-STS TXT record \"TXT\": WHY".
func recordProblem(s string) string {
	const mark = "invalid MTA-STS TXT record "
	i := strings.Index(s, mark)
	if i < 0 {
		return engineMessage(s)
	}
	rest := s[i+len(mark):]
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return engineMessage(s)
	}
	return strings.TrimPrefix(rest[len(q):], ": ")
}

// writeMX prints the probe of one MX host.
func writeMX(w io.Writer, m mtasts.MXReport) {
	p := func(format string, a ...any) { fmt.Fprintf(w, "  "+format+"\n", a...) }
	if m.Address == "" {
		if m.Error != "" {
			p("Not checked: %s.", engineMessage(m.Error))
		}
		return
	}
	if host, port, err := net.SplitHostPort(m.Address); err == nil {
		p("Connecting to %s on port %s.", host, port)
	}
	switch {
	case m.STARTTLS:
		p("STARTTLS offered.")
	case m.TLSVersion == "" && strings.Contains(m.Error, "STARTTLS not offered"):
		p("STARTTLS not offered.")
		return
	default:
		p("Failed: %s.", engineMessage(m.Error))
		return
	}
	if m.TLSVersion == "" {
		p("TLS connection failed: %s.", engineMessage(m.Error))
		return
	}
	p("TLS connection established: protocol %s, cipher %s.", protocolName(m.TLSVersion), m.Cipher)
	if m.PKIXValid {
		p("Certificate verification successful for %s.", m.Host)
	} else {
		msg := engineMessage(m.Error)
		msg = strings.TrimPrefix(msg, "certificate not valid for "+m.Host+": ")
		p("Certificate verification failed for %s: %s.", m.Host, msg)
	}
}

// passes reports whether an MX host passed the checks of RFC 8461 §4.
func passes(m mtasts.MXReport) bool {
	return m.MatchesPolicy && m.STARTTLS && m.TLSVersion != "" && m.PKIXValid
}

// writeText prints the policy as served, numbered as the warnings count lines. A
// line that ended in CR LF is marked when the text mixes line endings.
func writeText(w io.Writer, text string) {
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	crlf, lf := 0, 0
	for _, l := range lines {
		switch {
		case strings.HasSuffix(l, "\r\n"):
			crlf++
		case strings.HasSuffix(l, "\n"):
			lf++
		}
	}
	fmt.Fprintf(w, "Policy text (%s):\n", plural(len(lines), "line"))
	for i, l := range lines {
		if i == maxTextLines {
			fmt.Fprintf(w, "  ... %s more\n", plural(len(lines)-i, "line"))
			break
		}
		mark := ""
		body := strings.TrimSuffix(l, "\n")
		if b, ok := strings.CutSuffix(body, "\r"); ok {
			body = b
			if crlf > 0 && lf > 0 {
				mark = "  [CRLF]"
			}
		}
		if !strings.HasSuffix(l, "\n") && i == len(lines)-1 && len(lines) > 0 {
			mark += "  [no line ending]"
		}
		fmt.Fprintf(w, "%6d  %s%s\n", i+1, printable(body), mark)
	}
}

// printable quotes a line that holds control characters.
func printable(s string) string {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return strconv.Quote(s)
		}
	}
	return s
}

// maxAge returns the policy's max_age (0 when there is none).
func maxAge(p mtasts.PolicyReport) int64 {
	if p.MaxAge == nil {
		return 0
	}
	return *p.MaxAge
}

// duration renders seconds in the largest whole unit: "7 days", "1 hour",
// "90 seconds".
func duration(s int64) string {
	switch {
	case s >= 86400 && s%86400 == 0:
		return plural(int(s/86400), "day")
	case s >= 86400:
		return fmt.Sprintf("%.1f days", float64(s)/86400)
	case s >= 3600 && s%3600 == 0:
		return plural(int(s/3600), "hour")
	case s >= 60 && s%60 == 0:
		return plural(int(s/60), "minute")
	}
	return plural(int(s), "second")
}

// protocolName turns "TLS1.3" into "TLSv1.3", as the appliance prints it.
func protocolName(v string) string {
	if rest, ok := strings.CutPrefix(v, "TLS"); ok && !strings.HasPrefix(rest, "v") {
		return "TLSv" + rest
	}
	return v
}

// engineMessage makes an engine error readable for the operator: without the
// "mtasts: " prefixes and the policy URL the report already shows.
func engineMessage(s string) string {
	for {
		i := strings.Index(s, "mtasts: ")
		if i < 0 {
			break
		}
		s = s[:i] + s[i+len("mtasts: "):]
	}
	for {
		i := strings.Index(s, "fetch https://")
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], ": ")
		if j < 0 {
			break
		}
		s = s[:i] + s[i+j+2:]
	}
	return strings.TrimSuffix(s, ".")
}

// noRecordReason says why there is no record at name, from the lookup's error.
func noRecordReason(name, s string) string {
	why := "no TXT record"
	if i := strings.LastIndex(s, "("); i >= 0 && strings.HasSuffix(s, ")") {
		why = s[i+1 : len(s)-1]
	}
	switch why {
	case "the name does not exist":
		return name + " does not exist"
	case "no TXT record":
		return "no TXT record at " + name
	}
	return why + " at " + name
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// plural returns "1 line", "2 lines", "3 cached policies".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if stem, ok := strings.CutSuffix(word, "cy"); ok {
		return strconv.Itoa(n) + " " + stem + "cies"
	}
	return strconv.Itoa(n) + " " + word + "s"
}
