// Package ddborders stores orders in DynamoDB, applying the rules of the
// orders package with conditional writes, so that two processors racing on
// one order cannot both win and an event applied twice changes nothing.
//
// # Tables
//
// The orders table, key order_id (S), holds one item per order: status,
// amount, currency, payment_id, payment_event_id, customer_email,
// customer_name, paid_at_ms and paid_event_id (present once a payment
// succeeded), failure_code, failure_message and failed_at_ms (present
// exactly when a failure is held), payments (the successful payments, at
// most orders.MaxPayments), extra_payments, paid_total, refund_totals (the
// refunds summed per payment id and currency, at most
// orders.MaxRefundTotals), unsummed_refunds, refund_count, refunded_total,
// last_refund_event_id and last_refund_event_ms, refund_conflicts and
// conflicting_refunds (present once a refund id was announced with two
// amounts), anomalies (a list of kind and detail), event_ids (the last
// MaxEvents), last_event_id, last_event_created_ms, created_at_ms,
// updated_at_ms and version, a counter every write increments. Times are
// Unix milliseconds; event times are truncated to the millisecond before
// the rules are applied.
//
// The item keeps sums, never one entry per refund, so it is bounded
// whatever the number of refunds (TestItemBoundedWhateverTheRefunds: at
// most 4 KB), but it is not small: about 600 bytes once paid, about 1 KB
// after ten refunds, 1.2 to 1.5 KB once event_ids is full (25 ids, after
// 25 events on the order), more with anomalies. DynamoDB bills a write by
// the larger of the item's sizes before and after it, per started KB, and
// twice that inside a transaction: an order item past 1 KB costs 2 WRU per
// update (4 in a refund's transaction) instead of 1 (2), and its
// consistent read still 1 RRU (up to 4 KB).
//
// The refunds table, key order_id (S) and refund_id (S), holds one item per
// refund id applied: payment_id, amount and currency (the refund that
// counts), event_id and event_created_ms (the event that applied the
// refund id first: the one that told it), applied_at_ms, and when other
// events announced the same refund id: counted_event_id and
// counted_event_ms (the announcement that counts, when it is not
// event_id's), conflict (true when the announcements contradict each
// other), unsummed (true when the order counts the refund in no sum) and
// rev, a counter every change after the first write increments. It is how
// a refund id is applied once, and it lists an order's refunds (a Query on
// order_id).
//
// # Writes
//
// A payment costs one UpdateItem on the happy path, with no read before it.
// The fast path is a blind UpdateItem whose condition is the precondition
// under which its fixed update equals the orders package's result:
//
//   - payment.succeeded: the order does not exist, or holds no success and
//     no refund; it becomes PAID with this one payment.
//   - payment.failed: the order does not exist, or holds no success, no
//     refund and no later failure; it becomes PAYMENT_FAILED.
//
// Both conditions also refuse an item of the previous version (below).
// When the condition fails, DynamoDB returns the item as it was in the same
// call (ReturnValuesOnConditionCheckFailure ALL_OLD), so there is still no
// read: the store computes the new state with the orders package and, if the
// event changes anything, writes the whole state with an UpdateItem
// conditioned on the version it computed from. A duplicate or stale event
// therefore costs one refused write and writes nothing. The slow path is
// retried when another writer got in first, at most maxAttempts times, then
// ErrContention (transient) is returned.
//
// A refund costs one consistent GetItem of the order and one
// TransactWriteItems of two writes: the refund's item, on condition that the
// refund id is new for the order, and the order's new state, on condition of
// the version read. The refund's item is the price of a bounded order item:
// the order no longer keeps refund ids, so the refunds table is what makes a
// second event for one refund id add nothing. A refused transaction tells
// which condition failed: a refund id already applied returns the refund's
// item, and a version that moved is read and tried again. A transaction
// DynamoDB canceled for another reason (another transaction on the same
// item, throttling) is returned as an error, transient (awserr).
//
// # One refund id, several announcements
//
// A second event for a refund id applied already is resolved by
// orders.Order.ResolveRefund against the refund's item. The same refund
// again writes nothing (or, when it was created earlier than the
// announcement that counts, only records it as the one that counts, in
// the refund's item). A contradicting refund (another amount, currency or
// payment) is one transaction of the refund's item, conditioned on its rev,
// and the order's versioned update: when it was created earlier than the
// announcement that counts it takes the refund over (the order's sums lose
// the old refund and gain the new one), else the old one stays; the first
// contradiction of a refund id adds it to the order's refund_conflicts
// (the refund_conflict anomaly). The end state does not depend on the
// arrival order; the domain event and the notice were sent by the event
// that applied the refund id first, and are not sent again.
//
// # An event applied already by itself
//
// An attempt whose write landed but whose answer was lost (the SDK's retry
// of an UpdateItem meets its own write; a later delivery meets its own
// transaction) finds its fact applied by its own event: the store then
// reports the anomalies that fact brought (orders.Applied.NewAnomalies,
// with Changed false), so that they are noted and counted once the event
// succeeds.
//
// # Orders of the previous version
//
// The previous version of the store kept an order's refunds in the item
// (refunds, a map of refund id to amount, event_id and event_created_ms;
// remaining), without payments, payment ids of refunds, sums or counts.
// Such an item is read as the facts it holds (the payment, the failure
// held, each refund, in the order's currency and of its payment: the only
// refunds the previous version accepted), and the first event that writes
// it upgrades it first, once: one transaction writes the order's new
// attributes, removes refunds and remaining, and puts one refunds-table
// item per refund it held, conditioned on the version read (an order with
// more refunds than a transaction holds gets its refunds' items first,
// each on condition that it is new). The event is then applied to the
// upgraded order as to any other. docs/deploy.md has the note for an
// update of a stack.
package ddborders

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// maxAttempts bounds the versioned writes of the slow path.
const maxAttempts = 5

