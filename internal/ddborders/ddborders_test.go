package ddborders_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/altafinex-webhooks/receiver/internal/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/orders"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// t0 is the tests' clock; event times are relative to it.
var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// counter counts the UpdateItem calls a client makes.
type counter struct{ updates atomic.Int64 }

// serialized starts a loopback proxy in front of the emulator that forwards
// one request at a time, and returns its URL.
//
// DynamoDB applies the writes to one item one after the other: a condition is
// checked and the update applied atomically. moto_server does not: it runs
// requests in threads and its UpdateItem checks the condition, then applies
// the update, with no lock, so two racing writes can both pass their
// conditions (and two creations of one item overwrite each other). The race
// tests go through this proxy so the emulator behaves like the service; the
// racing goroutines still interleave freely between their requests, which
// is where the store's read-compute-write windows are.
func serialized(t *testing.T, endpoint string) string {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newStore creates a fresh orders table for the test, deleted after it.
func newStore(t *testing.T) (*ddborders.Store, *counter) {
	t.Helper()
	return newStoreAt(t, "")
}

// newStoreAt is newStore with the client pointed at endpoint, when not "".
func newStoreAt(t *testing.T, endpoint string) (*ddborders.Store, *counter) {
	t.Helper()
	client, name, c := newTable(t, endpoint)
	return ddborders.New(client, name), c
}

// newTable creates a fresh orders table, deleted after the test, and returns
// a client pointed at endpoint (when not "") that counts its UpdateItem
// calls, and the table's name.
func newTable(t *testing.T, endpoint string) (*dynamodb.Client, string, *counter) {
	t.Helper()
	c := &counter{}
	client := dynamodb.NewFromConfig(motoserver.TestConfig(t), func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countUpdates",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if _, ok := in.Parameters.(*dynamodb.UpdateItemInput); ok {
						c.updates.Add(1)
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	name := motoserver.UniqueName(t, "orders")
	if err := ddborders.CreateTable(context.Background(), client, name); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return client, name, c
}

func success(evt string, sec int) orders.Payment {
	return orders.Payment{EventID: evt, EventCreated: at(sec), PaymentID: "pay_" + evt, Succeeded: true,
		Amount: 4999, Currency: "usd", CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe"}
}

func failure(evt string, sec int) orders.Payment {
	return orders.Payment{EventID: evt, EventCreated: at(sec), PaymentID: "pay_" + evt, Amount: 4999, Currency: "usd",
		CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe",
		FailureCode: "card_declined", FailureMessage: "The card was declined by the issuer."}
}

// held returns RefundEvents from triples of refund id, event id and created
// second.
func held(triples ...any) map[string]orders.EventRef {
	out := map[string]orders.EventRef{}
	for i := 0; i+2 < len(triples); i += 3 {
		out[triples[i].(string)] = orders.EventRef{ID: triples[i+1].(string), Created: at(triples[i+2].(int))}
	}
	return out
}

func refund(evt, id string, sec int, amount int64) orders.Refund {
	return orders.Refund{EventID: evt, EventCreated: at(sec), RefundID: id, PaymentID: "pay_x", Amount: amount, Currency: "usd"}
}

// fact is one event's fact: a payment or a refund.
type fact struct {
	p *orders.Payment
	r *orders.Refund
}

func pay(p orders.Payment) fact { return fact{p: &p} }
func ref(r orders.Refund) fact  { return fact{r: &r} }

func (f fact) String() string {
	if f.p != nil {
		return f.p.EventID
	}
	return f.r.EventID
}

// store applies f to orderID through s.
func (f fact) store(ctx context.Context, s *ddborders.Store, orderID string, now time.Time) (orders.Order, bool, error) {
	if f.p != nil {
		return s.ApplyPayment(ctx, orderID, *f.p, now)
	}
	return s.ApplyRefund(ctx, orderID, *f.r, now)
}

// pure applies facts with the orders package alone.
func pure(orderID string, facts []fact) orders.Order {
	o := orders.Order{ID: orderID}
	for _, f := range facts {
		if f.p != nil {
			o, _ = o.ApplyPayment(*f.p)
		} else {
			o, _ = o.ApplyRefund(*f.r)
		}
	}
	return o
}

// applyAll applies facts to orderID through s, failing the test on an error,
// and returns the last order returned and each step's changed flag.
func applyAll(t *testing.T, s *ddborders.Store, orderID string, facts []fact) (orders.Order, []bool) {
	t.Helper()
	var o orders.Order
	changed := make([]bool, len(facts))
	for i, f := range facts {
		var err error
		o, changed[i], err = f.store(context.Background(), s, orderID, t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatalf("apply %v: %v", f, err)
		}
	}
	return o, changed
}

// diff describes the differences in the fields the rules decide, or "".
func diff(want, got orders.Order) string {
	var d string
	check := func(name string, w, g any) {
		if fmt.Sprint(w) != fmt.Sprint(g) {
			d += fmt.Sprintf("\n  %s: want %v, got %v", name, w, g)
		}
	}
	check("ID", want.ID, got.ID)
	check("Status", want.Status, got.Status)
	check("Amount", want.Amount, got.Amount)
	check("Currency", want.Currency, got.Currency)
	check("PaymentID", want.PaymentID, got.PaymentID)
	check("PaymentEventID", want.PaymentEventID, got.PaymentEventID)
	check("CustomerEmail", want.CustomerEmail, got.CustomerEmail)
	check("CustomerName", want.CustomerName, got.CustomerName)
	check("PaidAt", want.PaidAt.UTC(), got.PaidAt.UTC())
	check("FailureCode", want.FailureCode, got.FailureCode)
	check("FailureMessage", want.FailureMessage, got.FailureMessage)
	check("FailedAt", want.FailedAt.UTC(), got.FailedAt.UTC())
	check("RefundedTotal", want.RefundedTotal, got.RefundedTotal)
	if !maps.Equal(want.Refunds, got.Refunds) {
		check("Refunds", want.Refunds, got.Refunds)
	}
	if !maps.EqualFunc(want.RefundEvents, got.RefundEvents, func(w, g orders.EventRef) bool {
		return w.ID == g.ID && w.Created.Equal(g.Created)
	}) {
		check("RefundEvents", want.RefundEvents, got.RefundEvents)
	}
	check("LastEventID", want.LastEventID, got.LastEventID)
	check("LastEventCreated", want.LastEventCreated.UTC(), got.LastEventCreated.UTC())
	return d
}

func TestRules(t *testing.T) {
	paidFields := orders.Order{ID: "ord_1", Status: orders.Paid, Amount: 4999, Currency: "usd", PaymentID: "pay_e1", PaymentEventID: "e1",
		CustomerEmail: "jane.doe@example.com", CustomerName: "Jane Doe", PaidAt: at(10), LastEventID: "e1", LastEventCreated: at(10)}
	with := func(o orders.Order, edit func(*orders.Order)) orders.Order { edit(&o); return o }
	tests := []struct {
		name        string
		facts       []fact
		wantChanged []bool
		want        orders.Order
	}{
		{
			name:        "payment.succeeded is PAID with amount, currency, payment id, email and paid time",
			facts:       []fact{pay(success("e1", 10))},
			wantChanged: []bool{true},
			want:        paidFields,
		},
		{
			name:        "payment.failed is PAYMENT_FAILED with code and message",
			facts:       []fact{pay(failure("e1", 10))},
			wantChanged: []bool{true},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.PaidAt, o.FailedAt = orders.PaymentFailed, time.Time{}, at(10)
				o.FailureCode, o.FailureMessage = "card_declined", "The card was declined by the issuer."
			}),
		},
		{
			name:        "stale failure after success does not override it",
			facts:       []fact{pay(success("e1", 10)), pay(failure("e0", 5)), pay(failure("e2", 20))},
			wantChanged: []bool{true, false, false},
			want:        paidFields,
		},
		{
			name:        "success after failure replaces it",
			facts:       []fact{pay(failure("e0", 5)), pay(success("e1", 10))},
			wantChanged: []bool{true, true},
			want:        paidFields,
		},
		{
			name:        "later failure replaces an earlier one, an earlier one changes nothing",
			facts:       []fact{pay(failure("e1", 10)), pay(failure("e2", 20)), pay(failure("e0", 5))},
			wantChanged: []bool{true, true, false},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.PaidAt, o.FailedAt = orders.PaymentFailed, time.Time{}, at(20)
				o.PaymentID, o.PaymentEventID, o.LastEventID, o.LastEventCreated = "pay_e2", "e2", "e2", at(20)
				o.FailureCode, o.FailureMessage = "card_declined", "The card was declined by the issuer."
			}),
		},
		{
			name:        "partial refund is PARTIALLY_REFUNDED",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000))},
			wantChanged: []bool{true, true},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.PartiallyRefunded, 1000, map[string]int64{"re_1": 1000}
				o.RefundEvents = held("re_1", "r1", 20)
				o.LastEventID, o.LastEventCreated = "r1", at(20)
			}),
		},
		{
			name:        "refunds reaching the paid amount are REFUNDED",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000)), ref(refund("r2", "re_2", 30, 3999))},
			wantChanged: []bool{true, true, true},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.Refunded, 4999, map[string]int64{"re_1": 1000, "re_2": 3999}
				o.RefundEvents = held("re_1", "r1", 20, "re_2", "r2", 30)
				o.LastEventID, o.LastEventCreated = "r2", at(30)
			}),
		},
		{
			name:        "one full refund is REFUNDED",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 4999))},
			wantChanged: []bool{true, true},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.Refunded, 4999, map[string]int64{"re_1": 4999}
				o.RefundEvents = held("re_1", "r1", 20)
				o.LastEventID, o.LastEventCreated = "r1", at(20)
			}),
		},
		{
			name: "duplicate refund id adds nothing",
			facts: []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000)), ref(refund("r1", "re_1", 20, 1000)),
				ref(refund("r9", "re_1", 40, 1000))},
			wantChanged: []bool{true, true, false, false},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.PartiallyRefunded, 1000, map[string]int64{"re_1": 1000}
				o.RefundEvents = held("re_1", "r1", 20)
				o.LastEventID, o.LastEventCreated = "r1", at(20)
			}),
		},
		{
			name: "an earlier event with a held refund id takes the refund over",
			facts: []fact{pay(success("e1", 10)), ref(refund("r9", "re_1", 40, 1200)), ref(refund("r1", "re_1", 20, 1000)),
				ref(refund("r9", "re_1", 40, 1200))},
			wantChanged: []bool{true, true, true, false},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.PartiallyRefunded, 1000, map[string]int64{"re_1": 1000}
				o.RefundEvents = held("re_1", "r1", 20)
				o.LastEventID, o.LastEventCreated = "r1", at(20)
			}),
		},
		{
			name: "a refund applied before a later event still names its event",
			facts: []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 1000)), ref(refund("r2", "re_2", 30, 100)),
				ref(refund("r1", "re_1", 20, 1000))},
			wantChanged: []bool{true, true, true, false},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.PartiallyRefunded, 1100, map[string]int64{"re_1": 1000, "re_2": 100}
				o.RefundEvents = held("re_1", "r1", 20, "re_2", "r2", 30)
				o.LastEventID, o.LastEventCreated = "r2", at(30)
			}),
		},
		{
			name:        "refund before payment is kept as REFUND_RECEIVED",
			facts:       []fact{ref(refund("r1", "re_1", 20, 1000))},
			wantChanged: []bool{true},
			want: orders.Order{ID: "ord_1", Status: orders.RefundReceived, Currency: "usd", RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "late success after a partial refund is PARTIALLY_REFUNDED, not PAID",
			facts:       []fact{ref(refund("r1", "re_1", 20, 1000)), pay(success("e1", 10))},
			wantChanged: []bool{true, true},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.PartiallyRefunded, 1000, map[string]int64{"re_1": 1000}
				o.RefundEvents = held("re_1", "r1", 20)
				o.LastEventID, o.LastEventCreated = "r1", at(20)
			}),
		},
		{
			name:        "late success after a full refund is REFUNDED",
			facts:       []fact{ref(refund("r1", "re_1", 20, 4999)), pay(success("e1", 10))},
			wantChanged: []bool{true, true},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.Refunded, 4999, map[string]int64{"re_1": 4999}
				o.RefundEvents = held("re_1", "r1", 20)
				o.LastEventID, o.LastEventCreated = "r1", at(20)
			}),
		},
		{
			name:        "failure after a refund does not override it",
			facts:       []fact{ref(refund("r1", "re_1", 20, 1000)), pay(failure("e0", 30))},
			wantChanged: []bool{true, false},
			want: orders.Order{ID: "ord_1", Status: orders.RefundReceived, Currency: "usd", RefundedTotal: 1000,
				Refunds: map[string]int64{"re_1": 1000}, RefundEvents: held("re_1", "r1", 20), LastEventID: "r1", LastEventCreated: at(20)},
		},
		{
			name:        "item keeps the latest event even when an older refund arrives last",
			facts:       []fact{pay(success("e1", 10)), ref(refund("r2", "re_2", 30, 100)), ref(refund("r1", "re_1", 20, 100))},
			wantChanged: []bool{true, true, true},
			want: with(paidFields, func(o *orders.Order) {
				o.Status, o.RefundedTotal, o.Refunds = orders.PartiallyRefunded, 200, map[string]int64{"re_1": 100, "re_2": 100}
				o.RefundEvents = held("re_1", "r1", 20, "re_2", "r2", 30)
				o.LastEventID, o.LastEventCreated = "r2", at(30)
			}),
		},
	}
	s, _ := newStore(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_%d", i)
			tc.want.ID = orderID
			got, changed := applyAll(t, s, orderID, tc.facts)
			if fmt.Sprint(changed) != fmt.Sprint(tc.wantChanged) {
				t.Errorf("changed: want %v, got %v", tc.wantChanged, changed)
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("returned order differs:%s", d)
			}
			stored, err := s.Get(context.Background(), orderID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if d := diff(tc.want, stored); d != "" {
				t.Errorf("stored order differs:%s", d)
			}
			if d := diff(pure(orderID, tc.facts), stored); d != "" {
				t.Errorf("stored order differs from the orders package's:%s", d)
			}
		})
	}
}

