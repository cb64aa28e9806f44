// Package emailjob sends the customer emails the processor queued, at the
// pace of the SES account's sending rate, each once in the end.
//
// # Why a queue of its own
//
// SES sends at most a quota of emails a second (14 for a new production
// account, 1 in the sandbox). Sent inline by the processor, a flash sale
// throttles the email step, each throttled event is retried through its
// queue's receives, and after five of them it is dead-lettered; fulfilment
// waits for the email meanwhile. Instead, the processor's email step only
// queues a Job (one SQS SendMessage) and the event ends PROCESSED; the
// processor function serves the email queue too, through a second event
// source mapping whose maximum concurrency bounds the senders, and each
// sender paces its sends to its share of the configured rate. An email
// backlog delays nothing but emails.
//
// # Once in the end
//
// A job can be queued twice (an attempt crashed between queuing it and
// recording the step; SendMessage's answer was lost and the retry queued
// it again) and SQS can deliver one twice. Before sending, the sender
// claims the email on the event's record (ClaimEmail: SENDING under a
// token and a lease), and after SES accepted it records it SENT
// (FinishEmail). A second copy of the job finds SENT (acknowledged
// without a send) or SENDING under a live lease (deferred until the lease
// ends, then it finds SENT). A job deferred after its claim carries the
// claim's token and claims again with it (ReclaimEmail), exchanging it
// for a fresh token in the same write: of two copies of that deferred
// message, only the first holds the claim; the second meets it. What can
// still send an email twice, each once per occurrence, SES having no
// idempotency key:
//
//  1. SES accepted the send but its answer was lost (a reset or a timeout
//     on the way back): the job's deferral sends it again (the SES client
//     makes one attempt per send, so the SDK never repeats it);
//  2. the sender stopped between SES's answer and the SENT write (a crash,
//     the Lambda deadline) and another copy of the job (a duplicate, or
//     this one redelivered) came after the lease: it sends again. When
//     the SENT write itself fails for a passing reason (DynamoDB
//     throttling the table, a timeout), the job is deferred as a copy
//     marked sent (Job.Sent) with its claim's token, whose deliveries only
//     write SENT under that token (FinishEmail's condition is the token,
//     not the lease) and never send, until the write lands; if another
//     claim has taken the email meanwhile, the copy ends. What remains is
//     a duplicate copy of the job arriving after the lease while the SENT
//     write keeps failing (or before the marked copy came back): it
//     claims the email and sends it again;
//  3. the send outlived the claim's lease and another copy claimed it
//     meanwhile: a send waits for its turn and runs only within its lease
//     (and the invocation's deadline less FinishMargin), so only an SES
//     request still in flight when the lease ends, or a frozen sandbox.
//
// # Quotas defer, they never dead-letter
//
// A send, claim or record that fails for a transient reason (SES's
// ThrottlingException above all, and DynamoDB throttling, a timeout, a
// 5xx) is deferred: the job is queued again as a new message with a
// growing delay (DeferBase doubled per deferral, at most SQS's 15 minutes,
// with jitter) and the original is acknowledged, so no receive is spent.
// A throttled send also halves this sender's pace for a while. Once
// MaxDeferAge (26 hours by default: past SES's daily quota, a rolling
// 24-hour window, with margin) has passed since the first deferral of the
// job's stay on the email queue, the job is reported failed instead and,
// after the queue's maxReceiveCount receives, reaches the email
// dead-letter queue, which alarms: by then it is not a passing quota but a
// fault an operator must fix, and redrive. The bound is by time, not by a
// count of deferrals, whose delays' jitter would make it anything from
// half to the whole of its nominal length. Each deferred copy carries when
// its stay's deferrals began (Job.DeferredSince) and when it is due
// (Job.DeferredUntil); a job redriven from the dead-letter queue starts a
// new stay with MaxDeferAge of its own (eventrecord.SameStay), so the
// redrive, a burst itself, is deferred when SES throttles it, not
// dead-lettered again. A job queued by a version that did not carry
// DeferredSince starts its stay at its next deferral.
//
// A job the queue refuses to take back as undeliverable (too large once
// deferred: the queue's Send leaves room for a deferral's fields, but a
// job queued by an earlier version may not have it) would only be retried
// into the dead-letter queue: its email is recorded UNDELIVERABLE instead,
// under the job's claim, as one SES refuses for good is.
package emailjob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

