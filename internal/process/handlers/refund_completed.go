package handlers

import (
	"context"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// RefundCompleted handles refund.completed: the refund is added to the
// order once per refund id (PARTIALLY_REFUNDED or REFUNDED), OrderRefunded
// is published, and the customer gets a refund notice when the order can
// vouch for the refund. Another event with the same refund id changes
// nothing and tells no one.
type RefundCompleted struct{ Deps }

// Handle applies one refund.completed event.
func (h RefundCompleted) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	r, err := parseRefund(ev)
	if err != nil {
		return err
	}
	orderID := r.Metadata.OrderID
	fact := orders.Refund{
		EventID: ev.ID, EventCreated: ev.Created, RefundID: r.ID, PaymentID: r.PaymentID, Amount: r.Amount, Currency: r.Currency,
	}
	var recorded orders.Refund
	order, err := h.orderStep(ctx, ev, steps, orderID,
		func(ctx context.Context) (orders.Applied, error) {
			a, rec, err := h.Orders.ApplyRefund(ctx, orderID, fact, h.now())
			recorded = rec
			return a, err
		},
		func(ctx context.Context) (orders.Order, error) {
			o, err := h.Orders.Get(ctx, orderID)
			if err == nil {
				recorded, err = h.Orders.GetRefund(ctx, orderID, r.ID)
			}
			return o, err
		})
	if err != nil {
		return err
	}
	if recorded.EventID != ev.ID {
		h.silent(ctx, ev, order, "another event applied this refund id")
		return nil
	}
	de, err := domainEvent(DetailOrderRefunded, ev, order, &RefundDetail{
		RefundID: r.ID, PaymentID: r.PaymentID, Amount: r.Amount, Currency: r.Currency,
	}, h.now())
	if err != nil {
		return err
	}
	if err := h.publishStep(ctx, steps, de); err != nil {
		return err
	}
	if !vouchesFor(order, fact) {
		h.silent(ctx, ev, order, "the refund is an anomaly of the order: no notice to the customer")
		return nil
	}
	return h.emailStep(ctx, ev, steps, RefundEmail(order, r.ID, r.Amount, r.Currency))
}

// vouchesFor reports whether the order can tell its customer about refund
// r: a refund of one of its payments, in its currency, and the refunds do
// not exceed what was paid (see the package doc). Before any payment the
// order has no customer address: the email step logs that instead.
func vouchesFor(o orders.Order, r orders.Refund) bool {
	return !o.HasSuccess() || o.RefundCounts(r) && o.RefundedTotal <= o.PaidTotal
}
