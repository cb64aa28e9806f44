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
// last_refund_event_id and last_refund_event_ms, anomalies (a list of kind
// and detail), last_event_id, last_event_created_ms, created_at_ms,
// updated_at_ms and version, a counter every write increments. Times are
// Unix milliseconds; event times are truncated to the millisecond before the
// rules are applied. Whatever the number of refunds, the item stays a few
// hundred bytes: it keeps sums, never one entry per refund.
//
// The refunds table, key order_id (S) and refund_id (S), holds one item per
// refund applied: payment_id, amount, currency, event_id (the event that
// applied it), event_created_ms and applied_at_ms. It is how a refund id is
// applied once, and it lists an order's refunds (a Query on order_id).
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
// which condition failed: a refund id already applied returns the refund as
// recorded and writes nothing; a version that moved is read and tried again.
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

	"github.com/altafinex-webhooks/receiver/internal/orders"
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
	attrOrderID        = "order_id"
	attrStatus         = "status"
	attrAmount         = "amount"
	attrCurrency       = "currency"
	attrPaymentID      = "payment_id"
	attrPaymentEventID = "payment_event_id"
	attrEmail          = "customer_email"
	attrName           = "customer_name"
	attrPaidAt         = "paid_at_ms"
	attrPaidEventID    = "paid_event_id"
	attrFailureCode    = "failure_code"
	attrFailureMessage = "failure_message"
	attrFailedAt       = "failed_at_ms"
	attrPayments       = "payments"
	attrExtraPayments  = "extra_payments"
	attrPaidTotal      = "paid_total"
	attrRefundTotals   = "refund_totals"
	attrUnsummed       = "unsummed_refunds"
	attrRefundCount    = "refund_count"
	attrRefundedTotal  = "refunded_total"
	attrLastRefundID   = "last_refund_event_id"
	attrLastRefundAt   = "last_refund_event_ms"
	attrAnomalies      = "anomalies"
	attrLastEventID    = "last_event_id"
	attrLastEventAt    = "last_event_created_ms"
	attrCreatedAt      = "created_at_ms"
	attrUpdatedAt      = "updated_at_ms"
	attrVersion        = "version"
	attrEvents         = "event_ids"
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
}

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

// Get returns the order with id orderID, or ErrNotFound.
func (s *Store) Get(ctx context.Context, orderID string) (orders.Order, error) {
	o, _, exists, err := s.read(ctx, orderID)
	if err != nil {
		return orders.Order{}, fmt.Errorf("get order %s: %w", orderID, err)
	}
	if !exists {
		return orders.Order{}, fmt.Errorf("order %s: %w", orderID, ErrNotFound)
	}
	return o, nil
}

// read reads the order with a consistent read, with its version.
func (s *Store) read(ctx context.Context, orderID string) (orders.Order, int64, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(orderID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return orders.Order{}, 0, false, err
	}
	if len(out.Item) == 0 {
		return orders.Order{ID: orderID}, 0, false, nil
	}
	o, version, err := decode(out.Item)
	return o, version, err == nil, err
}

// GetRefund returns the refund refundID as recorded for order orderID
// (EventID is the event that applied it), or ErrNotFound.
func (s *Store) GetRefund(ctx context.Context, orderID, refundID string) (orders.Refund, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.refunds),
		Key:            refundKey(orderID, refundID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return orders.Refund{}, fmt.Errorf("get refund %s of order %s: %w", refundID, orderID, err)
	}
	if len(out.Item) == 0 {
		return orders.Refund{}, fmt.Errorf("refund %s of order %s: %w", refundID, orderID, ErrNotFound)
	}
	r, err := decodeRefund(out.Item)
	if err != nil {
		return orders.Refund{}, fmt.Errorf("get refund %s of order %s: %w", refundID, orderID, err)
	}
	return r, nil
}

