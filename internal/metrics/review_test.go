package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// pausedSES is SES with the account's sending paused (bounce or complaint
// rate review): every send fails with SendingPausedException, a passing
// state the sender defers (awserr: transient).
type pausedSES struct{}

func (pausedSES) Send(context.Context, handlers.Email) error {
	return fmt.Errorf("send email: %w", &sestypes.SendingPausedException{Message: aws.String("Sending is paused for this account.")})
}

// capture keeps the jobs the sender defers, with their delays.
type capture struct {
	mu  sync.Mutex
	got []emailjob.Job
	d   []time.Duration
}

func (c *capture) Requeue(_ context.Context, j emailjob.Job, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got, c.d = append(c.got, j), append(c.d, d)
	return nil
}

// Issue 17: "the backlog's age is a metric with an alarm"; the runbook's
// EmailWaitAlarm: "a job SES throttled is queued again as a new message
// whose SQS age restarts, so the queue's oldest message can look young
// while customers still wait" — and EmailAge is meant to catch that.
//
// But EmailAge is emitted only when an email is sent. When nothing is sent
// (SES sending paused; likewise a daily quota used up, for a backlog too
// small to pass EmailThrottledAlarm's 100 per 5 minutes), a customer's
// email waits for hours with every email alarm OK: EmailAge has no data
// (TreatMissingData notBreaching), each deferral restarts the job's SQS
// age (at most 15 minutes, under EmailBacklogAgeAlarm's threshold), and
// EmailDeferred, the one metric the stall emits, has no alarm. The first
// alarm is the email DLQ's, after about a day of deferrals.
//
// The processor as processorapp builds it with an email queue; one job's
// deliveries are replayed for two hours of deferrals (its delays summed,
// as the email queue would hold it), and what the template alarms on is
// compared with what the stall emits.
func TestStalledEmailBacklogAlarms(t *testing.T) {
	const emailARN = "arn:aws:sqs:us-east-1:123456789012:emails"
	var buf bytes.Buffer
	q := &capture{}
	cfg := processorapp.Config{EventsTable: "events", OrdersTable: "orders", SenderEmail: "orders@example.com",
		EmailQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/emails", EmailQueueARN: emailARN,
		EmailSendRate: 1000, EmailSenderConcurrency: 1}
	h := processorapp.NewWithTestHooks(cfg, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler), &buf, processorapp.TestHooks{
		SenderMailer: func(handlers.Mailer) handlers.Mailer { return pausedSES{} },
		Deliveries:   func(emailjob.Deliveries) emailjob.Deliveries { return deliveries{} },
		Requeue:      func(emailjob.Queue) emailjob.Queue { return q },
	})

	job := emailjob.Job{EventID: "evt_paused", QueuedAt: time.Now(),
		Email: handlers.Email{To: "buyer@example.org", Subject: "s", Text: "t", Template: "payment_confirmation", OrderID: "ord_p", EventID: "evt_paused"}}
	const stall = 2 * time.Hour
	var waited, longestOnQueue time.Duration
	for round := 0; waited < stall; round++ {
		if round > 500 {
			t.Fatalf("%d deliveries and only %s of deferrals", round, waited)
		}
		body, err := sqsemail.Encode(job)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprint("j", round), Body: body,
			EventSourceARN: emailARN, MessageAttributes: map[string]events.SQSMessageAttribute{
				eventrecord.AttrBodyEncoding: {StringValue: aws.String(eventrecord.BodyBase64), DataType: "String"}}}}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d after %s: %v, failures %v; want the job deferred", round, waited, err, resp.BatchItemFailures)
		}
		q.mu.Lock()
		if len(q.got) != round+1 {
			q.mu.Unlock()
			t.Fatalf("delivery %d: %d deferrals recorded, want %d", round, len(q.got), round+1)
		}
		job = q.got[round]
		d := q.d[round]
		q.mu.Unlock()
		waited += d
		longestOnQueue = max(longestOnQueue, d)
	}

	tpl, err := iamtest.Translate(context.Background(), "../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	threshold := func(alarm string) float64 {
		t.Helper()
		res, ok := tpl.Resources[alarm]
		if !ok {
			t.Fatalf("template has no %s", alarm)
		}
		switch v := res.Properties["Threshold"].(type) {
		case float64:
			return v
		case int:
			return float64(v)
		}
		t.Fatalf("%s threshold %v", alarm, res.Properties["Threshold"])
		return 0
	}
	// The SQS age alarm: a deferred job is a new message, so no message
	// is older than its own delay.
	sqsAgeFires := longestOnQueue.Seconds() > threshold("EmailBacklogAgeAlarm")

	alarmed := map[string]string{}
	for _, r := range templateRefs(t, "../../template.yaml") {
		if name, ok := strings.CutPrefix(r.where, "alarm "); ok {
			alarmed[r.key] = name
		}
	}
	got := emitted(t, buf.Bytes())
	var watching []string
	for key := range got {
		if name, ok := alarmed[key]; ok {
			watching = append(watching, name+" on "+key)
		}
	}
	if !sqsAgeFires && len(watching) == 0 {
		t.Errorf("a customer email waited %s (deferred %d times, SES sending paused) and no alarm watches anything that happened: "+
			"the stall emitted %v, none of them alarmed; the longest SQS age was %s, under EmailBacklogAgeAlarm's %v s; "+
			"EmailWaitAlarm's EmailAge is emitted only when an email is sent",
			waited, job.Deferrals, keys(got), longestOnQueue, threshold("EmailBacklogAgeAlarm"))
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
