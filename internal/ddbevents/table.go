// Package ddbevents stores event records in the DynamoDB events table: the
// ingest dedupe write, the processor's claim, checkpoints and final status,
// and the reads the operator tools need.
//
// The table's key is event_id (S); expires_at (Unix seconds) is its TTL
// attribute. DynamoDB deletes expired items lazily, up to days late, so every
// condition that may replace a record checks expires_at against the caller's
// clock itself. Refused conditional writes come back as
// *eventrecord.ConflictError carrying the existing item, read by the same
// call (ReturnValuesOnConditionCheckFailure), never by an extra read.
package ddbevents

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// ErrNotFound is returned by Get when the table holds no record for the id.
var ErrNotFound = errors.New("event record not found")

// Table is the events table.
type Table struct {
	client *dynamodb.Client
	name   string
}

// New returns the events table called name, reached through client.
func New(client *dynamodb.Client, name string) *Table {
	return &Table{client: client, name: name}
}

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// attrFor maps an expression attribute name to the attribute it stands for.
// Every attribute a condition or update expression mentions goes through
// one, so DynamoDB's reserved words (status, type, token, error, …) never get
// in the way.
func attrFor(ref string) string {
	switch ref {
	case "#id":
		return attrEventID
	case "#status":
		return attrStatus
	case "#type":
		return attrType
	case "#created":
		return attrCreated
	case "#livemode":
		return attrLivemode
	case "#hash":
		return attrPayloadHash
	case "#token":
		return attrToken
	case "#lease":
		return attrLeaseUntilMS
	case "#expires":
		return attrExpiresAt
	case "#received":
		return attrReceivedAtMS
	case "#updated":
		return attrUpdatedAtMS
	case "#attempts":
		return attrAttempts
	case "#steps":
		return attrSteps
	case "#notes":
		return attrNotes
	case "#error":
		return attrError
	case "#body":
		return attrBody
	case "#duration":
		return attrDurationMS
	case "#email":
		return attrEmailStatus
	case "#etemplate":
		return attrEmailTemplate
	case "#etoken":
		return attrEmailToken
	case "#elease":
		return attrEmailLeaseMS
	case "#eat":
		return attrEmailAtMS
	case "#eerror":
		return attrEmailError
	case "#eattempts":
		return attrEmailAttempts
	}
	return ""
}

// exprNames returns the expression attribute names that exprs mention
// (DynamoDB rejects unused ones). An unknown one is left out, so DynamoDB
// rejects the expression: a programming error every test catches.
func exprNames(exprs ...string) map[string]string {
	m := make(map[string]string)
	for _, e := range exprs {
		for i := 0; i < len(e); i++ {
			if e[i] != '#' {
				continue
			}
			j := i + 1
			for j < len(e) && isNameChar(e[j]) {
				j++
			}
			ref := e[i:j]
			if attr := attrFor(ref); attr != "" {
				m[ref] = attr
			}
			i = j - 1
		}
	}
	return m
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func key(eventID string) item { return item{attrEventID: str(eventID)} }

// conflict translates a refused condition into *eventrecord.ConflictError
// carrying the old item; any other error is wrapped with what.
// update runs a conditional UpdateItem of eventID's record: a failed
// condition is conflict's *eventrecord.ConflictError, naming what.
func (t *Table) update(ctx context.Context, eventID, update, cond string, vals map[string]types.AttributeValue, what string) error {
	_, err := t.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           t.nameRef(),
		Key:                                 key(eventID),
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            exprNames(update, cond),
		ExpressionAttributeValues:           vals,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return conflict(err, eventID, what)
	}
	return nil
}

func conflict(err error, eventID, what string) error {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return fmt.Errorf("%s %s: %w", what, eventID, err)
	}
	existing := eventrecord.Record{EventID: eventID}
	if len(ccf.Item) > 0 {
		rec, derr := decode(ccf.Item)
		if derr != nil {
			return fmt.Errorf("%s %s: condition failed: %w", what, eventID, derr)
		}
		existing = rec
	}
	return &eventrecord.ConflictError{Existing: existing}
}

