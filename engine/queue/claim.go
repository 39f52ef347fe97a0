package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segcli/segcli/engine/maillog"
)

// Selector chooses the messages Claim takes.
type Selector struct {
	// MID, when set, claims only that message.
	MID uint64
	// Domain, when set, claims only messages with a pending recipient at
	// that domain, and only those recipients are due.
	Domain string
	// Max bounds the number of messages claimed (0: no bound).
	Max int
	// IgnoreSchedule claims pending recipients whose next attempt has not
	// come yet (deliver now).
	IgnoreSchedule bool
}

// Claim is a message this Queue holds for delivery: no other claim takes it
// until Complete or Release, or until the lease expires.
type Claim struct {
	Message
	// Due are the recipients to deliver now.
	Due []Recipient
}

// due returns the recipients of m that sel makes due at now.
func (sel Selector) due(m Message, now time.Time) []Recipient {
	var out []Recipient
	for _, r := range m.Recipients {
		if !r.Pending() || (sel.Domain != "" && r.Domain != sel.Domain) {
			continue
		}
		if !sel.IgnoreSchedule && r.NextAttempt.After(now) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// Claim leases the messages sel chooses that have recipients due and that
// nobody holds (or whose lease expired), oldest first. The leases are on disk
// when Claim returns.
func (q *Queue) Claim(ctx context.Context, sel Selector) ([]*Claim, error) {
	sel.Domain = normalizeDomain(sel.Domain)
	var mids []uint64
	if sel.MID != 0 {
		mids = []uint64{sel.MID}
	} else {
		var err error
		if mids, err = q.mids(); err != nil {
			return nil, err
		}
	}
	var out []*Claim
	for _, mid := range mids {
		if sel.Max > 0 && len(out) >= sel.Max {
			break
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		now := q.now()
		m, err := q.read(mid) // a first look without the lock
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		if m.leased(now) || len(sel.due(m, now)) == 0 {
			continue
		}
		var due []Recipient
		m, err = q.modify(ctx, mid, func(m *Message) (bool, error) {
			now := q.now()
			if m.leased(now) {
				return false, errBusy
			}
			if due = sel.due(*m, now); len(due) == 0 {
				return false, errBusy
			}
			m.Lease = &Lease{Owner: q.owner, Until: now.Add(q.lease)}
			return false, nil
		})
		switch {
		case errors.Is(err, errBusy), errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return out, err
		}
		out = append(out, &Claim{Message: m, Due: due})
	}
	return out, nil
}

// errBusy: the message was claimed (or changed) between the first look and
// the lock.
var errBusy = errors.New("queue: message busy")

// Outcome is what a delivery attempt decided for one recipient.
type Outcome struct {
	RID int
	// State is Delivered, Bounced, or Queued for a deferral.
	State State
	// Reason is the server's reply or the engine's reason ("" when
	// delivered).
	Reason string
}

// Complete records the outcomes of a claim's delivery and releases it:
// delivered and bounced recipients are final (a bounce message is written for
// the bounced), deferred ones are scheduled again with backoff, or bounce
// when the message has been queued longer than the maximum lifetime. A
// message with no pending recipient leaves the spool. Outcomes for
// recipients that are no longer pending (deleted meanwhile) are ignored.
func (q *Queue) Complete(ctx context.Context, c *Claim, outs []Outcome) (Message, error) {
	return q.record(ctx, c, outs, true)
}

// Record records outcomes as Complete does but keeps the claim: the delivery
// of the message's other recipients goes on. Release (or Complete) ends it.
func (q *Queue) Record(ctx context.Context, c *Claim, outs []Outcome) (Message, error) {
	return q.record(ctx, c, outs, false)
}

func (q *Queue) record(ctx context.Context, c *Claim, outs []Outcome, release bool) (Message, error) {
	var bounced []Recipient
	var finished string
	m, err := q.modify(ctx, c.MID, func(m *Message) (bool, error) {
		now := q.now()
		bounced, finished = nil, ""
		for _, o := range outs {
			i := m.index(o.RID)
			if i < 0 || !m.Recipients[i].Pending() {
				continue
			}
			r := &m.Recipients[i]
			r.Attempts++
			r.LastAttempt = now
			switch o.State {
			case Delivered:
				r.State, r.Reason = Delivered, ""
			case Bounced:
				r.State, r.Reason = Bounced, o.Reason
				bounced = append(bounced, *r)
			case Queued:
				r.Reason = o.Reason
				if age := now.Sub(m.Received); age >= q.maxLifetime {
					r.State = Bounced
					r.Reason = fmt.Sprintf("4.4.7 Message expired: queued for %s: %s", age.Truncate(time.Second), o.Reason)
					maillog.Bounced(0, m.MID, r.RID, r.Reason).Log(q.log)
					bounced = append(bounced, *r)
					continue
				}
				r.NextAttempt = q.next(*m, *r, now)
			default:
				return false, fmt.Errorf("queue: MID %d RID %d: outcome %q is not delivered, bounced or queued", m.MID, o.RID, o.State)
			}
		}
		if release && m.Lease != nil && m.Lease.Owner == q.owner {
			m.Lease = nil
		}
		if len(bounced) > 0 {
			q.bounce(*m, bounced)
		}
		if len(m.Pending()) == 0 {
			finished = "done"
			for _, r := range m.Recipients {
				if r.State == Deleted {
					finished = "aborted"
				}
			}
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return m, err
	}
	if finished != "" {
		maillog.MessageFinished(m.MID, finished).Log(q.log)
	}
	return m, nil
}

// next returns the next attempt of r after an attempt at now: the retry
// delay doubled per attempt, capped by MaxRetry, and never past the end of
// the message's lifetime (its last attempt).
func (q *Queue) next(m Message, r Recipient, now time.Time) time.Time {
	d := q.retry
	for i := 1; i < r.Attempts && d < q.maxRetry; i++ {
		d *= 2
	}
	d = min(d, q.maxRetry)
	t := now.Add(d)
	if end := m.Received.Add(q.maxLifetime); t.After(end) {
		t = end
	}
	return t
}

// index returns the index of RID rid in m.Recipients, -1 when none.
func (m *Message) index(rid int) int {
	for i, r := range m.Recipients {
		if r.RID == rid {
			return i
		}
	}
	return -1
}

// Release gives a claim back without recording anything (the delivery was
// interrupted before it decided).
func (q *Queue) Release(ctx context.Context, c *Claim) error {
	_, err := q.modify(ctx, c.MID, func(m *Message) (bool, error) {
		if m.Lease != nil && m.Lease.Owner == q.owner {
			m.Lease = nil
		}
		return false, nil
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Renew extends a claim's lease by Config.Lease from now.
func (q *Queue) Renew(ctx context.Context, c *Claim) error {
	_, err := q.modify(ctx, c.MID, func(m *Message) (bool, error) {
		if m.Lease == nil || m.Lease.Owner != q.owner {
			return false, fmt.Errorf("queue: MID %d: the lease was lost", m.MID)
		}
		m.Lease.Until = q.now().Add(q.lease)
		return false, nil
	})
	return err
}
