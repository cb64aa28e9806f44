package callcounttest_test

// The cost budget of the design ("Cost: what one event may spend"), checked
// by counting what the real wiring asks of the SDK against moto_server:
// ingest makes one PutItem and one SendMessage per accepted event; the
// processor one claim and one final UpdateItem on the events table, one
// SendEmail and one PutEvents, and for a payment one UpdateItem on the
// orders table, for a refund one GetItem of the order and one
// TransactWriteItems of two writes (the order and the refund's own item,
// which keeps the order item bounded); every item written stays under 1 KB
// (one write request unit).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ingest/apigw"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/callcounttest"
)

const (
	secret       = "whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d"
	senderDomain = "shop.example.com"
)

// pipeline is both functions wired as their mains wire them, with every
// AWS client built from a counting configuration, over fresh resources.
type pipeline struct {
	plainDDB    *dynamodb.Client // uncounted: setup and reading back
	plainSQS    *sqs.Client
	eventsTable string
	ordersTable string
	queueURL    string
	ingest      *apigw.Handler
	ingestCalls *callcounttest.Counter
	processor   *processorapp.Handler
	procCalls   *callcounttest.Counter
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	p := &pipeline{
		plainDDB:    dynamodb.NewFromConfig(cfg),
		plainSQS:    sqs.NewFromConfig(cfg),
		eventsTable: motoserver.UniqueName(t, "events"),
		ordersTable: motoserver.UniqueName(t, "orders"),
	}
	if err := ddbevents.CreateTable(ctx, p.plainDDB, p.eventsTable); err != nil {
		t.Fatal(err)
	}
	if err := ddborders.CreateTable(ctx, p.plainDDB, p.ordersTable); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range []string{p.eventsTable, p.ordersTable, p.ordersTable + ddborders.RefundsTableSuffix} {
			_, _ = p.plainDDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})
	q := motoserver.UniqueName(t, "q")
	url, _, err := sqsqueue.CreateQueues(ctx, p.plainSQS, q, q+"-dlq", 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p.queueURL = url
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(senderDomain)}); err != nil {
		t.Fatal(err)
	}
	bus := motoserver.UniqueName(t, "bus")
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	quiet := slog.New(slog.DiscardHandler)

	// Ingest: exactly as functions/ingest builds it.
	icfg, err := ingestapp.Load(mapEnv(map[string]string{
		"EVENTS_TABLE": p.eventsTable, "QUEUE_URL": url, "WEBHOOK_SECRETS": secret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var ingestAWS aws.Config
	ingestAWS, p.ingestCalls = counted(cfg)
	if p.ingest, err = ingestapp.New(ctx, icfg, ingestAWS, quiet, io.Discard); err != nil {
		t.Fatal(err)
	}

	// Processor: exactly as functions/processor builds it, with SES and
	// EventBridge configured.
	pcfg, err := processorapp.Load(mapEnv(map[string]string{
		"EVENTS_TABLE": p.eventsTable, "ORDERS_TABLE": p.ordersTable,
		"SENDER_EMAIL": "orders@" + senderDomain, "EVENT_BUS_NAME": bus,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var procAWS aws.Config
	procAWS, p.procCalls = counted(cfg)
	p.processor = processorapp.New(pcfg, procAWS, quiet, io.Discard)
	return p
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// deliver signs body now and hands it to the ingest handler.
func (p *pipeline) deliver(t *testing.T, body []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /api/webhooks/payment", RawPath: "/api/webhooks/payment",
		Headers: map[string]string{
			"content-type":          "application/json",
			"x-altafinex-signature": signature.Sign([]byte(secret), time.Now(), body),
		},
		Body: string(body),
	}
	ev.RequestContext.RequestID = "req-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.SourceIP = "127.0.0.1"
	resp, err := p.ingest.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("ingest returned an error: %v", err)
	}
	return resp
}

// receive takes the queued messages (bounded) as Lambda's event source
// mapping would hand them to the processor.
func (p *pipeline) receive(t *testing.T, want int) []events.SQSMessage {
	t.Helper()
	var out []events.SQSMessage
	for range 20 {
		r, err := p.plainSQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(p.queueURL), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			out = append(out, lambdaRecord(m))
		}
		if len(out) >= want || len(r.Messages) == 0 {
			break
		}
	}
	if len(out) != want {
		t.Fatalf("%d messages on the queue, want %d", len(out), want)
	}
	return out
}

func lambdaRecord(m sqstypes.Message) events.SQSMessage {
	rec := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body: aws.ToString(m.Body), Attributes: m.Attributes,
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSource:       "aws:sqs", AWSRegion: motoserver.Region,
	}
	for k, a := range m.MessageAttributes {
		rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: a.StringValue, BinaryValue: a.BinaryValue, DataType: aws.ToString(a.DataType)}
	}
	return rec
}

// item reads an item back, uncounted.
func (p *pipeline) item(t *testing.T, table, keyName, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := p.plainDDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{keyName: &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Item) == 0 {
		t.Fatalf("no item %s in %s", key, table)
	}
	return out.Item
}

// refundItem reads back the refund item of the refund event body, uncounted.
func (p *pipeline) refundItem(t *testing.T, orderID string, body []byte) map[string]types.AttributeValue {
	t.Helper()
	var env struct {
		Data struct {
			Object struct {
				ID string `json:"id"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	out, err := p.plainDDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(p.ordersTable + ddborders.RefundsTableSuffix), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"order_id": &types.AttributeValueMemberS{Value: orderID}, "refund_id": &types.AttributeValueMemberS{Value: env.Data.Object.ID},
		},
	})
	if err != nil || len(out.Item) == 0 {
		t.Fatalf("refund item %s: %v", env.Data.Object.ID, err)
	}
	return out.Item
}

// expect compares counted calls with the budget.
func expect(t *testing.T, who string, c *callcounttest.Counter, want map[string]int) {
	t.Helper()
	total := 0
	for name, n := range want {
		total += n
		if got := c.Summary()[name]; got != n {
			t.Errorf("%s: %d × %s, want %d (all calls: %v)", who, got, name, n, c.Summary())
		}
	}
	if got := c.Total(); got != total {
		t.Errorf("%s: %d calls in all, want %d (all calls: %v)", who, got, total, c.Summary())
	}
}

// under1KB checks an item's size against one write request unit.
func under1KB(t *testing.T, what string, item map[string]types.AttributeValue) int {
	t.Helper()
	n := callcounttest.ItemSize(item)
	if n >= callcounttest.WriteUnitBytes {
		t.Errorf("%s item is %d bytes, want under %d (one write request unit)", what, n, callcounttest.WriteUnitBytes)
	}
	return n
}

// TestHappyPathBudget sends one event of each type (and a refund in two
// parts) through ingest and the processor, one at a time, and checks the
// calls each step makes and the size of every item written.
func TestHappyPathBudget(t *testing.T) {
	p := newPipeline(t)
	now := time.Now()
	order := testevents.NewID("ord_")
	payment := testevents.NewID("pay_")
	// Each event is created a second after the previous one: the orders
	// table orders events by their created time.
	payments := map[string]int{"DynamoDB.UpdateItem": 1}
	refunds := map[string]int{"DynamoDB.GetItem": 1, "DynamoDB.TransactWriteItems": 1}
	steps := []struct {
		name        string
		o           testevents.Options
		orderCalls  map[string]int // on the orders and refunds tables
		refundTable bool
	}{
		{"payment.succeeded", testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: payment}, payments, false},
		{"payment.failed", testevents.Options{Type: testevents.PaymentFailed, Order: testevents.NewID("ord_")}, payments, false},
		{"partial refund.completed", testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Amount: 1000}, refunds, true},
		{"final refund.completed", testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Amount: testevents.DefaultAmount - 1000}, refunds, true},
	}
	for i, step := range steps {
		o := step.o
		o.Created = now.Add(time.Duration(i-len(steps)) * time.Second)
		t.Run(step.name, func(t *testing.T) {
			ev, err := testevents.Build(o, now)
			if err != nil {
				t.Fatal(err)
			}

			p.ingestCalls.Reset()
			resp := p.deliver(t, ev.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("ingest answered %d %s", resp.StatusCode, resp.Body)
			}
			expect(t, "ingest", p.ingestCalls, map[string]int{"DynamoDB.PutItem": 1, "SQS.SendMessage": 1})
			if n := p.ingestCalls.Calls()[0].ItemBytes; n >= callcounttest.WriteUnitBytes {
				t.Errorf("ingest put an item of %d bytes", n)
			}
			received := under1KB(t, "events (RECEIVED)", p.item(t, p.eventsTable, "event_id", ev.ID))

			p.procCalls.Reset()
			recs := p.receive(t, 1)
			resp2, err := p.processor.Handle(context.Background(), events.SQSEvent{Records: recs})
			if err != nil || len(resp2.BatchItemFailures) != 0 {
				t.Fatalf("processor: %v, failures %v", err, resp2.BatchItemFailures)
			}
			want := map[string]int{"DynamoDB.UpdateItem": 2, "SESv2.SendEmail": 1, "EventBridge.PutEvents": 1}
			for k, v := range step.orderCalls {
				want[k] += v
			}
			expect(t, "processor", p.procCalls, want)
			if n := p.procCalls.CountOn("DynamoDB", "UpdateItem", p.eventsTable); n != 2 {
				t.Errorf("processor: %d UpdateItem on the events table, want 2 (claim, final status)", n)
			}
			if n, w := p.procCalls.CountOn("DynamoDB", "UpdateItem", p.ordersTable), step.orderCalls["DynamoDB.UpdateItem"]; n != w {
				t.Errorf("processor: %d UpdateItem on the orders table, want %d", n, w)
			}
			processed := under1KB(t, "events (PROCESSED)", p.item(t, p.eventsTable, "event_id", ev.ID))
			orderItem := under1KB(t, "orders", p.item(t, p.ordersTable, "order_id", o.Order))
			refundItem := 0
			if step.refundTable {
				refundItem = under1KB(t, "refunds", p.refundItem(t, o.Order, ev.Body))
			}
			t.Logf("item sizes: event RECEIVED %d B, PROCESSED %d B; order %d B; refund %d B", received, processed, orderItem, refundItem)
		})
	}
}

// TestIngestBudgetMany checks that the ingest budget holds per event over
// a run of distinct events, not only for the first.
func TestIngestBudgetMany(t *testing.T) {
	p := newPipeline(t)
	const n = 10
	for i := range n {
		ev, err := testevents.Build(testevents.Options{Type: testevents.Types()[i%3]}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if resp := p.deliver(t, ev.Body); resp.StatusCode != 200 {
			t.Fatalf("event %d: ingest answered %d %s", i, resp.StatusCode, resp.Body)
		}
	}
	expect(t, fmt.Sprintf("ingest of %d events", n), p.ingestCalls, map[string]int{"DynamoDB.PutItem": n, "SQS.SendMessage": n})
	for _, c := range p.ingestCalls.Calls() {
		if c.Operation == "PutItem" && (c.Table != p.eventsTable || c.ItemBytes >= callcounttest.WriteUnitBytes || c.ItemBytes == 0) {
			t.Errorf("PutItem on %q of %d bytes, want the events table and 1..1023 bytes", c.Table, c.ItemBytes)
		}
	}
}
