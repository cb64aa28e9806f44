package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// workload is what one function is driven with: its environment, a fresh
// event per invocation, and the check of each answer.
type workload interface {
	// function is the function's name in the report (ingest, processor,
	// sender).
	function() string
	// logicalID is its name in template.yaml, AWS_LAMBDA_FUNCTION_NAME.
	logicalID() string
	// batch is the number of events one invocation handles.
	batch() int
	// env is the function's environment; its AWS calls go to endpoint.
	env(endpoint string) map[string]string
	// prepare readies n events for the size about to run (untimed), on a
	// fresh queue.
	prepare(ctx context.Context, n int) error
	// next returns the next invocation's event.
	next(ctx context.Context) ([]byte, error)
	// check returns an error unless resp is the answer of a fully handled
	// invocation.
	check(resp []byte) error
	// between runs, untimed, after the i-th invocation of a size.
	between(ctx context.Context, i int) error
}

// fixture is the AWS side both workloads share, made once on moto.
type fixture struct {
	aws         aws.Config // moto, direct: set-up and feeding, never timed
	endpoint    string     // moto's URL, the upstream of the latency proxy
	eventsTable string
	ordersTable string
	secretID    string
	sender      string
	bus         string
}

// The signing secret of every event this program sends.
const secret = "whsec_powertune_benchmark_only_00000"

// ingestLoad drives the ingest function: one fresh, freshly signed
// payment.succeeded per invocation, through the HTTP API's event.
type ingestLoad struct {
	fx       *fixture
	queueURL string
	run      int
}

func (w *ingestLoad) function() string  { return "ingest" }
func (w *ingestLoad) logicalID() string { return "IngestFunction" }
func (w *ingestLoad) batch() int        { return 1 }

func (w *ingestLoad) env(endpoint string) map[string]string {
	env := rie.ForEmulator(map[string]string{
		"EVENTS_TABLE":      w.fx.eventsTable,
		"QUEUE_URL":         w.queueURL,
		"WEBHOOK_SECRET_ID": w.fx.secretID, // fetched at init, as deployed
		"LOG_LEVEL":         "INFO",        // the template's default: one line per request
		"METRICS_NAMESPACE": "AltafinexWebhooks",
	}, endpoint)
	return env
}

func (w *ingestLoad) prepare(ctx context.Context, _ int) error {
	w.run++
	name := fmt.Sprintf("powertune-ingest-%d", w.run)
	url, _, err := sqsqueue.CreateQueues(ctx, sqs.NewFromConfig(w.fx.aws), name, name+"-dlq", 5, 180*time.Second)
	if err != nil {
		return err
	}
	w.queueURL = url
	return nil
}

func (w *ingestLoad) next(context.Context) ([]byte, error) {
	now := time.Now()
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded}, now)
	if err != nil {
		return nil, err
	}
	return rie.HTTPEvent(ev.Body, signature.Sign([]byte(secret), now, ev.Body), now)
}

func (w *ingestLoad) check(resp []byte) error {
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(resp, &r); err != nil || r.StatusCode != http.StatusOK || !bytes.Contains([]byte(r.Body), []byte(`"accepted"`)) {
		return fmt.Errorf("ingest did not accept the event: %s", resp)
	}
	return nil
}

// between empties the queue every 25 invocations: moto's SendMessage slows
// as a queue grows, which would otherwise show up in the later figures.
func (w *ingestLoad) between(ctx context.Context, i int) error {
	if i%25 != 24 {
		return nil
	}
	_, err := sqs.NewFromConfig(w.fx.aws).PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(w.queueURL)})
	return err
}

// processorLoad drives the processor: batches of fresh payment.succeeded
// events that ingest accepted (so each has its RECEIVED record), read back
// from the queue as the event source mapping hands them over. Each record
// is claimed, applied to a new order, its email queued as a job on the
// email queue (SQS), published (EventBridge) and finished: the whole
// per-event call budget, as the template deploys it (the email itself is
// the sender's: senderLoad).
type processorLoad struct {
	fx       *fixture
	size     int            // records per invocation
	feeder   lambda.Handler // ingest through lambda.NewHandler(Handle), what lambda.Start runs
	feedURL  string
	emailURL string // where the processor queues the email jobs
	ready    [][]byte
	run      int
}

