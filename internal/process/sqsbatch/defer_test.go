package sqsbatch_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
)

// delayed keeps what QuotaDeferral queues.
type delayed struct {
	msgs   []eventrecord.Message
	delays []time.Duration
}

func (q *delayed) SendDelayed(_ context.Context, m eventrecord.Message, d time.Duration) error {
	q.msgs, q.delays = append(q.msgs, m), append(q.delays, d)
	return nil
}

// The bound of a stay's deferrals, and where a stay begins: a pure model
// of the rule (docs/performance.md, "Throttling defers"). now is the
// deferral's clock; times are relative to it.
func TestQuotaDeferralStays(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	errThrottled := errors.New("ThrottlingException")
	at := func(d time.Duration) time.Time { return now.Add(d) }
	cases := []struct {
		name      string
		msg       eventrecord.Message
		err       error
		wantDefer bool
		wantSince time.Time
		// wantDelay is the delay before jitter (a quarter either way).
		wantDelay time.Duration
	}{
		{name: "from ingest: a stay begins", msg: eventrecord.Message{ReceivedAt: at(-time.Minute)},
			err: errThrottled, wantDefer: true, wantSince: now, wantDelay: time.Second},
		{name: "no received time: a stay begins all the same", msg: eventrecord.Message{},
			err: errThrottled, wantDefer: true, wantSince: now, wantDelay: time.Second},
		{name: "the deferral's copy: the stay goes on, the delay about its length",
			msg: eventrecord.Message{ReceivedAt: at(-3 * time.Hour), DeferredSince: at(-40 * time.Second), DeferredUntil: at(-20 * time.Second), SentAt: at(-40*time.Second + 30*time.Millisecond)},
			err: errThrottled, wantDefer: true, wantSince: at(-40 * time.Second), wantDelay: 40 * time.Second},
		{name: "the delay stops at a minute",
			msg: eventrecord.Message{DeferredSince: at(-5 * time.Hour), DeferredUntil: at(-15 * time.Minute), SentAt: at(-30 * time.Minute)},
			err: errThrottled, wantDefer: true, wantSince: at(-5 * time.Hour), wantDelay: time.Minute},
		{name: "6 hours of deferrals in the stay: no more",
			msg: eventrecord.Message{DeferredSince: at(-6 * time.Hour), DeferredUntil: at(-10 * time.Minute), SentAt: at(-25 * time.Minute)},
			err: errThrottled},
		{name: "no SentTimestamp (a record made by hand): the stamps are trusted",
			msg: eventrecord.Message{DeferredSince: at(-7 * time.Hour), DeferredUntil: at(-10 * time.Minute)},
			err: errThrottled},
		{name: "redriven from the DLQ: SQS took it long after the deferral's stamp, a new stay",
			msg: eventrecord.Message{ReceivedAt: at(-50 * time.Hour), DeferredSince: at(-48 * time.Hour), DeferredUntil: at(-42 * time.Hour), SentAt: at(-2 * time.Second)},
			err: errThrottled, wantDefer: true, wantSince: now, wantDelay: time.Second},
		{name: "a copy SQS took within the skew of its due time is the deferral's own",
			msg: eventrecord.Message{DeferredSince: at(-7 * time.Hour), DeferredUntil: at(-2 * time.Minute), SentAt: at(-2*time.Minute + eventrecord.DeferralCopySkew)},
			err: errThrottled},
		{name: "not a quota: the receives' way", msg: eventrecord.Message{}, err: errors.New("boom")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := &delayed{}
			d := &sqsbatch.QuotaDeferral{Queue: q, IsThrottle: func(err error) bool { return errors.Is(err, errThrottled) },
				Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)}
			tc.msg.EventID = "evt_1"
			got := d.Defer(context.Background(), tc.msg, process.Result{Outcome: process.OutcomeRetrying, Err: tc.err})
			if got != tc.wantDefer || len(q.msgs) != map[bool]int{true: 1}[tc.wantDefer] {
				t.Fatalf("deferred %v with %d copies queued, want %v", got, len(q.msgs), tc.wantDefer)
			}
			if !tc.wantDefer {
				return
			}
			c := q.msgs[0]
			if !c.DeferredSince.Equal(tc.wantSince) || !c.DeferredUntil.Equal(now.Add(q.delays[0])) || !c.SentAt.IsZero() || c.EventID != "evt_1" ||
				!c.ReceivedAt.Equal(tc.msg.ReceivedAt) {
				t.Errorf("copy since %s due %s sent %s, want since %s due %s (now plus its delay), no sent time, the rest kept",
					c.DeferredSince, c.DeferredUntil, c.SentAt, tc.wantSince, now.Add(q.delays[0]))
			}
			if lo, hi := tc.wantDelay*3/4, tc.wantDelay*5/4; q.delays[0] < lo || q.delays[0] > hi {
				t.Errorf("delay %s, want %s to %s", q.delays[0], lo, hi)
			}
		})
	}
}
