package processorapp_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
)

// bodySize is the size of every benchmark envelope, as in apigw's
// BenchmarkRawHMAC_2KB.
const bodySize = 2048

// benchCreated is the created time of the benchmark events.
var benchCreated = time.Unix(1795795200, 0).UTC()

// benchRecord names the ids of record i of a batch.
type benchRecord struct {
	eventID, orderID, paymentID, email string
	amount                             int64
}

func benchRecordOf(i int) benchRecord {
	return benchRecord{
		eventID:   fmt.Sprintf("evt_bench%02dQpL8fA1x9Kd", i),
		orderID:   fmt.Sprintf("ord_%04d", 1001+i),
		paymentID: fmt.Sprintf("pay_bench%02dHc2Vb9Q", i),
		email:     fmt.Sprintf("customer%02d@example.com", i),
		amount:    4999 + int64(i),
	}
}

// envelope2KB is a realistic payment.succeeded envelope of exactly
// bodySize bytes, compact as the provider signs it.
func envelope2KB(tb testing.TB, r benchRecord) []byte {
	tb.Helper()
	head := fmt.Sprintf(`{"id":%q,"object":"event","type":"payment.succeeded","created":%d,"livemode":false,"api_version":"2026-06-01","data":{"object":{"id":%q,"object":"payment","amount":%d,"currency":"usd","status":"succeeded","created":%d,"customer":{"email":%q,"name":"Jane Doe"},"payment_method":{"type":"card","card":{"brand":"visa","last4":"4242"}},"metadata":{"order_id":%q},"description":"`,
		r.eventID, benchCreated.Unix(), r.paymentID, r.amount, benchCreated.Unix()-10, r.email, r.orderID)
	tail := `"}}}`
	if len(head)+len(tail) > bodySize {
		tb.Fatalf("envelope head of %d bytes", len(head))
	}
	return []byte(head + strings.Repeat("x", bodySize-len(head)-len(tail)) + tail)
}

// invocation returns the raw bytes the Lambda runtime hands the processor
// for a batch of n distinct payment.succeeded records: an events.SQSEvent
// as the SQS event source mapping produces it (see
// events/processor-sqs.json), each record carrying the message attributes
// ingest sets (sqsqueue.Queue.Send).
func invocation(tb testing.TB, n int) []byte {
	tb.Helper()
	received := benchCreated.Add(time.Second)
	str := func(s string) events.SQSMessageAttribute {
		return events.SQSMessageAttribute{StringValue: &s, StringListValues: []string{}, BinaryListValues: [][]byte{}, DataType: "String"}
	}
	var ev events.SQSEvent
	for i := range n {
		r := benchRecordOf(i)
		body := envelope2KB(tb, r)
		sum := md5.Sum(body)
		attrSum := md5.Sum([]byte(r.eventID)) // opaque to the processor
		ms := strconv.FormatInt(received.UnixMilli(), 10)
		at := str(ms)
		at.DataType = "Number"
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              fmt.Sprintf("d11b10cb-f271-3bd1-3208-6dad9c66%04d", i),
			ReceiptHandle:          "AQEB0RsQy/JxO9EyCG2tnGaPaO5b0iKHz1BFLI8GY/wDUwo" + strconv.Itoa(i) + "=",
			Body:                   string(body),
			Md5OfBody:              hex.EncodeToString(sum[:]),
			Md5OfMessageAttributes: hex.EncodeToString(attrSum[:]),
			Attributes: map[string]string{
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(received.UnixMilli()+1000, 10),
				"ApproximateReceiveCount":          "1",
				"SenderId":                         "AROAEXAMPLEINGESTROLE:ingest",
				"SentTimestamp":                    ms,
			},
			MessageAttributes: map[string]events.SQSMessageAttribute{
				eventrecord.AttrEventID:    str(r.eventID),
				eventrecord.AttrType:       str(handlers.TypePaymentSucceeded),
				eventrecord.AttrReceivedAt: at,
			},
			EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:webhook-events-queue",
			EventSource:    "aws:sqs",
			AWSRegion:      "us-east-1",
		})
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// unreachableAWS is an AWS configuration whose every call fails at once on
// loopback: a dependency the fakes do not replace cannot reach AWS.
func unreachableAWS() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials:  aws.AnonymousCredentials{},
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// newHandler wires the processor exactly as functions/processor does, with
// the configuration a deployment with a sender and a bus loads, logs
// (JSON, with the request id handler) and metrics to io.Discard, and opts.
func newHandler(tb testing.TB, hooks processorapp.TestHooks) lambda.Handler {
	tb.Helper()
	env := map[string]string{
		processorapp.EnvEventsTable:  "webhook-events",
		processorapp.EnvOrdersTable:  "orders",
		processorapp.EnvSenderEmail:  "payments@example.com",
		processorapp.EnvEventBusName: "orders",
		processorapp.EnvNamespace:    "AltafinexWebhooks",
	}
	cfg, err := processorapp.Load(func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(sqsbatch.LogHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: cfg.LogLevel})))
	return lambda.NewHandler(processorapp.NewWithTestHooks(cfg, unreachableAWS(), log, io.Discard, hooks).Handle)
}

