package ddborders

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// ErrBadItem reports an order or refund item whose attributes have the
// wrong types: one this package did not write.
var ErrBadItem = errors.New("malformed order item")

// Attributes of one element of the payments list.
const (
	payID         = "payment_id"
	payCreated    = "created_ms"
	payAmount     = "amount"
	payCurrency   = "currency"
	payEventID    = "event_id"
	payEventAt    = "event_created_ms"
	totPaymentID  = "payment_id"
	totCurrency   = "currency"
	totAmount     = "amount"
	totCount      = "count"
	anomalyKind   = "kind"
	anomalyDetail = "detail"
)

// Attributes of a refund item (refunds table, key order_id and refund_id).
const (
	attrRefundID       = "refund_id"
	attrRefundPayment  = "payment_id"
	attrRefundAmount   = "amount"
	attrRefundCur      = "currency"
	attrRefundEventID  = "event_id"
	attrRefundEventAt  = "event_created_ms"
	attrRefundApplied  = "applied_at_ms"
	attrRefundCounted  = "counted_event_id"
	attrRefundCountAt  = "counted_event_ms"
	attrRefundConflict = "conflict"
	attrRefundUnsummed = "unsummed"
	attrRefundRev      = "rev"
)

// Attributes of an order item written by the previous version of the
// store (before the refunds table), read only to upgrade it.
const (
	attrLegacyRefunds   = "refunds"   // map of refund id to amount, event_id, event_created_ms
	attrLegacyRemaining = "remaining" // paid amount less refunded total
)

// encode returns the attributes of o, without version. Times that are zero
// and the attributes that mark facts not held (paid_at_ms, paid_event_id,
// failed_at_ms, the failure fields, anomalies) are left out.
func encode(o orders.Order) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrOrderID:        str(o.ID),
		attrStatus:         str(string(o.Status)),
		attrAmount:         num(o.Amount),
		attrCurrency:       str(o.Currency),
		attrPaymentID:      str(o.PaymentID),
		attrPaymentEventID: str(o.PaymentEventID),
		attrEmail:          str(o.CustomerEmail),
		attrName:           str(o.CustomerName),
		attrPayments:       paymentsValue(o.Payments),
		attrExtraPayments:  num(int64(o.ExtraPayments)),
		attrPaidTotal:      num(o.PaidTotal),
		attrRefundTotals:   totalsValue(o.RefundTotals),
		attrUnsummed:       num(int64(o.UnsummedRefunds)),
		attrRefundCount:    num(int64(o.RefundCount)),
		attrRefundedTotal:  num(o.RefundedTotal),
		attrLastEventID:    str(o.LastEventID),
	}
	putTime := func(attr string, t time.Time) {
		if !t.IsZero() {
			item[attr] = num(t.UnixMilli())
		}
	}
	putTime(attrLastEventAt, o.LastEventCreated)
	putTime(attrCreatedAt, o.CreatedAt)
	putTime(attrUpdatedAt, o.UpdatedAt)
	if len(o.Events) > 0 {
		events := make([]types.AttributeValue, len(o.Events))
		for i, id := range o.Events {
			events[i] = str(id)
		}
		item[attrEvents] = &types.AttributeValueMemberL{Value: events}
	}
	if o.PaidEventID != "" {
		item[attrPaidEventID] = str(o.PaidEventID)
	}
	if o.LastRefund.ID != "" {
		item[attrLastRefundID] = str(o.LastRefund.ID)
		putTime(attrLastRefundAt, o.LastRefund.Created)
	}
	if o.HasSuccess() {
		putTime(attrPaidAt, o.PaidAt)
	}
	if o.HasFailure() {
		putTime(attrFailedAt, o.FailedAt)
		item[attrFailureCode] = str(o.FailureCode)
		item[attrFailureMessage] = str(o.FailureMessage)
	}
	if o.RefundConflicts > 0 {
		item[attrRefundConflicts] = num(int64(o.RefundConflicts))
		ids := make([]types.AttributeValue, len(o.ConflictingRefunds))
		for i, id := range o.ConflictingRefunds {
			ids[i] = str(id)
		}
		item[attrConflictIDs] = &types.AttributeValueMemberL{Value: ids}
	}
	if len(o.Anomalies) > 0 {
		l := make([]types.AttributeValue, len(o.Anomalies))
		for i, a := range o.Anomalies {
			l[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				anomalyKind: str(string(a.Kind)), anomalyDetail: str(a.Detail),
			}}
		}
		item[attrAnomalies] = &types.AttributeValueMemberL{Value: l}
	}
	return item
}

