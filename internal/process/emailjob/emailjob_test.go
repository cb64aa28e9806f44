package emailjob_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

// clock is a fake clock whose Sleep advances it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

// deliveries is an in-memory model of the events table's email delivery:
// a hand-written model of ClaimEmail's, ReclaimEmail's and FinishEmail's
// conditions.
type deliveries struct {
	mu        sync.Mutex
	state     map[string]eventrecord.EmailDelivery
	noRecord  map[string]bool
	claimErr  error // returned by every claim while set
	finishErr error
}

func newDeliveries() *deliveries {
	d := &deliveries{state: map[string]eventrecord.EmailDelivery{}, noRecord: map[string]bool{}}
	return d
}

func (d *deliveries) ClaimEmail(ctx context.Context, id, template, token string, lease, now time.Time) error {
	return d.claim(ctx, id, template, "", token, lease, now)
}

func (d *deliveries) ReclaimEmail(ctx context.Context, id, template, held, token string, lease, now time.Time) error {
	return d.claim(ctx, id, template, held, token, lease, now)
}

// claim: no delivery, or SENDING with an ended lease, or (a reclaim)
// SENDING under held.
func (d *deliveries) claim(_ context.Context, id, template, held, token string, lease, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.claimErr != nil {
		return d.claimErr
	}
	if d.noRecord[id] {
		return fmt.Errorf("claim: %w", eventrecord.ErrNoRecord)
	}
	cur := d.state[id]
	if cur.Status == "" || (cur.Status == eventrecord.EmailSending && (!now.Before(cur.LeaseUntil) || (held != "" && cur.Token == held))) {
		d.state[id] = eventrecord.EmailDelivery{Status: eventrecord.EmailSending, Template: template, Token: token, LeaseUntil: lease}
		return nil
	}
	return &eventrecord.ConflictError{Existing: eventrecord.Record{EventID: id, Status: eventrecord.Processed, Email: cur}}
}

func (d *deliveries) FinishEmail(_ context.Context, id, token string, st eventrecord.EmailStatus, why string, now time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.finishErr != nil {
		return d.finishErr
	}
	cur := d.state[id]
	if cur.Token != token {
		existing := eventrecord.Record{EventID: id, Status: eventrecord.Processed, Email: cur}
		if d.noRecord[id] {
			existing = eventrecord.Record{EventID: id}
		}
		return &eventrecord.ConflictError{Existing: existing}
	}
	d.state[id] = eventrecord.EmailDelivery{Status: st, Template: cur.Template, Token: token, At: now, Error: why}
	return nil
}

// mailer records sends at the fake clock's time; fail decides each one's
// error.
type mailer struct {
	mu   sync.Mutex
	c    *clock
	sent []time.Time
	to   []string
	fail func(n int, e handlers.Email) error
	n    int
}

func (m *mailer) Send(_ context.Context, e handlers.Email) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	if m.fail != nil {
		if err := m.fail(m.n, e); err != nil {
			return err
		}
	}
	m.sent = append(m.sent, m.c.Now())
	m.to = append(m.to, e.To)
	return nil
}

type requeued struct {
	job   emailjob.Job
	delay time.Duration
}

type queue struct {
	mu  sync.Mutex
	got []requeued
	err error
}

func (q *queue) Requeue(_ context.Context, j emailjob.Job, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.got = append(q.got, requeued{j, d})
	return nil
}

var errThrottled = errors.New("ThrottlingException: Maximum sending rate exceeded")

func isThrottle(err error) bool { return errors.Is(err, errThrottled) }

type rig struct {
	c    *clock
	d    *deliveries
	m    *mailer
	q    *queue
	s    *emailjob.Sender
	jobs []emailjob.Job
	// copyOf, when set, makes a job the copy of a message (its deferral's
	// stamp, SQS's time).
	copyOf func(*emailjob.Job)
}

func newRig(t *testing.T, rate float64, n int) *rig {
	t.Helper()
	c := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	r := &rig{c: c, d: newDeliveries(), m: &mailer{c: c}, q: &queue{}}
	tokens := 0
	var mu sync.Mutex
	r.s = &emailjob.Sender{
		Deliveries: r.d, Mailer: r.m, Queue: r.q, Rate: rate, IsThrottle: isThrottle,
		Now: c.Now, Sleep: c.Sleep, Logger: slog.New(slog.DiscardHandler),
		NewToken: func() string { mu.Lock(); defer mu.Unlock(); tokens++; return fmt.Sprint("tok", tokens) },
	}
	for i := range n {
		r.jobs = append(r.jobs, emailjob.Job{EventID: fmt.Sprint("evt_", i), QueuedAt: c.Now(),
			Email: handlers.Email{To: fmt.Sprintf("buyer%d@example.org", i), Subject: "s", Template: "payment_confirmation", OrderID: fmt.Sprint("ord_", i)}})
	}
	return r
}