// invocationContext is the context of one Lambda invocation, as the runtime
// makes it (without the deadline).
func invocationContext() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID:       "c6af9ac6-7b61-11e6-9a41-93e812345678",
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:processor",
	})
}

// invoke runs one invocation through the entry point lambda.Start runs
// (lambda.NewHandler of the handler's Handle): the event's JSON bytes in,
// the response's bytes out, decoded here only to be checked.
func invoke(ctx context.Context, h lambda.Handler, raw []byte) (events.SQSEventResponse, []byte, error) {
	out, err := h.Invoke(ctx, raw)
	if err != nil {
		return events.SQSEventResponse{}, out, err
	}
	out = bytes.TrimSpace(out) // json.Encoder ends the response with a newline
	var resp events.SQSEventResponse
	err = json.Unmarshal(out, &resp)
	return resp, out, err
}

// noFailures is the response to a batch without a record to retry.
const noFailures = `{"batchItemFailures":[]}`

// BenchmarkProcessorBatch10 runs batches of 10 distinct payment.succeeded
// records from the invocation's bytes to the response's, through the
// entry point lambda.Start runs, every record a first-time processing
// (claim, order update, email, domain event, final write) against
// zero-latency in-memory fakes.
func BenchmarkProcessorBatch10(b *testing.B) { benchBatch(b, 10) }

// BenchmarkProcessorBatch1 is BenchmarkProcessorBatch10 with one record per
// batch.
func BenchmarkProcessorBatch1(b *testing.B) { benchBatch(b, 1) }

