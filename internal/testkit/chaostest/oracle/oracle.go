// Package oracle is the chaos test's own model of the rules an order follows
// (DESIGN.md, "Orders: a state machine that tolerates disorder") and of the
// effects each fact owes, written apart from the code under test: it imports
// the standard library only, never the orders, ddborders, handlers or
// process packages, so that a rule bug there cannot hide in the model too.
//
// From the set of facts one order's events carry, Expect computes the
// order's end state (the same whatever the arrival order) and what must and
// may reach the outside world: one OrderPaid per paid order, one
// OrderRefunded per refund id, at most one OrderPaymentFailed per failed
// payment event (exactly one for a failure the order ends holding).
//
// A refund id announced by several events counts once, as its
// earliest-created announcement says (ties: the smaller event id); when
// the announcements differ in amount, currency or payment, the order holds
// a refund_conflict. One OrderRefunded is owed per refund id all the same.
package oracle

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind is the kind of fact an event carries.
type Kind string

// The kinds of facts.
const (
	Succeeded Kind = "payment.succeeded"
	Failed    Kind = "payment.failed"
	Refunded  Kind = "refund.completed"
)

// Fact is what one webhook event says about one order.
type Fact struct {
	EventID string
	Kind    Kind
	Created time.Time // the event's created time
	OrderID string
	// PaymentID is the payment (a refund's payment_id); PaymentCreated the
	// payment's own created time (successes).
	PaymentID      string
	PaymentCreated time.Time
	Amount         int64
	Currency       string
	RefundID       string // refunds
}

// The anomalies the spec names, in the order an order lists them.
var anomalyOrder = []string{"double_charge", "currency_mismatch", "over_refund", "foreign_refund", "refund_conflict"}

// Order is an order's end state as the spec decides it.
type Order struct {
	Status    string
	PaymentID string // the payment shown: the earliest success
	Amount    int64
	Currency  string
	PaidTotal int64
	// RefundedTotal counts against PaidTotal; RefundCount counts every
	// distinct refund.
	RefundedTotal int64
	RefundCount   int
	Paid, Failed  bool
	// FailureEventID is the failure held (Failed only).
	FailureEventID string
	Anomalies      []string
}

// Effects is what one order owes the outside world.
type Effects struct {
	// Paid: one OrderPaid, and one confirmation email.
	Paid bool
	// Refunds: one OrderRefunded per refund id.
	Refunds []string
	// FinalFailure is the failure event that must have published
	// OrderPaymentFailed (and sent its notice); empty when none must.
	FinalFailure string
	// Failures are the failure events that may have (each at most once).
	Failures []string
}

// Expect returns the end state of the order whose events carried facts, and
// its effects.
func Expect(facts []Fact) (Order, Effects) {
	type payment struct {
		id      string
		created time.Time
		amount  int64
		cur     string
	}
	type refund struct {
		payment, cur string
		amount       int64
		// the announcement that counts: the earliest-created
		event   string
		created time.Time
	}
	successes := map[string]payment{}
	refunds := map[string]refund{}
	contradicted := map[string]bool{}
	var latestFailure *Fact
	var failures []string
	for _, f := range facts {
		switch f.Kind {
		case Succeeded:
			// One payment, however many events announce it.
			if _, ok := successes[f.PaymentID]; !ok {
				successes[f.PaymentID] = payment{f.PaymentID, f.PaymentCreated, f.Amount, lower(f.Currency)}
			}
		case Refunded:
			r := refund{f.PaymentID, lower(f.Currency), f.Amount, f.EventID, f.Created}
			held, ok := refunds[f.RefundID]
			if ok && (held.payment != r.payment || held.cur != r.cur || held.amount != r.amount) {
				contradicted[f.RefundID] = true
			}
			if !ok || r.created.Before(held.created) || r.created.Equal(held.created) && r.event < held.event {
				refunds[f.RefundID] = r
			}
		case Failed:
			if !slices.Contains(failures, f.EventID) {
				failures = append(failures, f.EventID)
			}
			if latestFailure == nil || f.Created.After(latestFailure.Created) ||
				f.Created.Equal(latestFailure.Created) && f.EventID > latestFailure.EventID {
				c := f
				latestFailure = &c
			}
		}
	}
	var o Order
	var eff Effects
	sort.Strings(failures)
	eff.Failures = failures
	for id := range refunds {
		eff.Refunds = append(eff.Refunds, id)
	}
	sort.Strings(eff.Refunds)
	o.RefundCount = len(refunds)

	// The payment shown: the earliest by its own time, then by id.
	pays := make([]payment, 0, len(successes))
	for _, p := range successes {
		pays = append(pays, p)
	}
	sort.Slice(pays, func(i, j int) bool {
		if !pays[i].created.Equal(pays[j].created) {
			return pays[i].created.Before(pays[j].created)
		}
		return pays[i].id < pays[j].id
	})
	o.Paid, eff.Paid = len(pays) > 0, len(pays) > 0
	anomalies := map[string]bool{}
	switch {
	case o.Paid:
		o.PaymentID, o.Amount, o.Currency = pays[0].id, pays[0].amount, pays[0].cur
	case len(refunds) > 0:
		for _, r := range refunds {
			if o.Currency == "" || r.cur < o.Currency {
				o.Currency = r.cur
			}
		}
	case latestFailure != nil:
		o.Failed, o.FailureEventID = true, latestFailure.EventID
		o.Amount, o.Currency, o.PaymentID = latestFailure.Amount, lower(latestFailure.Currency), latestFailure.PaymentID
		eff.FinalFailure = latestFailure.EventID
	}
	for _, p := range pays {
		if p.cur == o.Currency {
			o.PaidTotal += p.amount
		} else {
			anomalies["currency_mismatch"] = true
		}
	}
	if len(pays) > 1 {
		anomalies["double_charge"] = true
	}
	for _, r := range refunds {
		ours := !o.Paid || successes[r.payment].id != ""
		switch {
		case r.cur != o.Currency:
			anomalies["currency_mismatch"] = true
		case ours:
			o.RefundedTotal += r.amount
		}
		if !ours {
			anomalies["foreign_refund"] = true
		}
	}
	if o.Paid && o.RefundedTotal > o.PaidTotal {
		anomalies["over_refund"] = true
	}
	if len(contradicted) > 0 {
		anomalies["refund_conflict"] = true
	}
	for _, a := range anomalyOrder {
		if anomalies[a] {
			o.Anomalies = append(o.Anomalies, a)
		}
	}
	switch {
	case o.Paid && o.RefundedTotal == 0:
		o.Status = "PAID"
	case o.Paid && o.RefundedTotal >= o.PaidTotal:
		o.Status = "REFUNDED"
	case o.Paid:
		o.Status = "PARTIALLY_REFUNDED"
	case len(refunds) > 0:
		o.Status = "REFUND_RECEIVED"
	case o.Failed:
		o.Status = "PAYMENT_FAILED"
	}
	return o, eff
}

// VouchesFor reports whether an order in state o tells its customer about
// the refund of amount in cur of payment: a refund of one of its payments
// (payments), in its currency, with the refunds not beyond what was paid.
// The spec leaves the customer of any other refund to the merchant.
func VouchesFor(o Order, payments []string, payment, cur string) bool {
	return o.Paid && slices.Contains(payments, payment) && lower(cur) == o.Currency && o.RefundedTotal <= o.PaidTotal
}

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
