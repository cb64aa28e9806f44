package handlers

import (
	"context"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// PaymentSucceeded handles payment.succeeded: the payment is added to the
// order (PAID), OrderPaid is published for fulfilment, and the customer
// gets a confirmation; both only from the event that made the order paid.
type PaymentSucceeded struct{ Deps }

// Handle applies one payment.succeeded event.
func (h PaymentSucceeded) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	p, err := parsePayment(ev)
	if err != nil {
		return err
	}
	orderID := p.Metadata.OrderID
	order, err := h.orderStep(ctx, ev, steps, orderID,
		func(ctx context.Context) (orders.Applied, error) {
			return h.Orders.ApplyPayment(ctx, orderID, paymentFact(ev, p, true), h.now())
		},
		func(ctx context.Context) (orders.Order, error) { return h.Orders.Get(ctx, orderID) })
	if err != nil {
		return err
	}
	if order.PaidEventID != ev.ID {
		// The same payment again, or a second payment (a double charge,
		// noted by the order step): fulfilment must not ship twice.
		h.silent(ctx, ev, order, "the order was paid by another event")
		return nil
	}
	de, err := domainEvent(DetailOrderPaid, ev, order, nil, h.now())
	if err != nil {
		return err
	}
	if err := h.publishStep(ctx, steps, de); err != nil {
		return err
	}
	return h.emailStep(ctx, ev, steps, ConfirmationEmail(order))
}

// paymentFact is what the orders table learns from a payment event.
func paymentFact(ev process.Event, p payment, succeeded bool) orders.Payment {
	return orders.Payment{
		EventID:        ev.ID,
		EventCreated:   ev.Created,
		PaymentID:      p.ID,
		PaymentCreated: unixTime(p.Created),
		Succeeded:      succeeded,
		Amount:         p.Amount,
		Currency:       p.Currency,
		CustomerEmail:  p.Customer.Email,
		CustomerName:   p.Customer.Name,
		FailureCode:    p.FailureCode,
		FailureMessage: p.FailureMessage,
	}
}