func (w *processorLoad) function() string  { return "processor" }
func (w *processorLoad) logicalID() string { return "ProcessorFunction" }
func (w *processorLoad) batch() int        { return w.size }

func (w *processorLoad) env(endpoint string) map[string]string {
	return rie.ForEmulator(map[string]string{
		"EVENTS_QUEUE_URL":  w.feedURL,
		"EMAIL_QUEUE_URL":   w.emailURL,
		"EMAIL_QUEUE_ARN":   emailQueueARN,
		"EVENTS_TABLE":      w.fx.eventsTable,
		"ORDERS_TABLE":      w.fx.ordersTable,
		"SENDER_EMAIL":      w.fx.sender,
		"EVENT_BUS_NAME":    w.fx.bus,
		"PROCESSING_LEASE":  "2m",
		"MAX_CONCURRENCY":   "10",
		"EVENT_TTL":         "720h",
		"LOG_LEVEL":         "INFO",
		"METRICS_NAMESPACE": "AltafinexWebhooks",
	}, endpoint)
}

// prepare ingests n batches' events in this process (moto direct, no
// latency) and turns the queued messages into SQS events.
func (w *processorLoad) prepare(ctx context.Context, n int) error {
	w.run++
	client := sqs.NewFromConfig(w.fx.aws)
	name := fmt.Sprintf("powertune-feed-%d", w.run)
	url, _, err := sqsqueue.CreateQueues(ctx, client, name, name+"-dlq", 5, 180*time.Second)
	if err != nil {
		return err
	}
	cfg, err := ingestapp.Load(func(k string) string {
		return map[string]string{"EVENTS_TABLE": w.fx.eventsTable, "QUEUE_URL": url, "WEBHOOK_SECRETS": secret}[k]
	})
	if err != nil {
		return err
	}
	feeder, err := ingestapp.New(ctx, cfg, w.fx.aws, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		return err
	}
	w.feeder = lambda.NewHandler(feeder.Handle)
	w.feedURL = url
	jobs := fmt.Sprintf("powertune-jobs-%d", w.run)
	if w.emailURL, _, err = sqsqueue.CreateQueues(ctx, client, jobs, jobs+"-dlq", 5, 180*time.Second); err != nil {
		return err
	}
	w.ready = w.ready[:0]
	for range n {
		b, err := w.feed(ctx, client)
		if err != nil {
			return err
		}
		w.ready = append(w.ready, b)
	}
	return nil
}

// feed ingests one batch of events and returns their SQS event.
func (w *processorLoad) feed(ctx context.Context, client *sqs.Client) ([]byte, error) {
	ingest := &ingestLoad{fx: w.fx}
	for range w.size {
		ev, err := ingest.next(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := w.feeder.Invoke(ctx, ev)
		if err != nil {
			return nil, err
		}
		if err := ingest.check(resp); err != nil {
			return nil, err
		}
	}
	recs, err := receiveRecords(ctx, client, w.feedURL, eventsQueueARN, w.size)
	if err != nil {
		return nil, err
	}
	return json.Marshal(events.SQSEvent{Records: recs})
}

// The source ARNs of the records the event source mappings hand over: the
// events queue's and the email queue's (the processor's EMAIL_QUEUE_ARN).
const (
	eventsQueueARN = "arn:aws:sqs:us-east-1:123456789012:webhook-events-queue"
	emailQueueARN  = "arn:aws:sqs:us-east-1:123456789012:webhook-email-queue"
)

// receiveRecords receives and deletes n messages of the queue at url and
// returns them as the records of an event source mapping reading the queue
// of arn.
func receiveRecords(ctx context.Context, client *sqs.Client, url, arn string, n int) ([]events.SQSMessage, error) {
	var recs []events.SQSMessage
	for range 20 { // bounded: moto returns at most 10 at a time
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: int32(min(10, n-len(recs))),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"},
		})
		if err != nil {
			return nil, err
		}
		for _, m := range out.Messages {
			recs = append(recs, lambdaRecord(m, arn))
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, err
			}
		}
		if len(recs) >= n {
			break
		}
	}
	if len(recs) != n {
		return nil, fmt.Errorf("queue %s returned %d messages, want %d", url, len(recs), n)
	}
	return recs, nil
}

