package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// OrderTable is the part of the DynamoDB client the order commands use.
type OrderTable interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ OrderTable = (*dynamodb.Client)(nil)

// ErrOrderNotFound is returned by GetOrder when the table has no such order.
var ErrOrderNotFound = errors.New("order not found")

// ErrUnknownOrderStatus is returned by ParseOrderStatuses for a name that is
// no order status.
var ErrUnknownOrderStatus = errors.New("unknown order status")

// AnomaliesAttr is the order item attribute that holds the anomalies the
// processor recorded on the order (a double charge, a currency mismatch,
// an over-refund, a foreign refund). The view shows whatever it holds, as
// it is; orders list --anomaly selects the orders that have it.
const AnomaliesAttr = "anomalies"

// shownAttrs are the order item attributes the view shows as fields; any
// other attribute is shown as it is, under Other.
var shownAttrs = []string{
	"order_id", "status", "amount", "currency", "payment_id", "payment_event_id", "customer_email",
	"customer_name", "paid_at_ms", "paid_event_id", "failure_code", "failure_message", "failed_at_ms",
	"payments", "extra_payments", "paid_total", "refund_totals", "unsummed_refunds", "refund_count",
	"refunded_total", "last_refund_event_id", "last_refund_event_ms", "last_event_id",
	"last_event_created_ms", "created_at_ms", "updated_at_ms", "version", "event_ids", AnomaliesAttr,
}

// OrderView is an order as the operator's tool shows it (the --json shape
// of webhookctl orders get).
type OrderView struct {
	OrderID        string        `json:"order_id"`
	Status         orders.Status `json:"status"`
	Amount         int64         `json:"amount"`
	Currency       string        `json:"currency,omitempty"`
	PaymentID      string        `json:"payment_id,omitempty"`
	CustomerEmail  string        `json:"customer_email,omitempty"`
	CustomerName   string        `json:"customer_name,omitempty"`
	PaidAt         *time.Time    `json:"paid_at,omitempty"`
	FailureCode    string        `json:"failure_code,omitempty"`
	FailureMessage string        `json:"failure_message,omitempty"`
	FailedAt       *time.Time    `json:"failed_at,omitempty"`
	// Payments are the successful payments the order holds, earliest
	// first (more than one is a double charge), ExtraPayments those it
	// holds no room for; PaidTotal sums Payments.
	Payments      []PaymentView `json:"payments"`
	ExtraPayments int           `json:"extra_payments,omitempty"`
	PaidTotal     int64         `json:"paid_total"`
	// RefundTotals sum the refunds per payment and currency (each refund
	// is an item of the refunds table), UnsummedRefunds counts those of
	// further payments or currencies; RefundCount counts them all.
	RefundedTotal   int64             `json:"refunded_total"`
	RefundTotals    []RefundTotalView `json:"refund_totals"`
	UnsummedRefunds int               `json:"unsummed_refunds,omitempty"`
	RefundCount     int               `json:"refund_count"`
	Anomalies       any               `json:"anomalies,omitempty"`
	Other           map[string]any    `json:"other,omitempty"`
	CreatedAt       *time.Time        `json:"created_at,omitempty"`
	UpdatedAt       *time.Time        `json:"updated_at,omitempty"`
	// Timeline is every event the order's item names (the ids it keeps,
	// its payments' and its latest refund's), with its record, oldest first.
	Timeline []TimelineEntry `json:"timeline"`
}

// PaymentView is one successful payment the order holds.
type PaymentView struct {
	PaymentID string     `json:"payment_id"`
	Amount    int64      `json:"amount"`
	Currency  string     `json:"currency"`
	Created   *time.Time `json:"created,omitempty"`
	EventID   string     `json:"event_id,omitempty"`
}

// RefundTotalView is the sum of the refunds of one payment in one
// currency.
type RefundTotalView struct {
	PaymentID string `json:"payment_id"`
	Currency  string `json:"currency"`
	Amount    int64  `json:"amount"`
	Count     int    `json:"count"`
}

// TimelineEntry is one event that touched the order.
type TimelineEntry struct {
	EventID string `json:"event_id"`
	// Found is false when the events table has no record any more (its
	// TTL passed): the rest is then empty.
	Found      bool               `json:"found"`
	Type       string             `json:"type,omitempty"`
	Status     eventrecord.Status `json:"status,omitempty"`
	Created    *time.Time         `json:"created,omitempty"`
	ReceivedAt *time.Time         `json:"received_at,omitempty"`
	UpdatedAt  *time.Time         `json:"updated_at,omitempty"`
	Attempts   int                `json:"attempts,omitempty"`
	Error      string             `json:"error,omitempty"`
}