func paymentsValue(ps []orders.PaymentRecord) types.AttributeValue {
	l := make([]types.AttributeValue, len(ps))
	for i, p := range ps {
		l[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			payID: str(p.PaymentID), payCreated: num(p.Created.UnixMilli()), payAmount: num(p.Amount),
			payCurrency: str(p.Currency),
			payEventID:  str(p.Event.ID), payEventAt: num(p.Event.Created.UnixMilli()),
		}}
	}
	return &types.AttributeValueMemberL{Value: l}
}

func totalsValue(ts []orders.RefundTotal) types.AttributeValue {
	l := make([]types.AttributeValue, len(ts))
	for i, t := range ts {
		l[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			totPaymentID: str(t.PaymentID), totCurrency: str(t.Currency), totAmount: num(t.Amount), totCount: num(int64(t.Count)),
		}}
	}
	return &types.AttributeValueMemberL{Value: l}
}

// decode reads an order item and its version. An empty item decodes to the
// zero Order. An item of the previous version is upgraded in memory (see
// decodeItem).
func decode(item map[string]types.AttributeValue) (orders.Order, int64, error) {
	o, version, _, err := decodeItem(item)
	return o, version, err
}

// legacy is what an order item of the previous version holds that its
// upgrade must write elsewhere: its refunds, as items of the refunds table.
type legacy struct {
	refunds []orders.Refund
	// appliedAt is the old item's updated_at_ms, the latest time its
	// refunds can have been applied: their items' applied_at_ms.
	appliedAt time.Time
}

// decodeItem is decode, and for an item of the previous version (it holds
// the refunds map) the refunds to seed the refunds table with. Such an
// item is rebuilt from its facts with the orders package: its payment (the
// success, or the failure held), then each refund of the map, in the
// order's currency and of the order's payment (the previous version
// refused any other), without payment id when it has no success.
func decodeItem(item map[string]types.AttributeValue) (orders.Order, int64, *legacy, error) {
	if _, old := item[attrLegacyRefunds]; old {
		return decodeLegacy(item)
	}
	d := decoder{item: item}
	o := orders.Order{
		ID:               d.str(attrOrderID),
		Status:           orders.Status(d.str(attrStatus)),
		Amount:           d.num(attrAmount),
		Currency:         d.str(attrCurrency),
		PaymentID:        d.str(attrPaymentID),
		PaymentEventID:   d.str(attrPaymentEventID),
		CustomerEmail:    d.str(attrEmail),
		CustomerName:     d.str(attrName),
		PaidAt:           d.time(attrPaidAt),
		PaidEventID:      d.str(attrPaidEventID),
		FailureCode:      d.str(attrFailureCode),
		FailureMessage:   d.str(attrFailureMessage),
		FailedAt:         d.time(attrFailedAt),
		ExtraPayments:    int(d.num(attrExtraPayments)),
		PaidTotal:        d.num(attrPaidTotal),
		UnsummedRefunds:  int(d.num(attrUnsummed)),
		RefundCount:      int(d.num(attrRefundCount)),
		RefundedTotal:    d.num(attrRefundedTotal),
		LastRefund:       orders.EventRef{ID: d.str(attrLastRefundID), Created: d.time(attrLastRefundAt)},
		LastEventID:      d.str(attrLastEventID),
		LastEventCreated: d.time(attrLastEventAt),
		CreatedAt:        d.time(attrCreatedAt),
		UpdatedAt:        d.time(attrUpdatedAt),
	}
	version := d.num(attrVersion)
	o.Events = d.strList(attrEvents)
	d.list(attrPayments, func(sub *decoder) {
		o.Payments = append(o.Payments, orders.PaymentRecord{
			PaymentID: sub.str(payID), Created: sub.time(payCreated), Amount: sub.num(payAmount), Currency: sub.str(payCurrency),
			Event: orders.EventRef{ID: sub.str(payEventID), Created: sub.time(payEventAt)},
		})
	})
	d.list(attrRefundTotals, func(sub *decoder) {
		o.RefundTotals = append(o.RefundTotals, orders.RefundTotal{
			PaymentID: sub.str(totPaymentID), Currency: sub.str(totCurrency), Amount: sub.num(totAmount), Count: int(sub.num(totCount)),
		})
	})
	d.list(attrAnomalies, func(sub *decoder) {
		o.Anomalies = append(o.Anomalies, orders.Anomaly{Kind: orders.AnomalyKind(sub.str(anomalyKind)), Detail: sub.str(anomalyDetail)})
	})
	o.RefundConflicts = int(d.num(attrRefundConflicts))
	o.ConflictingRefunds = d.strList(attrConflictIDs)
	if d.err != nil {
		return orders.Order{}, 0, nil, d.err
	}
	return o, version, nil, nil
}