// Reserve is ingest's dedupe write: one conditional PutItem of rec (status
// RECEIVED, with its token, lease, payload hash and TTL). It succeeds when no
// record exists, when the existing one has expired at now, or when it is
// still RECEIVED, its lease has ended and its payload hash is rec's (an
// earlier attempt died, or the processor has not reached it: queuing the
// same body again is safe). A different body never replaces a stored one.
// Otherwise it returns *eventrecord.ConflictError with the existing record.
func (t *Table) Reserve(ctx context.Context, rec eventrecord.Record, now time.Time) error {
	if rec.PayloadHash == "" {
		return fmt.Errorf("reserve event %s: no payload hash", rec.EventID)
	}
	const cond = "attribute_not_exists(#id) OR #expires <= :now OR (#status = :received AND #lease <= :nowms AND #hash = :hash)"
	_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(t.name),
		Item:                     encode(rec),
		ConditionExpression:      aws.String(cond),
		ExpressionAttributeNames: exprNames(cond),
		ExpressionAttributeValues: item{
			":now":      num(now.Unix()),
			":nowms":    num(now.UnixMilli()),
			":received": str(string(eventrecord.Received)),
			":hash":     str(rec.PayloadHash),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return conflict(err, rec.EventID, "reserve event")
	}
	return nil
}

// Release undoes a Reserve whose enqueue failed: it deletes the record on
// condition that it is still RECEIVED under token. Otherwise it returns
// *eventrecord.ConflictError with the existing record (Status empty when
// there is none).
func (t *Table) Release(ctx context.Context, eventID, token string) error {
	const cond = "#token = :token AND #status = :received"
	_, err := t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                t.nameRef(),
		Key:                      key(eventID),
		ConditionExpression:      aws.String(cond),
		ExpressionAttributeNames: exprNames(cond),
		ExpressionAttributeValues: item{
			":token":    str(token),
			":received": str(string(eventrecord.Received)),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return conflict(err, eventID, "release event")
	}
	return nil
}

// PutTerminal records an event that is never queued (IGNORED or REJECTED,
// with its body) with one PutItem, on condition that no live record exists.
// Otherwise it returns *eventrecord.ConflictError with the existing record.
func (t *Table) PutTerminal(ctx context.Context, rec eventrecord.Record, now time.Time) error {
	if !rec.Status.Terminal() {
		return fmt.Errorf("put terminal event %s: status %q is not terminal", rec.EventID, rec.Status)
	}
	return t.putIfAbsent(ctx, rec, now, "put terminal event")
}

