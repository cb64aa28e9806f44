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

// Reset prepares a FAILED event for an operator's replay: one UpdateItem
// setting RETRYING and the update time and removing the lease, so that the
// processor's claim accepts the replayed message. The token, attempts,
// steps, last error and stored body are kept; the body stays until the
// processor ends the replayed attempt.
//
// The condition is that the record is FAILED and still holds its body (a
// record without a body has nothing to replay). Otherwise Reset changes
// nothing and returns *eventrecord.ConflictError with the existing record:
// Status empty when there is none, FAILED with no Body when the body is
// missing. On success it returns the record as stored, body included.
func (t *Table) Reset(ctx context.Context, eventID string, now time.Time) (eventrecord.Record, error) {
	const update = "SET #status = :retrying, #updated = :nowms REMOVE #lease"
	const cond = "#status = :failed AND attribute_exists(#body)"
	out, err := t.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                t.nameRef(),
		Key:                      key(eventID),
		UpdateExpression:         aws.String(update),
		ConditionExpression:      aws.String(cond),
		ExpressionAttributeNames: exprNames(update, cond),
		ExpressionAttributeValues: item{
			":retrying": str(string(eventrecord.Retrying)),
			":failed":   str(string(eventrecord.Failed)),
			":nowms":    num(now.UnixMilli()),
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return eventrecord.Record{}, conflict(err, eventID, "reset event")
	}
	rec, err := decode(out.Attributes)
	if err != nil {
		return eventrecord.Record{}, fmt.Errorf("reset event %s: %w", eventID, err)
	}
	return rec, nil
}
