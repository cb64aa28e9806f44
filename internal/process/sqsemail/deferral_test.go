package sqsemail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// SES accepted an email and DynamoDB throttled its SENT write: the job is
// acknowledged and a copy marked sent, with the claim's token, is queued
// on the email queue. Delivered after the claim's lease, that copy writes
// SENT (FinishEmail's condition is the token, not the lease) without a
// send, and a duplicate of the job queued by the email step finds SENT.
// Real events table and email queue on moto_server.
func TestThrottledSentWriteIsRecordedByItsSentCopy(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := time.Now().UTC()
	const id = "evt_sent_copy"
	s.processed(t, id, now)
	email := handlers.Email{To: "buyer@example.org", Subject: "Order ord_s: payment confirmed", Text: "paid", Template: "payment_confirmation",
		OrderID: "ord_s", EventID: id}
	for range 2 { // the email step ran twice
		if err := s.queue.Send(ctx, email); err != nil {
			t.Fatal(err)
		}
	}
	jobs := s.receive(t, 2)
	mail := &ses{sent: map[string]int{}}

	first := newSender(throttledFinish{s.table}, mail, s.queue)
	if resp, err := sqsemail.NewHandler(first, nil).Handle(ctx, events.SQSEvent{Records: jobs[:1]}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("first job: %+v, %v; want it acknowledged", resp, err)
	}
	copies := s.receive(t, 1)
	j, err := sqsemail.Decode(copies[0].Body, eventrecord.BodyBase64)
	if err != nil || !j.Sent || j.Token == "" {
		t.Fatalf("the queued copy: %+v (%v); want marked sent, with the claim's token", j, err)
	}

	later := newSender(s.table, mail, s.queue)
	after := now.Add(emailjob.DefaultLease + time.Minute)
	later.Now = func() time.Time { return after }
	for _, rec := range []events.SQSMessage{copies[0], jobs[1]} { // the sent copy, then the duplicate
		if resp, err := sqsemail.NewHandler(later, nil).Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}}); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%+v, %v; want it acknowledged", resp, err)
		}
	}
	rec, err := s.table.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	mail.mu.Lock()
	sent := mail.sent[id]
	mail.mu.Unlock()
	if sent != 1 || rec.Email.Status != eventrecord.EmailSent || rec.Email.Attempts != 1 {
		t.Errorf("SES accepted %d emails, delivery %s after %d claims; want 1, SENT after 1", sent, rec.Email.Status, rec.Email.Attempts)
	}
}

// A job queued by the previous version, which measured it without room
// for a deferral's fields: it fits the queue, but once deferred it would
// not. SES throttles it; the deferral is refused as undeliverable, and the
// email is recorded UNDELIVERABLE (counted and alarmed) instead of being
// retried into the email dead-letter queue. Real events table and email
// queue on moto_server.
func TestJobTooLargeToDeferIsRecordedUndeliverable(t *testing.T) {
	ctx := context.Background()
	s := newStack(t)
	now := time.Now().UTC()
	const id = "evt_too_large_to_defer"
	s.processed(t, id, now)
	email := handlers.Email{Subject: "Order ord_l: payment confirmed", Text: "paid", Template: "payment_confirmation", OrderID: "ord_l", EventID: id}
	attrs := map[string]types.MessageAttributeValue{
		eventrecord.AttrBodyEncoding: {DataType: aws.String("String"), StringValue: aws.String(eventrecord.BodyBase64)},
		eventrecord.AttrEventID:      {DataType: aws.String("String"), StringValue: aws.String(id)},
	}
	var body string
	for n := sqsemail.MaxMessageBytes * 3 / 4; ; n-- { // the longest recipient whose job fits the queue
		email.To = strings.Repeat("a", n) + "@example.org"
		b, err := sqsemail.Encode(emailjob.Job{EventID: id, Email: email, QueuedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		if sqsqueue.MessageSize(b, attrs) <= sqsemail.MaxMessageBytes {
			body = b
			break
		}
	}
	if _, err := s.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.queueURL), MessageBody: aws.String(body), MessageAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	mail := &ses{throttleFirst: 1, sent: map[string]int{}}
	resp, err := sqsemail.NewHandler(newSender(s.table, mail, s.queue), nil).Handle(ctx, events.SQSEvent{Records: s.receive(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.table.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 0 || rec.Email.Status != eventrecord.EmailUndeliverable {
		t.Errorf("batch item failures %v, email %s; want none, UNDELIVERABLE", resp.BatchItemFailures, rec.Email.Status)
	}
}