func TestTimestamps(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	created := t0.Add(time.Minute)
	if _, _, err := s.ApplyPayment(ctx, "ord_t", success("e1", 10), created); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := s.ApplyPayment(ctx, "ord_t", failure("e0", 5), created.Add(time.Minute)); err != nil || changed {
		t.Fatalf("stale failure: changed %v, err %v", changed, err)
	}
	updated := created.Add(2 * time.Minute)
	if _, _, err := s.ApplyRefund(ctx, "ord_t", refund("r1", "re_1", 20, 100), updated); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "ord_t")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(updated) {
		t.Errorf("CreatedAt, UpdatedAt: want %v, %v; got %v, %v", created, updated, got.CreatedAt, got.UpdatedAt)
	}
}

// TestOneWritePerEvent checks the fast paths: the common events cost one
// UpdateItem, and only the documented cases take a second.
func TestOneWritePerEvent(t *testing.T) {
	tests := []struct {
		name        string
		setup       []fact
		event       fact
		wantChanged bool
		wantUpdates int64
	}{
		{"success on a new order", nil, pay(success("e1", 10)), true, 1},
		{"failure on a new order", nil, pay(failure("e1", 10)), true, 1},
		{"success after a failure", []fact{pay(failure("e0", 5))}, pay(success("e1", 10)), true, 1},
		{"later failure after a failure", []fact{pay(failure("e0", 5))}, pay(failure("e1", 10)), true, 1},
		{"full refund after success", []fact{pay(success("e1", 10))}, ref(refund("r1", "re_1", 20, 4999)), true, 1},
		{"stale failure after success", []fact{pay(success("e1", 10))}, pay(failure("e0", 5)), false, 1},
		{"duplicate refund", []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 100))}, ref(refund("r1", "re_1", 20, 100)), false, 1},
		{"later event for a held refund id", []fact{pay(success("e1", 10)), ref(refund("r1", "re_1", 20, 100))}, ref(refund("r9", "re_1", 40, 100)), false, 1},
		{"earlier event for a held refund id: take-over", []fact{pay(success("e1", 10)), ref(refund("r9", "re_1", 40, 100))}, ref(refund("r1", "re_1", 20, 100)), true, 2},
		{"partial refund after success: refused guess, then versioned write", []fact{pay(success("e1", 10))}, ref(refund("r1", "re_1", 20, 100)), true, 2},
		{"refund before payment", nil, ref(refund("r1", "re_1", 20, 100)), true, 2},
	}
	s, c := newStore(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_%d", i)
			applyAll(t, s, orderID, tc.setup)
			before := c.updates.Load()
			_, changed, err := tc.event.store(context.Background(), s, orderID, t0)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed: want %v, got %v", tc.wantChanged, changed)
			}
			if n := c.updates.Load() - before; n != tc.wantUpdates {
				t.Errorf("UpdateItem calls: want %d, got %d", tc.wantUpdates, n)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := s.ApplyPayment(ctx, "ord_paid", success("e1", 10), t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ApplyRefund(ctx, "ord_refunded", refund("r1", "re_1", 20, 100), t0); err != nil {
		t.Fatal(err)
	}
	eurRefund := refund("r2", "re_2", 30, 100)
	eurRefund.Currency = "eur"
	eurPayment := success("e2", 10)
	eurPayment.Currency = "eur"
	negative := success("e3", 10)
	negative.Amount = -1
	tests := []struct {
		name    string
		orderID string
		f       fact
		wantErr error
	}{
		{"missing order id", "", pay(success("e1", 10)), orders.ErrInvalid},
		{"negative amount", "ord_new", pay(negative), orders.ErrInvalid},
		{"zero refund", "ord_new", ref(refund("r1", "re_1", 20, 0)), orders.ErrInvalid},
		{"refund in another currency than the payment", "ord_paid", ref(eurRefund), orders.ErrCurrencyMismatch},
		{"payment in another currency than the refunds", "ord_refunded", pay(eurPayment), orders.ErrCurrencyMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, beforeErr := s.Get(ctx, tc.orderID)
			_, changed, err := tc.f.store(ctx, s, tc.orderID, t0.Add(time.Hour))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
			if changed {
				t.Error("changed is true on an error")
			}
			after, afterErr := s.Get(ctx, tc.orderID)
			if tc.orderID != "" && (errors.Is(afterErr, ddborders.ErrNotFound) != errors.Is(beforeErr, ddborders.ErrNotFound) || diff(before, after) != "" || !after.UpdatedAt.Equal(before.UpdatedAt)) {
				t.Errorf("the order changed: before %+v (%v), after %+v (%v)", before, beforeErr, after, afterErr)
			}
		})
	}
}

