// Package orderstest holds what the tests of the order rules share: the
// facts they build and the table of rules, which the pure tests (package
// orders) and the DynamoDB tests (package ddborders) both run, so that each
// rule is written down once.
package orderstest

import (
	"slices"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// T0 is the time the facts' times count from.
var T0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// At is sec seconds after T0.
func At(sec int) time.Time { return T0.Add(time.Duration(sec) * time.Second) }

// Success is a payment.succeeded of payment "pay_<pay>" created at sec
// (the payment itself created a second earlier).
func Success(evt, pay string, sec int) orders.Payment {
	return orders.Payment{EventID: evt, EventCreated: At(sec), PaymentID: "pay_" + pay, PaymentCreated: At(sec - 1),
		Succeeded: true, Amount: 4999, Currency: "usd", CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe"}
}

// Failure is a payment.failed of its own payment, created at sec.
func Failure(evt string, sec int) orders.Payment {
	return orders.Payment{EventID: evt, EventCreated: At(sec), PaymentID: "pay_f" + evt, Amount: 4999, Currency: "usd",
		CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe",
		FailureCode: "card_declined", FailureMessage: "declined " + evt}
}

// Refund is a refund.completed of refund id of payment pay_1, created at
// sec.
func Refund(evt, id string, sec int, amount int64) orders.Refund {
	return orders.Refund{EventID: evt, EventCreated: At(sec), RefundID: id, PaymentID: "pay_1", Amount: amount, Currency: "usd"}
}

// InCurrency is f in currency c.
func InCurrency[T orders.Payment | orders.Refund](f T, c string) T {
	switch v := any(&f).(type) {
	case *orders.Payment:
		v.Currency = c
	case *orders.Refund:
		v.Currency = c
	}
	return f
}

// OfPayment is r of payment "pay_<pay>".
func OfPayment(r orders.Refund, pay string) orders.Refund { r.PaymentID = "pay_" + pay; return r }

// WithAmount is p of amount a.
func WithAmount(p orders.Payment, a int64) orders.Payment { p.Amount = a; return p }

// Fact is one event's fact: a payment or a refund.
type Fact struct {
	Payment *orders.Payment
	Refund  *orders.Refund
}

// Pay is the fact of p.
func Pay(p orders.Payment) Fact { return Fact{Payment: &p} }

// Ref is the fact of r.
func Ref(r orders.Refund) Fact { return Fact{Refund: &r} }

func (f Fact) String() string {
	if f.Payment != nil {
		return f.Payment.EventID
	}
	return f.Refund.EventID
}

// Apply applies facts in order to an empty order orderID with the orders
// package alone, each refund id once (the store's part of the rules), and
// returns the order and each step's changed flag.
func Apply(orderID string, facts []Fact) (orders.Order, []bool) {
	o := orders.Order{ID: orderID}
	seen := map[string]bool{}
	changed := make([]bool, len(facts))
	for i, f := range facts {
		switch {
		case f.Payment != nil:
			o, changed[i] = o.ApplyPayment(*f.Payment)
		case !seen[f.Refund.RefundID]:
			if o, changed[i] = o.ApplyRefund(*f.Refund); changed[i] {
				seen[f.Refund.RefundID] = true
			}
		}
	}
	return o, changed
}

// Kinds are the kinds of o's anomalies.
func Kinds(o orders.Order) []orders.AnomalyKind {
	var out []orders.AnomalyKind
	for _, a := range o.Anomalies {
		out = append(out, a.Kind)
	}
	return out
}

// Rule is one case of the rules: facts applied in order, whether each
// changed the order, and what the order is then.
type Rule struct {
	Name        string
	Facts       []Fact
	WantChanged []bool
	WantStatus  orders.Status                      // "": Check says
	Check       func(t *testing.T, o orders.Order) // nil: WantStatus says
	// Invalid facts fail their Validate: the rules change nothing, and a
	// store refuses each with an error wrapping orders.ErrInvalid.
	Invalid bool
}

// Rules is the table of the order rules (docs/business-logic.md, the
// design's "Orders"), a fresh copy on each call.
func Rules() []Rule {
	return []Rule{
		{Name: "success is PAID with its fields", Facts: []Fact{Pay(Success("e1", "1", 10))}, WantChanged: []bool{true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Paid || o.Amount != 4999 || o.Currency != "usd" || o.PaymentID != "pay_1" ||
					o.PaymentEventID != "e1" || o.PaidEventID != "e1" || !o.PaidAt.Equal(At(10)) || o.PaidTotal != 4999 ||
					o.CustomerEmail != "jane.doe@example.com" || o.LastEventID != "e1" || o.Anomalies != nil {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "failure is PAYMENT_FAILED", Facts: []Fact{Pay(Failure("e1", 10))}, WantChanged: []bool{true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.PaymentFailed || o.FailureCode != "card_declined" || !o.FailedAt.Equal(At(10)) ||
					o.PaymentEventID != "e1" || o.PaidEventID != "" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a later failure replaces an earlier one, not the other way", Facts: []Fact{Pay(Failure("e2", 20)), Pay(Failure("e1", 10))}, WantChanged: []bool{true, false},
			Check: func(t *testing.T, o orders.Order) {
				if o.PaymentEventID != "e2" || o.FailureMessage != "declined e2" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "equal created times: the greater event id wins", Facts: []Fact{Pay(Failure("e2", 10)), Pay(Failure("e1", 10))}, WantChanged: []bool{true, false},
			Check: func(t *testing.T, o orders.Order) {
				if o.PaymentEventID != "e2" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a stale failure never overrides a success", Facts: []Fact{Pay(Success("e1", "1", 10)), Pay(Failure("e2", 20))}, WantChanged: []bool{true, false},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Paid || o.HasFailure() {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a success clears the failure", Facts: []Fact{Pay(Failure("e1", 10)), Pay(Success("e2", "1", 20))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Paid || o.HasFailure() || o.FailureCode != "" || o.PaidEventID != "e2" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "the same payment announced twice changes nothing", Facts: []Fact{Pay(Success("e1", "1", 10)), Pay(Success("e2", "1", 20)), Pay(Success("e0", "1", 5))}, WantChanged: []bool{true, false, false},
			Check: func(t *testing.T, o orders.Order) {
				if len(o.Payments) != 1 || o.PaidTotal != 4999 || o.PaymentEventID != "e1" || o.LastEventID != "e1" || o.Anomalies != nil {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a double charge keeps both payments, shows the earliest, is flagged",
			Facts: []Fact{Pay(Success("e2", "b", 20)), Pay(Success("e1", "a", 10))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if len(o.Payments) != 2 || o.PaymentID != "pay_a" || o.PaidTotal != 2*4999 || o.PaidEventID != "e2" ||
					o.PaymentEventID != "e1" || !slices.Equal(Kinds(o), []orders.AnomalyKind{orders.DoubleCharge}) {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a partial refund", Facts: []Fact{Pay(Success("e1", "1", 10)), Ref(Refund("r1", "re_1", 20, 1000))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.PartiallyRefunded || o.RefundedTotal != 1000 || o.RefundCount != 1 || o.LastEventID != "r1" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "refunds reaching the paid total", Facts: []Fact{Pay(Success("e1", "1", 10)), Ref(Refund("r1", "re_1", 20, 1000)), Ref(Refund("r2", "re_2", 30, 3999))}, WantChanged: []bool{true, true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Refunded || o.RefundedTotal != 4999 || o.Anomalies != nil {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a refund id applied once", Facts: []Fact{Pay(Success("e1", "1", 10)), Ref(Refund("r1", "re_1", 20, 1000)), Ref(Refund("r1b", "re_1", 25, 1000))}, WantChanged: []bool{true, true, false},
			Check: func(t *testing.T, o orders.Order) {
				if o.RefundedTotal != 1000 || o.RefundCount != 1 {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a refund before its payment", Facts: []Fact{Ref(Refund("r1", "re_1", 20, 1500)), Pay(Success("e1", "1", 10))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.PartiallyRefunded || o.RefundedTotal != 1500 || o.LastEventID != "r1" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a refund replaces a failure", Facts: []Fact{Pay(Failure("e1", 10)), Ref(Refund("r1", "re_1", 20, 1500)), Pay(Failure("e2", 30))}, WantChanged: []bool{true, true, false},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.RefundReceived || o.HasFailure() || o.Amount != 0 || o.Currency != "usd" || o.LastEventID != "r1" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a refund in another currency is kept, not counted, flagged", Facts: []Fact{Pay(Success("e1", "1", 10)), Ref(InCurrency(Refund("r1", "re_1", 20, 1500), "eur"))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Paid || o.RefundedTotal != 0 || o.RefundCount != 1 || o.Currency != "usd" ||
					!slices.Equal(Kinds(o), []orders.AnomalyKind{orders.CurrencyMismatch}) {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "the same conflict when the refund comes first", Facts: []Fact{Ref(InCurrency(Refund("r1", "re_1", 20, 1500), "eur")), Pay(Success("e1", "1", 10))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Paid || o.RefundedTotal != 0 || o.PaidEventID != "e1" ||
					!slices.Equal(Kinds(o), []orders.AnomalyKind{orders.CurrencyMismatch}) {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "an over-refund is REFUNDED and flagged", Facts: []Fact{Pay(Success("e1", "1", 10)), Ref(Refund("r1", "re_1", 20, 999999))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Refunded || o.RefundedTotal != 999999 ||
					!slices.Equal(Kinds(o), []orders.AnomalyKind{orders.OverRefund}) {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a refund of another payment is foreign", Facts: []Fact{Pay(Success("e1", "1", 10)), Ref(OfPayment(Refund("r1", "re_1", 20, 1000), "zz"))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.Paid || o.RefundedTotal != 0 || !slices.Equal(Kinds(o), []orders.AnomalyKind{orders.ForeignRefund}) {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a double charge refunded once is partially refunded", Facts: []Fact{Pay(Success("e1", "a", 10)), Pay(Success("e2", "b", 20)),
			Ref(OfPayment(Refund("r1", "re_1", 30, 4999), "b"))}, WantChanged: []bool{true, true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.PartiallyRefunded || o.RefundedTotal != 4999 || o.PaidTotal != 9998 {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "a second payment in another currency", Facts: []Fact{Pay(Success("e1", "a", 10)), Pay(InCurrency(Success("e2", "b", 20), "eur"))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.PaidTotal != 4999 || !slices.Equal(Kinds(o), []orders.AnomalyKind{orders.DoubleCharge, orders.CurrencyMismatch}) {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "refunds in two currencies before any payment", Facts: []Fact{Ref(InCurrency(Refund("r1", "re_1", 20, 100), "usd")), Ref(InCurrency(Refund("r2", "re_2", 30, 200), "eur"))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != orders.RefundReceived || o.Currency != "eur" || o.RefundedTotal != 200 ||
					!slices.Equal(Kinds(o), []orders.AnomalyKind{orders.CurrencyMismatch}) {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "currencies compare without case", Facts: []Fact{Pay(InCurrency(Success("e1", "1", 10), "USD")), Ref(Refund("r1", "re_1", 20, 100))}, WantChanged: []bool{true, true},
			Check: func(t *testing.T, o orders.Order) {
				if o.RefundedTotal != 100 || o.Anomalies != nil || o.Currency != "usd" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "an invalid fact changes nothing", Invalid: true, Facts: []Fact{Pay(WithAmount(Success("e1", "1", 10), -5)), Ref(Refund("r1", "re_1", 20, 0))}, WantChanged: []bool{false, false},
			Check: func(t *testing.T, o orders.Order) {
				if o.Status != "" {
					t.Errorf("%+v", o)
				}
			}},
		{Name: "stale failures after a success", Facts: []Fact{Pay(Success("e1", "1", 10)), Pay(Failure("e0", 5)), Pay(Failure("e2", 20))},
			WantChanged: []bool{true, false, false}, WantStatus: orders.Paid},
		{Name: "a refund id twice, and under another event", Facts: []Fact{Pay(Success("e1", "1", 10)), Ref(Refund("r1", "re_1", 20, 1000)),
			Ref(Refund("r1", "re_1", 20, 1000)), Ref(Refund("r9", "re_1", 40, 1000)), Ref(Refund("r0", "re_1", 5, 1000))},
			WantChanged: []bool{true, true, false, false, false}, WantStatus: orders.PartiallyRefunded},
		{Name: "a refund alone", Facts: []Fact{Ref(Refund("r1", "re_1", 20, 1000))}, WantChanged: []bool{true}, WantStatus: orders.RefundReceived},
		{Name: "a late success after a full refund", Facts: []Fact{Ref(Refund("r1", "re_1", 20, 4999)), Pay(Success("e1", "1", 10))},
			WantChanged: []bool{true, true}, WantStatus: orders.Refunded},
		{Name: "a failure after a refund", Facts: []Fact{Ref(Refund("r1", "re_1", 20, 1000)), Pay(Failure("e0", 30))},
			WantChanged: []bool{true, false}, WantStatus: orders.RefundReceived},
	}
}
