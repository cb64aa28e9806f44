package orders_test

import (
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// A refund that arrives before its payment is kept; the late payment makes
// the order partially refunded, not paid, and a stale failure changes
// nothing.
func ExampleOrder_ApplyRefund() {
	created := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	o := orders.Order{ID: "ord_1001"}
	o, changed := o.ApplyRefund(orders.Refund{EventID: "evt_2", EventCreated: created.Add(time.Hour),
		RefundID: "re_1", PaymentID: "pay_1", Amount: 1500, Currency: "usd"})
	fmt.Println(o.Status, changed)
	o, changed = o.ApplyPayment(orders.Payment{EventID: "evt_1", EventCreated: created, PaymentID: "pay_1",
		Succeeded: true, Amount: 4999, Currency: "usd"})
	fmt.Println(o.Status, changed, orders.FormatAmount(o.RefundedTotal, o.Currency), o.LastEventID)
	_, changed = o.ApplyPayment(orders.Payment{EventID: "evt_0", EventCreated: created.Add(-time.Minute),
		PaymentID: "pay_0", Amount: 4999, Currency: "usd", FailureCode: "card_declined"})
	fmt.Println(changed)
	// Output:
	// REFUND_RECEIVED true
	// PARTIALLY_REFUNDED true 15.00 USD evt_2
	// false
}

// A second payment on one order is kept and flagged; the order shows the
// earliest payment.
func ExampleOrder_ApplyPayment() {
	created := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	o := orders.Order{ID: "ord_1001"}
	for i, id := range []string{"pay_b", "pay_a", "pay_b"} {
		var changed bool
		o, changed = o.ApplyPayment(orders.Payment{EventID: fmt.Sprintf("evt_%d", i), EventCreated: created.Add(time.Duration(i) * time.Minute),
			PaymentID: id, PaymentCreated: created.Add(map[string]time.Duration{"pay_a": -time.Hour, "pay_b": 0}[id]),
			Succeeded: true, Amount: 4999, Currency: "usd"})
		fmt.Println(id, changed)
	}
	fmt.Println(o.Status, o.PaymentID, orders.FormatAmount(o.PaidTotal, o.Currency), o.PaidEventID)
	for _, a := range o.Anomalies {
		fmt.Println(a.Kind, a.Detail)
	}
	// Output:
	// pay_b true
	// pay_a true
	// pay_b false
	// PAID pay_a 99.98 USD evt_0
	// double_charge 2 payments succeeded: pay_a (49.99 USD), pay_b (49.99 USD); the order shows pay_a
}
