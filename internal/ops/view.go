package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// EventView is an event record as the operator commands show it: times in
// RFC 3339 (UTC), the body's size rather than the body, no token. It is the
// --json shape of webhookctl events.
type EventView struct {
	EventID     string             `json:"event_id"`
	Status      eventrecord.Status `json:"status"`
	Type        string             `json:"type,omitempty"`
	Created     *time.Time         `json:"created,omitempty"`
	Livemode    bool               `json:"livemode"`
	Attempts    int                `json:"attempts"`
	Steps       []string           `json:"steps"`
	Error       string             `json:"error,omitempty"`
	ReceivedAt  *time.Time         `json:"received_at,omitempty"`
	UpdatedAt   *time.Time         `json:"updated_at,omitempty"`
	LeaseUntil  *time.Time         `json:"lease_until,omitempty"`
	ExpiresAt   *time.Time         `json:"expires_at,omitempty"`
	DurationMS  int64              `json:"duration_ms,omitempty"`
	PayloadHash string             `json:"payload_sha256,omitempty"`
	BodyBytes   int                `json:"body_bytes"`
	Expired     bool               `json:"expired"`
	Replayable  bool               `json:"replayable"`
	// Stranded: RETRYING with its body, no processor holding it, untouched
	// for StrandedAfter: a replay that may never have sent its message.
	// Replaying it again is safe (the processor applies an event once).
	Stranded bool `json:"stranded"`
	// ProcessorNotes are what the processor noted while it processed the
	// event without failing it (an email SES refused, an anomaly found).
	ProcessorNotes []string `json:"processor_notes,omitempty"`
	// Email is the delivery of the event's customer email, as the email
	// sender recorded it; nil when none was claimed yet (none queued, or
	// its job still waits on the email queue).
	Email *EmailView `json:"email,omitempty"`
}

// EmailView is an email's delivery as shown to an operator.
type EmailView struct {
	// Status is SENDING (a sender holds it; it may have reached SES),
	// SENT or UNDELIVERABLE.
	Status   eventrecord.EmailStatus `json:"status"`
	Template string                  `json:"template,omitempty"`
	// Attempts counts the sender's claims, each a try of the send.
	Attempts   int        `json:"attempts"`
	LeaseUntil *time.Time `json:"lease_until,omitempty"` // while SENDING
	At         *time.Time `json:"at,omitempty"`          // sent, or found undeliverable
	Error      string     `json:"error,omitempty"`       // why undeliverable
}

// StrandedAfter is how long a replayed record may wait for the processor
// before it is shown as stranded: the processor claims a queued message
// within seconds unless the queue is backed up.
const StrandedAfter = 5 * time.Minute

// Stranded reports whether r, at now, is a replay that may never have sent
// its message: RETRYING with its body (which only a replay's reset leaves
// there: Finish drops it), no live lease, and not updated for
// StrandedAfter. `webhookctl replay` sends it.
func Stranded(r eventrecord.Record, now time.Time) bool {
	return r.Status == eventrecord.Retrying && len(r.Body) > 0 && !r.LeaseLive(now) &&
		!now.Before(r.UpdatedAt.Add(StrandedAfter))
}

// Replayable reports whether `webhookctl replay` re-enqueues r: a record
// of an event (not a refused body) that holds its body and is FAILED, or
// RETRYING with no live lease, or IGNORED (with --ignored).
func Replayable(r eventrecord.Record, now time.Time) bool {
	if len(r.Body) == 0 || eventrecord.IsBodyKey(r.EventID) {
		return false
	}
	switch r.Status {
	case eventrecord.Failed, eventrecord.Ignored:
		return true
	case eventrecord.Retrying:
		return !r.LeaseLive(now)
	}
	return false
}

// View returns r as shown to an operator at now.
func View(r eventrecord.Record, now time.Time) EventView {
	at := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		u := t.UTC()
		return &u
	}
	steps := r.Steps
	if steps == nil {
		steps = []string{}
	}
	var email *EmailView
	if e := r.Email; e.Status != "" {
		email = &EmailView{Status: e.Status, Template: e.Template, Attempts: e.Attempts, LeaseUntil: at(e.LeaseUntil), At: at(e.At), Error: e.Error}
	}
	return EventView{
		EventID: r.EventID, Status: r.Status, Type: r.Type, Created: at(r.Created), Livemode: r.Livemode,
		Attempts: r.Attempts, Steps: steps, ProcessorNotes: r.Notes, Error: r.Error,
		ReceivedAt: at(r.ReceivedAt), UpdatedAt: at(r.UpdatedAt), LeaseUntil: at(r.LeaseUntil), ExpiresAt: at(r.ExpiresAt),
		DurationMS: r.DurationMS, PayloadHash: r.PayloadHash, BodyBytes: len(r.Body),
		Expired:    r.Expired(now),
		Replayable: Replayable(r, now),
		Stranded:   Stranded(r, now),
		Email:      email,
	}
}

// EventReader is what the event commands need of the events table.
type EventReader interface {
	Get(ctx context.Context, eventID string) (eventrecord.Record, error)
	List(ctx context.Context, status eventrecord.Status, since time.Time) ([]eventrecord.Record, error)
}

var _ EventReader = (*ddbevents.Table)(nil)

// ErrNotFound is returned by GetEvent when no record has the id.
var ErrNotFound = ddbevents.ErrNotFound

// ErrUnknownStatus is returned by ParseStatus for a name that is no status.
var ErrUnknownStatus = errors.New("unknown status")

// GetEvent reads one record and shows it at now. It returns an error
// wrapping ErrNotFound when there is none.
func GetEvent(ctx context.Context, er EventReader, eventID string, now time.Time) (EventView, error) {
	r, err := er.Get(ctx, eventID)
	if err != nil {
		return EventView{}, err
	}
	return View(r, now), nil
}

// ListEvents shows the records in status updated since (all when zero),
// oldest update first.
func ListEvents(ctx context.Context, er EventReader, status eventrecord.Status, since, now time.Time) ([]EventView, error) {
	recs, err := er.List(ctx, status, since)
	if err != nil {
		return nil, err
	}
	views := make([]EventView, len(recs))
	for i, r := range recs {
		views[i] = View(r, now)
	}
	return views, nil
}

// ListStranded shows the stranded records (Stranded) updated since (all
// when zero), oldest update first: replays to run again.
func ListStranded(ctx context.Context, er EventReader, since, now time.Time) ([]EventView, error) {
	views, err := ListEvents(ctx, er, eventrecord.Retrying, since, now)
	if err != nil {
		return nil, err
	}
	out := views[:0]
	for _, v := range views {
		if v.Stranded {
			out = append(out, v)
		}
	}
	return out, nil
}

// Statuses lists every record status, in the order of an event's life.
func Statuses() []eventrecord.Status {
	return []eventrecord.Status{
		eventrecord.Received, eventrecord.Processing, eventrecord.Retrying, eventrecord.Processed,
		eventrecord.Failed, eventrecord.Ignored, eventrecord.Rejected,
	}
}

// ParseStatus reads a status name in any case.
func ParseStatus(s string) (eventrecord.Status, error) {
	up := eventrecord.Status(strings.ToUpper(strings.TrimSpace(s)))
	if slices.Contains(Statuses(), up) {
		return up, nil
	}
	return "", fmt.Errorf("%w %q: want one of %s", ErrUnknownStatus, s, validStatuses())
}
