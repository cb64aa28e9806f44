// Package orders is the order state machine: it turns the payment and refund
// facts carried by webhook events into the state of an order, whatever order
// the events arrive in.
//
// An order's state is a function of the facts accumulated so far, never of
// their arrival order:
//
//   - the payment outcome it holds: a successful payment always wins over a
//     failed one, whatever their times; among successes the one with the
//     latest event created time wins, and so does the latest among failures
//     (ties broken by the greater event id);
//   - the set of refunds applied, one per refund id, each with its amount and
//     the event that applied it. When two different events carry the same
//     refund id, the one with the earliest created time (ties: the smaller
//     event id) is the refund's: it applies the refund, whatever arrived
//     first, and a later-created one is a duplicate that changes nothing.
//
// A refund proves that a payment succeeded, so once the order holds a refund
// a failure is no longer recorded (it is stale), exactly as after a success.
// The status is derived from those facts (see Derive):
//
//	no payment outcome, no refund                 "" (no status yet)
//	failure only                                  PAYMENT_FAILED
//	success, refunded total 0                     PAID
//	success, 0 < refunded total < paid amount     PARTIALLY_REFUNDED
//	success, refunded total >= paid amount        REFUNDED
//	refunds but no success yet                    REFUND_RECEIVED
//
// REFUND_RECEIVED covers a refund that arrives before its payment: the refund
// is kept, but whether it is partial or full cannot be told without the paid
// amount. When the late payment.succeeded arrives the status is derived
// normally, so the order becomes PARTIALLY_REFUNDED or REFUNDED, never PAID.
//
// Applying a fact is a pure function that reports whether the order changed;
// applying the same fact twice, or a stale one, changes nothing. An event
// that carries a refund id the order holds from a later-created event takes
// the refund over (its amount and event replace the held ones) and changes
// the order: providers send one event per refund, so this is the rare case
// in which arrival order would otherwise decide. Because the
// merge of facts is commutative, associative and idempotent, any permutation
// of a set of events ends in the same Order.
//
// The package has no dependency on AWS; the ddborders package stores orders
// in DynamoDB with these rules.
package orders

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Status is the state of an order, as stored and read by other systems.
// The zero value "" means the order holds no fact yet.
type Status string

// The statuses an order can be in.
const (
	// Paid: a successful payment and no refund.
	Paid Status = "PAID"
	// PaymentFailed: a failed payment and no evidence of a success.
	PaymentFailed Status = "PAYMENT_FAILED"
	// PartiallyRefunded: a successful payment and refunds that sum to less
	// than the paid amount.
	PartiallyRefunded Status = "PARTIALLY_REFUNDED"
	// Refunded: a successful payment and refunds that sum to at least the
	// paid amount.
	Refunded Status = "REFUNDED"
	// RefundReceived: refunds arrived before the payment they refund. The
	// status becomes PartiallyRefunded or Refunded when the payment arrives.
	RefundReceived Status = "REFUND_RECEIVED"
)

// Permanent errors: no retry of the same event can fix them.
var (
	// ErrInvalid reports a fact that lacks a required field or carries an
	// impossible value (a negative amount, a missing order id, …).
	ErrInvalid = errors.New("invalid order fact")
	// ErrCurrencyMismatch reports a refund or payment whose currency differs
	// from the currency the order already holds.
	ErrCurrencyMismatch = errors.New("currency does not match the order's")
)

// Payment is the outcome of a payment attempt, from payment.succeeded or
// payment.failed.
type Payment struct {
	// EventID and EventCreated identify the event that carried the fact.
	EventID      string
	EventCreated time.Time
	// PaymentID is the provider's payment id.
	PaymentID string
	// Succeeded is true for payment.succeeded, false for payment.failed.
	Succeeded bool
	// Amount is in the currency's minor unit; Currency is an ISO 4217 code.
	Amount   int64
	Currency string
	// CustomerEmail and CustomerName come from the payment's customer.
	CustomerEmail string
	CustomerName  string
	// FailureCode and FailureMessage describe a failed payment.
	FailureCode, FailureMessage string
}

