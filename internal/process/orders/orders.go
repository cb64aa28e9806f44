// Package orders is the order state machine: it turns the payment and refund
// facts carried by webhook events into the state of an order, whatever order
// the events arrive in.
//
// # Facts
//
// An order holds three kinds of facts:
//
//   - the successful payments, one per payment id: a second event
//     announcing a payment the order holds is a duplicate and changes
//     nothing;
//   - the latest failed payment (by the event's created time, ties broken
//     by the greater event id), kept only while the order holds no success
//     and no refund: a stale failure never overrides a success, and a
//     refund proves that a payment succeeded;
//   - the refunds, one per refund id. The order does not keep the refunds
//     themselves (an order item must stay bounded whatever the number of
//     refunds): it keeps their sums and counts per payment id and currency
//     (RefundTotals). Which refund ids were applied is the store's to
//     remember (package ddborders keeps one item per refund), and it never
//     applies one refund id twice. When events announce one refund id with
//     different amounts, currencies or payments (a provider's correction,
//     or a bug), the earliest-created announcement counts (ties: the
//     smaller event id), whatever the arrival order: ResolveRefund gives
//     the store the order after a later one or an earlier one arrives, and
//     the contradiction is kept as a fact of its own (RefundConflicts).
//
// Each fact is recorded with the event that first brought it. Two events
// announcing one fact carry the same fact, so the order's facts, totals,
// status and anomalies are the same whatever the arrival order; only which
// announcement's event id and time are recorded (PaymentEventID, PaidAt,
// LastEventID, LastEventCreated) can depend on it.
//
// # What the order shows
//
// The order shows one payment (Amount, Currency, PaymentID, the customer):
// the earliest of its successful payments, by the payment's own created
// time (ties: the smaller payment id), or the failure it holds when it has
// no success. With two payments, the earliest is the one the customer meant
// to make and the one a merchant keeps; the later one is the double charge
// to refund. Choosing by the payment's own time, not by the arrival of its
// event, keeps the choice independent of the arrival order.
//
// The status is derived from the facts (see Derive):
//
//	no payment outcome, no refund                 "" (no status yet)
//	failure only                                  PAYMENT_FAILED
//	success, refunded total 0                     PAID
//	success, 0 < refunded total < paid total      PARTIALLY_REFUNDED
//	success, refunded total >= paid total         REFUNDED
//	refunds but no success yet                    REFUND_RECEIVED
//
// The paid total is the sum of the successful payments in the order's
// currency; the refunded total the sum of the refunds in that currency of
// those payments (or, before any success, of every refund in it).
//
// # Anomalies
//
// Facts that contradict each other are kept all the same, and flagged
// (Anomalies), derived from the facts like the status:
//
//   - double_charge: two or more different payments succeeded;
//   - currency_mismatch: a payment or refund in another currency than the
//     order's (it is kept, but counts in no total);
//   - over_refund: the refunded total exceeds the paid total;
//   - foreign_refund: refunds name a payment that is not one of the
//     order's successful payments (they count in no total);
//   - refund_conflict: events announced one refund id with different
//     amounts, currencies or payments (the earliest-created counts).
//
// An event brings an anomaly when it adds a fact to it: each further
// payment of a double charge, each further refund in another currency or
// of another payment, each refund that takes the refunds further beyond
// what was paid, each further contradicted refund id (see NewAnomalies).
// The alarm counts events, so an order that holds an anomaly already is
// no reason to stay silent about the next fact of the same kind.
//
// # Orders of the previous version
//
// The previous version of the store kept every refund in the order, and
// no payment id for a refund: its refunds were in the order's currency and
// of the order's payment. ApplyLegacyRefund rebuilds such a refund; one
// received before its payment has no payment id, and a refund total with
// no payment id counts as a refund of the payment the order shows.
//
// The package has no dependency on AWS; the ddborders package stores orders
// in DynamoDB with these rules.
package orders

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
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
	// than the paid total.
	PartiallyRefunded Status = "PARTIALLY_REFUNDED"
	// Refunded: a successful payment and refunds that sum to at least the
	// paid total.
	Refunded Status = "REFUNDED"
	// RefundReceived: refunds arrived before the payment they refund. The
	// status becomes PartiallyRefunded or Refunded when the payment arrives.
	RefundReceived Status = "REFUND_RECEIVED"
)

