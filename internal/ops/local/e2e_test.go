package local_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// sendSigned posts body to the local front with a fresh signature.
func sendSigned(t *testing.T, st local.Stack, body []byte) (int, map[string]string) {
	t.Helper()
	return call(t, "POST", st.URL+local.WebhookPath, map[string]string{
		"Content-Type":          "application/json",
		"X-Altafinex-Signature": signature.Sign([]byte(secret), time.Now(), body),
	}, body)
}

// eventually polls cond every 100 ms for at most limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSignedRequestEndsWithOrderPaid(t *testing.T) {
	st, logs := startLocalWith(t, func(*local.Options) {})
	code, answer := sendSigned(t, st, sample(t))
	if code != 200 || answer["status"] != "accepted" {
		t.Fatalf("answer %d %v", code, answer)
	}
	store := ddborders.New(dynamodb.NewFromConfig(st.AWS), st.OrdersTable)
	var o orders.Order
	eventually(t, 20*time.Second, "order ord_1001 is not PAID", func() bool {
		var err error
		o, err = store.Get(context.Background(), "ord_1001")
		return err == nil && o.Status == orders.Paid
	})
	if o.Amount != 4999 || o.Currency != "usd" || o.LastEventID != "evt_3PqL8fA1x9Kd2mZ0" {
		t.Errorf("order %+v", o)
	}
	events := ddbevents.New(dynamodb.NewFromConfig(st.AWS), st.EventsTable)
	eventually(t, 10*time.Second, "event record is not PROCESSED", func() bool {
		r, err := events.Get(context.Background(), "evt_3PqL8fA1x9Kd2mZ0")
		return err == nil && r.Status == eventrecord.Processed
	})
	eventually(t, 10*time.Second, "the server's log does not show the paid order", func() bool {
		return strings.Contains(logs.String(), `"msg":"order"`) && strings.Contains(logs.String(), `"status":"PAID"`)
	})
	// The provider's retry of the same event is a duplicate now.
	if code, answer := sendSigned(t, st, sample(t)); code != 200 || answer["status"] != "duplicate" {
		t.Fatalf("redelivery answered %d %v, want 200 duplicate", code, answer)
	}
}

func TestFailingMessageLandsInDLQ(t *testing.T) {
	// A bus that does not exist: every publish fails transiently, so the
	// message comes back after each visibility timeout until SQS moves it.
	st, _ := startLocalWith(t, func(o *local.Options) {
		o.Visibility = time.Second
		o.Getenv = func(k string) string {
			if k == "EVENT_BUS_NAME" {
				return "no-such-bus"
			}
			return ""
		}
	})
	if code, answer := sendSigned(t, st, sample(t)); code != 200 {
		t.Fatalf("answer %d %v", code, answer)
	}
	client := sqs.NewFromConfig(st.AWS)
	var dlq []string
	eventually(t, 60*time.Second, "the message did not reach the DLQ", func() bool {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(st.DLQURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			msg, err := sqsqueue.FromSDK(m)
			if err != nil {
				t.Fatal(err)
			}
			dlq = append(dlq, string(msg.Body))
		}
		return len(dlq) > 0
	})
	if len(dlq) != 1 || dlq[0] != string(sample(t)) {
		t.Fatalf("DLQ holds %d messages, want the one raw body", len(dlq))
	}
	r, err := ddbevents.New(dynamodb.NewFromConfig(st.AWS), st.EventsTable).Get(context.Background(), "evt_3PqL8fA1x9Kd2mZ0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != eventrecord.Retrying || r.Attempts < local.MaxReceiveCount {
		t.Errorf("record %s after %d attempts, want RETRYING after at least %d", r.Status, r.Attempts, local.MaxReceiveCount)
	}
}