// Job is one customer email to send: what the processor's email step
// queues.
type Job struct {
	// EventID is the event the email tells of; its record keeps the
	// delivery. An event has at most one email.
	EventID string
	Email   handlers.Email
	// QueuedAt is when the processor queued the job first.
	QueuedAt time.Time
	// Deferrals counts the times a sender queued the job again in its
	// current stay on the email queue (see DeferredUntil): it sets the
	// next deferral's delay, which doubles with each.
	Deferrals int
	// DeferredSince is when the first deferral of the job's current stay
	// was made (zero when none was): the stay's deferrals end MaxDeferAge
	// after it. A job queued by a version that did not carry it starts
	// its stay at its next deferral.
	DeferredSince time.Time
	// DeferredUntil is when the copy a sender's deferral queued is due
	// (queued plus its delay; zero on the processor's job), and SentAt
	// when SQS took this copy (its SentTimestamp; zero when unknown).
	// Deferrals and DeferredSince carry on only on the deferral's own
	// copy (eventrecord.SameStay): a job redriven from the email
	// dead-letter queue is a new message to SQS, taken long after its
	// DeferredUntil, and starts a new stay with no deferrals.
	DeferredUntil, SentAt time.Time
	// Token is the claim a deferred job held when it was deferred; empty
	// on a new job. It is exchanged for a fresh one at the job's next
	// claim (ReclaimEmail), so it wins the claim for one copy of the job
	// only.
	Token string
	// Sent marks a copy a sender queued after SES accepted the email
	// under Token and the SENT write failed for a passing reason: its
	// delivery only writes SENT under Token, and never sends.
	Sent bool
}

// Deliveries is where an email's delivery is kept (ddbevents.Table).
type Deliveries interface {
	// ClaimEmail claims the email of eventID under token until
	// leaseUntil: *eventrecord.ConflictError when another claim holds it
	// or it is done, an error wrapping eventrecord.ErrNoRecord when the event has no
	// record.
	ClaimEmail(ctx context.Context, eventID, template, token string, leaseUntil, now time.Time) error
	// ReclaimEmail is ClaimEmail for a deferred job that held the claim
	// under heldToken: it succeeds too while heldToken holds it, and
	// swaps heldToken for token in the same write, so that of two copies
	// of one deferred job only the first gets the claim.
	ReclaimEmail(ctx context.Context, eventID, template, heldToken, token string, leaseUntil, now time.Time) error
	// FinishEmail records the delivery's end under token.
	FinishEmail(ctx context.Context, eventID, token string, status eventrecord.EmailStatus, why string, now time.Time) error
}

// Queue queues a job again, after delay (sqsemail.Queue).
type Queue interface {
	Requeue(ctx context.Context, j Job, delay time.Duration) error
}

// Outcome is what became of one job.
type Outcome string

// The outcomes of a job.
const (
	OutcomeSent          Outcome = "sent"          // SES accepted it (recorded SENT)
	OutcomeDuplicate     Outcome = "duplicate"     // already sent or undeliverable: acknowledged
	OutcomeUndeliverable Outcome = "undeliverable" // SES refused it for good: recorded, acknowledged
	OutcomeDeferred      Outcome = "deferred"      // queued again with a delay: acknowledged
	OutcomeRetry         Outcome = "retry"         // reported failed: SQS delivers it again
)

