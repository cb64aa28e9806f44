package emailjob_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

// Issue 17, "What must hold" 1 and 3: no message reaches the DLQ because
// a downstream quota was hit; every email is sent exactly once in the end.
// The package's own promise (emailjob.go, "Quotas defer, they never
// dead-letter"): "After MaxDeferrals (about a day of deferrals at the
// defaults: longer than SES's 24-hour daily quota window) the job is
// reported failed". awserr.IsThrottle counts SES's "Daily message quota
// exceeded" as a throttle, so a flash sale that uses up the day's quota
// defers the rest until the rolling 24-hour window frees it.
//
// How it breaks: the deferrals are bounded by a count (MaxDeferrals, 100),
// and their delays are DeferBase doubled up to 15 minutes LESS up to a
// half of jitter (backoff). The sum is at most 2 s + … + 512 s + 91 × 900 s
// ≈ 23.0 hours without any jitter, about 17 hours on average, and as
// little as 11.5 hours: always short of 24 hours. A job SES keeps
// refusing for the day's quota is reported failed before the window
// frees it, spends the queue's five receives (15 minutes) and lands in
// the email dead-letter queue: the email is not sent, and the DLQ alarm
// fires for a quota.
//
// The model here: SES refuses every send for the quota until 24 hours
// after the first refusal, then accepts; a deferred job comes back as a
// new message (its SentTimestamp when it was queued) after its delay; a
// job reported failed comes back after the queue's 180 s visibility
// timeout, and is dead-lettered after its fifth receive (maxReceiveCount
// of template.yaml's EmailQueue).
//
// A fix: bound a stay's deferrals by time, as sqsbatch.QuotaDeferral does
// (e.g. 26 hours since the stay's first deferral, carried on the job),
// or size MaxDeferrals for the worst case of the jitter (24 h / 450 s ≈ 192
// deferrals at the cap, plus the doubling ones).
func TestDailyQuotaIsDeferredUntilItsWindowFreesNotDeadLettered(t *testing.T) {
	const (
		window          = 24 * time.Hour
		visibility      = 180 * time.Second
		maxReceiveCount = 5
	)
	r := newRig(t, 7, 1)
	start := r.c.Now()
	r.m.fail = func(int, handlers.Email) error {
		if r.c.Now().Before(start.Add(window)) {
			return fmt.Errorf("send: %w (Daily message quota exceeded)", errThrottled)
		}
		return nil
	}
	job := r.jobs[0]
	receives := 0
	for range 10_000 { // bounded: far more rounds than a day of deferrals
		receives++
		res := r.s.SendBatch(context.Background(), []emailjob.Job{job})
		switch res[0].Outcome {
		case emailjob.OutcomeSent:
			if n := len(r.m.sent); n != 1 || r.d.state[job.EventID].Status != eventrecord.EmailSent {
				t.Errorf("%d sends, status %q; want one, SENT", n, r.d.state[job.EventID].Status)
			}
			return
		case emailjob.OutcomeDeferred:
			last := r.q.got[len(r.q.got)-1]
			queued := r.c.Now()
			_ = r.c.Sleep(context.Background(), last.delay)
			job = last.job
			job.SentAt = queued // SQS's SentTimestamp of the deferral's copy
			receives = 0
		case emailjob.OutcomeRetry:
			if receives >= maxReceiveCount {
				t.Fatalf("the job was dead-lettered %v after SES first refused it for the day's quota (its %d deferrals spent, then %d receives), "+
					"with %v still to go until the quota's 24-hour window frees it: the email is never sent; want it deferred until then and sent once",
					r.c.Now().Sub(start).Round(time.Minute), job.Deferrals, receives, start.Add(window).Sub(r.c.Now()).Round(time.Minute))
			}
			_ = r.c.Sleep(context.Background(), visibility)
		default:
			t.Fatalf("result %+v", res[0])
		}
	}
	t.Fatal("the job neither sent nor dead-lettered in 10,000 rounds")
}
