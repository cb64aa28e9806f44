package orders_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/orders"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func success(evt string, sec int) orders.Payment {
	return orders.Payment{EventID: evt, EventCreated: at(sec), PaymentID: "pay_" + evt, Succeeded: true,
		Amount: 4999, Currency: "usd", CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe"}
}

func failure(evt string, sec int) orders.Payment {
	return orders.Payment{EventID: evt, EventCreated: at(sec), PaymentID: "pay_" + evt, Amount: 4999, Currency: "usd",
		CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe",
		FailureCode: "card_declined", FailureMessage: "declined " + evt}
}

// held returns RefundEvents from triples of refund id, event id and created
// second.
func held(triples ...any) map[string]orders.EventRef {
	out := map[string]orders.EventRef{}
	for i := 0; i+2 < len(triples); i += 3 {
		out[triples[i].(string)] = orders.EventRef{ID: triples[i+1].(string), Created: at(triples[i+2].(int))}
	}
	return out
}

func refund(evt, id string, sec int, amount int64) orders.Refund {
	return orders.Refund{EventID: evt, EventCreated: at(sec), RefundID: id, PaymentID: "pay_x", Amount: amount, Currency: "usd"}
}

// fact is a payment or a refund.
type fact struct {
	p *orders.Payment
	r *orders.Refund
}

func (f fact) apply(o orders.Order) (orders.Order, bool) {
	if f.p != nil {
		return o.ApplyPayment(*f.p)
	}
	return o.ApplyRefund(*f.r)
}

func (f fact) String() string {
	if f.p != nil {
		return f.p.EventID
	}
	return f.r.EventID
}

func pay(p orders.Payment) fact { return fact{p: &p} }
func ref(r orders.Refund) fact  { return fact{r: &r} }

// applyAll applies facts in order and returns the order and each step's
// changed flag.
func applyAll(facts []fact) (orders.Order, []bool) {
	o := orders.Order{ID: "ord_1"}
	changed := make([]bool, len(facts))
	for i, f := range facts {
		o, changed[i] = f.apply(o)
	}
	return o, changed
}

// diff returns a description of the differences between two orders, or "".
func diff(want, got orders.Order) string {
	var d string
	check := func(name string, w, g any) {
		if fmt.Sprint(w) != fmt.Sprint(g) {
			d += fmt.Sprintf("\n  %s: want %v, got %v", name, w, g)
		}
	}
	check("Status", want.Status, got.Status)
	check("Amount", want.Amount, got.Amount)
	check("Currency", want.Currency, got.Currency)
	check("PaymentID", want.PaymentID, got.PaymentID)
	check("PaymentEventID", want.PaymentEventID, got.PaymentEventID)
	check("CustomerEmail", want.CustomerEmail, got.CustomerEmail)
	check("CustomerName", want.CustomerName, got.CustomerName)
	check("PaidAt", want.PaidAt.UTC(), got.PaidAt.UTC())
	check("FailureCode", want.FailureCode, got.FailureCode)
	check("FailureMessage", want.FailureMessage, got.FailureMessage)
	check("FailedAt", want.FailedAt.UTC(), got.FailedAt.UTC())
	check("RefundedTotal", want.RefundedTotal, got.RefundedTotal)
	if !maps.Equal(want.Refunds, got.Refunds) {
		check("Refunds", want.Refunds, got.Refunds)
	}
	if !maps.EqualFunc(want.RefundEvents, got.RefundEvents, func(w, g orders.EventRef) bool {
		return w.ID == g.ID && w.Created.Equal(g.Created)
	}) {
		check("RefundEvents", want.RefundEvents, got.RefundEvents)
	}
	check("LastEventID", want.LastEventID, got.LastEventID)
	check("LastEventCreated", want.LastEventCreated.UTC(), got.LastEventCreated.UTC())
	return d
}

