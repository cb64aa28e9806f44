// Package sqsemail is the email queue: the processor's email step queues a
// job on it (Queue.Send, a handlers.Mailer), the email sender defers a job
// on it with a delay (Queue.Requeue), and Handler serves the queue's
// batches to an emailjob.Sender as the processor function's second SQS
// event source mapping delivers them.
//
// A job is one SQS message: its JSON (the email, the event id, when it was
// first queued, how often it was deferred in its stay on the queue, when
// that stay's first deferral was made and when the copy its deferral
// queued is due, a deferred job's claim token, and the mark of a copy
// that only records its email SENT),
// base64-encoded as the events queue's bodies are, since SQS
// refuses some characters a customer's name may hold.
package sqsemail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

var (
	_ handlers.Mailer = (*Queue)(nil)
	_ emailjob.Queue  = (*Queue)(nil)
)

// Queue is the email queue.
type Queue struct {
	client *sqs.Client
	url    string
	// Now is the clock of a job's QueuedAt (time.Now when nil).
	Now func() time.Time
}

// New returns the email queue at url.
func New(client *sqs.Client, url string) *Queue {
	return &Queue{client: client, url: url}
}

// Send queues e as a new job: the processor's email step. The email is
// sent later, by the email sender; an email SES refuses for good is
// recorded then, on the event's record.
func (q *Queue) Send(ctx context.Context, e handlers.Email) error {
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	if err := q.send(ctx, emailjob.Job{EventID: e.EventID, Email: e, QueuedAt: now()}, 0, MaxJobBytes); err != nil {
		return fmt.Errorf("queue %s email for order %s: %w", e.Template, e.OrderID, err)
	}
	return nil
}

// Requeue queues j again, delivered after delay (whole seconds, at most
// emailjob.MaxDelay). A job over MaxMessageBytes is refused with an error
// wrapping handlers.ErrUndeliverable (one Send took always fits, see
// MaxJobBytes).
func (q *Queue) Requeue(ctx context.Context, j emailjob.Job, delay time.Duration) error {
	if err := q.send(ctx, j, delay, MaxMessageBytes); err != nil {
		return fmt.Errorf("requeue %s email of event %s: %w", j.Email.Template, j.EventID, err)
	}
	return nil
}

// send queues j after delay, unless its message is over limit bytes.
func (q *Queue) send(ctx context.Context, j emailjob.Job, delay time.Duration, limit int) error {
	if j.EventID == "" {
		return errors.New("email job without an event id")
	}
	body, err := Encode(j)
	if err != nil {
		return err
	}
	attrs := map[string]types.MessageAttributeValue{
		eventrecord.AttrBodyEncoding: {DataType: aws.String("String"), StringValue: aws.String(eventrecord.BodyBase64)},
		eventrecord.AttrEventID:      {DataType: aws.String("String"), StringValue: aws.String(j.EventID)},
	}
	if n := sqsqueue.MessageSize(body, attrs); n > limit {
		return fmt.Errorf("%w: its job is %d bytes, over the email queue's %d", handlers.ErrUndeliverable, n, limit)
	}
	secs := int32(min(max(delay, 0), emailjob.MaxDelay).Round(time.Second) / time.Second)
	_, err = q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.url),
		MessageBody:       aws.String(body),
		DelaySeconds:      secs,
		MessageAttributes: attrs,
	})
	return err
}

// MaxMessageBytes is the largest message the queue takes (body and
// attributes, as SQS counts them): 256 KiB, SQS's message size before
// 2025 and moto_server's default, so a queue of any setting takes it.
const MaxMessageBytes = 256 << 10

// DeferralBytes is the most a deferral adds to a job's message: the
// fields Send's job leaves out (zero, so omitted) and a deferred copy
// carries, as JSON, then base64.
//
//	,"deferrals":<int>                 13 + 20 (an int64, its sign included) =  33
//	,"deferred_since_ms":<int64>       21 + 20                               =  41
//	,"deferred_until_ms":<int64>       21 + 20                               =  41
//	,"token":"<claim token>"           11 + emailjob.TokenLen (32, hex)      =  43
//	,"sent":true                       12                                    =  12
//	                                                                  JSON:    170
//
// Base64 turns n bytes into 4·⌈n/3⌉, and ⌈(n+k)/3⌉ ≤ ⌈n/3⌉ + ⌈k/3⌉, so
// 170 more bytes of JSON make at most 4·⌈170/3⌉ = 228 more of body; the
// attributes do not change.
const DeferralBytes = 4 * ((deferralJSONBytes + 2) / 3)

