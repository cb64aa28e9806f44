package sqsbatch_test

// The processor's handler against moto_server with the real SES and
// EventBridge adapters, and an EventBridge rule that delivers every domain
// event to an SQS queue, read back to see what fulfilment would have seen.

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/testkit/bustest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// wired is the processor as processorapp wires it (real tables, SES and
// EventBridge adapters), with the bus's events delivered to a queue.
type wired struct {
	handler  *sqsbatch.Handler
	events   *ddbevents.Table
	orders   *ddborders.Store
	ddb      *dynamodb.Client // the set-up's client
	table    string           // the orders table
	sqs      *sqs.Client
	busQueue string
	mailer   *recordingMailer
	pub      *recordingPublisher
	now      time.Time
}

// newWired builds the processor; the SES sender's domain is verified
// unless rejectEmails, when SES answers every email MessageRejected (as it
// does in its sandbox for every recipient not verified).
func newWired(t *testing.T, rejectEmails bool) *wired {
	t.Helper()
	return newWiredWith(t, rejectEmails, nil)
}

// newWiredWith is newWired with the processor's DynamoDB HTTP client
// wrapped by wrapDDB (when not nil), for tests that inject faults.
func newWiredWith(t *testing.T, rejectEmails bool, wrapDDB func(aws.HTTPClient) aws.HTTPClient) *wired {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	ddb := dynamodb.NewFromConfig(cfg)
	eventsTable, ordersTable := motoserver.UniqueName(t, "events"), motoserver.UniqueName(t, "orders")
	if err := ddbevents.CreateTable(ctx, ddb, eventsTable); err != nil {
		t.Fatal(err)
	}
	if err := ddborders.CreateTable(ctx, ddb, ordersTable); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range []string{eventsTable, ordersTable, ordersTable + ddborders.RefundsTableSuffix} {
			_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})
	domain := strings.ToLower(motoserver.UniqueName(t, "shop")) + ".example.com"
	if !rejectEmails {
		if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)}); err != nil {
			t.Fatal(err)
		}
	}
	w := &wired{events: ddbevents.New(ddb, eventsTable), orders: ddborders.New(ddb, ordersTable), ddb: ddb, table: ordersTable,
		sqs: sqs.NewFromConfig(cfg), now: time.Now()}
	w.busQueue = bustest.ToQueue(t, context.Background(), eventbridge.NewFromConfig(cfg), w.sqs, motoserver.UniqueName(t, "bus"))
	// The processor's clients carry its policy from template.yaml; the
	// test's own reads use the set-up's keys.
	sender := "orders@" + domain
	env := map[string]string{"EVENTS_TABLE": eventsTable, "ORDERS_TABLE": ordersTable, "REFUNDS_TABLE": ordersTable + ddborders.RefundsTableSuffix,
		"SENDER_EMAIL": sender, "EVENT_BUS_NAME": w.bus(t)}
	fnCfg := iamtest.Function(t, "ProcessorFunction", func(k string) string { return env[k] }).Config(t)
	fnDDB := dynamodb.NewFromConfig(fnCfg, func(o *dynamodb.Options) {
		if wrapDDB != nil {
			o.HTTPClient = wrapDDB(o.HTTPClient)
		}
	})
	w.mailer = &recordingMailer{next: sesmail.New(sesv2.NewFromConfig(fnCfg), sender), sent: map[string]int{}}
	w.pub = &recordingPublisher{next: ebpublish.New(eventbridge.NewFromConfig(fnCfg), w.bus(t)), published: map[string]int{}}
	quiet := slog.New(slog.DiscardHandler)
	proc := &process.Processor{
		Events: ddbevents.New(fnDDB, eventsTable),
		Handlers: handlers.Default(handlers.Deps{
			Orders: ddborders.New(fnDDB, ordersTable), Mailer: w.mailer, Publisher: w.pub, Logger: quiet,
		}),
		IsPermanent: awserr.IsPermanent,
		Logger:      quiet,
	}
	w.handler = sqsbatch.New(proc, quiet)
	return w
}

// bus returns the bus's name: the bus's queue is called bus+"-out"
// (bustest.ToQueue).
func (w *wired) bus(t *testing.T) string {
	t.Helper()
	return strings.TrimSuffix(w.busQueue[strings.LastIndex(w.busQueue, "/")+1:], "-out")
}

// delivered is one domain event as the rule delivered it.
type delivered struct {
	DetailType string          `json:"detail-type"`
	Detail     handlers.Detail `json:"detail"`
}

