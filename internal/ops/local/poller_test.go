package local_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

type queues struct {
	client   *sqs.Client
	url, dlq string
}

func newQueues(t *testing.T, maxReceive int, visibility time.Duration) queues {
	t.Helper()
	client := sqs.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "q")
	url, dlq, err := sqsqueue.CreateQueues(context.Background(), client, name, name+"-dlq", maxReceive, visibility)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range []string{url, dlq} {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return queues{client: client, url: url, dlq: dlq}
}

func (q queues) send(t *testing.T, body string) {
	t.Helper()
	_, err := q.client.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
		MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"event_id":    {DataType: aws.String("String"), StringValue: aws.String("evt_" + body)},
			"received_at": {DataType: aws.String("Number"), StringValue: aws.String("1795795201000")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// left counts the messages still in the queue at url, visible or not.
func (q queues) left(t *testing.T, url string) int {
	t.Helper()
	out, err := q.client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, _ := strconv.Atoi(v)
		n += k
	}
	return n
}

// recorder is a handler that records every record and fails those whose
// body is in fail.
type recorder struct {
	mu   sync.Mutex
	seen []events.SQSMessage
	fail map[string]bool
}

func (r *recorder) handle(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	resp := events.SQSEventResponse{}
	for _, m := range ev.Records {
		r.seen = append(r.seen, m)
		if r.fail[m.Body] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func (r *recorder) records() []events.SQSMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.SQSMessage(nil), r.seen...)
}

func newPoller(t *testing.T, q queues, h local.SQSHandler) *local.Poller {
	t.Helper()
	p, err := local.NewPoller(context.Background(), q.client, q.url, h)
	if err != nil {
		t.Fatal(err)
	}
	p.WaitTime = time.Second
	p.Logger = slog.New(slog.DiscardHandler)
	return p
}

func TestMessagesAreHandledAndDeleted(t *testing.T) {
	q := newQueues(t, 5, 30*time.Second)
	for i := range 3 {
		q.send(t, fmt.Sprint("m", i))
	}
	rec := &recorder{}
	p := newPoller(t, q, rec.handle)
	for i := 0; i < 10 && len(rec.records()) < 3; i++ {
		if _, err := p.PollOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := rec.records()
	if len(got) != 3 {
		t.Fatalf("handled %d of 3 messages", len(got))
	}
	arn, err := sqsqueue.QueueARN(context.Background(), q.client, q.url)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range got {
		if m.MessageId == "" || m.ReceiptHandle == "" || m.Md5OfBody == "" {
			t.Errorf("record lacks ids: %+v", m)
		}
		if m.EventSource != "aws:sqs" || m.EventSourceARN != arn || m.AWSRegion != motoserver.Region {
			t.Errorf("record source %s %s %s", m.EventSource, m.EventSourceARN, m.AWSRegion)
		}
		if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" {
			t.Errorf("system attributes %v", m.Attributes)
		}
		id := m.MessageAttributes["event_id"]
		if id.StringValue == nil || *id.StringValue != "evt_"+m.Body || id.DataType != "String" {
			t.Errorf("event_id attribute %+v", id)
		}
		if ra := m.MessageAttributes["received_at"]; ra.DataType != "Number" || ra.StringValue == nil || *ra.StringValue != "1795795201000" {
			t.Errorf("received_at attribute %+v", ra)
		}
	}
	if n := q.left(t, q.url); n != 0 {
		t.Errorf("%d messages left in the queue after success", n)
	}
}

func TestFailedMessageReturnsThenGoesToTheDLQ(t *testing.T) {
	const maxReceive = 2
	q := newQueues(t, maxReceive, time.Second)
	q.send(t, "bad")
	q.send(t, "good")
	rec := &recorder{fail: map[string]bool{"bad": true}}
	p := newPoller(t, q, rec.handle)
	ctx, cancel := context.WithCancel(context.Background())
	var runErr error
	stopped := make(chan struct{})
	go func() { runErr = p.Run(ctx); close(stopped) }()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	eventually(t, 30*time.Second, "the failing message never reached the DLQ", func() bool { return q.left(t, q.dlq) == 1 })
	cancel()
	<-stopped
	if runErr != nil {
		t.Errorf("Run returned %v on cancel", runErr)
	}
	var counts []string
	good := 0
	for _, m := range rec.records() {
		if m.Body == "bad" {
			counts = append(counts, m.Attributes["ApproximateReceiveCount"])
		} else {
			good++
		}
	}
	if len(counts) != maxReceive || counts[0] != "1" || counts[1] != "2" {
		t.Errorf("the failing message's receive counts: want [1 2], got %v", counts)
	}
	if good != 1 {
		t.Errorf("the good message was handled %d times", good)
	}
	if n := q.left(t, q.url); n != 0 {
		t.Errorf("%d messages left in the main queue", n)
	}
}

func TestWholeBatchFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler local.SQSHandler
	}{
		{"handler error", func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("crash")
		}},
		{"unknown identifier", func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "nope"}}}, nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueues(t, 5, 30*time.Second)
			q.send(t, "m")
			p := newPoller(t, q, tc.handler)
			var err error
			for i := 0; i < 5; i++ {
				var n int
				if n, err = p.PollOnce(context.Background()); n > 0 {
					break
				}
			}
			if !errors.Is(err, local.ErrBatchFailed) {
				t.Fatalf("want ErrBatchFailed, got %v", err)
			}
			if n := q.left(t, q.url); n != 1 {
				t.Errorf("want the message kept, %d left", n)
			}
		})
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	q := newQueues(t, 5, 30*time.Second)
	p := newPoller(t, q, (&recorder{}).handle)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop after cancel")
	}
}