// Result is the outcome of one job.
type Result struct {
	Outcome Outcome
	// Err is the cause of a deferral, a retry or an undeliverable email.
	Err error
	// Throttled: SES (or DynamoDB) throttled this job's send or claim.
	Throttled bool
	// Delay is a deferral's delay.
	Delay time.Duration
	// Age is how long the email has waited since its first queuing: to
	// its send (sent outcomes), or so far (deferred outcomes: a job
	// deferred for hours, SES sending paused, is a wait no send reports);
	// zero when the job's first queuing is unknown.
	Age time.Duration
}

// Defaults of the Sender's settings.
const (
	DefaultRate  = 7.0 // 14 a second shared by 2 senders
	DefaultLease = 2 * time.Minute
	// DefaultMaxDeferAge bounds a stay's deferrals: past SES's daily
	// quota, a rolling 24-hour window, with margin. A job first refused
	// for the day's quota is sent at the latest one delay (at most
	// MaxDelay, 15 minutes) after the window frees it, 24 h 15 min after
	// its first deferral; 26 hours leaves 1 h 45 min for the clocks and
	// the queue's latency.
	DefaultMaxDeferAge = 26 * time.Hour
	DefaultDeferBase   = 2 * time.Second
	// MaxDelay is SQS's longest DelaySeconds.
	MaxDelay            = 15 * time.Minute
	DefaultFinishMargin = 3 * time.Second
	// finishAttempts: the SENT write is tried this many times; a lost one
	// only matters if a second copy of the job comes.
	finishAttempts = 3
	finishBackoff  = 50 * time.Millisecond
	// deadlineDelay is the delay of the jobs a batch had no time for.
	deadlineDelay = time.Second
	// TokenLen is the length of the claim tokens a Sender makes: 128
	// random bits in hex.
	TokenLen = 32
)

// Sender sends jobs. Set the fields before the first call; SendBatch may
// be called again (one call at a time, as a Lambda sandbox does) and its
// pace carries over from one call to the next.
type Sender struct {
	Deliveries Deliveries
	Mailer     handlers.Mailer
	Queue      Queue
	// Rate is the most emails this sender starts a second: the SES
	// sending rate divided by the senders' maximum concurrency, so that
	// all of them together stay under the account's rate
	// (DefaultRate when zero).
	Rate float64
	// Lease is how long a claim holds an email (DefaultLease when zero);
	// longer than an invocation.
	Lease time.Duration
	// MaxDeferAge bounds the deferrals of a job's stay on the email queue
	// by time since the stay's first deferral (DefaultMaxDeferAge when
	// zero); DeferBase is the first deferral's delay, doubled per
	// deferral up to MaxDelay (DefaultDeferBase when zero).
	MaxDeferAge time.Duration
	DeferBase   time.Duration
	// FinishMargin is the time kept back from the invocation's deadline:
	// no send starts after it (DefaultFinishMargin when zero).
	FinishMargin time.Duration
	// IsThrottle tells a quota's error (awserr.IsThrottle); IsPermanent
	// an error no retry fixes (awserr.IsPermanent). Nil: never.
	IsThrottle  func(error) bool
	IsPermanent func(error) bool
	// Now is the clock (time.Now when nil); Sleep waits d on it
	// (a timer when nil).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// NewToken returns a fresh claim token (128 random bits, TokenLen hex
	// digits, when nil). A longer token can make a deferred job too large
	// for the queue, which then records it undeliverable.
	NewToken func() string
	Logger   *slog.Logger

	once    sync.Once
	limiter *rate.Limiter
}

// SendBatch sends jobs and returns their results in the same order: each
// job is claimed at once, and its SES request waits for its turn at the
// sender's pace. Jobs the invocation's deadline leaves no time for are
// deferred. A job whose send panics is reported failed (its error wraps
// process.ErrPanic, the stack is logged); the others finish normally.
func (s *Sender) SendBatch(ctx context.Context, jobs []Job) []Result {
	s.once.Do(func() {
		s.limiter = rate.NewLimiter(rate.Limit(s.rate()), 1)
	})
	results := make([]Result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		if !eventrecord.SameStay(j.DeferredUntil, j.SentAt) {
			// A new stay: no deferral queued this copy.
			j.Deferrals, j.DeferredSince = 0, time.Time{}
		}
		if !s.timeLeft(ctx) {
			results[i] = s.deferJob(ctx, j, deadlineDelay, false, errors.New("no time left in this invocation"))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					results[i] = s.panicked(ctx, j, v)
				}
			}()
			results[i] = s.send(ctx, j)
		}()
	}
	wg.Wait()
	return results
}

