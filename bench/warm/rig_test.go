package warm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest"
)

const (
	secret       = "whsec_warm_profile_benchmark_only_0000"
	senderDomain = "shop.example.com"
	latencyMs    = 5
)

// rig is both functions wired as their mains wire them, against moto
// behind a latency proxy, over fresh resources.
type rig struct {
	plain    aws.Config // moto direct: set-up and feeding
	queueURL string
	// Each function through the entry point lambda.Start runs:
	// lambda.NewHandler of its Handle, bytes in, bytes out.
	ingest    lambda.Handler
	feeder    lambda.Handler // ingest without latency, to feed the processor
	processor lambda.Handler
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	ctx := context.Background()
	plain := motoserver.TestConfig(tb)
	net := chaostest.NewNetwork()
	tb.Cleanup(net.Close)
	endpoint, err := net.AddProxy("aws", aws.ToString(plain.BaseEndpoint))
	if err != nil {
		tb.Fatal(err)
	}
	if err := net.Apply(chaostest.Fault{Proxy: "aws", Toxics: []chaostest.Toxic{{
		Name: "latency", Type: "latency", Stream: "downstream", Toxicity: 1,
		Attributes: map[string]int64{"latency": latencyMs},
	}}}); err != nil {
		tb.Fatal(err)
	}
	r := &rig{plain: plain}
	db := dynamodb.NewFromConfig(plain)
	eventsTable, ordersTable := motoserver.UniqueName(tb, "events"), motoserver.UniqueName(tb, "orders")
	if err := ddbevents.CreateTable(ctx, db, eventsTable); err != nil {
		tb.Fatal(err)
	}
	if err := ddborders.CreateTable(ctx, db, ordersTable); err != nil {
		tb.Fatal(err)
	}
	q := motoserver.UniqueName(tb, "q")
	if r.queueURL, _, err = sqsqueue.CreateQueues(ctx, sqs.NewFromConfig(plain), q, q+"-dlq", 5, 180*time.Second); err != nil {
		tb.Fatal(err)
	}
	secretID := motoserver.UniqueName(tb, "secret")
	if _, err := secretsmanager.NewFromConfig(plain).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(secretID), SecretString: aws.String(secret),
	}); err != nil {
		tb.Fatal(err)
	}
	if _, err := sesv2.NewFromConfig(plain).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(senderDomain)}); err != nil {
		tb.Fatal(err)
	}
	bus := motoserver.UniqueName(tb, "bus")
	if _, err := eventbridge.NewFromConfig(plain).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		tb.Fatal(err)
	}

	// As functions/<name>/main.go builds them: LoadDefaultConfig (here with
	// the emulator's endpoint and keys), the JSON log handler at INFO, EMF.
	slow, err := motoserver.AWSConfig(ctx, endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	icfg, err := ingestapp.Load(env(map[string]string{
		"EVENTS_TABLE": eventsTable, "QUEUE_URL": r.queueURL, "WEBHOOK_SECRET_ID": secretID,
	}))
	if err != nil {
		tb.Fatal(err)
	}
	ih, err := ingestapp.New(ctx, icfg, slow, log, io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	r.ingest = lambda.NewHandler(ih.Handle)
	fcfg, err := ingestapp.Load(env(map[string]string{
		"EVENTS_TABLE": eventsTable, "QUEUE_URL": r.queueURL, "WEBHOOK_SECRETS": secret,
	}))
	if err != nil {
		tb.Fatal(err)
	}
	fh, err := ingestapp.New(ctx, fcfg, plain, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		tb.Fatal(err)
	}
	r.feeder = lambda.NewHandler(fh.Handle)
	pcfg, err := processorapp.Load(env(map[string]string{
		"EVENTS_TABLE": eventsTable, "ORDERS_TABLE": ordersTable,
		"SENDER_EMAIL": "orders@" + senderDomain, "EVENT_BUS_NAME": bus, "MAX_CONCURRENCY": "10",
	}))
	if err != nil {
		tb.Fatal(err)
	}
	plog := slog.New(sqsbatch.LogHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))
	r.processor = lambda.NewHandler(processorapp.New(pcfg, slow, plog, io.Discard).Handle)
	return r
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// ingestEvent is a fresh, freshly signed payment.succeeded as the HTTP API
// delivers it.
func ingestEvent(tb testing.TB) []byte {
	tb.Helper()
	now := time.Now()
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded}, now)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := rie.HTTPEvent(ev.Body, signature.Sign([]byte(secret), now, ev.Body), now)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func accepted(resp []byte) error {
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(resp, &r); err != nil || r.StatusCode != http.StatusOK || !bytes.Contains([]byte(r.Body), []byte(`"accepted"`)) {
		return fmt.Errorf("ingest did not accept the event: %s", resp)
	}
	return nil
}

// batches ingests n batches of size events through the feeder and returns
// their SQS events, as the event source mapping would hand them over.
func (r *rig) batches(tb testing.TB, n, size int) [][]byte {
	tb.Helper()
	ctx := context.Background()
	client := sqs.NewFromConfig(r.plain)
	var out [][]byte
	for range n {
		for range size {
			resp, err := r.feeder.Invoke(ctx, ingestEvent(tb))
			if err != nil {
				tb.Fatal(err)
			}
			if err := accepted(resp); err != nil {
				tb.Fatal(err)
			}
		}
		var recs []events.SQSMessage
		for range 20 {
			got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(r.queueURL), MaxNumberOfMessages: int32(min(10, size-len(recs))),
				MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"},
			})
			if err != nil {
				tb.Fatal(err)
			}
			for _, m := range got.Messages {
				rec := events.SQSMessage{
					MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
					Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs",
					MessageAttributes: map[string]events.SQSMessageAttribute{},
				}
				for k, a := range m.MessageAttributes {
					rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: a.StringValue, DataType: aws.ToString(a.DataType)}
				}
				recs = append(recs, rec)
				if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
					tb.Fatal(err)
				}
			}
			if len(recs) >= size {
				break
			}
		}
		if len(recs) != size {
			tb.Fatalf("queue returned %d messages, want %d", len(recs), size)
		}
		b, err := json.Marshal(events.SQSEvent{Records: recs})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func processed(resp []byte, want int) error {
	var r events.SQSEventResponse
	if err := json.Unmarshal(resp, &r); err != nil || r.BatchItemFailures == nil || len(r.BatchItemFailures) > 0 {
		return fmt.Errorf("processor did not process the batch of %d: %s", want, resp)
	}
	return nil
}

// purge empties the ingest queue (moto's SendMessage slows as it grows).
func (r *rig) purge(tb testing.TB) {
	tb.Helper()
	if _, err := sqs.NewFromConfig(r.plain).PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(r.queueURL)}); err != nil {
		tb.Fatal(err)
	}
}
