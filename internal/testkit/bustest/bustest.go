// Package bustest delivers the domain events an EventBridge bus receives
// to an SQS queue, so that a test reads what the processor published from
// the emulator's own state.
package bustest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
)

// ToQueue creates the event bus called bus, a queue called bus+"-out" and
// a rule that delivers every event of the bus from ebpublish.DefaultSource
// to the queue, whole; it returns the queue's URL and deletes the queue
// when the test ends.
func ToQueue(t testing.TB, ctx context.Context, eb *eventbridge.Client, client *sqs.Client, bus string) string {
	t.Helper()
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatalf("create event bus: %v", err)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(bus + "-out")})
	if err != nil {
		t.Fatalf("create the bus's queue: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl})
	})
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatalf("the bus's queue: %v", err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(bus), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["` + ebpublish.DefaultSource + `"]}`)}); err != nil {
		t.Fatalf("put rule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(bus), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("out"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
			// The whole event, as without a transformer: moto evaluates the
			// default transformer's eight JSONPath expressions per event,
			// building a parser for each (half a second of its CPU per
			// PutEvents), and one here.
			InputTransformer: &ebtypes.InputTransformer{
				InputPathsMap: map[string]string{"type": "$.detail-type"}, InputTemplate: aws.String("<aws.events.event.json>"),
			},
		}}}); err != nil {
		t.Fatalf("put targets: %v", err)
	}
	return aws.ToString(q.QueueUrl)
}
