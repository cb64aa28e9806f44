package ddborders_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders/orderstest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/callcounttest"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// The facts of the rules' table, shared with the orders package's tests;
// t0 is the tests' clock, event times are relative to it.
var (
	t0        = orderstest.T0
	at        = orderstest.At
	success   = orderstest.Success
	failure   = orderstest.Failure
	refund    = orderstest.Refund
	ofPayment = orderstest.OfPayment
	pay       = orderstest.Pay
	ref       = orderstest.Ref
)

func eur[T orders.Payment | orders.Refund](f T) T { return orderstest.InCurrency(f, "eur") }

type fact = orderstest.Fact

// calls counts the DynamoDB operations a client makes, by name.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

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

// newStore creates fresh orders and refunds tables for the test.
func newStore(t *testing.T) (*ddborders.Store, *calls) {
	t.Helper()
	return newStoreAt(t, "")
}

// newStoreAt is newStore with the client pointed at endpoint, when not "".
func newStoreAt(t *testing.T, endpoint string) (*ddborders.Store, *calls) {
	t.Helper()
	client, name, c := newTable(t, endpoint)
	return ddborders.New(client, name), c
}

// newTable creates fresh orders and refunds tables, deleted after the
// test, and returns a client pointed at endpoint (when not "") that counts
// its operations, and the orders table's name.
func newTable(t *testing.T, endpoint string) (*dynamodb.Client, string, *calls) {
	t.Helper()
	c := &calls{n: map[string]int{}}
	client := dynamodb.NewFromConfig(motoserver.TestConfig(t), func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					c.mu.Lock()
					c.n[middleware.GetOperationName(ctx)]++
					c.mu.Unlock()
					return next.HandleInitialize(ctx, in)
				}), middleware.After)
		})
	})
	name := motoserver.UniqueName(t, "orders")
	if err := ddborders.CreateTable(context.Background(), client, name); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		for _, n := range []string{name, name + ddborders.RefundsTableSuffix} {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})
	return client, name, c
}

// store applies f to orderID through s.
func store(ctx context.Context, s *ddborders.Store, f fact, orderID string, now time.Time) (orders.Order, bool, error) {
	if f.Payment != nil {
		a, err := s.ApplyPayment(ctx, orderID, *f.Payment, now)
		return a.Order, a.Changed, err
	}
	a, _, err := s.ApplyRefund(ctx, orderID, *f.Refund, now)
	return a.Order, a.Changed, err
}

// pure applies facts with the orders package alone, a refund id once.
func pure(orderID string, facts []fact) orders.Order {
	o, _ := orderstest.Apply(orderID, facts)
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
		o, changed[i], err = store(context.Background(), s, f, orderID, t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatalf("apply %v: %v", f, err)
		}
	}
	return o, changed
}

// diff describes the differences in the fields the rules decide, or "";
// with announcements, also the recorded announcements.
func diff(want, got orders.Order, announcements bool) string {
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
	check("CustomerEmail", want.CustomerEmail, got.CustomerEmail)
	check("CustomerName", want.CustomerName, got.CustomerName)
	check("FailureCode", want.FailureCode, got.FailureCode)
	check("FailureMessage", want.FailureMessage, got.FailureMessage)
	check("FailedAt", want.FailedAt.UTC(), got.FailedAt.UTC())
	check("Payments", len(want.Payments), len(got.Payments))
	for i := range min(len(want.Payments), len(got.Payments)) {
		w, g := want.Payments[i], got.Payments[i]
		check(fmt.Sprintf("Payments[%d]", i), fmt.Sprint(w.PaymentID, w.Amount, w.Currency, w.Created.UTC()),
			fmt.Sprint(g.PaymentID, g.Amount, g.Currency, g.Created.UTC()))
	}
	check("PaidTotal", want.PaidTotal, got.PaidTotal)
	check("RefundTotals", want.RefundTotals, got.RefundTotals)
	check("RefundCount", want.RefundCount, got.RefundCount)
	check("RefundedTotal", want.RefundedTotal, got.RefundedTotal)
	check("Anomalies", want.Anomalies, got.Anomalies)
	if announcements {
		check("PaymentEventID", want.PaymentEventID, got.PaymentEventID)
		check("PaidAt", want.PaidAt.UTC(), got.PaidAt.UTC())
		check("PaidEventID", want.PaidEventID, got.PaidEventID)
		check("LastEventID", want.LastEventID, got.LastEventID)
		check("LastEventCreated", want.LastEventCreated.UTC(), got.LastEventCreated.UTC())
	}
	return d
}