// Text renders amount, in the order's currency, for people.
func (v OrderView) Text(amount int64) string {
	if v.Currency == "" {
		return fmt.Sprint(amount)
	}
	return orders.FormatAmount(amount, v.Currency)
}

// GetOrder reads order orderID from table and the records of the events
// that touched it from er. It returns an error wrapping ErrOrderNotFound
// when there is no such order.
func GetOrder(ctx context.Context, db OrderTable, table string, er EventReader, orderID string) (OrderView, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]types.AttributeValue{"order_id": &types.AttributeValueMemberS{Value: orderID}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return OrderView{}, fmt.Errorf("get order %s: %w", orderID, err)
	}
	if len(out.Item) == 0 {
		return OrderView{}, fmt.Errorf("order %s in table %s: %w", orderID, table, ErrOrderNotFound)
	}
	v, o, err := orderView(out.Item)
	if err != nil {
		return OrderView{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	for _, id := range orderEventIDs(o) {
		e := TimelineEntry{EventID: id}
		r, err := er.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return OrderView{}, fmt.Errorf("order %s: %w", orderID, err)
		default:
			e = TimelineEntry{
				EventID: id, Found: true, Type: r.Type, Status: r.Status, Created: timePtr(r.Created),
				ReceivedAt: timePtr(r.ReceivedAt), UpdatedAt: timePtr(r.UpdatedAt), Attempts: r.Attempts, Error: r.Error,
			}
		}
		v.Timeline = append(v.Timeline, e)
	}
	// Oldest first by when the event happened; events without a record
	// keep their place at the end, in the order the item lists them.
	slices.SortStableFunc(v.Timeline, func(a, b TimelineEntry) int {
		switch {
		case a.Created == nil && b.Created == nil:
			return 0
		case a.Created == nil:
			return 1
		case b.Created == nil:
			return -1
		}
		if c := a.Created.Compare(*b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return v, nil
}

// orderEventIDs lists the ids of the events that touched o: those its item
// keeps, then its payments', its latest refund's and its last one, each
// once.
func orderEventIDs(o orders.Order) []string {
	ids := slices.Clone(o.Events)
	add := func(id string) {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	add(o.PaymentEventID)
	for _, p := range o.Payments {
		add(p.Event.ID)
	}
	add(o.LastRefund.ID)
	add(o.LastEventID)
	return ids
}

// orderView decodes an order item into its view (no timeline yet).
func orderView(item map[string]types.AttributeValue) (OrderView, orders.Order, error) {
	o, err := ddborders.Decode(item)
	if err != nil {
		return OrderView{}, orders.Order{}, err
	}
	v := OrderView{
		OrderID: o.ID, Status: o.Status, Amount: o.Amount, Currency: o.Currency, PaymentID: o.PaymentID,
		CustomerEmail: o.CustomerEmail, CustomerName: o.CustomerName, PaidAt: timePtr(o.PaidAt),
		FailureCode: o.FailureCode, FailureMessage: o.FailureMessage, FailedAt: timePtr(o.FailedAt),
		Payments: []PaymentView{}, ExtraPayments: o.ExtraPayments, PaidTotal: o.PaidTotal, RefundedTotal: o.RefundedTotal,
		RefundTotals: []RefundTotalView{}, UnsummedRefunds: o.UnsummedRefunds, RefundCount: o.RefundCount, Timeline: []TimelineEntry{},
		CreatedAt: timePtr(o.CreatedAt), UpdatedAt: timePtr(o.UpdatedAt),
	}
	for _, p := range o.Payments {
		v.Payments = append(v.Payments, PaymentView{
			PaymentID: p.PaymentID, Amount: p.Amount, Currency: p.Currency, Created: timePtr(p.Created), EventID: p.Event.ID,
		})
	}
	for _, t := range o.RefundTotals {
		v.RefundTotals = append(v.RefundTotals, RefundTotalView{PaymentID: t.PaymentID, Currency: t.Currency, Amount: t.Amount, Count: t.Count})
	}
	if a, ok := item[AnomaliesAttr]; ok {
		if err := attributevalue.Unmarshal(a, &v.Anomalies); err != nil {
			return OrderView{}, orders.Order{}, fmt.Errorf("attribute %s: %w", AnomaliesAttr, err)
		}
	}
	for name, a := range item {
		if slices.Contains(shownAttrs, name) {
			continue
		}
		var x any
		if err := attributevalue.Unmarshal(a, &x); err != nil {
			return OrderView{}, orders.Order{}, fmt.Errorf("attribute %s: %w", name, err)
		}
		if v.Other == nil {
			v.Other = map[string]any{}
		}
		v.Other[name] = x
	}
	return v, o, nil
}

// HasAnomaly reports whether the view's anomalies mention kind (any
// anomaly when kind is empty).
func (v OrderView) HasAnomaly(kind string) bool {
	if !hasValue(v.Anomalies) {
		return false
	}
	if kind == "" {
		return true
	}
	b, err := json.Marshal(v.Anomalies)
	return err == nil && strings.Contains(strings.ToLower(string(b)), strings.ToLower(kind))
}

func hasValue(x any) bool {
	switch t := x.(type) {
	case nil:
		return false
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	case string:
		return t != ""
	}
	return true
}

// OrderFilter selects the orders a listing shows.
type OrderFilter struct {
	Statuses []orders.Status // any of these; empty: every status
	// Anomaly keeps only orders with anomalies; AnomalyKind, when set, only
	// those whose anomalies mention it.
	Anomaly     bool
	AnomalyKind string
	Limit       int // at most this many, most recently updated first; 0: DefaultLimit
}

// OrderList is one listing of orders, most recently updated first.
type OrderList struct {
	Orders  []OrderView `json:"orders"`
	Matched int         `json:"matched"`
}

// ListOrders pages through the whole orders table and returns the most
// recently updated f.Limit orders that f selects (without timelines).
func ListOrders(ctx context.Context, db OrderTable, table string, f OrderFilter) (OrderList, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	in := &dynamodb.ScanInput{TableName: aws.String(table)}
	var conds []string
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	if len(f.Statuses) > 0 {
		refs := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			refs[i] = fmt.Sprintf(":s%d", i)
			vals[refs[i]] = &types.AttributeValueMemberS{Value: string(s)}
		}
		conds = append(conds, "#status IN ("+strings.Join(refs, ", ")+")")
		names["#status"] = "status"
	}
	if f.Anomaly || f.AnomalyKind != "" {
		conds = append(conds, "attribute_exists(#anomalies)")
		names["#anomalies"] = AnomaliesAttr
	}
	if len(conds) > 0 {
		in.FilterExpression = aws.String(strings.Join(conds, " AND "))
		in.ExpressionAttributeNames = names
		if len(vals) > 0 {
			in.ExpressionAttributeValues = vals
		}
	}
	var keep []OrderView
	matched := 0
	p := dynamodb.NewScanPaginator(db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return OrderList{}, fmt.Errorf("scan orders table %s: %w", table, err)
		}
		for _, it := range page.Items {
			v, _, err := orderView(it)
			if err != nil {
				return OrderList{}, fmt.Errorf("scan orders table %s: %w", table, err)
			}
			if (f.Anomaly || f.AnomalyKind != "") && !v.HasAnomaly(f.AnomalyKind) {
				continue
			}
			matched++
			keep = append(keep, v)
			if len(keep) >= 2*limit {
				keep = recentFirst(keep)[:limit]
			}
		}
	}
	keep = recentFirst(keep)
	if len(keep) > limit {
		keep = keep[:limit]
	}
	if keep == nil {
		keep = []OrderView{}
	}
	return OrderList{Orders: keep, Matched: matched}, nil
}

func recentFirst(vs []OrderView) []OrderView {
	at := func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	}
	slices.SortFunc(vs, func(a, b OrderView) int {
		if c := at(b.UpdatedAt).Compare(at(a.UpdatedAt)); c != 0 {
			return c
		}
		return strings.Compare(a.OrderID, b.OrderID)
	})
	return vs
}

// OrderStatuses lists every order status.
func OrderStatuses() []orders.Status {
	return []orders.Status{orders.Paid, orders.PaymentFailed, orders.PartiallyRefunded, orders.Refunded, orders.RefundReceived}
}

// ParseOrderStatuses reads a comma-separated list of order statuses, in any
// case. An unknown one gives an error wrapping ErrUnknownOrderStatus that
// names the valid ones.
func ParseOrderStatuses(s string) ([]orders.Status, error) {
	var out []orders.Status
	for _, name := range strings.Split(s, ",") {
		name = strings.ToUpper(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		st := orders.Status(name)
		if !slices.Contains(OrderStatuses(), st) {
			valid := make([]string, len(OrderStatuses()))
			for i, v := range OrderStatuses() {
				valid[i] = string(v)
			}
			return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownOrderStatus, name, strings.Join(valid, ", "))
		}
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
