package chaos

import (
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/testevents"
)

// Event is one generated webhook event and the fact it carries.
type Event struct {
	ID       string
	Type     string // testevents.PaymentSucceeded, PaymentFailed or RefundCompleted
	OrderID  string
	Created  time.Time
	Body     []byte // the envelope, signed at delivery time
	Amount   int64  // the payment's amount, or the refund's
	RefundID string // refund.completed only
	Payment  orders.Payment
	Refund   orders.Refund
}

// Order is one generated order and its events, in created order.
type Order struct {
	ID     string
	Amount int64
	Events []Event
}

// ErrBadCount is returned by Generate for a count below 1.
var ErrBadCount = errors.New("event count must be at least 1")

// Generate builds orders until they hold at least n events. Each order gets
// a random subset of: a payment.failed (created first), a payment.succeeded,
// zero to two partial refunds with distinct ids, and sometimes a
// full refund of what remains; refunded totals never exceed the amount.
// Created times lie in the hour before now, one minute apart within an
// order.
func Generate(rng *mrand.Rand, n int, now time.Time) ([]Order, error) {
	if n < 1 {
		return nil, ErrBadCount
	}
	var out []Order
	total := 0
	for total < n {
		o, err := generateOrder(rng, now)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		total += len(o.Events)
	}
	return out, nil
}

func generateOrder(rng *mrand.Rand, now time.Time) (Order, error) {
	o := Order{ID: testevents.NewID("ord_"), Amount: 1000 + rng.Int64N(99000)}
	payment := testevents.NewID("pay_")
	t := now.Add(-time.Duration(10+rng.IntN(50)) * time.Minute).Truncate(time.Second)
	next := func() time.Time { t = t.Add(time.Minute); return t }

	failed := rng.Float64() < 0.35
	succeeded := rng.Float64() < 0.85
	partials := rng.IntN(3)
	full := rng.Float64() < 0.25
	if !failed && !succeeded && partials == 0 && !full {
		succeeded = true
	}
	type spec struct {
		typ    string
		amount int64
	}
	var specs []spec
	if failed {
		specs = append(specs, spec{testevents.PaymentFailed, o.Amount})
	}
	if succeeded {
		specs = append(specs, spec{testevents.PaymentSucceeded, o.Amount})
	}
	// Partial refunds: together at most half the amount.
	refunded := int64(0)
	for i := range partials {
		a := o.Amount/4 - int64(i)*7 - rng.Int64N(o.Amount/8)
		a = max(a, int64(i+1))
		specs = append(specs, spec{testevents.RefundCompleted, a})
		refunded += a
	}
	if full && o.Amount-refunded > 0 {
		specs = append(specs, spec{testevents.RefundCompleted, o.Amount - refunded})
	}
	for _, s := range specs {
		created := next()
		ev, err := testevents.Build(testevents.Options{
			Type: s.typ, Order: o.ID, Payment: payment, Amount: s.amount, Created: created,
		}, now)
		if err != nil {
			return Order{}, fmt.Errorf("build %s for %s: %w", s.typ, o.ID, err)
		}
		e := Event{ID: ev.ID, Type: ev.Type, OrderID: o.ID, Created: created, Body: ev.Body, Amount: s.amount}
		switch s.typ {
		case testevents.RefundCompleted:
			rid, err := refundID(ev.Body)
			if err != nil {
				return Order{}, err
			}
			e.RefundID = rid
			e.Refund = orders.Refund{
				EventID: ev.ID, EventCreated: created, RefundID: rid, PaymentID: payment,
				Amount: s.amount, Currency: testevents.DefaultCurrency,
			}
		default:
			e.Payment = orders.Payment{
				EventID: ev.ID, EventCreated: created, PaymentID: payment,
				Succeeded: s.typ == testevents.PaymentSucceeded, Amount: s.amount, Currency: testevents.DefaultCurrency,
				CustomerEmail: "test.customer@example.com", CustomerName: "Test Customer",
			}
			if !e.Payment.Succeeded {
				e.Payment.FailureCode = "card_declined"
				e.Payment.FailureMessage = "The card was declined by the issuer."
			}
		}
		o.Events = append(o.Events, e)
	}
	return o, nil
}

// Expected is the model: the state the order must end in once every event
// of o has been applied once, in any order. Store-set fields (CreatedAt,
// UpdatedAt) are left zero.
func Expected(o Order) orders.Order {
	evs := append([]Event(nil), o.Events...)
	sort.Slice(evs, func(i, j int) bool { return evs[i].Created.Before(evs[j].Created) })
	m := orders.Order{ID: o.ID}
	for _, e := range evs {
		if e.Type == testevents.RefundCompleted {
			m, _ = m.ApplyRefund(e.Refund)
		} else {
			m, _ = m.ApplyPayment(e.Payment)
		}
	}
	return m
}

// Events returns every event of list.
func Events(list []Order) []Event {
	var out []Event
	for _, o := range list {
		out = append(out, o.Events...)
	}
	return out
}

// refundID reads data.object.id of a refund event's body.
func refundID(body []byte) (string, error) {
	var env struct {
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Data.Object.ID == "" {
		return "", fmt.Errorf("refund event without data.object.id: %v", err)
	}
	return env.Data.Object.ID, nil
}