// MaxEvents bounds the event ids an order item keeps (event_ids, the most
// recent last): the order's timeline, read by the operator's tool without
// an index. The fast paths append while the list is shorter; a full list
// refuses their condition, and the slow path writes it trimmed to the most
// recent MaxEvents: one extra refused write per event beyond the first
// MaxEvents of an order, none before.
const MaxEvents = 25

// createWait bounds how long CreateTable waits for the table to be ACTIVE.
const createWait = 2 * time.Minute

var (
	// ErrNotFound is returned by Get when the table holds no such order.
	ErrNotFound = errors.New("order not found")
	// ErrContention is returned when other writers changed the order every
	// time the store tried to write it; it is transient: retry the event.
	ErrContention = errors.New("order changed concurrently too many times")
)

// Attribute names of an order item.
const (
	attrOrderID         = "order_id"
	attrStatus          = "status"
	attrAmount          = "amount"
	attrCurrency        = "currency"
	attrPaymentID       = "payment_id"
	attrPaymentEventID  = "payment_event_id"
	attrEmail           = "customer_email"
	attrName            = "customer_name"
	attrPaidAt          = "paid_at_ms"
	attrPaidEventID     = "paid_event_id"
	attrFailureCode     = "failure_code"
	attrFailureMessage  = "failure_message"
	attrFailedAt        = "failed_at_ms"
	attrPayments        = "payments"
	attrExtraPayments   = "extra_payments"
	attrPaidTotal       = "paid_total"
	attrRefundTotals    = "refund_totals"
	attrUnsummed        = "unsummed_refunds"
	attrRefundCount     = "refund_count"
	attrRefundedTotal   = "refunded_total"
	attrLastRefundID    = "last_refund_event_id"
	attrLastRefundAt    = "last_refund_event_ms"
	attrAnomalies       = "anomalies"
	attrLastEventID     = "last_event_id"
	attrLastEventAt     = "last_event_created_ms"
	attrCreatedAt       = "created_at_ms"
	attrUpdatedAt       = "updated_at_ms"
	attrVersion         = "version"
	attrEvents          = "event_ids"
	attrRefundConflicts = "refund_conflicts"
	attrConflictIDs     = "conflicting_refunds"
)

// names maps the placeholders used in expressions to attribute names; every
// attribute goes through one, so reserved words (status, name, …) never get
// in the way.
var names = map[string]string{
	"#id": attrOrderID, "#status": attrStatus, "#amount": attrAmount, "#currency": attrCurrency,
	"#pid": attrPaymentID, "#peid": attrPaymentEventID, "#email": attrEmail, "#name": attrName,
	"#paid": attrPaidAt, "#paidby": attrPaidEventID, "#fcode": attrFailureCode, "#fmsg": attrFailureMessage,
	"#failed": attrFailedAt, "#payments": attrPayments, "#extra": attrExtraPayments, "#paidtotal": attrPaidTotal,
	"#totals": attrRefundTotals, "#unsummed": attrUnsummed, "#rcount": attrRefundCount, "#total": attrRefundedTotal,
	"#lastrid": attrLastRefundID, "#lastrat": attrLastRefundAt, "#anomalies": attrAnomalies,
	"#lastid": attrLastEventID, "#lastat": attrLastEventAt, "#created": attrCreatedAt,
	"#updated": attrUpdatedAt, "#version": attrVersion, "#rid": attrRefundID, "#events": attrEvents,
	"#conflicts": attrRefundConflicts, "#conflictids": attrConflictIDs,
	"#legacy": attrLegacyRefunds, "#remaining": attrLegacyRemaining,
}

