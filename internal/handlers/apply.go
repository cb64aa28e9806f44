package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// applyOrder runs the "order" step with apply and reports the order after
// it and whether the customer is to be told (see the package doc): when the
// update changed the order, or when applied reports that the order holds the
// fact as applied by this very event. When an earlier attempt completed the
// step, the order is read back and notify is true.
func (d Deps) applyOrder(ctx context.Context, ev process.Event, steps *process.Steps, orderID string,
	apply func(ctx context.Context) (orders.Order, bool, error),
	applied func(orders.Order) bool) (order orders.Order, notify bool, err error) {
	if steps.Done(StepOrder) {
		order, err := d.Orders.Get(ctx, orderID)
		if err != nil {
			return order, false, fmt.Errorf("read order %s back: %w", orderID, err)
		}
		return order, true, nil
	}
	var changed bool
	err = steps.Run(ctx, StepOrder, func(ctx context.Context) error {
		var err error
		order, changed, err = apply(ctx)
		if errors.Is(err, orders.ErrInvalid) || errors.Is(err, orders.ErrCurrencyMismatch) {
			return process.Permanent(err)
		}
		return err
	})
	if err != nil {
		return order, false, err
	}
	notify = changed || applied(order)
	if !notify {
		level := slog.LevelInfo
		if ev.Attempt > 1 {
			// A retry whose fact the order holds from another
			// event: worth a look, though the rule explains it.
			level = slog.LevelWarn
		}
		d.logger().LogAttrs(ctx, level, "order unchanged: no notification",
			slog.String("event_id", ev.ID), slog.String("event_type", ev.Type),
			slog.String("order_id", orderID), slog.String("order_status", string(order.Status)),
			slog.Int("attempt", ev.Attempt))
	}
	return order, notify, nil
}

// notify runs the "email" and "event" steps.
func (d Deps) notify(ctx context.Context, ev process.Event, steps *process.Steps, email Email, de DomainEvent) error {
	if err := steps.Run(ctx, StepEmail, func(ctx context.Context) error {
		if email.To == "" {
			d.logger().LogAttrs(ctx, slog.LevelWarn, "no customer email address: notice not sent",
				slog.String("event_id", ev.ID), slog.String("order_id", email.OrderID),
				slog.String("template", email.Template))
			return nil
		}
		return d.Mailer.Send(ctx, email)
	}); err != nil {
		return err
	}
	return steps.Run(ctx, StepEvent, func(ctx context.Context) error {
		return d.Publisher.Publish(ctx, de)
	})
}

// ownsPayment reports whether the order holds the payment outcome of ev: a
// retry of ev after the order was updated, not another event's payment.
func ownsPayment(ev process.Event) func(orders.Order) bool {
	return func(o orders.Order) bool { return o.PaymentEventID == ev.ID }
}

// ownsRefund reports whether the order holds refund refundID as applied by
// ev: a retry of ev after the order was updated, not another event for the
// same refund.
func ownsRefund(ev process.Event, refundID string) func(orders.Order) bool {
	return func(o orders.Order) bool { return o.RefundEvents[refundID].ID == ev.ID }
}
