package sqsbatch_test

import (
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// DESIGN, Processor 4: "A downstream quota (SES's sending rate,
// EventBridge, DynamoDB throttling) defers an effect; it never spends a
// message's receives into the DLQ"; issue 17: "No message reaches the DLQ
// because a downstream quota was hit."
//
// QuotaDeferral bounds its deferrals by the message's age since ingest
// (received_at), not by how long it has been deferred. A message redriven
// from the dead-letter queue keeps its received_at (the move task and
// webhookctl's redrive both carry the attributes over), and the runbook's
// answer to DLQDepthAlarm is to fix the cause and redrive, typically hours
// or days later: a redrive of thousands of messages is itself a burst.
// When EventBridge (or DynamoDB) throttles such a message its first
// time, it is not deferred at all: it is reported failed and spends a
// receive, and five throttles send it straight back to the DLQ. Under the
// function's own IAM policy, on moto_server.
func TestThrottledRedrivenEventIsDeferred(t *testing.T) {
	r := newQuotaRig(t)
	fnDDB := dynamodb.NewFromConfig(r.fnCfg)
	quiet := slog.New(slog.DiscardHandler)
	proc := &process.Processor{
		Events: ddbevents.New(fnDDB, r.eventsTable),
		Handlers: handlers.Default(handlers.Deps{Orders: ddborders.New(fnDDB, r.ordersTable).WithRefundsTable(r.ordersTable + ddborders.RefundsTableSuffix),
			Mailer: &sesmail.LogMailer{Logger: quiet}, Publisher: throttledPublisher{}, Logger: quiet}),
		IsPermanent: awserr.IsPermanent, Logger: quiet,
	}
	h := sqsbatch.New(proc, quiet)
	h.Defer = &sqsbatch.QuotaDeferral{Queue: sqsqueue.New(sqs.NewFromConfig(r.fnCfg), r.eventsURL), IsThrottle: awserr.IsThrottle, Logger: quiet}
	s := &stack{prefix: "redrive" + fmt.Sprint(time.Now().UnixNano()%100000)}
	eventID, _, body := s.payment(t, 1, nil)
	rec := record("m1", eventID, "payment.succeeded", body)
	// Received by ingest two days ago, dead-lettered, redriven today.
	received := rec.MessageAttributes[eventrecord.AttrReceivedAt]
	old := strconv.FormatInt(time.Now().Add(-48*time.Hour).UnixMilli(), 10)
	received.StringValue = &old
	rec.MessageAttributes[eventrecord.AttrReceivedAt] = received

	failed := (&stack{handler: h}).handle(t, rec)
	if len(failed) != 0 {
		t.Errorf("batch item failures %v: a redriven event EventBridge throttled spent a receive towards the DLQ instead of being deferred", failed)
	}
	if msgs := r.receive(t, r.eventsURL, 2); len(msgs) != 1 || msgs[0].attrs[eventrecord.AttrEventID] != eventID {
		t.Errorf("events queue holds %d messages, want the throttled event deferred on it", len(msgs))
	}
}