// legacyRefs are the placeholders of the previous version's attributes:
// only an upgrade removes them (see versioned).
var legacyRefs = []string{"#legacy", "#remaining"}

// placeholder finds the attribute name placeholders of an expression.
var placeholder = regexp.MustCompile(`#[a-z]+`)

// namesFor returns the ExpressionAttributeNames for the expressions.
func namesFor(exprs ...string) map[string]string {
	out := map[string]string{}
	for _, e := range exprs {
		for _, ref := range placeholder.FindAllString(e, -1) {
			if n, ok := names[ref]; ok {
				out[ref] = n
			}
		}
	}
	return out
}

// RefundsTableSuffix names the refunds table of an orders table when none
// is given: "<orders table>-refunds".
const RefundsTableSuffix = "-refunds"

// Store is the orders table and its refunds table.
type Store struct {
	client  *dynamodb.Client
	table   string
	refunds string
}

// New returns the orders table called table, and its refunds table called
// table+RefundsTableSuffix, reached through client. WithRefundsTable names
// another refunds table.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table, refunds: table + RefundsTableSuffix}
}

// WithRefundsTable returns s with its refunds table called name (the
// template's RefundsTable); an empty name keeps the default.
func (s *Store) WithRefundsTable(name string) *Store {
	if name != "" {
		s.refunds = name
	}
	return s
}

// RefundsTable returns the name of the refunds table.
func (s *Store) RefundsTable() string { return s.refunds }

// CreateTable creates, for local runs and tests, the orders table called
// name (key order_id) and its refunds table name+RefundsTableSuffix (keys
// order_id and refund_id), both on-demand. It waits until they are ACTIVE
// and is idempotent: a table that already exists is not an error.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	if err := createTable(ctx, client, name, attrOrderID, ""); err != nil {
		return err
	}
	return CreateRefundsTable(ctx, client, name+RefundsTableSuffix)
}

// CreateRefundsTable creates the refunds table called name, as CreateTable
// does.
func CreateRefundsTable(ctx context.Context, client *dynamodb.Client, name string) error {
	return createTable(ctx, client, name, attrOrderID, attrRefundID)
}

func createTable(ctx context.Context, client *dynamodb.Client, name, hash, rng string) error {
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(hash), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}},
	}
	if rng != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(rng), AttributeType: types.ScalarAttributeTypeS})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
	}
	_, err := client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, createWait); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	return nil
}

// Get returns the order with id orderID, or ErrNotFound. An order the
// previous version of the store wrote is returned upgraded (it is written
// upgraded by the next event that names it).
func (s *Store) Get(ctx context.Context, orderID string) (orders.Order, error) {
	st, err := s.read(ctx, orderID)
	if err != nil {
		return orders.Order{}, fmt.Errorf("get order %s: %w", orderID, err)
	}
	if !st.exists {
		return orders.Order{}, fmt.Errorf("order %s: %w", orderID, ErrNotFound)
	}
	return st.order, nil
}

// state is an order as read: its version, whether it exists, and, for an
// item of the previous version, what its upgrade must write.
type state struct {
	order   orders.Order
	version int64
	exists  bool
	legacy  *legacy
}

// stateOf decodes item (empty: the order does not exist).
func stateOf(orderID string, item map[string]types.AttributeValue) (state, error) {
	if len(item) == 0 {
		return state{order: orders.Order{ID: orderID}}, nil
	}
	o, version, old, err := decodeItem(item)
	if err != nil {
		return state{}, err
	}
	return state{order: o, version: version, exists: true, legacy: old}, nil
}

// read reads the order with a consistent read.
func (s *Store) read(ctx context.Context, orderID string) (state, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(orderID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return state{}, err
	}
	return stateOf(orderID, out.Item)
}

// GetRefund returns the refund refundID as recorded for order orderID, or
// ErrNotFound: EventID and EventCreated are those of the event that
// applied it first (the one that told it); the amount, currency and
// payment are those that count (the earliest-created announcement's, when
// events contradicted each other).
func (s *Store) GetRefund(ctx context.Context, orderID, refundID string) (orders.Refund, error) {
	h, err := s.getHeld(ctx, orderID, refundID)
	return h.told, err
}

func (s *Store) getHeld(ctx context.Context, orderID, refundID string) (heldRefund, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.refunds),
		Key:            refundKey(orderID, refundID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return heldRefund{}, fmt.Errorf("get refund %s of order %s: %w", refundID, orderID, err)
	}
	if len(out.Item) == 0 {
		return heldRefund{}, fmt.Errorf("refund %s of order %s: %w", refundID, orderID, ErrNotFound)
	}
	h, err := decodeHeld(out.Item)
	if err != nil {
		return heldRefund{}, fmt.Errorf("get refund %s of order %s: %w", refundID, orderID, err)
	}
	return h, nil
}

