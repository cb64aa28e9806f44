package chaostest

import (
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest/oracle"
)

// Event is one generated webhook event and the fact it carries.
type Event struct {
	ID      string
	Type    string // testevents.PaymentSucceeded, PaymentFailed or RefundCompleted
	OrderID string
	Created time.Time
	Body    []byte // the envelope, signed at delivery time
	// Fact is what the event says, as the oracle reads it.
	Fact oracle.Fact
	// Poison marks an event whose handler panics on every attempt until
	// its message has been received maxReceiveCount times: it reaches the
	// dead-letter queue, and a redrive must bring it through.
	Poison bool
}

// Order is one generated order and its events, in created order.
type Order struct {
	ID     string
	Events []Event
}

// Facts returns what the order's events say.
func (o Order) Facts() []oracle.Fact {
	out := make([]oracle.Fact, len(o.Events))
	for i, e := range o.Events {
		out[i] = e.Fact
	}
	return out
}

// ErrBadCount is returned by Generate for a count below 1.
var ErrBadCount = errors.New("event count must be at least 1")

// Shapes of generated orders, as chances per order (or per event where
// said). Every contradiction the design names occurs in a run of a few
// hundred events.
const (
	chanceFailure      = 0.35 // a payment.failed before the success
	chanceSuccess      = 0.85 // a payment.succeeded
	chanceAnnouncedTwo = 0.15 // the success announced again, by another event
	chanceDoubleCharge = 0.10 // a second, different payment succeeds
	chanceOtherCur     = 0.25 // of a double charge: in another currency
	chanceRefundOther  = 0.10 // per refund: in another currency than the payment
	chanceForeign      = 0.05 // per refund: of a payment that is not the order's
	chanceRefundTwice  = 0.15 // per refund: announced again, by another event
	chanceRefundTwoAmt = 0.08 // per refund: its id announced again with another amount
	chanceOverRefund   = 0.10 // a last refund beyond what was paid
	chanceSameCreated  = 0.10 // every event of the order created the same second
	// PoisonEvery is one event in how many that is poison (at least one
	// per run).
	PoisonEvery = 150
)

// Generate builds orders until they hold at least n events. Each order gets
// a random subset of: a payment.failed, a payment.succeeded (sometimes
// announced twice), a second payment (a double charge, sometimes in
// another currency), zero to two partial refunds with distinct ids, some in
// another currency, of a foreign payment, announced twice or announced
// again with another amount (one refund id, two amounts: the earlier
// announcement carries either), sometimes a full refund of what remains
// and sometimes an over-refund. Created times
// lie in the hour before now, one minute apart within an order, or all
// equal. One event in PoisonEvery (at least one) is poison.
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
	poisons := max(1, total/PoisonEvery)
	for range poisons {
		o := &out[rng.IntN(len(out))]
		o.Events[rng.IntN(len(o.Events))].Poison = true
	}
	return out, nil
}

func generateOrder(rng *mrand.Rand, now time.Time) (Order, error) {
	o := Order{ID: testevents.NewID("ord_")}
	amount := 1000 + rng.Int64N(99000)
	payment := testevents.NewID("pay_")
	start := now.Add(-time.Duration(10+rng.IntN(50)) * time.Minute).Truncate(time.Second)
	t := start
	sameCreated := rng.Float64() < chanceSameCreated
	next := func() time.Time {
		if !sameCreated {
			t = t.Add(time.Minute)
		}
		return t
	}
	add := func(opts testevents.Options, fact oracle.Fact) error {
		opts.Order, opts.Created = o.ID, next()
		ev, err := testevents.Build(opts, now)
		if err != nil {
			return fmt.Errorf("build %s for %s: %w", opts.Type, o.ID, err)
		}
		fact.EventID, fact.Kind, fact.Created, fact.OrderID = ev.ID, oracle.Kind(opts.Type), opts.Created, o.ID
		fact.PaymentID, fact.Amount, fact.Currency, fact.RefundID = opts.Payment, opts.Amount, currencyOr(opts.Currency), opts.Refund
		o.Events = append(o.Events, Event{ID: ev.ID, Type: ev.Type, OrderID: o.ID, Created: opts.Created, Body: ev.Body, Fact: fact})
		return nil
	}

	failed := rng.Float64() < chanceFailure
	succeeded := rng.Float64() < chanceSuccess
	partials := rng.IntN(3)
	full := rng.Float64() < 0.25
	if !failed && !succeeded && partials == 0 && !full {
		succeeded = true
	}
	if failed {
		if err := add(testevents.Options{Type: testevents.PaymentFailed, Payment: payment, Amount: amount}, oracle.Fact{}); err != nil {
			return Order{}, err
		}
	}
	paid := start.Add(-time.Hour) // the payment's own time, shared by its announcements
	if succeeded {
		p := testevents.Options{Type: testevents.PaymentSucceeded, Payment: payment, Amount: amount, ObjectCreated: paid}
		if err := add(p, oracle.Fact{PaymentCreated: paid}); err != nil {
			return Order{}, err
		}
		if rng.Float64() < chanceAnnouncedTwo {
			if err := add(p, oracle.Fact{PaymentCreated: paid}); err != nil {
				return Order{}, err
			}
		}
		if rng.Float64() < chanceDoubleCharge {
			second := testevents.Options{Type: testevents.PaymentSucceeded, Payment: testevents.NewID("pay_"), Amount: amount,
				ObjectCreated: paid.Add(time.Duration(rng.IntN(3)-1) * time.Minute)} // before, with or after the first
			if rng.Float64() < chanceOtherCur {
				second.Currency = "eur"
			}
			if err := add(second, oracle.Fact{PaymentCreated: second.ObjectCreated}); err != nil {
				return Order{}, err
			}
		}
	}
	// Partial refunds: together at most half the amount.
	refunded := int64(0)
	refund := func(a int64) error {
		r := testevents.Options{Type: testevents.RefundCompleted, Payment: payment, Refund: testevents.NewID("re_"), Amount: a}
		switch x := rng.Float64(); {
		case x < chanceRefundOther:
			r.Currency = "eur"
		case x < chanceRefundOther+chanceForeign:
			r.Payment = testevents.NewID("pay_")
		}
		if rng.Float64() < chanceRefundTwoAmt {
			// One refund id, two amounts, in either created order.
			other := r
			other.Amount = a + 1 + rng.Int64N(a)
			if rng.IntN(2) == 0 {
				r, other = other, r
			}
			if err := add(r, oracle.Fact{}); err != nil {
				return err
			}
			return add(other, oracle.Fact{})
		}
		if err := add(r, oracle.Fact{}); err != nil {
			return err
		}
		if rng.Float64() < chanceRefundTwice {
			return add(r, oracle.Fact{})
		}
		return nil
	}
	for i := range partials {
		a := max(amount/4-int64(i)*7-rng.Int64N(amount/8), int64(i+1))
		if err := refund(a); err != nil {
			return Order{}, err
		}
		refunded += a
	}
	if full && amount-refunded > 0 {
		if err := refund(amount - refunded); err != nil {
			return Order{}, err
		}
	}
	if rng.Float64() < chanceOverRefund {
		if err := refund(amount + 1 + rng.Int64N(amount)); err != nil {
			return Order{}, err
		}
	}
	return o, nil
}

func currencyOr(c string) string {
	if c == "" {
		return testevents.DefaultCurrency
	}
	return c
}

// Events returns every event of list.
func Events(list []Order) []Event {
	var out []Event
	for _, o := range list {
		out = append(out, o.Events...)
	}
	return out
}