// panicked is the result of a job whose send panicked: reported failed,
// so that SQS delivers it again and, if it panics every time, moves it to
// the email dead-letter queue after the queue's receives. A panic is a
// bug, not a quota: it spends receives. Its claim stays until its lease
// ends; the next delivery is deferred until then.
func (s *Sender) panicked(ctx context.Context, j Job, v any) Result {
	err := fmt.Errorf("%w: %v", process.ErrPanic, v)
	s.log(ctx, slog.LevelError, "email send panicked: reported failed", j,
		slog.String("error", err.Error()), slog.String("stack", string(debug.Stack())))
	return Result{Outcome: OutcomeRetry, Err: err}
}

// pace waits for the next send's turn: the limiter gates the SES request
// itself, not the job's start, so that the claim's varying latency does
// not bunch the sends up. It reports false when the turn comes too late:
// sendCtx, the send's context, has ended, or the claim's lease has on the
// sender's clock.
func (s *Sender) pace(sendCtx context.Context, leaseUntil time.Time) bool {
	now := s.now()
	if d := s.limiter.ReserveN(now, 1).DelayFrom(now); d > 0 {
		if err := s.sleep(sendCtx, d); err != nil {
			return false
		}
	}
	return sendCtx.Err() == nil && s.now().Before(leaseUntil)
}

// sendContext bounds a claimed job's wait for its turn and its SES
// request: they end when the claim's lease ends (leaseLeft, a duration on
// the sender's clock), or FinishMargin before the invocation's deadline,
// whichever comes first. So a send never starts on a claim another copy
// of the job may have taken over, and the deferral or the SENT write that
// follows a send always has time to run before Lambda freezes the
// sandbox.
func (s *Sender) sendContext(ctx context.Context, leaseLeft time.Duration) (context.Context, context.CancelFunc) {
	limit := leaseLeft
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(dl)-s.finishMargin())
	}
	return context.WithTimeout(ctx, limit)
}

// timeLeft reports whether a send may still start: the invocation's
// deadline is more than FinishMargin away.
func (s *Sender) timeLeft(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return true
	}
	return time.Until(dl) > s.finishMargin()
}

func (s *Sender) finishMargin() time.Duration {
	if s.FinishMargin > 0 {
		return s.FinishMargin
	}
	return DefaultFinishMargin
}

