package sqsemail_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// A job comes back from its message as it went: the deferral's count,
// stamps and token included (SQS's time is the receiver's to add).
func TestEncodeDecode(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	email := handlers.Email{To: "buyer@example.org", Subject: "Order ord_1: payment confirmed", Text: "t", HTML: "<p>t</p>",
		Template: "payment_confirmation", OrderID: "ord_1", EventID: "evt_1"}
	tests := []struct {
		name string
		job  emailjob.Job
	}{
		{"new", emailjob.Job{EventID: "evt_1", Email: email, QueuedAt: t0}},
		{"deferred", emailjob.Job{EventID: "evt_1", Email: email, QueuedAt: t0, Deferrals: 3, DeferredSince: t0.Add(10 * time.Second),
			DeferredUntil: t0.Add(time.Minute), Token: "tok"}},
		{"sent, its SENT record to write", emailjob.Job{EventID: "evt_1", Email: email, QueuedAt: t0, Deferrals: 1, DeferredSince: t0,
			DeferredUntil: t0.Add(time.Second), Token: "tok", Sent: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := sqsemail.Encode(tc.job)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sqsemail.Decode(body, eventrecord.BodyBase64)
			if err != nil {
				t.Fatal(err)
			}
			if got.EventID != tc.job.EventID || got.Email != tc.job.Email || !got.QueuedAt.Equal(tc.job.QueuedAt) ||
				got.Deferrals != tc.job.Deferrals || !got.DeferredSince.Equal(tc.job.DeferredSince) || !got.DeferredUntil.Equal(tc.job.DeferredUntil) ||
				got.Token != tc.job.Token || got.Sent != tc.job.Sent || !got.SentAt.IsZero() {
				t.Errorf("decoded %+v\nwant %+v", got, tc.job)
			}
		})
	}
}

// DESIGN ingest 1: every path carries what ingest accepts. Every text of
// the payload an email shows, as large as the largest body ingest accepts
// (eventrecord.MaxBodyBytes) and made of the characters that grow most
// once escaped, still makes a job under MaxJobBytes; the order id, which
// the retry link shows whole, is at most the orders table's 2,048-byte
// key (DynamoDB's limit; the order step comes first).
func TestLargestPaymentsEmailFits(t *testing.T) {
	huge := strings.Repeat(`'<&"`, eventrecord.MaxBodyBytes/4)
	id := strings.Repeat(`"`, 2048)
	o := orders.Order{ID: id, CustomerEmail: "buyer@example.org", CustomerName: huge, FailureMessage: huge,
		Amount: 1999, Currency: huge, RefundedTotal: 100, Status: orders.Paid}
	for _, e := range []handlers.Email{handlers.ConfirmationEmail(o), handlers.FailureEmail(o, 1999, huge, handlers.RetryURL("", id)),
		handlers.RefundEmail(o, huge, 100, huge)} {
		e.EventID = "evt_" + strings.Repeat("x", eventrecord.MaxIDBytes-4)
		body, err := sqsemail.Encode(emailjob.Job{EventID: e.EventID, Email: e, QueuedAt: time.Now(), Deferrals: 99,
			DeferredUntil: time.Now(), Token: strings.Repeat("f", 32)})
		if err != nil {
			t.Fatal(err)
		}
		// Attributes: body_encoding and the event id, names and types.
		size := len(body) + len("body_encoding") + len("String") + len("base64") + len("event_id") + len("String") + len(e.EventID)
		if size > sqsemail.MaxJobBytes {
			t.Errorf("%s: job of %d bytes, over %d", e.Template, size, sqsemail.MaxJobBytes)
		}
		t.Logf("%s: largest job %d bytes", e.Template, size)
	}
}

// A job that could still not fit (only an absurd recipient address makes
// one) is refused before SQS as undeliverable: the email step records it
// on the event and the event is not failed.
func TestOversizedJobIsUndeliverable(t *testing.T) {
	s := newStack(t)
	e := handlers.Email{To: strings.Repeat("a", sqsemail.MaxJobBytes) + "@example.org", Subject: "s", Text: "t",
		Template: handlers.TemplatePaymentConfirmation, OrderID: "ord_1", EventID: "evt_big"}
	if err := s.queue.Send(context.Background(), e); !errors.Is(err, handlers.ErrUndeliverable) {
		t.Errorf("Send: %v, want an error wrapping handlers.ErrUndeliverable", err)
	}
}

// DeferralBytes bounds what a deferral adds to a job Send queues: every
// field a deferred copy carries at its longest (the count and times at
// their most digits, a token of the Sender's length, the sent mark),
// whatever the email's size (so base64's padding falls every way).
func TestDeferralBytesBound(t *testing.T) {
	attrs := func(id string) map[string]types.MessageAttributeValue {
		return map[string]types.MessageAttributeValue{
			eventrecord.AttrBodyEncoding: {DataType: aws.String("String"), StringValue: aws.String(eventrecord.BodyBase64)},
			eventrecord.AttrEventID:      {DataType: aws.String("String"), StringValue: aws.String(id)},
		}
	}
	size := func(j emailjob.Job) int {
		body, err := sqsemail.Encode(j)
		if err != nil {
			t.Fatal(err)
		}
		return sqsqueue.MessageSize(body, attrs(j.EventID))
	}
	// The earliest time whose Unix ms has the most digits (and a sign).
	longest := time.UnixMilli(math.MinInt64 + 1)
	most := 0
	for n := range 6 {
		e := handlers.Email{To: strings.Repeat("b", n) + "@example.org", Subject: "s", Text: "t", Template: "payment_confirmation",
			OrderID: "ord_1", EventID: "evt_1"}
		job := emailjob.Job{EventID: e.EventID, Email: e, QueuedAt: time.Now()}
		deferred := job
		deferred.Deferrals, deferred.DeferredSince, deferred.DeferredUntil = math.MinInt, longest, longest
		deferred.Token, deferred.Sent = strings.Repeat("f", emailjob.TokenLen), true
		grew := size(deferred) - size(job)
		most = max(most, grew)
		if grew > sqsemail.DeferralBytes {
			t.Errorf("recipient of %d bytes: a deferral adds %d bytes, over DeferralBytes %d", len(e.To), grew, sqsemail.DeferralBytes)
		}
	}
	t.Logf("a deferral adds at most %d bytes (DeferralBytes %d)", most, sqsemail.DeferralBytes)
}