// TestRules applies each case's facts through the table and checks the
// order returned and stored against the orders package's, and the changed
// flags against the rules.
func TestRules(t *testing.T) {
	s, _ := newStore(t)
	for i, tc := range orderstest.Rules() {
		t.Run(tc.Name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_%d", i)
			if tc.Invalid {
				for _, f := range tc.Facts {
					if _, _, err := store(context.Background(), s, f, orderID, t0); !errors.Is(err, orders.ErrInvalid) {
						t.Errorf("apply %v: %v, want ErrInvalid", f, err)
					}
				}
				if o, err := s.Get(context.Background(), orderID); !errors.Is(err, ddborders.ErrNotFound) {
					t.Errorf("Get = %+v, %v; want ErrNotFound", o, err)
				}
				return
			}
			want := pure(orderID, tc.Facts)
			got, changed := applyAll(t, s, orderID, tc.Facts)
			if !slices.Equal(changed, tc.WantChanged) {
				t.Errorf("changed: want %v, got %v", tc.WantChanged, changed)
			}
			if got.ID != "" || tc.WantChanged[len(tc.WantChanged)-1] {
				if d := diff(want, got, true); d != "" {
					t.Errorf("returned order differs:%s", d)
				}
			}
			stored, err := s.Get(context.Background(), orderID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if d := diff(want, stored, true); d != "" {
				t.Errorf("stored order differs from the orders package's:%s", d)
			}
			if tc.WantStatus != "" && stored.Status != tc.WantStatus {
				t.Errorf("status %s, want %s", stored.Status, tc.WantStatus)
			}
			if tc.Check != nil {
				tc.Check(t, stored)
			}
		})
	}
}