func outcomes(rs []emailjob.Result) map[emailjob.Outcome]int {
	m := map[emailjob.Outcome]int{}
	for _, r := range rs {
		m[r.Outcome]++
	}
	return m
}

// The sends start at the sender's rate: within any second, at most the
// rate plus the one a limiter of burst 1 lets through, and n sends span at
// least (n-1)/rate. On the wall clock (the sends run on goroutines, whose
// start a fake clock cannot see); both bounds hold however slow the
// machine.
func TestPaces(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		n    int
	}{{5, 8}, {20, 30}} {
		t.Run(fmt.Sprint(tc.rate, "/s"), func(t *testing.T) {
			r := newRig(t, tc.rate, tc.n)
			r.s.Now, r.s.Sleep = nil, nil
			var mu sync.Mutex
			var starts []time.Time
			r.m.fail = func(int, handlers.Email) error {
				mu.Lock()
				defer mu.Unlock()
				starts = append(starts, time.Now())
				return nil
			}
			if got := outcomes(r.s.SendBatch(context.Background(), r.jobs)); got[emailjob.OutcomeSent] != tc.n {
				t.Fatalf("outcomes %v, want %d sent", got, tc.n)
			}
			slices.SortFunc(starts, time.Time.Compare)
			for i := range starts {
				n := 0
				for j := i; j < len(starts) && starts[j].Sub(starts[i]) < time.Second; j++ {
					n++
				}
				if float64(n) > tc.rate+1 {
					t.Fatalf("%d sends within a second from send %d, rate %v", n, i, tc.rate)
				}
			}
			want := time.Duration(float64(tc.n-1) / tc.rate * float64(time.Second))
			if span := starts[len(starts)-1].Sub(starts[0]); span < want*9/10 {
				t.Errorf("%d sends took %s, want about %s at %v/s", tc.n, span, want, tc.rate)
			}
		})
	}
}

// Every email of the batch is sent once, and a second copy of a job (a
// duplicate queued by a retried email step) sends nothing.
func TestDuplicateJobsSendOnce(t *testing.T) {
	r := newRig(t, 100, 5)
	jobs := append(append([]emailjob.Job{}, r.jobs...), r.jobs[1], r.jobs[3])
	first := outcomes(r.s.SendBatch(context.Background(), jobs[:5]))
	second := outcomes(r.s.SendBatch(context.Background(), jobs[5:]))
	if first[emailjob.OutcomeSent] != 5 || second[emailjob.OutcomeDuplicate] != 2 {
		t.Errorf("outcomes %v then %v, want 5 sent then 2 duplicates", first, second)
	}
	if len(r.m.sent) != 5 {
		t.Errorf("%d sends, want 5", len(r.m.sent))
	}
	for _, j := range r.jobs {
		if st := r.d.state[j.EventID].Status; st != eventrecord.EmailSent {
			t.Errorf("%s: status %q, want SENT", j.EventID, st)
		}
	}
}

// A copy of a job whose email another sender holds under a live lease is
// deferred until the lease ends, not sent.
func TestHeldElsewhereIsDeferred(t *testing.T) {
	r := newRig(t, 100, 1)
	j := r.jobs[0]
	r.d.state[j.EventID] = eventrecord.EmailDelivery{Status: eventrecord.EmailSending, Token: "other", LeaseUntil: r.c.Now().Add(40 * time.Second)}
	res := r.s.SendBatch(context.Background(), []emailjob.Job{j})
	if res[0].Outcome != emailjob.OutcomeDeferred || len(r.m.sent) != 0 {
		t.Fatalf("result %+v, %d sends; want deferred, none", res[0], len(r.m.sent))
	}
	if d := r.q.got[0].delay; d < 40*time.Second || d > 42*time.Second {
		t.Errorf("delay %s, want the lease's remaining 40 s and a second", d)
	}
}

