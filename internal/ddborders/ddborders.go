// Package ddborders stores orders in the DynamoDB orders table, applying the
// rules of the orders package with conditional writes, so that two
// processors racing on one order cannot both win and an event applied twice
// changes nothing.
//
// # Item
//
// Key order_id (S). Attributes: status, amount, currency, payment_id,
// payment_event_id, customer_email, customer_name, paid_at_ms (present
// exactly when a success is held), failure_code, failure_message,
// failed_at_ms (present exactly when a failure is held), refunds (a map,
// always present, of refund id to a map of amount, event_id and
// event_created_ms: the refund and the event that applied it), refunded_total, remaining (paid
// amount minus refunded total, present with a success), last_event_id,
// last_event_created_ms, created_at_ms, updated_at_ms and version, a counter
// every write increments. Times are Unix milliseconds; event times are
// truncated to the millisecond before the rules are applied.
//
// # One write per event
//
// Each event costs exactly one UpdateItem on the happy path, with no read
// before it. The fast path is a blind UpdateItem whose condition is the
// precondition under which its fixed update equals the orders package's
// result:
//
//   - payment.succeeded: the order does not exist, or holds no success and
//     no refund; it becomes PAID.
//   - payment.failed: the order does not exist, or holds no success, no
//     refund and no later failure; it becomes PAYMENT_FAILED.
//   - refund.completed: the order holds a success in the refund's currency,
//     not this refund id, the refund is the latest event, and it brings the
//     refunded total to the paid amount (remaining <= amount); it becomes
//     REFUNDED, the refund (amount and event) is added to the map and
//     refunded_total is ADDed.
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
// A partial refund, refunds before the payment, out-of-order refunds and an
// earlier-created event taking over a refund id already held take the slow
// path: one refused write plus one versioned write. DynamoDB cannot
// choose a status from a comparison inside one update, so the fast path has
// to guess one outcome; it guesses a full refund, the common case.
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
	attrFailureCode    = "failure_code"
	attrFailureMessage = "failure_message"
	attrFailedAt       = "failed_at_ms"
	attrRefunds        = "refunds"
	attrRefundedTotal  = "refunded_total"
	attrRemaining      = "remaining"
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
	"#paid": attrPaidAt, "#fcode": attrFailureCode, "#fmsg": attrFailureMessage, "#failed": attrFailedAt,
	"#refunds": attrRefunds, "#total": attrRefundedTotal, "#remaining": attrRemaining,
	"#lastid": attrLastEventID, "#lastat": attrLastEventAt, "#created": attrCreatedAt,
	"#updated": attrUpdatedAt, "#version": attrVersion, "#events": attrEvents,
}

// placeholder finds the attribute name placeholders of an expression.
var placeholder = regexp.MustCompile(`#[a-z]+`)

// namesFor returns the ExpressionAttributeNames for the expressions, plus
// the extra ones given.
func namesFor(extra map[string]string, exprs ...string) map[string]string {
	out := maps.Clone(extra)
	if out == nil {
		out = map[string]string{}
	}
	for _, e := range exprs {
		for _, ref := range placeholder.FindAllString(e, -1) {
			if n, ok := names[ref]; ok {
				out[ref] = n
			}
		}
	}
	return out
}

// Store is the orders table.
type Store struct {
	client *dynamodb.Client
	table  string
}

// New returns the orders table called table, reached through client.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// CreateTable creates the orders table called name for local runs and tests:
// on-demand billing, key order_id (S). It waits until the table is ACTIVE and
// is idempotent: a table that already exists is not an error.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrOrderID), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrOrderID), KeyType: types.KeyTypeHash}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create orders table %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, createWait); err != nil {
		return fmt.Errorf("wait for orders table %s: %w", name, err)
	}
	return nil
}

// Get returns the order with id orderID, or ErrNotFound.
func (s *Store) Get(ctx context.Context, orderID string) (orders.Order, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(orderID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return orders.Order{}, fmt.Errorf("get order %s: %w", orderID, err)
	}
	if len(out.Item) == 0 {
		return orders.Order{}, fmt.Errorf("order %s: %w", orderID, ErrNotFound)
	}
	o, _, err := decode(out.Item)
	if err != nil {
		return orders.Order{}, fmt.Errorf("get order %s: %w", orderID, err)
	}
	return o, nil
}

