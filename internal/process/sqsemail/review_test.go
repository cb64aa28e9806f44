package sqsemail_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

const testHash = "9f3c0000000000000000000000000000000000000000000000000000000000aa"

// stack is the email path's real parts on moto_server: the events table
// (the email's delivery record) and the email queue.
type stack struct {
	table    *ddbevents.Table
	sqs      *sqs.Client
	queueURL string
	queueARN string
	queue    *sqsemail.Queue
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	ddb := dynamodb.NewFromConfig(cfg)
	name := motoserver.UniqueName(t, "events")
	if err := ddbevents.CreateTable(ctx, ddb, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	sc := sqs.NewFromConfig(cfg)
	q, err := sc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(motoserver.UniqueName(t, "email"))})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	t.Cleanup(func() { _, _ = sc.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	attrs, err := sc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return &stack{table: ddbevents.New(ddb, name), sqs: sc, queueURL: *q.QueueUrl, queueARN: attrs.Attributes[string(types.QueueAttributeNameQueueArn)],
		queue: sqsemail.New(sc, *q.QueueUrl)}
}

// processed writes the record of an event the processor has processed,
// through the table's own writes (ingest's reserve, the processor's claim
// and finish).
func (s *stack) processed(t *testing.T, id string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	rec := eventrecord.Record{EventID: id, Status: eventrecord.Received, Type: "payment.succeeded", Created: now.Add(-time.Minute),
		Livemode: true, PayloadHash: testHash, Token: "ingest", LeaseUntil: now.Add(30 * time.Second), ExpiresAt: now.Add(30 * 24 * time.Hour),
		ReceivedAt: now, UpdatedAt: now}
	if err := s.table.Reserve(ctx, rec, now); err != nil {
		t.Fatalf("reserve: %v", err)
	}
	rec.Status, rec.Token, rec.LeaseUntil = eventrecord.Processing, "proc", now.Add(2*time.Minute)
	if _, err := s.table.Claim(ctx, rec, now); err != nil {
		t.Fatalf("claim: %v", err)
	}
	rec.Status, rec.Steps = eventrecord.Processed, []string{"order", "event", "email"}
	if err := s.table.Finish(ctx, rec, now); err != nil {
		t.Fatalf("finish: %v", err)
	}
}

// receiveAll waits (bounded) for n messages of the email queue and
// returns them as Lambda's SQS event records, without deleting them.
func (s *stack) receive(t *testing.T, n int) []events.SQSMessage {
	t.Helper()
	ctx := context.Background()
	var out []events.SQSMessage
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		got, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queueURL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Messages {
			attrs := map[string]events.SQSMessageAttribute{}
			for k, v := range m.MessageAttributes {
				attrs[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
			}
			out = append(out, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), MessageAttributes: attrs, EventSourceARN: s.queueARN, EventSource: "aws:sqs"})
		}
	}
	if len(out) != n {
		t.Fatalf("received %d messages from the email queue, want %d", len(out), n)
	}
	return out
}

// ses counts the emails SES accepted; throttleFirst makes SES throttle the
// first n sends (ThrottlingException, as SES answers above its rate);
// hold, when set, is called before each accepted send.
type ses struct {
	mu            sync.Mutex
	calls         int
	throttleFirst int
	sent          map[string]int // event id -> emails accepted
	hold          func()
}

func (m *ses) Send(_ context.Context, e handlers.Email) error {
	m.mu.Lock()
	m.calls++
	if m.calls <= m.throttleFirst {
		m.mu.Unlock()
		return fmt.Errorf("send email: %w", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Maximum sending rate exceeded."})
	}
	hold := m.hold
	m.mu.Unlock()
	if hold != nil {
		hold()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent[e.EventID]++
	return nil
}

// countingDeliveries counts the claims the events table granted.
type countingDeliveries struct {
	emailjob.Deliveries
	granted atomic.Int32
}

func (c *countingDeliveries) ClaimEmail(ctx context.Context, id, template, token string, lease, now time.Time) error {
	err := c.Deliveries.ClaimEmail(ctx, id, template, token, lease, now)
	if err == nil {
		c.granted.Add(1)
	}
	return err
}

func newSender(d emailjob.Deliveries, m handlers.Mailer, q emailjob.Queue) *emailjob.Sender {
	return &emailjob.Sender{Deliveries: d, Mailer: m, Queue: q, Rate: 50, DeferBase: time.Second,
		IsThrottle: awserr.IsThrottle, IsPermanent: awserr.IsPermanent, Logger: slog.New(slog.DiscardHandler)}
}

// DESIGN: "each customer email sent once in effect"; emailjob's own doc:
// "SQS can deliver one [job] twice ... the claim makes the second copy see
// the first (SENT: acknowledged; SENDING under a live lease: deferred)".
//
// A job SES throttled is deferred: queued again carrying its claim's
// token. SQS delivers at least once (and the SDK's retry of a SendMessage
// whose answer was lost queues it twice), so two copies of that deferred
// message can reach two senders (the email mapping runs two) at once.
// Both present the same token, ClaimEmail grants a claim to a token that
// holds it already, and both send: the customer gets the email twice.
// Everything here is real (events table and email queue on moto_server,
// the production Sender and Handler) except SES, which counts.
func TestDeferredJobDeliveredTwiceIsSentOnce(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := time.Now().UTC()
	s.processed(t, "evt_dup", now)
	if err := s.queue.Send(ctx, handlers.Email{To: "buyer@example.org", Subject: "Thanks", Text: "paid", Template: "payment_confirmation",
		OrderID: "ord_1", EventID: "evt_dup"}); err != nil {
		t.Fatalf("the email step's queuing: %v", err)
	}

	mail := &ses{throttleFirst: 1, sent: map[string]int{}}
	deliveries := &countingDeliveries{Deliveries: s.table}

	// First delivery: SES throttles, the job is deferred (queued again
	// with its token) and the original acknowledged.
	first := s.receive(t, 1)
	resp, err := sqsemail.NewHandler(newSender(deliveries, mail, s.queue), nil).Handle(ctx, events.SQSEvent{Records: first})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("first delivery: %+v, %v; want the job deferred and acknowledged", resp, err)
	}
	_, _ = s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queueURL), ReceiptHandle: aws.String(first[0].ReceiptHandle)})

	// The deferred job, delivered twice (at-least-once): each copy to a
	// sender of its own, at the same time. SES holds each accepted send
	// until both senders have had their claim answered (bounded), as two
	// concurrent senders see it.
	deferred := s.receive(t, 1)[0]
	mail.hold = func() {
		for end := time.Now().Add(3 * time.Second); deliveries.granted.Load() < 3 && time.Now().Before(end); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copyOf := deferred
			copyOf.MessageId = fmt.Sprint(deferred.MessageId, "-copy", i)
			h := sqsemail.NewHandler(newSender(deliveries, mail, s.queue), nil)
			if _, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{copyOf}}); err != nil {
				t.Errorf("copy %d: %v", i, err)
			}
		}()
	}
	wg.Wait()

	mail.mu.Lock()
	sent := mail.sent["evt_dup"]
	mail.mu.Unlock()
	if sent != 1 {
		t.Errorf("SES accepted %d emails for event evt_dup, want 1: two copies of one deferred job both claimed the email under its token and both sent", sent)
	}
	rec, err := s.table.Get(ctx, "evt_dup")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("email delivery on the record: %+v", rec.Email)
}

