package sqsbatch_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// Issue 17, "What must hold" 1, and DESIGN, Processor 4: "A downstream
// quota (SES's sending rate, EventBridge, DynamoDB throttling) defers an
// effect; it never spends a message's receives into the DLQ."
//
// How it breaks: a refund's order write is one TransactWriteItems
// (ddborders.transact). When DynamoDB throttles it, the service does not
// answer ThrottlingException or ProvisionedThroughputExceededException: it
// cancels the transaction, TransactionCanceledException with the
// cancellation reason ThrottlingError (the answer injected here, byte for
// byte as the service sends it, at the processor's DynamoDB HTTP client).
// ddborders returns that error as is, and awserr classifies it transient
// by its reasons (awserr.Classify, classifyCancellation), but
// awserr.IsThrottle only looks at the error's code,
// "TransactionCanceledException", which is not among the SDK's throttle
// codes. So QuotaDeferral does not take the record: it is reported failed,
// spends a receive, and a refund throttled on five receives in a row (a
// flash sale's refunds on a hot order table, 15 minutes) is dead-lettered.
// The payment path (UpdateItem, ProvisionedThroughputExceededException) is
// deferred; the refund path is not.
//
// A fix: awserr.IsThrottle also reports a TransactionCanceledException
// whose reasons are all None, ConditionalCheckFailed-free and at least one
// ThrottlingError (or ProvisionedThroughputExceeded), as a throttle.
func TestRefundThrottledByDynamoDBIsDeferredNotDeadLettered(t *testing.T) {
	w, faults, _ := newFaultyWired(t)
	ctx := context.Background()
	url, _, err := sqsqueue.CreateQueues(ctx, w.sqs, motoserver.UniqueName(t, "q"), motoserver.UniqueName(t, "dlq"), 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The deferral as processorapp wires it.
	w.handler.Defer = &sqsbatch.QuotaDeferral{Queue: sqsqueue.New(w.sqs, url), IsThrottle: awserr.IsThrottle, Logger: slog.New(slog.DiscardHandler)}

	tests := []struct {
		name string
		// op is the order write DynamoDB throttles; answer its answer.
		op, answer string
	}{
		// The control: a payment's UpdateItem throttled is deferred.
		{"the payment's update throttled (control)", "UpdateItem",
			`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`},
		{"the refund's transaction, the order item throttled", "TransactWriteItems", canceled("None", "ThrottlingError")},
		{"the refund's transaction, the refund item throttled", "TransactWriteItems", canceled("ThrottlingError", "None")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			order := testevents.NewID("ord_")
			payment := "pay_" + order
			id, ev := w.event(t, testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: payment}, 5)
			if tc.op == "TransactWriteItems" {
				w.deliver(t, ev)
				id, ev = w.event(t, testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Amount: 100}, 4)
			}
			faults.set(func(op string, body []byte) fault {
				if op == tc.op && bytes.Contains(body, []byte(order)) {
					return answer
				}
				return pass
			}, tc.answer)
			failed := w.handleOnce(t, ev)
			faults.set(nil, "")
			if len(failed) != 0 {
				t.Errorf("DynamoDB throttled the order write (%s): batch item failures %v; want the record deferred (acknowledged, a delayed copy queued), not a receive spent towards the DLQ",
					tc.op, failed)
			}
			out, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
				WaitTimeSeconds: 3, MessageAttributeNames: []string{"All"}})
			if err != nil {
				t.Fatal(err)
			}
			copies := 0
			for _, m := range out.Messages {
				if a, ok := m.MessageAttributes[eventrecord.AttrEventID]; ok && aws.ToString(a.StringValue) == id {
					copies++
				}
				_, _ = w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			}
			if copies != 1 {
				t.Errorf("the events queue holds %d delayed copies of the throttled event %s, want 1", copies, id)
			}
		})
	}
}