// Refund is a completed refund, from refund.completed.
type Refund struct {
	// EventID and EventCreated identify the event that carried the fact.
	EventID      string
	EventCreated time.Time
	// RefundID is the provider's refund id: a refund is applied once per id.
	RefundID string
	// PaymentID is the payment the refund belongs to.
	PaymentID string
	// Amount is in the currency's minor unit; it must be positive.
	Amount   int64
	Currency string
}

// Order is the state of one order.
type Order struct {
	// ID is the merchant's order reference (metadata.order_id).
	ID     string
	Status Status
	// Amount, Currency, PaymentID and the customer fields come from the
	// payment outcome the order holds (the success, else the failure). With
	// refunds but no success, Currency is the refunds' and Amount is 0.
	Amount        int64
	Currency      string
	PaymentID     string
	CustomerEmail string
	CustomerName  string
	// PaymentEventID is the id of the event whose payment outcome the
	// order holds.
	PaymentEventID string
	// PaidAt is the created time of the payment.succeeded event held; it is
	// non-zero exactly when the order holds a successful payment.
	PaidAt time.Time
	// FailureCode, FailureMessage and FailedAt (the created time of the
	// payment.failed event) describe the failure held; FailedAt is non-zero
	// exactly when the order holds a failure, that is, a failure and no
	// evidence of a success.
	FailureCode, FailureMessage string
	FailedAt                    time.Time
	// RefundedTotal is the sum of Refunds, keyed by refund id.
	RefundedTotal int64
	Refunds       map[string]int64
	// RefundEvents names, per refund id of Refunds, the event that applied
	// the refund: the earliest created (ties: the smallest id) of the
	// events that carried that refund id. A handler tells a retry of that
	// event (which still owes the notice) from a duplicate with it.
	RefundEvents map[string]EventRef
	// LastEventID and LastEventCreated name the event with the latest
	// created time (ties: the greatest id) among the events whose facts the
	// order holds: its payment outcome and its refunds. A stale event that
	// changed nothing is not counted, so the value does not depend on the
	// arrival order.
	LastEventID      string
	LastEventCreated time.Time
	// CreatedAt and UpdatedAt are set by the store, not by this package.
	CreatedAt, UpdatedAt time.Time
	// Events are the ids of the events that changed the order, in the
	// order they were applied, the most recent last; the store keeps a
	// bounded number of them (the order's timeline, without an index).
	// Set by the store, not by this package.
	Events []string
}

// EventRef names a webhook event: its id and created time.
type EventRef struct {
	ID      string
	Created time.Time
}

// HasSuccess reports whether the order holds a successful payment.
func (o Order) HasSuccess() bool { return !o.PaidAt.IsZero() }

// HasFailure reports whether the order holds a failed payment.
func (o Order) HasFailure() bool { return !o.FailedAt.IsZero() }

// Derive computes the status of o from the facts it holds.
func Derive(o Order) Status {
	switch {
	case o.HasSuccess() && o.RefundedTotal == 0:
		return Paid
	case o.HasSuccess() && o.RefundedTotal >= o.Amount:
		return Refunded
	case o.HasSuccess():
		return PartiallyRefunded
	case len(o.Refunds) > 0:
		return RefundReceived
	case o.HasFailure():
		return PaymentFailed
	default:
		return ""
	}
}

// Validate reports a payment that lacks a required field or carries an
// impossible value, wrapping ErrInvalid.
func (p Payment) Validate() error {
	var problems []string
	if p.EventID == "" {
		problems = append(problems, "no event id")
	}
	if p.EventCreated.IsZero() {
		problems = append(problems, "no event created time")
	}
	if p.PaymentID == "" {
		problems = append(problems, "no payment id")
	}
	if p.Amount < 0 {
		problems = append(problems, fmt.Sprintf("negative amount %d", p.Amount))
	}
	if p.Currency == "" {
		problems = append(problems, "no currency")
	}
	if len(problems) > 0 {
		return fmt.Errorf("payment %s of event %s: %s: %w", p.PaymentID, p.EventID, strings.Join(problems, ", "), ErrInvalid)
	}
	return nil
}

