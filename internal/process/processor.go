package process

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// Events is the events table as the processor uses it: claim the event,
// record the outcome.
type Events interface {
	// Claim sets the record PROCESSING under rec.Token and rec.LeaseUntil,
	// creating it when missing, and returns it with the steps earlier
	// attempts completed. A refused claim is *eventrecord.ConflictError.
	Claim(ctx context.Context, rec eventrecord.Record, now time.Time) (eventrecord.Record, error)
	// Finish writes the final status of the attempt held under rec.Token.
	Finish(ctx context.Context, rec eventrecord.Record, now time.Time) error
}

// Event is a claimed webhook event as a Handler sees it.
type Event struct {
	ID       string
	Type     string
	Created  time.Time // the event's own created time
	Livemode bool
	// Object is the envelope's data.object, raw.
	Object json.RawMessage
	// Body is the raw body, exactly as signed.
	Body       []byte
	ReceivedAt time.Time
	Replay     bool
	// Attempt counts the claims of this event, 1 on the first.
	Attempt int
}

// Handler applies the effects of one event type. It runs each effect as a
// named step through steps, returns an error marked with Permanent when no
// retry can help, and any other error when a retry may.
type Handler interface {
	Handle(ctx context.Context, ev Event, steps *Steps) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev Event, steps *Steps) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev Event, steps *Steps) error {
	return f(ctx, ev, steps)
}

// Registry maps an event type to its handler.
type Registry map[string]Handler

// Outcome is what became of one message.
type Outcome string

// The outcomes of one message.
const (
	OutcomeProcessed Outcome = "processed" // every effect applied, acknowledged
	OutcomeDuplicate Outcome = "duplicate" // already finished, acknowledged
	OutcomeInFlight  Outcome = "in_flight" // another delivery holds it: retry later
	OutcomeRetrying  Outcome = "retrying"  // transient failure: retry later
	OutcomeFailed    Outcome = "failed"    // permanent failure, recorded, acknowledged
)

// Retry reports whether the message must be reported as a batch item
// failure, so that SQS delivers it again.
func (o Outcome) Retry() bool {
	return o == OutcomeInFlight || o == OutcomeRetrying
}

// Result is the outcome of one message.
type Result struct {
	EventID  string
	Type     string
	Outcome  Outcome
	Err      error // the cause for retrying and failed outcomes
	Duration time.Duration
	// Notes are the notes the handler wrote in this attempt (see Note).
	Notes []Note
}

// Defaults of the Processor's settings.
const (
	DefaultLease          = 2 * time.Minute
	DefaultTTL            = 30 * 24 * time.Hour
	DefaultMaxConcurrency = 10
	// DefaultFinishMargin is how much of the invocation's time a handler
	// leaves for the outcome write: Lambda freezes the sandbox at the
	// invocation's deadline, so that write must start well before it.
	DefaultFinishMargin = 3 * time.Second
	// finishTimeout bounds the final write when the invocation's context
	// is already done (a host that does not freeze at the deadline, such
	// as the local poller), so that the outcome is still recorded.
	finishTimeout = 10 * time.Second
	// The outcome write is tried again after a failure: it is conditioned
	// on the attempt's token, so repeating it is safe, and losing it makes
	// the next delivery repeat effects. Under an invocation deadline it is
	// tried until that deadline (the FinishMargin is there for it);
	// without one, finishAttempts times. finishBackoff is the pause after
	// the first failure, doubled after each up to maxFinishBackoff.
	finishAttempts   = 5
	finishBackoff    = 25 * time.Millisecond
	maxFinishBackoff = 400 * time.Millisecond
)

