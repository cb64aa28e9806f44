package ddborders_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// The order item keeps the ids of the events that changed it, in the order
// applied, bounded to the most recent MaxEvents: the fast paths append, a
// full list goes through the slow path, which trims it; events that change
// nothing (a duplicate, a stale failure) are not listed. The expectation is
// the list of applied ids kept by hand here.
func TestOrderKeepsTheIDsOfItsEventsBounded(t *testing.T) {
	store, _ := newStore(t)
	ctx := context.Background()
	const id = "ord_timeline"
	var want []string
	check := func(step string, o orders.Order) {
		t.Helper()
		if len(want) > ddborders.MaxEvents {
			want = want[len(want)-ddborders.MaxEvents:]
		}
		if !slices.Equal(o.Events, want) {
			t.Fatalf("%s: events %v, want %v", step, o.Events, want)
		}
		got, err := store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Events, want) {
			t.Fatalf("%s: stored events %v, want %v", step, got.Events, want)
		}
	}

	// A failure, then the success (both fast paths).
	fail := orders.Payment{EventID: "evt_fail", EventCreated: at(1), PaymentID: "pay_0", Amount: 100000, Currency: "usd", FailureCode: "card_declined"}
	payment := func(p orders.Payment) (orders.Order, bool, error) {
		a, err := store.ApplyPayment(ctx, id, p, p.EventCreated)
		return a.Order, a.Changed, err
	}
	refund := func(r orders.Refund) (orders.Order, bool, error) {
		a, _, err := store.ApplyRefund(ctx, id, r, r.EventCreated)
		return a.Order, a.Changed, err
	}
	o, changed, err := payment(fail)
	if err != nil || !changed {
		t.Fatalf("failure: changed %v, %v", changed, err)
	}
	want = append(want, "evt_fail")
	check("failure", o)
	pay := orders.Payment{EventID: "evt_pay", EventCreated: at(2), PaymentID: "pay_1", Succeeded: true, Amount: 100000, Currency: "usd"}
	if o, changed, err = payment(pay); err != nil || !changed {
		t.Fatalf("payment: changed %v, %v", changed, err)
	}
	want = append(want, "evt_pay")
	check("payment", o)

	// The same payment again and a stale failure change nothing.
	again := pay
	again.EventCreated = at(3)
	if o, changed, err = payment(again); err != nil || changed {
		t.Fatalf("payment again: changed %v, %v", changed, err)
	}
	check("payment again", o)
	stale := fail
	stale.EventID, stale.EventCreated = "evt_stale", at(0)
	if o, changed, err = payment(stale); err != nil || changed {
		t.Fatalf("stale failure: changed %v, %v", changed, err)
	}
	check("stale failure", o)

	// More partial refunds than the list holds.
	for i := range ddborders.MaxEvents + 5 {
		ev := fmt.Sprintf("evt_re_%02d", i)
		r := orders.Refund{EventID: ev, EventCreated: at(10 + i), RefundID: fmt.Sprintf("re_%02d", i), PaymentID: "pay_1", Amount: 100, Currency: "usd"}
		if o, changed, err = refund(r); err != nil || !changed {
			t.Fatalf("refund %d: changed %v, %v", i, changed, err)
		}
		want = append(want, ev)
		check(ev, o)
	}
	// The last refund brings it to REFUNDED on a full list, trimmed.
	last := orders.Refund{EventID: "evt_re_last", EventCreated: at(100), RefundID: "re_last", PaymentID: "pay_1", Amount: 100000, Currency: "usd"}
	if o, changed, err = refund(last); err != nil || !changed {
		t.Fatalf("last refund: changed %v, %v", changed, err)
	}
	want = append(want, "evt_re_last")
	check("last refund", o)
	if o.Status != orders.Refunded {
		t.Errorf("status %s, want REFUNDED", o.Status)
	}
}

// A refund's transaction appends its event too, and a second payment (the
// slow path of a payment) does.
func TestRefundAndSecondPaymentAppendTheirEvents(t *testing.T) {
	store, c := newStore(t)
	ctx := context.Background()
	pay := orders.Payment{EventID: "evt_pay", EventCreated: at(1), PaymentID: "pay_1", Succeeded: true, Amount: 500, Currency: "usd"}
	if _, err := store.ApplyPayment(ctx, "ord_ev", pay, at(1)); err != nil {
		t.Fatal(err)
	}
	before := c.snapshot()["TransactWriteItems"]
	r := orders.Refund{EventID: "evt_re", EventCreated: at(2), RefundID: "re_1", PaymentID: "pay_1", Amount: 500, Currency: "usd"}
	a, _, err := store.ApplyRefund(ctx, "ord_ev", r, at(2))
	if err != nil || !a.Changed {
		t.Fatalf("changed %v, %v", a.Changed, err)
	}
	if n := c.snapshot()["TransactWriteItems"] - before; n != 1 {
		t.Errorf("%d transactions, want 1", n)
	}
	second := orders.Payment{EventID: "evt_pay2", EventCreated: at(3), PaymentID: "pay_2", Succeeded: true, Amount: 500, Currency: "usd"}
	if a, err = store.ApplyPayment(ctx, "ord_ev", second, at(3)); err != nil || !a.Changed {
		t.Fatalf("second payment: changed %v, %v", a.Changed, err)
	}
	if want := []string{"evt_pay", "evt_re", "evt_pay2"}; !slices.Equal(a.Order.Events, want) {
		t.Errorf("events %v, want %v", a.Order.Events, want)
	}
}