// Validate reports a refund that lacks a required field or carries an
// impossible value, wrapping ErrInvalid.
func (r Refund) Validate() error {
	var problems []string
	if r.EventID == "" {
		problems = append(problems, "no event id")
	}
	if r.EventCreated.IsZero() {
		problems = append(problems, "no event created time")
	}
	if r.RefundID == "" {
		problems = append(problems, "no refund id")
	}
	if r.Amount <= 0 {
		problems = append(problems, fmt.Sprintf("amount %d is not positive", r.Amount))
	}
	if r.Currency == "" {
		problems = append(problems, "no currency")
	}
	if len(problems) > 0 {
		return fmt.Errorf("refund %s of event %s: %s: %w", r.RefundID, r.EventID, strings.Join(problems, ", "), ErrInvalid)
	}
	return nil
}

// CheckPayment reports whether p can be applied to o: p must be valid
// (ErrInvalid), and a successful payment must be in the currency of the
// refunds o already holds (ErrCurrencyMismatch).
func (o Order) CheckPayment(p Payment) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Succeeded && len(o.Refunds) > 0 && !strings.EqualFold(p.Currency, o.Currency) {
		return fmt.Errorf("payment %s in %q, order %s holds refunds in %q: %w", p.PaymentID, p.Currency, o.ID, o.Currency, ErrCurrencyMismatch)
	}
	return nil
}

// CheckRefund reports whether r can be applied to o: r must be valid
// (ErrInvalid), and in the currency of the successful payment or the refunds
// o already holds (ErrCurrencyMismatch). A refund already applied by an
// event created no later than r's passes: applying r is a no-op.
func (o Order) CheckRefund(r Refund) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if _, dup := o.Refunds[r.RefundID]; dup && !o.takesOver(r) {
		return nil
	}
	if (o.HasSuccess() || len(o.Refunds) > 0) && !strings.EqualFold(r.Currency, o.Currency) {
		return fmt.Errorf("refund %s in %q, order %s is in %q: %w", r.RefundID, r.Currency, o.ID, o.Currency, ErrCurrencyMismatch)
	}
	return nil
}

// later reports whether the event (at, id) comes after (than, thanID):
// created time first, then the greater id.
func later(at time.Time, id string, than time.Time, thanID string) bool {
	if !at.Equal(than) {
		return at.After(than)
	}
	return id > thanID
}

// ApplyPayment returns o with the payment outcome p merged in, and whether
// anything changed. A success replaces a failure, and an earlier success; a
// failure replaces only an earlier failure, and changes nothing once the
// order holds a success or a refund. A payment that CheckPayment refuses
// changes nothing.
func (o Order) ApplyPayment(p Payment) (Order, bool) {
	if o.CheckPayment(p) != nil {
		return o, false
	}
	if !p.Succeeded {
		if o.HasSuccess() || len(o.Refunds) > 0 {
			return o, false // a stale failure never overrides a success
		}
		if o.HasFailure() && !later(p.EventCreated, p.EventID, o.FailedAt, o.PaymentEventID) {
			return o, false
		}
		n := o.withPayment(p)
		n.PaidAt = time.Time{}
		n.FailureCode, n.FailureMessage, n.FailedAt = p.FailureCode, p.FailureMessage, p.EventCreated
		// The order held nothing, or only the failure replaced here.
		n.LastEventID, n.LastEventCreated = p.EventID, p.EventCreated
		n.Status = Derive(n)
		return n, true
	}
	if o.HasSuccess() && !later(p.EventCreated, p.EventID, o.PaidAt, o.PaymentEventID) {
		return o, false
	}
	n := o.withPayment(p)
	n.PaidAt = p.EventCreated
	n.FailureCode, n.FailureMessage, n.FailedAt = "", "", time.Time{}
	if o.HasFailure() || later(p.EventCreated, p.EventID, o.LastEventCreated, o.LastEventID) {
		// A failure held means no refund and no success: p is the only
		// fact left. Otherwise the success replaced here was earlier than
		// p, so the latest event is p or a refund's.
		n.LastEventID, n.LastEventCreated = p.EventID, p.EventCreated
	}
	n.Status = Derive(n)
	return n, true
}

