package sqsbatch_test

// Faults of the order step, injected at the processor's DynamoDB HTTP
// client (the wire answers DynamoDB gives), and orders the previous
// version of the store wrote: through the real tables, SES and EventBridge
// on moto_server, under the processor's policy from template.yaml.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// fault is what ddbFaults does with one request.
type fault int

const (
	pass       fault = iota // forward it, return the answer
	loseAnswer              // forward it, drop the answer: the connection reset
	refuse                  // do not forward it: the connection reset
	answer                  // do not forward it: answer with ddbFaults.body (HTTP 400)
)

// ddbFaults wraps the processor's DynamoDB HTTP client. rule decides, from
// the operation (UpdateItem, TransactWriteItems, …) and the request body,
// what happens to each request.
type ddbFaults struct {
	next aws.HTTPClient
	mu   sync.Mutex
	rule func(op string, body []byte) fault
	body string // the answer of the answer fault
}

func (f *ddbFaults) set(rule func(op string, body []byte) fault, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rule, f.body = rule, body
}

func (f *ddbFaults) Do(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndex(op, ".")+1:]
	f.mu.Lock()
	what, answerBody := pass, f.body
	if f.rule != nil {
		what = f.rule(op, body)
	}
	f.mu.Unlock()
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	switch what {
	case loseAnswer:
		resp, err := f.next.Do(r)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return nil, reset
	case refuse:
		return nil, reset
	case answer:
		return &http.Response{
			StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"injected"},
				"Content-Length": {strconv.Itoa(len(answerBody))}},
			Body: io.NopCloser(strings.NewReader(answerBody)), ContentLength: int64(len(answerBody)), Request: r,
		}, nil
	}
	return f.next.Do(r)
}