// ApplyPayment applies the payment outcome p to order orderID at now and
// returns the order as stored, and whether p changed it (false: a duplicate
// or stale event, nothing written). An invalid payment wraps
// orders.ErrInvalid and a currency conflict orders.ErrCurrencyMismatch:
// both are permanent.
func (s *Store) ApplyPayment(ctx context.Context, orderID string, p orders.Payment, now time.Time) (orders.Order, bool, error) {
	if err := checkID(orderID); err != nil {
		return orders.Order{}, false, err
	}
	if err := p.Validate(); err != nil {
		return orders.Order{}, false, fmt.Errorf("order %s: %w", orderID, err)
	}
	p.EventCreated = ms(p.EventCreated)
	now = ms(now)
	in := fastPayment(p, now)
	in.TableName, in.Key = aws.String(s.table), key(orderID)
	return s.apply(ctx, orderID, in, now, func(o orders.Order) (orders.Order, bool, error) {
		if err := o.CheckPayment(p); err != nil {
			return o, false, err
		}
		n, changed := o.ApplyPayment(p)
		if changed {
			n.Events = withEvent(o.Events, p.EventID)
		}
		return n, changed, nil
	})
}

// ApplyRefund applies the refund r to order orderID at now and returns the
// order as stored, and whether r changed it (false: the refund id was
// already applied, nothing written). An invalid refund wraps
// orders.ErrInvalid and a refund in another currency
// orders.ErrCurrencyMismatch: both are permanent.
func (s *Store) ApplyRefund(ctx context.Context, orderID string, r orders.Refund, now time.Time) (orders.Order, bool, error) {
	if err := checkID(orderID); err != nil {
		return orders.Order{}, false, err
	}
	if err := r.Validate(); err != nil {
		return orders.Order{}, false, fmt.Errorf("order %s: %w", orderID, err)
	}
	r.EventCreated = ms(r.EventCreated)
	now = ms(now)
	in := fastRefund(r, now)
	in.TableName, in.Key = aws.String(s.table), key(orderID)
	return s.apply(ctx, orderID, in, now, func(o orders.Order) (orders.Order, bool, error) {
		if err := o.CheckRefund(r); err != nil {
			return o, false, err
		}
		n, changed := o.ApplyRefund(r)
		if changed {
			n.Events = withEvent(o.Events, r.EventID)
		}
		return n, changed, nil
	})
}

// apply runs the fast path fast, then on a refused condition the slow path:
// rule computes the new state from the item the refusal returned, and a
// version-conditioned write stores it.
func (s *Store) apply(ctx context.Context, orderID string, fast *dynamodb.UpdateItemInput, now time.Time,
	rule func(orders.Order) (orders.Order, bool, error)) (orders.Order, bool, error) {
	fast.ReturnValues = types.ReturnValueAllNew
	fast.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	stored, refused, err := s.update(ctx, fast)
	if err != nil {
		return orders.Order{}, false, fmt.Errorf("update order %s: %w", orderID, err)
	}
	if refused == nil {
		return stored, true, nil
	}
	for range maxAttempts {
		old, version, err := decode(refused)
		if err != nil {
			return orders.Order{}, false, fmt.Errorf("order %s: %w", orderID, err)
		}
		exists := len(refused) > 0
		if !exists {
			old = orders.Order{ID: orderID}
		}
		n, changed, err := rule(old)
		if err != nil {
			return old, false, fmt.Errorf("order %s: %w", orderID, err)
		}
		if !changed {
			return old, false, nil
		}
		n.ID, n.UpdatedAt = orderID, now
		if !exists {
			n.CreatedAt = now
		}
		in := versioned(n, exists, version)
		in.TableName, in.Key = aws.String(s.table), key(orderID)
		stored, refused, err = s.update(ctx, in)
		if err != nil {
			return orders.Order{}, false, fmt.Errorf("update order %s at version %d: %w", orderID, version, err)
		}
		if refused == nil {
			return stored, true, nil
		}
	}
	return orders.Order{}, false, fmt.Errorf("order %s after %d attempts: %w", orderID, maxAttempts, ErrContention)
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

// fastPayment is the fast-path update for p.
func fastPayment(p orders.Payment, now time.Time) *dynamodb.UpdateItemInput {
	values := map[string]types.AttributeValue{
		":amount": num(p.Amount), ":currency": str(p.Currency), ":pid": str(p.PaymentID),
		":eid": str(p.EventID), ":email": str(p.CustomerEmail), ":name": str(p.CustomerName),
		":at": num(p.EventCreated.UnixMilli()), ":zero": num(0), ":one": num(1),
		":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		":now":   num(now.UnixMilli()),
	}
	addEvent(values, p.EventID)
	set := `SET #amount = :amount, #currency = :currency, #pid = :pid, #peid = :eid, #email = :email,
		#name = :name, #total = :zero, #refunds = :empty, #lastid = :eid, #lastat = :at,
		#created = if_not_exists(#created, :now), #updated = :now, #status = :status,
		#events = list_append(if_not_exists(#events, :noevents), :event)`
	var update, cond string
	if p.Succeeded {
		values[":status"] = str(string(orders.Paid))
		update = set + `, #paid = :at, #remaining = :amount REMOVE #fcode, #fmsg, #failed ADD #version :one`
		cond = `(attribute_not_exists(#id) OR (attribute_not_exists(#paid) AND #total = :zero))`
	} else {
		values[":status"] = str(string(orders.PaymentFailed))
		values[":fcode"], values[":fmsg"] = str(p.FailureCode), str(p.FailureMessage)
		update = set + `, #fcode = :fcode, #fmsg = :fmsg, #failed = :at REMOVE #paid, #remaining ADD #version :one`
		cond = `(attribute_not_exists(#id) OR (attribute_not_exists(#paid) AND #total = :zero AND
			(attribute_not_exists(#failed) OR #failed < :at OR (#failed = :at AND #peid < :eid))))`
	}
	update, cond = oneLine(update), oneLine(cond+" AND "+eventsRoom)
	return &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  namesFor(nil, update, cond),
		ExpressionAttributeValues: values,
	}
}

