package ops_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

func output(k, v string) cftypes.Output {
	return cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)}
}

func TestResourcesFromOutputs(t *testing.T) {
	got := ops.ResourcesFromOutputs([]cftypes.Output{
		output("WebhookUrl", "https://x"),
		output(ops.OutputEventsTable, "stk-events"),
		output(ops.OutputQueueURL, "https://sqs/q"),
		output(ops.OutputDLQURL, "https://sqs/dlq"),
		output(ops.OutputOrdersTable, "stk-orders"),
		output("EmailQueueUrl", "https://sqs/eq"),
		output("EmailDLQUrl", "https://sqs/edlq"),
	})
	want := ops.Resources{EventsTable: "stk-events", QueueURL: "https://sqs/q", DLQURL: "https://sqs/dlq", OrdersTable: "stk-orders",
		EmailQueueURL: "https://sqs/eq", EmailDLQURL: "https://sqs/edlq"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestResourcesMergeAndCheck(t *testing.T) {
	base := ops.Resources{EventsTable: "a", QueueURL: "q", EmailQueueURL: "eq"}
	merged := base.Merge(ops.Resources{EventsTable: "b", DLQURL: "d", EmailDLQURL: "ed"})
	if want := (ops.Resources{EventsTable: "b", QueueURL: "q", DLQURL: "d", EmailQueueURL: "eq", EmailDLQURL: "ed"}); merged != want {
		t.Errorf("Merge: got %+v, want %+v", merged, want)
	}
	tests := []struct {
		name    string
		need    ops.Need
		wantErr string // "" wants nil
	}{
		{"all present", ops.NeedEventsTable | ops.NeedQueue | ops.NeedDLQ, ""},
		{"orders missing", ops.NeedEventsTable | ops.NeedOrdersTable, ops.OutputOrdersTable},
		{"email queues present", ops.NeedEmailQueue | ops.NeedEmailDLQ, ""},
		{"nothing needed", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := merged.Check(tc.need)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, ops.ErrMissingResource) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Check: got %v, want ErrMissingResource naming %s", err, tc.wantErr)
			}
		})
	}
	// The email queues' outputs, named as template.yaml names them.
	err := ops.Resources{DLQURL: "d"}.Check(ops.NeedEmailQueue | ops.NeedEmailDLQ | ops.NeedDLQ)
	if !errors.Is(err, ops.ErrMissingResource) || !strings.HasSuffix(err.Error(), ": EmailQueueUrl, EmailDLQUrl") {
		t.Errorf("Check without the email queues: got %v, want ErrMissingResource naming EmailQueueUrl, EmailDLQUrl", err)
	}
}

// moto runs CloudFormation: a stack with literal outputs stands in for the
// deployed SAM stack.
func TestStackResources(t *testing.T) {
	ctx := context.Background()
	cf := cloudformation.NewFromConfig(motoserver.TestConfig(t))
	stack := motoserver.UniqueName(t, "stk")
	queue := motoserver.UniqueName(t, "q")
	template := fmt.Sprintf(`{
  "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": %q}}},
  "Outputs": {
    "EventsTableName": {"Value": "stk-events"},
    "EventsQueueUrl": {"Value": {"Ref": "Queue"}},
    "EventsDLQUrl": {"Value": "https://sqs.example/dlq"},
    "OrdersTableName": {"Value": "stk-orders"},
    "WebhookUrl": {"Value": "https://example.com/api/webhooks/payment"}
  }
}`, queue)
	if _, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(template)}); err != nil {
		t.Fatalf("CreateStack: %v", err)
	}
	t.Cleanup(func() {
		_, _ = cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(stack)})
	})
	got, err := ops.StackResources(ctx, cf, stack)
	if err != nil {
		t.Fatalf("StackResources: %v", err)
	}
	if got.EventsTable != "stk-events" || got.DLQURL != "https://sqs.example/dlq" || got.OrdersTable != "stk-orders" ||
		!strings.HasSuffix(got.QueueURL, "/"+queue) {
		t.Errorf("got %+v: want the stack's outputs, queue URL ending /%s", got, queue)
	}

	_, err = ops.StackResources(ctx, cf, motoserver.UniqueName(t, "absent"))
	if !errors.Is(err, ops.ErrStackNotFound) {
		t.Errorf("absent stack: got %v, want ErrStackNotFound", err)
	}
}

func TestLocalResources(t *testing.T) {
	ctx := context.Background()
	client := sqs.NewFromConfig(motoserver.TestConfig(t))
	names := ops.LocalNames{EventsTable: "ev", Queue: motoserver.UniqueName(t, "q"), DLQ: motoserver.UniqueName(t, "dlq"), OrdersTable: "or",
		EmailQueue: motoserver.UniqueName(t, "eq"), EmailDLQ: motoserver.UniqueName(t, "edlq")}
	var urls []string
	for _, n := range []string{names.Queue, names.DLQ, names.EmailQueue, names.EmailDLQ} {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(n)})
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, aws.ToString(out.QueueUrl))
		t.Cleanup(func() { _, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
	}
	tests := []struct {
		name    string
		names   ops.LocalNames
		known   ops.Resources
		need    ops.Need
		want    ops.Resources
		wantErr error
	}{
		{name: "table only: no queue lookups", names: ops.LocalNames{EventsTable: "ev", Queue: "absent", DLQ: "absent"}, need: ops.NeedEventsTable,
			want: ops.Resources{EventsTable: "ev"}},
		{name: "queues looked up", names: names, need: ops.NeedQueue | ops.NeedDLQ,
			want: ops.Resources{EventsTable: "ev", OrdersTable: "or", QueueURL: urls[0], DLQURL: urls[1]}},
		{name: "known URL kept", names: names, known: ops.Resources{EventsTable: "mine", QueueURL: "http://given"}, need: ops.NeedQueue | ops.NeedDLQ,
			want: ops.Resources{EventsTable: "mine", OrdersTable: "or", QueueURL: "http://given", DLQURL: urls[1]}},
		{name: "email queues looked up", names: names, need: ops.NeedEmailQueue | ops.NeedEmailDLQ,
			want: ops.Resources{EventsTable: "ev", OrdersTable: "or", EmailQueueURL: urls[2], EmailDLQURL: urls[3]}},
		{name: "known email URL kept", names: names, known: ops.Resources{EmailDLQURL: "http://given"}, need: ops.NeedEmailQueue | ops.NeedEmailDLQ,
			want: ops.Resources{EventsTable: "ev", OrdersTable: "or", EmailQueueURL: urls[2], EmailDLQURL: "http://given"}},
		{name: "absent queue", names: ops.LocalNames{Queue: motoserver.UniqueName(t, "absent")}, need: ops.NeedQueue, wantErr: ops.ErrQueueNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ops.LocalResources(ctx, client, tc.names, tc.known, tc.need)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