// decodeLegacy rebuilds an order item of the previous version (see
// decodeItem).
func decodeLegacy(item map[string]types.AttributeValue) (orders.Order, int64, *legacy, error) {
	d := decoder{item: item}
	o := orders.Order{ID: d.str(attrOrderID), CreatedAt: d.time(attrCreatedAt), UpdatedAt: d.time(attrUpdatedAt), Events: d.strList(attrEvents)}
	version := d.num(attrVersion)
	p := orders.Payment{
		EventID: d.str(attrPaymentEventID), PaymentID: d.str(attrPaymentID), Amount: d.num(attrAmount), Currency: d.str(attrCurrency),
		CustomerEmail: d.str(attrEmail), CustomerName: d.str(attrName),
	}
	paidAt, failedAt := d.time(attrPaidAt), d.time(attrFailedAt)
	currency, paymentID := p.Currency, ""
	switch {
	case !paidAt.IsZero():
		p.Succeeded, p.EventCreated, paymentID = true, paidAt, p.PaymentID
	case !failedAt.IsZero():
		p.EventCreated, p.FailureCode, p.FailureMessage = failedAt, d.str(attrFailureCode), d.str(attrFailureMessage)
	}
	if !p.EventCreated.IsZero() {
		var changed bool
		if o, changed = o.ApplyPayment(p); !changed {
			return orders.Order{}, 0, nil, fmt.Errorf("%w: an order of the previous version whose payment is not valid: %+v", ErrBadItem, p)
		}
	}
	old := &legacy{appliedAt: o.UpdatedAt}
	refunds, isMap := item[attrLegacyRefunds].(*types.AttributeValueMemberM)
	if !isMap {
		d.fail(attrLegacyRefunds, "not a map")
	} else {
		for _, id := range slices.Sorted(maps.Keys(refunds.Value)) {
			m, isMap := refunds.Value[id].(*types.AttributeValueMemberM)
			if !isMap {
				d.fail(attrLegacyRefunds+"."+id, "not a map")
				break
			}
			sub := decoder{item: m.Value}
			r := orders.Refund{EventID: sub.str("event_id"), EventCreated: sub.time("event_created_ms"), RefundID: id,
				PaymentID: paymentID, Amount: sub.num("amount"), Currency: currency}
			if sub.err != nil {
				d.fail(attrLegacyRefunds+"."+id, sub.err.Error())
				break
			}
			o = o.ApplyLegacyRefund(r)
			old.refunds = append(old.refunds, r)
		}
	}
	if d.err != nil {
		return orders.Order{}, 0, nil, d.err
	}
	if o.RefundCount != len(old.refunds) {
		return orders.Order{}, 0, nil, fmt.Errorf("%w: an order of the previous version with a refund that is not valid", ErrBadItem)
	}
	return o, version, old, nil
}

// refundItem is the item of the refunds table that records r as applied
// to order orderID at now; summed tells whether the order sums it
// (orders.Order.SumsRefund).
func refundItem(orderID string, r orders.Refund, now time.Time, summed bool) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrOrderID:       str(orderID),
		attrRefundID:      str(r.RefundID),
		attrRefundPayment: str(r.PaymentID),
		attrRefundAmount:  num(r.Amount),
		attrRefundCur:     str(r.Currency),
		attrRefundEventID: str(r.EventID),
		attrRefundEventAt: num(r.EventCreated.UnixMilli()),
		attrRefundApplied: num(now.UnixMilli()),
	}
	if !summed {
		item[attrRefundUnsummed] = &types.AttributeValueMemberBOOL{Value: true}
	}
	return item
}

