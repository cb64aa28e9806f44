package sqsbatch

import (
	"context"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// Deferrer takes over a record whose processing failed for a passing
// reason, by queuing its message again, delayed, as a new message: the
// original is then acknowledged instead of reported failed, and spends no
// receive towards the dead-letter queue. Defer reports whether it did.
type Deferrer interface {
	Defer(ctx context.Context, m eventrecord.Message, res process.Result) bool
}

// DelayedQueue queues a message after a delay (sqsqueue.Queue).
type DelayedQueue interface {
	SendDelayed(ctx context.Context, m eventrecord.Message, delay time.Duration) error
}

// MetricDeferred counts records deferred for a downstream quota.
const MetricDeferred = "Deferred"

// Defaults of QuotaDeferral.
const (
	DefaultMaxDeferAge = 6 * time.Hour
	minDeferDelay      = time.Second
	maxDeferDelay      = time.Minute // a quota that frees is used within a minute; SQS allows 15
)

// QuotaDeferral defers the records a downstream quota throttled
// (DynamoDB's throughput, EventBridge's PutEvents rate): a retry result
// whose error IsThrottle accepts. Other failures keep the receives'
// retry and the dead-letter queue. The event's record is RETRYING with the
// steps that completed, so the deferred message resumes after them.
//
// The bound is per stay on the queue: the deferrals of one stay end
// MaxAge (6 hours by default: no burst throttles that long) after the
// stay's first deferral; a message throttled after that is not deferred
// any more, and goes the receives' way to the DLQ and its alarm. Each
// copy the deferral queues carries when the stay's deferrals began
// (deferred_since) and when this copy is due, queued plus its delay
// (deferred_until). A stay
// begins at the first deferral of a message that no deferral queued (one
// from ingest, a replay) and again at the first deferral of a message
// redriven from the DLQ: the redrive keeps the attributes, but SQS takes
// it as a new message, so its SentTimestamp is far past deferred_until
// (eventrecord.SameStay). The operator's fix-then-redrive, itself a
// burst, thus gets its own 6 hours of deferrals instead of none.
//
// The delay grows with the time deferred so far in the stay: about that
// time itself, so it doubles with each deferral (1 s, 1 s, 2 s, 4 s, …),
// at least 1 s, at most a minute (a quota that frees is used again
// within a minute, where SQS would allow 15; a stay of 6 hours is then
// at most about 360 deferrals), with a quarter of jitter either way
// so that messages throttled together come back apart. No counter is
// needed.
type QuotaDeferral struct {
	Queue      DelayedQueue
	IsThrottle func(error) bool
	// MaxAge bounds the deferrals of one stay (DefaultMaxDeferAge when
	// zero).
	MaxAge time.Duration
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

var _ Deferrer = (*QuotaDeferral)(nil)

// Defer queues m again after a delay when res is a throttled retry.
func (d *QuotaDeferral) Defer(ctx context.Context, m eventrecord.Message, res process.Result) bool {
	if res.Outcome != process.OutcomeRetrying || d.IsThrottle == nil || !d.IsThrottle(res.Err) {
		return false
	}
	clock := time.Now
	if d.Now != nil {
		clock = d.Now
	}
	maxAge := d.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultMaxDeferAge
	}
	now := clock()
	since := now
	if !m.DeferredSince.IsZero() && eventrecord.SameStay(m.DeferredUntil, m.SentAt) {
		since = m.DeferredSince
	}
	deferred := now.Sub(since)
	if deferred >= maxAge {
		return false
	}
	delay := min(max(deferred, minDeferDelay), maxDeferDelay)
	delay += time.Duration(mrand.Int64N(int64(delay/2)+1)) - delay/4
	logger := d.Logger
	if logger == nil {
		logger = slog.Default()
	}
	next := m
	next.DeferredSince, next.DeferredUntil, next.SentAt = since, now.Add(delay), time.Time{}
	if err := d.Queue.SendDelayed(context.WithoutCancel(ctx), next, delay); err != nil {
		logger.LogAttrs(ctx, slog.LevelWarn, "deferring a throttled event failed: it is retried after the visibility timeout",
			slog.String("event_id", m.EventID), slog.String("error", err.Error()))
		return false
	}
	logger.LogAttrs(ctx, slog.LevelWarn, "event deferred: a downstream quota throttled it",
		slog.String("event_id", m.EventID), slog.String("event_type", m.Type),
		slog.Duration("delay", delay), slog.Duration("deferred_for", deferred), slog.String("cause", res.Err.Error()))
	return true
}