// lambdaRecord is the record Lambda's SQS event source makes of a message
// of the queue of arn.
func lambdaRecord(m sqstypes.Message, arn string) events.SQSMessage {
	rec := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody),
		Attributes:        m.Attributes,
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSource:       "aws:sqs", EventSourceARN: arn,
		AWSRegion: rie.Region,
	}
	for k, a := range m.MessageAttributes {
		rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: a.StringValue, BinaryValue: a.BinaryValue, DataType: aws.ToString(a.DataType)}
	}
	return rec
}

func (w *processorLoad) next(context.Context) ([]byte, error) {
	if len(w.ready) == 0 {
		return nil, fmt.Errorf("processor: no prepared batch left")
	}
	b := w.ready[0]
	w.ready = w.ready[1:]
	return b, nil
}

func (w *processorLoad) check(resp []byte) error {
	var r events.SQSEventResponse
	if err := json.Unmarshal(resp, &r); err != nil || r.BatchItemFailures == nil || len(r.BatchItemFailures) > 0 {
		return fmt.Errorf("processor did not process the whole batch: %s", resp)
	}
	return nil
}

// between empties the email queue every 25 invocations, as ingestLoad's
// does its queue: moto's SendMessage slows as a queue grows.
func (w *processorLoad) between(ctx context.Context, i int) error {
	if i%25 != 24 {
		return nil
	}
	_, err := sqs.NewFromConfig(w.fx.aws).PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(w.emailURL)})
	return err
}

// The template's email sending defaults: EmailSendRate shared by the email
// mapping's MaximumConcurrency senders (Tuning Email MaxConcurrency), each
// pacing itself to senderRate / senderConcurrency.
const (
	senderRate        = 14
	senderConcurrency = 2
)

// senderLoad drives the processor as the email queue's sender, as the
// template's second event source mapping does: batches of the jobs the
// processor queued for fresh payment.succeeded events, read back from the
// email queue, each record with the email queue's eventSourceARN. Every job
// is real: the processor (in this process, moto direct, untimed) applied
// its event and queued it, so the event's record is as the processor leaves
// it and the claim succeeds; the sender's domain is verified in moto's SES,
// so the send succeeds. Each invocation claims, sends (SES) and records
// SENT every job, which between checks on the events table.
type senderLoad struct {
	events   processorLoad // ingests the events the jobs come from
	queueURL string        // the email queue: the bootstrap's EMAIL_QUEUE_URL (where it would defer)
	table    *ddbevents.Table
	ready    []senderBatch
	sent     []string // events whose emails the invocations since the last between sent
}

// senderBatch is one invocation's event and the events of its jobs.
type senderBatch struct {
	event    []byte
	eventIDs []string
}

func (w *senderLoad) function() string  { return "sender" }
func (w *senderLoad) logicalID() string { return "ProcessorFunction" }
func (w *senderLoad) batch() int        { return w.events.size }

func (w *senderLoad) note() string {
	idle := sendInterval(senderRate, senderConcurrency)
	return fmt.Sprintf("The processor's bootstrap serving the email queue; an event here is one email job (claim, SES send, SENT record). "+
		"Each invocation starts with the sender's token bucket full (the driver waits %s, untimed, after each): a batch of n lasts (n−1) × %s plus its calls; "+
		"a sender in a standing backlog waits up to one more %s per batch for its first send.",
		idle, idle, idle)
}

