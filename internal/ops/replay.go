package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// ReplayStore is what Replayer needs of the events table.
type ReplayStore interface {
	// Reset turns a FAILED record that holds its body into RETRYING and
	// returns it, or returns *eventrecord.ConflictError with the record
	// that stopped it (Status empty when there is none).
	Reset(ctx context.Context, eventID string, now time.Time) (eventrecord.Record, error)
	// Finish puts the record back as FAILED when the enqueue fails.
	Finish(ctx context.Context, rec eventrecord.Record, now time.Time) error
}

// Enqueuer puts a message on the events queue.
type Enqueuer interface {
	Send(ctx context.Context, m eventrecord.Message) error
}

var (
	_ ReplayStore = (*ddbevents.Table)(nil)
	_ Enqueuer    = (*sqsqueue.Queue)(nil)
)

// ReplayOutcome is what became of one replay request.
type ReplayOutcome string

// The outcomes of Replay.
const (
	Replayed         ReplayOutcome = "replayed"          // reset to RETRYING and queued with the replay mark
	AlreadyProcessed ReplayOutcome = "already_processed" // PROCESSED: nothing changed, nothing sent
	NotFound         ReplayOutcome = "not_found"         // no record of that id
	NoBody           ReplayOutcome = "no_body"           // FAILED, but no body kept to replay
	NotReplayable    ReplayOutcome = "not_replayable"    // another status: only FAILED events are replayed
)

// ReplayResult reports one replay.
type ReplayResult struct {
	EventID   string             `json:"event_id"`
	Outcome   ReplayOutcome      `json:"outcome"`
	Status    eventrecord.Status `json:"status,omitempty"` // the record's status afterwards (unchanged unless replayed)
	Type      string             `json:"type,omitempty"`
	BodyBytes int                `json:"body_bytes,omitempty"`
}

// Text says in words what happened, for the human output.
func (r ReplayResult) Text() string {
	switch r.Outcome {
	case Replayed:
		return fmt.Sprintf("replayed (%s, %d bytes queued; record now %s)", r.Type, r.BodyBytes, r.Status)
	case AlreadyProcessed:
		return "already processed, not replayed"
	case NotFound:
		return "no such event, not replayed"
	case NoBody:
		return "FAILED but no body was kept, cannot be replayed"
	default:
		return fmt.Sprintf("status %s, not replayed (only FAILED events are replayed)", r.Status)
	}
}

// Replayer re-enqueues FAILED events, an operator's action: the stored body
// goes back on the events queue marked as a replay, with no signature check
// (the body was verified when it first arrived).
type Replayer struct {
	Store ReplayStore
	Queue Enqueuer
	Now   func() time.Time // nil: time.Now
}

// Replay replays one event. First the record is reset from FAILED to
// RETRYING (one conditional write, so that the processor's claim accepts the
// message), then the stored body is sent. An event in any other state is
// left as it is and nothing is sent; the result says why. When the send
// fails the record is put back to FAILED, body and error kept, and the
// error is returned.
func (r *Replayer) Replay(ctx context.Context, eventID string) (ReplayResult, error) {
	now := r.now()
	res := ReplayResult{EventID: eventID}
	rec, err := r.Store.Reset(ctx, eventID, now)
	var ce *eventrecord.ConflictError
	switch {
	case errors.As(err, &ce):
		res.Status, res.Type = ce.Existing.Status, ce.Existing.Type
		switch ce.Existing.Status {
		case "":
			res.Outcome = NotFound
		case eventrecord.Processed:
			res.Outcome = AlreadyProcessed
		case eventrecord.Failed:
			res.Outcome = NoBody
		default:
			res.Outcome = NotReplayable
		}
		return res, nil
	case err != nil:
		return res, fmt.Errorf("replay %s: %w", eventID, err)
	}
	msg := eventrecord.Message{EventID: eventID, Type: rec.Type, ReceivedAt: now, Body: rec.Body, Replay: true}
	if err := r.Queue.Send(ctx, msg); err != nil {
		back := rec
		back.Status = eventrecord.Failed
		if rerr := r.Store.Finish(ctx, back, r.now()); rerr != nil {
			return res, fmt.Errorf("replay %s: %w; and putting the record back to FAILED failed too, it stays RETRYING with its body: %w", eventID, err, rerr)
		}
		return res, fmt.Errorf("replay %s (record put back to FAILED): %w", eventID, err)
	}
	res.Outcome, res.Status, res.Type, res.BodyBytes = Replayed, rec.Status, rec.Type, len(rec.Body)
	return res, nil
}

func (r *Replayer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
