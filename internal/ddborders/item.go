package ddborders

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/orders"
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
	attrRefundID      = "refund_id"
	attrRefundPayment = "payment_id"
	attrRefundAmount  = "amount"
	attrRefundCur     = "currency"
	attrRefundEventID = "event_id"
	attrRefundEventAt = "event_created_ms"
	attrRefundApplied = "applied_at_ms"
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
// zero Order.
func decode(item map[string]types.AttributeValue) (orders.Order, int64, error) {
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
	if d.err != nil {
		return orders.Order{}, 0, d.err
	}
	return o, version, nil
}

// refundItem is the item of the refunds table that records r as applied
// to order orderID at now.
func refundItem(orderID string, r orders.Refund, now time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrOrderID:       str(orderID),
		attrRefundID:      str(r.RefundID),
		attrRefundPayment: str(r.PaymentID),
		attrRefundAmount:  num(r.Amount),
		attrRefundCur:     str(r.Currency),
		attrRefundEventID: str(r.EventID),
		attrRefundEventAt: num(r.EventCreated.UnixMilli()),
		attrRefundApplied: num(now.UnixMilli()),
	}
}

// decodeRefund reads a refund item.
func decodeRefund(item map[string]types.AttributeValue) (orders.Refund, error) {
	d := decoder{item: item}
	r := orders.Refund{
		RefundID: d.str(attrRefundID), PaymentID: d.str(attrRefundPayment), Amount: d.num(attrRefundAmount),
		Currency: d.str(attrRefundCur), EventID: d.str(attrRefundEventID), EventCreated: d.time(attrRefundEventAt),
	}
	return r, d.err
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