// ApplyPayment applies the payment outcome p to order orderID at now and
// returns the order as stored, whether p changed it (false: a duplicate or
// stale event, nothing written) and the anomalies it brought. An invalid
// payment wraps orders.ErrInvalid, which is permanent.
func (s *Store) ApplyPayment(ctx context.Context, orderID string, p orders.Payment, now time.Time) (orders.Applied, error) {
	if err := checkID(orderID); err != nil {
		return orders.Applied{}, err
	}
	if err := p.Validate(); err != nil {
		return orders.Applied{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	p.EventCreated, p.PaymentCreated = ms(p.EventCreated), ms(p.PaymentCreated)
	if p.PaymentCreated.IsZero() {
		p.PaymentCreated = p.EventCreated
	}
	p.Currency = strings.ToLower(strings.TrimSpace(p.Currency))
	now = ms(now)
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
	for range maxAttempts {
		old, version, err := decode(refused)
		if err != nil {
			return orders.Applied{}, fmt.Errorf("order %s: %w", orderID, err)
		}
		exists := len(refused) > 0
		if !exists {
			old = orders.Order{ID: orderID}
		}
		n, changed := old.ApplyPayment(p)
		if !changed {
			return orders.Applied{Order: old}, nil
		}
		n.Events = withEvent(old.Events, p.EventID)
		in := versioned(stamp(n, orderID, exists, now), exists, version)
		in.TableName, in.Key = aws.String(s.table), key(orderID)
		in.ReturnValues = types.ReturnValueAllNew
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		stored, refused, err = s.update(ctx, in)
		if err != nil {
			return orders.Applied{}, fmt.Errorf("update order %s at version %d: %w", orderID, version, err)
		}
		if refused == nil {
			return orders.Applied{Order: stored, Changed: true, NewAnomalies: orders.NewAnomalies(old, stored)}, nil
		}
	}
	return orders.Applied{}, fmt.Errorf("order %s after %d attempts: %w", orderID, maxAttempts, ErrContention)
}

// ApplyRefund applies the refund r to order orderID at now. It returns what
// it did to the order (Changed is false when the refund id was applied
// already: nothing written) and the refund as recorded: r itself when this
// call applied it, else the refund as the event that applied that refund id
// first recorded it. An invalid refund wraps orders.ErrInvalid, which is
// permanent.
func (s *Store) ApplyRefund(ctx context.Context, orderID string, r orders.Refund, now time.Time) (orders.Applied, orders.Refund, error) {
	if err := checkID(orderID); err != nil {
		return orders.Applied{}, orders.Refund{}, err
	}
	if err := r.Validate(); err != nil {
		return orders.Applied{}, orders.Refund{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	r.EventCreated = ms(r.EventCreated)
	r.Currency = strings.ToLower(strings.TrimSpace(r.Currency))
	now = ms(now)
	for range maxAttempts {
		old, version, exists, err := s.read(ctx, orderID)
		if err != nil {
			return orders.Applied{}, orders.Refund{}, fmt.Errorf("read order %s: %w", orderID, err)
		}
		n, _ := old.ApplyRefund(r)
		n.Events = withEvent(old.Events, r.EventID)
		upd := versioned(stamp(n, orderID, exists, now), exists, version)
		cond := "attribute_not_exists(#rid)"
		_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{
				TableName:                           aws.String(s.refunds),
				Item:                                refundItem(orderID, r, now),
				ConditionExpression:                 aws.String(cond),
				ExpressionAttributeNames:            namesFor(cond),
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
			{Update: &types.Update{
				TableName:                 aws.String(s.table),
				Key:                       key(orderID),
				UpdateExpression:          upd.UpdateExpression,
				ConditionExpression:       upd.ConditionExpression,
				ExpressionAttributeNames:  upd.ExpressionAttributeNames,
				ExpressionAttributeValues: upd.ExpressionAttributeValues,
			}},
		}})
		if err == nil {
			return orders.Applied{Order: stamp(n, orderID, exists, now), Changed: true, NewAnomalies: orders.NewAnomalies(old, n)}, r, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return orders.Applied{}, orders.Refund{}, fmt.Errorf("apply refund %s to order %s: %w", r.RefundID, orderID, err)
		}
		switch reasons := tce.CancellationReasons; {
		case len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed":
			held, derr := decodeRefund(reasons[0].Item)
			if derr != nil || len(reasons[0].Item) == 0 {
				// No item returned: read the refund instead.
				if held, err = s.GetRefund(ctx, orderID, r.RefundID); err != nil {
					return orders.Applied{}, orders.Refund{}, err
				}
			}
			return orders.Applied{Order: old}, held, nil
		case len(reasons) > 1 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed":
			continue // another writer changed the order: read it again
		default:
			return orders.Applied{}, orders.Refund{}, fmt.Errorf("apply refund %s to order %s: %w", r.RefundID, orderID, err)
		}
	}
	return orders.Applied{}, orders.Refund{}, fmt.Errorf("order %s after %d attempts: %w", orderID, maxAttempts, ErrContention)
}

// stamp sets the store's fields of n before a write.
func stamp(n orders.Order, orderID string, exists bool, now time.Time) orders.Order {
	n.ID, n.UpdatedAt = orderID, now
	if !exists {
		n.CreatedAt = now
	}
	return n
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
	// No refund: the count is absent (no write since the fast path's) or 0.
	noRefund := `(attribute_not_exists(#rcount) OR #rcount = :zero)`
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
// condition that the item is still at version (or still missing).
func versioned(o orders.Order, exists bool, version int64) *dynamodb.UpdateItemInput {
	item := encode(o)
	values := map[string]types.AttributeValue{":v": num(version), ":one": num(1)}
	var set, remove []string
	for _, ref := range sortedRefs() {
		attr := names[ref]
		if attr == attrOrderID || attr == attrVersion || attr == attrRefundID {
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

// ms truncates t to the millisecond the table keeps, in UTC.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