// putIfAbsent writes rec with one PutItem, on condition that no record for
// its id exists or the existing one has expired.
func (t *Table) putIfAbsent(ctx context.Context, rec eventrecord.Record, now time.Time, what string) error {
	const cond = "attribute_not_exists(#id) OR #expires <= :now"
	_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           t.nameRef(),
		Item:                                encode(rec),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            exprNames(cond),
		ExpressionAttributeValues:           item{":now": num(now.Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		return conflict(err, rec.EventID, what)
	}
	return nil
}

// Claim is the processor's claim of rec.EventID: one UpdateItem setting
// PROCESSING with rec.Token, rec.LeaseUntil and rec.ExpiresAt (which
// refreshes the TTL), counting the attempt, and filling type, created,
// livemode, payload hash and received time from rec where the record lacks
// them (a missing record is created: a replayed or redriven message whose
// record expired).
//
// It succeeds when the record is missing, RECEIVED or RETRYING, or
// PROCESSING with a lease ended at now, and holds no payload hash or
// rec.PayloadHash (a message whose body is not the stored event's is never
// claimed: the conflict carries the stored hash), and returns the record as stored,
// with the Steps an earlier attempt completed. A record that is still present
// but expired at now is replaced by a fresh one (one conditional PutItem,
// only on that rare path), so that steps and attempts of a long-gone run do
// not leak into the new one. Otherwise Claim returns
// *eventrecord.ConflictError with the existing record.
func (t *Table) Claim(ctx context.Context, rec eventrecord.Record, now time.Time) (eventrecord.Record, error) {
	set := []string{
		"#status = :processing",
		"#token = :token",
		"#lease = :lease",
		"#updated = :nowms",
		"#attempts = if_not_exists(#attempts, :zero) + :one",
	}
	vals := item{
		":processing": str(string(eventrecord.Processing)),
		":token":      str(rec.Token),
		":lease":      num(rec.LeaseUntil.UnixMilli()),
		":nowms":      num(now.UnixMilli()),
		":zero":       num(0),
		":one":        num(1),
		":received":   str(string(eventrecord.Received)),
		":retrying":   str(string(eventrecord.Retrying)),
		":now":        num(now.Unix()),
	}
	ifMissing := func(nameRef, valRef string, v types.AttributeValue) {
		set = append(set, fmt.Sprintf("%s = if_not_exists(%s, %s)", nameRef, nameRef, valRef))
		vals[valRef] = v
	}
	fresh := encode(rec)
	for _, a := range []struct{ attr, nameRef, valRef string }{
		{attrType, "#type", ":type"},
		{attrCreated, "#created", ":created"},
		{attrLivemode, "#livemode", ":livemode"},
		{attrPayloadHash, "#hash", ":hash"},
		{attrReceivedAtMS, "#received", ":receivedms"},
	} {
		if v, ok := fresh[a.attr]; ok {
			ifMissing(a.nameRef, a.valRef, v)
		}
	}
	if !rec.ExpiresAt.IsZero() {
		set = append(set, "#expires = :expires")
		vals[":expires"] = num(rec.ExpiresAt.Unix())
	}
	update := "SET " + strings.Join(set, ", ")
	// The expired case is handled by claimExpired below, so that a fresh
	// run starts with no steps; the condition therefore leaves it out.
	cond := "(attribute_not_exists(#id) OR #status IN (:received, :retrying) OR (#status = :processing AND #lease <= :nowms)) AND (attribute_not_exists(#expires) OR #expires > :now)"
	if rec.PayloadHash != "" {
		cond += " AND (attribute_not_exists(#hash) OR #hash = :hash)"
	}
	out, err := t.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           t.nameRef(),
		Key:                                 key(rec.EventID),
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            exprNames(update, cond),
		ExpressionAttributeValues:           vals,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		err = conflict(err, rec.EventID, "claim event")
		var ce *eventrecord.ConflictError
		if errors.As(err, &ce) && ce.Existing.Status != "" && ce.Existing.Expired(now) {
			return t.claimExpired(ctx, rec, now)
		}
		return eventrecord.Record{}, err
	}
	got, err := decode(out.Attributes)
	if err != nil {
		return eventrecord.Record{}, fmt.Errorf("claim event %s: %w", rec.EventID, err)
	}
	return got, nil
}

// claimExpired replaces a record whose TTL has passed with a fresh
// PROCESSING record: first attempt, no steps, no error.
func (t *Table) claimExpired(ctx context.Context, rec eventrecord.Record, now time.Time) (eventrecord.Record, error) {
	fresh := eventrecord.Record{
		EventID:     rec.EventID,
		Status:      eventrecord.Processing,
		Type:        rec.Type,
		Created:     rec.Created,
		Livemode:    rec.Livemode,
		PayloadHash: rec.PayloadHash,
		Token:       rec.Token,
		LeaseUntil:  rec.LeaseUntil,
		ExpiresAt:   rec.ExpiresAt,
		ReceivedAt:  rec.ReceivedAt,
		UpdatedAt:   time.UnixMilli(now.UnixMilli()).UTC(),
		Attempts:    1,
	}
	if err := t.putIfAbsent(ctx, fresh, now, "claim expired event"); err != nil {
		return eventrecord.Record{}, err
	}
	// Return what a read would: the encoding's precision.
	return decode(encode(fresh))
}

// Checkpoint stores the steps completed so far (the whole list) on
// condition that the record is still PROCESSING under token. Otherwise the
// lease is lost and it returns *eventrecord.ConflictError.
func (t *Table) Checkpoint(ctx context.Context, eventID, token string, steps []string, now time.Time) error {
	update := "SET #updated = :nowms"
	vals := item{
		":nowms":      num(now.UnixMilli()),
		":token":      str(token),
		":processing": str(string(eventrecord.Processing)),
	}
	if len(steps) > 0 {
		update += ", #steps = :steps"
		vals[":steps"] = stringList(steps)
	} else {
		update += " REMOVE #steps"
	}
	const cond = "#token = :token AND #status = :processing"
	return t.update(ctx, eventID, update, cond, vals, "checkpoint event")
}