// TestBadItem checks that an item this package did not write is reported,
// not read as an order: a refund must be a map of amount, event_id and
// event_created_ms.
func TestBadItem(t *testing.T) {
	client, name, _ := newTable(t, "")
	s := ddborders.New(client, name)
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	m := func(kv map[string]types.AttributeValue) types.AttributeValue {
		return &types.AttributeValueMemberM{Value: kv}
	}
	tests := []struct {
		name    string
		refunds types.AttributeValue
		wantErr error
	}{
		{"refund as an amount", m(map[string]types.AttributeValue{"re_1": n("100")}), ddborders.ErrBadItem},
		{"refund amount as a string", m(map[string]types.AttributeValue{"re_1": m(map[string]types.AttributeValue{
			"amount": &types.AttributeValueMemberS{Value: "100"}, "event_id": &types.AttributeValueMemberS{Value: "r1"}, "event_created_ms": n("1")})}),
			ddborders.ErrBadItem},
		{"refunds not a map", &types.AttributeValueMemberS{Value: "re_1"}, ddborders.ErrBadItem},
		{"well-formed refund", m(map[string]types.AttributeValue{"re_1": m(map[string]types.AttributeValue{
			"amount": n("100"), "event_id": &types.AttributeValueMemberS{Value: "r1"}, "event_created_ms": n("1")})}), nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_bad_%d", i)
			_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]types.AttributeValue{
				"order_id": &types.AttributeValueMemberS{Value: orderID}, "refunds": tc.refunds,
			}})
			if err != nil {
				t.Fatal(err)
			}
			o, err := s.Get(context.Background(), orderID)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Get: want %v, got %v", tc.wantErr, err)
			}
			if err == nil && (o.Refunds["re_1"] != 100 || o.RefundEvents["re_1"].ID != "r1" || !o.RefundEvents["re_1"].Created.Equal(time.UnixMilli(1))) {
				t.Errorf("Get: refunds %v, events %v", o.Refunds, o.RefundEvents)
			}
		})
	}
}