func benchBatch(b *testing.B, n int) {
	f := newFakes()
	h := newHandler(b, f.hooks())
	raw := invocation(b, n)
	ctx := invocationContext()
	want := tally{claims: n, processed: n, orderUpdates: n, emails: n, domainEvents: n}
	b.ReportAllocs()
	b.SetBytes(int64(n * bodySize))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ops := 0
	for b.Loop() {
		_, out, err := invoke(ctx, h, raw)
		if err != nil {
			b.Fatalf("invoke: %v (response %q)", err, out)
		}
		if string(out) != noFailures {
			b.Fatalf("response %s, want no batch item failures", out)
		}
		// Every record must have been processed for the first time;
		// resetting the fakes makes the next op a first time again.
		if got := f.reset(); got != want {
			b.Fatalf("fakes saw %+v, want %+v", got, want)
		}
		ops++
	}
	runtime.ReadMemStats(&after)
	records := float64(ops * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records, "ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/records, "B/record")
}

// BenchmarkRawHMAC_2KB is the floor, as in package apigw: the HMAC-SHA256
// every verification of a 2 KB body must compute.
func BenchmarkRawHMAC_2KB(b *testing.B) {
	body := envelope2KB(b, benchRecordOf(0))
	key := []byte("whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("1795795495"))
		m.Write([]byte("."))
		m.Write(body)
		_ = m.Sum(nil)
	}
}

// TestBatchThroughFakes runs the benchmarks' invocations through the same
// wiring and checks every call the fakes saw: that the benchmarks measure
// first-time processing, and that a second delivery is a duplicate that
// changes nothing.
func TestBatchThroughFakes(t *testing.T) {
	for _, n := range []int{1, 10} {
		t.Run(fmt.Sprintf("batch of %d", n), func(t *testing.T) {
			f := newFakes()
			h := newHandler(t, f.hooks())
			raw := invocation(t, n)
			ctx := invocationContext()

			resp, out, err := invoke(ctx, h, raw)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != noFailures {
				t.Fatalf("response %s, want no batch item failures", out)
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Fatalf("batch item failures %v", resp.BatchItemFailures)
			}
			want := tally{claims: n, processed: n, orderUpdates: n, emails: n, domainEvents: n}
			if got := f.tally(); got != want {
				t.Fatalf("fakes saw %+v, want %+v", got, want)
			}
			checkEvents(t, f, n)
			checkOrders(t, f, n)
			checkEmails(t, f, n)
			checkDomainEvents(t, f, n)

			// A second delivery of the same batch: duplicates, claimed
			// and refused, with no further effect.
			if _, out, err := invoke(ctx, h, raw); err != nil || string(out) != noFailures {
				t.Fatalf("second delivery: %v, response %s", err, out)
			}
			want.claims = 2 * n
			if got := f.tally(); got != want {
				t.Errorf("after a second delivery the fakes saw %+v, want %+v", got, want)
			}

			// After a reset the same batch is a first delivery again,
			// as in the benchmarks.
			if got := f.reset(); got != want {
				t.Errorf("reset returned %+v, want %+v", got, want)
			}
			if _, _, err := invoke(ctx, h, raw); err != nil {
				t.Fatal(err)
			}
			want.claims = n
			if got := f.tally(); got != want {
				t.Errorf("after a reset the fakes saw %+v, want %+v", got, want)
			}
		})
	}
	t.Run("without the fakes", func(t *testing.T) {
		// A wiring whose hooks keep the production stores reaches
		// for DynamoDB (unreachable here): every record is retried and
		// the fakes see nothing.
		f := newFakes()
		h := newHandler(t, processorapp.TestHooks{
			Mailer:    func(handlers.Mailer) handlers.Mailer { return f.mailer },
			Publisher: func(handlers.Publisher) handlers.Publisher { return f.publisher },
		})
		resp, _, err := invoke(invocationContext(), h, invocation(t, 2))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.BatchItemFailures) != 2 {
			t.Errorf("batch item failures %v, want both records", resp.BatchItemFailures)
		}
		if got := f.tally(); got != (tally{}) {
			t.Errorf("fakes saw %+v, want nothing", got)
		}
	})
}

func checkEvents(t *testing.T, f *fakes, n int) {
	t.Helper()
	var got []string
	for _, rec := range f.events.finishes {
		got = append(got, rec.EventID)
		r := f.events.recs[rec.EventID]
		switch {
		case r.Status != eventrecord.Processed:
			t.Errorf("event %s: status %s, want PROCESSED", rec.EventID, r.Status)
		case r.Attempts != 1:
			t.Errorf("event %s: %d attempts, want 1", rec.EventID, r.Attempts)
		case !slices.Equal(r.Steps, []string{handlers.StepOrder, handlers.StepEvent, handlers.StepEmail}):
			t.Errorf("event %s: steps %v", rec.EventID, r.Steps)
		case r.Type != handlers.TypePaymentSucceeded || !r.Created.Equal(benchCreated):
			t.Errorf("event %s: type %s created %s", rec.EventID, r.Type, r.Created)
		case !r.ReceivedAt.Equal(benchCreated.Add(time.Second)):
			t.Errorf("event %s: received at %s, want the message attribute's", rec.EventID, r.ReceivedAt)
		case r.Error != "" || r.Body != nil:
			t.Errorf("event %s: error %q, body of %d bytes", rec.EventID, r.Error, len(r.Body))
		}
		for i := range n {
			if br := benchRecordOf(i); br.eventID == rec.EventID {
				if sum := sha256.Sum256(envelope2KB(t, br)); r.PayloadHash != hex.EncodeToString(sum[:]) {
					t.Errorf("event %s: payload hash %s", rec.EventID, r.PayloadHash)
				}
			}
		}
	}
	slices.Sort(got)
	if want := wantIDs(n, func(r benchRecord) string { return r.eventID }); !slices.Equal(got, want) {
		t.Errorf("finished events %v, want %v", got, want)
	}
}

