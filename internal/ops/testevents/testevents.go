// Package testevents builds realistic Altafinex webhook events, shaped like
// the samples of the contract (spec/events/*.json), for the test sender and
// for tests: a fresh evt_ id every time, created now, amounts in minor units,
// customers at example.com. Related events share an order and a payment id,
// so that a sequence of them tells one order's story.
package testevents

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	spec "github.com/altafinex-webhooks/receiver/internal/envelope"
)

// The event types the contract defines (package envelope's, imported as spec).
const (
	PaymentSucceeded = spec.TypePaymentSucceeded
	PaymentFailed    = spec.TypePaymentFailed
	RefundCompleted  = spec.TypeRefundCompleted
)

// APIVersion is the envelope's api_version.
const APIVersion = "2026-06-01"

// Types lists the event types Build knows, in the contract's order.
func Types() []string { return []string{PaymentSucceeded, PaymentFailed, RefundCompleted} }

// ErrUnknownType is returned by Build for an event type it cannot build.
var ErrUnknownType = errors.New("unknown event type")

// ErrUnknownScenario is returned by Scenario for a name it does not know.
var ErrUnknownScenario = errors.New("unknown scenario")

// ErrBadOption is returned for an option Build cannot use (a negative
// amount, a currency that is not three lower-case letters, a malformed id).
var ErrBadOption = errors.New("bad event option")

// Options describe the event to build. Zero values take defaults: a fresh
// order (ord_…) and payment (pay_…) id, 4999 minor units, usd, test mode.
type Options struct {
	Type     string    // one of Types()
	Order    string    // metadata.order_id
	Payment  string    // the payment's id; a refund's payment_id
	Refund   string    // the refund's id (refund.completed); default fresh re_…
	Amount   int64     // minor units: the payment's amount, or the refund's
	Currency string    // lower-case ISO 4217
	Livemode bool      //
	Created  time.Time // the event's created time; zero: now (see Build)
	// ObjectCreated is the payment's or refund's own created time; zero:
	// ten seconds before Created. Two events announcing one payment carry
	// the same one.
	ObjectCreated time.Time
}

// Event is one built event.
type Event struct {
	ID   string // evt_…
	Type string
	Body []byte // the JSON envelope, as it is signed and sent
}

// Defaults for Options.
const (
	DefaultAmount   = 4999
	DefaultCurrency = "usd"
)

// Build returns one event of o.Type with a fresh id, created at o.Created
// (now when zero).
func Build(o Options, now time.Time) (Event, error) {
	if err := o.fill(); err != nil {
		return Event{}, err
	}
	if o.Created.IsZero() {
		o.Created = now
	}
	created := o.Created.Unix()
	objCreated := created - 10
	if !o.ObjectCreated.IsZero() {
		objCreated = o.ObjectCreated.Unix()
	}
	var obj any
	switch o.Type {
	case PaymentSucceeded, PaymentFailed:
		p := payment{
			ID: o.Payment, Object: "payment", Amount: o.Amount, Currency: o.Currency,
			Status: "succeeded", Created: objCreated,
			Customer:      customer{Email: "test.customer@example.com", Name: "Test Customer"},
			PaymentMethod: paymentMethod{Type: "card", Card: card{Brand: "visa", Last4: "4242"}},
			Metadata:      metadata{OrderID: o.Order},
		}
		if o.Type == PaymentFailed {
			p.Status = "failed"
			p.FailureCode = "card_declined"
			p.FailureMessage = "The card was declined by the issuer."
			p.PaymentMethod.Card = card{Brand: "mastercard", Last4: "4444"}
		}
		obj = p
	case RefundCompleted:
		obj = refund{
			ID: o.Refund, Object: "refund", PaymentID: o.Payment, Amount: o.Amount, Currency: o.Currency,
			Status: "completed", Reason: "requested_by_customer", Created: objCreated,
			Metadata: metadata{OrderID: o.Order},
		}
	default:
		return Event{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownType, o.Type, strings.Join(Types(), ", "))
	}
	id := NewID("evt_")
	body, err := json.MarshalIndent(envelope{
		ID: id, Object: "event", Type: o.Type, Created: created, Livemode: o.Livemode,
		APIVersion: APIVersion, Data: data{Object: obj},
	}, "", "  ")
	if err != nil {
		return Event{}, fmt.Errorf("build %s event: %w", o.Type, err)
	}
	return Event{ID: id, Type: o.Type, Body: append(body, '\n')}, nil
}

