package processorapp_test

import (
	"bytes"
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

	"github.com/altafinex-webhooks/receiver/internal/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/handlers"
	"github.com/altafinex-webhooks/receiver/internal/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/processorconfig"
	"github.com/altafinex-webhooks/receiver/internal/sqsemail"
)

// The queues' ARNs, as the template gives them to the processor (the
// email queue's) and as the event source mappings stamp the records.
const (
	eventsARN = "arn:aws:sqs:us-east-1:123456789012:webhook-events-queue"
	emailARN  = "arn:aws:sqs:us-east-1:123456789012:webhook-emails-queue"
)

// newRouter wires the processor as functions/processor does with an
// email queue (or without one when emailQueue is false), and opts.
func newRouter(t *testing.T, emailQueue bool, opts ...processorapp.Option) *processorapp.Handler {
	t.Helper()
	env := map[string]string{
		processorconfig.EnvEventsTable:  "webhook-events",
		processorconfig.EnvOrdersTable:  "orders",
		processorconfig.EnvSenderEmail:  "payments@example.com",
		processorconfig.EnvEventBusName: "orders",
	}
	if emailQueue {
		env[processorconfig.EnvEmailQueueURL] = "https://sqs.us-east-1.amazonaws.com/123456789012/webhook-emails-queue"
		env[processorconfig.EnvEmailQueueARN] = emailARN
	}
	cfg, err := processorconfig.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return processorapp.New(cfg, unreachableAWS(), slog.New(slog.NewJSONHandler(io.Discard, nil)), io.Discard, opts...)
}

// batchOf is an SQS event of one record per source ARN given.
func batchOf(t *testing.T, arns ...string) []byte {
	t.Helper()
	var ev events.SQSEvent
	for i, arn := range arns {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), Body: "{}", EventSourceARN: arn, EventSource: "aws:sqs"})
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Each batch goes where the sources of its records say, whatever the
// order of the records; a payload that is not an SQS event, and every
// batch of a processor without an email queue, go to the events handler.
func TestRoute(t *testing.T) {
	tests := []struct {
		name       string
		emailQueue bool
		payload    func(t *testing.T) []byte
		want       processorapp.Route
	}{
		{"events queue", true, func(t *testing.T) []byte { return batchOf(t, eventsARN, eventsARN) }, processorapp.RouteEvents},
		{"email queue", true, func(t *testing.T) []byte { return batchOf(t, emailARN, emailARN, emailARN) }, processorapp.RouteEmails},
		{"email record first, then events", true, func(t *testing.T) []byte { return batchOf(t, emailARN, eventsARN) }, processorapp.RouteMixed},
		{"events record first, then email", true, func(t *testing.T) []byte { return batchOf(t, eventsARN, eventsARN, emailARN) }, processorapp.RouteMixed},
		{"no source: the events queue's", true, func(t *testing.T) []byte { return batchOf(t, "") }, processorapp.RouteEvents},
		{"an email record without a source", true, func(t *testing.T) []byte { return batchOf(t, emailARN, "") }, processorapp.RouteMixed},
		{"no records", true, func(t *testing.T) []byte { return batchOf(t) }, processorapp.RouteEvents},
		// JSON may spell the ARN with escapes: still the email queue's.
		{"the email queue's ARN escaped", true, func(t *testing.T) []byte {
			return bytes.ReplaceAll(batchOf(t, emailARN), []byte("webhook-emails"), []byte(`webhook\u002demails`))
		}, processorapp.RouteEmails},
		{"an escape elsewhere", true, func(t *testing.T) []byte {
			return bytes.ReplaceAll(batchOf(t, eventsARN), []byte(`"{}"`), []byte(`"{\u0022a\u0022:1}"`))
		}, processorapp.RouteEvents},
		{"not JSON", true, func(*testing.T) []byte { return []byte("not an event") }, processorapp.RouteEvents},
		{"no email queue configured", false, func(t *testing.T) []byte { return batchOf(t, emailARN) }, processorapp.RouteEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRouter(t, tc.emailQueue)
			if got := h.Route(tc.payload(t)); got != tc.want {
				t.Errorf("route %v, want %v", got, tc.want)
			}
		})
	}
}

// memDeliveries keeps each email's delivery with the rules of ClaimEmail
// and FinishEmail: a claim succeeds on an email with no delivery or one
// held by the same token; a finish must hold the claim.
type memDeliveries struct {
	mu    sync.Mutex
	state map[string]eventrecord.EmailDelivery
}

func (m *memDeliveries) ClaimEmail(_ context.Context, id, template, token string, lease, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.state[id]; ok && cur.Token != token {
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
// not a job is reported failed, through both entry points.
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
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	paths := []struct {
		name string
		call func(ctx context.Context, h *processorapp.Handler) (events.SQSEventResponse, error)
	}{
		{"Invoke", func(ctx context.Context, h *processorapp.Handler) (events.SQSEventResponse, error) {
			out, err := h.Invoke(ctx, raw)
			if err != nil {
				return events.SQSEventResponse{}, err
			}
			var resp events.SQSEventResponse
			return resp, json.Unmarshal(out, &resp)
		}},
		{"Handle", func(ctx context.Context, h *processorapp.Handler) (events.SQSEventResponse, error) {
			return h.Handle(ctx, ev)
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			f := newFakes()
			ses := &memMailer{}
			deliveries := &memDeliveries{state: map[string]eventrecord.EmailDelivery{}}
			h := newRouter(t, true, append(f.options(),
				processorapp.WithSenderMailerWrapper(func(handlers.Mailer) handlers.Mailer { return ses }),
				processorapp.WithDeliveriesWrapper(func(emailjob.Deliveries) emailjob.Deliveries { return deliveries }))...)
			if h.Route(raw) != processorapp.RouteMixed {
				t.Fatalf("route %v, want mixed", h.Route(raw))
			}
			resp, err := p.call(invocationContext(), h)
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
		})
	}
}

// BenchmarkRouteBatch10 is what choosing the handler costs a batch of 10
// 2 KB records (encoding/json reading every record's eventSourceARN),
// against BenchmarkProcessorInvokeBatch10's whole batch.
func BenchmarkRouteBatch10(b *testing.B) {
	h := newRouter(&testing.T{}, true)
	raw := invocation(b, 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if h.Route(raw) != processorapp.RouteEvents {
			b.Fatal("not routed to the events handler")
		}
	}
}
