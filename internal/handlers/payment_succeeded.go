package handlers

import (
	"context"

	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// PaymentSucceeded handles payment.succeeded: the order becomes PAID, the
// customer gets a confirmation, and OrderPaid is published for fulfilment.
type PaymentSucceeded struct{ Deps }

// Handle applies one payment.succeeded event.
func (h PaymentSucceeded) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	p, err := parsePayment(ev)
	if err != nil {
		return err
	}
	orderID := p.Metadata.OrderID
	order, notify, err := h.applyOrder(ctx, ev, steps, orderID, func(ctx context.Context) (orders.Order, bool, error) {
		return h.Orders.ApplyPayment(ctx, orderID, paymentFact(ev, p, true), h.now())
	}, ownsPayment(ev))
	if err != nil || !notify {
		return err
	}
	if order.CustomerEmail == "" {
		order.CustomerEmail, order.CustomerName = p.Customer.Email, p.Customer.Name
	}
	de, err := domainEvent(DetailOrderPaid, ev, order, nil, h.now())
	if err != nil {
		return err
	}
	return h.notify(ctx, ev, steps, ConfirmationEmail(order), de)
}

// paymentFact is what the orders table learns from a payment event.
func paymentFact(ev process.Event, p payment, succeeded bool) orders.Payment {
	return orders.Payment{
		EventID:        ev.ID,
		EventCreated:   ev.Created,
		PaymentID:      p.ID,
		Succeeded:      succeeded,
		Amount:         p.Amount,
		Currency:       p.Currency,
		CustomerEmail:  p.Customer.Email,
		CustomerName:   p.Customer.Name,
		FailureCode:    p.FailureCode,
		FailureMessage: p.FailureMessage,
	}
}
