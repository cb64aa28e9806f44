package sqsqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 123_000_000, time.UTC)

// newQueues creates a fresh queue pair for the test and deletes it after.
func newQueues(t *testing.T, maxReceive int, visibility time.Duration) (client *sqs.Client, url, dlqURL string) {
	t.Helper()
	ctx := context.Background()
	client = sqs.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "events")
	url, dlqURL, err := sqsqueue.CreateQueues(ctx, client, name, name+"-dlq", maxReceive, visibility)
	if err != nil {
		t.Fatalf("CreateQueues: %v", err)
	}
	t.Cleanup(func() {
		for _, u := range []string{url, dlqURL} {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return client, url, dlqURL
}

// receive takes at most one message from url, with every attribute, and
// makes it visible again at once (ReceiveMessage cannot ask for a zero
// visibility timeout: the SDK leaves a zero out).
func receive(t *testing.T, client *sqs.Client, url string) (types.Message, bool) {
	t.Helper()
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl:              aws.String(url),
		MaxNumberOfMessages:   1,
		MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(out.Messages) == 0 {
		return types.Message{}, false
	}
	msg := out.Messages[0]
	_, err = client.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(url), ReceiptHandle: msg.ReceiptHandle, VisibilityTimeout: 0,
	})
	if err != nil {
		t.Fatalf("ChangeMessageVisibility: %v", err)
	}
	return msg, true
}

