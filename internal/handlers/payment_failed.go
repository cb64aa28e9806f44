package handlers

import (
	"context"

	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// PaymentFailed handles payment.failed: the order becomes PAYMENT_FAILED
// (unless it is already paid or refunded: a stale failure changes nothing
// and tells no one), the customer gets a failure notice with a link to pay
// again, and OrderPaymentFailed is published.
type PaymentFailed struct{ Deps }

// Handle applies one payment.failed event.
func (h PaymentFailed) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	p, err := parsePayment(ev)
	if err != nil {
		return err
	}
	orderID := p.Metadata.OrderID
	order, notify, err := h.applyOrder(ctx, ev, steps, orderID, func(ctx context.Context) (orders.Order, bool, error) {
		return h.Orders.ApplyPayment(ctx, orderID, paymentFact(ev, p, false), h.now())
	}, ownsPayment(ev))
	if err != nil || !notify {
		return err
	}
	if order.CustomerEmail == "" {
		order.CustomerEmail, order.CustomerName = p.Customer.Email, p.Customer.Name
	}
	if order.FailureMessage == "" {
		order.FailureMessage = p.FailureMessage
	}
	de, err := domainEvent(DetailOrderPaymentFailed, ev, order, nil, h.now())
	if err != nil {
		return err
	}
	email := FailureEmail(order, p.Amount, p.Currency, RetryURL(h.RetryURLTemplate, orderID))
	return h.notify(ctx, ev, steps, email, de)
}
