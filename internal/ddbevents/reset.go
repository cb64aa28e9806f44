package ddbevents

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// ResetOptions tune Reset.
type ResetOptions struct {
	// Token is the replay's own attempt token, which Restore checks.
	Token string
	// Ignored lets Reset take IGNORED records too: an operator's choice,
	// once the deployment's mode or subscriptions are right for them.
	Ignored bool
}

// Reset prepares an event for an operator's replay: one UpdateItem setting
// RETRYING, o.Token and the update time and removing the lease, so that the
// processor's claim accepts the replayed message. Attempts, steps, last
// error and stored body are kept; the body stays until the processor ends
// the replayed attempt (Finish drops it).
//
// The condition is that the record holds a body, is not a record kept for a
// body (eventrecord.IsBodyKey), and is FAILED, or RETRYING with no live
// lease (a replay whose message may never have been sent: running replay
// again sends it; a message sent twice is applied once), or IGNORED when
// o.Ignored. Otherwise Reset changes nothing and returns
// *eventrecord.ConflictError with the existing record: Status empty when
// there is none, no Body when the body is missing. On success it returns the
// record as stored, body included, and the status it had before (which
// Restore puts back).
func (t *Table) Reset(ctx context.Context, eventID string, o ResetOptions, now time.Time) (eventrecord.Record, eventrecord.Status, error) {
	if o.Token == "" {
		return eventrecord.Record{}, "", fmt.Errorf("reset event %s: no token", eventID)
	}
	const update = "SET #status = :retrying, #token = :token, #updated = :nowms REMOVE #lease"
	cond := "attribute_exists(#body) AND NOT begins_with(#id, :bodykey) AND (#status = :failed OR (#status = :retrying AND (attribute_not_exists(#lease) OR #lease <= :nowms))"
	vals := item{
		":retrying": str(string(eventrecord.Retrying)),
		":failed":   str(string(eventrecord.Failed)),
		":token":    str(o.Token),
		":nowms":    num(now.UnixMilli()),
		":bodykey":  str(eventrecord.BodyKeyPrefix),
	}
	if o.Ignored {
		cond += " OR #status = :ignored"
		vals[":ignored"] = str(string(eventrecord.Ignored))
	}
	cond += ")"
	out, err := t.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           t.nameRef(),
		Key:                                 key(eventID),
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            exprNames(update, cond),
		ExpressionAttributeValues:           vals,
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return eventrecord.Record{}, "", conflict(err, eventID, "reset event")
	}
	rec, err := decode(out.Attributes)
	if err != nil {
		return eventrecord.Record{}, "", fmt.Errorf("reset event %s: %w", eventID, err)
	}
	was := rec.Status
	// What the update wrote, at the encoding's precision.
	rec.Status, rec.Token, rec.LeaseUntil = eventrecord.Retrying, o.Token, time.Time{}
	rec.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
	return rec, was, nil
}

// Restore undoes a Reset whose message could not be sent: it sets the
// record back to status (FAILED or IGNORED, what it was), on condition that
// it is still RETRYING under rec.Token (no processor has claimed it since).
// Otherwise it returns *eventrecord.ConflictError with the existing record.
func (t *Table) Restore(ctx context.Context, rec eventrecord.Record, status eventrecord.Status, now time.Time) error {
	if status != eventrecord.Failed && status != eventrecord.Ignored {
		return fmt.Errorf("restore event %s: status %q is not FAILED or IGNORED", rec.EventID, status)
	}
	const update = "SET #status = :status, #updated = :nowms"
	const cond = "#status = :retrying AND #token = :token"
	return t.update(ctx, rec.EventID, update, cond, item{
		":status":   str(string(status)),
		":retrying": str(string(eventrecord.Retrying)),
		":token":    str(rec.Token),
		":nowms":    num(now.UnixMilli()),
	}, "restore event")
}
