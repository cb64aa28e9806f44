// Package handlers holds the business logic of the processor: one handler
// per event type, each in its own file, registered in Default. This is the
// package a merchant edits to change what happens when a payment succeeds,
// fails or is refunded.
//
// Every built-in handler runs three named steps, in order:
//
//   - "order": apply the event to the orders table (one conditional update);
//   - "email": tell the customer (confirmation, failure notice with a retry
//     link, refund notice);
//   - "event": publish a domain event (OrderPaid, OrderPaymentFailed,
//     OrderRefunded) on the EventBridge bus for fulfilment and other systems.
//
// The processor skips the steps an earlier attempt of the same event
// completed, and records the completed ones when a later step fails, so a
// retry resumes where the last attempt stopped (see package process).
//
// # When the customer is told
//
// The email and the domain event are decided from the order as the update
// returned it, after the change. They are sent when this event changed the
// order, or when the order already holds this event's fact as applied by
// this very event: that is a retry of an attempt that updated the order and
// stopped before it recorded anything (a crash, a timeout), so the notice is
// still owed; it is also what a write looks like when DynamoDB's answer was
// lost and the SDK's automatic retry found the order already updated. The
// order names the event that applied each fact: for a payment the event
// whose outcome it holds (PaymentEventID), for a refund the event that
// applied that refund id (RefundEvents), whatever was applied since.
//
// Nothing is sent when the order did not change for another reason: a
// duplicate refund (another event with the same refund id, created later),
// a stale payment.failed after a success or a refund, a second event for a
// payment already applied. When "order" is among the completed steps, the
// earlier attempt had already decided to notify (later steps only run, and
// are only recorded, then), and the order is read back instead of updated
// again.
//
// Two events for one refund id are told apart by their created time, not by
// their arrival (package orders): the earlier one owns the refund. If it
// arrives after the later one was applied, it takes the refund over and its
// notice is sent too, so that customer hears of that refund twice. A retry
// after the earlier one took over sends nothing: its refund is another
// event's now.
//
// SES and EventBridge are not idempotent: an email or event whose send
// succeeded but whose response was lost is sent again by the retry. Domain
// event consumers dedupe on source_event_id.
package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// The names of the built-in handlers' steps, in the order they run.
const (
	StepOrder = "order"
	StepEmail = "email"
	StepEvent = "event"
)

// The event types with a built-in handler.
const (
	TypePaymentSucceeded = "payment.succeeded"
	TypePaymentFailed    = "payment.failed"
	TypeRefundCompleted  = "refund.completed"
)

// DefaultRetryURLTemplate is the retry link of a failure notice when none is
// configured; {order_id} is replaced by the order id.
const DefaultRetryURLTemplate = "https://shop.example.com/orders/{order_id}/pay"

// Orders is the orders table as the handlers use it.
type Orders interface {
	ApplyPayment(ctx context.Context, orderID string, p orders.Payment, now time.Time) (orders.Order, bool, error)
	ApplyRefund(ctx context.Context, orderID string, r orders.Refund, now time.Time) (orders.Order, bool, error)
	Get(ctx context.Context, orderID string) (orders.Order, error)
}

// Email is one message to a customer.
type Email struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Template names the kind of message ("payment_confirmation", …) and
	// OrderID the order: what logs may show instead of the address.
	Template string
	OrderID  string
}

// Mailer sends an email (sesmail.Mailer, or sesmail.LogMailer when no
// sender is configured).
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// DomainEvent is one event for the merchant's other systems.
type DomainEvent struct {
	// DetailType is OrderPaid, OrderPaymentFailed or OrderRefunded.
	DetailType string
	// Detail is the JSON document of the event.
	Detail json.RawMessage
	Time   time.Time
}

// The detail types of the domain events.
const (
	DetailOrderPaid          = "OrderPaid"
	DetailOrderPaymentFailed = "OrderPaymentFailed"
	DetailOrderRefunded      = "OrderRefunded"
)

// Publisher publishes a domain event (ebpublish.Publisher, or ebpublish.Nop
// when no bus is configured).
type Publisher interface {
	Publish(ctx context.Context, e DomainEvent) error
}

// Deps are what the handlers need.
type Deps struct {
	Orders    Orders
	Mailer    Mailer
	Publisher Publisher
	// RetryURLTemplate is the failure notice's retry link, with {order_id}
	// (DefaultRetryURLTemplate when empty).
	RetryURLTemplate string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger (slog.Default when nil).
	Logger *slog.Logger
}

// Default returns the registry of the built-in handlers: one entry per
// event type. Add a type here, with its handler in a file of its own.
func Default(d Deps) process.Registry {
	return process.Registry{
		TypePaymentSucceeded: PaymentSucceeded{Deps: d},
		TypePaymentFailed:    PaymentFailed{Deps: d},
		TypeRefundCompleted:  RefundCompleted{Deps: d},
	}
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d Deps) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}