func TestGetNotFound(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.Get(context.Background(), "ord_missing"); !errors.Is(err, ddborders.ErrNotFound) {
		t.Errorf("want ErrNotFound, got %v", err)
	}
}

func TestCreateTableIdempotent(t *testing.T) {
	client := dynamodb.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "orders")
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	for i := range 2 {
		if err := ddborders.CreateTable(context.Background(), client, name); err != nil {
			t.Fatalf("CreateTable #%d: %v", i+1, err)
		}
	}
}

// scenario is one order's events: an early failure, the success, two
// partial refunds, a redelivery of the first refund's event and a later
// event (with another amount) for the same refund id.
func scenario() []fact {
	return []fact{
		pay(failure("evt_fail", 5)),
		pay(success("evt_pay", 10)),
		ref(refund("evt_re1", "re_1", 20, 1000)),
		ref(refund("evt_re2", "re_2", 30, 1500)),
		ref(refund("evt_re1", "re_1", 20, 1000)),
		ref(refund("evt_re1_late", "re_1", 25, 900)),
	}
}

func TestArrivalOrderIndependence(t *testing.T) {
	facts := scenario()
	reorder := func(idx ...int) []fact {
		out := make([]fact, len(idx))
		for i, j := range idx {
			out[i] = facts[j]
		}
		return out
	}
	perms := [][]int{
		{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {2, 3, 5, 4, 1, 0}, {1, 0, 2, 3, 4, 5},
		{3, 5, 2, 0, 4, 1}, {0, 2, 1, 4, 3, 5}, {5, 2, 0, 3, 1, 4}, {4, 0, 3, 1, 5, 2},
		{3, 4, 1, 2, 0, 5}, {1, 5, 4, 0, 3, 2}, {2, 4, 3, 0, 1, 5}, {5, 1, 0, 3, 4, 2},
	}
	s, _ := newStore(t)
	for i, p := range perms {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			orderID := fmt.Sprintf("ord_perm_%d", i)
			want := pure(orderID, facts)
			if want.Status != orders.PartiallyRefunded || want.RefundedTotal != 2500 || want.RefundEvents["re_1"].ID != "evt_re1" {
				t.Fatalf("in-order result: %+v", want)
			}
			applyAll(t, s, orderID, reorder(p...))
			got, err := s.Get(context.Background(), orderID)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(want, got); d != "" {
				t.Errorf("differs from in-order delivery:%s", d)
			}
		})
	}
}