// published drains the bus's queue.
func (w *wired) published(t *testing.T) []delivered {
	t.Helper()
	var out []delivered
	for range 100 {
		resp, err := w.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(w.busQueue), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Messages) == 0 {
			return out
		}
		for _, m := range resp.Messages {
			var d delivered
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &d); err != nil {
				t.Fatalf("delivered event %s: %v", aws.ToString(m.Body), err)
			}
			out = append(out, d)
			if _, err := w.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(w.busQueue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("the bus's queue did not drain")
	return nil
}

// event builds one event of an order's story, created min minutes ago.
func (w *wired) event(t *testing.T, o testevents.Options, min int) (string, events.SQSMessage) {
	t.Helper()
	o.Created = w.now.Add(-time.Duration(min) * time.Minute)
	ev, err := testevents.Build(o, w.now)
	if err != nil {
		t.Fatal(err)
	}
	return ev.ID, record("m-"+ev.ID, ev.ID, ev.Type, ev.Body)
}

// deliver processes each record in its own batch, in order; every one must
// be acknowledged.
func (w *wired) deliver(t *testing.T, recs ...events.SQSMessage) {
	t.Helper()
	for _, r := range recs {
		resp, err := w.handler.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{r}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("event %s: %v, failures %v", aws.ToString(r.MessageAttributes[eventrecord.AttrEventID].StringValue), err, resp.BatchItemFailures)
		}
	}
}

// TestRejectedEmailDoesNotBlockFulfilment is the regression test of the
// permanent SES error that ended the event FAILED with the order PAID and
// no OrderPaid: SES (moto) answers MessageRejected, the event is PROCESSED
// with the failure noted on its record, and OrderPaid reaches the bus.
func TestRejectedEmailDoesNotBlockFulfilment(t *testing.T) {
	w := newWired(t, true)
	order := testevents.NewID("ord_")
	id, rec := w.event(t, testevents.Options{Type: testevents.PaymentSucceeded, Order: order}, 1)
	w.deliver(t, rec)
	r, err := w.events.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantRecord(t, r, eventrecord.Processed, allSteps)
	if len(r.Notes) != 1 || !strings.HasPrefix(r.Notes[0], handlers.KindEmailUndeliverable+": ") || !strings.Contains(r.Notes[0], "MessageRejected") ||
		strings.Contains(r.Notes[0], "test.customer") {
		t.Errorf("notes %q", r.Notes)
	}
	if o, err := w.orders.Get(context.Background(), order); err != nil || o.Status != orders.Paid {
		t.Errorf("order %+v (%v)", o, err)
	}
	got := w.published(t)
	if len(got) != 1 || got[0].DetailType != handlers.DetailOrderPaid || got[0].Detail.SourceEventID != id {
		t.Errorf("published %+v", got)
	}
}

