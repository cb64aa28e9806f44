package orders_test

import (
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/orders"
)

// A refund that arrives before its payment is kept; the late payment makes
// the order partially refunded, not paid.
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