func TestSendReceive(t *testing.T) {
	tests := []struct {
		name      string
		msg       eventrecord.Message
		wantAttrs map[string]string // name → DataType:value
	}{
		{
			name: "event",
			msg: eventrecord.Message{
				EventID: "evt_3PqL8fA1x9Kd2mZ0", Type: "payment.succeeded", ReceivedAt: t0,
				Body: []byte("{\n  \"id\": \"evt_3PqL8fA1x9Kd2mZ0\",\t\"note\": \"caf\u00e9 \u2603 \U0001F600\"  }\r\n"),
			},
			wantAttrs: map[string]string{
				eventrecord.AttrEventID:    "String:evt_3PqL8fA1x9Kd2mZ0",
				eventrecord.AttrType:       "String:payment.succeeded",
				eventrecord.AttrReceivedAt: fmt.Sprintf("Number:%d", t0.UnixMilli()),
			},
		},
		{
			name: "replay",
			msg:  eventrecord.Message{EventID: "evt_r", Type: "refund.completed", ReceivedAt: t0, Body: []byte(`{"id":"evt_r"}`), Replay: true},
			wantAttrs: map[string]string{
				eventrecord.AttrEventID:    "String:evt_r",
				eventrecord.AttrType:       "String:refund.completed",
				eventrecord.AttrReceivedAt: fmt.Sprintf("Number:%d", t0.UnixMilli()),
				eventrecord.AttrReplay:     "String:true",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, url, _ := newQueues(t, 5, 30*time.Second)
			q := sqsqueue.New(client, url)
			if err := q.Send(context.Background(), tc.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got, ok := receive(t, client, url)
			if !ok {
				t.Fatal("no message received")
			}
			if aws.ToString(got.Body) != string(tc.msg.Body) {
				t.Errorf("body:\n got %q\nwant %q", aws.ToString(got.Body), tc.msg.Body)
			}
			attrs := map[string]string{}
			for k, v := range got.MessageAttributes {
				attrs[k] = aws.ToString(v.DataType) + ":" + aws.ToString(v.StringValue)
			}
			if fmt.Sprint(attrs) != fmt.Sprint(tc.wantAttrs) {
				t.Errorf("attributes:\n got %v\nwant %v", attrs, tc.wantAttrs)
			}
			back, err := sqsqueue.FromSDK(got)
			if err != nil {
				t.Fatalf("FromSDK: %v", err)
			}
			if back.EventID != tc.msg.EventID || back.Type != tc.msg.Type || !back.ReceivedAt.Equal(tc.msg.ReceivedAt) ||
				string(back.Body) != string(tc.msg.Body) || back.Replay != tc.msg.Replay {
				t.Errorf("FromSDK: got %+v, want %+v", back, tc.msg)
			}
		})
	}
}

func TestSendRefusesBodies(t *testing.T) {
	client, url, _ := newQueues(t, 5, 30*time.Second)
	q := sqsqueue.New(client, url)
	tests := []struct {
		name    string
		msg     eventrecord.Message
		wantErr error
	}{
		{"not UTF-8", eventrecord.Message{EventID: "e", Body: []byte{'{', 0xff, '}'}}, sqsqueue.ErrInvalidBody},
		{"NUL", eventrecord.Message{EventID: "e", Body: []byte("{\x00}")}, sqsqueue.ErrInvalidBody},
		{"U+FFFF", eventrecord.Message{EventID: "e", Body: []byte("{\uffff}")}, sqsqueue.ErrInvalidBody},
		{"empty", eventrecord.Message{EventID: "e"}, sqsqueue.ErrInvalidBody},
		{"no event id", eventrecord.Message{Body: []byte("{}")}, sqsqueue.ErrMissingAttribute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := q.Send(context.Background(), tc.msg); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Send: got %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, ok := receive(t, client, url); ok {
		t.Error("a refused message reached the queue")
	}
}

func TestFromSQS(t *testing.T) {
	tests := []struct {
		name    string
		attrs   map[string]string
		want    eventrecord.Message
		wantErr error
	}{
		{
			name:  "all attributes",
			attrs: map[string]string{"event_id": "evt_1", "event_type": "payment.failed", "received_at": fmt.Sprint(t0.UnixMilli()), "replay": "true"},
			want:  eventrecord.Message{EventID: "evt_1", Type: "payment.failed", ReceivedAt: t0, Body: []byte("{}"), Replay: true},
		},
		{
			name:  "only the id",
			attrs: map[string]string{"event_id": "evt_1"},
			want:  eventrecord.Message{EventID: "evt_1", Body: []byte("{}")},
		},
		{
			name:    "no id",
			attrs:   map[string]string{"event_type": "payment.failed"},
			want:    eventrecord.Message{Type: "payment.failed", Body: []byte("{}")},
			wantErr: sqsqueue.ErrMissingAttribute,
		},
		{
			name:    "bad received time",
			attrs:   map[string]string{"event_id": "evt_1", "received_at": "1.5e12"},
			want:    eventrecord.Message{EventID: "evt_1", Body: []byte("{}")},
			wantErr: sqsqueue.ErrBadAttribute,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqsqueue.FromSQS("{}", tc.attrs)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("FromSQS error: got %v, want %v", err, tc.wantErr)
			}
			if got.EventID != tc.want.EventID || got.Type != tc.want.Type || !got.ReceivedAt.Equal(tc.want.ReceivedAt) ||
				string(got.Body) != string(tc.want.Body) || got.Replay != tc.want.Replay {
				t.Errorf("FromSQS: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCreateQueuesRedrive(t *testing.T) {
	const maxReceive = 2
	client, url, dlqURL := newQueues(t, maxReceive, 30*time.Second)
	if err := sqsqueue.New(client, url).Send(context.Background(), eventrecord.Message{EventID: "evt_dead", Body: []byte(`{"id":"evt_dead"}`)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	received := 0
	for range 10 * maxReceive {
		if _, ok := receive(t, client, url); !ok {
			break
		}
		received++
	}
	if received != maxReceive {
		t.Errorf("received %d times from the main queue, want %d", received, maxReceive)
	}
	var dead types.Message
	var ok bool
	for range 10 {
		if dead, ok = receive(t, client, dlqURL); ok {
			break
		}
	}
	if !ok {
		t.Fatal("the message never reached the dead-letter queue")
	}
	if m, err := sqsqueue.FromSDK(dead); err != nil || m.EventID != "evt_dead" {
		t.Errorf("dead letter: got %+v, %v; want evt_dead", m, err)
	}
}

func TestCreateQueuesIdempotent(t *testing.T) {
	ctx := context.Background()
	client := sqs.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "events")
	var urls [3][2]string
	for i, visibility := range []time.Duration{30 * time.Second, 30 * time.Second, 90 * time.Second} {
		u, d, err := sqsqueue.CreateQueues(ctx, client, name, name+"-dlq", 5, visibility)
		if err != nil {
			t.Fatalf("CreateQueues #%d: %v", i+1, err)
		}
		urls[i] = [2]string{u, d}
	}
	t.Cleanup(func() {
		for _, u := range urls[0] {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	if urls[0] != urls[1] || urls[0] != urls[2] {
		t.Errorf("URLs differ between calls: %v", urls)
	}
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(urls[0][0]),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if v := out.Attributes["VisibilityTimeout"]; v != "90" {
		t.Errorf("VisibilityTimeout %q, want 90 (the last call's)", v)
	}
	dlqARN, err := sqsqueue.QueueARN(ctx, client, urls[0][1])
	if err != nil {
		t.Fatalf("QueueARN: %v", err)
	}
	var policy struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(out.Attributes["RedrivePolicy"]), &policy); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", out.Attributes["RedrivePolicy"], err)
	}
	if policy.DeadLetterTargetArn != dlqARN || fmt.Sprint(policy.MaxReceiveCount) != "5" {
		t.Errorf("RedrivePolicy %+v, want target %s and 5 receives", policy, dlqARN)
	}
}

func TestCreateQueuesRejectsBadArguments(t *testing.T) {
	client := sqs.NewFromConfig(motoserver.TestConfig(t))
	tests := []struct {
		name       string
		maxReceive int
		visibility time.Duration
	}{
		{"no receives", 0, time.Minute},
		{"negative visibility", 5, -time.Second},
		{"visibility over 12h", 5, 13 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := motoserver.UniqueName(t, "bad")
			if _, _, err := sqsqueue.CreateQueues(context.Background(), client, name, name+"-dlq", tc.maxReceive, tc.visibility); err == nil {
				t.Fatal("CreateQueues: want an error, got none")
			}
		})
	}
}

func TestSendToClosedPort(t *testing.T) {
	port, err := motoserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := motoserver.TestConfig(t)
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(fmt.Sprintf("http://127.0.0.1:%d", port))
		o.RetryMaxAttempts = 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/000000000000/events", port)
	err = sqsqueue.New(client, url).Send(ctx, eventrecord.Message{EventID: "evt_1", Body: []byte("{}")})
	if err == nil {
		t.Fatal("Send to a closed port: want an error, got none")
	}
	if !strings.Contains(err.Error(), "evt_1") {
		t.Errorf("error %q does not name the event", err)
	}
}
