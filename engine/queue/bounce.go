package queue

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/atomicfile"
)

// maxBouncedHeaders bounds the original headers copied into a bounce.
const maxBouncedHeaders = 64 << 10

// BouncePath returns the path of the bounce message for recipient rid of
// message mid (the first bounced recipient of a batch names the file).
func (q *Queue) BouncePath(mid uint64, rid int) string {
	return path.Join(q.bounceDir(), strconv.FormatUint(mid, 10)+"-"+strconv.Itoa(rid)+".eml")
}

// bounce writes the bounce message for recipients of m to the bounce folder
// and logs it; nothing is written for the null sender (RFC 5321 §6.1, RFC
// 3464 §2: a bounce is never bounced). A failure is logged: the recipients
// are bounced all the same.
func (q *Queue) bounce(m Message, rs []Recipient) {
	if m.From == "" {
		q.log.Logf(maillog.Info, "MID %d: no bounce message for the null sender", m.MID)
		return
	}
	name := q.BouncePath(m.MID, rs[0].RID)
	data := q.bounceMessage(m, rs)
	if err := atomicfile.Write(q.fs, name, data, 0o640); err != nil {
		q.log.Logf(maillog.Warning, "MID %d: bounce message for <%s> not written: %v", m.MID, m.From, err)
		return
	}
	q.log.Logf(maillog.Info, "MID %d bounce message for <%s> written to %s", m.MID, m.From, name)
}

// enhanced finds an enhanced status code (RFC 3463) in a reply or reason.
var enhanced = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)

// status returns the DSN status of a bounce reason: its enhanced code with a
// permanent class ("5.1.1"; "4.4.7" for an expired message, as RFC 3464
// §2.3.4 reports it), or 5.0.0.
func status(reason string) string {
	if m := enhanced.FindStringSubmatch(reason); m != nil {
		if m[1] == "4" && m[2] == "4" && m[3] == "7" {
			return "4.4.7"
		}
		return "5." + m[2] + "." + m[3]
	}
	return "5.0.0"
}

// bounceMessage builds a delivery status notification (RFC 3464) for rs.
func (q *Queue) bounceMessage(m Message, rs []Recipient) []byte {
	now := q.now()
	boundary := fmt.Sprintf("%d.%d/%s", m.MID, now.Unix(), q.hostname)
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("Return-Path: <>")
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", q.hostname)
	w("To: <%s>", m.From)
	w("Subject: Undelivered Mail Returned to Sender")
	w("Date: %s", now.Format(time.RFC1123Z))
	w("Message-ID: <bounce.%d.%d@%s>", m.MID, rs[0].RID, q.hostname)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"", boundary)
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("")
	w("This is the mail system at host %s.", q.hostname)
	w("")
	w("Your message (MID %d, received %s) could not be delivered to", m.MID, m.Received.UTC().Format(time.RFC1123Z))
	w("the following recipients:")
	w("")
	for _, r := range rs {
		w("<%s>: %s", r.To, oneLine(r.Reason))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("")
	w("Reporting-MTA: dns; %s", q.hostname)
	w("X-Segcli-Queue-ID: %d", m.MID)
	w("Arrival-Date: %s", m.Received.Format(time.RFC1123Z))
	for _, r := range rs {
		w("")
		w("Final-Recipient: rfc822; %s", r.To)
		w("Action: failed")
		w("Status: %s", status(r.Reason))
		w("Diagnostic-Code: smtp; %s", oneLine(r.Reason))
		w("Last-Attempt-Date: %s", r.LastAttempt.Format(time.RFC1123Z))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("")
	b.Write(q.headers(m.MID))
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

// headers returns the header section of message mid with CRLF line endings,
// bounded by maxBouncedHeaders (empty when the data cannot be read).
func (q *Queue) headers(mid uint64) []byte {
	f, err := q.Open(mid)
	if err != nil {
		return nil
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, maxBouncedHeaders))
	var b bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "" {
			break
		}
		b.WriteString(trimmed + "\r\n")
		if err != nil {
			break
		}
	}
	return b.Bytes()
}

// oneLine keeps a reason on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