// A throttled send is deferred with a growing delay, keeps its claim (its
// token), and is sent once when the quota lets it through; the pace
// halves after a throttle.
func TestThrottledSendIsDeferred(t *testing.T) {
	r := newRig(t, 10, 1)
	throttles := 4
	r.m.fail = func(n int, _ handlers.Email) error {
		if n <= throttles {
			return fmt.Errorf("send: %w", errThrottled)
		}
		return nil
	}
	job := r.jobs[0]
	var delays []time.Duration
	for range throttles {
		res := r.s.SendBatch(context.Background(), []emailjob.Job{job})
		if res[0].Outcome != emailjob.OutcomeDeferred || !res[0].Throttled {
			t.Fatalf("result %+v, want a throttled deferral", res[0])
		}
		last := r.q.got[len(r.q.got)-1]
		if last.job.Deferrals != job.Deferrals+1 || last.job.Token == "" {
			t.Fatalf("requeued %+v: want one more deferral and the claim's token", last.job)
		}
		delays = append(delays, last.delay)
		job = last.job
	}
	if r.s.Pace() >= 10 {
		t.Errorf("pace %v after throttles, want under the rate 10", r.s.Pace())
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] <= delays[i-1]/2 || delays[i] > 2*emailjob.DefaultDeferBase<<i {
			t.Errorf("delays %v: want each about twice the one before (with up to half of jitter)", delays)
		}
	}
	if res := r.s.SendBatch(context.Background(), []emailjob.Job{job}); res[0].Outcome != emailjob.OutcomeSent {
		t.Fatalf("after the throttles: %+v, want sent", res[0])
	}
	if len(r.m.sent) != 1 || r.d.state[job.EventID].Status != eventrecord.EmailSent {
		t.Errorf("%d sends, status %q; want one, SENT", len(r.m.sent), r.d.state[job.EventID].Status)
	}
}