func TestRules(t *testing.T) {
	tests := []struct {
		name        string
		facts       []fact
		wantChanged []bool
		want        orders.Order
	}{
		{
			name:        "success is PAID with its fields",
			facts:       []fact{pay(success("e1", 10))},
			wantChanged: []bool{true},
			want: orders.Order{Status: orders.Paid, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), LastEventID: "e1", LastEventCreated: at(10)},
		},
		{
			name:        "failure is PAYMENT_FAILED with code and message",
			facts:       []fact{pay(failure("e1", 10))},
			wantChanged: []bool{true},
			want: orders.Order{Status: orders.PaymentFailed, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", FailureCode: "card_declined", FailureMessage: "declined e1",
				FailedAt: at(10), LastEventID: "e1", LastEventCreated: at(10)},
		},
		{
			name:        "stale failure after success changes nothing",
			facts:       []fact{pay(success("e2", 20)), pay(failure("e1", 10))},
			wantChanged: []bool{true, false},
			want: orders.Order{Status: orders.Paid, Amount: 4999, Currency: "usd", PaymentID: "pay_e2", PaymentEventID: "e2",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(20), LastEventID: "e2", LastEventCreated: at(20)},
		},
		{
			name:        "failure newer than the success still loses",
			facts:       []fact{pay(success("e1", 10)), pay(failure("e2", 20))},
			wantChanged: []bool{true, false},
			want: orders.Order{Status: orders.Paid, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), LastEventID: "e1", LastEventCreated: at(10)},
		},
		{
			name:        "success after failure replaces it",
			facts:       []fact{pay(failure("e1", 10)), pay(success("e2", 20))},
			wantChanged: []bool{true, true},
			want: orders.Order{Status: orders.Paid, Amount: 4999, Currency: "usd", PaymentID: "pay_e2", PaymentEventID: "e2",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(20), LastEventID: "e2", LastEventCreated: at(20)},
		},
		{
			name:        "later failure replaces an earlier one, earlier one changes nothing",
			facts:       []fact{pay(failure("e2", 20)), pay(failure("e1", 10)), pay(failure("e3", 30))},
			wantChanged: []bool{true, false, true},
			want: orders.Order{Status: orders.PaymentFailed, Amount: 4999, Currency: "usd", PaymentID: "pay_e3", PaymentEventID: "e3",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", FailureCode: "card_declined", FailureMessage: "declined e3",
				FailedAt: at(30), LastEventID: "e3", LastEventCreated: at(30)},
		},
		{
			name:        "duplicate success changes nothing",
			facts:       []fact{pay(success("e1", 10)), pay(success("e1", 10))},
			wantChanged: []bool{true, false},
			want: orders.Order{Status: orders.Paid, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), LastEventID: "e1", LastEventCreated: at(10)},
		},
		{
			name:        "partial refund then full",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000)), ref(refund("r2", "re_2", 30, 3999))},
			wantChanged: []bool{true, true, true},
			want: orders.Order{Status: orders.Refunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 4999,
				Refunds: map[string]int64{"re_1": 1000, "re_2": 3999}, RefundEvents: held("re_1", "r1", 20, "re_2", "r2", 30), LastEventID: "r2", LastEventCreated: at(30)},
		},
		{
			name:        "partial refund is PARTIALLY_REFUNDED",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000))},
			wantChanged: []bool{true, true},
			want: orders.Order{Status: orders.PartiallyRefunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name: "duplicate refund id adds nothing",
			facts: []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000)), ref(refund("r1", "re_1", 20, 1000)),
				ref(refund("r9", "re_1", 40, 1000))},
			wantChanged: []bool{true, true, false, false},
			want: orders.Order{Status: orders.PartiallyRefunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name: "an earlier event with a held refund id takes the refund over",
			facts: []fact{pay(success("e1", 10)), ref(refund("r9", "re_1", 40, 1200)), ref(refund("r1", "re_1", 20, 1000)),
				ref(refund("r9", "re_1", 40, 1200)), ref(refund("r5", "re_1", 30, 1000))},
			wantChanged: []bool{true, true, true, false, false},
			want: orders.Order{Status: orders.PartiallyRefunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name: "equal created times: the smaller event id holds the refund",
			facts: []fact{pay(success("e1", 10)), ref(refund("r2", "re_1", 20, 1000)), ref(refund("r1", "re_1", 20, 1000)),
				ref(refund("r3", "re_1", 20, 1000))},
			wantChanged: []bool{true, true, true, false},
			want: orders.Order{Status: orders.PartiallyRefunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name: "a take-over leaves the latest event to another refund or the payment",
			facts: []fact{pay(success("e1", 25)), ref(refund("r2", "re_2", 30, 500)), ref(refund("r9", "re_1", 40, 1000)),
				ref(refund("r1", "re_1", 20, 1000))},
			wantChanged: []bool{true, true, true, true},
			want: orders.Order{Status: orders.PartiallyRefunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(25), RefundedTotal: 1500,
				Refunds: map[string]int64{"re_1": 1000, "re_2": 500}, RefundEvents: held("re_1", "r1", 20, "re_2", "r2", 30),
				LastEventID: "r2", LastEventCreated: at(30)},
		},
		{
			name:        "refund before payment is REFUND_RECEIVED",
			facts:       []fact{ref(refund("r1", "re_1", 20, 1000))},
			wantChanged: []bool{true},
			want: orders.Order{Status: orders.RefundReceived, Currency: "usd", RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "late success after a partial refund is PARTIALLY_REFUNDED, not PAID",
			facts:       []fact{ref(refund("r1", "re_1", 20, 1000)), pay(success("e1", 10))},
			wantChanged: []bool{true, true},
			want: orders.Order{Status: orders.PartiallyRefunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "late success after a full refund is REFUNDED",
			facts:       []fact{ref(refund("r1", "re_1", 20, 4999)), pay(success("e1", 10))},
			wantChanged: []bool{true, true},
			want: orders.Order{Status: orders.Refunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 4999,
				Refunds: map[string]int64{"re_1": 4999}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "failure after a refund changes nothing",
			facts:       []fact{ref(refund("r1", "re_1", 20, 1000)), pay(failure("e1", 30))},
			wantChanged: []bool{true, false},
			want: orders.Order{Status: orders.RefundReceived, Currency: "usd", RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "refund after a failure replaces it",
			facts:       []fact{pay(failure("e1", 30)), ref(refund("r1", "re_1", 20, 1000))},
			wantChanged: []bool{true, true},
			want: orders.Order{Status: orders.RefundReceived, Currency: "usd", RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "later success replaces an earlier one and keeps the refunds",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000)), pay(success("e2", 15))},
			wantChanged: []bool{true, true, true},
			want: orders.Order{Status: orders.PartiallyRefunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e2", PaymentEventID: "e2",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(15), RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "over-refund is REFUNDED",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 4000)), ref(refund("r2", "re_2", 30, 4000))},
			wantChanged: []bool{true, true, true},
			want: orders.Order{Status: orders.Refunded, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
				CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), RefundedTotal: 8000,
				Refunds: map[string]int64{"re_1": 4000, "re_2": 4000}, RefundEvents: held("re_1", "r1", 20, "re_2", "r2", 30), LastEventID: "r2", LastEventCreated: at(30)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := applyAll(tc.facts)
			if fmt.Sprint(changed) != fmt.Sprint(tc.wantChanged) {
				t.Errorf("changed: want %v, got %v", tc.wantChanged, changed)
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("order differs:%s", d)
			}
			if got.ID != "ord_1" {
				t.Errorf("ID: want ord_1, got %q", got.ID)
			}
		})
	}
}

func TestApplyDoesNotMutate(t *testing.T) {
	o, _ := applyAll([]fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000))})
	before := maps.Clone(o.Refunds)
	n, changed := o.ApplyRefund(refund("r2", "re_2", 30, 500))
	if !changed || n.RefundedTotal != 1500 {
		t.Fatalf("ApplyRefund: want changed with total 1500, got %v %d", changed, n.RefundedTotal)
	}
	if !maps.Equal(before, o.Refunds) || o.RefundedTotal != 1000 {
		t.Errorf("the original order changed: refunds %v, total %d", o.Refunds, o.RefundedTotal)
	}
}