// race applies a and b to orderID concurrently and returns their changed
// flags.
func race(t *testing.T, s *ddborders.Store, orderID string, a, b fact) (bool, bool) {
	t.Helper()
	var wg sync.WaitGroup
	var changed [2]bool
	var errs [2]error
	for i, f := range []fact{a, b} {
		wg.Go(func() {
			_, changed[i], errs[i] = f.store(context.Background(), s, orderID, t0)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("racing %v and %v: %v", a, b, err)
		}
	}
	return changed[0], changed[1]
}

func TestRace(t *testing.T) {
	const rounds = 20
	s, _ := newStoreAt(t, serialized(t, motoserver.Endpoint()))
	get := func(t *testing.T, orderID string) orders.Order {
		t.Helper()
		o, err := s.Get(context.Background(), orderID)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	t.Run("failure against success", func(t *testing.T) {
		for i := range rounds {
			orderID := fmt.Sprintf("ord_fs_%d", i)
			_, okSuccess := race(t, s, orderID, pay(failure("e2", 20)), pay(success("e1", 10)))
			if !okSuccess {
				t.Errorf("round %d: the success did not change the order", i)
			}
			if o := get(t, orderID); o.Status != orders.Paid || o.FailureCode != "" || o.PaymentEventID != "e1" {
				t.Errorf("round %d: want PAID by e1 without failure, got %s by %s (failure %q)", i, o.Status, o.PaymentEventID, o.FailureCode)
			}
		}
	})
	t.Run("two refunds", func(t *testing.T) {
		for i := range rounds {
			orderID := fmt.Sprintf("ord_rr_%d", i)
			applyAll(t, s, orderID, []fact{pay(success("e1", 10))})
			c1, c2 := race(t, s, orderID, ref(refund("r1", "re_1", 20, 1000)), ref(refund("r2", "re_2", 20, 3999)))
			if !c1 || !c2 {
				t.Errorf("round %d: changed %v, %v; want both", i, c1, c2)
			}
			o := get(t, orderID)
			if o.Status != orders.Refunded || o.RefundedTotal != 4999 || len(o.Refunds) != 2 || o.LastEventID != "r2" {
				t.Errorf("round %d: want REFUNDED 4999 by two refunds, last r2; got %s %d %v, last %s", i, o.Status, o.RefundedTotal, o.Refunds, o.LastEventID)
			}
		}
	})
	t.Run("one refund delivered twice", func(t *testing.T) {
		for i := range rounds {
			orderID := fmt.Sprintf("ord_dup_%d", i)
			applyAll(t, s, orderID, []fact{pay(success("e1", 10))})
			c1, c2 := race(t, s, orderID, ref(refund("r1", "re_1", 20, 1000)), ref(refund("r1", "re_1", 20, 1000)))
			if c1 == c2 {
				t.Errorf("round %d: changed %v, %v; want exactly one", i, c1, c2)
			}
			if o := get(t, orderID); o.Status != orders.PartiallyRefunded || o.RefundedTotal != 1000 {
				t.Errorf("round %d: want PARTIALLY_REFUNDED 1000, got %s %d", i, o.Status, o.RefundedTotal)
			}
		}
	})
}