func TestFailures(t *testing.T) {
	errDown := errors.New("ServiceUnavailable")
	errBad := errors.New("ValidationException")
	tests := []struct {
		name      string
		edit      func(r *rig)
		deferrals int
		want      emailjob.Outcome
		sends     int
		status    eventrecord.EmailStatus
	}{
		{"undeliverable is recorded and acknowledged", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error {
				return fmt.Errorf("send: %w: SES MessageRejected", handlers.ErrUndeliverable)
			}
		}, 0, emailjob.OutcomeUndeliverable, 0, eventrecord.EmailUndeliverable},
		{"a passing fault of the send is deferred", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errDown }
		}, 0, emailjob.OutcomeDeferred, 0, eventrecord.EmailSending},
		{"a throttled claim is deferred", func(r *rig) { r.d.claimErr = errThrottled }, 0, emailjob.OutcomeDeferred, 0, ""},
		{"deferred for MaxDeferAge: reported failed", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
			r.copyOf = func(j *emailjob.Job) { // the deferral's own copy: SQS took it at once, 15 minutes before it was due
				j.DeferredSince = r.c.Now().Add(-emailjob.DefaultMaxDeferAge)
				j.DeferredUntil, j.SentAt = r.c.Now().Add(-10*time.Minute), r.c.Now().Add(-25*time.Minute+40*time.Millisecond)
			}
		}, 40, emailjob.OutcomeRetry, 0, eventrecord.EmailSending},
		{"deferred for MaxDeferAge, SQS's time of the copy unknown: reported failed", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
			r.copyOf = func(j *emailjob.Job) {
				j.DeferredSince, j.DeferredUntil = r.c.Now().Add(-emailjob.DefaultMaxDeferAge-time.Hour), r.c.Now().Add(-10*time.Minute)
			}
		}, 40, emailjob.OutcomeRetry, 0, eventrecord.EmailSending},
		{"deferred for a day, a hundred times: deferred again", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
			r.copyOf = func(j *emailjob.Job) {
				j.DeferredSince, j.DeferredUntil = r.c.Now().Add(-24*time.Hour), r.c.Now().Add(-time.Second)
			}
		}, 100, emailjob.OutcomeDeferred, 0, eventrecord.EmailSending},
		{"redriven from the email DLQ: a new stay, deferred", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
			r.copyOf = func(j *emailjob.Job) { // SQS took it as a new message, a day after the last deferral's copy was due
				j.DeferredSince = r.c.Now().Add(-2 * emailjob.DefaultMaxDeferAge)
				j.DeferredUntil, j.SentAt = r.c.Now().Add(-25*time.Hour), r.c.Now().Add(-time.Second)
			}
		}, 100, emailjob.OutcomeDeferred, 0, eventrecord.EmailSending},
		{"counted by an earlier version, no deferral's stamp: a new stay, deferred", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
		}, 100, emailjob.OutcomeDeferred, 0, eventrecord.EmailSending},
		{"queued by the previous layout, its stay's start unknown: the stay starts now, deferred", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
			r.copyOf = func(j *emailjob.Job) {
				j.DeferredUntil, j.SentAt = r.c.Now().Add(-time.Second), r.c.Now().Add(-time.Minute)
			}
		}, 100, emailjob.OutcomeDeferred, 0, eventrecord.EmailSending},
		{"a permanent error is reported failed", func(r *rig) {
			r.s.IsPermanent = func(err error) bool { return errors.Is(err, errBad) }
			r.m.fail = func(int, handlers.Email) error { return errBad }
		}, 0, emailjob.OutcomeRetry, 0, eventrecord.EmailSending},
		{"requeue refused: reported failed", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errDown }
			r.q.err = errDown
		}, 0, emailjob.OutcomeRetry, 0, eventrecord.EmailSending},
		{"requeue refused as undeliverable (too large once deferred): recorded", func(r *rig) {
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
			r.q.err = fmt.Errorf("requeue: %w: its job is over the email queue's size", handlers.ErrUndeliverable)
		}, 0, emailjob.OutcomeUndeliverable, 0, eventrecord.EmailUndeliverable},
		{"requeue refused as undeliverable, no record: counted", func(r *rig) {
			r.d.noRecord["evt_0"] = true
			r.m.fail = func(int, handlers.Email) error { return errThrottled }
			r.q.err = fmt.Errorf("requeue: %w: its job is over the email queue's size", handlers.ErrUndeliverable)
		}, 0, emailjob.OutcomeUndeliverable, 0, ""},
		{"requeue refused as undeliverable, the claim not held: reported failed", func(r *rig) {
			r.d.state["evt_0"] = eventrecord.EmailDelivery{Status: eventrecord.EmailSending, Token: "other", LeaseUntil: r.c.Now().Add(time.Minute)}
			r.q.err = fmt.Errorf("requeue: %w: its job is over the email queue's size", handlers.ErrUndeliverable)
		}, 0, emailjob.OutcomeRetry, 0, eventrecord.EmailSending},
		{"the SENT write fails and its copy is refused as undeliverable: still sent, not undeliverable", func(r *rig) {
			r.d.finishErr = errDown
			r.q.err = fmt.Errorf("requeue: %w: its job is over the email queue's size", handlers.ErrUndeliverable)
		}, 0, emailjob.OutcomeSent, 1, eventrecord.EmailSending},
		{"no record: sent without one", func(r *rig) { r.d.noRecord["evt_0"] = true }, 0, emailjob.OutcomeSent, 1, ""},
		{"the SENT write fails: still sent", func(r *rig) { r.d.finishErr = errDown }, 0, emailjob.OutcomeSent, 1, eventrecord.EmailSending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 100, 1)
			tc.edit(r)
			j := r.jobs[0]
			j.Deferrals = tc.deferrals
			if r.copyOf != nil {
				r.copyOf(&j)
			}
			res := r.s.SendBatch(context.Background(), []emailjob.Job{j})
			if res[0].Outcome != tc.want {
				t.Errorf("outcome %q (%v), want %q", res[0].Outcome, res[0].Err, tc.want)
			}
			if res[0].Outcome == emailjob.OutcomeDeferred && tc.deferrals > 0 {
				// A new stay: its first deferral, stamped now. The same
				// stay: one more deferral, since the stay's start (now
				// when the job did not carry it).
				wantDeferrals, wantSince := 1, r.c.Now()
				if eventrecord.SameStay(j.DeferredUntil, j.SentAt) {
					wantDeferrals = j.Deferrals + 1
					if !j.DeferredSince.IsZero() {
						wantSince = j.DeferredSince
					}
				}
				got := r.q.got[len(r.q.got)-1].job
				d := r.q.got[len(r.q.got)-1].delay
				if got.Deferrals != wantDeferrals || !got.DeferredSince.Equal(wantSince) || !got.DeferredUntil.Equal(r.c.Now().Add(d)) || !got.SentAt.IsZero() {
					t.Errorf("requeued with %d deferrals since %s, due %s (SQS's time %s); want %d since %s, now plus its delay %s, none",
						got.Deferrals, got.DeferredSince, got.DeferredUntil, got.SentAt, wantDeferrals, wantSince, d)
				}
			}
			if len(r.m.sent) != tc.sends {
				t.Errorf("%d sends, want %d", len(r.m.sent), tc.sends)
			}
			if st := r.d.state[j.EventID].Status; st != tc.status {
				t.Errorf("delivery status %q, want %q", st, tc.status)
			}
		})
	}
}