// send claims, sends and records one job.
func (s *Sender) send(ctx context.Context, j Job) Result {
	if j.Sent {
		return s.recordSent(ctx, j)
	}
	// Every claim takes a fresh token: a deferred job's own token is
	// swapped for it, so two copies of that job cannot both hold the
	// claim.
	token := s.token()
	now := s.now()
	leaseUntil := now.Add(s.lease())
	recorded := true
	var err error
	if j.Token != "" {
		err = s.Deliveries.ReclaimEmail(ctx, j.EventID, j.Email.Template, j.Token, token, leaseUntil, now)
	} else {
		err = s.Deliveries.ClaimEmail(ctx, j.EventID, j.Email.Template, token, leaseUntil, now)
	}
	var ce *eventrecord.ConflictError
	switch {
	case err == nil:
	case errors.As(err, &ce) && ce.Existing.Email.Status.Done():
		s.log(ctx, slog.LevelInfo, "email already sent: duplicate job acknowledged", j, slog.String("email_status", string(ce.Existing.Email.Status)))
		return Result{Outcome: OutcomeDuplicate}
	case errors.As(err, &ce):
		// Another copy of the job holds it: come back when its lease ends,
		// and find it SENT then.
		wait := ce.Existing.Email.LeaseUntil.Sub(now) + time.Second
		return s.deferJob(ctx, j, min(max(wait, time.Second), MaxDelay), false, fmt.Errorf("another sender holds the email: %w", err))
	case errors.Is(err, eventrecord.ErrNoRecord):
		recorded = false
		s.log(ctx, slog.LevelWarn, "no event record: the email is sent without a delivery record", j)
	default:
		return s.failed(ctx, j, fmt.Errorf("claim: %w", err))
	}
	j.Token = token

	sendCtx, cancel := s.sendContext(ctx, leaseUntil.Sub(s.now()))
	defer cancel()
	if !s.pace(sendCtx, leaseUntil) {
		// Keeps the claim: the job comes back with its token.
		return s.deferJob(context.WithoutCancel(ctx), j, deadlineDelay, false, errors.New("no time left in this invocation or claim for its turn"))
	}
	err = s.Mailer.Send(sendCtx, j.Email)
	switch {
	case errors.Is(err, handlers.ErrUndeliverable):
		s.log(ctx, slog.LevelError, "email cannot be delivered: recorded on the event", j, slog.String("error", err.Error()))
		if recorded {
			if ferr := s.finish(ctx, j, eventrecord.EmailUndeliverable, err.Error()); ferr != nil {
				return s.failed(ctx, j, fmt.Errorf("record undeliverable: %w", ferr))
			}
		}
		return Result{Outcome: OutcomeUndeliverable, Err: err}
	case err != nil:
		return s.failed(ctx, j, fmt.Errorf("send: %w", err))
	}
	s.onSent()
	res := Result{Outcome: OutcomeSent, Age: s.waited(j)}
	if recorded {
		// SES has it: the job is done whatever happens to this write,
		// which only protects against a second copy of the job.
		if ferr := s.finish(ctx, j, eventrecord.EmailSent, ""); ferr != nil {
			res.Throttled = s.recordSentLater(ctx, j, ferr)
		}
	}
	return res
}

// recordSentLater handles a SENT write that failed (ferr) after SES
// accepted j's email: for a passing reason (DynamoDB throttling the
// table, a timeout), j is deferred as a copy marked Sent, which writes
// SENT under its token when it comes back; otherwise (another claim took
// the email over, a permanent error, the stay's deferrals spent, the
// queue refusing the copy) the record stays SENDING, and a second copy of
// the job arriving after the lease would send the email again: logged.
// The job itself is acknowledged either way: delivered again, it would
// claim and send. It reports whether a quota refused the write.
func (s *Sender) recordSentLater(ctx context.Context, j Job, ferr error) bool {
	var ce *eventrecord.ConflictError
	if errors.As(ferr, &ce) || (s.IsPermanent != nil && s.IsPermanent(ferr)) {
		s.log(ctx, slog.LevelWarn, "email sent, but its SENT record was not written: a second copy of the job would send it again", j,
			slog.String("error", ferr.Error()))
		return false
	}
	j.Sent = true
	r := s.failed(ctx, j, fmt.Errorf("record SENT: %w", ferr))
	if r.Outcome != OutcomeDeferred {
		s.log(ctx, slog.LevelWarn, "email sent, but its SENT record was neither written nor deferred: a second copy of the job would send it again", j,
			slog.String("error", ferr.Error()), slog.Any("deferral", r.Err))
	}
	return r.Throttled
}

// recordSent delivers a copy marked Sent: it writes SENT under the
// copy's token and never sends. When another claim has taken the email
// since (its lease ended first) or it is done, the copy ends; when the
// write fails for a passing reason, the copy is deferred again.
func (s *Sender) recordSent(ctx context.Context, j Job) Result {
	err := s.finish(ctx, j, eventrecord.EmailSent, "")
	var ce *eventrecord.ConflictError
	switch {
	case err == nil:
		s.log(ctx, slog.LevelInfo, "email's SENT record written by its deferred copy", j)
		return Result{Outcome: OutcomeDuplicate}
	case errors.As(err, &ce):
		s.log(ctx, slog.LevelWarn, "email's SENT record not written: another claim has taken the email since, or it is done; the copy ends", j,
			slog.String("email_status", string(ce.Existing.Email.Status)))
		return Result{Outcome: OutcomeDuplicate}
	default:
		return s.failed(ctx, j, fmt.Errorf("record SENT: %w", err))
	}
}

