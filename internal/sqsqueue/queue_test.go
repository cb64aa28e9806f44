package sqsqueue_test

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
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
	withAttrs := func(extra map[string]string) map[string]string {
		m := map[string]string{
			eventrecord.AttrEventID:      "String:evt_3PqL8fA1x9Kd2mZ0",
			eventrecord.AttrType:         "String:payment.succeeded",
			eventrecord.AttrReceivedAt:   fmt.Sprintf("Number:%d", t0.UnixMilli()),
			eventrecord.AttrBodyEncoding: "String:base64",
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	event := func(body string) eventrecord.Message {
		return eventrecord.Message{EventID: "evt_3PqL8fA1x9Kd2mZ0", Type: "payment.succeeded", ReceivedAt: t0, Body: []byte(body)}
	}
	tests := []struct {
		name      string
		msg       eventrecord.Message
		wantAttrs map[string]string // name → DataType:value
	}{
		{
			name:      "event",
			msg:       event("{\n  \"id\": \"evt_3PqL8fA1x9Kd2mZ0\",\t\"note\": \"caf\u00e9 \u2603 \U0001F600\"  }\r\n"),
			wantAttrs: withAttrs(nil),
		},
		// Bodies SQS refuses as a raw message body: each reaches the
		// queue and comes back byte for byte.
		{name: "U+FFFF in a JSON string", msg: event("{\"note\":\"\uffff\"}"), wantAttrs: withAttrs(nil)},
		{name: "NUL", msg: event("{\x00}"), wantAttrs: withAttrs(nil)},
		{name: "not UTF-8", msg: event("{\"note\":\"Ren\xe9e\"}"), wantAttrs: withAttrs(nil)},
		{
			name:      "replay",
			msg:       eventrecord.Message{EventID: "evt_3PqL8fA1x9Kd2mZ0", Type: "payment.succeeded", ReceivedAt: t0, Body: []byte(`{"id":"evt_r"}`), Replay: true},
			wantAttrs: withAttrs(map[string]string{eventrecord.AttrReplay: "String:true"}),
		},
		{
			name: "deferred",
			msg: eventrecord.Message{EventID: "evt_3PqL8fA1x9Kd2mZ0", Type: "payment.succeeded", ReceivedAt: t0, Body: []byte(`{"id":"evt_d"}`),
				DeferredSince: t0.Add(time.Minute), DeferredUntil: t0.Add(3 * time.Minute)},
			wantAttrs: withAttrs(map[string]string{
				eventrecord.AttrDeferredSince: fmt.Sprintf("Number:%d", t0.Add(time.Minute).UnixMilli()),
				eventrecord.AttrDeferredUntil: fmt.Sprintf("Number:%d", t0.Add(3*time.Minute).UnixMilli()),
			}),
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
			// The model: standard base64 of the raw body, which SQS's
			// character rule accepts whatever the body holds.
			if want := base64.StdEncoding.EncodeToString(tc.msg.Body); aws.ToString(got.Body) != want {
				t.Errorf("message body:\n got %q\nwant %q", aws.ToString(got.Body), want)
			}
			if err := eventrecord.CheckSQSText(aws.ToString(got.Body)); err != nil {
				t.Errorf("the message body breaks SQS's character rule: %v", err)
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
				!bytes.Equal(back.Body, tc.msg.Body) || back.Replay != tc.msg.Replay {
				t.Errorf("FromSDK: got %+v, want %+v", back, tc.msg)
			}
		})
	}
}

// The largest body ingest accepts (eventrecord.MaxBodyBytes) goes through
// SQS with room to spare; a body whose message would pass SQS's 1 MiB is
// refused before SQS is called.
func TestSendSizes(t *testing.T) {
	client, url, _ := newQueues(t, 5, 30*time.Second)
	q := sqsqueue.New(client, url)
	id := strings.Repeat("e", 255)
	typ := strings.Repeat("t", 255)
	big := bytes.Repeat([]byte{0xff}, eventrecord.MaxBodyBytes)
	if err := q.Send(context.Background(), eventrecord.Message{EventID: id, Type: typ, ReceivedAt: t0, Body: big, Replay: true}); err != nil {
		t.Fatalf("Send of a %d-byte body: %v", len(big), err)
	}
	got, ok := receive(t, client, url)
	if !ok {
		t.Fatal("no message received")
	}
	back, err := sqsqueue.FromSDK(got)
	if err != nil || !bytes.Equal(back.Body, big) {
		t.Fatalf("FromSDK: %v; body of %d bytes, want the %d sent", err, len(back.Body), len(big))
	}
	// base64 of n bytes is 4*ceil(n/3) bytes.
	over := make([]byte, (sqsqueue.MaxMessageBytes/4)*3+1)
	err = q.Send(context.Background(), eventrecord.Message{EventID: "evt_over", Body: over})
	if !errors.Is(err, sqsqueue.ErrTooLarge) {
		t.Fatalf("Send of a %d-byte body: got %v, want ErrTooLarge", len(over), err)
	}
}

func TestSendRefuses(t *testing.T) {
	client, url, _ := newQueues(t, 5, 30*time.Second)
	q := sqsqueue.New(client, url)
	tests := []struct {
		name    string
		msg     eventrecord.Message
		wantErr error
	}{
		{"empty", eventrecord.Message{EventID: "e"}, sqsqueue.ErrInvalidBody},
		{"no event id", eventrecord.Message{Body: []byte("{}")}, sqsqueue.ErrMissingAttribute},
		// SQS applies its character rule to String attribute values too;
		// moto does not, so Send does.
		{"control character in the event id", eventrecord.Message{EventID: "evt_\u0001", Body: []byte("{}")}, sqsqueue.ErrBadAttribute},
		{"U+FFFF in the type", eventrecord.Message{EventID: "e", Type: "payment.\uffff", Body: []byte("{}")}, sqsqueue.ErrBadAttribute},
		{"invalid UTF-8 in the event id", eventrecord.Message{EventID: "evt_\xff", Body: []byte("{}")}, sqsqueue.ErrBadAttribute},
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
		body    string
		attrs   map[string]string
		want    eventrecord.Message
		wantErr error
	}{
		{
			name:  "all attributes",
			body:  "e30=",
			attrs: map[string]string{"event_id": "evt_1", "event_type": "payment.failed", "received_at": fmt.Sprint(t0.UnixMilli()), "replay": "true", "body_encoding": "base64"},
			want:  eventrecord.Message{EventID: "evt_1", Type: "payment.failed", ReceivedAt: t0, Body: []byte("{}"), Replay: true},
		},
		{
			name:  "a message of an earlier version: the raw body, no encoding",
			body:  "{}",
			attrs: map[string]string{"event_id": "evt_1"},
			want:  eventrecord.Message{EventID: "evt_1", Body: []byte("{}")},
		},
		{
			name:    "no id",
			body:    "{}",
			attrs:   map[string]string{"event_type": "payment.failed"},
			want:    eventrecord.Message{Type: "payment.failed", Body: []byte("{}")},
			wantErr: sqsqueue.ErrMissingAttribute,
		},
		{
			name:    "bad received time",
			body:    "{}",
			attrs:   map[string]string{"event_id": "evt_1", "received_at": "1.5e12"},
			want:    eventrecord.Message{EventID: "evt_1", Body: []byte("{}")},
			wantErr: sqsqueue.ErrBadAttribute,
		},
		{
			name:    "base64 that does not decode: the body as it came",
			body:    "{}",
			attrs:   map[string]string{"event_id": "evt_1", "body_encoding": "base64"},
			want:    eventrecord.Message{EventID: "evt_1", Body: []byte("{}")},
			wantErr: eventrecord.ErrBodyEncoding,
		},
		{
			name:    "unknown encoding",
			body:    "e30=",
			attrs:   map[string]string{"event_id": "evt_1", "body_encoding": "gzip"},
			want:    eventrecord.Message{EventID: "evt_1", Body: []byte("e30=")},
			wantErr: eventrecord.ErrBodyEncoding,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sqsqueue.FromSQS(tc.body, tc.attrs)
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