func checkOrders(t *testing.T, f *fakes, n int) {
	t.Helper()
	var got []string
	for id, o := range f.orders.orders {
		got = append(got, id)
		r, ok := recordOfOrder(n, id)
		if !ok {
			continue
		}
		if o.Status != orders.Paid || o.Amount != r.amount || o.Currency != "usd" || o.PaymentID != r.paymentID ||
			o.PaymentEventID != r.eventID || o.CustomerEmail != r.email || !o.PaidAt.Equal(benchCreated) {
			t.Errorf("order %s: %+v", id, o)
		}
	}
	slices.Sort(got)
	if want := wantIDs(n, func(r benchRecord) string { return r.orderID }); !slices.Equal(got, want) {
		t.Errorf("orders %v, want %v", got, want)
	}
}

func checkEmails(t *testing.T, f *fakes, n int) {
	t.Helper()
	var got []string
	for _, e := range f.mailer.sent {
		got = append(got, e.OrderID)
		r, ok := recordOfOrder(n, e.OrderID)
		if !ok {
			continue
		}
		if e.To != r.email || e.Template != handlers.TemplatePaymentConfirmation ||
			!strings.Contains(e.Text, "Jane Doe") || !strings.Contains(e.Subject, r.orderID) {
			t.Errorf("email for %s: %+v", e.OrderID, e)
		}
	}
	slices.Sort(got)
	if want := wantIDs(n, func(r benchRecord) string { return r.orderID }); !slices.Equal(got, want) {
		t.Errorf("emails for orders %v, want %v", got, want)
	}
}

func checkDomainEvents(t *testing.T, f *fakes, n int) {
	t.Helper()
	var got []string
	for _, de := range f.publisher.published {
		var d handlers.Detail
		if err := json.Unmarshal(de.Detail, &d); err != nil {
			t.Errorf("detail %s: %v", de.Detail, err)
			continue
		}
		got = append(got, d.SourceEventID)
		r, ok := recordOfOrder(n, d.Order.OrderID)
		if de.DetailType != handlers.DetailOrderPaid || !ok || d.SourceEventID != r.eventID ||
			d.SourceEventType != handlers.TypePaymentSucceeded || d.Order.Status != string(orders.Paid) || d.Order.Amount != r.amount {
			t.Errorf("domain event %s: %s", de.DetailType, de.Detail)
		}
	}
	slices.Sort(got)
	if want := wantIDs(n, func(r benchRecord) string { return r.eventID }); !slices.Equal(got, want) {
		t.Errorf("domain events from %v, want %v", got, want)
	}
}

// wantIDs returns the sorted ids of a batch of n, picked by id.
func wantIDs(n int, id func(benchRecord) string) []string {
	var ids []string
	for i := range n {
		ids = append(ids, id(benchRecordOf(i)))
	}
	slices.Sort(ids)
	return ids
}

// recordOfOrder returns the record of a batch of n whose order is orderID.
func recordOfOrder(n int, orderID string) (benchRecord, bool) {
	for i := range n {
		if r := benchRecordOf(i); r.orderID == orderID {
			return r, true
		}
	}
	return benchRecord{}, false
}