func TestTimestamps(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	created := t0.Add(time.Minute)
	if _, err := s.ApplyPayment(ctx, "ord_t", success("e1", "1", 10), created); err != nil {
		t.Fatal(err)
	}
	if a, err := s.ApplyPayment(ctx, "ord_t", failure("e0", 5), created.Add(time.Minute)); err != nil || a.Changed {
		t.Fatalf("stale failure: changed %v, err %v", a.Changed, err)
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

// TestCallsPerEvent checks the writes each kind of event costs: a payment
// one UpdateItem (two when its fast path is refused), a refund one read
// and one transaction of two writes.
func TestCallsPerEvent(t *testing.T) {
	tests := []struct {
		name        string
		setup       []fact
		event       fact
		wantChanged bool
		want        map[string]int
	}{
		{"success on a new order", nil, pay(success("e1", "1", 10)), true, map[string]int{"UpdateItem": 1}},
		{"failure on a new order", nil, pay(failure("e1", 10)), true, map[string]int{"UpdateItem": 1}},
		{"success after a failure", []fact{pay(failure("e0", 5))}, pay(success("e1", "1", 10)), true, map[string]int{"UpdateItem": 1}},
		{"later failure after a failure", []fact{pay(failure("e0", 5))}, pay(failure("e1", 10)), true, map[string]int{"UpdateItem": 1}},
		{"stale failure after a success", []fact{pay(success("e1", "1", 10))}, pay(failure("e0", 5)), false, map[string]int{"UpdateItem": 1}},
		{"the same payment again", []fact{pay(success("e1", "1", 10))}, pay(success("e2", "1", 20)), false, map[string]int{"UpdateItem": 1}},
		{"a second payment: refused guess, then versioned write", []fact{pay(success("e1", "1", 10))}, pay(success("e2", "2", 20)), true, map[string]int{"UpdateItem": 2}},
		{"refund after success", []fact{pay(success("e1", "1", 10))}, ref(refund("r1", "re_1", 20, 100)), true, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
		{"refund before payment", nil, ref(refund("r1", "re_1", 20, 100)), true, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
		{"duplicate refund", []fact{pay(success("e1", "1", 10)), ref(refund("r1", "re_1", 20, 100))}, ref(refund("r9", "re_1", 40, 100)), false,
			map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
	}
	s, c := newStore(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_%d", i)
			applyAll(t, s, orderID, tc.setup)
			before := c.snapshot()
			_, changed, err := store(context.Background(), s, tc.event, orderID, t0)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed: want %v, got %v", tc.wantChanged, changed)
			}
			got := map[string]int{}
			for op, n := range c.snapshot() {
				if d := n - before[op]; d > 0 {
					got[op] = d
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("calls: want %v, got %v", tc.want, got)
			}
		})
	}
}

// TestNewAnomalies: the store reports the anomalies an event brought, on
// both paths, and none when it brought none.
func TestNewAnomalies(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	a, err := s.ApplyPayment(ctx, "ord_a", success("e1", "1", 10), t0)
	if err != nil || len(a.NewAnomalies) != 0 {
		t.Fatalf("first payment: %v %v", a.NewAnomalies, err)
	}
	if a, err = s.ApplyPayment(ctx, "ord_a", success("e2", "2", 20), t0); err != nil || len(a.NewAnomalies) != 1 || a.NewAnomalies[0].Kind != orders.DoubleCharge {
		t.Errorf("second payment: %v %v", a.NewAnomalies, err)
	}
	r, _, err := s.ApplyRefund(ctx, "ord_a", eur(refund("r1", "re_1", 30, 100)), t0)
	if err != nil || len(r.NewAnomalies) != 1 || r.NewAnomalies[0].Kind != orders.CurrencyMismatch {
		t.Errorf("refund in euros: %v %v", r.NewAnomalies, err)
	}
	if r, _, err = s.ApplyRefund(ctx, "ord_a", refund("r2", "re_2", 40, 100), t0); err != nil || len(r.NewAnomalies) != 0 {
		t.Errorf("plain refund: %v %v", r.NewAnomalies, err)
	}
}

// TestDuplicateRefundReturnsItsEvent: a second event for a refund id gets
// the refund as the first event recorded it, so that a handler can tell a
// retry of that event (which still owes the notice) from a duplicate.
func TestDuplicateRefundReturnsItsEvent(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	applyAll(t, s, "ord_d", []fact{pay(success("e1", "1", 10))})
	if a, rec, err := s.ApplyRefund(ctx, "ord_d", refund("r1", "re_1", 20, 100), t0); err != nil || !a.Changed || rec.EventID != "r1" {
		t.Fatalf("first: %v %v %+v", err, a.Changed, rec)
	}
	for _, evt := range []string{"r1", "r0", "r2"} {
		a, rec, err := s.ApplyRefund(ctx, "ord_d", refund(evt, "re_1", 20, 100), t0)
		if err != nil || a.Changed || rec.EventID != "r1" || rec.Amount != 100 || a.Order.RefundedTotal != 100 {
			t.Errorf("%s: err %v, changed %v, recorded %+v, order total %d", evt, err, a.Changed, rec, a.Order.RefundedTotal)
		}
	}
	rec, err := s.GetRefund(ctx, "ord_d", "re_1")
	if err != nil || rec.EventID != "r1" || !rec.EventCreated.Equal(at(20)) || rec.PaymentID != "pay_1" {
		t.Errorf("GetRefund: %+v %v", rec, err)
	}
	if _, err := s.GetRefund(ctx, "ord_d", "re_missing"); !errors.Is(err, ddborders.ErrNotFound) {
		t.Errorf("GetRefund of a missing refund: %v", err)
	}
}

// TestItemBoundedWhateverTheRefunds is the regression test of the order item
// that grew with every refund (one map entry each; about 4,000 refunds
// reached DynamoDB's 400 KB, which moto enforces too). The order here holds
// 5,000 refunds, of more payments than it sums, and takes one more through
// the table; the item stays a few KB.
func TestItemBoundedWhateverTheRefunds(t *testing.T) {
	const n, bound = 5000, 4096
	s, _ := newStore(t)
	ctx := context.Background()
	o, _ := orders.Order{ID: "ord_many"}.ApplyPayment(success("e1", "1", 10))
	for i := range n {
		r := refund(fmt.Sprintf("r%d", i), fmt.Sprintf("re_%d", i), 20, 1)
		if i%2 == 1 {
			r.PaymentID = fmt.Sprintf("pay_other%d", i%(3*orders.MaxRefundTotals))
		}
		o, _ = o.ApplyRefund(r)
		// The store keeps the last MaxEvents ids of the events that changed
		// the order: a full timeline, as after this many refunds.
		o.Events = append(o.Events, r.EventID)[max(0, len(o.Events)+1-ddborders.MaxEvents):]
	}
	if size := callcounttest.ItemSize(ddborders.Item(o)); size > bound {
		t.Fatalf("an order with %d refunds is a %d-byte item, want at most %d", n, size, bound)
	}
	if err := s.PutOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	// Through the store, each refund more leaves the item the same size,
	// give or take the digits of the sums.
	var sizes []int
	for i := range 20 {
		a, _, err := s.ApplyRefund(ctx, "ord_many", refund(fmt.Sprintf("rx%d", i), fmt.Sprintf("re_x%d", i), 30+i, 1), t0)
		if err != nil || !a.Changed {
			t.Fatalf("refund %d more: changed %v, %v", i, a.Changed, err)
		}
		if a.Order.RefundCount != n+i+1 {
			t.Errorf("refund count %d, want %d", a.Order.RefundCount, n+i+1)
		}
		stored, err := s.Get(ctx, "ord_many")
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, callcounttest.ItemSize(ddborders.Item(stored)))
	}
	if last := sizes[len(sizes)-1]; last > bound || last-sizes[0] > 8 {
		t.Errorf("item sizes over 20 more refunds: %v (bound %d)", sizes, bound)
	}
}

func TestErrors(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	negative := success("e3", "3", 10)
	negative.Amount = -1
	tests := []struct {
		name    string
		orderID string
		f       fact
	}{
		{"missing order id", "", pay(success("e1", "1", 10))},
		{"negative amount", "ord_new", pay(negative)},
		{"zero refund", "ord_new", ref(refund("r1", "re_1", 20, 0))},
		{"refund without payment id", "ord_new", ref(func() orders.Refund { r := refund("r1", "re_1", 20, 1); r.PaymentID = ""; return r }())},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, changed, err := store(ctx, s, tc.f, tc.orderID, t0.Add(time.Hour))
			if !errors.Is(err, orders.ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			if changed {
				t.Error("changed is true on an error")
			}
			if _, err := s.Get(ctx, "ord_new"); !errors.Is(err, ddborders.ErrNotFound) {
				t.Errorf("an order was written: %v", err)
			}
		})
	}
}

// TestBadItem checks that an item this package did not write is reported,
// not read as an order.
func TestBadItem(t *testing.T) {
	client, name, _ := newTable(t, "")
	s := ddborders.New(client, name)
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	l := func(vs ...types.AttributeValue) types.AttributeValue { return &types.AttributeValueMemberL{Value: vs} }
	m := func(kv map[string]types.AttributeValue) types.AttributeValue {
		return &types.AttributeValueMemberM{Value: kv}
	}
	tests := []struct {
		name    string
		attr    string
		value   types.AttributeValue
		wantErr error
	}{
		{"payments not a list", "payments", m(nil), ddborders.ErrBadItem},
		{"a payment not a map", "payments", l(n("1")), ddborders.ErrBadItem},
		{"a payment amount as a string", "payments", l(m(map[string]types.AttributeValue{"amount": &types.AttributeValueMemberS{Value: "1"}})), ddborders.ErrBadItem},
		{"refund count as a string", "refund_count", &types.AttributeValueMemberS{Value: "1"}, ddborders.ErrBadItem},
		{"well-formed sums", "refund_totals", l(m(map[string]types.AttributeValue{
			"payment_id": &types.AttributeValueMemberS{Value: "pay_1"}, "currency": &types.AttributeValueMemberS{Value: "usd"}, "amount": n("100"), "count": n("2")})), nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_bad_%d", i)
			_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]types.AttributeValue{
				"order_id": &types.AttributeValueMemberS{Value: orderID}, tc.attr: tc.value,
			}})
			if err != nil {
				t.Fatal(err)
			}
			o, err := s.Get(context.Background(), orderID)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Get: want %v, got %v", tc.wantErr, err)
			}
			if err == nil && fmt.Sprint(o.RefundTotals) != "[{pay_1 usd 100 2}]" {
				t.Errorf("Get: sums %v", o.RefundTotals)
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
		for _, n := range []string{name, name + ddborders.RefundsTableSuffix} {
			_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})
	for i := range 2 {
		if err := ddborders.CreateTable(context.Background(), client, name); err != nil {
			t.Fatalf("CreateTable #%d: %v", i+1, err)
		}
	}
	out, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name + ddborders.RefundsTableSuffix)})
	if err != nil || len(out.Table.KeySchema) != 2 {
		t.Fatalf("refunds table: %v %+v", err, out)
	}
}

