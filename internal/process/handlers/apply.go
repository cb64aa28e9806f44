package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// orderStep runs the "order" step with apply, and returns the order after
// it. When an earlier attempt completed the step, the order is read back
// with readBack instead. Every anomaly the event brought is noted.
func (d Deps) orderStep(ctx context.Context, ev process.Event, steps *process.Steps, orderID string,
	apply func(ctx context.Context) (orders.Applied, error),
	readBack func(ctx context.Context) (orders.Order, error)) (orders.Order, error) {
	if steps.Done(StepOrder) {
		o, err := readBack(ctx)
		if err != nil {
			return o, fmt.Errorf("read order %s back: %w", orderID, err)
		}
		return o, nil
	}
	var a orders.Applied
	err := steps.Run(ctx, StepOrder, func(ctx context.Context) error {
		var err error
		if a, err = apply(ctx); errors.Is(err, orders.ErrInvalid) {
			return process.Permanent(err)
		}
		return err
	})
	if err != nil {
		return a.Order, err
	}
	for _, an := range a.NewAnomalies {
		steps.Note(process.Note{Metric: MetricOrderAnomaly, Kind: string(an.Kind), Detail: fmt.Sprintf("order %s: %s", orderID, an.Detail)})
		d.logger().LogAttrs(ctx, slog.LevelError, "order anomaly",
			slog.String("event_id", ev.ID), slog.String("event_type", ev.Type), slog.String("order_id", orderID),
			slog.String("anomaly", string(an.Kind)), slog.String("detail", an.Detail))
	}
	return a.Order, nil
}

// silent logs that the event told no one, and why.
func (d Deps) silent(ctx context.Context, ev process.Event, o orders.Order, why string) {
	level := slog.LevelInfo
	if ev.Attempt > 1 {
		// A retry whose fact the order holds from another event: worth a
		// look, though the rule explains it.
		level = slog.LevelWarn
	}
	d.logger().LogAttrs(ctx, level, "nothing to tell: "+why,
		slog.String("event_id", ev.ID), slog.String("event_type", ev.Type),
		slog.String("order_id", o.ID), slog.String("order_status", string(o.Status)),
		slog.Int("attempt", ev.Attempt))
}

// publishStep runs the "event" step: the domain event de.
func (d Deps) publishStep(ctx context.Context, steps *process.Steps, de DomainEvent) error {
	return steps.Run(ctx, StepEvent, func(ctx context.Context) error {
		return d.Publisher.Publish(ctx, de)
	})
}

// emailStep runs the "email" step: it sends email, unless it has no
// address. An email that can never be sent (ErrUndeliverable) is noted on
// the event and logged, and the step completes: the event does not fail
// for it.
func (d Deps) emailStep(ctx context.Context, ev process.Event, steps *process.Steps, email Email) error {
	return steps.Run(ctx, StepEmail, func(ctx context.Context) error {
		if email.To == "" {
			d.logger().LogAttrs(ctx, slog.LevelWarn, "no customer email address: notice not sent",
				slog.String("event_id", ev.ID), slog.String("order_id", email.OrderID),
				slog.String("template", email.Template))
			return nil
		}
		email.EventID = ev.ID
		err := d.Mailer.Send(ctx, email)
		if !errors.Is(err, ErrUndeliverable) {
			return err
		}
		steps.Note(process.Note{Metric: MetricEmailUndeliverable, Kind: KindEmailUndeliverable, Detail: err.Error()})
		d.logger().LogAttrs(ctx, slog.LevelError, "email cannot be delivered: recorded on the event, processing goes on",
			slog.String("event_id", ev.ID), slog.String("order_id", email.OrderID),
			slog.String("template", email.Template), slog.String("error", err.Error()))
		return nil
	})
}