// Scenarios lists the names Scenario knows.
func Scenarios() []string { return []string{"refund"} }

// Scenario returns a canned sequence of events about one order, in the
// order rng shuffles them into (the provider does not promise any order).
//
// "refund": a payment.failed (the first attempt, declined), a
// payment.succeeded (the second attempt) and a partial refund.completed of a
// third of the amount, created one minute apart ending at now, all with
// o's order, payment id, amount, currency and mode.
func Scenario(name string, o Options, now time.Time, rng *mrand.Rand) ([]Event, error) {
	if name != "refund" {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownScenario, name, strings.Join(Scenarios(), ", "))
	}
	o.Type = PaymentSucceeded // fill checks the rest
	if err := o.fill(); err != nil {
		return nil, err
	}
	refundAmount := max(o.Amount/3, 1)
	steps := []struct {
		typ    string
		amount int64
		ago    time.Duration
	}{
		{PaymentFailed, o.Amount, 2 * time.Minute},
		{PaymentSucceeded, o.Amount, time.Minute},
		{RefundCompleted, refundAmount, 0},
	}
	events := make([]Event, 0, len(steps))
	for _, s := range steps {
		eo := o
		eo.Type, eo.Amount, eo.Created = s.typ, s.amount, now.Add(-s.ago)
		ev, err := Build(eo, now)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	if rng != nil {
		rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	}
	return events, nil
}

// fill checks o and puts in the defaults.
func (o *Options) fill() error {
	if !slices.Contains(Types(), o.Type) {
		return fmt.Errorf("%w %q (known: %s)", ErrUnknownType, o.Type, strings.Join(Types(), ", "))
	}
	if o.Amount < 0 {
		return fmt.Errorf("%w: amount %d is negative", ErrBadOption, o.Amount)
	}
	if o.Amount == 0 {
		o.Amount = DefaultAmount
	}
	if o.Currency == "" {
		o.Currency = DefaultCurrency
	}
	if len(o.Currency) != 3 || strings.ToLower(o.Currency) != o.Currency || strings.Trim(o.Currency, "abcdefghijklmnopqrstuvwxyz") != "" {
		return fmt.Errorf("%w: currency %q is not a lower-case ISO 4217 code", ErrBadOption, o.Currency)
	}
	for _, f := range []struct {
		val    *string
		prefix string
	}{{&o.Order, "ord_"}, {&o.Payment, "pay_"}, {&o.Refund, "re_"}} {
		if *f.val == "" {
			*f.val = NewID(f.prefix)
		} else if !strings.HasPrefix(*f.val, f.prefix) || len(*f.val) == len(f.prefix) {
			return fmt.Errorf("%w: %q does not start with %s", ErrBadOption, *f.val, f.prefix)
		}
	}
	return nil
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewID returns prefix followed by 16 random alphanumerics from
// crypto/rand, like the provider's ids (evt_3PqL8fA1x9Kd2mZ0).
func NewID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, len(prefix), len(prefix)+len(b))
	copy(out, prefix)
	for _, c := range b {
		out = append(out, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(out)
}

// The envelope and objects, fields in the contract's order.
type envelope struct {
	ID         string `json:"id"`
	Object     string `json:"object"`
	Type       string `json:"type"`
	Created    int64  `json:"created"`
	Livemode   bool   `json:"livemode"`
	APIVersion string `json:"api_version"`
	Data       data   `json:"data"`
}

type data struct {
	Object any `json:"object"`
}

type payment struct {
	ID             string        `json:"id"`
	Object         string        `json:"object"`
	Amount         int64         `json:"amount"`
	Currency       string        `json:"currency"`
	Status         string        `json:"status"`
	Created        int64         `json:"created"`
	FailureCode    string        `json:"failure_code,omitempty"`
	FailureMessage string        `json:"failure_message,omitempty"`
	Customer       customer      `json:"customer"`
	PaymentMethod  paymentMethod `json:"payment_method"`
	Metadata       metadata      `json:"metadata"`
}

type refund struct {
	ID        string   `json:"id"`
	Object    string   `json:"object"`
	PaymentID string   `json:"payment_id"`
	Amount    int64    `json:"amount"`
	Currency  string   `json:"currency"`
	Status    string   `json:"status"`
	Reason    string   `json:"reason"`
	Created   int64    `json:"created"`
	Metadata  metadata `json:"metadata"`
}

type customer struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type paymentMethod struct {
	Type string `json:"type"`
	Card card   `json:"card"`
}

type card struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

type metadata struct {
	OrderID string `json:"order_id"`
}