// ErrInvalid reports a fact that lacks a required field or carries an
// impossible value (a negative amount, a missing id, …): no retry of the
// same event can fix it.
var ErrInvalid = errors.New("invalid order fact")

// Bounds of an order: however many events name it, its item stays small.
const (
	// MaxPayments is how many successful payments an order keeps; the
	// ones beyond it are counted (ExtraPayments), not kept.
	MaxPayments = 10
	// MaxRefundTotals is how many (payment id, currency) sums of refunds
	// an order keeps; refunds of further payment ids or currencies are
	// only counted (UnsummedRefunds), and count in no total.
	MaxRefundTotals = 10
	// MaxConflictIDs is how many contradicted refund ids an order names
	// (the smallest); the others are counted (RefundConflicts).
	MaxConflictIDs = 10
)

// Payment is the outcome of a payment attempt, from payment.succeeded or
// payment.failed.
type Payment struct {
	// EventID and EventCreated identify the event that carried the fact.
	EventID      string
	EventCreated time.Time
	// PaymentID is the provider's payment id; PaymentCreated the payment's
	// own created time (zero when the payload has none: EventCreated then
	// stands in for it).
	PaymentID      string
	PaymentCreated time.Time
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

// PaymentRecord is one successful payment an order holds. The customer is
// the order's (one customer pays for one order): it is kept once, from the
// payment the order shows.
type PaymentRecord struct {
	PaymentID string
	Created   time.Time // the payment's own created time
	Amount    int64
	Currency  string
	// Event is the event that first announced the payment.
	Event EventRef
}

// RefundTotal sums the refunds of one payment in one currency.
type RefundTotal struct {
	PaymentID string
	Currency  string
	Amount    int64
	Count     int
}

// AnomalyKind names a contradiction between an order's facts.
type AnomalyKind string

// The anomalies an order can hold.
const (
	DoubleCharge     AnomalyKind = "double_charge"
	CurrencyMismatch AnomalyKind = "currency_mismatch"
	OverRefund       AnomalyKind = "over_refund"
	ForeignRefund    AnomalyKind = "foreign_refund"
	RefundConflict   AnomalyKind = "refund_conflict"
)

// AnomalyKinds lists every anomaly kind, in the order Anomalies holds them.
func AnomalyKinds() []AnomalyKind {
	return []AnomalyKind{DoubleCharge, CurrencyMismatch, OverRefund, ForeignRefund, RefundConflict}
}

// Anomaly is one contradiction between an order's facts, with a sentence
// that says what it is about (amounts and payment ids, never a customer's
// address).
type Anomaly struct {
	Kind   AnomalyKind
	Detail string
}

// EventRef names a webhook event: its id and created time.
type EventRef struct {
	ID      string
	Created time.Time
}

// Order is the state of one order.
type Order struct {
	// ID is the merchant's order reference (metadata.order_id).
	ID     string
	Status Status
	// Amount, Currency, PaymentID and the customer fields are those of the
	// payment the order shows (see the package doc): the earliest success,
	// else the failure held. With refunds but no success, Currency is the
	// refunds' (the smallest code when they are in several) and Amount is 0.
	Amount        int64
	Currency      string
	PaymentID     string
	CustomerEmail string
	CustomerName  string
	// PaymentEventID is the id of the event that announced the payment
	// shown (the success, or the failure held).
	PaymentEventID string
	// PaidAt is the created time of the event that announced the payment
	// shown; it is non-zero exactly when the order holds a success.
	PaidAt time.Time
	// PaidEventID is the event that first made the order paid: the one
	// event that tells the customer and fulfilment (OrderPaid). It is set
	// once and never changes.
	PaidEventID string
	// FailureCode, FailureMessage and FailedAt (the created time of the
	// payment.failed event) describe the failure held; FailedAt is non-zero
	// exactly when the order holds a failure, that is, a failure and no
	// success and no refund.
	FailureCode, FailureMessage string
	FailedAt                    time.Time
	// Payments are the successful payments, at most MaxPayments, earliest
	// first; ExtraPayments counts those beyond.
	Payments      []PaymentRecord
	ExtraPayments int
	// PaidTotal sums the Payments in Currency.
	PaidTotal int64
	// RefundTotals sum the refunds per payment id and currency, sorted,
	// at most MaxRefundTotals of them; UnsummedRefunds counts the refunds
	// beyond (further payment ids or currencies), which are flagged as
	// foreign. RefundCount counts every refund. RefundedTotal is the part
	// that counts against PaidTotal (see the package doc).
	RefundTotals    []RefundTotal
	UnsummedRefunds int
	RefundCount     int
	RefundedTotal   int64
	// LastRefund is the latest-created of the events that brought the
	// order's refunds.
	LastRefund EventRef
	// RefundConflicts counts the refund ids that events announced with
	// different amounts, currencies or payments; ConflictingRefunds names
	// the smallest MaxConflictIDs of them, sorted.
	RefundConflicts    int
	ConflictingRefunds []string
	// Anomalies are the contradictions between the facts, derived from
	// them, in the order of AnomalyKinds; nil when there is none.
	Anomalies []Anomaly
	// LastEventID and LastEventCreated name the latest-created of the
	// events whose facts the order holds: its payments, the failure held,
	// its refunds.
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

// HasSuccess reports whether the order holds a successful payment.
func (o Order) HasSuccess() bool { return len(o.Payments) > 0 }

// HasFailure reports whether the order holds a failed payment.
func (o Order) HasFailure() bool { return !o.FailedAt.IsZero() }

// HasPayment reports whether paymentID is one of the order's successful
// payments.
func (o Order) HasPayment(paymentID string) bool {
	return slices.ContainsFunc(o.Payments, func(p PaymentRecord) bool { return p.PaymentID == paymentID })
}

// Anomaly returns the anomaly of kind k the order holds.
func (o Order) Anomaly(k AnomalyKind) (Anomaly, bool) {
	for _, a := range o.Anomalies {
		if a.Kind == k {
			return a, true
		}
	}
	return Anomaly{}, false
}

// Applied is what applying one event's fact did to its order.
type Applied struct {
	// Order is the order after the fact, as stored.
	Order Order
	// Changed is false for a duplicate or stale fact: nothing was written.
	Changed bool
	// NewAnomalies are the anomalies the fact brought (NewAnomalies of the
	// order before and after it). When the store finds the fact applied
	// already by this same event (an earlier attempt whose answer was
	// lost), Changed is false and NewAnomalies still holds what the fact
	// brought, so that it is noted and counted once the event succeeds.
	NewAnomalies []Anomaly
}

// Stamped is o as a store writes it: with its id, its update time and,
// for a new order, its creation time, the bookkeeping this package leaves
// to the store. now is kept to the millisecond (Millis).
func (o Order) Stamped(orderID string, isNew bool, now time.Time) Order {
	now = Millis(now)
	o.ID, o.UpdatedAt = orderID, now
	if isNew {
		o.CreatedAt = now
	}
	return o
}

// Millis is t truncated to the millisecond stores keep, in UTC; the zero
// time stays zero.
func Millis(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

// NewAnomalies returns the anomalies of after to which the change from
// before added a fact: what one event brought. An anomaly of a kind before
// holds already is brought again by a further fact of it (a third payment,
// a refund of yet another payment, a refund further beyond what was paid):
// each is counted, not only the first.
func NewAnomalies(before, after Order) []Anomaly {
	var out []Anomaly
	for _, a := range after.Anomalies {
		if after.weight(a.Kind) > before.weight(a.Kind) {
			out = append(out, a)
		}
	}
	return out
}

// weight measures how much of an anomaly of kind k o holds, from its facts:
// the payments of a double charge, the payments and refunds in another
// currency, the excess of an over-refund, the refunds of other payments,
// the contradicted refund ids. It is 0 exactly when o holds no anomaly of
// kind k.
func (o Order) weight(k AnomalyKind) int64 {
	switch k {
	case DoubleCharge:
		if n := len(o.Payments) + o.ExtraPayments; n > 1 {
			return int64(n)
		}
	case CurrencyMismatch:
		var n int64
		for _, p := range o.Payments {
			if p.Currency != o.Currency {
				n++
			}
		}
		for _, t := range o.RefundTotals {
			if t.Currency != o.Currency {
				n += int64(t.Count)
			}
		}
		return n
	case OverRefund:
		if o.HasSuccess() && o.RefundedTotal > o.PaidTotal {
			return o.RefundedTotal - o.PaidTotal
		}
	case ForeignRefund:
		if !o.HasSuccess() {
			return 0
		}
		n := int64(o.UnsummedRefunds)
		for _, t := range o.RefundTotals {
			if !o.owns(t.PaymentID) {
				n += int64(t.Count)
			}
		}
		return n
	case RefundConflict:
		return int64(o.RefundConflicts)
	}
	return 0
}

// owns reports whether refunds of paymentID are refunds of o's payments:
// one of its successful payments, or no payment id (a refund the previous
// version recorded before its payment: see the package doc).
func (o Order) owns(paymentID string) bool {
	return paymentID == "" || o.HasPayment(paymentID)
}

// Derive computes the status of o from the facts it holds.
func Derive(o Order) Status {
	switch {
	case o.HasSuccess() && o.RefundedTotal == 0:
		return Paid
	case o.HasSuccess() && o.RefundedTotal >= o.PaidTotal:
		return Refunded
	case o.HasSuccess():
		return PartiallyRefunded
	case o.RefundCount > 0:
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
	if r.PaymentID == "" {
		problems = append(problems, "no payment id")
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

// later reports whether the event (at, id) comes after (than, thanID):
// created time first, then the greater id.
func later(at time.Time, id string, than time.Time, thanID string) bool {
	if !at.Equal(than) {
		return at.After(than)
	}
	return id > thanID
}

// ApplyPayment returns o with the payment outcome p merged in, and whether
// anything changed. A success adds its payment, unless the order holds that
// payment id already (a duplicate: nothing changes). A failure replaces only
// an earlier failure, and changes nothing once the order holds a success or
// a refund. An invalid payment changes nothing.
func (o Order) ApplyPayment(p Payment) (Order, bool) {
	if p.Validate() != nil {
		return o, false
	}
	p.Currency = normCurrency(p.Currency)
	if !p.Succeeded {
		if o.HasSuccess() || o.RefundCount > 0 {
			return o, false // a stale failure never overrides a success
		}
		if o.HasFailure() && !later(p.EventCreated, p.EventID, o.FailedAt, o.PaymentEventID) {
			return o, false
		}
		n := o
		n.Amount, n.Currency, n.PaymentID = p.Amount, p.Currency, p.PaymentID
		n.CustomerEmail, n.CustomerName, n.PaymentEventID = p.CustomerEmail, p.CustomerName, p.EventID
		n.FailureCode, n.FailureMessage, n.FailedAt = p.FailureCode, p.FailureMessage, p.EventCreated
		return n.derive(), true
	}
	if o.HasPayment(p.PaymentID) {
		return o, false // the same payment announced again
	}
	created := p.PaymentCreated
	if created.IsZero() {
		created = p.EventCreated
	}
	rec := PaymentRecord{
		PaymentID: p.PaymentID, Created: created, Amount: p.Amount, Currency: p.Currency,
		Event: EventRef{ID: p.EventID, Created: p.EventCreated},
	}
	n := o
	n.Payments = append(slices.Clone(o.Payments), rec)
	slices.SortFunc(n.Payments, comparePayments)
	if n.Payments[0].PaymentID == p.PaymentID {
		// The order shows this payment now, and its customer.
		n.CustomerEmail, n.CustomerName = p.CustomerEmail, p.CustomerName
	}
	if len(n.Payments) > MaxPayments {
		n.Payments = n.Payments[:MaxPayments]
		n.ExtraPayments++
	}
	if n.PaidEventID == "" {
		n.PaidEventID = p.EventID
	}
	// A failure is stale once a payment succeeded.
	n.FailureCode, n.FailureMessage, n.FailedAt = "", "", time.Time{}
	return n.derive(), true
}

// comparePayments orders payments earliest first: by their own created
// time, then by payment id.
func comparePayments(a, b PaymentRecord) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return strings.Compare(a.PaymentID, b.PaymentID)
}

// ApplyRefund returns o with the refund r added. The caller applies each
// refund id at most once (the order does not keep refund ids: see the
// package doc). A refund replaces a failure the order holds: it proves that
// a payment succeeded. An invalid refund changes nothing.
func (o Order) ApplyRefund(r Refund) (Order, bool) {
	if r.Validate() != nil {
		return o, false
	}
	return o.addRefund(r), true
}

// ApplyLegacyRefund returns o with the refund r added, as the previous
// version of the store recorded it: r may lack a payment id (a refund
// received before its payment), and then counts as a refund of the payment
// the order shows (see the package doc). Otherwise it is ApplyRefund.
func (o Order) ApplyLegacyRefund(r Refund) Order {
	v := r
	if v.PaymentID == "" {
		v.PaymentID = "(none)"
	}
	if v.Validate() != nil {
		return o
	}
	return o.addRefund(r)
}

// SumsRefund reports whether ApplyRefund(r) would add r to one of o's
// RefundTotals (else it is only counted, in UnsummedRefunds): the store
// keeps that with the refund, for WithoutRefund.
func (o Order) SumsRefund(r Refund) bool {
	return len(o.RefundTotals) < MaxRefundTotals || o.totalOf(r) >= 0
}

// totalOf returns the index in RefundTotals of r's sum, or -1.
func (o Order) totalOf(r Refund) int {
	cur := normCurrency(r.Currency)
	return slices.IndexFunc(o.RefundTotals, func(t RefundTotal) bool { return t.PaymentID == r.PaymentID && t.Currency == cur })
}

// addRefund adds the (valid) refund r.
func (o Order) addRefund(r Refund) Order {
	r.Currency = normCurrency(r.Currency)
	n := o
	n.RefundTotals = slices.Clone(o.RefundTotals)
	i := slices.IndexFunc(n.RefundTotals, func(t RefundTotal) bool { return t.PaymentID == r.PaymentID && t.Currency == r.Currency })
	switch {
	case i >= 0:
		n.RefundTotals[i].Amount += r.Amount
		n.RefundTotals[i].Count++
	case len(n.RefundTotals) < MaxRefundTotals:
		n.RefundTotals = append(n.RefundTotals, RefundTotal{PaymentID: r.PaymentID, Currency: r.Currency, Amount: r.Amount, Count: 1})
		slices.SortFunc(n.RefundTotals, func(a, b RefundTotal) int {
			return cmp.Or(strings.Compare(a.PaymentID, b.PaymentID), strings.Compare(a.Currency, b.Currency))
		})
	default:
		n.UnsummedRefunds++
	}
	n.RefundCount++
	if n.LastRefund.ID == "" || later(r.EventCreated, r.EventID, n.LastRefund.Created, n.LastRefund.ID) {
		n.LastRefund = EventRef{ID: r.EventID, Created: r.EventCreated}
	}
	if n.HasFailure() {
		// The failure is stale now; the order holds the refund.
		n.Amount, n.PaymentID, n.CustomerEmail, n.CustomerName, n.PaymentEventID = 0, "", "", "", ""
		n.FailureCode, n.FailureMessage, n.FailedAt = "", "", time.Time{}
	}
	return n.derive()
}

// WithoutRefund returns o without the refund r, which it holds (summed
// tells whether r is in its RefundTotals: SumsRefund when r was applied).
// The store uses it when an earlier-created announcement of r's refund id
// takes the refund over, and to find what a refund brought when it meets
// that refund applied already by the same event. LastRefund is kept.
func (o Order) WithoutRefund(r Refund, summed bool) Order {
	n := o
	n.RefundTotals = slices.Clone(o.RefundTotals)
	if i := n.totalOf(r); summed && i >= 0 {
		n.RefundTotals[i].Amount -= r.Amount
		if n.RefundTotals[i].Count--; n.RefundTotals[i].Count <= 0 {
			n.RefundTotals = slices.Delete(n.RefundTotals, i, i+1)
		}
	} else if n.UnsummedRefunds > 0 {
		n.UnsummedRefunds--
	}
	if n.RefundCount > 0 {
		n.RefundCount--
	}
	return n.derive()
}

// WithoutPayment returns o without its successful payment paymentID: what
// the order was before that payment, as far as the facts go (the store
// uses it to find what a payment brought when it meets that payment
// applied already by the same event).
func (o Order) WithoutPayment(paymentID string) Order {
	n := o
	n.Payments = slices.DeleteFunc(slices.Clone(o.Payments), func(p PaymentRecord) bool { return p.PaymentID == paymentID })
	return n.derive()
}

// Contradicts reports whether r announces its refund id differently from
// held, an announcement of the same refund id: another amount, currency or
// payment (a payment id that one of them lacks, as refunds the previous
// version recorded do, is no contradiction).
func (r Refund) Contradicts(held Refund) bool {
	return r.Amount != held.Amount || normCurrency(r.Currency) != normCurrency(held.Currency) ||
		r.PaymentID != held.PaymentID && r.PaymentID != "" && held.PaymentID != ""
}

// AnnouncedBefore reports whether r's event was created before other's
// (ties: the smaller event id): of two announcements of one refund id, the
// one that counts.
func (r Refund) AnnouncedBefore(other Refund) bool {
	return later(other.EventCreated, other.EventID, r.EventCreated, r.EventID)
}

// RefundOutcome is what ResolveRefund decided.
type RefundOutcome int

// The outcomes of ResolveRefund.
const (
	// RefundDuplicate: r announces the refund as held (or is invalid):
	// nothing changes.
	RefundDuplicate RefundOutcome = iota
	// RefundAnnouncedEarlier: r announces the refund as held, and was
	// created earlier: the order does not change, but r is the
	// announcement that counts from now on (the store records it, so that
	// a contradicting announcement created between the two does not take
	// the refund over).
	RefundAnnouncedEarlier
	// RefundContradicted: r contradicts the held refund, which was
	// announced earlier and still counts; the refund id is recorded as a
	// conflict (unless flagged already: then nothing changes).
	RefundContradicted
	// RefundTakenOver: r contradicts the held refund and was announced
	// earlier: r counts instead, and the refund id is recorded as a
	// conflict (unless flagged already).
	RefundTakenOver
)

// ResolveRefund returns o after the refund r, whose refund id o holds
// already as held (the announcement that counts; heldSummed as SumsRefund
// said when held was applied; flagged when the refund id is recorded as a
// conflict already), and what r did. The earliest-created announcement of
// a refund id counts, whatever the arrival order, and a contradiction is
// recorded once per refund id (the store remembers which are flagged).
func (o Order) ResolveRefund(held Refund, heldSummed, flagged bool, r Refund) (Order, RefundOutcome) {
	switch {
	case r.Validate() != nil:
		return o, RefundDuplicate
	case !r.Contradicts(held) && r.AnnouncedBefore(held):
		return o, RefundAnnouncedEarlier
	case !r.Contradicts(held):
		return o, RefundDuplicate
	}
	n, outcome := o, RefundContradicted
	if r.AnnouncedBefore(held) {
		n, outcome = o.WithoutRefund(held, heldSummed).addRefund(r), RefundTakenOver
	}
	if !flagged {
		n = n.withConflict(r.RefundID)
	}
	return n.derive(), outcome
}

// withConflict records refundID as announced with contradicting facts.
func (o Order) withConflict(refundID string) Order {
	n := o
	n.RefundConflicts++
	ids := slices.Clone(o.ConflictingRefunds)
	if i, found := slices.BinarySearch(ids, refundID); !found {
		ids = slices.Insert(ids, i, refundID)
	}
	if len(ids) > MaxConflictIDs {
		ids = ids[:MaxConflictIDs]
	}
	n.ConflictingRefunds = ids
	return n
}

// RefundCounts reports whether the refund r, applied to o, counts against
// its paid total: it is in the order's currency and of one of its payments
// (before any success, any refund in the currency counts).
func (o Order) RefundCounts(r Refund) bool {
	if normCurrency(r.Currency) != o.Currency {
		return false
	}
	return !o.HasSuccess() || o.owns(r.PaymentID)
}

// derive recomputes everything the facts decide: the payment shown, the
// totals, the status, the anomalies and the last event.
func (o Order) derive() Order {
	if o.HasSuccess() {
		primary := o.Payments[0]
		o.Amount, o.Currency, o.PaymentID = primary.Amount, primary.Currency, primary.PaymentID
		o.PaymentEventID, o.PaidAt = primary.Event.ID, primary.Event.Created
		o.PaidTotal = 0
		for _, p := range o.Payments {
			if p.Currency == o.Currency {
				o.PaidTotal += p.Amount
			}
		}
	} else {
		o.PaidAt, o.PaidTotal = time.Time{}, 0
		if o.RefundCount > 0 {
			o.Currency = ""
			for _, t := range o.RefundTotals {
				if o.Currency == "" || t.Currency < o.Currency {
					o.Currency = t.Currency
				}
			}
		}
	}
	o.RefundedTotal = 0
	for _, t := range o.RefundTotals {
		if t.Currency == o.Currency && (!o.HasSuccess() || o.owns(t.PaymentID)) {
			o.RefundedTotal += t.Amount
		}
	}
	o.Status = Derive(o)
	o.Anomalies = o.anomalies()
	o.LastEventID, o.LastEventCreated = o.lastEvent()
	return o
}

// anomalies returns the contradictions between o's facts (see the package
// doc), in the order of AnomalyKinds, each with a sentence built only from
// the facts, so the same facts give the same sentences.
func (o Order) anomalies() []Anomaly {
	var out []Anomaly
	if n := len(o.Payments) + o.ExtraPayments; n > 1 {
		parts := make([]string, 0, len(o.Payments))
		for _, p := range o.Payments {
			parts = append(parts, fmt.Sprintf("%s (%s)", p.PaymentID, FormatAmount(p.Amount, p.Currency)))
		}
		if o.ExtraPayments > 0 {
			parts = append(parts, fmt.Sprintf("%d more", o.ExtraPayments))
		}
		out = append(out, Anomaly{DoubleCharge, fmt.Sprintf("%d payments succeeded: %s; the order shows %s", n, strings.Join(parts, ", "), o.PaymentID)})
	}
	var mismatched []string
	for _, p := range o.Payments {
		if p.Currency != o.Currency {
			mismatched = append(mismatched, fmt.Sprintf("payment %s in %s", p.PaymentID, strings.ToUpper(p.Currency)))
		}
	}
	for _, t := range o.RefundTotals {
		if t.Currency != o.Currency {
			mismatched = append(mismatched, fmt.Sprintf("%d refund(s) of %s on %s", t.Count, FormatAmount(t.Amount, t.Currency), paymentName(t.PaymentID)))
		}
	}
	if len(mismatched) > 0 {
		out = append(out, Anomaly{CurrencyMismatch, fmt.Sprintf("the order is in %s; %s: not counted",
			strings.ToUpper(o.Currency), strings.Join(mismatched, ", "))})
	}
	if o.HasSuccess() && o.RefundedTotal > o.PaidTotal {
		out = append(out, Anomaly{OverRefund, fmt.Sprintf("refunded %s of %s paid",
			FormatAmount(o.RefundedTotal, o.Currency), FormatAmount(o.PaidTotal, o.Currency))})
	}
	if o.HasSuccess() {
		var foreign []string
		for _, t := range o.RefundTotals {
			if !o.owns(t.PaymentID) {
				foreign = append(foreign, fmt.Sprintf("%d refund(s) of %s on %s", t.Count, FormatAmount(t.Amount, t.Currency), t.PaymentID))
			}
		}
		if o.UnsummedRefunds > 0 {
			foreign = append(foreign, fmt.Sprintf("%d refund(s) of further payments", o.UnsummedRefunds))
		}
		if len(foreign) > 0 {
			out = append(out, Anomaly{ForeignRefund, fmt.Sprintf("%s: not a payment of this order, not counted", strings.Join(foreign, ", "))})
		}
	}
	if o.RefundConflicts > 0 {
		ids := strings.Join(o.ConflictingRefunds, ", ")
		if more := o.RefundConflicts - len(o.ConflictingRefunds); more > 0 {
			ids += fmt.Sprintf(" and %d more", more)
		}
		out = append(out, Anomaly{RefundConflict, fmt.Sprintf("%d refund id(s) announced with different amounts, currencies or payments: %s; "+
			"each counts once, as its earliest-created event announced it", o.RefundConflicts, ids)})
	}
	return out
}

// paymentName names a payment id in an anomaly's sentence.
func paymentName(paymentID string) string {
	if paymentID == "" {
		return "the payment shown (recorded by the previous version)"
	}
	return paymentID
}

// lastEvent returns the latest-created of the events whose facts o holds.
func (o Order) lastEvent() (string, time.Time) {
	var last EventRef
	consider := func(e EventRef) {
		if e.ID != "" && (last.ID == "" || later(e.Created, e.ID, last.Created, last.ID)) {
			last = e
		}
	}
	for _, p := range o.Payments {
		consider(p.Event)
	}
	if o.HasFailure() {
		consider(EventRef{ID: o.PaymentEventID, Created: o.FailedAt})
	}
	consider(o.LastRefund)
	return last.ID, last.Created
}

func normCurrency(c string) string { return strings.ToLower(strings.TrimSpace(c)) }
