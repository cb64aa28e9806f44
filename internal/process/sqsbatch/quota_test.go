package sqsbatch_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// quotaRig is the processor's queues and tables, with the function's
// keys for the environment the template gives it.
type quotaRig struct {
	admin                    *sqs.Client
	fnCfg                    aws.Config
	eventsTable, ordersTable string
	eventsURL, emailURL      string
}

func newQuotaRig(t *testing.T) *quotaRig {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	ddb := dynamodb.NewFromConfig(cfg)
	r := &quotaRig{admin: sqs.NewFromConfig(cfg), eventsTable: motoserver.UniqueName(t, "events"), ordersTable: motoserver.UniqueName(t, "orders")}
	if err := ddbevents.CreateTable(ctx, ddb, r.eventsTable); err != nil {
		t.Fatal(err)
	}
	if err := ddborders.CreateTable(ctx, ddb, r.ordersTable); err != nil {
		t.Fatal(err)
	}
	var err error
	if r.eventsURL, _, err = sqsqueue.CreateQueues(ctx, r.admin, motoserver.UniqueName(t, "q"), motoserver.UniqueName(t, "dlq"), 5, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.emailURL, _, err = sqsqueue.CreateQueues(ctx, r.admin, motoserver.UniqueName(t, "eq"), motoserver.UniqueName(t, "edlq"), 5, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	emailARN, err := sqsqueue.QueueARN(ctx, r.admin, r.emailURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(senderDomain)}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"EVENTS_TABLE": r.eventsTable, "ORDERS_TABLE": r.ordersTable, "REFUNDS_TABLE": r.ordersTable + ddborders.RefundsTableSuffix,
		"SENDER_EMAIL": "orders@" + senderDomain, "EVENTS_QUEUE_URL": r.eventsURL, "EMAIL_QUEUE_URL": r.emailURL, "EMAIL_QUEUE_ARN": emailARN}
	r.fnCfg = iamtest.Function(t, "ProcessorFunction", func(k string) string { return env[k] }).Config(t)
	return r
}

// receive returns the messages on url (bounded), waiting up to wait for
// the first.
func (r *quotaRig) receive(t *testing.T, url string, wait int32) []sqsTypesMessage {
	t.Helper()
	out, err := r.admin.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
		WaitTimeSeconds: wait, MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []sqsTypesMessage
	for _, m := range out.Messages {
		attrs := map[string]string{}
		for k, v := range m.MessageAttributes {
			attrs[k] = aws.ToString(v.StringValue)
		}
		msgs = append(msgs, sqsTypesMessage{body: aws.ToString(m.Body), attrs: attrs})
	}
	return msgs
}

type sqsTypesMessage struct {
	body  string
	attrs map[string]string
}

type throttledPublisher struct{}

func (throttledPublisher) Publish(context.Context, handlers.DomainEvent) error {
	return fmt.Errorf("publish: %w", errThrottle)
}

var errThrottle = &codeErr{"ThrottlingException"}

type codeErr struct{ code string }

func (e *codeErr) Error() string     { return e.code }
func (e *codeErr) ErrorCode() string { return e.code }

// An event whose domain event EventBridge throttles is queued again,
// delayed, and acknowledged: no receive spent; the copy resumes after
// the order step.
func TestThrottledEventIsDeferred(t *testing.T) {
	r := newQuotaRig(t)
	ctx := context.Background()
	fnDDB := dynamodb.NewFromConfig(r.fnCfg)
	quiet := slog.New(slog.DiscardHandler)
	proc := &process.Processor{
		Events: ddbevents.New(fnDDB, r.eventsTable),
		Handlers: handlers.Default(handlers.Deps{Orders: ddborders.New(fnDDB, r.ordersTable).WithRefundsTable(r.ordersTable + ddborders.RefundsTableSuffix),
			Mailer: &sesmail.LogMailer{Logger: quiet}, Publisher: throttledPublisher{}, Logger: quiet}),
		IsPermanent: awserr.IsPermanent, Logger: quiet,
	}
	h := sqsbatch.New(proc, quiet)
	h.Defer = &sqsbatch.QuotaDeferral{Queue: sqsqueue.New(sqs.NewFromConfig(r.fnCfg), r.eventsURL), IsThrottle: awserr.IsThrottle, Logger: quiet}
	s := &stack{prefix: "defer" + fmt.Sprint(time.Now().UnixNano()%100000)}
	eventID, _, body := s.payment(t, 1, nil)
	rec := record("m1", eventID, "payment.succeeded", body)
	failed := (&stack{handler: h}).handle(t, rec)
	if len(failed) != 0 {
		t.Fatalf("batch item failures %v: a throttled event must be deferred, not retried", failed)
	}
	msgs := r.receive(t, r.eventsURL, 5)
	if len(msgs) != 1 || msgs[0].attrs[eventrecord.AttrEventID] != eventID {
		t.Fatalf("events queue holds %+v, want the event again", msgs)
	}
	got, err := ddbevents.New(dynamodb.NewFromConfig(motoserver.TestConfig(t)), r.eventsTable).Get(ctx, eventID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != eventrecord.Retrying || len(got.Steps) != 1 || got.Steps[0] != handlers.StepOrder {
		t.Errorf("record %s steps %v, want RETRYING after the order step", got.Status, got.Steps)
	}
}

// The email step queues a job under the function's keys; the sender
// sends it once through SES and records it; a second copy sends nothing.
func TestQueuedEmailIsSentOnce(t *testing.T) {
	r := newQuotaRig(t)
	ctx := context.Background()
	fnDDB := dynamodb.NewFromConfig(r.fnCfg)
	events := ddbevents.New(fnDDB, r.eventsTable)
	eventID := fmt.Sprint("evt_q", time.Now().UnixNano())
	if err := ddbevents.New(dynamodb.NewFromConfig(motoserver.TestConfig(t)), r.eventsTable).PutTerminal(ctx,
		eventrecord.Record{EventID: eventID, Status: eventrecord.Processed, Type: "payment.succeeded", ExpiresAt: time.Now().Add(time.Hour)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	queue := sqsemail.New(sqs.NewFromConfig(r.fnCfg), r.emailURL)
	email := handlers.Email{To: "buyer@example.org", Subject: "Order 1: payment confirmed", Text: "t", Template: "payment_confirmation", OrderID: "ord_1", EventID: eventID}
	for range 2 { // the step ran twice: a duplicated job
		if err := queue.Send(ctx, email); err != nil {
			t.Fatalf("queue the email: %v", err)
		}
	}
	var jobs []emailjob.Job
	for len(jobs) < 2 {
		msgs := r.receive(t, r.emailURL, 5)
		if len(msgs) == 0 {
			t.Fatalf("%d jobs on the email queue, want 2", len(jobs))
		}
		for _, m := range msgs {
			j, err := sqsemail.Decode(m.body, m.attrs[eventrecord.AttrBodyEncoding])
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
		}
	}
	sent := 0
	sender := &emailjob.Sender{Deliveries: events, Queue: queue, Rate: 50, IsThrottle: awserr.IsThrottle, IsPermanent: awserr.IsPermanent, Logger: slog.New(slog.DiscardHandler),
		Mailer: countingMailer{next: sesmail.New(sesv2.NewFromConfig(r.fnCfg), "orders@"+senderDomain), n: &sent}}
	var outs []emailjob.Outcome
	for _, j := range jobs {
		res := sender.SendBatch(ctx, []emailjob.Job{j})
		outs = append(outs, res[0].Outcome)
	}
	if sent != 1 || outs[0] != emailjob.OutcomeSent || outs[1] != emailjob.OutcomeDuplicate {
		t.Errorf("%d sends, outcomes %v; want 1, [sent duplicate]", sent, outs)
	}
	// A job deferred by the sender goes back on the email queue.
	if err := queue.Requeue(ctx, jobs[1], time.Second); err != nil {
		t.Fatalf("requeue: %v", err)
	}
}

type countingMailer struct {
	next handlers.Mailer
	n    *int
}

func (m countingMailer) Send(ctx context.Context, e handlers.Email) error {
	err := m.next.Send(ctx, e)
	if err == nil {
		*m.n++
	}
	return err
}