// Finish ends a processing attempt with one UpdateItem: rec.Status
// (PROCESSED, RETRYING or FAILED), the update time, rec.Error (RETRYING and
// FAILED, clipped to MaxErrorBytes; removed on PROCESSED), rec.Body (FAILED
// only: a PROCESSED or RETRYING record keeps no body, whatever a replay
// left there; a retry comes from the queue with its own), rec.DurationMS
// (PROCESSED), and rec.Steps and rec.Notes (at most MaxNotes, each clipped to
// MaxNoteBytes) when not empty. The lease is removed, the token
// kept. The condition is that the record is still held under rec.Token;
// otherwise it returns *eventrecord.ConflictError.
func (t *Table) Finish(ctx context.Context, rec eventrecord.Record, now time.Time) error {
	set := []string{"#status = :status", "#updated = :nowms"}
	remove := []string{"#lease"}
	vals := item{
		":status": str(string(rec.Status)),
		":nowms":  num(now.UnixMilli()),
		":token":  str(rec.Token),
	}
	switch rec.Status {
	case eventrecord.Processed:
		remove = append(remove, "#error", "#body")
		set = append(set, "#duration = :duration")
		vals[":duration"] = num(rec.DurationMS)
	case eventrecord.Retrying, eventrecord.Failed:
		if rec.Error != "" {
			set = append(set, "#error = :error")
			vals[":error"] = str(clipError(rec.Error))
		}
		if rec.Status == eventrecord.Failed && len(rec.Body) > 0 {
			set = append(set, "#body = :body")
			vals[":body"] = &types.AttributeValueMemberB{Value: rec.Body}
		} else {
			remove = append(remove, "#body")
		}
	default:
		return fmt.Errorf("finish event %s: status %q is not PROCESSED, RETRYING or FAILED", rec.EventID, rec.Status)
	}
	if len(rec.Steps) > 0 {
		set = append(set, "#steps = :steps")
		vals[":steps"] = stringList(rec.Steps)
	}
	if len(rec.Notes) > 0 {
		set = append(set, "#notes = :notes")
		vals[":notes"] = stringList(clipNotes(rec.Notes))
	}
	update := "SET " + strings.Join(set, ", ") + " REMOVE " + strings.Join(remove, ", ")
	const cond = "#token = :token"
	return t.update(ctx, rec.EventID, update, cond, vals, "finish event")
}

// Get reads one record with a strongly consistent read. It returns
// ErrNotFound when there is none. An expired record that DynamoDB has not
// deleted yet is returned as is: check Record.Expired.
func (t *Table) Get(ctx context.Context, eventID string) (eventrecord.Record, error) {
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      t.nameRef(),
		Key:            key(eventID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return eventrecord.Record{}, fmt.Errorf("get event %s: %w", eventID, err)
	}
	if len(out.Item) == 0 {
		return eventrecord.Record{}, fmt.Errorf("get event %s: %w", eventID, ErrNotFound)
	}
	return decode(out.Item)
}

// List returns the records in status that were updated at or after since
// (every one when since is zero), oldest update first. It scans the whole
// table: it is meant for operator tools, not for the hot path.
func (t *Table) List(ctx context.Context, status eventrecord.Status, since time.Time) ([]eventrecord.Record, error) {
	filter := "#status = :status"
	vals := item{":status": str(string(status))}
	if !since.IsZero() {
		filter += " AND #updated >= :since"
		vals[":since"] = num(since.UnixMilli())
	}
	p := dynamodb.NewScanPaginator(t.client, &dynamodb.ScanInput{
		TableName:                 t.nameRef(),
		FilterExpression:          aws.String(filter),
		ExpressionAttributeNames:  exprNames(filter),
		ExpressionAttributeValues: vals,
	})
	var recs []eventrecord.Record
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s events: %w", status, err)
		}
		for _, it := range page.Items {
			r, err := decode(it)
			if err != nil {
				return nil, fmt.Errorf("list %s events: %w", status, err)
			}
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b eventrecord.Record) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return recs, nil
}

func (t *Table) nameRef() *string { return aws.String(t.name) }