func TestDerive(t *testing.T) {
	tests := []struct {
		name string
		o    orders.Order
		want orders.Status
	}{
		{"nothing", orders.Order{}, ""},
		{"failure", orders.Order{FailedAt: at(1)}, orders.PaymentFailed},
		{"success", orders.Order{PaidAt: at(1), Amount: 100}, orders.Paid},
		{"zero-amount success", orders.Order{PaidAt: at(1)}, orders.Paid},
		{"partial", orders.Order{PaidAt: at(1), Amount: 100, RefundedTotal: 99, Refunds: map[string]int64{"a": 99}}, orders.PartiallyRefunded},
		{"full", orders.Order{PaidAt: at(1), Amount: 100, RefundedTotal: 100, Refunds: map[string]int64{"a": 100}}, orders.Refunded},
		{"refund only", orders.Order{RefundedTotal: 5, Refunds: map[string]int64{"a": 5}}, orders.RefundReceived},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := orders.Derive(tc.o); got != tc.want {
				t.Errorf("want %q, got %q", tc.want, got)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	paid, _ := orders.Order{ID: "ord_1"}.ApplyPayment(success("e1", 10))
	refundedFirst, _ := orders.Order{ID: "ord_1"}.ApplyRefund(refund("r1", "re_1", 20, 100))
	failed, _ := orders.Order{ID: "ord_1"}.ApplyPayment(failure("e1", 10))
	eur := func(r orders.Refund) orders.Refund { r.Currency = "eur"; return r }
	eurPay := func(p orders.Payment) orders.Payment { p.Currency = "eur"; return p }
	tests := []struct {
		name    string
		check   func() error
		wantErr error
	}{
		{"valid success", func() error { return orders.Order{}.CheckPayment(success("e1", 1)) }, nil},
		{"no event id", func() error { p := success("", 1); return orders.Order{}.CheckPayment(p) }, orders.ErrInvalid},
		{"no created", func() error {
			p := success("e1", 1)
			p.EventCreated = time.Time{}
			return orders.Order{}.CheckPayment(p)
		}, orders.ErrInvalid},
		{"no payment id", func() error { p := success("e1", 1); p.PaymentID = ""; return orders.Order{}.CheckPayment(p) }, orders.ErrInvalid},
		{"negative amount", func() error { p := success("e1", 1); p.Amount = -1; return orders.Order{}.CheckPayment(p) }, orders.ErrInvalid},
		{"no currency", func() error { p := failure("e1", 1); p.Currency = ""; return orders.Order{}.CheckPayment(p) }, orders.ErrInvalid},
		{"valid refund", func() error { return paid.CheckRefund(refund("r1", "re_1", 20, 1)) }, nil},
		{"zero refund", func() error { return paid.CheckRefund(refund("r1", "re_1", 20, 0)) }, orders.ErrInvalid},
		{"no refund id", func() error { return paid.CheckRefund(refund("r1", "", 20, 1)) }, orders.ErrInvalid},
		{"refund currency differs from payment", func() error { return paid.CheckRefund(eur(refund("r1", "re_1", 20, 1))) }, orders.ErrCurrencyMismatch},
		{"refund currency differs from refunds", func() error { return refundedFirst.CheckRefund(eur(refund("r2", "re_2", 20, 1))) }, orders.ErrCurrencyMismatch},
		{"refund currency ignores a failure", func() error { return failed.CheckRefund(eur(refund("r2", "re_2", 20, 1))) }, nil},
		{"refund currency case-insensitive", func() error { r := refund("r1", "re_1", 20, 1); r.Currency = "USD"; return paid.CheckRefund(r) }, nil},
		{"duplicate refund passes", func() error { return refundedFirst.CheckRefund(eur(refund("r1", "re_1", 20, 100))) }, nil},
		{"later duplicate passes", func() error { return refundedFirst.CheckRefund(eur(refund("r2", "re_1", 30, 100))) }, nil},
		{"earlier duplicate in another currency", func() error { return refundedFirst.CheckRefund(eur(refund("r0", "re_1", 10, 100))) }, orders.ErrCurrencyMismatch},
		{"success currency differs from refunds", func() error { return refundedFirst.CheckPayment(eurPay(success("e1", 10))) }, orders.ErrCurrencyMismatch},
		{"failure currency is never compared", func() error { return refundedFirst.CheckPayment(eurPay(failure("e1", 10))) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check()
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("want %v, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestApplyRefusesWhatCheckRefuses(t *testing.T) {
	paid, _ := orders.Order{ID: "ord_1"}.ApplyPayment(success("e1", 10))
	r := refund("r1", "re_1", 20, 100)
	r.Currency = "eur"
	if _, changed := paid.ApplyRefund(r); changed {
		t.Error("ApplyRefund applied a refund in another currency")
	}
	p := success("e2", 20)
	p.Amount = -5
	if _, changed := paid.ApplyPayment(p); changed {
		t.Error("ApplyPayment applied a negative amount")
	}
}

// scenario is one order's events: an early failure, the success, two
// partial refunds, a redelivery of the first refund's event and a later
// event (with another amount) for the same refund id.
func scenario() []fact {
	return []fact{
		pay(failure("evt_fail", 5)),
		pay(success("evt_pay", 10)),
		ref(refund("evt_re1", "re_1", 20, 1000)),
		ref(refund("evt_re2", "re_2", 30, 1500)),
		ref(refund("evt_re1", "re_1", 20, 1000)),
		ref(refund("evt_re1_late", "re_1", 25, 900)),
	}
}

// permutations returns every ordering of facts.
func permutations(facts []fact) [][]fact {
	if len(facts) <= 1 {
		return [][]fact{append([]fact(nil), facts...)}
	}
	var out [][]fact
	for i := range facts {
		rest := append(append([]fact(nil), facts[:i]...), facts[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]fact{facts[i]}, p...))
		}
	}
	return out
}

func TestArrivalOrderIndependence(t *testing.T) {
	facts := scenario()
	want, _ := applyAll(facts)
	if want.Status != orders.PartiallyRefunded || want.RefundedTotal != 2500 || want.LastEventID != "evt_re2" ||
		want.RefundEvents["re_1"].ID != "evt_re1" {
		t.Fatalf("in-order delivery: got %+v", want)
	}
	perms := permutations(facts)
	if len(perms) != 720 {
		t.Fatalf("want 720 permutations, got %d", len(perms))
	}
	for _, p := range perms {
		got, _ := applyAll(p)
		if d := diff(want, got); d != "" {
			t.Errorf("order %v:%s", p, d)
		}
	}
}

// FuzzArrivalOrder applies a random set of facts about one order in two
// random orders, with random duplicates, and checks both end in the same
// Order.
func FuzzArrivalOrder(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(42), uint64(7))
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		rng := rand.New(rand.NewPCG(seed1, 0))
		var facts []fact
		for i := range 1 + rng.IntN(8) {
			evt := fmt.Sprintf("e%d", i)
			sec := rng.IntN(5) // collisions in created time exercise the tie-breaks
			switch rng.IntN(3) {
			case 0:
				facts = append(facts, pay(success(evt, sec)))
			case 1:
				facts = append(facts, pay(failure(evt, sec)))
			default:
				// Sometimes the refund id of an earlier fact: two
				// events for one refund.
				facts = append(facts, ref(refund(evt, fmt.Sprintf("re_%d", rng.IntN(i+1)), sec, 1+rng.Int64N(3000))))
			}
		}
		for range rng.IntN(3) {
			facts = append(facts, facts[rng.IntN(len(facts))])
		}
		want, _ := applyAll(facts)
		shuffled := append([]fact(nil), facts...)
		rand.New(rand.NewPCG(seed2, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, _ := applyAll(shuffled)
		if d := diff(want, got); d != "" {
			t.Errorf("%v vs %v:%s", facts, shuffled, d)
		}
		if got.Status != orders.Derive(got) {
			t.Errorf("status %q, derived %q", got.Status, orders.Derive(got))
		}
	})
}