// DESIGN, ingest 1: "The largest limit the configuration accepts is one
// that every path can carry"; Orders: "Fulfilment never depends on the
// email: an email that can never be sent ... is recorded on the event,
// counted and alarmed". Before the email queue, the email step handed the
// email to SES (up to 40 MB a message); now it is a job on an SQS queue
// (at most 1 MiB a message, base64 of JSON of the text and the escaped
// HTML). A payment within ingest's default 256 KiB body whose customer
// name is long and HTML-escaped (an apostrophe becomes &#39;) yields a
// confirmation email whose job no SQS queue takes, even one set to SQS's
// largest message size: the email step fails, with a client error
// (classified permanent), for an email SES would have sent.
func TestPaymentWithinTheBodyLimitCanQueueItsEmail(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	if _, err := s.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(s.queueURL),
		Attributes: map[string]string{string(types.QueueAttributeNameMaximumMessageSize): "1048576"}}); err != nil {
		t.Fatalf("raise the queue's message size to SQS's largest: %v", err)
	}
	name := strings.Repeat("'", 200_000) // the payload stays under 256 KiB
	email := handlers.ConfirmationEmail(orders.Order{ID: "ord_long", CustomerEmail: "buyer@example.org", CustomerName: name,
		Amount: 1999, Currency: "EUR", Status: orders.Paid})
	email.EventID = "evt_long"
	if err := s.queue.Send(ctx, email); err != nil {
		t.Errorf("the email step could not queue the confirmation of a payment ingest accepts: %v", err)
	}
}

// Issue 17: "No message reaches the DLQ because a downstream quota was
// hit"; the runbook's EmailDLQDepthAlarm: "Fix the cause, then move the
// messages back to the email queue".
//
// A job reaches the email DLQ after MaxDeferAge of deferrals (SES sending
// paused for more than a day, say) and keeps its deferral count and stamps
// through the redrive. Redriven, it has no deferral left: the first time SES throttles
// it (a redrive of a day's emails is a burst at the edge of the rate), it
// is reported failed and spends a receive, and five throttles put it back
// in the DLQ. Real events table and email queue on moto_server.
func TestRedrivenEmailJobThrottledIsDeferred(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := time.Now().UTC()
	s.processed(t, "evt_redriven", now)
	body, err := sqsemail.Encode(emailjob.Job{EventID: "evt_redriven", QueuedAt: now.Add(-27 * time.Hour), Deferrals: 120, DeferredSince: now.Add(-27 * time.Hour),
		Email: handlers.Email{To: "buyer@example.org", Subject: "Thanks", Text: "paid", Template: "payment_confirmation", OrderID: "ord_r", EventID: "evt_redriven"}})
	if err != nil {
		t.Fatal(err)
	}
	// As the DLQ redrive puts it back: the same body and attributes.
	if _, err := s.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.queueURL), MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			eventrecord.AttrBodyEncoding: {DataType: aws.String("String"), StringValue: aws.String(eventrecord.BodyBase64)},
			eventrecord.AttrEventID:      {DataType: aws.String("String"), StringValue: aws.String("evt_redriven")}}}); err != nil {
		t.Fatal(err)
	}
	redriven := s.receive(t, 1)
	mail := &ses{throttleFirst: 1, sent: map[string]int{}}
	resp, err := sqsemail.NewHandler(newSender(s.table, mail, s.queue), nil).Handle(ctx, events.SQSEvent{Records: redriven})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch item failures %v: a redriven email job SES throttled once spends a receive towards the email DLQ instead of being deferred", resp.BatchItemFailures)
	}
}