// newFaultyWired is newWired with faults injectable at the processor's
// DynamoDB client, and its metrics written to the returned buffer.
func newFaultyWired(t *testing.T) (*wired, *ddbFaults, *syncBuffer) {
	t.Helper()
	f := &ddbFaults{}
	w := newWiredWith(t, false, func(next aws.HTTPClient) aws.HTTPClient { f.next = next; return f })
	out := &syncBuffer{}
	w.handler.Metrics = &metrics.EMF{W: out, Namespace: "Test", Function: "processor"}
	return w, f, out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// handleOnce processes one record in a batch of its own and returns the
// ids of the records reported failed.
func (w *wired) handleOnce(t *testing.T, rec events.SQSMessage) []string {
	t.Helper()
	resp, err := w.handler.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil {
		t.Fatalf("Handle returned %v; it must stay nil", err)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func (w *wired) count(t *testing.T, detailType string) int {
	t.Helper()
	n := 0
	for _, d := range w.published(t) {
		if d.DetailType == detailType {
			n++
		}
	}
	return n
}

// canceled is DynamoDB's answer to a TransactWriteItems that it canceled
// for the reasons given, one per item, as the service sends it.
func canceled(reasons ...string) string {
	// The messages DynamoDB gives (types.TransactionCanceledException's doc).
	messages := map[string]string{
		"TransactionConflict": "Transaction is ongoing for the item.",
		"ThrottlingError":     "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly.",
	}
	var items []string
	for _, r := range reasons {
		if r == "None" {
			items = append(items, `{"Code":"None"}`)
			continue
		}
		items = append(items, `{"Code":"`+r+`","Message":"`+messages[r]+`"}`)
	}
	return `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
		`"CancellationReasons":[` + strings.Join(items, ",") + `],` +
		`"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [` + strings.Join(reasons, ", ") + `]"}`
}

// TestRefundTransactionCanceledForNowIsRetried: DynamoDB cancels a
// transaction whose item another transaction is writing at the same moment
// (reason TransactionConflict: two refunds of one order processed
// concurrently, or two events of one refund id), or that it throttles
// (ThrottlingError). Neither says anything about the refund: the same
// transaction succeeds a moment later. It must not be FAILED and
// acknowledged (a refund lost until an operator replays it): the record
// is RETRYING, and the message is reported failed (a conflict: SQS brings
// it back) or, throttled, deferred as processorapp wires the deferral
// (acknowledged, a delayed copy queued: a quota spends no receive).
func TestRefundTransactionCanceledForNowIsRetried(t *testing.T) {
	tests := []struct {
		name     string
		reasons  []string // refund item, order item
		deferred bool
	}{
		{"the order item in another transaction", []string{"None", "TransactionConflict"}, false},
		{"the refund item in another transaction", []string{"TransactionConflict", "None"}, false},
		{"the order item throttled", []string{"None", "ThrottlingError"}, true},
	}
	w, faults, _ := newFaultyWired(t)
	ctx := context.Background()
	url, _, err := sqsqueue.CreateQueues(ctx, w.sqs, motoserver.UniqueName(t, "q"), motoserver.UniqueName(t, "dlq"), 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.handler.Defer = &sqsbatch.QuotaDeferral{Queue: sqsqueue.New(w.sqs, url), IsThrottle: awserr.IsThrottle, Logger: slog.New(slog.DiscardHandler)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order := testevents.NewID("ord_")
			payment := "pay_" + order
			_, pay := w.event(t, testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: payment}, 5)
			w.deliver(t, pay)
			id, ref := w.event(t, testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Amount: 100}, 4)
			once := true
			faults.set(func(op string, body []byte) fault {
				if op == "TransactWriteItems" && bytes.Contains(body, []byte(order)) && once {
					once = false
					return answer
				}
				return pass
			}, canceled(tc.reasons...))
			failed := w.handleOnce(t, ref)
			faults.set(nil, "")
			r := w.record(t, id)
			wantFailed, wantCopies := []string{ref.MessageId}, 0
			if tc.deferred {
				wantFailed, wantCopies = []string{}, 1
			}
			if r.Status != eventrecord.Retrying || !slices.Equal(failed, wantFailed) {
				t.Fatalf("after a transaction canceled for %v: record %s (%q), batch failures %v; want RETRYING and batch failures %v",
					tc.reasons, r.Status, r.Error, failed, wantFailed)
			}
			if n := w.copies(t, url, id); n != wantCopies {
				t.Fatalf("after a transaction canceled for %v: %d delayed copies of the event queued, want %d", tc.reasons, n, wantCopies)
			}
			w.deliver(t, ref)
			o, err := w.orders.Get(context.Background(), order)
			if err != nil || o.RefundedTotal != 100 || o.RefundCount != 1 || o.Status != orders.PartiallyRefunded {
				t.Errorf("order %+v (%v), want PARTIALLY_REFUNDED by 100", o, err)
			}
			if n := w.count(t, handlers.DetailOrderRefunded); n != 1 {
				t.Errorf("%d OrderRefunded, want 1", n)
			}
		})
	}
}

// copies receives (and deletes) the messages of the queue at url, waiting
// a few seconds for a deferral's delay, and counts those of event id.
func (w *wired) copies(t *testing.T, url, id string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for wait := range 2 { // the copy is due in a second or two; then one more look
		out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: int32(3 - 2*wait), MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			if a, ok := m.MessageAttributes[eventrecord.AttrEventID]; ok && aws.ToString(a.StringValue) == id {
				n++
			}
			_, _ = w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	}
	return n
}

func (w *wired) record(t *testing.T, eventID string) eventrecord.Record {
	t.Helper()
	r, err := w.events.Get(context.Background(), eventID)
	if err != nil {
		t.Fatalf("event record %s: %v", eventID, err)
	}
	return r
}

// TestAnomalyOfALostOrderWriteIsCounted: the order write of an event that
// brings an anomaly lands, and its answer is lost (a connection reset after
// DynamoDB applied it). The SDK's retry of the UpdateItem (a payment), or
// the next delivery of the event (a refund, whose transaction the SDK could
// not reach again), finds the fact applied. The anomaly must still be
// noted on the event, counted (OrderAnomaly, which the alarm watches) and
// logged: DESIGN.md, "Each is kept on the order, logged, counted and
// alarmed", whatever the faults.
func TestAnomalyOfALostOrderWriteIsCounted(t *testing.T) {
	tests := []struct {
		name string
		// first is delivered without faults; second's order write loses
		// its answer.
		first, second func(order string) testevents.Options
		op            string
		write         string // a part of the request body of the write that lands
		after         fault  // what the requests after the lost one get
		want          orders.AnomalyKind
	}{
		{"a double charge, the SDK retries the UpdateItem",
			func(order string) testevents.Options {
				return testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_a" + order}
			},
			func(order string) testevents.Options {
				return testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_b" + order}
			},
			// The fast path's write is refused (the order is paid); the
			// versioned write that follows lands.
			"UpdateItem", "#version = :v", pass, orders.DoubleCharge},
		{"an over-refund, the event is delivered again",
			func(order string) testevents.Options {
				return testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order}
			},
			func(order string) testevents.Options {
				return testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: "pay_" + order, Amount: 999999}
			},
			"TransactWriteItems", "", refuse, orders.OverRefund},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, faults, out := newFaultyWired(t)
			order := testevents.NewID("ord_")
			_, first := w.event(t, tc.first(order), 5)
			w.deliver(t, first)
			id, second := w.event(t, tc.second(order), 4)
			lost := false
			faults.set(func(op string, body []byte) fault {
				if op != tc.op || !bytes.Contains(body, []byte(`"`+w.table+`"`)) || !bytes.Contains(body, []byte(order)) {
					return pass
				}
				if !lost && !bytes.Contains(body, []byte(tc.write)) {
					return pass
				}
				if !lost {
					lost = true
					return loseAnswer
				}
				return tc.after
			}, "")
			if failed := w.handleOnce(t, second); len(failed) > 0 {
				faults.set(nil, "")
				w.deliver(t, second) // the next delivery
			}
			faults.set(nil, "")
			if !lost {
				t.Fatal("no order write was made: the fault was not injected")
			}
			r := w.record(t, id)
			if r.Status != eventrecord.Processed {
				t.Fatalf("record %s (%q), want PROCESSED", r.Status, r.Error)
			}
			o, err := w.orders.Get(context.Background(), order)
			if err != nil {
				t.Fatal(err)
			}
			if _, held := o.Anomaly(tc.want); !held {
				t.Fatalf("the order does not hold %s: %+v", tc.want, o.Anomalies)
			}
			noted := slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, string(tc.want)+": ") })
			counted := strings.Contains(out.String(), `"OrderAnomaly":1`) && strings.Contains(out.String(), `"Kind":"`+string(tc.want)+`"`)
			if !noted || !counted {
				t.Errorf("the order holds %s, which event %s brought, but the event's notes are %q and the anomaly was counted: %v (metrics %s)",
					tc.want, id, r.Notes, counted, out.String())
			}
		})
	}
}

// oldItem is the orders item the previous version of ddborders (commit
// 982bdbf, before the refunds table) wrote for an order paid 4,999 by
// payment paymentID (event payEvent) and refunded 1,000 by refund re_1
// (event refundEvent): the refunds in a map, no payments list, no sums.
func oldItem(order, paymentID, payEvent, refundEvent string, paid, refunded time.Time) map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	return map[string]types.AttributeValue{
		"order_id": s(order), "status": s("PARTIALLY_REFUNDED"), "amount": n(4999), "currency": s("usd"),
		"payment_id": s(paymentID), "payment_event_id": s(payEvent),
		"customer_email": s("test.customer@example.com"), "customer_name": s("Test Customer"),
		"paid_at_ms": n(paid.UnixMilli()),
		"refunds": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"re_1": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"amount": n(1000), "event_id": s(refundEvent), "event_created_ms": n(refunded.UnixMilli()),
			}},
		}},
		"refunded_total": n(1000), "remaining": n(3999),
		"last_event_id": s(refundEvent), "last_event_created_ms": n(refunded.UnixMilli()),
		"created_at_ms": n(paid.UnixMilli()), "updated_at_ms": n(refunded.UnixMilli()),
		"event_ids": &types.AttributeValueMemberL{Value: []types.AttributeValue{s(payEvent), s(refundEvent)}},
		"version":   n(2),
	}
}

// oldRefundFirstItem is the item the previous version wrote for an order
// whose refund re_1 of 1,000 (event refundEvent) arrived before its payment.
func oldRefundFirstItem(order, refundEvent string, refunded time.Time) map[string]types.AttributeValue {
	item := oldItem(order, "", "", refundEvent, refunded, refunded)
	for _, attr := range []string{"paid_at_ms", "remaining"} {
		delete(item, attr)
	}
	item["status"] = &types.AttributeValueMemberS{Value: "REFUND_RECEIVED"}
	item["amount"] = &types.AttributeValueMemberN{Value: "0"}
	item["customer_email"], item["customer_name"] = &types.AttributeValueMemberS{}, &types.AttributeValueMemberS{}
	item["event_ids"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: refundEvent}}}
	item["version"] = &types.AttributeValueMemberN{Value: "1"}
	return item
}

// TestOrderWrittenByThePreviousVersion: after an update of the stack, the
// orders table holds the items the previous version wrote. An event for
// such an order must follow the same rules: the same payment announced
// again changes nothing and tells no one; a refund id the order holds adds
// nothing; a new refund adds to the refunds the order holds.
func TestOrderWrittenByThePreviousVersion(t *testing.T) {
	tests := []struct {
		name          string
		refundFirst   bool // the old item holds a refund received before its payment
		event         func(order, payment string) testevents.Options
		wantStatus    orders.Status
		wantRefunded  int64
		wantPublished int // domain events
		wantEmails    int
	}{
		{"the payment announced again", false,
			func(order, payment string) testevents.Options {
				return testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: payment}
			}, orders.PartiallyRefunded, 1000, 0, 0},
		{"the refund announced again", false,
			func(order, payment string) testevents.Options {
				return testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Refund: "re_1", Amount: 1000}
			}, orders.PartiallyRefunded, 1000, 0, 0},
		{"a new refund", false,
			func(order, payment string) testevents.Options {
				return testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Refund: "re_2", Amount: 500}
			}, orders.PartiallyRefunded, 1500, 1, 1},
		{"the payment of a refund received before it", true,
			func(order, payment string) testevents.Options {
				return testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: payment}
			}, orders.PartiallyRefunded, 1000, 1, 1},
	}
	w := newWired(t, false)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order := testevents.NewID("ord_")
			payment := "pay_" + order
			item := oldItem(order, payment, testevents.NewID("evt_"), testevents.NewID("evt_"),
				w.now.Add(-time.Hour), w.now.Add(-30*time.Minute))
			if tc.refundFirst {
				item = oldRefundFirstItem(order, testevents.NewID("evt_"), w.now.Add(-30*time.Minute))
			}
			if _, err := w.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(w.table), Item: item}); err != nil {
				t.Fatal(err)
			}
			id, rec := w.event(t, tc.event(order, payment), 1)
			w.deliver(t, rec)
			if r := w.record(t, id); r.Status != eventrecord.Processed {
				t.Errorf("record %s (%q)", r.Status, r.Error)
			}
			o, err := w.orders.Get(context.Background(), order)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != tc.wantStatus || o.RefundedTotal != tc.wantRefunded || o.PaymentID != payment {
				t.Errorf("order %s, refunded %d, payment %s; want %s, refunded %d, payment %s",
					o.Status, o.RefundedTotal, o.PaymentID, tc.wantStatus, tc.wantRefunded, payment)
			}
			if n := len(w.published(t)); n != tc.wantPublished {
				t.Errorf("%d domain events published, want %d", n, tc.wantPublished)
			}
			if n := w.mailer.count(order); n != tc.wantEmails {
				t.Errorf("%d emails sent, want %d", n, tc.wantEmails)
			}
		})
	}
}

// TestEveryAnomalousEventIsCounted: a third payment on an order already
// charged twice is one more charge to refund, and a refund of yet another
// payment one more refund the order cannot vouch for. Each is an anomaly
// the event brought (DESIGN.md: "Each is kept on the order, logged,
// counted and alarmed"); the alarm watches the count, so an event that
// brings one must count it, whether or not the order held one of its kind
// already (the first may be days old, its alarm long back to OK).
func TestEveryAnomalousEventIsCounted(t *testing.T) {
	tests := []struct {
		name   string
		events func(order string) []testevents.Options
		want   orders.AnomalyKind
		count  int // events that bring the anomaly
	}{
		{"three payments", func(order string) []testevents.Options {
			return []testevents.Options{
				{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_a" + order},
				{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_b" + order},
				{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_c" + order},
			}
		}, orders.DoubleCharge, 2},
		{"refunds of two other payments", func(order string) []testevents.Options {
			return []testevents.Options{
				{Type: testevents.PaymentSucceeded, Order: order, Payment: "pay_" + order},
				{Type: testevents.RefundCompleted, Order: order, Payment: "pay_x" + order, Amount: 100},
				{Type: testevents.RefundCompleted, Order: order, Payment: "pay_y" + order, Amount: 200},
			}
		}, orders.ForeignRefund, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, _, out := newFaultyWired(t)
			order := testevents.NewID("ord_")
			var ids []string
			evs := tc.events(order)
			for i, o := range evs {
				id, rec := w.event(t, o, len(evs)-i)
				w.deliver(t, rec)
				ids = append(ids, id)
			}
			counted := strings.Count(out.String(), `"Kind":"`+string(tc.want)+`","OrderAnomaly":1`)
			var noted []string
			for _, id := range ids {
				if slices.ContainsFunc(w.record(t, id).Notes, func(n string) bool { return strings.HasPrefix(n, string(tc.want)+": ") }) {
					noted = append(noted, id)
				}
			}
			if counted != tc.count || len(noted) != tc.count {
				t.Errorf("%d events brought %s; it was counted %d times, noted on %d events (%v)", tc.count, tc.want, counted, len(noted), noted)
			}
		})
	}
}
