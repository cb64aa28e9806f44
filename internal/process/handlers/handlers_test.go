package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// fakeOrders is an in-memory orders table with the orders package's rules:
// a refund id applied once, recorded with the event that applied it.
type fakeOrders struct {
	mu       sync.Mutex
	m        map[string]orders.Order
	refunds  map[string]orders.Refund // by order id and refund id
	applyErr error
	gets     int
}

func newFakeOrders() *fakeOrders {
	return &fakeOrders{m: map[string]orders.Order{}, refunds: map[string]orders.Refund{}}
}

func (f *fakeOrders) order(id string) orders.Order {
	if o, ok := f.m[id]; ok {
		return o
	}
	return orders.Order{ID: id}
}

func (f *fakeOrders) ApplyPayment(_ context.Context, id string, p orders.Payment, _ time.Time) (orders.Applied, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return orders.Applied{}, f.applyErr
	}
	if err := p.Validate(); err != nil {
		return orders.Applied{}, err
	}
	old := f.order(id)
	n, changed := old.ApplyPayment(p)
	if !changed {
		return orders.Applied{Order: old}, nil
	}
	f.m[id] = n
	return orders.Applied{Order: n, Changed: true, NewAnomalies: orders.NewAnomalies(old, n)}, nil
}

func (f *fakeOrders) ApplyRefund(_ context.Context, id string, r orders.Refund, _ time.Time) (orders.Applied, orders.Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return orders.Applied{}, orders.Refund{}, f.applyErr
	}
	if err := r.Validate(); err != nil {
		return orders.Applied{}, orders.Refund{}, err
	}
	old := f.order(id)
	if held, ok := f.refunds[id+"/"+r.RefundID]; ok {
		return orders.Applied{Order: old}, held, nil
	}
	n, _ := old.ApplyRefund(r)
	f.m[id], f.refunds[id+"/"+r.RefundID] = n, r
	return orders.Applied{Order: n, Changed: true, NewAnomalies: orders.NewAnomalies(old, n)}, r, nil
}

func (f *fakeOrders) Get(_ context.Context, id string) (orders.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	o, ok := f.m[id]
	if !ok {
		return o, errors.New("not found")
	}
	return o, nil
}

func (f *fakeOrders) GetRefund(_ context.Context, id, refundID string) (orders.Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.refunds[id+"/"+refundID]
	if !ok {
		return r, errors.New("not found")
	}
	return r, nil
}

type fakeMailer struct {
	err  error
	sent []handlers.Email
}

func (m *fakeMailer) Send(_ context.Context, e handlers.Email) error {
	if m.err != nil {
		return m.err
	}
	m.sent = append(m.sent, e)
	return nil
}

type fakePublisher struct {
	err       error
	published []handlers.DomainEvent
}

func (p *fakePublisher) Publish(_ context.Context, e handlers.DomainEvent) error {
	if p.err != nil {
		return p.err
	}
	p.published = append(p.published, e)
	return nil
}

type fixture struct {
	orders *fakeOrders
	mailer *fakeMailer
	pub    *fakePublisher
	reg    process.Registry
}

func newFixture() *fixture {
	f := &fixture{orders: newFakeOrders(), mailer: &fakeMailer{}, pub: &fakePublisher{}}
	f.reg = handlers.Default(handlers.Deps{
		Orders: f.orders, Mailer: f.mailer, Publisher: f.pub,
		RetryURLTemplate: "https://shop.example.com/orders/{order_id}/pay",
		Now:              func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) },
		Logger:           slog.New(slog.DiscardHandler),
	})
	return f
}

// event reads a sample event; edit may change its decoded JSON first.
func event(t testing.TB, name string, edit func(m map[string]any)) process.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	obj, _ := json.Marshal(m["data"].(map[string]any)["object"])
	return process.Event{
		ID:      m["id"].(string),
		Type:    m["type"].(string),
		Created: time.Unix(int64(m["created"].(float64)), 0).UTC(),
		Object:  obj,
		Body:    b,
		Attempt: 1,
	}
}

func object(m map[string]any) map[string]any {
	return m["data"].(map[string]any)["object"].(map[string]any)
}

func (f *fixture) handle(t *testing.T, ev process.Event, done ...string) (*process.Steps, error) {
	t.Helper()
	h, ok := f.reg[ev.Type]
	if !ok {
		t.Fatalf("no handler for %s", ev.Type)
	}
	steps := process.NewSteps(done)
	return steps, h.Handle(context.Background(), ev, steps)
}

func (f *fixture) mustHandle(t *testing.T, ev process.Event) {
	t.Helper()
	if _, err := f.handle(t, ev); err != nil {
		t.Fatal(err)
	}
}

