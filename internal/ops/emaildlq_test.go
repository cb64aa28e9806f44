package ops_test

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// The customer's data an email job carries, which no peek may show.
const (
	jobRecipient = "jane.doe+orders@example.com"
	jobSubject   = "Your payment for order ord_77 was received"
	jobText      = "Dear Jane Doe, we received 129.90 EUR."
)

// emailJob is a job as the processor's email step queues it; deferred
// ones as a sender's deferral queues them again (a claim token, a count
// and the copy's due time).
func emailJob(id string, deferrals int) emailjob.Job {
	j := emailjob.Job{
		EventID:  id,
		QueuedAt: baseT0,
		Email: handlers.Email{To: jobRecipient, Subject: jobSubject, Text: jobText, HTML: "<p>" + jobText + "</p>",
			Template: "payment_confirmation", OrderID: "ord_77", EventID: id},
	}
	if deferrals > 0 {
		j.Deferrals, j.DeferredUntil, j.Token = deferrals, baseT0.Add(time.Hour), "tok_"+id
	}
	return j
}

// putJobs puts jobs on the dead-letter queue at url as the email queue's
// adapter writes them (dead-lettering keeps a message's body and
// attributes).
func putJobs(t *testing.T, client *sqs.Client, url string, jobs ...emailjob.Job) {
	t.Helper()
	q := sqsemail.New(client, url)
	for _, j := range jobs {
		if err := q.Requeue(context.Background(), j, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// Peek at the email dead-letter queue shows each job's event, template,
// first queuing and deferrals, and none of the email's content.
func TestPeekEmailJobs(t *testing.T) {
	e := newEnv(t)
	putJobs(t, e.sqs, e.dlqURL, emailJob("evt_m1", 0), emailJob("evt_m2", 7))
	// A message that is not a job (the sender leaves those for the DLQ).
	if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(e.dlqURL), MessageBody: aws.String(`{"to":"` + jobRecipient + `"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{eventrecord.AttrEventID: {DataType: aws.String("String"), StringValue: aws.String("evt_bad")}},
	}); err != nil {
		t.Fatal(err)
	}
	d := &ops.DLQ{Client: e.sqs, URL: e.dlqURL, QueueURL: e.url, Describe: ops.DescribeEmailJob}
	msgs, err := d.Peek(context.Background(), 0)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	type view struct {
		template  string
		deferrals int
		problem   bool
	}
	want := map[string]view{
		"evt_m1":  {template: "payment_confirmation"},
		"evt_m2":  {template: "payment_confirmation", deferrals: 7},
		"evt_bad": {problem: true},
	}
	got := map[string]view{}
	for _, m := range msgs {
		got[m.EventID] = view{template: m.Template, deferrals: m.Deferrals, problem: m.Problem != ""}
		if m.Template != "" && !m.QueuedAt.Equal(baseT0) {
			t.Errorf("%s: queued at %v, want %v", m.EventID, m.QueuedAt, baseT0)
		}
		if m.ReceiveCount != 1 || m.SentAt.IsZero() || m.BodyBytes == 0 || m.Type != "" {
			t.Errorf("%s: %+v: want 1 receive, a sent time, a size, no event type", m.EventID, m)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("peeked %v, want %v", got, want)
	}
	out, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{jobRecipient, "jane.doe", jobSubject, jobText, "tok_evt_m2"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("peek shows %q: %s", secret, out)
		}
	}
	if strings.Contains(string(out), `"received_at"`) || strings.Contains(string(out), `"type"`) {
		t.Errorf("an email job's peek has an event's fields: %s", out)
	}
}

// A manual redrive puts every message back with its body and message
// attributes unchanged, whatever the queue: an events deferral's copy
// keeps deferred_since and deferred_until, an email job its attributes and
// its body (deferrals, due time, claim token).
func TestRedriveKeepsAttributes(t *testing.T) {
	tests := []struct {
		name string
		put  func(t *testing.T, e env)
		// must is the attributes some message must carry, so that
		// "unchanged" is not met by attributes lost on both sides.
		must []string
	}{
		{name: "events: a deferral's copy and a replay", put: func(t *testing.T, e env) {
			dlq := sqsqueue.New(e.sqs, e.dlqURL)
			for _, m := range []eventrecord.Message{
				{EventID: "evt_def", Type: "payment.succeeded", ReceivedAt: baseT0, Body: []byte(`{"id":"evt_def"}`),
					DeferredSince: baseT0.Add(time.Minute), DeferredUntil: baseT0.Add(20 * time.Minute)},
				{EventID: "evt_rep", Type: "refund.completed", ReceivedAt: baseT0, Body: []byte(`{"id":"evt_rep"}`), Replay: true},
			} {
				if err := dlq.Send(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
		}, must: []string{eventrecord.AttrDeferredSince, eventrecord.AttrDeferredUntil, eventrecord.AttrReplay, eventrecord.AttrReceivedAt}},
		{name: "email jobs: new and deferred", put: func(t *testing.T, e env) {
			putJobs(t, e.sqs, e.dlqURL, emailJob("evt_m1", 0), emailJob("evt_m2", 100))
		}, must: []string{eventrecord.AttrEventID, eventrecord.AttrBodyEncoding}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.put(t, e)
			before := map[string]map[string]string{} // body → attributes
			for _, m := range drain(t, e.sqs, e.dlqURL) {
				before[aws.ToString(m.Body)] = attrs(m)
				if _, err := e.sqs.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.dlqURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
			if len(before) != 2 {
				t.Fatalf("%d messages in the DLQ, want 2", len(before))
			}
			for _, name := range tc.must {
				found := false
				for _, a := range before {
					_, ok := a[name]
					found = found || ok
				}
				if !found {
					t.Fatalf("no message in the DLQ carries %s: %v", name, before)
				}
			}
			d := &ops.DLQ{Client: e.sqs, URL: e.dlqURL, QueueURL: e.url}
			if res, err := d.Redrive(context.Background(), ops.RedriveOptions{Manual: true}); err != nil || res.Moved != 2 {
				t.Fatalf("Redrive: %+v, %v; want 2 moved", res, err)
			}
			moved := drain(t, e.sqs, e.url)
			if len(moved) != 2 {
				t.Fatalf("%d messages on the source queue, want 2", len(moved))
			}
			for _, m := range moved {
				want, ok := before[aws.ToString(m.Body)]
				if !ok {
					t.Errorf("moved body %q was not in the DLQ", aws.ToString(m.Body))
					continue
				}
				if got := attrs(m); !maps.Equal(got, want) {
					t.Errorf("attributes changed:\n got %v\nwant %v", got, want)
				}
			}
			if left := drain(t, e.sqs, e.dlqURL); len(left) != 0 {
				t.Errorf("%d messages left in the DLQ", len(left))
			}
		})
	}
}