// fastRefund is the fast-path update for r: it assumes a full refund.
func fastRefund(r orders.Refund, now time.Time) *dynamodb.UpdateItemInput {
	update := `SET #refunds.#rid = :refund, #status = :status, #lastid = :eid, #lastat = :at, #updated = :now,
		#events = list_append(if_not_exists(#events, :noevents), :event)
		ADD #total :amt, #remaining :neg, #version :one`
	cond := `attribute_exists(#paid) AND attribute_not_exists(#refunds.#rid) AND #currency = :currency AND
		#remaining <= :amt AND (#lastat < :at OR (#lastat = :at AND #lastid < :eid))`
	update, cond = oneLine(update), oneLine(cond+" AND "+eventsRoom)
	values := map[string]types.AttributeValue{
		":refund": refundValue(r.Amount, orders.EventRef{ID: r.EventID, Created: r.EventCreated}),
		":amt":    num(r.Amount), ":neg": num(-r.Amount), ":status": str(string(orders.Refunded)),
		":eid": str(r.EventID), ":at": num(r.EventCreated.UnixMilli()), ":now": num(now.UnixMilli()),
		":currency": str(r.Currency), ":one": num(1),
	}
	addEvent(values, r.EventID)
	return &dynamodb.UpdateItemInput{
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  namesFor(map[string]string{"#rid": r.RefundID}, update, cond),
		ExpressionAttributeValues: values,
	}
}

// eventsRoom is the fast paths' extra condition: the event_ids list has room
// for one more id (a full one is trimmed by the slow path).
const eventsRoom = `(attribute_not_exists(#events) OR size(#events) < :maxevents)`

// addEvent adds the values the fast paths' event_ids append and eventsRoom
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
	update := "SET "
	i := 0
	for _, ref := range sortedRefs() {
		attr := names[ref]
		if attr == attrOrderID || attr == attrVersion {
			continue
		}
		v, ok := item[attr]
		if !ok {
			continue
		}
		if i > 0 {
			update += ", "
		}
		update += fmt.Sprintf("%s = :v%d", ref, i)
		values[fmt.Sprintf(":v%d", i)] = v
		i++
	}
	var remove []string
	for _, ref := range sortedRefs() {
		attr := names[ref]
		if _, ok := item[attr]; !ok && attr != attrOrderID && attr != attrVersion {
			remove = append(remove, ref)
		}
	}
	if len(remove) > 0 {
		update += " REMOVE "
		for j, ref := range remove {
			if j > 0 {
				update += ", "
			}
			update += ref
		}
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
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            namesFor(nil, update, cond),
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
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
