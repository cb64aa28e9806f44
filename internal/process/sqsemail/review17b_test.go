package sqsemail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// Issue 17, "What must hold" 1: no message reaches the DLQ because a
// downstream quota was hit; DESIGN, Orders: an email that can never be
// sent "is recorded on the event, counted and alarmed".
//
// How it breaks: Queue.Send (the email step) refuses a job over
// MaxJobBytes as undeliverable, but measures the job as first queued: no
// token, no deferral count, no deferred_until_ms. A deferral (Requeue)
// adds those (about 90 bytes of JSON, 120 of base64). A job that fit
// within those last bytes when queued (the payload's recipient address is
// not bounded; everything else is clipped) is queued, claimed, and
// throttled by SES; its deferral is then refused by the same size check,
// deferJob reports it failed (OutcomeRetry), and every later delivery
// meets its live claim, whose deferral is refused again. Throttled on its
// receives, it goes to the email DLQ, and its record stays SENDING: never
// UNDELIVERABLE, never counted. Real events table and email queue on
// moto_server; SES throttles once.
//
// A fix: Send refuses (as undeliverable) a job that would not fit once
// deferred (measure it with a token, a deferral count and a due time),
// or the sender records a job Requeue refuses as undeliverable
// (errors.Is(err, handlers.ErrUndeliverable)) instead of reporting it
// failed.
func TestJobNearTheSizeLimitThrottledIsNotDeadLettered(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := time.Now().UTC()
	const id = "evt_near_limit"
	s.processed(t, id, now)

	email := handlers.Email{Subject: "Order ord_n: payment confirmed", Text: "paid", HTML: "<p>paid</p>", Template: "payment_confirmation",
		OrderID: "ord_n", EventID: id}
	attrs := map[string]types.MessageAttributeValue{
		eventrecord.AttrBodyEncoding: {DataType: aws.String("String"), StringValue: aws.String(eventrecord.BodyBase64)},
		eventrecord.AttrEventID:      {DataType: aws.String("String"), StringValue: aws.String(id)},
	}
	size := func(j emailjob.Job) int {
		body, err := sqsemail.Encode(j)
		if err != nil {
			t.Fatal(err)
		}
		return sqsqueue.MessageSize(body, attrs)
	}
	// The longest recipient whose job, as the email step queues it, fits.
	for n := sqsemail.MaxJobBytes * 3 / 4; ; n-- {
		email.To = strings.Repeat("a", n) + "@example.org"
		if size(emailjob.Job{EventID: id, Email: email, QueuedAt: now}) <= sqsemail.MaxJobBytes {
			break
		}
	}
	if err := s.queue.Send(ctx, email); err != nil {
		t.Fatalf("the email step's queuing: %v", err)
	}

	mail := &ses{throttleFirst: 1, sent: map[string]int{}}
	h := sqsemail.NewHandler(newSender(s.table, mail, s.queue), nil)
	msg := s.receive(t, 1)
	// The first receive SES throttles; the second (the same message, as
	// SQS brings a record reported failed back) meets the first's claim.
	for receive := 1; receive <= 2; receive++ {
		resp, err := h.Handle(ctx, events.SQSEvent{Records: msg})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := s.table.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.BatchItemFailures) != 0 {
			t.Errorf("receive %d, after SES throttled the job once: batch item failures %v (its deferral was refused for size), email %s; want it deferred, or recorded UNDELIVERABLE, not a receive spent towards the email DLQ",
				receive, resp.BatchItemFailures, rec.Email.Status)
		}
	}
}

// throttledFinish is the events table with its SENT writes throttled, as
// DynamoDB answers a hot table or partition.
type throttledFinish struct {
	emailjob.Deliveries
}

func (throttledFinish) FinishEmail(context.Context, string, string, eventrecord.EmailStatus, string, time.Time) error {
	return &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException", Message: "The level of configured provisioned throughput for the table was exceeded."}
}