// Jobs the invocation's deadline leaves no time for are deferred, not
// started and not reported failed.
func TestDeadlineDefersTheRest(t *testing.T) {
	r := newRig(t, 100, 3)
	ctx, cancel := context.WithTimeout(context.Background(), emailjob.DefaultFinishMargin/2)
	defer cancel()
	got := outcomes(r.s.SendBatch(ctx, r.jobs))
	if got[emailjob.OutcomeDeferred] != 3 || len(r.m.sent) != 0 {
		t.Errorf("outcomes %v, %d sends; want 3 deferred, none sent", got, len(r.m.sent))
	}
	for _, q := range r.q.got {
		if q.job.Deferrals != 0 {
			t.Errorf("a deadline's deferral counted against the job: %+v", q.job)
		}
	}
}

// A send that panics fails its own job (reported failed, the error wraps
// process.ErrPanic), never its batch-mates, which are sent.
func TestPanicFailsItsJobOnly(t *testing.T) {
	r := newRig(t, 100, 3)
	r.m.fail = func(_ int, e handlers.Email) error {
		if e.OrderID == "ord_1" {
			panic("mailer bug")
		}
		return nil
	}
	res := r.s.SendBatch(context.Background(), r.jobs)
	for i, want := range []emailjob.Outcome{emailjob.OutcomeSent, emailjob.OutcomeRetry, emailjob.OutcomeSent} {
		if res[i].Outcome != want {
			t.Errorf("job %d: outcome %q (%v), want %q", i, res[i].Outcome, res[i].Err, want)
		}
	}
	if !errors.Is(res[1].Err, process.ErrPanic) {
		t.Errorf("panicked job's error %v, want process.ErrPanic", res[1].Err)
	}
	if len(r.m.sent) != 2 {
		t.Errorf("%d sends, want 2", len(r.m.sent))
	}
}

// SES accepted the email and the SENT write failed for a passing reason:
// the job is acknowledged as sent, and a copy marked Sent, with the
// claim's token, is queued. That copy's delivery writes SENT under the
// token (the lease ended meanwhile) and never sends; a duplicate of the
// job that comes after it finds SENT.
func TestFailedSentWriteIsRecordedByASentCopy(t *testing.T) {
	r := newRig(t, 100, 1)
	r.d.finishErr = errThrottled
	job := r.jobs[0]
	if res := r.s.SendBatch(context.Background(), []emailjob.Job{job}); res[0].Outcome != emailjob.OutcomeSent || !res[0].Throttled {
		t.Fatalf("result %+v, want sent, throttled", res[0])
	}
	claim := r.d.state[job.EventID]
	if len(r.q.got) != 1 || !r.q.got[0].job.Sent || r.q.got[0].job.Token != claim.Token || claim.Status != eventrecord.EmailSending {
		t.Fatalf("requeued %+v, delivery %+v; want one copy marked sent with the claim's token, the email SENDING", r.q.got, claim)
	}
	r.d.finishErr = nil
	_ = r.c.Sleep(context.Background(), emailjob.DefaultLease+time.Minute) // the copy comes back after the lease
	sentCopy := r.q.got[0].job
	if res := r.s.SendBatch(context.Background(), []emailjob.Job{sentCopy}); res[0].Outcome != emailjob.OutcomeDuplicate {
		t.Fatalf("the sent copy: %+v, want acknowledged without a send", res[0])
	}
	if res := r.s.SendBatch(context.Background(), []emailjob.Job{job}); res[0].Outcome != emailjob.OutcomeDuplicate {
		t.Fatalf("a duplicate of the job after the sent copy: %+v, want acknowledged without a send", res[0])
	}
	if len(r.m.sent) != 1 || r.d.state[job.EventID].Status != eventrecord.EmailSent {
		t.Errorf("%d sends, delivery %+v; want one, SENT", len(r.m.sent), r.d.state[job.EventID])
	}
}

