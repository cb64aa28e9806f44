package processorapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
)

// The queues' ARNs, as the template gives them to the processor (the
// email queue's) and as the event source mappings stamp the records.
const (
	eventsARN = "arn:aws:sqs:us-east-1:123456789012:webhook-events-queue"
	emailARN  = "arn:aws:sqs:us-east-1:123456789012:webhook-emails-queue"
)

// newRouter wires the processor as functions/processor does with an
// email queue (or without one when emailQueue is false), with hooks.
func newRouter(t *testing.T, emailQueue bool, hooks processorapp.TestHooks) *processorapp.Handler {
	t.Helper()
	env := map[string]string{
		processorapp.EnvEventsTable:  "webhook-events",
		processorapp.EnvOrdersTable:  "orders",
		processorapp.EnvSenderEmail:  "payments@example.com",
		processorapp.EnvEventBusName: "orders",
	}
	if emailQueue {
		env[processorapp.EnvEmailQueueURL] = "https://sqs.us-east-1.amazonaws.com/123456789012/webhook-emails-queue"
		env[processorapp.EnvEmailQueueARN] = emailARN
	}
	cfg, err := processorapp.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return processorapp.NewWithTestHooks(cfg, unreachableAWS(), slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard, hooks)
}

// batchOf is an SQS event of one record per source ARN given.
func batchOf(arns ...string) events.SQSEvent {
	var ev events.SQSEvent
	for i, arn := range arns {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), Body: "{}", EventSourceARN: arn, EventSource: "aws:sqs"})
	}
	return ev
}

// Each batch goes where the sources of its records say, whatever the
// order of the records; a payload that is not an SQS event, and every
// batch of a processor without an email queue, go to the events handler.
func TestRoute(t *testing.T) {
	tests := []struct {
		name       string
		emailQueue bool
		batch      events.SQSEvent
		want       processorapp.Route
	}{
		{"events queue", true, batchOf(eventsARN, eventsARN), processorapp.RouteEvents},
		{"email queue", true, batchOf(emailARN, emailARN, emailARN), processorapp.RouteEmails},
		{"email record first, then events", true, batchOf(emailARN, eventsARN), processorapp.RouteMixed},
		{"events record first, then email", true, batchOf(eventsARN, eventsARN, emailARN), processorapp.RouteMixed},
		{"no source: the events queue's", true, batchOf(""), processorapp.RouteEvents},
		{"an email record without a source", true, batchOf(emailARN, ""), processorapp.RouteMixed},
		{"no records", true, batchOf(), processorapp.RouteEvents},
		{"no email queue configured", false, batchOf(emailARN), processorapp.RouteEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRouter(t, tc.emailQueue, processorapp.TestHooks{})
			if got := h.Route(tc.batch); got != tc.want {
				t.Errorf("route %v, want %v", got, tc.want)
			}
		})
	}
}

// memDeliveries keeps each email's delivery with simplified rules of
// ClaimEmail, ReclaimEmail and FinishEmail (no leases): a claim succeeds
// on an email with no delivery, a reclaim on one held by the held token;
// a finish must hold the claim.
type memDeliveries struct {
	mu    sync.Mutex
	state map[string]eventrecord.EmailDelivery
}

func (m *memDeliveries) ClaimEmail(ctx context.Context, id, template, token string, lease, now time.Time) error {
	return m.ReclaimEmail(ctx, id, template, "", token, lease, now)
}

func (m *memDeliveries) ReclaimEmail(_ context.Context, id, template, held, token string, lease, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.state[id]; ok && (held == "" || cur.Token != held) {
		return &eventrecord.ConflictError{Existing: eventrecord.Record{EventID: id, Email: cur}}
	}
	m.state[id] = eventrecord.EmailDelivery{Status: eventrecord.EmailSending, Template: template, Token: token, LeaseUntil: lease}
	return nil
}

func (m *memDeliveries) FinishEmail(_ context.Context, id, token string, st eventrecord.EmailStatus, why string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.state[id]
	if cur.Token != token {
		return &eventrecord.ConflictError{Existing: eventrecord.Record{EventID: id, Email: cur}}
	}
	m.state[id] = eventrecord.EmailDelivery{Status: st, Template: cur.Template, Token: token, At: now, Error: why}
	return nil
}

// A batch that mixes the two queues (no event source mapping makes one;
// a hand-made event can) is served apart: the event is processed (its
// email queued), the job is sent, and a record of the email queue that is
// not a job is reported failed.
func TestMixedBatch(t *testing.T) {
	job := emailjob.Job{EventID: "evt_mixed1", QueuedAt: benchCreated,
		Email: handlers.Email{To: "buyer@example.org", Subject: "Order ord_9: payment confirmed", Text: "t", Template: "payment_confirmation", OrderID: "ord_9", EventID: "evt_mixed1"}}
	jobBody, err := sqsemail.Encode(job)
	if err != nil {
		t.Fatal(err)
	}
	b64 := eventrecord.BodyBase64
	enc := map[string]events.SQSMessageAttribute{eventrecord.AttrBodyEncoding: {DataType: "String", StringValue: &b64}}
	var ev events.SQSEvent
	if err := json.Unmarshal(invocation(t, 1), &ev); err != nil {
		t.Fatal(err)
	}
	event := ev.Records[0]
	event.EventSourceARN = eventsARN
	ev.Records = []events.SQSMessage{
		{MessageId: "job-1", Body: jobBody, MessageAttributes: enc, EventSourceARN: emailARN, EventSource: "aws:sqs"},
		event,
		{MessageId: "not-a-job", Body: "garbage", EventSourceARN: emailARN, EventSource: "aws:sqs"},
	}
	f := newFakes()
	ses := &memMailer{}
	deliveries := &memDeliveries{state: map[string]eventrecord.EmailDelivery{}}
	hooks := f.hooks()
	hooks.SenderMailer = func(handlers.Mailer) handlers.Mailer { return ses }
	hooks.Deliveries = func(emailjob.Deliveries) emailjob.Deliveries { return deliveries }
	h := newRouter(t, true, hooks)
	if h.Route(ev) != processorapp.RouteMixed {
		t.Fatalf("route %v, want mixed", h.Route(ev))
	}
	resp, err := h.Handle(invocationContext(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"not-a-job"}) {
		t.Errorf("batch item failures %v, want [not-a-job]", failed)
	}
	if got, want := f.tally(), (tally{claims: 1, processed: 1, orderUpdates: 1, emails: 1, domainEvents: 1}); got != want {
		t.Errorf("the events part: fakes saw %+v, want %+v", got, want)
	}
	if len(ses.sent) != 1 || ses.sent[0].To != job.Email.To {
		t.Errorf("the email part: SES got %+v, want the job's email to %s", ses.sent, job.Email.To)
	}
	if st := deliveries.state[job.EventID].Status; st != eventrecord.EmailSent {
		t.Errorf("the job's delivery %q, want SENT", st)
	}
}
