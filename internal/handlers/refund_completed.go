package handlers

import (
	"context"

	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// RefundCompleted handles refund.completed: the refund is added to the
// order once per refund id (PARTIALLY_REFUNDED or REFUNDED), the customer
// gets a refund notice, and OrderRefunded is published. A duplicate refund
// (another event with the same refund id, created later) changes nothing and
// tells no one.
type RefundCompleted struct{ Deps }

// Handle applies one refund.completed event.
func (h RefundCompleted) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	r, err := parseRefund(ev)
	if err != nil {
		return err
	}
	orderID := r.Metadata.OrderID
	order, notify, err := h.applyOrder(ctx, ev, steps, orderID, func(ctx context.Context) (orders.Order, bool, error) {
		return h.Orders.ApplyRefund(ctx, orderID, orders.Refund{
			EventID:      ev.ID,
			EventCreated: ev.Created,
			RefundID:     r.ID,
			PaymentID:    r.PaymentID,
			Amount:       r.Amount,
			Currency:     r.Currency,
		}, h.now())
	}, ownsRefund(ev, r.ID))
	if err != nil || !notify {
		return err
	}
	de, err := domainEvent(DetailOrderRefunded, ev, order, &RefundDetail{
		RefundID: r.ID, PaymentID: r.PaymentID, Amount: r.Amount, Currency: r.Currency,
	}, h.now())
	if err != nil {
		return err
	}
	return h.notify(ctx, ev, steps, RefundEmail(order, r.Amount, r.Currency), de)
}