// A copy marked Sent never sends: it writes SENT under its token, ends
// when another claim holds the email, and is deferred again (still
// marked) when the write fails for a passing reason.
func TestSentCopyNeverSends(t *testing.T) {
	tests := []struct {
		name      string
		held      string // the token holding the email
		finishErr error
		want      emailjob.Outcome
		status    eventrecord.EmailStatus
	}{
		{"its token holds the email: SENT written", "tok_a", nil, emailjob.OutcomeDuplicate, eventrecord.EmailSent},
		{"another claim took the email: the copy ends", "tok_other", nil, emailjob.OutcomeDuplicate, eventrecord.EmailSending},
		{"the write throttled again: deferred again", "tok_a", errThrottled, emailjob.OutcomeDeferred, eventrecord.EmailSending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 100, 1)
			j := r.jobs[0]
			r.d.state[j.EventID] = eventrecord.EmailDelivery{Status: eventrecord.EmailSending, Token: tc.held, LeaseUntil: r.c.Now().Add(-time.Minute)}
			r.d.finishErr = tc.finishErr
			j.Sent, j.Token = true, "tok_a"
			res := r.s.SendBatch(context.Background(), []emailjob.Job{j})
			if res[0].Outcome != tc.want || len(r.m.sent) != 0 {
				t.Errorf("outcome %q (%v), %d sends; want %q, none", res[0].Outcome, res[0].Err, len(r.m.sent), tc.want)
			}
			if got := r.d.state[j.EventID]; got.Status != tc.status || got.Token != tc.held {
				t.Errorf("delivery %+v, want %s under %s", got, tc.status, tc.held)
			}
			if tc.want == emailjob.OutcomeDeferred {
				if q := r.q.got[len(r.q.got)-1].job; !q.Sent || q.Token != "tok_a" {
					t.Errorf("requeued %+v, want still marked sent, token tok_a", q)
				}
			} else if len(r.q.got) != 0 {
				t.Errorf("requeued %+v, want nothing", r.q.got)
			}
		})
	}
}

// A send never starts after its claim's lease has ended (another copy of
// the job may hold the email by then): a job whose turn comes too late is
// deferred with its token, uncounted, and nothing is sent.
func TestNoSendAfterTheLease(t *testing.T) {
	// One send every 10 s: the second job's turn comes 10 s after the
	// first send, 5 s after its lease ended (the fake clock moves only
	// when a send waits for its turn).
	r := newRig(t, 0.1, 2)
	r.s.Lease = 5 * time.Second
	res := r.s.SendBatch(context.Background(), r.jobs)
	got := outcomes(res)
	if got[emailjob.OutcomeSent] != 1 || got[emailjob.OutcomeDeferred] != 1 || len(r.m.sent) != 1 {
		t.Fatalf("outcomes %v, %d sends; want 1 sent and 1 deferred", got, len(r.m.sent))
	}
	q := r.q.got[0]
	if q.job.Token == "" || q.job.Deferrals != 0 {
		t.Errorf("deferred %+v: want its claim's token kept and no deferral counted", q.job)
	}
	if st := r.d.state[q.job.EventID]; st.Status != eventrecord.EmailSending || st.Token != q.job.Token {
		t.Errorf("deferred job's delivery %+v, want still SENDING under its token", st)
	}
}

// A deferral reports the email's wait so far, from its first queuing on
// the sender's clock (the EmailAge the alarm reads while nothing is
// sent); a send reports the whole wait.
func TestResultAge(t *testing.T) {
	tests := []struct {
		name     string
		fail     error
		queuedAt time.Duration // before the clock's now; 0: unknown
		want     emailjob.Outcome
		wantAge  time.Duration
	}{
		{"deferred two hours after its queuing", errThrottled, 2 * time.Hour, emailjob.OutcomeDeferred, 2 * time.Hour},
		{"sent after five minutes", nil, 5 * time.Minute, emailjob.OutcomeSent, 5 * time.Minute},
		{"deferred, first queuing unknown", errThrottled, 0, emailjob.OutcomeDeferred, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, 1000, 1)
			r.m.fail = func(int, handlers.Email) error { return tc.fail }
			j := r.jobs[0]
			j.QueuedAt = time.Time{}
			if tc.queuedAt > 0 {
				j.QueuedAt = r.c.Now().Add(-tc.queuedAt)
			}
			res := r.s.SendBatch(context.Background(), []emailjob.Job{j})[0]
			// The fake clock only moves when the sender waits for its
			// pace: what it moved is part of the wait.
			moved := r.c.Now().Sub(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
			want := tc.wantAge
			if tc.queuedAt > 0 {
				want += moved
			}
			if res.Outcome != tc.want || res.Age != want {
				t.Errorf("outcome %s age %s, want %s age %s", res.Outcome, res.Age, tc.want, want)
			}
		})
	}
}