// failed defers a job whose claim, send or record failed for a
// transient reason, or reports it failed (a permanent error, or
// MaxDeferAge past the stay's first deferral).
func (s *Sender) failed(ctx context.Context, j Job, err error) Result {
	throttled := s.IsThrottle != nil && s.IsThrottle(err)
	if throttled {
		s.onThrottled()
	}
	if s.IsPermanent != nil && s.IsPermanent(err) {
		s.log(ctx, slog.LevelError, "email job failed for good: reported failed, it goes to the email dead-letter queue", j, slog.String("error", err.Error()))
		return Result{Outcome: OutcomeRetry, Err: err, Throttled: throttled}
	}
	now := s.now()
	if j.DeferredSince.IsZero() {
		j.DeferredSince = now // the stay's first deferral
	}
	if deferred := now.Sub(j.DeferredSince); deferred >= s.maxDeferAge() {
		s.log(ctx, slog.LevelError, "email job deferred too long: reported failed, it goes to the email dead-letter queue after the queue's receives", j,
			slog.Int("deferrals", j.Deferrals), slog.Duration("deferred_for", deferred), slog.String("error", err.Error()))
		return Result{Outcome: OutcomeRetry, Err: err, Throttled: throttled}
	}
	res := s.deferJob(ctx, j, s.backoff(j.Deferrals), true, err)
	res.Throttled = throttled
	return res
}

// deferJob queues j again after delay (counted as a deferral when count)
// and acknowledges the original; when the queue refuses, the job is
// reported failed, so that SQS delivers it again, except a job the queue
// refuses as undeliverable (too large once deferred), which is recorded
// undeliverable when it holds the claim (undeliverable).
func (s *Sender) deferJob(ctx context.Context, j Job, delay time.Duration, count bool, cause error) Result {
	if count {
		j.Deferrals++
	}
	j.DeferredUntil, j.SentAt = s.now().Add(delay), time.Time{}
	if err := s.Queue.Requeue(context.WithoutCancel(ctx), j, delay); err != nil {
		err = fmt.Errorf("defer: %w (after: %v)", err, cause)
		if errors.Is(err, handlers.ErrUndeliverable) && j.Token != "" && !j.Sent {
			return s.undeliverable(ctx, j, err)
		}
		return Result{Outcome: OutcomeRetry, Err: err}
	}
	waited := s.waited(j)
	s.log(ctx, slog.LevelWarn, "email deferred", j, slog.Duration("delay", delay), slog.Int("deferrals", j.Deferrals),
		slog.Duration("waited", waited), slog.String("cause", cause.Error()))
	return Result{Outcome: OutcomeDeferred, Err: cause, Delay: delay, Age: waited}
}

// undeliverable ends a job the queue cannot take back (err wraps
// handlers.ErrUndeliverable: it would be too large once deferred, the
// fields a deferral adds included): retried through the queue's
// receives, it would only reach the email dead-letter queue. The email
// is recorded UNDELIVERABLE under the job's claim token, as an email SES
// refuses for good is, and counted (the handler's EmailUndeliverable,
// alarmed). When that token no longer holds the claim, the copy ends
// without a record: the email is done, or another claim holds it (its
// job meets the same refusal and records it); the event having no record
// (its email sent without one), the email is only counted. When the
// write fails, the job is reported failed and its next delivery tries
// again.
func (s *Sender) undeliverable(ctx context.Context, j Job, err error) Result {
	s.log(ctx, slog.LevelError, "email job cannot be queued again: recorded undeliverable", j, slog.String("error", err.Error()))
	ferr := s.finish(ctx, j, eventrecord.EmailUndeliverable, err.Error())
	var ce *eventrecord.ConflictError
	switch {
	case ferr == nil:
		return Result{Outcome: OutcomeUndeliverable, Err: err}
	case errors.As(ferr, &ce) && ce.Existing.Status == "":
		return Result{Outcome: OutcomeUndeliverable, Err: err} // no record to write it on
	case errors.As(ferr, &ce):
		s.log(ctx, slog.LevelWarn, "undeliverable email not recorded by this copy: its claim is not this job's any more", j,
			slog.String("email_status", string(ce.Existing.Email.Status)))
		return Result{Outcome: OutcomeDuplicate}
	default:
		return Result{Outcome: OutcomeRetry, Err: fmt.Errorf("record undeliverable: %w (after: %v)", ferr, err)}
	}
}

