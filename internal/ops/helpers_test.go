package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// env is one test's events table and queues in moto.
type env struct {
	table  *ddbevents.Table
	ddb    *dynamodb.Client
	sqs    *sqs.Client
	queue  *sqsqueue.Queue
	url    string
	dlqURL string
}

func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	e := env{ddb: dynamodb.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg)}
	name := motoserver.UniqueName(t, "events")
	if err := ddbevents.CreateTable(ctx, e.ddb, name); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	e.table = ddbevents.New(e.ddb, name)
	var err error
	e.url, e.dlqURL, err = sqsqueue.CreateQueues(ctx, e.sqs, name, name+"-dlq", 5, 30*time.Second)
	if err != nil {
		t.Fatalf("CreateQueues: %v", err)
	}
	e.queue = sqsqueue.New(e.sqs, e.url)
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = e.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		for _, u := range []string{e.url, e.dlqURL} {
			_, _ = e.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return e
}

// drain receives every message of url (they stay hidden for a minute, so
// none is counted twice) with all its attributes.
func drain(t *testing.T, client *sqs.Client, url string) []types.Message {
	t.Helper()
	var all []types.Message
	for range 100 {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 0, // moto is one process: a short poll sees every visible message
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		all = append(all, out.Messages...)
	}
	t.Fatal("queue never ran dry")
	return nil
}

// attrs flattens a message's attributes to name → DataType:value.
func attrs(m types.Message) map[string]string {
	out := map[string]string{}
	for k, v := range m.MessageAttributes {
		out[k] = aws.ToString(v.DataType) + ":" + aws.ToString(v.StringValue)
	}
	return out
}

// rawBody is the event body a queue message carries, decoded as the
// processor decodes it.
func rawBody(t *testing.T, m types.Message) string {
	t.Helper()
	msg, err := sqsqueue.FromSDK(m)
	if err != nil {
		t.Fatalf("message %s: %v", aws.ToString(m.MessageId), err)
	}
	return string(msg.Body)
}