// withPayment copies the payment fields of p into o.
func (o Order) withPayment(p Payment) Order {
	o.Amount, o.Currency, o.PaymentID = p.Amount, p.Currency, p.PaymentID
	o.CustomerEmail, o.CustomerName = p.CustomerEmail, p.CustomerName
	o.PaymentEventID = p.EventID
	return o
}

// takesOver reports whether r, whose refund id o already holds, is created
// before the event that applied it (ties: the smaller event id), so that r
// is the refund's event instead.
func (o Order) takesOver(r Refund) bool {
	held, ok := o.RefundEvents[r.RefundID]
	return ok && later(held.Created, held.ID, r.EventCreated, r.EventID)
}

// ApplyRefund returns o with the refund r added, and whether anything
// changed. A refund is added once per refund id, with the event that applied
// it; a second event for the same refund id changes nothing, unless it was
// created earlier than the held one: then it takes the refund over (see the
// package doc). A refund replaces a failure the order holds: it proves that
// a payment succeeded. A refund that CheckRefund refuses changes nothing.
func (o Order) ApplyRefund(r Refund) (Order, bool) {
	if o.CheckRefund(r) != nil {
		return o, false
	}
	if _, dup := o.Refunds[r.RefundID]; dup {
		if !o.takesOver(r) {
			return o, false
		}
		n := o.withRefund(r)
		n.RefundedTotal = o.RefundedTotal - o.Refunds[r.RefundID] + r.Amount
		n.LastEventID, n.LastEventCreated = n.lastEvent()
		n.Status = Derive(n)
		return n, true
	}
	n := o.withRefund(r)
	n.RefundedTotal = o.RefundedTotal + r.Amount
	if o.HasFailure() {
		// The failure is stale now; the order holds the refund alone.
		n.Amount, n.PaymentID, n.CustomerEmail, n.CustomerName, n.PaymentEventID = 0, "", "", "", ""
		n.FailureCode, n.FailureMessage, n.FailedAt = "", "", time.Time{}
		n.LastEventID, n.LastEventCreated = "", time.Time{}
	}
	if !o.HasSuccess() && len(o.Refunds) == 0 {
		n.Currency = r.Currency // the first fact that fixes the currency
	}
	if later(r.EventCreated, r.EventID, n.LastEventCreated, n.LastEventID) {
		n.LastEventID, n.LastEventCreated = r.EventID, r.EventCreated
	}
	n.Status = Derive(n)
	return n, true
}

// withRefund returns o with copies of its refund maps holding r.
func (o Order) withRefund(r Refund) Order {
	n := o
	n.Refunds = make(map[string]int64, len(o.Refunds)+1)
	maps.Copy(n.Refunds, o.Refunds)
	n.Refunds[r.RefundID] = r.Amount
	n.RefundEvents = make(map[string]EventRef, len(o.RefundEvents)+1)
	maps.Copy(n.RefundEvents, o.RefundEvents)
	n.RefundEvents[r.RefundID] = EventRef{ID: r.EventID, Created: r.EventCreated}
	return n
}

// lastEvent returns the latest of the events whose facts o holds: the
// payment outcome's and the refunds'.
func (o Order) lastEvent() (string, time.Time) {
	var id string
	var at time.Time
	if o.HasSuccess() {
		id, at = o.PaymentEventID, o.PaidAt
	} else if o.HasFailure() {
		id, at = o.PaymentEventID, o.FailedAt
	}
	for _, ev := range o.RefundEvents {
		if id == "" || later(ev.Created, ev.ID, at, id) {
			id, at = ev.ID, ev.Created
		}
	}
	return id, at
}