// deferralJSONBytes is the sum of DeferralBytes' table.
const deferralJSONBytes = (13 + 20) + (21 + 20) + (21 + 20) + (11 + emailjob.TokenLen) + 12

// MaxJobBytes is the largest job Send queues: MaxMessageBytes less
// DeferralBytes, so that every deferral of a job Send took fits the
// queue. The emails' texts from the payload are clipped
// (handlers.MaxEmailFieldRunes), so a job is a few KiB; only an absurd
// recipient address (RFC 5321 allows 254 bytes; the payload's is not
// bounded) makes a job larger, and that email is undeliverable: Send
// refuses its job with an error wrapping handlers.ErrUndeliverable, which
// the email step records on the event, counts and alarms
// (EmailUndeliverable), and the event ends PROCESSED. Should a deferral
// still be refused (a job queued by an earlier version, which measured it
// without that room), the sender records the email undeliverable
// (emailjob.Sender).
const MaxJobBytes = MaxMessageBytes - DeferralBytes

// wireJob is a job as the queue carries it.
type wireJob struct {
	EventID    string `json:"event_id"`
	QueuedAtMS int64  `json:"queued_at_ms"`
	Deferrals  int    `json:"deferrals,omitempty"`
	// DeferredSinceMS is when the stay's first deferral was made, and
	// DeferredUntilMS when the copy a deferral queued is due (Unix ms).
	// A job queued before deferred_since_ms existed has none: its stay
	// starts at its next deferral.
	DeferredSinceMS int64  `json:"deferred_since_ms,omitempty"`
	DeferredUntilMS int64  `json:"deferred_until_ms,omitempty"`
	Token           string `json:"token,omitempty"`
	// Sent marks a copy that only writes SENT under Token.
	Sent  bool      `json:"sent,omitempty"`
	Email wireEmail `json:"email"`
}

type wireEmail struct {
	To       string `json:"to"`
	Subject  string `json:"subject"`
	Text     string `json:"text,omitempty"`
	HTML     string `json:"html,omitempty"`
	Template string `json:"template"`
	OrderID  string `json:"order_id"`
}

// Encode returns the message body of j.
func Encode(j emailjob.Job) (string, error) {
	b, err := json.Marshal(wireJob{
		EventID: j.EventID, QueuedAtMS: j.QueuedAt.UnixMilli(), Deferrals: j.Deferrals,
		DeferredSinceMS: unixMS(j.DeferredSince), DeferredUntilMS: unixMS(j.DeferredUntil), Token: j.Token, Sent: j.Sent,
		Email: wireEmail{To: j.Email.To, Subject: j.Email.Subject, Text: j.Email.Text, HTML: j.Email.HTML,
			Template: j.Email.Template, OrderID: j.Email.OrderID},
	})
	if err != nil {
		return "", fmt.Errorf("encode email job: %w", err)
	}
	return eventrecord.EncodeBody(b), nil
}