// heldRefund is a refund item: the refund id as applied to its order.
type heldRefund struct {
	// told is the refund as the event that applied it first recorded it
	// (EventID and EventCreated are that event's: the one that told it),
	// with the amount, currency and payment that count.
	told orders.Refund
	// counted is the announcement that counts: the earliest-created event
	// that announced the refund id, as far as the store has seen.
	counted orders.Refund
	// summed: the order sums it; flagged: its announcements contradict
	// each other (counted in the order's RefundConflicts).
	summed, flagged bool
	// rev counts the changes made to the item since it was put; each
	// change is conditioned on it.
	rev int64
}

// decodeHeld reads a refund item.
func decodeHeld(item map[string]types.AttributeValue) (heldRefund, error) {
	d := decoder{item: item}
	told := orders.Refund{
		RefundID: d.str(attrRefundID), PaymentID: d.str(attrRefundPayment), Amount: d.num(attrRefundAmount),
		Currency: d.str(attrRefundCur), EventID: d.str(attrRefundEventID), EventCreated: d.time(attrRefundEventAt),
	}
	counted := told
	if id := d.str(attrRefundCounted); id != "" {
		counted.EventID, counted.EventCreated = id, d.time(attrRefundCountAt)
	}
	h := heldRefund{told: told, counted: counted, summed: !d.bool(attrRefundUnsummed), flagged: d.bool(attrRefundConflict), rev: d.num(attrRefundRev)}
	return h, d.err
}

// decoder reads typed attributes, keeping the first error.
type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) fail(attr, why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: attribute %s: %s", ErrBadItem, attr, why)
	}
}

func (d *decoder) str(attr string) string {
	v, ok := d.item[attr]
	if !ok {
		return ""
	}
	s, isStr := v.(*types.AttributeValueMemberS)
	if !isStr {
		d.fail(attr, "not a string")
		return ""
	}
	return s.Value
}

func (d *decoder) num(attr string) int64 {
	v, ok := d.item[attr]
	if !ok {
		return 0
	}
	n, isNum := v.(*types.AttributeValueMemberN)
	if !isNum {
		d.fail(attr, "not a number")
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		d.fail(attr, err.Error())
	}
	return i
}

func (d *decoder) bool(attr string) bool {
	v, ok := d.item[attr]
	if !ok {
		return false
	}
	b, isBool := v.(*types.AttributeValueMemberBOOL)
	if !isBool {
		d.fail(attr, "not a boolean")
		return false
	}
	return b.Value
}

func (d *decoder) strList(attr string) []string {
	v, ok := d.item[attr]
	if !ok {
		return nil
	}
	l, isList := v.(*types.AttributeValueMemberL)
	if !isList {
		d.fail(attr, "not a list")
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for _, e := range l.Value {
		s, isStr := e.(*types.AttributeValueMemberS)
		if !isStr {
			d.fail(attr, "an element is not a string")
			return nil
		}
		out = append(out, s.Value)
	}
	return out
}

func (d *decoder) time(attr string) time.Time {
	if _, ok := d.item[attr]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(d.num(attr)).UTC()
}

// list calls each with a decoder of every map of the list attr.
func (d *decoder) list(attr string, each func(sub *decoder)) {
	v, ok := d.item[attr]
	if !ok {
		return
	}
	l, isList := v.(*types.AttributeValueMemberL)
	if !isList {
		d.fail(attr, "not a list")
		return
	}
	for i, e := range l.Value {
		m, isMap := e.(*types.AttributeValueMemberM)
		if !isMap {
			d.fail(fmt.Sprintf("%s[%d]", attr, i), "not a map")
			return
		}
		sub := decoder{item: m.Value}
		each(&sub)
		if sub.err != nil {
			d.fail(fmt.Sprintf("%s[%d]", attr, i), sub.err.Error())
			return
		}
	}
}

// Decode reads an order item as the store wrote it, for readers other than
// the store (the operator's tool). Attributes it does not know are ignored.
func Decode(item map[string]types.AttributeValue) (orders.Order, error) {
	o, _, err := decode(item)
	return o, err
}