// scenario is one order's events with every kind of contradiction: an early
// failure, the success announced twice, a second payment, a refund id
// announced by two events, a refund in another currency, one of a foreign
// payment, one that over-refunds, and equal created times.
func scenario() []fact {
	return []fact{
		pay(failure("evt_fail", 5)),
		pay(success("evt_pay", "1", 10)),
		pay(success("evt_pay_again", "1", 10)),
		pay(success("evt_pay2", "2", 15)),
		ref(refund("evt_re1", "re_1", 20, 1000)),
		ref(refund("evt_re1_again", "re_1", 25, 1000)),
		ref(eur(refund("evt_re_eur", "re_eur", 30, 700))),
		ref(ofPayment(refund("evt_re_foreign", "re_f", 30, 300), "zz")),
		ref(ofPayment(refund("evt_re_big", "re_big", 40, 9000), "2")),
	}
}

func TestArrivalOrderIndependence(t *testing.T) {
	facts := scenario()
	want := pure("", facts)
	if want.Status != orders.Refunded || len(want.Anomalies) != 4 {
		t.Fatalf("in-order result: %+v", want)
	}
	rng := func(seed int) []fact {
		out := slices.Clone(facts)
		for i := len(out) - 1; i > 0; i-- {
			j := (seed*7919 + i*104729) % (i + 1)
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	s, _ := newStore(t)
	for i := range 6 {
		p := facts
		if i > 0 {
			p = rng(i)
		}
		if i == 1 {
			p = slices.Clone(facts)
			slices.Reverse(p)
		}
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			orderID := fmt.Sprintf("ord_perm_%d", i)
			applyAll(t, s, orderID, p)
			got, err := s.Get(context.Background(), orderID)
			if err != nil {
				t.Fatal(err)
			}
			want.ID = orderID
			if d := diff(want, got, false); d != "" {
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
			_, changed[i], errs[i] = store(context.Background(), s, f, orderID, t0)
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
			_, okSuccess := race(t, s, orderID, pay(failure("e2", 20)), pay(success("e1", "1", 10)))
			if !okSuccess {
				t.Errorf("round %d: the success did not change the order", i)
			}
			if o := get(t, orderID); o.Status != orders.Paid || o.FailureCode != "" || o.PaidEventID != "e1" {
				t.Errorf("round %d: want PAID by e1 without failure, got %s by %s (failure %q)", i, o.Status, o.PaidEventID, o.FailureCode)
			}
		}
	})
	t.Run("two payments", func(t *testing.T) {
		for i := range rounds {
			orderID := fmt.Sprintf("ord_pp_%d", i)
			c1, c2 := race(t, s, orderID, pay(success("e1", "1", 10)), pay(success("e2", "2", 10)))
			o := get(t, orderID)
			if !c1 || !c2 || len(o.Payments) != 2 || o.PaymentID != "pay_1" || (o.PaidEventID != "e1" && o.PaidEventID != "e2") {
				t.Errorf("round %d: changed %v %v, %+v", i, c1, c2, o)
			}
		}
	})
	t.Run("two refunds", func(t *testing.T) {
		for i := range rounds {
			orderID := fmt.Sprintf("ord_rr_%d", i)
			applyAll(t, s, orderID, []fact{pay(success("e1", "1", 10))})
			c1, c2 := race(t, s, orderID, ref(refund("r1", "re_1", 20, 1000)), ref(refund("r2", "re_2", 20, 3999)))
			if !c1 || !c2 {
				t.Errorf("round %d: changed %v, %v; want both", i, c1, c2)
			}
			o := get(t, orderID)
			if o.Status != orders.Refunded || o.RefundedTotal != 4999 || o.RefundCount != 2 || o.LastEventID != "r2" {
				t.Errorf("round %d: want REFUNDED 4999 by two refunds, last r2; got %s %d (%d), last %s", i, o.Status, o.RefundedTotal, o.RefundCount, o.LastEventID)
			}
		}
	})
	t.Run("one refund announced twice", func(t *testing.T) {
		for i := range rounds {
			orderID := fmt.Sprintf("ord_dup_%d", i)
			applyAll(t, s, orderID, []fact{pay(success("e1", "1", 10))})
			c1, c2 := race(t, s, orderID, ref(refund("r1", "re_1", 20, 1000)), ref(refund("r1b", "re_1", 21, 1000)))
			if c1 == c2 {
				t.Errorf("round %d: changed %v, %v; want exactly one", i, c1, c2)
			}
			if o := get(t, orderID); o.Status != orders.PartiallyRefunded || o.RefundedTotal != 1000 || o.RefundCount != 1 {
				t.Errorf("round %d: want PARTIALLY_REFUNDED 1000, got %s %d", i, o.Status, o.RefundedTotal)
			}
		}
	})
}