// unixMS is t in Unix ms, 0 for the zero time.
func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the time of Unix ms ms, the zero time for 0 (or less).
func fromMS(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// ErrBadJob is the cause of a message that is not an email job.
var ErrBadJob = errors.New("not an email job")

// Decode reads the job out of a message body whose body_encoding
// attribute is encoding.
func Decode(body, encoding string) (emailjob.Job, error) {
	raw, err := eventrecord.DecodeBody([]byte(body), encoding)
	if err != nil {
		return emailjob.Job{}, fmt.Errorf("%w: %w", ErrBadJob, err)
	}
	var w wireJob
	if err := json.Unmarshal(raw, &w); err != nil {
		return emailjob.Job{}, fmt.Errorf("%w: %w", ErrBadJob, err)
	}
	if w.EventID == "" || w.Email.To == "" {
		return emailjob.Job{}, fmt.Errorf("%w: no event id or no recipient", ErrBadJob)
	}
	return emailjob.Job{
		EventID: w.EventID, QueuedAt: fromMS(w.QueuedAtMS), Deferrals: w.Deferrals,
		DeferredSince: fromMS(w.DeferredSinceMS), DeferredUntil: fromMS(w.DeferredUntilMS), Token: w.Token, Sent: w.Sent,
		Email: handlers.Email{To: w.Email.To, Subject: w.Email.Subject, Text: w.Email.Text, HTML: w.Email.HTML,
			Template: w.Email.Template, OrderID: w.Email.OrderID, EventID: w.EventID},
	}, nil
}

// Sender sends a batch of jobs (*emailjob.Sender).
type Sender interface {
	SendBatch(ctx context.Context, jobs []emailjob.Job) []emailjob.Result
}

var _ Sender = (*emailjob.Sender)(nil)

// The metrics Handler counts, besides EmailUndeliverable (the processor's
// metric for an email SES refuses, dimension Kind) and ProcessorPanic (a
// send that panicked).
const (
	// MetricSent counts emails SES accepted.
	MetricSent = "EmailSent"
	// MetricDeferred counts jobs queued again with a delay (a quota, or a
	// passing fault).
	MetricDeferred = "EmailDeferred"
	// MetricThrottled counts jobs a quota throttled (SES's sending rate,
	// DynamoDB).
	MetricThrottled = "EmailThrottled"
	// MetricAge is how long an email has waited since its first queuing,
	// in ms: at its send, and at each deferral (the wait so far), so that
	// a backlog nothing is sent from (SES sending paused, a daily quota
	// used up) shows its age too: what the customer waits beyond the
	// processing of the event. EmailWaitAlarm reads its maximum.
	MetricAge = "EmailAge"
)

// Handler serves the email queue's batches (Lambda's SQS event with
// ReportBatchItemFailures): jobs sent, duplicates and deferred ones are
// acknowledged; a job reported failed, or a message that is not a job,
// comes back after the visibility timeout and reaches the email
// dead-letter queue after the queue's maxReceiveCount.
type Handler struct {
	sender Sender
	log    *slog.Logger
	// Metrics receives the counts (nil: none).
	Metrics *metrics.EMF
}

// NewHandler returns the handler of the email queue's batches.
func NewHandler(sender Sender, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{sender: sender, log: log}
}

// Handle sends the batch's jobs and names the records to deliver again.
// The error is always nil.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	jobs := make([]emailjob.Job, 0, len(ev.Records))
	ids := make([]string, 0, len(ev.Records))
	for _, r := range ev.Records {
		enc := ""
		if a, ok := r.MessageAttributes[eventrecord.AttrBodyEncoding]; ok && a.StringValue != nil {
			enc = *a.StringValue
		}
		j, err := Decode(r.Body, enc)
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "email queue message is not a job: left for the email dead-letter queue",
				slog.String("message_id", r.MessageId), slog.String("error", err.Error()))
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			continue
		}
		if ms, err := strconv.ParseInt(r.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil && ms > 0 {
			j.SentAt = time.UnixMilli(ms).UTC()
		}
		jobs = append(jobs, j)
		ids = append(ids, r.MessageId)
	}
	results := h.sender.SendBatch(ctx, jobs)
	counts := map[emailjob.Outcome]int{}
	for i, id := range ids {
		if i >= len(results) || results[i].Outcome == emailjob.OutcomeRetry {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
		}
		if i < len(results) {
			counts[results[i].Outcome]++
			h.count(results[i])
		}
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "email batch done",
		slog.Int("records", len(ev.Records)), slog.Int("retry", len(resp.BatchItemFailures)),
		slog.Int(string(emailjob.OutcomeSent), counts[emailjob.OutcomeSent]),
		slog.Int(string(emailjob.OutcomeDuplicate), counts[emailjob.OutcomeDuplicate]),
		slog.Int(string(emailjob.OutcomeUndeliverable), counts[emailjob.OutcomeUndeliverable]),
		slog.Int(string(emailjob.OutcomeDeferred), counts[emailjob.OutcomeDeferred]))
	return resp, nil
}

func (h *Handler) count(r emailjob.Result) {
	if h.Metrics == nil {
		return
	}
	switch r.Outcome {
	case emailjob.OutcomeSent:
		h.Metrics.Count(MetricSent)
		h.Metrics.Put(MetricAge, float64(r.Age.Milliseconds()), metrics.Milliseconds)
	case emailjob.OutcomeDeferred:
		h.Metrics.Count(MetricDeferred)
		h.Metrics.Put(MetricAge, float64(r.Age.Milliseconds()), metrics.Milliseconds)
	case emailjob.OutcomeUndeliverable:
		h.Metrics.Count(handlers.MetricEmailUndeliverable, metrics.Dim{Name: "Kind", Value: handlers.KindEmailUndeliverable})
	}
	if r.Throttled {
		h.Metrics.Count(MetricThrottled)
	}
	if errors.Is(r.Err, process.ErrPanic) {
		// The processor's panic metric and alarm: the same function.
		h.Metrics.Count(sqsbatch.MetricPanic)
	}
}
