package handlers

import (
	"context"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// PaymentFailed handles payment.failed: the order becomes PAYMENT_FAILED
// (unless it is already paid or refunded, or holds a later failure: a stale
// failure changes nothing and tells no one), OrderPaymentFailed is
// published, and the customer gets a failure notice with a link to pay
// again.
type PaymentFailed struct{ Deps }

// Handle applies one payment.failed event.
func (h PaymentFailed) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	p, err := parsePayment(ev)
	if err != nil {
		return err
	}
	orderID := p.Metadata.OrderID
	order, err := h.orderStep(ctx, ev, steps, orderID,
		func(ctx context.Context) (orders.Applied, error) {
			return h.Orders.ApplyPayment(ctx, orderID, paymentFact(ev, p, false), h.now())
		},
		func(ctx context.Context) (orders.Order, error) { return h.Orders.Get(ctx, orderID) })
	if err != nil {
		return err
	}
	if !order.HasFailure() || order.PaymentEventID != ev.ID {
		h.silent(ctx, ev, order, "the order holds a success, a refund or a later failure")
		return nil
	}
	de, err := domainEvent(DetailOrderPaymentFailed, ev, order, nil, h.now())
	if err != nil {
		return err
	}
	if err := h.publishStep(ctx, steps, de); err != nil {
		return err
	}
	return h.emailStep(ctx, ev, steps, FailureEmail(order, p.Amount, p.Currency, RetryURL(h.RetryURLTemplate, orderID)))
}