// ApplyPayment applies the payment outcome p to order orderID at now and
// returns the order as stored, whether p changed it (false: a duplicate or
// stale event, nothing written) and the anomalies it brought. An invalid
// payment wraps orders.ErrInvalid, which is permanent.
//
// A payment the order holds from this same event (an earlier attempt, or
// the SDK's retry of a write whose answer was lost) changes nothing, and
// the anomalies it brought are reported all the same.
func (s *Store) ApplyPayment(ctx context.Context, orderID string, p orders.Payment, now time.Time) (orders.Applied, error) {
	if err := checkID(orderID); err != nil {
		return orders.Applied{}, err
	}
	if err := p.Validate(); err != nil {
		return orders.Applied{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	p.EventCreated, p.PaymentCreated = orders.Millis(p.EventCreated), orders.Millis(p.PaymentCreated)
	if p.PaymentCreated.IsZero() {
		p.PaymentCreated = p.EventCreated
	}
	p.Currency = strings.ToLower(strings.TrimSpace(p.Currency))
	now = orders.Millis(now)
	in := fastPayment(p, now)
	in.TableName, in.Key = aws.String(s.table), key(orderID)
	in.ReturnValues = types.ReturnValueAllNew
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	stored, refused, err := s.update(ctx, in)
	if err != nil {
		return orders.Applied{}, fmt.Errorf("update order %s: %w", orderID, err)
	}
	if refused == nil {
		// The fast path's condition: the order held no success and no
		// refund, hence no anomaly, and one payment brings none.
		return orders.Applied{Order: stored, Changed: true}, nil
	}
	st, err := stateOf(orderID, refused)
	for range maxAttempts {
		if err != nil {
			return orders.Applied{}, fmt.Errorf("order %s: %w", orderID, err)
		}
		if st.legacy != nil {
			if err := s.upgrade(ctx, orderID, st, now); err != nil {
				return orders.Applied{}, err
			}
			st, err = s.read(ctx, orderID)
			continue
		}
		old := st.order
		n, changed := old.ApplyPayment(p)
		if !changed {
			return orders.Applied{Order: old, NewAnomalies: paymentBrought(old, p)}, nil
		}
		n.Events = withEvent(old.Events, p.EventID)
		in := versioned(n.Stamped(orderID, !st.exists, now), st.exists, st.version)
		in.TableName, in.Key = aws.String(s.table), key(orderID)
		in.ReturnValues = types.ReturnValueAllNew
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		stored, refused, err = s.update(ctx, in)
		if err != nil {
			return orders.Applied{}, fmt.Errorf("update order %s at version %d: %w", orderID, st.version, err)
		}
		if refused == nil {
			return orders.Applied{Order: stored, Changed: true, NewAnomalies: orders.NewAnomalies(old, stored)}, nil
		}
		st, err = stateOf(orderID, refused)
	}
	return orders.Applied{}, fmt.Errorf("order %s after %d attempts: %w", orderID, maxAttempts, ErrContention)
}

// paymentBrought returns the anomalies that the success p brought to o,
// when o holds p's payment as announced by p's own event (an earlier
// attempt of it applied it: its anomalies were never reported); else none.
func paymentBrought(o orders.Order, p orders.Payment) []orders.Anomaly {
	if !p.Succeeded || !slices.ContainsFunc(o.Payments, func(r orders.PaymentRecord) bool {
		return r.PaymentID == p.PaymentID && r.Event.ID == p.EventID
	}) {
		return nil
	}
	return orders.NewAnomalies(o.WithoutPayment(p.PaymentID), o)
}

// ApplyRefund applies the refund r to order orderID at now. It returns what
// it did to the order and the refund as recorded (see GetRefund): its
// EventID is r's when r applied the refund id first, and then only r tells
// the refund.
//
// Another event with the same refund id changes nothing (Changed false),
// unless it contradicts the refund as recorded (another amount, currency
// or payment): the contradiction is recorded on the order once per refund
// id (refund_conflict), and when that event was created earlier than the
// announcement that counts, its refund counts instead, the order's sums
// adjusted (orders.Order.ResolveRefund). Every contradicting event reports
// the refund_conflict anomaly. An invalid refund wraps orders.ErrInvalid,
// which is permanent.
func (s *Store) ApplyRefund(ctx context.Context, orderID string, r orders.Refund, now time.Time) (orders.Applied, orders.Refund, error) {
	if err := checkID(orderID); err != nil {
		return orders.Applied{}, orders.Refund{}, err
	}
	if err := r.Validate(); err != nil {
		return orders.Applied{}, orders.Refund{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	r.EventCreated = orders.Millis(r.EventCreated)
	r.Currency = strings.ToLower(strings.TrimSpace(r.Currency))
	now = orders.Millis(now)
	var held *heldRefund // the refund id's item, once a write met it
	for range maxAttempts {
		st, err := s.read(ctx, orderID)
		if err != nil {
			return orders.Applied{}, orders.Refund{}, fmt.Errorf("read order %s: %w", orderID, err)
		}
		if st.legacy != nil {
			if err := s.upgrade(ctx, orderID, st, now); err != nil {
				return orders.Applied{}, orders.Refund{}, err
			}
			continue
		}
		var res refundResult
		if held == nil {
			res, err = s.putRefund(ctx, orderID, st, r, now)
			if err == nil && res.held != nil {
				// The refund id is held: resolve against its item,
				// with the order as read (its version guards it).
				res, err = s.resolveRefund(ctx, orderID, st, *res.held, r, now)
			}
		} else {
			res, err = s.resolveRefund(ctx, orderID, st, *held, r, now)
		}
		switch {
		case err != nil:
			return orders.Applied{}, orders.Refund{}, fmt.Errorf("apply refund %s to order %s: %w", r.RefundID, orderID, err)
		case res.done:
			return res.applied, res.recorded, nil
		}
		held = res.held
	}
	return orders.Applied{}, orders.Refund{}, fmt.Errorf("order %s after %d attempts: %w", orderID, maxAttempts, ErrContention)
}

// refundResult is the outcome of one write of ApplyRefund: done, with what
// to return, or to be tried again against held (nil: not known yet).
type refundResult struct {
	done     bool
	applied  orders.Applied
	recorded orders.Refund
	held     *heldRefund
}

// putRefund writes a new refund id: one transaction of the refund's item,
// on condition that the refund id is new for the order, and the order's
// new state, on condition of the version read. When the refund id is held
// already, the result carries its item (to resolve).
func (s *Store) putRefund(ctx context.Context, orderID string, st state, r orders.Refund, now time.Time) (refundResult, error) {
	old := st.order
	n, _ := old.ApplyRefund(r)
	n.Events = withEvent(old.Events, r.EventID)
	n = n.Stamped(orderID, !st.exists, now)
	upd := versioned(n, st.exists, st.version)
	cond := "attribute_not_exists(#rid)"
	ref, err := s.transact(ctx,
		types.TransactWriteItem{Put: &types.Put{
			TableName:                           aws.String(s.refunds),
			Item:                                refundItem(orderID, r, now, old.SumsRefund(r)),
			ConditionExpression:                 aws.String(cond),
			ExpressionAttributeNames:            namesFor(cond),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		orderUpdate(s.table, orderID, upd))
	switch {
	case err != nil:
		return refundResult{}, err
	case ref == nil:
		return refundResult{done: true, recorded: r, applied: orders.Applied{Order: n, Changed: true, NewAnomalies: orders.NewAnomalies(old, n)}}, nil
	case ref.refused[0]:
		held, err := s.heldFrom(ctx, orderID, r.RefundID, ref.item)
		return refundResult{held: &held}, err
	}
	return refundResult{}, nil // the order moved: read it again
}

// resolveRefund applies r, whose refund id the order holds as held (see
// ApplyRefund).
func (s *Store) resolveRefund(ctx context.Context, orderID string, st state, held heldRefund, r orders.Refund, now time.Time) (refundResult, error) {
	o := st.order
	recorded := held.told
	done := refundResult{done: true, recorded: recorded, applied: orders.Applied{Order: o}}
	switch {
	case held.told.EventID == r.EventID:
		// This event applied the refund id first, in an attempt whose
		// outcome was lost: report what its refund brought, if it still
		// counts.
		if held.counted.EventID == r.EventID {
			done.applied.NewAnomalies = orders.NewAnomalies(o.WithoutRefund(held.counted, held.summed), o)
		}
		return done, nil
	case held.counted.EventID == r.EventID:
		// This event took the refund over, in an attempt whose outcome
		// was lost.
		if held.flagged {
			done.applied.NewAnomalies = withConflict(nil, o)
		}
		return done, nil
	}
	n, outcome := o.ResolveRefund(held.counted, held.summed, held.flagged, r)
	next := held
	switch outcome {
	case orders.RefundDuplicate:
		return done, nil
	case orders.RefundAnnouncedEarlier:
		next.counted = r
	case orders.RefundContradicted:
		done.applied.NewAnomalies = withConflict(nil, o)
		if held.flagged {
			return done, nil // the conflict is on the order already
		}
		next.flagged = true
	case orders.RefundTakenOver:
		next.counted, next.flagged = r, true
		next.summed = o.WithoutRefund(held.counted, held.summed).SumsRefund(r)
	}
	items := []types.TransactWriteItem{{Update: refundUpdate(s.refunds, orderID, held, next)}}
	if outcome != orders.RefundAnnouncedEarlier {
		n.Events = withEvent(o.Events, r.EventID)
		n = n.Stamped(orderID, false, now)
		items = append(items, orderUpdate(s.table, orderID, versioned(n, true, st.version)))
	}
	ref, err := s.transact(ctx, items...)
	switch {
	case err != nil:
		return refundResult{}, err
	case ref == nil && outcome == orders.RefundAnnouncedEarlier:
		return done, nil
	case ref == nil:
		recorded.Amount, recorded.Currency, recorded.PaymentID = next.counted.Amount, next.counted.Currency, next.counted.PaymentID
		anomalies := withConflict(orders.NewAnomalies(o, n), n)
		return refundResult{done: true, recorded: recorded, applied: orders.Applied{Order: n, Changed: true, NewAnomalies: anomalies}}, nil
	case ref.refused[0]:
		// Another writer changed the refund's item: resolve against it.
		h, err := s.heldFrom(ctx, orderID, r.RefundID, ref.item)
		return refundResult{held: &h}, err
	}
	return refundResult{held: &held}, nil // the order moved: read it again
}

// withConflict returns anomalies with o's refund_conflict anomaly in it.
func withConflict(anomalies []orders.Anomaly, o orders.Order) []orders.Anomaly {
	a, held := o.Anomaly(orders.RefundConflict)
	if !held || slices.ContainsFunc(anomalies, func(x orders.Anomaly) bool { return x.Kind == orders.RefundConflict }) {
		return anomalies
	}
	return append(anomalies, a)
}

// refundUpdate is the update of a refund's item from held to next: the
// announcement that counts and the flags, on condition that the item is
// still as held (its rev).
func refundUpdate(table, orderID string, held, next heldRefund) *types.Update {
	c := next.counted
	values := map[string]types.AttributeValue{
		":amount": num(c.Amount), ":cur": str(c.Currency), ":pay": str(c.PaymentID),
		":ceid": str(c.EventID), ":cat": num(c.EventCreated.UnixMilli()),
		":conflict": &types.AttributeValueMemberBOOL{Value: next.flagged},
		":unsummed": &types.AttributeValueMemberBOOL{Value: !next.summed},
		":one":      num(1),
	}
	cond := "attribute_not_exists(#rrev)"
	if held.rev > 0 {
		cond, values[":rev"] = "#rrev = :rev", num(held.rev)
	}
	return &types.Update{
		TableName: aws.String(table),
		Key:       refundKey(orderID, c.RefundID),
		UpdateExpression: aws.String("SET #ramount = :amount, #rcur = :cur, #rpay = :pay, #rceid = :ceid, #rcat = :cat, " +
			"#rconflict = :conflict, #runsummed = :unsummed ADD #rrev :one"),
		ConditionExpression: aws.String("attribute_exists(#rid) AND " + cond),
		ExpressionAttributeNames: map[string]string{
			"#rid": attrRefundID, "#ramount": attrRefundAmount, "#rcur": attrRefundCur, "#rpay": attrRefundPayment,
			"#rceid": attrRefundCounted, "#rcat": attrRefundCountAt, "#rconflict": attrRefundConflict,
			"#runsummed": attrRefundUnsummed, "#rrev": attrRefundRev,
		},
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

// orderUpdate is the versioned update upd of the order, as an item of a
// transaction.
func orderUpdate(table, orderID string, upd *dynamodb.UpdateItemInput) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(table),
		Key:                       key(orderID),
		UpdateExpression:          upd.UpdateExpression,
		ConditionExpression:       upd.ConditionExpression,
		ExpressionAttributeNames:  upd.ExpressionAttributeNames,
		ExpressionAttributeValues: upd.ExpressionAttributeValues,
	}}
}

// refusal is a transaction canceled by conditions only.
type refusal struct {
	// refused tells, per item of the transaction, whether its condition
	// failed.
	refused []bool
	// item holds the attributes of the first refused item, when DynamoDB
	// returned them.
	item map[string]types.AttributeValue
}

// transact runs one TransactWriteItems. A transaction canceled only by
// conditions (ConditionalCheckFailed) is no error: it returns which items
// were refused, and the first refused item's attributes when DynamoDB
// returned them; nil when the transaction succeeded. A transaction canceled
// for another reason (TransactionConflict, ThrottlingError, …) is returned
// as the error, which awserr classifies by its reasons.
func (s *Store) transact(ctx context.Context, items ...types.TransactWriteItem) (*refusal, error) {
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return nil, nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, err
	}
	out := &refusal{refused: make([]bool, len(items))}
	conditions := false
	for i, reason := range tce.CancellationReasons {
		switch code := aws.ToString(reason.Code); code {
		case "None", "":
		case "ConditionalCheckFailed":
			if i < len(out.refused) {
				out.refused[i], conditions = true, true
				if out.item == nil {
					out.item = reason.Item
				}
			}
		default:
			return nil, err
		}
	}
	if !conditions {
		return nil, err
	}
	return out, nil
}

// heldFrom decodes the refund item a refused condition returned, or reads
// it when DynamoDB returned none.
func (s *Store) heldFrom(ctx context.Context, orderID, refundID string, item map[string]types.AttributeValue) (heldRefund, error) {
	if len(item) > 0 {
		if h, err := decodeHeld(item); err == nil {
			return h, nil
		}
	}
	return s.getHeld(ctx, orderID, refundID)
}

// maxTransactItems is how many writes one transaction may hold: DynamoDB
// takes 100, moto 25.
const maxTransactItems = 25

// upgrade writes the order st, read from an item of the previous version
// (before the refunds table), in this version's format: the attributes
// rebuilt from its facts (see decodeItem), the previous version's removed,
// and one item of the refunds table per refund it held, so that a refund
// id it applied is not applied again. The order's update and the refunds'
// items are one transaction, conditioned on the version read; an order
// with more refunds than a transaction holds gets its refunds' items
// first, each on condition that it is new (a repeat after a crash finds
// them), then its update. When another writer changed the order first,
// nothing is written: the caller reads it again. It costs one write, once
// per order of the previous version, when an event first names it.
func (s *Store) upgrade(ctx context.Context, orderID string, st state, now time.Time) error {
	upd := versioned(st.order.Stamped(orderID, false, now), true, st.version, legacyRefs...)
	appliedAt := st.legacy.appliedAt
	if appliedAt.IsZero() {
		appliedAt = now
	}
	seeds := make([]map[string]types.AttributeValue, 0, len(st.legacy.refunds))
	for _, r := range st.legacy.refunds {
		seeds = append(seeds, refundItem(orderID, r, appliedAt, true))
	}
	if len(seeds) < maxTransactItems {
		items := []types.TransactWriteItem{orderUpdate(s.table, orderID, upd)}
		for _, item := range seeds {
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.refunds), Item: item}})
		}
		if _, err := s.transact(ctx, items...); err != nil {
			return fmt.Errorf("upgrade order %s of the previous version: %w", orderID, err)
		}
		return nil
	}
	cond := "attribute_not_exists(#rid)"
	for _, item := range seeds {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.refunds), Item: item,
			ConditionExpression: aws.String(cond), ExpressionAttributeNames: namesFor(cond)})
		var ccf *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &ccf) {
			return fmt.Errorf("upgrade order %s of the previous version: refund item: %w", orderID, err)
		}
	}
	upd.TableName, upd.Key = aws.String(s.table), key(orderID)
	if _, _, err := s.update(ctx, upd); err != nil {
		return fmt.Errorf("upgrade order %s of the previous version: %w", orderID, err)
	}
	return nil
}