var allSteps = []string{handlers.StepOrder, handlers.StepEvent, handlers.StepEmail}

func noteKinds(steps *process.Steps) []string {
	var out []string
	for _, n := range steps.Notes() {
		out = append(out, n.Metric+"/"+n.Kind)
	}
	return out
}

func TestPaymentSucceeded(t *testing.T) {
	f := newFixture()
	ev := event(t, "payment.succeeded", nil)
	steps, err := f.handle(t, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got := steps.Completed(); !slices.Equal(got, allSteps) {
		t.Errorf("steps %v", got)
	}
	if o := f.orders.m["ord_1001"]; o.Status != orders.Paid || o.Amount != 4999 || !o.Payments[0].Created.Equal(time.Unix(1795795190, 0)) {
		t.Errorf("order %+v", o)
	}
	if len(f.mailer.sent) != 1 {
		t.Fatalf("emails %d", len(f.mailer.sent))
	}
	e := f.mailer.sent[0]
	if e.To != "jane.doe@example.com" || e.Template != handlers.TemplatePaymentConfirmation || e.OrderID != "ord_1001" ||
		!strings.Contains(e.Text, "49.99 USD") || !strings.Contains(e.HTML, "49.99 USD") || !strings.Contains(e.Subject, "ord_1001") {
		t.Errorf("email %+v", e)
	}
	if len(f.pub.published) != 1 || f.pub.published[0].DetailType != handlers.DetailOrderPaid {
		t.Fatalf("published %+v", f.pub.published)
	}
	var d handlers.Detail
	if err := json.Unmarshal(f.pub.published[0].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.SourceEventID != ev.ID || d.SourceEventType != ev.Type || d.Order.OrderID != "ord_1001" ||
		d.Order.Status != string(orders.Paid) || d.Order.PaidAt == nil || d.Order.PaidTotal != 4999 || len(d.Order.Payments) != 1 {
		t.Errorf("detail %+v", d)
	}
}

func TestPaymentFailed(t *testing.T) {
	f := newFixture()
	f.mustHandle(t, event(t, "payment.failed", nil))
	if o := f.orders.m["ord_1002"]; o.Status != orders.PaymentFailed {
		t.Errorf("order %+v", o)
	}
	if len(f.mailer.sent) != 1 {
		t.Fatalf("emails %d", len(f.mailer.sent))
	}
	e := f.mailer.sent[0]
	for _, want := range []string{"129.00 EUR", "https://shop.example.com/orders/ord_1002/pay", "declined by the issuer"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q: %s", want, e.Text)
		}
	}
	if !strings.Contains(e.HTML, `href="https://shop.example.com/orders/ord_1002/pay"`) || e.Template != handlers.TemplatePaymentFailed {
		t.Errorf("email %+v", e)
	}
	if len(f.pub.published) != 1 || f.pub.published[0].DetailType != handlers.DetailOrderPaymentFailed {
		t.Errorf("published %+v", f.pub.published)
	}
}

func TestRefundCompleted(t *testing.T) {
	f := newFixture()
	f.mustHandle(t, event(t, "payment.succeeded", nil))
	f.mustHandle(t, event(t, "refund.completed", nil))
	if o := f.orders.m["ord_1001"]; o.Status != orders.PartiallyRefunded || o.RefundedTotal != 1500 {
		t.Errorf("order %+v", o)
	}
	if len(f.mailer.sent) != 2 {
		t.Fatalf("emails %d", len(f.mailer.sent))
	}
	e := f.mailer.sent[1]
	if e.Template != handlers.TemplateRefund || !strings.Contains(e.Text, "We refunded 15.00 USD") || !strings.Contains(e.HTML, "re_5Kf4Xd1SgN6vV3") ||
		!strings.Contains(e.Text, "Refunded so far: 15.00 USD") || e.To != "jane.doe@example.com" {
		t.Errorf("email %+v", e)
	}
	if len(f.pub.published) != 2 || f.pub.published[1].DetailType != handlers.DetailOrderRefunded {
		t.Fatalf("published %+v", f.pub.published)
	}
	var d handlers.Detail
	if err := json.Unmarshal(f.pub.published[1].Detail, &d); err != nil {
		t.Fatal(err)
	}
	if d.Refund == nil || d.Refund.RefundID != "re_5Kf4Xd1SgN6vV3" || d.Refund.Amount != 1500 || d.Order.RefundedTotal != 1500 || d.Order.RefundCount != 1 {
		t.Errorf("detail %+v", d)
	}
}

// secondRefund makes the refund event another refund of the same payment,
// created a day later.
func secondRefund(m map[string]any) {
	m["id"], m["created"] = "evt_refund_2", float64(1795968000)
	object(m)["id"], object(m)["amount"] = "re_second", 500
}

// TestNotifyRule covers the package doc's rule: each fact is told once, by
// the event that brought it, also when a retry after a crash finds the
// order already updated; never a duplicate, a stale fact or a second
// payment.
func TestNotifyRule(t *testing.T) {
	otherID := func(id string, created float64) func(m map[string]any) {
		return func(m map[string]any) { m["id"], m["created"] = id, created }
	}
	secondPayment := func(m map[string]any) {
		m["id"], m["created"] = "evt_pay_2", float64(1795795300)
		object(m)["id"], object(m)["created"] = "pay_second", float64(1795795290)
	}
	tests := []struct {
		name       string
		before     []process.Event // applied first, notices discarded
		retryOf    bool            // the event itself is in before: a retry after a crash
		after      []process.Event // applied after the event's first attempt, when retryOf
		ev         process.Event
		wantNotice bool
		wantNotes  []string
	}{
		{name: "retry of a payment after a crash", retryOf: true,
			ev: event(t, "payment.succeeded", nil), wantNotice: true},
		{name: "retry of a payment after a second payment", retryOf: true, after: []process.Event{event(t, "payment.succeeded", secondPayment)},
			ev: event(t, "payment.succeeded", nil), wantNotice: true},
		{name: "the same payment announced by another event", before: []process.Event{event(t, "payment.succeeded", nil)},
			ev: event(t, "payment.succeeded", otherID("evt_dup", 1795795100)), wantNotice: false},
		{name: "a second payment: a double charge", before: []process.Event{event(t, "payment.succeeded", nil)},
			ev: event(t, "payment.succeeded", secondPayment), wantNotice: false, wantNotes: []string{"OrderAnomaly/double_charge"}},
		{name: "stale failure after a success",
			before: []process.Event{event(t, "payment.succeeded", func(m map[string]any) { object(m)["metadata"] = map[string]any{"order_id": "ord_1002"} })},
			ev:     event(t, "payment.failed", nil), wantNotice: false},
		{name: "retry of a failure after a crash", retryOf: true,
			ev: event(t, "payment.failed", nil), wantNotice: true},
		{name: "retry of a refund after a crash", retryOf: true, before: []process.Event{event(t, "payment.succeeded", nil)},
			ev: event(t, "refund.completed", nil), wantNotice: true},
		{name: "duplicate refund under another event id", before: []process.Event{event(t, "payment.succeeded", nil), event(t, "refund.completed", nil)},
			ev: event(t, "refund.completed", otherID("evt_refund_dup", 1795881700)), wantNotice: false},
		{name: "an earlier event for a refund id another event applied", before: []process.Event{event(t, "payment.succeeded", nil), event(t, "refund.completed", otherID("evt_refund_late", 1795881700))},
			ev: event(t, "refund.completed", nil), wantNotice: false},
		{name: "retry of a refund after a later-created refund was applied", retryOf: true,
			before: []process.Event{event(t, "payment.succeeded", nil)},
			after:  []process.Event{event(t, "refund.completed", secondRefund)},
			ev:     event(t, "refund.completed", nil), wantNotice: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			before := tc.before
			if tc.retryOf {
				before = append(append(slices.Clone(before), tc.ev), tc.after...)
			}
			for _, ev := range before {
				f.mustHandle(t, ev)
			}
			f.mailer.sent, f.pub.published = nil, nil
			ev := tc.ev
			ev.Attempt = 2
			steps, err := f.handle(t, ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(f.mailer.sent) == 1 && len(f.pub.published) == 1; got != tc.wantNotice || len(f.pub.published) > 1 {
				t.Errorf("notice: want %v, got %d emails, %d events", tc.wantNotice, len(f.mailer.sent), len(f.pub.published))
			}
			want := []string{handlers.StepOrder}
			if tc.wantNotice {
				want = allSteps
			}
			if !slices.Equal(steps.Completed(), want) {
				t.Errorf("steps: want %v, got %v", want, steps.Completed())
			}
			if got := noteKinds(steps); !slices.Equal(got, tc.wantNotes) {
				t.Errorf("notes: want %v, got %v", tc.wantNotes, got)
			}
		})
	}
}

// TestAnomalousRefunds: a refund the order cannot vouch for is applied,
// kept, noted and published, and the customer gets no notice.
func TestAnomalousRefunds(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"an over-refund", func(m map[string]any) { object(m)["amount"] = 999999 }, "OrderAnomaly/over_refund"},
		{"a refund of another payment", func(m map[string]any) { object(m)["payment_id"] = "pay_not_this_order" }, "OrderAnomaly/foreign_refund"},
		{"a refund in another currency", func(m map[string]any) { object(m)["currency"] = "eur" }, "OrderAnomaly/currency_mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.mustHandle(t, event(t, "payment.succeeded", nil))
			f.mailer.sent, f.pub.published = nil, nil
			steps, err := f.handle(t, event(t, "refund.completed", tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.mailer.sent) != 0 || len(f.pub.published) != 1 {
				t.Errorf("%d emails, %d events; want none and one", len(f.mailer.sent), len(f.pub.published))
			}
			if got := noteKinds(steps); !slices.Equal(got, []string{tc.want}) {
				t.Errorf("notes %v, want %s", got, tc.want)
			}
			var d handlers.Detail
			if err := json.Unmarshal(f.pub.published[0].Detail, &d); err != nil || len(d.Order.Anomalies) != 1 {
				t.Errorf("detail anomalies %+v (%v)", d.Order.Anomalies, err)
			}
			if o := f.orders.m["ord_1001"]; o.RefundCount != 1 {
				t.Errorf("refund not kept: %+v", o)
			}
		})
	}
}

