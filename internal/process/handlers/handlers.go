// Package handlers holds the business logic of the processor: one handler
// per event type, each in its own file, registered in Default. This is the
// package a merchant edits to change what happens when a payment succeeds,
// fails or is refunded.
//
// # Steps, and why in this order
//
// Every built-in handler runs three named steps, in this order:
//
//   - "order": apply the event to the orders table (conditional writes);
//   - "event": publish the domain event (OrderPaid, OrderPaymentFailed,
//     OrderRefunded) on the EventBridge bus, for fulfilment and the
//     merchant's other systems;
//   - "email": tell the customer (confirmation, failure notice with a retry
//     link, refund notice).
//
// The order comes first in all three: the domain event and the email report
// the order as the table holds it, so nothing is announced that the table
// might not hold, and a retry that finds the order step done reads the
// order back instead of applying the event twice. The domain event comes
// before the email in all three: fulfilment (shipping a paid order, offering
// a failed one another way, booking a refund) must never wait for, nor be
// blocked by, a courtesy email. An email can fail for good (SES in its
// sandbox rejects every recipient it has not verified; an address SES
// refuses): the email step then records the failure on the event as a note
// (EmailUndeliverable, counted and alarmed) and completes, so the event ends
// PROCESSED. A transient email failure (throttling, an SES configuration
// being fixed) retries the event, and the retry resumes at the email: the
// domain event is not published again. Last, the email step is the one
// effect that can move behind a queue of its own without the other two
// changing: it only reads the order and the event.
//
// The processor skips the steps an earlier attempt of the same event
// completed, and records the completed ones when a later step fails, so a
// retry resumes where the last attempt stopped (see package process).
//
// # When the customer and the bus are told
//
// Each fact is told once, by the event that brought it, whatever else
// arrives; the decision is taken from the order as stored, so a retry after
// a crash (which finds the order step applied, or recorded) takes it the
// same way:
//
//   - payment.succeeded: OrderPaid and the confirmation, by the event that
//     first made the order paid (orders.Order.PaidEventID). The same payment
//     announced again, or a second payment on a paid order (a double
//     charge), tells no one: fulfilment must not ship twice. The double
//     charge is kept on the order as an anomaly, logged, counted and
//     alarmed; the merchant refunds it, and that refund's notice tells the
//     customer.
//   - payment.failed: OrderPaymentFailed and the failure notice, by the
//     event whose failure the order holds; nothing for a stale failure
//     (after a success, a refund or a later failure).
//   - refund.completed: OrderRefunded by the event that applied the refund
//     id first (ddborders keeps which); nothing for another event with the
//     same refund id. One that contradicts it (another amount, currency or
//     payment) is a refund_conflict anomaly; when it was created earlier, its
//     refund counts in the order instead (the earliest announcement counts,
//     whatever the arrival order), and still nothing is published again:
//     the alarm, not a second OrderRefunded, tells the merchant that the
//     refund told may not be the one that counts. The refund notice goes to
//     the customer only for a
//     refund the order can vouch for: of one of its payments, in its
//     currency, not beyond what was paid. Any other refund (an anomaly:
//     foreign, in another currency, an over-refund) is published and
//     alarmed, and the customer hears from the merchant, not from a notice
//     that may state a wrong amount. A refund that arrives before its
//     payment has no address to go to; the confirmation mentions it.
//
// Every anomaly an event brings (double_charge, currency_mismatch,
// over_refund, foreign_refund, refund_conflict; see package orders) is
// written as a note (OrderAnomaly) and logged as an error: each fact of it,
// not only the first of its kind on an order (a third payment is one more
// charge to refund). An attempt that finds its own fact applied by an
// earlier attempt (whose outcome was lost) still notes what it brought.
//
// SES and EventBridge are not idempotent: an email or event whose send
// succeeded but whose response was lost is sent again by the retry. Domain
// event consumers dedupe on source_event_id, which is always the event that
// brought the fact, whichever attempt publishes it.
//
// # Goroutines
//
// The processor recovers a panic in a handler (the record is RETRYING, its
// batch-mates finish), but only in the goroutine that runs the handler: Go
// cannot recover a panic in another goroutine, and an unrecovered panic
// ends the process, the whole batch with it (every record in flight is
// delivered again, those mid-step after their lease). Start a goroutine of
// a handler with Go, which recovers its panic into an error, and wait for
// that error before the handler returns.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// The names of the built-in handlers' steps, in the order they run.
const (
	StepOrder = "order"
	StepEvent = "event"
	StepEmail = "email"
)

// The metrics the built-in handlers' notes are counted under (see
// process.Note), with the note kinds of emails.
const (
	MetricEmailUndeliverable = "EmailUndeliverable"
	MetricOrderAnomaly       = "OrderAnomaly"
	KindEmailUndeliverable   = "email_undeliverable"
)

// ErrUndeliverable marks an email that no retry can send: the recipient
// rejected (SES's MessageRejected, which is every recipient not verified
// while the SES account is in its sandbox), an address SES refuses. A
// Mailer wraps it; the email step then records the failure and completes.
// A configuration problem the operator fixes (an unverified MAIL FROM
// domain, sending paused, a missing configuration set) is not
// undeliverable: it is retried.
var ErrUndeliverable = errors.New("email cannot be delivered")

// The event types with a built-in handler: the spec's, as package envelope
// defines them.
const (
	TypePaymentSucceeded = envelope.TypePaymentSucceeded
	TypePaymentFailed    = envelope.TypePaymentFailed
	TypeRefundCompleted  = envelope.TypeRefundCompleted
)

// DefaultRetryURLTemplate is the retry link of a failure notice when none is
// configured; {order_id} is replaced by the order id.
const DefaultRetryURLTemplate = "https://shop.example.com/orders/{order_id}/pay"

// Orders is the orders table as the handlers use it (ddborders.Store).
type Orders interface {
	// ApplyPayment applies a payment outcome to the order.
	ApplyPayment(ctx context.Context, orderID string, p orders.Payment, now time.Time) (orders.Applied, error)
	// ApplyRefund applies a refund once per refund id, and returns the
	// refund as recorded: its EventID is the event that applied it.
	ApplyRefund(ctx context.Context, orderID string, r orders.Refund, now time.Time) (orders.Applied, orders.Refund, error)
	// Get reads the order; GetRefund a refund as recorded.
	Get(ctx context.Context, orderID string) (orders.Order, error)
	GetRefund(ctx context.Context, orderID, refundID string) (orders.Refund, error)
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
	// EventID is the event the email tells of (set by the email step):
	// a queued email's delivery is kept on that event's record.
	EventID string
}

// Mailer sends an email (sesmail.Mailer, or sesmail.LogMailer when no
// sender is configured). An email that can never be sent is an error that
// wraps ErrUndeliverable.
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