// Processor claims, dispatches and records queued events. Set the fields
// before the first call; a Processor is safe for concurrent use afterwards.
type Processor struct {
	Events   Events
	Handlers Registry
	// Lease is how long a claim holds the event (DefaultLease when zero);
	// keep it no longer than the function's timeout. Handlers run under a
	// context that ends with the lease.
	Lease time.Duration
	// TTL sets the expiry of a record the claim creates or refreshes
	// (DefaultTTL when zero).
	TTL time.Duration
	// FinishMargin is the time kept back from the invocation's deadline
	// (the context's) for the outcome write (DefaultFinishMargin when
	// zero).
	FinishMargin time.Duration
	// MaxConcurrency bounds the records of one batch processed at once
	// (DefaultMaxConcurrency when zero).
	MaxConcurrency int
	// IsPermanent classifies errors that are not marked with Permanent,
	// such as AWS errors (awserr.IsPermanent). Nil: every unmarked error
	// is transient.
	IsPermanent func(error) bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// NewToken returns a fresh attempt token (128 random bits when nil).
	NewToken func() string
	// Logger receives one line per message (slog.Default when nil).
	Logger *slog.Logger
}

// ProcessBatch processes msgs concurrently, at most MaxConcurrency at a
// time, and returns their results in the same order.
func (p *Processor) ProcessBatch(ctx context.Context, msgs []eventrecord.Message) []Result {
	results := make([]Result, len(msgs))
	limit := p.MaxConcurrency
	if limit <= 0 {
		limit = DefaultMaxConcurrency
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// A panic outside the handler (an adapter's) is the record's
			// transient failure too: the batch and its other records go on.
			defer func() {
				if v := recover(); v != nil {
					results[i] = Result{EventID: m.EventID, Type: m.Type, Outcome: OutcomeRetrying,
						Err: &PanicError{Value: v, Stack: debug.Stack()}}
					p.log(ctx, results[i])
				}
			}()
			results[i] = p.Process(ctx, m)
		}()
	}
	wg.Wait()
	return results
}

// Process claims, dispatches and records one message, and logs the result.
func (p *Processor) Process(ctx context.Context, msg eventrecord.Message) Result {
	start := p.now()
	res := p.process(ctx, msg, start)
	res.Duration = p.now().Sub(start)
	p.log(ctx, res)
	return res
}

