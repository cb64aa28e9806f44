package ebpublish_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// busToQueue creates a bus whose rule forwards the receiver's events to a
// fresh queue, and returns the bus name and queue URL.
func busToQueue(t *testing.T) (string, string) {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	bus := motoserver.UniqueName(t, "bus")
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(motoserver.UniqueName(t, "q"))})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	rule := "to-queue"
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(rule), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["altafinex.webhooks"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return bus, aws.ToString(q.QueueUrl)
}

func TestPublishReachesTheBus(t *testing.T) {
	bus, queueURL := busToQueue(t)
	cfg := motoserver.TestConfig(t)
	p := ebpublish.New(eventbridge.NewFromConfig(cfg), bus)
	detail := `{"order":{"order_id":"ord_1","status":"PAID"},"source_event_id":"evt_1"}`
	err := p.Publish(context.Background(), handlers.DomainEvent{DetailType: handlers.DetailOrderPaid,
		Detail: json.RawMessage(detail), Time: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sqs.NewFromConfig(cfg).ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queueURL), WaitTimeSeconds: 2, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("want 1 event on the rule's queue, got %d", len(out.Messages))
	}
	var got struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &got); err != nil {
		t.Fatal(err)
	}
	if got.Source != ebpublish.DefaultSource || got.DetailType != handlers.DetailOrderPaid {
		t.Errorf("event %+v", got)
	}
	var d map[string]any
	if err := json.Unmarshal(got.Detail, &d); err != nil || d["source_event_id"] != "evt_1" {
		t.Errorf("detail %s (%v)", got.Detail, err)
	}
}

func TestPublishErrorsSurface(t *testing.T) {
	cfg := motoserver.TestConfig(t)
	tests := []struct {
		name   string
		client *eventbridge.Client
		bus    string
	}{
		{"bus missing", eventbridge.NewFromConfig(cfg), motoserver.UniqueName(t, "nobus")},
		{"endpoint unreachable", eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
			port, err := motoserver.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			o.BaseEndpoint = aws.String("http://127.0.0.1:" + itoa(port))
			o.RetryMaxAttempts = 1
		}), "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ebpublish.New(tc.client, tc.bus)
			err := p.Publish(context.Background(), handlers.DomainEvent{DetailType: handlers.DetailOrderRefunded, Detail: json.RawMessage(`{}`)})
			if err == nil {
				t.Fatal("want an error")
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestRefusedEntryIsAnError(t *testing.T) {
	bus, _ := busToQueue(t)
	p := ebpublish.New(eventbridge.NewFromConfig(motoserver.TestConfig(t)), bus)
	err := p.Publish(context.Background(), handlers.DomainEvent{DetailType: handlers.DetailOrderPaid, Detail: json.RawMessage(`not json`)})
	var ee *ebpublish.EntryError
	if !errors.As(err, &ee) || !errors.Is(err, ebpublish.ErrEntryFailed) {
		t.Fatalf("want *EntryError matching ErrEntryFailed, got %v", err)
	}
	if ee.Code != "MalformedDetail" || ee.DetailType != handlers.DetailOrderPaid {
		t.Errorf("entry error %+v", ee)
	}
}

func TestNop(t *testing.T) {
	if err := (ebpublish.Nop{}).Publish(context.Background(), handlers.DomainEvent{DetailType: "x"}); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
