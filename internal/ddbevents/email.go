package ddbevents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// ClaimEmail is the email sender's claim of an event's customer email
// before it is sent: one UpdateItem of the event's record setting the
// email's status SENDING, template, token and lease, and counting the
// claim in its attempts (the other attributes of the record are left
// alone). It succeeds when the record holds no email delivery yet, or a
// SENDING one whose lease ended at now. Otherwise it returns
// *eventrecord.ConflictError with the record as stored (Existing.Email
// says whether the email is done or in flight elsewhere), or an error
// wrapping eventrecord.ErrNoRecord when the event has no record. A claim
// is never granted to a token because it holds the claim already: a job
// deferred under its claim comes back through ReclaimEmail.
//
// Why a claim before the send, a write that the happy path pays for every
// email: a job can be queued twice (an attempt crashed between queuing it
// and recording the step; a lost answer to SendMessage) and SQS may
// deliver a job twice; the claim makes the second copy see the first
// (SENT: acknowledged; SENDING under a live lease: deferred) instead of
// sending again.
func (t *Table) ClaimEmail(ctx context.Context, eventID, template, token string, leaseUntil, now time.Time) error {
	return t.claimEmail(ctx, eventID, template, "", token, leaseUntil, now)
}

// ReclaimEmail is ClaimEmail for a job deferred under a claim it held
// (heldToken): it also succeeds when the email is SENDING under
// heldToken, live lease or not, and swaps heldToken for token in the same
// write. Two copies of one deferred job (SQS delivers at least once; the
// SDK may repeat a SendMessage whose answer was lost) present the same
// heldToken: the first swaps it out, so the second's condition fails and
// it meets the first's claim (*eventrecord.ConflictError) instead of
// sending the email again. It is the claim write of a deferred job, not an
// extra one.
func (t *Table) ReclaimEmail(ctx context.Context, eventID, template, heldToken, token string, leaseUntil, now time.Time) error {
	if heldToken == "" || heldToken == token {
		return fmt.Errorf("reclaim email of event %s: the held token must be set and differ from the new one", eventID)
	}
	return t.claimEmail(ctx, eventID, template, heldToken, token, leaseUntil, now)
}

// claimEmail is ClaimEmail, and ReclaimEmail when held is set.
func (t *Table) claimEmail(ctx context.Context, eventID, template, held, token string, leaseUntil, now time.Time) error {
	const update = "SET #email = :sending, #etemplate = :template, #etoken = :token, #elease = :lease ADD #eattempts :one"
	cond := "attribute_exists(#id) AND (attribute_not_exists(#email) OR (#email = :sending AND #elease <= :nowms))"
	vals := item{
		":sending":  str(string(eventrecord.EmailSending)),
		":template": str(template),
		":token":    str(token),
		":lease":    num(leaseUntil.UnixMilli()),
		":nowms":    num(now.UnixMilli()),
		":one":      num(1),
	}
	if held != "" {
		cond = "attribute_exists(#id) AND (attribute_not_exists(#email) OR (#email = :sending AND (#elease <= :nowms OR #etoken = :held)))"
		vals[":held"] = str(held)
	}
	err := t.update(ctx, eventID, update, cond, vals, "claim email of event")
	if err == nil {
		return nil
	}
	var ce *eventrecord.ConflictError
	if errors.As(err, &ce) && ce.Existing.Status == "" {
		return fmt.Errorf("claim email of event %s: %w", eventID, eventrecord.ErrNoRecord)
	}
	return err
}

// FinishEmail records the end of an email's delivery claimed with token:
// status EmailSent or EmailUndeliverable (with why, clipped to
// MaxNoteBytes), the time, and no lease. The condition is that token still
// holds the claim; otherwise it returns *eventrecord.ConflictError (the
// lease ran out and another sender took the email over).
//
// Why a second write per email: without it, a second copy of the job
// that arrives after the claim's lease cannot tell a sent email from one
// whose sender died before sending, and would send it again.
func (t *Table) FinishEmail(ctx context.Context, eventID, token string, status eventrecord.EmailStatus, why string, now time.Time) error {
	if !status.Done() {
		return fmt.Errorf("finish email of event %s: status %q is not SENT or UNDELIVERABLE", eventID, status)
	}
	update := "SET #email = :status, #eat = :nowms"
	vals := item{
		":status": str(string(status)),
		":nowms":  num(now.UnixMilli()),
		":token":  str(token),
	}
	if why != "" {
		update += ", #eerror = :why"
		vals[":why"] = str(clip(why, MaxNoteBytes))
	}
	update += " REMOVE #elease"
	const cond = "#etoken = :token"
	return t.update(ctx, eventID, update, cond, vals, "finish email of event")
}