// TestCurrencyConflictKeepsThePayment is the regression test of the
// payment that failed when a refund in another currency came first: the
// payment is applied and told whatever the order of arrival.
func TestCurrencyConflictKeepsThePayment(t *testing.T) {
	eur := func(m map[string]any) { object(m)["currency"] = "eur" }
	for _, refundFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("refund first ", refundFirst), func(t *testing.T) {
			f := newFixture()
			evs := []process.Event{event(t, "payment.succeeded", nil), event(t, "refund.completed", eur)}
			if refundFirst {
				slices.Reverse(evs)
			}
			for _, ev := range evs {
				if _, err := f.handle(t, ev); err != nil {
					t.Fatalf("%s: %v", ev.Type, err)
				}
			}
			o := f.orders.m["ord_1001"]
			if o.Status != orders.Paid || o.RefundCount != 1 || len(o.Anomalies) != 1 || o.Anomalies[0].Kind != orders.CurrencyMismatch {
				t.Errorf("order %+v", o)
			}
			var paid int
			for _, de := range f.pub.published {
				if de.DetailType == handlers.DetailOrderPaid {
					paid++
				}
			}
			if paid != 1 || len(f.mailer.sent) != 1 || f.mailer.sent[0].Template != handlers.TemplatePaymentConfirmation {
				t.Errorf("%d OrderPaid, emails %+v", paid, f.mailer.sent)
			}
		})
	}
}

