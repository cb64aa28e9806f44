package ops

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// ReplayStore is what Replayer needs of the events table.
type ReplayStore interface {
	// Reset turns a record that holds its body (FAILED, a RETRYING one no
	// processor holds, IGNORED with o.Ignored) into RETRYING under
	// o.Token and returns it with the status it had, or returns
	// *eventrecord.ConflictError with the record that stopped it (Status
	// empty when there is none).
	Reset(ctx context.Context, eventID string, o ddbevents.ResetOptions, now time.Time) (eventrecord.Record, eventrecord.Status, error)
	// Restore puts a reset record back to the status it had when the
	// enqueue fails.
	Restore(ctx context.Context, rec eventrecord.Record, status eventrecord.Status, now time.Time) error
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
	NoBody           ReplayOutcome = "no_body"           // no body kept to replay
	IgnoredNeedsFlag ReplayOutcome = "ignored"           // IGNORED: replayed only when asked for (Replayer.Ignored)
	NotReplayable    ReplayOutcome = "not_replayable"    // another status, or a record kept for a refused body
)

// ReplayStepTimeout bounds each step of one replay once it has started
// (the reset, the send, the rollback): they run on a context of their own,
// so that an interrupt between them never leaves a reset record without
// its message.
const ReplayStepTimeout = 30 * time.Second

// ReplayResult reports one replay.
type ReplayResult struct {
	EventID   string             `json:"event_id"`
	Outcome   ReplayOutcome      `json:"outcome"`
	Status    eventrecord.Status `json:"status,omitempty"` // the record's status afterwards (unchanged unless replayed)
	Was       eventrecord.Status `json:"was,omitempty"`    // the record's status before a replay
	Type      string             `json:"type,omitempty"`
	BodyBytes int                `json:"body_bytes,omitempty"`
}

// Text says in words what happened, for the human output.
func (r ReplayResult) Text() string {
	switch r.Outcome {
	case Replayed:
		return fmt.Sprintf("replayed (%s, was %s, %d bytes queued; record now %s)", r.Type, r.Was, r.BodyBytes, r.Status)
	case AlreadyProcessed:
		return "already processed, not replayed"
	case NotFound:
		return "no such event, not replayed"
	case NoBody:
		return fmt.Sprintf("%s but no body was kept, cannot be replayed", r.Status)
	case IgnoredNeedsFlag:
		return "IGNORED, not replayed: replay it with --ignored once the deployment should apply it"
	default:
		return fmt.Sprintf("status %s, not replayed (only FAILED, stranded RETRYING and, with --ignored, IGNORED events are replayed)", r.Status)
	}
}

// Replayer re-enqueues events, an operator's action: the stored body goes
// back on the events queue marked as a replay, with no signature check (the
// body was verified when it first arrived).
type Replayer struct {
	Store ReplayStore
	Queue Enqueuer
	// Ignored lets Replay take IGNORED events too; the operator has
	// confirmed that the deployment should now apply them.
	Ignored  bool
	Now      func() time.Time // nil: time.Now
	NewToken func() string    // nil: 16 random bytes, hex
}

// Replay replays one event: first the record is reset to RETRYING (one
// conditional write, so that the processor's claim accepts the message),
// then the stored body is sent. A record that is FAILED, RETRYING with its
// body and no processor holding it (a replay that never sent its message),
// or IGNORED (with Ignored) is replayed; anything else is left as it is and
// nothing is sent, and the result says why.
//
// Once the reset has started, the steps run on a context of their own
// (ReplayStepTimeout each): cancelling ctx (an interrupt) never stops a
// replay between its reset and its send. When the send fails the record is
// put back to the status it had and the error is returned; if even that
// fails, the record stays RETRYING with its body, and running Replay again
// sends it (ListStranded finds such records).
func (r *Replayer) Replay(ctx context.Context, eventID string) (ReplayResult, error) {
	res := ReplayResult{EventID: eventID}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("replay %s: not started: %w", eventID, err)
	}
	step := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), ReplayStepTimeout)
	}
	sctx, cancel := step()
	rec, was, err := r.Store.Reset(sctx, eventID, ddbevents.ResetOptions{Token: r.token(), Ignored: r.Ignored}, r.now())
	cancel()
	var ce *eventrecord.ConflictError
	switch {
	case errors.As(err, &ce):
		ex := ce.Existing
		res.Status, res.Type = ex.Status, ex.Type
		switch {
		case ex.Status == "":
			res.Outcome = NotFound
		case eventrecord.IsBodyKey(eventID):
			res.Outcome = NotReplayable
		case ex.Status == eventrecord.Processed:
			res.Outcome = AlreadyProcessed
		case (ex.Status == eventrecord.Failed || ex.Status == eventrecord.Ignored) && len(ex.Body) == 0:
			res.Outcome = NoBody
		case ex.Status == eventrecord.Ignored:
			res.Outcome = IgnoredNeedsFlag
		default:
			res.Outcome = NotReplayable
		}
		return res, nil
	case err != nil:
		return res, fmt.Errorf("replay %s: %w (if the reset went through, the record is RETRYING with its body: run replay again)", eventID, err)
	}
	msg := eventrecord.Message{EventID: eventID, Type: rec.Type, ReceivedAt: r.now(), Body: storedBody(rec), Replay: true}
	sctx, cancel = step()
	defer cancel()
	if err := r.Queue.Send(sctx, msg); err != nil {
		if was == eventrecord.Retrying {
			return res, fmt.Errorf("replay %s: %w; the record stays RETRYING with its body: run replay again", eventID, err)
		}
		rctx, rcancel := step()
		defer rcancel()
		if rerr := r.Store.Restore(rctx, rec, was, r.now()); rerr != nil {
			return res, fmt.Errorf("replay %s: %w; and putting the record back to %s failed too, it stays RETRYING with its body (webhookctl events list --stranded): run replay again: %w", eventID, err, was, rerr)
		}
		return res, fmt.Errorf("replay %s (record put back to %s): %w", eventID, was, err)
	}
	res.Outcome, res.Status, res.Was, res.Type, res.BodyBytes = Replayed, rec.Status, was, rec.Type, len(rec.Body)
	return res, nil
}

// storedBody is the event body a record keeps. The processor before the
// queue carried bodies base64-encoded read a new ingest's message as the
// base64 text and kept that text on the FAILED record (a deploy or a
// rollback that ran the two versions side by side): such a body is the
// base64 of one whose hash is the record's, and is decoded, so that its
// replay is the event the provider signed.
func storedBody(rec eventrecord.Record) []byte {
	if sha256Hex(rec.Body) == rec.PayloadHash || rec.PayloadHash == "" {
		return rec.Body
	}
	raw, err := base64.StdEncoding.DecodeString(string(rec.Body))
	if err != nil || sha256Hex(raw) != rec.PayloadHash {
		return rec.Body
	}
	return raw
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (r *Replayer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Replayer) token() string {
	if r.NewToken != nil {
		return r.NewToken()
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "replay-" + hex.EncodeToString(b[:])
}