// waited is how long j has waited since its first queuing, on the
// sender's clock: zero when that time is unknown (or ahead of the clock).
func (s *Sender) waited(j Job) time.Duration {
	if j.QueuedAt.IsZero() {
		return 0
	}
	return max(s.now().Sub(j.QueuedAt), 0)
}

// backoff is the delay of a job deferred n times before: DeferBase
// doubled n times, at most MaxDelay, less up to a half of jitter so that
// jobs throttled together do not come back together.
func (s *Sender) backoff(n int) time.Duration {
	base := s.DeferBase
	if base <= 0 {
		base = DefaultDeferBase
	}
	d := base
	for range n {
		if d >= MaxDelay {
			break
		}
		d *= 2
	}
	d = min(d, MaxDelay)
	return d - time.Duration(mrand.Int64N(int64(d/2)+1))
}

// finish writes the delivery's end, trying again a few times.
func (s *Sender) finish(ctx context.Context, j Job, status eventrecord.EmailStatus, why string) error {
	var err error
	wait := finishBackoff
	for try := 1; try <= finishAttempts; try++ {
		if err = s.Deliveries.FinishEmail(context.WithoutCancel(ctx), j.EventID, j.Token, status, why, s.now()); err == nil {
			return nil
		}
		var ce *eventrecord.ConflictError
		if errors.As(err, &ce) {
			return err // the lease was lost: another copy holds it
		}
		if try < finishAttempts {
			_ = s.sleep(context.WithoutCancel(ctx), wait)
			wait *= 2
		}
	}
	return err
}

// onThrottled halves the pace (down to an eighth of Rate): the account's
// real rate is lower than configured, or other senders share it.
func (s *Sender) onThrottled() {
	l := s.limiter
	if l == nil {
		return
	}
	l.SetLimitAt(s.now(), max(l.Limit()/2, rate.Limit(s.rate()/8)))
}

// onSent raises the pace back towards Rate by a tenth of it per send.
func (s *Sender) onSent() {
	l := s.limiter
	if l == nil || float64(l.Limit()) >= s.rate() {
		return
	}
	l.SetLimitAt(s.now(), min(l.Limit()+rate.Limit(s.rate()/10), rate.Limit(s.rate())))
}

// Pace returns the sender's current pace, in sends a second.
func (s *Sender) Pace() float64 {
	if s.limiter == nil {
		return s.rate()
	}
	return float64(s.limiter.Limit())
}

func (s *Sender) log(ctx context.Context, level slog.Level, msg string, j Job, attrs ...slog.Attr) {
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	attrs = append([]slog.Attr{slog.String("event_id", j.EventID), slog.String("order_id", j.Email.OrderID),
		slog.String("template", j.Email.Template)}, attrs...)
	logger.LogAttrs(ctx, level, msg, attrs...)
}

func (s *Sender) rate() float64 {
	if s.Rate > 0 {
		return s.Rate
	}
	return DefaultRate
}

func (s *Sender) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

func (s *Sender) maxDeferAge() time.Duration {
	if s.MaxDeferAge > 0 {
		return s.MaxDeferAge
	}
	return DefaultMaxDeferAge
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sender) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *Sender) token() string {
	if s.NewToken != nil {
		return s.NewToken()
	}
	var b [TokenLen / 2]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