func (p *Processor) log(ctx context.Context, res Result) {
	logger := p.Logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs := []slog.Attr{
		slog.String("event_id", res.EventID),
		slog.String("event_type", res.Type),
		slog.String("outcome", string(res.Outcome)),
		slog.Int64("duration_ms", res.Duration.Milliseconds()),
	}
	level := slog.LevelInfo
	switch res.Outcome {
	case OutcomeRetrying, OutcomeInFlight:
		level = slog.LevelWarn
	case OutcomeFailed:
		level = slog.LevelError
	}
	if res.Err != nil {
		attrs = append(attrs, slog.String("error", res.Err.Error()))
	}
	var pe *PanicError
	if errors.As(res.Err, &pe) {
		level = slog.LevelError
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	for _, n := range res.Notes {
		attrs = append(attrs, slog.String("note", n.String()))
	}
	logger.LogAttrs(ctx, level, "event "+string(res.Outcome), attrs...)
}

func (p *Processor) process(ctx context.Context, msg eventrecord.Message, start time.Time) Result {
	ev, parseErr := parseMessage(msg)
	res := Result{EventID: ev.ID, Type: ev.Type}

	claim := p.claimRecord(ev, start)
	claimed, err := p.Events.Claim(ctx, claim, start)
	if err != nil {
		var ce *eventrecord.ConflictError
		switch {
		case errors.As(err, &ce) && ce.Existing.PayloadHash != "" && ce.Existing.PayloadHash != claim.PayloadHash:
			return p.refuseMismatch(ctx, msg, claim, ce.Existing, res, start)
		case errors.As(err, &ce) && ce.Existing.Status.Terminal():
			res.Outcome = OutcomeDuplicate
			return res
		case errors.As(err, &ce) && ce.Existing.Status == eventrecord.Processing:
			res.Outcome, res.Err = OutcomeInFlight, ErrInFlight
			return res
		default:
			res.Outcome, res.Err = OutcomeRetrying, fmt.Errorf("claim: %w", err)
			return res
		}
	}
	ev.Attempt = claimed.Attempts
	steps := resume(claimed.Steps, claimed.Notes)

	herr := parseErr
	if herr == nil {
		herr = p.dispatch(ctx, claimed, ev, steps)
	}
	res.Notes = steps.Notes()

	final := claimed
	final.Steps = steps.Completed()
	final.Notes = steps.recorded()
	final.Error, final.Body = "", nil
	switch {
	case herr == nil:
		final.Status = eventrecord.Processed
		final.DurationMS = p.now().Sub(start).Milliseconds()
		res.Outcome = OutcomeProcessed
	case p.permanent(herr):
		final.Status = eventrecord.Failed
		final.Error = herr.Error()
		final.Body = msg.Body
		res.Outcome, res.Err = OutcomeFailed, herr
	default:
		final.Status = eventrecord.Retrying
		final.Error = herr.Error()
		res.Outcome, res.Err = OutcomeRetrying, herr
	}

	if err := p.finish(ctx, final); err != nil {
		ferr := fmt.Errorf("finish as %s: %w", final.Status, err)
		if res.Err != nil {
			ferr = fmt.Errorf("%w (after: %v)", ferr, res.Err)
		}
		res.Outcome, res.Err = OutcomeRetrying, ferr
	}
	return res
}

// refuseMismatch records a message whose body is not the one stored under
// its event id (Claim refused it for its payload hash) as FAILED in a record
// of its own, keyed eventrecord.MismatchKey, with the reason and the body,
// and acknowledges it: the stored event and its own message are left alone,
// and this body is never applied. The record is written as any attempt is,
// a claim then a final write; a second delivery of the same message finds
// it FAILED and is a duplicate.
func (p *Processor) refuseMismatch(ctx context.Context, msg eventrecord.Message, claim, stored eventrecord.Record, res Result, start time.Time) Result {
	cause := Permanent(fmt.Errorf("%w: event %s is stored (%s) with payload sha256 %s, this message's body has %s",
		ErrPayloadMismatch, claim.EventID, stored.Status, stored.PayloadHash, claim.PayloadHash))
	claim.EventID = eventrecord.MismatchKey(claim.PayloadHash, claim.EventID)
	kept, err := p.Events.Claim(ctx, claim, start)
	if err != nil {
		var ce *eventrecord.ConflictError
		if errors.As(err, &ce) && ce.Existing.Status.Terminal() {
			res.Outcome = OutcomeDuplicate
			return res
		}
		res.Outcome, res.Err = OutcomeRetrying, fmt.Errorf("claim %s: %w (after: %v)", claim.EventID, err, cause)
		return res
	}
	kept.Status, kept.Error, kept.Body, kept.Steps = eventrecord.Failed, cause.Error(), msg.Body, nil
	if err := p.Events.Finish(ctx, kept, p.now()); err != nil {
		res.Outcome, res.Err = OutcomeRetrying, fmt.Errorf("finish %s as FAILED: %w (after: %v)", claim.EventID, err, cause)
		return res
	}
	res.Outcome, res.Err = OutcomeFailed, cause
	return res
}

// finish writes the outcome of the attempt, and tries again when the write
// fails for another reason than a lost claim: the write is conditioned on
// the attempt's token, so a repeat that finds it already done succeeds, and
// a lost outcome write would make the next delivery repeat the effects. It
// tries until the invocation's deadline, or finishAttempts times when there
// is none.
func (p *Processor) finish(ctx context.Context, final eventrecord.Record) error {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
	}
	_, untilDeadline := ctx.Deadline()
	wait := finishBackoff
	var err error
	for try := 1; ; try++ {
		if err = p.Events.Finish(ctx, final, p.now()); err == nil {
			return nil
		}
		var ce *eventrecord.ConflictError
		if errors.As(err, &ce) || (!untilDeadline && try == finishAttempts) {
			return err // another delivery holds the event now, or give up
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, maxFinishBackoff)
	}
}