// update runs one UpdateItem. It returns the stored order, or the item as it
// was (possibly empty) when the condition was refused.
func (s *Store) update(ctx context.Context, in *dynamodb.UpdateItemInput) (orders.Order, map[string]types.AttributeValue, error) {
	out, err := s.client.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		if ccf.Item == nil {
			ccf.Item = map[string]types.AttributeValue{}
		}
		return orders.Order{}, ccf.Item, nil
	}
	if err != nil {
		return orders.Order{}, nil, err
	}
	o, _, err := decode(out.Attributes)
	return o, nil, err
}

// fastPayment is the fast-path update for p (see the package doc). Its
// condition admits only an order with no success and no refund, hence no
// payments, sums, refunds or anomalies: the attributes of those are left
// absent (a missing sum or count reads as 0), which keeps the expression
// short, as DynamoDB's (and moto's) cost of a write grows with it.
func fastPayment(p orders.Payment, now time.Time) *dynamodb.UpdateItemInput {
	values := map[string]types.AttributeValue{
		":amount": num(p.Amount), ":currency": str(p.Currency), ":pid": str(p.PaymentID),
		":eid": str(p.EventID), ":email": str(p.CustomerEmail), ":name": str(p.CustomerName),
		":at": num(p.EventCreated.UnixMilli()), ":zero": num(0), ":one": num(1), ":now": num(now.UnixMilli()),
	}
	addEvent(values, p.EventID)
	set := `SET #amount = :amount, #currency = :currency, #pid = :pid, #peid = :eid, #email = :email,
		#name = :name, #lastid = :eid, #lastat = :at, #created = if_not_exists(#created, :now), #updated = :now, #status = :status,
		#events = list_append(if_not_exists(#events, :noevents), :event)`
	// No refund: the count is absent (no write since the fast path's) or
	// 0, and the item is not one of the previous version, whose refunds
	// are a map (and whose payment is not in the payments list): the slow
	// path upgrades those.
	noRefund := `(attribute_not_exists(#rcount) OR #rcount = :zero) AND attribute_not_exists(#legacy)`
	var update, cond string
	if p.Succeeded {
		values[":status"] = str(string(orders.Paid))
		values[":payments"] = paymentsValue([]orders.PaymentRecord{{
			PaymentID: p.PaymentID, Created: p.PaymentCreated, Amount: p.Amount, Currency: p.Currency,
			Event: orders.EventRef{ID: p.EventID, Created: p.EventCreated},
		}})
		update = set + `, #paid = :at, #paidby = :eid, #payments = :payments, #paidtotal = :amount
			REMOVE #fcode, #fmsg, #failed ADD #version :one`
		cond = `attribute_not_exists(#id) OR (attribute_not_exists(#paid) AND ` + noRefund + `)`
	} else {
		values[":status"] = str(string(orders.PaymentFailed))
		values[":fcode"], values[":fmsg"] = str(p.FailureCode), str(p.FailureMessage)
		update = set + `, #fcode = :fcode, #fmsg = :fmsg, #failed = :at ADD #version :one`
		cond = `attribute_not_exists(#id) OR (attribute_not_exists(#paid) AND ` + noRefund + ` AND
			(attribute_not_exists(#failed) OR #failed < :at OR (#failed = :at AND #peid < :eid)))`
	}
	update, cond = oneLine(update), oneLine("("+cond+") AND "+eventsRoom)
	return &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  namesFor(update, cond),
		ExpressionAttributeValues: values,
	}
}