func TestResumeAfterCompletedSteps(t *testing.T) {
	f := newFixture()
	ev := event(t, "payment.succeeded", nil)
	f.mustHandle(t, ev)
	f.mailer.sent, f.pub.published = nil, nil
	f.orders.applyErr = errors.New("the order step must not run again")

	steps, err := f.handle(t, ev, handlers.StepOrder, handlers.StepEvent)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.mailer.sent) != 1 || len(f.pub.published) != 0 || f.orders.gets != 1 {
		t.Errorf("emails %d, events %d, order reads %d", len(f.mailer.sent), len(f.pub.published), f.orders.gets)
	}
	if !slices.Equal(steps.Completed(), allSteps) {
		t.Errorf("steps %v", steps.Completed())
	}
}

func TestStepFailures(t *testing.T) {
	errSES := errors.New("ses throttled")
	errEB := errors.New("eventbridge down")
	tests := []struct {
		name       string
		mailErr    error
		pubErr     error
		wantErr    error
		wantSteps  []string
		wantEvents int
	}{
		{"event fails: no email yet", nil, errEB, errEB, []string{handlers.StepOrder}, 0},
		{"email fails after the event", errSES, nil, errSES, []string{handlers.StepOrder, handlers.StepEvent}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.mailer.err, f.pub.err = tc.mailErr, tc.pubErr
			steps, err := f.handle(t, event(t, "payment.succeeded", nil))
			if !errors.Is(err, tc.wantErr) || errors.Is(err, process.ErrPermanent) {
				t.Fatalf("want transient %v, got %v", tc.wantErr, err)
			}
			if !slices.Equal(steps.Completed(), tc.wantSteps) || len(f.pub.published) != tc.wantEvents || len(f.mailer.sent) != 0 {
				t.Errorf("steps: want %v, got %v; %d events, %d emails", tc.wantSteps, steps.Completed(), len(f.pub.published), len(f.mailer.sent))
			}
		})
	}
}