// dispatch runs the event's handler under a context that ends with the
// lease, so that no effect starts after another delivery may have claimed
// the event, and before the invocation's own deadline less FinishMargin,
// so that the outcome write still runs. A panic in the handler is
// recovered as a *PanicError: the record's transient failure.
func (p *Processor) dispatch(ctx context.Context, claimed eventrecord.Record, ev Event, steps *Steps) (err error) {
	h, ok := p.Handlers[ev.Type]
	if !ok {
		return Permanent(fmt.Errorf("%w %q", ErrNoHandler, ev.Type))
	}
	hctx := ctx
	if end, ok := p.handlerDeadline(ctx, claimed); ok {
		var cancel context.CancelFunc
		hctx, cancel = context.WithDeadline(ctx, end)
		defer cancel()
	}
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h.Handle(hctx, ev, steps)
}

// handlerDeadline is when the handler must stop, on the wall clock (the one
// Go measures context deadlines with): the end of the lease or the
// invocation's deadline less FinishMargin, whichever comes first. The lease
// end was computed from the processor's clock, which may be pinned or
// skewed, so it becomes a duration on that clock (the lease's remaining
// time) before it becomes a wall-clock time; the invocation's deadline is a
// wall-clock time already (the Lambda runtime's). ok is false when neither
// bounds the handler.
func (p *Processor) handlerDeadline(ctx context.Context, claimed eventrecord.Record) (end time.Time, ok bool) {
	if !claimed.LeaseUntil.IsZero() {
		end, ok = time.Now().Add(claimed.LeaseUntil.Sub(p.now())), true
	}
	if inv, has := ctx.Deadline(); has {
		margin := p.FinishMargin
		if margin <= 0 {
			margin = DefaultFinishMargin
		}
		if inv = inv.Add(-margin); !ok || inv.Before(end) {
			end, ok = inv, true
		}
	}
	return end, ok
}

func (p *Processor) claimRecord(ev Event, now time.Time) eventrecord.Record {
	lease := p.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	ttl := p.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	sum := sha256.Sum256(ev.Body)
	return eventrecord.Record{
		EventID:     ev.ID,
		Status:      eventrecord.Processing,
		Type:        ev.Type,
		Created:     ev.Created,
		Livemode:    ev.Livemode,
		PayloadHash: hex.EncodeToString(sum[:]),
		Token:       p.token(),
		LeaseUntil:  now.Add(lease),
		ExpiresAt:   now.Add(ttl),
		ReceivedAt:  ev.ReceivedAt,
	}
}

func (p *Processor) permanent(err error) bool {
	if errors.Is(err, ErrPermanent) {
		return true
	}
	return p.IsPermanent != nil && p.IsPermanent(err)
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Processor) token() string {
	if p.NewToken != nil {
		return p.NewToken()
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// parseMessage builds the Event of msg. The event id and type come from the
// message attributes, or from the body when the attributes lack them. The
// returned error (permanent) says why the body is not a processable event;
// the Event still carries an id to record that under: the attributes' id,
// the envelope's, or "sha256:<hex>" of the body.
func parseMessage(msg eventrecord.Message) (Event, error) {
	ev := Event{
		ID:         msg.EventID,
		Type:       msg.Type,
		Body:       msg.Body,
		ReceivedAt: msg.ReceivedAt,
		Replay:     msg.Replay,
	}
	env, err := envelope.Parse(msg.Body)
	if err != nil {
		if ev.ID == "" {
			sum := sha256.Sum256(msg.Body)
			ev.ID = "sha256:" + hex.EncodeToString(sum[:])
		}
		return ev, Permanent(fmt.Errorf("%w: %w", ErrInvalidPayload, err))
	}
	if ev.ID == "" {
		ev.ID = env.ID
	}
	if ev.Type == "" {
		ev.Type = env.Type
	}
	ev.Created = time.Unix(env.Created, 0).UTC()
	ev.Livemode = env.Livemode
	if env.ID != ev.ID || env.Type != ev.Type {
		return ev, Permanentf("%w: message attributes name event %s (%s), the body %s (%s)",
			ErrInvalidPayload, ev.ID, ev.Type, env.ID, env.Type)
	}
	if env.Object == nil {
		return ev, Permanentf("%w: no data.object", ErrInvalidPayload)
	}
	ev.Object = env.Object
	return ev, nil
}