// eventsRoom is the fast path's extra condition: the event_ids list has room
// for one more id (a full one is trimmed by the slow path).
const eventsRoom = `(attribute_not_exists(#events) OR size(#events) < :maxevents)`

// addEvent adds the values the fast path's event_ids append and eventsRoom
// use.
func addEvent(values map[string]types.AttributeValue, eventID string) {
	values[":event"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{str(eventID)}}
	values[":noevents"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{}}
	values[":maxevents"] = num(MaxEvents)
}

// withEvent returns a new list: events with eventID appended (unless it is
// already the last), trimmed to the most recent MaxEvents.
func withEvent(events []string, eventID string) []string {
	if n := len(events); n > 0 && events[n-1] == eventID {
		return slices.Clone(events)
	}
	out := append(slices.Clone(events), eventID)
	if len(out) > MaxEvents {
		out = out[len(out)-MaxEvents:]
	}
	return out
}

// versioned is the slow-path update: it writes the whole state o, on
// condition that the item is still at version (or still missing), and
// removes the attributes of the placeholders in remove (the previous
// version's, on an upgrade).
func versioned(o orders.Order, exists bool, version int64, remove ...string) *dynamodb.UpdateItemInput {
	item := encode(o)
	values := map[string]types.AttributeValue{":v": num(version), ":one": num(1)}
	var set []string
	remove = slices.Clone(remove)
	for _, ref := range sortedRefs() {
		attr := names[ref]
		if attr == attrOrderID || attr == attrVersion || attr == attrRefundID || slices.Contains(legacyRefs, ref) {
			continue
		}
		if v, ok := item[attr]; ok {
			val := fmt.Sprintf(":v%d", len(set))
			set = append(set, ref+" = "+val)
			values[val] = v
		} else {
			remove = append(remove, ref)
		}
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	update += " ADD #version :one"
	var cond string
	switch {
	case !exists:
		cond = "attribute_not_exists(#id)"
		delete(values, ":v")
	case version == 0:
		cond = "attribute_exists(#id) AND attribute_not_exists(#version)"
		delete(values, ":v")
	default:
		cond = "#version = :v"
	}
	return &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  namesFor(update, cond),
		ExpressionAttributeValues: values,
	}
}

// sortedRefs returns the placeholders of names in a fixed order, so the
// expressions built from them are deterministic.
func sortedRefs() []string {
	return slices.Sorted(maps.Keys(names))
}

// oneLine folds the white space of an expression written over several lines
// into single spaces: moto's expression parser refuses tabs and newlines.
func oneLine(expr string) string { return strings.Join(strings.Fields(expr), " ") }

func checkID(orderID string) error {
	if orderID == "" {
		return fmt.Errorf("no order id: %w", orders.ErrInvalid)
	}
	return nil
}

func key(orderID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrOrderID: str(orderID)}
}

func refundKey(orderID, refundID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrOrderID: str(orderID), attrRefundID: str(refundID)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
