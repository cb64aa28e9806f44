package ddborders

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/orders"
)

// ErrBadItem reports an order item whose attributes have the wrong types:
// one this package did not write.
var ErrBadItem = errors.New("malformed order item")

// encode returns the attributes of o, without version. Times that are zero
// and the attributes that mark facts not held (paid_at_ms, failed_at_ms,
// remaining, the failure fields) are left out.
func encode(o orders.Order) map[string]types.AttributeValue {
	refunds := make(map[string]types.AttributeValue, len(o.Refunds))
	for id, amount := range o.Refunds {
		refunds[id] = refundValue(amount, o.RefundEvents[id])
	}
	item := map[string]types.AttributeValue{
		attrOrderID:        str(o.ID),
		attrStatus:         str(string(o.Status)),
		attrAmount:         num(o.Amount),
		attrCurrency:       str(o.Currency),
		attrPaymentID:      str(o.PaymentID),
		attrPaymentEventID: str(o.PaymentEventID),
		attrEmail:          str(o.CustomerEmail),
		attrName:           str(o.CustomerName),
		attrRefunds:        &types.AttributeValueMemberM{Value: refunds},
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
	if o.HasSuccess() {
		putTime(attrPaidAt, o.PaidAt)
		item[attrRemaining] = num(o.Amount - o.RefundedTotal)
	}
	if o.HasFailure() {
		putTime(attrFailedAt, o.FailedAt)
		item[attrFailureCode] = str(o.FailureCode)
		item[attrFailureMessage] = str(o.FailureMessage)
	}
	return item
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
		FailureCode:      d.str(attrFailureCode),
		FailureMessage:   d.str(attrFailureMessage),
		FailedAt:         d.time(attrFailedAt),
		RefundedTotal:    d.num(attrRefundedTotal),
		LastEventID:      d.str(attrLastEventID),
		LastEventCreated: d.time(attrLastEventAt),
		CreatedAt:        d.time(attrCreatedAt),
		UpdatedAt:        d.time(attrUpdatedAt),
	}
	version := d.num(attrVersion)
	o.Events = d.strList(attrEvents)
	if v, ok := item[attrRefunds]; ok {
		m, isMap := v.(*types.AttributeValueMemberM)
		if !isMap {
			d.fail(attrRefunds, "not a map")
		} else if len(m.Value) > 0 {
			o.Refunds = make(map[string]int64, len(m.Value))
			o.RefundEvents = make(map[string]orders.EventRef, len(m.Value))
			for id, rv := range m.Value {
				r, isMap := rv.(*types.AttributeValueMemberM)
				if !isMap {
					d.fail(attrRefunds+"."+id, "not a map")
					continue
				}
				sub := decoder{item: r.Value}
				o.Refunds[id] = sub.num(refundAmount)
				o.RefundEvents[id] = orders.EventRef{ID: sub.str(refundEventID), Created: sub.time(refundEventAt)}
				if sub.err != nil {
					d.fail(attrRefunds+"."+id, sub.err.Error())
				}
			}
		}
	}
	if d.err != nil {
		return orders.Order{}, 0, d.err
	}
	return o, version, nil
}

// The attributes of one refund in the refunds map.
const (
	refundAmount  = "amount"
	refundEventID = "event_id"
	refundEventAt = "event_created_ms"
)

// refundValue is the value of one refund in the refunds map: its amount and
// the event that applied it.
func refundValue(amount int64, ev orders.EventRef) types.AttributeValue {
	return &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		refundAmount:  num(amount),
		refundEventID: str(ev.ID),
		refundEventAt: num(ev.Created.UnixMilli()),
	}}
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

// Decode reads an order item as the store wrote it, for readers other than
// the store (the operator's tool). Attributes it does not know are ignored.
func Decode(item map[string]types.AttributeValue) (orders.Order, error) {
	o, _, err := decode(item)
	return o, err
}