// sendInterval is the time between two sends of one sender: the rate
// shared by concurrency senders, rounded up to the millisecond. After it,
// an idle sender's token bucket (burst 1) is full again.
func sendInterval(rate float64, concurrency int) time.Duration {
	return time.Duration(math.Ceil(float64(concurrency)/rate*1000)) * time.Millisecond
}

func (w *senderLoad) env(endpoint string) map[string]string {
	env := w.events.env(endpoint)
	env["EVENTS_QUEUE_URL"] = w.events.feedURL
	env["EMAIL_QUEUE_URL"] = w.queueURL
	env["EMAIL_QUEUE_ARN"] = emailQueueARN
	env["EMAIL_SEND_RATE"] = strconv.Itoa(senderRate)
	env["EMAIL_SENDER_CONCURRENCY"] = strconv.Itoa(senderConcurrency)
	return env
}

// prepare ingests n batches' events, applies them with the processor in
// this process (configured as the bootstrap is), which queues their emails,
// and turns each batch's jobs into an SQS event of the email queue.
func (w *senderLoad) prepare(ctx context.Context, n int) error {
	if err := w.events.prepare(ctx, n); err != nil {
		return err
	}
	fx := w.events.fx
	client := sqs.NewFromConfig(fx.aws)
	name := fmt.Sprintf("powertune-email-%d", w.events.run)
	url, _, err := sqsqueue.CreateQueues(ctx, client, name, name+"-dlq", 5, 180*time.Second)
	if err != nil {
		return err
	}
	w.queueURL = url
	env := w.env(fx.endpoint)
	cfg, err := processorapp.Load(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	proc := lambda.NewHandler(processorapp.New(cfg, fx.aws, slog.New(slog.DiscardHandler), io.Discard).Handle)
	w.table = ddbevents.New(dynamodb.NewFromConfig(fx.aws), fx.eventsTable)
	w.ready, w.sent = w.ready[:0], w.sent[:0]
	for range n {
		ev, err := w.events.next(ctx)
		if err != nil {
			return err
		}
		resp, err := proc.Invoke(ctx, ev)
		if err != nil {
			return err
		}
		if err := w.events.check(resp); err != nil {
			return err
		}
		recs, err := receiveRecords(ctx, client, url, emailQueueARN, w.events.size)
		if err != nil {
			return fmt.Errorf("the processor's email jobs: %w", err)
		}
		b, err := json.Marshal(events.SQSEvent{Records: recs})
		if err != nil {
			return err
		}
		w.ready = append(w.ready, senderBatch{event: b, eventIDs: jobEventIDs(recs)})
	}
	return nil
}

// jobEventIDs returns the event ids of email job records (their event_id
// message attribute).
func jobEventIDs(recs []events.SQSMessage) []string {
	var ids []string
	for _, r := range recs {
		if a, ok := r.MessageAttributes[eventrecord.AttrEventID]; ok && a.StringValue != nil {
			ids = append(ids, *a.StringValue)
		}
	}
	return ids
}

func (w *senderLoad) next(context.Context) ([]byte, error) {
	if len(w.ready) == 0 {
		return nil, fmt.Errorf("sender: no prepared batch left")
	}
	b := w.ready[0]
	w.ready = w.ready[1:]
	w.sent = append(w.sent, b.eventIDs...)
	return b.event, nil
}

func (w *senderLoad) check(resp []byte) error { return w.events.check(resp) }

// between checks, on the events table, that every job handed over since
// the last call was sent (SENT: claimed, accepted by SES, recorded; not
// deferred, not sent without a record), then lets the sender's token
// bucket fill.
func (w *senderLoad) between(ctx context.Context, _ int) error {
	for _, id := range w.sent {
		rec, err := w.table.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("sender: event %s: %w", id, err)
		}
		if rec.Email.Status != eventrecord.EmailSent {
			return fmt.Errorf("sender: event %s's email is %q, not SENT", id, rec.Email.Status)
		}
	}
	w.sent = w.sent[:0]
	t := time.NewTimer(sendInterval(senderRate, senderConcurrency))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
