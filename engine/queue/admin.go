package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/afero"

	"github.com/segcli/segcli/engine/maillog"
	"github.com/segcli/segcli/internal/atomicfile"
)

// Match chooses recipients for DeleteRecipients and DeliverNow. Empty fields
// match everything; a zero Match matches every pending recipient.
type Match struct {
	MID uint64
	// Domain matches the recipient's domain; Recipient and Sender match
	// addresses, case-insensitively.
	Domain    string
	Recipient string
	Sender    string
}

func (mt Match) matches(m Message, r Recipient) bool {
	return r.Pending() &&
		(mt.MID == 0 || mt.MID == m.MID) &&
		(mt.Domain == "" || normalizeDomain(mt.Domain) == r.Domain) &&
		(mt.Recipient == "" || strings.EqualFold(mt.Recipient, r.To)) &&
		(mt.Sender == "" || strings.EqualFold(mt.Sender, m.From))
}

// DeleteRecipients removes the pending recipients mt matches from the queue
// (deleterecipients) and returns how many. A message left without pending
// recipients leaves the spool ("Message finished MID n aborted"). A message
// being delivered at that moment may still reach the recipients.
func (q *Queue) DeleteRecipients(ctx context.Context, mt Match) (int, error) {
	return q.each(ctx, mt, func(m *Message, r *Recipient) {
		r.State = Deleted
		r.LastAttempt = q.now()
		q.log.Logf(maillog.Info, "MID %d RID [%d] To: <%s> deleted from the queue", m.MID, r.RID, r.To)
	})
}

// DeliverNow makes the pending recipients mt matches due at once
// (deliverynow) and returns how many.
func (q *Queue) DeliverNow(ctx context.Context, mt Match) (int, error) {
	return q.each(ctx, mt, func(m *Message, r *Recipient) {
		r.NextAttempt = q.now()
	})
}

// each applies fn to every pending recipient mt matches, one message at a
// time under the lock, and removes messages left without pending
// recipients.
func (q *Queue) each(ctx context.Context, mt Match, fn func(m *Message, r *Recipient)) (int, error) {
	msgs, err := q.List(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, first := range msgs {
		if !slices.ContainsFunc(first.Recipients, func(r Recipient) bool { return mt.matches(first, r) }) {
			continue
		}
		n := 0
		finished := false
		_, err := q.modify(ctx, first.MID, func(m *Message) (bool, error) {
			n = 0
			for i := range m.Recipients {
				if mt.matches(*m, m.Recipients[i]) {
					fn(m, &m.Recipients[i])
					n++
				}
			}
			finished = len(m.Pending()) == 0
			return finished, nil
		})
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return total, err
		}
		total += n
		if finished {
			maillog.MessageFinished(first.MID, "aborted").Log(q.log)
		}
	}
	return total, nil
}

// NextDue returns the earliest next attempt of a pending recipient in the
// spool; false when nothing is pending.
func (q *Queue) NextDue(ctx context.Context) (time.Time, bool, error) {
	msgs, err := q.List(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	var t time.Time
	for _, m := range msgs {
		next := m.NextAttempt()
		if next.IsZero() {
			continue
		}
		if m.Lease != nil && m.Lease.Until.After(next) {
			next = m.Lease.Until // held by someone: not before the lease ends
		}
		if t.IsZero() || next.Before(t) {
			t = next
		}
	}
	return t, !t.IsZero(), nil
}

// HostStatus is what the last delivery attempt to a destination domain saw
// (hoststatus), with the domain's share of the queue.
type HostStatus struct {
	Domain string `json:"domain"`
	// LastAttempt is when delivery was last tried; Status its outcome:
	// "delivered", "deferred" or "bounced".
	LastAttempt time.Time `json:"last_attempt"`
	Status      string    `json:"status"`
	// MX and Address are the host last connected to; Security the
	// security it got ("dane", "mta-sts", "tls-verify", "tls", "none") and
	// TLSVersion the protocol.
	MX         string `json:"mx,omitempty"`
	Address    string `json:"address,omitempty"`
	Security   string `json:"security,omitempty"`
	TLSVersion string `json:"tls_version,omitempty"`
	// Reason is why the last attempt deferred or bounced.
	Reason string `json:"reason,omitempty"`
	// LastDelivered is when a message was last delivered to the domain.
	LastDelivered time.Time `json:"last_delivered,omitzero"`

	// Pending and NextAttempt are computed from the spool when read: the
	// recipients at the domain that wait, and their earliest next attempt.
	Pending     int       `json:"-"`
	NextAttempt time.Time `json:"-"`
}

func (q *Queue) hostPath(domain string) string {
	return path.Join(q.hostsDir(), domain+".json")
}

// SetHostStatus records the last attempt to h.Domain; a zero LastDelivered
// keeps the previous record's.
func (q *Queue) SetHostStatus(ctx context.Context, h HostStatus) error {
	d := normalizeDomain(h.Domain)
	if d == "" || strings.ContainsAny(d, "/\\") || strings.HasPrefix(d, ".") {
		return fmt.Errorf("queue: host status: bad domain %q", h.Domain)
	}
	h.Domain = d
	unlock, err := q.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if old, ok, err := q.readHost(d); err == nil && ok && h.LastDelivered.IsZero() {
		h.LastDelivered = old.LastDelivered
	}
	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return fmt.Errorf("queue: host status %s: %w", d, err)
	}
	if err := atomicfile.Write(q.fs, q.hostPath(d), append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("queue: host status %s: %w", d, err)
	}
	return nil
}

func (q *Queue) readHost(d string) (HostStatus, bool, error) {
	data, err := afero.ReadFile(q.fs, q.hostPath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return HostStatus{}, false, nil
	}
	if err != nil {
		return HostStatus{}, false, fmt.Errorf("queue: host status %s: %w", d, err)
	}
	var h HostStatus
	if err := json.Unmarshal(data, &h); err != nil {
		return HostStatus{}, false, fmt.Errorf("queue: host status %s: damaged file: %w", d, err)
	}
	return h, true, nil
}

// Host returns the status of domain, with its pending recipients counted;
// false when no attempt was recorded and nothing is queued for it.
func (q *Queue) Host(ctx context.Context, domain string) (HostStatus, bool, error) {
	d := normalizeDomain(domain)
	h, ok, err := q.readHost(d)
	if err != nil {
		return h, false, err
	}
	h.Domain = d
	msgs, err := q.List(ctx)
	if err != nil {
		return h, false, err
	}
	for _, m := range msgs {
		for _, r := range m.Recipients {
			if r.Pending() && r.Domain == d {
				h.Pending++
				if h.NextAttempt.IsZero() || r.NextAttempt.Before(h.NextAttempt) {
					h.NextAttempt = r.NextAttempt
				}
			}
		}
	}
	return h, ok || h.Pending > 0, nil
}

// Hosts returns the recorded status of every domain, by domain name.
func (q *Queue) Hosts(ctx context.Context) ([]HostStatus, error) {
	infos, err := afero.ReadDir(q.fs, q.hostsDir())
	if err != nil {
		return nil, fmt.Errorf("queue: host status: %w", err)
	}
	var out []HostStatus
	for _, fi := range infos {
		d, ok := strings.CutSuffix(fi.Name(), ".json")
		if !ok || strings.HasPrefix(d, ".") {
			continue
		}
		h, ok, err := q.Host(ctx, d)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// normalizeDomain returns a domain lower case without its trailing dot.
func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}