// TestEachFactToldOnce is the regression test of one payment announced twice
// (two emails, two OrderPaid), of the currency conflict whose outcome
// depended on the arrival order, and of over-refunds and foreign refunds
// applied silently: through the real tables, SES and EventBridge.
func TestEachFactToldOnce(t *testing.T) {
	type step struct {
		o   testevents.Options
		min int // created this many minutes ago
	}
	tests := []struct {
		name       string
		steps      func(order string) []step
		wantStatus orders.Status
		wantKinds  []orders.AnomalyKind
		wantTypes  []string // detail types published, sorted
		wantEmails int
	}{
		{"one payment announced twice", func(order string) []step {
			p := testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order, ObjectCreated: time.Unix(1795795000, 0)}
			return []step{{p, 5}, {p, 4}}
		}, orders.Paid, nil, []string{handlers.DetailOrderPaid}, 1},
		{"two payments: a double charge", func(order string) []step {
			return []step{
				{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_a" + order}, 5},
				{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_b" + order}, 4},
			}
		}, orders.Paid, []orders.AnomalyKind{orders.DoubleCharge}, []string{handlers.DetailOrderPaid}, 1},
		{"a refund in another currency, before its payment", func(order string) []step {
			return []step{
				{testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_" + order, Currency: "eur", Amount: 500}, 4},
				{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}, 5},
			}
		}, orders.Paid, []orders.AnomalyKind{orders.CurrencyMismatch}, []string{handlers.DetailOrderPaid, handlers.DetailOrderRefunded}, 1},
		{"a refund in another currency, after its payment", func(order string) []step {
			return []step{
				{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}, 5},
				{testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_" + order, Currency: "eur", Amount: 500}, 4},
			}
		}, orders.Paid, []orders.AnomalyKind{orders.CurrencyMismatch}, []string{handlers.DetailOrderPaid, handlers.DetailOrderRefunded}, 1},
		{"an over-refund", func(order string) []step {
			return []step{
				{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}, 5},
				{testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_" + order, Amount: 999999}, 4},
			}
		}, orders.Refunded, []orders.AnomalyKind{orders.OverRefund}, []string{handlers.DetailOrderPaid, handlers.DetailOrderRefunded}, 1},
		{"a refund of another payment", func(order string) []step {
			return []step{
				{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}, 5},
				{testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_elsewhere", Amount: 100}, 4},
			}
		}, orders.Paid, []orders.AnomalyKind{orders.ForeignRefund}, []string{handlers.DetailOrderPaid, handlers.DetailOrderRefunded}, 1},
		{"a refund announced twice", func(order string) []step {
			r := testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_" + order, Refund: "re_" + order, Amount: 100}
			return []step{{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}, 5}, {r, 4}, {r, 3}}
		}, orders.PartiallyRefunded, nil, []string{handlers.DetailOrderPaid, handlers.DetailOrderRefunded}, 2},
		// One refund id, two amounts: the earlier-created announcement
		// counts whatever the arrival order; the refund is told once, by
		// the event that applied it first.
		{"one refund id, two amounts, the earlier-created first", func(order string) []step {
			r := testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_" + order, Refund: "re_" + order, Amount: 100}
			full := r
			full.Amount = 4999
			return []step{{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}, 5}, {r, 4}, {full, 3}}
		}, orders.PartiallyRefunded, []orders.AnomalyKind{orders.RefundConflict}, []string{handlers.DetailOrderPaid, handlers.DetailOrderRefunded}, 2},
		{"one refund id, two amounts, the later-created first", func(order string) []step {
			r := testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_" + order, Refund: "re_" + order, Amount: 100}
			full := r
			full.Amount = 4999
			return []step{{testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}, 5}, {full, 3}, {r, 4}}
		}, orders.PartiallyRefunded, []orders.AnomalyKind{orders.RefundConflict}, []string{handlers.DetailOrderPaid, handlers.DetailOrderRefunded}, 2},
	}
	w := newWired(t, false)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order := testevents.NewID("ord_")
			var ids []string
			for _, s := range tc.steps(order) {
				id, rec := w.event(t, s.o, s.min)
				w.deliver(t, rec)
				ids = append(ids, id)
			}
			for _, id := range ids {
				if r, err := w.events.Get(context.Background(), id); err != nil || r.Status != eventrecord.Processed {
					t.Errorf("event %s: %s %q (%v)", id, r.Status, r.Error, err)
				}
			}
			o, err := w.orders.Get(context.Background(), order)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []orders.AnomalyKind
			for _, a := range o.Anomalies {
				kinds = append(kinds, a.Kind)
			}
			if o.Status != tc.wantStatus || !slices.Equal(kinds, tc.wantKinds) {
				t.Errorf("order %s with anomalies %v, want %s with %v", o.Status, kinds, tc.wantStatus, tc.wantKinds)
			}
			var types []string
			for _, d := range w.published(t) {
				types = append(types, d.DetailType)
			}
			slices.Sort(types)
			if !slices.Equal(types, tc.wantTypes) {
				t.Errorf("published %v, want %v", types, tc.wantTypes)
			}
			if n := w.mailer.count(order); n != tc.wantEmails {
				t.Errorf("%d emails, want %d", n, tc.wantEmails)
			}
		})
	}
}

// TestRefundRetryResumesAtTheEmail: a refund whose notice failed for now
// is retried; the retry reads the order and the refund back (it does not
// apply the refund again) and sends the notice once.
func TestRefundRetryResumesAtTheEmail(t *testing.T) {
	w := newWired(t, false)
	order := testevents.NewID("ord_")
	payment := "pay_" + order
	_, pay := w.event(t, testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: payment}, 5)
	w.deliver(t, pay)
	id, ref := w.event(t, testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Amount: 100}, 4)
	w.mailer.setFail(func(e handlers.Email) error {
		if e.Template == handlers.TemplateRefund {
			return throttled()
		}
		return nil
	})
	resp, err := w.handler.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{ref}})
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("first attempt: %v, failures %v", err, resp.BatchItemFailures)
	}
	r, err := w.events.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantRecord(t, r, eventrecord.Retrying, []string{handlers.StepOrder, handlers.StepEvent})
	w.mailer.setFail(nil)
	w.deliver(t, ref)
	if r, err = w.events.Get(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	wantRecord(t, r, eventrecord.Processed, allSteps)
	o, err := w.orders.Get(context.Background(), order)
	if err != nil || o.RefundCount != 1 || o.RefundedTotal != 100 {
		t.Errorf("order %+v (%v)", o, err)
	}
	if n := w.mailer.count(order); n != 2 {
		t.Errorf("%d emails, want the confirmation and one refund notice", n)
	}
	var refunded int
	for _, d := range w.published(t) {
		if d.DetailType == handlers.DetailOrderRefunded {
			refunded++
		}
	}
	if refunded != 1 {
		t.Errorf("%d OrderRefunded, want 1", refunded)
	}
}