// TestUndeliverableEmail is the regression test of the rejected email that
// blocked fulfilment: an email that can never be sent is noted on the
// event, the domain event is published, and the event succeeds, for all
// three handlers.
func TestUndeliverableEmail(t *testing.T) {
	for _, name := range []string{"payment.succeeded", "payment.failed", "refund.completed"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture()
			if name == "refund.completed" {
				f.mustHandle(t, event(t, "payment.succeeded", nil))
				f.pub.published = nil
			}
			f.mailer.err = fmt.Errorf("send: %w: MessageRejected", handlers.ErrUndeliverable)
			steps, err := f.handle(t, event(t, name, nil))
			if err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if !slices.Equal(steps.Completed(), allSteps) || len(f.pub.published) != 1 {
				t.Errorf("steps %v, %d events", steps.Completed(), len(f.pub.published))
			}
			notes := steps.Notes()
			if len(notes) != 1 || notes[0].Metric != handlers.MetricEmailUndeliverable || notes[0].Kind != handlers.KindEmailUndeliverable ||
				!strings.Contains(notes[0].Detail, "MessageRejected") {
				t.Errorf("notes %+v", notes)
			}
		})
	}
}

func TestPermanentFailures(t *testing.T) {
	tests := []struct {
		name    string
		ev      func(t *testing.T) process.Event
		wantErr error
	}{
		{"payment without order id", func(t *testing.T) process.Event {
			return event(t, "payment.succeeded", func(m map[string]any) { delete(object(m), "metadata") })
		}, process.ErrInvalidPayload},
		{"refund without order id", func(t *testing.T) process.Event {
			return event(t, "refund.completed", func(m map[string]any) { object(m)["metadata"] = map[string]any{"order_id": ""} })
		}, process.ErrInvalidPayload},
		{"payment object of the wrong shape", func(t *testing.T) process.Event {
			return event(t, "payment.failed", func(m map[string]any) { object(m)["amount"] = "lots" })
		}, process.ErrInvalidPayload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			_, err := f.handle(t, tc.ev(t))
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, process.ErrPermanent) {
				t.Fatalf("want permanent %v, got %v", tc.wantErr, err)
			}
			if len(f.mailer.sent) != 0 || len(f.pub.published) != 0 {
				t.Errorf("sent %d emails, %d events", len(f.mailer.sent), len(f.pub.published))
			}
		})
	}
}

func TestRefundBeforePaymentHasNoAddress(t *testing.T) {
	f := newFixture()
	steps, err := f.handle(t, event(t, "refund.completed", nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.mailer.sent) != 0 || len(f.pub.published) != 1 {
		t.Errorf("emails %d, events %d", len(f.mailer.sent), len(f.pub.published))
	}
	if !slices.Equal(steps.Completed(), allSteps) {
		t.Errorf("steps %v", steps.Completed())
	}
}

func TestRetryURL(t *testing.T) {
	tests := []struct{ tmpl, id, want string }{
		{"https://shop.example.com/orders/{order_id}/pay", "ord_1", "https://shop.example.com/orders/ord_1/pay"},
		{"", "ord 2/x", "https://shop.example.com/orders/ord%202%2Fx/pay"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.tmpl, tc.id), func(t *testing.T) {
			if got := handlers.RetryURL(tc.tmpl, tc.id); got != tc.want {
				t.Errorf("want %s, got %s", tc.want, got)
			}
		})
	}
}

func TestEmailHTMLIsEscaped(t *testing.T) {
	e := handlers.ConfirmationEmail(orders.Order{ID: "ord_<b>", CustomerName: "<script>x</script>", Amount: 100, Currency: "usd"})
	if strings.Contains(e.HTML, "<script>") || strings.Contains(e.HTML, "ord_<b>") {
		t.Errorf("HTML not escaped: %s", e.HTML)
	}
}

var fixedCreated = time.Unix(1795795200, 0).UTC()

// A refund applied before its payment could not be told (a refund carries no
// customer address); the payment's confirmation tells it.
func TestConfirmationTellsEarlierRefunds(t *testing.T) {
	tests := []struct {
		name     string
		refunded int64
		want     string
		wantNot  string
	}{
		{"no refund", 0, "We will let you know when it ships.", "refund"},
		{"refund before payment", 1500, "A refund of 15.00 USD has also been made on this order.", "ships"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := handlers.ConfirmationEmail(orders.Order{ID: "ord_1", Amount: 4999, Currency: "usd", RefundedTotal: tc.refunded})
			if !strings.Contains(e.Text, tc.want) || strings.Contains(e.Text, tc.wantNot) {
				t.Errorf("text %q: want %q and no %q", e.Text, tc.want, tc.wantNot)
			}
		})
	}
}
