package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// SQSAPI is the part of the SQS client the dead-letter queue commands use.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, optFns ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, optFns ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
}

var _ SQSAPI = (*sqs.Client)(nil)

// ErrMoveTaskUnsupported reports that the endpoint has no
// StartMessageMoveTask (moto_server, for one); Redrive then moves by hand.
var ErrMoveTaskUnsupported = errors.New("StartMessageMoveTask not supported by this endpoint")

// ErrMoveTaskFailed is returned by Redrive when SQS reports the move task
// failed.
var ErrMoveTaskFailed = errors.New("message move task failed")

// Defaults of DLQ.
const (
	DefaultPeekVisibility = 15 * time.Second
	DefaultMoveVisibility = 60 * time.Second
	DefaultMaxMessages    = 1000
	DefaultTaskWait       = 2 * time.Minute
	defaultTaskPoll       = 2 * time.Second
	receiveWait           = 1 // seconds of long polling, so an empty answer means empty
)

// DLQ is a dead-letter queue and the queue its messages came from: the
// events queue's (the default) or the email queue's (Describe set to
// DescribeEmailJob). Moving a message does not depend on what it holds:
// its body and message attributes go back unchanged.
type DLQ struct {
	Client   SQSAPI
	URL      string // the dead-letter queue
	QueueURL string // its source queue, where redrive puts messages back
	// Describe is what Peek shows of a message: DescribeEvent when nil,
	// DescribeEmailJob for the email dead-letter queue.
	Describe func(types.Message) DLQMessage
	// PeekVisibility hides peeked messages while Peek collects them; they
	// are made visible again before Peek returns. Default 15 s.
	PeekVisibility time.Duration
	// MoveVisibility hides a message between its receive and its delete
	// during a manual redrive. Default 60 s.
	MoveVisibility time.Duration
	// TaskPoll is the interval at which Redrive checks a move task.
	// Default 2 s.
	TaskPoll time.Duration
}

// DLQMessage is one dead letter as Peek shows it: never the body itself,
// only its size, since it holds the customer's data (a payment's
// details, an email's recipient and text).
type DLQMessage struct {
	MessageID    string    `json:"message_id"`
	EventID      string    `json:"event_id"`
	Type         string    `json:"type,omitempty"` // the event's type; empty for an email job
	ReceiveCount int       `json:"receive_count"`
	SentAt       time.Time `json:"sent_at"`
	ReceivedAt   time.Time `json:"received_at,omitzero"` // when ingest received the event
	Replay       bool      `json:"replay"`
	BodyBytes    int       `json:"body_bytes"`        // the event's raw body (an email job's JSON), decoded from the message
	Problem      string    `json:"problem,omitempty"` // attributes or a body that do not decode
	// Template, QueuedAt and Deferrals describe an email job: the kind of
	// email, when the processor first queued it, and how often a sender
	// deferred it in its last stay on the email queue.
	Template  string    `json:"template,omitempty"`
	QueuedAt  time.Time `json:"queued_at,omitzero"`
	Deferrals int       `json:"deferrals,omitempty"`
}

// Peek lists up to max messages of the dead-letter queue without consuming
// them: each is received with a short visibility timeout, and every one is
// made visible again (ChangeMessageVisibility 0) before Peek returns, even
// on an error. Peeking counts as a receive in ReceiveCount.
func (d *DLQ) Peek(ctx context.Context, max int) ([]DLQMessage, error) {
	if max <= 0 {
		max = DefaultMaxMessages
	}
	describe := d.Describe
	if describe == nil {
		describe = DescribeEvent
	}
	seen := map[string]bool{}
	var msgs []DLQMessage
	var handles []*string
	defer func() {
		// Release with a context of its own: the caller's may be done.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, h := range handles {
			_, _ = d.Client.ChangeMessageVisibility(rctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(d.URL), ReceiptHandle: h, VisibilityTimeout: 0,
			})
		}
	}()
	// Each round either finds a new message or ends the loop, but a
	// message may come back to a later round: bound the rounds anyway.
	for round := 0; len(msgs) < max && round < max+10; round++ {
		out, err := d.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(d.URL),
			MaxNumberOfMessages:         int32(min(10, max-len(msgs))),
			VisibilityTimeout:           int32(orDefault(d.PeekVisibility, DefaultPeekVisibility) / time.Second),
			WaitTimeSeconds:             receiveWait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return msgs, fmt.Errorf("peek dead-letter queue: %w", err)
		}
		fresh := 0
		for _, m := range out.Messages {
			handles = append(handles, m.ReceiptHandle)
			id := aws.ToString(m.MessageId)
			if seen[id] || len(msgs) >= max {
				continue
			}
			seen[id] = true
			fresh++
			msgs = append(msgs, describe(m))
		}
		if fresh == 0 {
			break
		}
	}
	return msgs, nil
}

// DescribeEvent is what Peek shows of a message of the events queue
// (sqsqueue): its event's id and type, when ingest received it, whether
// it is a replay, and its body's size.
func DescribeEvent(m types.Message) DLQMessage {
	dm := describeSQS(m)
	em, err := sqsqueue.FromSDK(m)
	if err != nil {
		dm.Problem = err.Error()
	}
	dm.BodyBytes = len(em.Body) // the raw body's size, decoded
	dm.EventID, dm.Type, dm.Replay, dm.ReceivedAt = em.EventID, em.Type, em.Replay, em.ReceivedAt
	return dm
}

// DescribeEmailJob is what Peek shows of a message of the email queue
// (sqsemail): its event's id, the email's template, when it was first
// queued, its deferrals and its size; never the recipient, the subject
// or the text.
func DescribeEmailJob(m types.Message) DLQMessage {
	dm := describeSQS(m)
	dm.EventID = eventIDOf(m)
	enc := ""
	if v, ok := m.MessageAttributes[eventrecord.AttrBodyEncoding]; ok {
		enc = aws.ToString(v.StringValue)
	}
	raw, err := eventrecord.DecodeBody([]byte(aws.ToString(m.Body)), enc)
	if err != nil {
		raw = []byte(aws.ToString(m.Body))
	}
	dm.BodyBytes = len(raw)
	j, err := sqsemail.Decode(aws.ToString(m.Body), enc)
	if err != nil {
		// The error names what does not decode, never the job's content.
		dm.Problem = err.Error()
		return dm
	}
	dm.EventID, dm.Template, dm.QueuedAt, dm.Deferrals = j.EventID, j.Email.Template, j.QueuedAt, j.Deferrals
	return dm
}

// describeSQS is what SQS says of any message: its id, receives and
// when it was sent.
func describeSQS(m types.Message) DLQMessage {
	dm := DLQMessage{MessageID: aws.ToString(m.MessageId)}
	attrs := m.Attributes
	if n, err := strconv.Atoi(attrs[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		dm.ReceiveCount = n
	}
	if ms, err := strconv.ParseInt(attrs[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		dm.SentAt = time.UnixMilli(ms).UTC()
	}
	return dm
}

// RedriveMethod says how Redrive moved the messages.
type RedriveMethod string

// The ways Redrive moves messages.
const (
	MoveTask RedriveMethod = "move_task" // SQS StartMessageMoveTask
	ByHand   RedriveMethod = "manual"    // receive, send, delete
)

// RedriveOptions tune Redrive.
type RedriveOptions struct {
	// Max bounds the messages moved by hand. Default 1000.
	Max int
	// Manual skips StartMessageMoveTask.
	Manual bool
	// TaskWait bounds the wait for a move task to finish. Default 2 min.
	TaskWait time.Duration
	// Progress, when set, is called after each message moved by hand.
	Progress func(moved int)
}

// RedriveResult reports a redrive.
type RedriveResult struct {
	Method     RedriveMethod `json:"method"`
	Moved      int64         `json:"moved"`
	TaskHandle string        `json:"task_handle,omitempty"`
	// Running is true when the move task had not finished within TaskWait:
	// Moved is how far it had got.
	Running bool `json:"running,omitempty"`
	// Fallback says why the move task was not used, when it was tried.
	Fallback string `json:"fallback,omitempty"`
}

// Redrive moves the dead letters back to their source queue. It starts an SQS
// message move task where the endpoint has one and waits for it (up to
// TaskWait); where it has none it moves them by hand, one at a time:
// receive from the dead-letter queue, send to the source queue with the
// same body and message attributes (an event's deferred_since and
// deferred_until, an email job's body_encoding and event_id), then delete
// from the dead-letter queue. In that order nothing is lost: a crash
// between the send and the delete leaves the message in both queues, and
// the processor's claim drops the second copy (the email sender's claim,
// for an email job).
func (d *DLQ) Redrive(ctx context.Context, o RedriveOptions) (RedriveResult, error) {
	if !o.Manual {
		res, err := d.moveTask(ctx, o)
		if !errors.Is(err, ErrMoveTaskUnsupported) {
			return res, err
		}
		byHand, err := d.moveByHand(ctx, o)
		byHand.Fallback = ErrMoveTaskUnsupported.Error()
		return byHand, err
	}
	return d.moveByHand(ctx, o)
}

func (d *DLQ) moveByHand(ctx context.Context, o RedriveOptions) (RedriveResult, error) {
	res := RedriveResult{Method: ByHand}
	max := o.Max
	if max <= 0 {
		max = DefaultMaxMessages
	}
	for int(res.Moved) < max {
		out, err := d.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(d.URL),
			MaxNumberOfMessages:         int32(min(10, max-int(res.Moved))),
			VisibilityTimeout:           int32(orDefault(d.MoveVisibility, DefaultMoveVisibility) / time.Second),
			WaitTimeSeconds:             receiveWait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return res, fmt.Errorf("redrive: receive from the dead-letter queue: %w", err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			if err := d.moveOne(ctx, m); err != nil {
				return res, err
			}
			res.Moved++
			if o.Progress != nil {
				o.Progress(int(res.Moved))
			}
		}
	}
	return res, nil
}

// moveOne sends m to the source queue, then deletes it from the DLQ.
func (d *DLQ) moveOne(ctx context.Context, m types.Message) error {
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(d.QueueURL),
		MessageBody:       m.Body,
		MessageAttributes: m.MessageAttributes,
	}
	if v, ok := m.Attributes[string(types.MessageSystemAttributeNameAWSTraceHeader)]; ok {
		in.MessageSystemAttributes = map[string]types.MessageSystemAttributeValue{
			string(types.MessageSystemAttributeNameForSendsAWSTraceHeader): {DataType: aws.String("String"), StringValue: aws.String(v)},
		}
	}
	if _, err := d.Client.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("redrive message %s (event %s): send to the source queue: %w", aws.ToString(m.MessageId), eventIDOf(m), err)
	}
	if _, err := d.Client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(d.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		return fmt.Errorf("redrive message %s (event %s): sent to the source queue, but not deleted from the dead-letter queue (it will be moved again; the consumer drops the second copy): %w", aws.ToString(m.MessageId), eventIDOf(m), err)
	}
	return nil
}

func eventIDOf(m types.Message) string {
	if v, ok := m.MessageAttributes[eventrecord.AttrEventID]; ok {
		return aws.ToString(v.StringValue)
	}
	return "unknown"
}

// moveTask runs an SQS message move task from the DLQ to the source queue
// and waits for it.
func (d *DLQ) moveTask(ctx context.Context, o RedriveOptions) (RedriveResult, error) {
	res := RedriveResult{Method: MoveTask}
	src, err := d.arn(ctx, d.URL)
	if err != nil {
		return res, err
	}
	dst, err := d.arn(ctx, d.QueueURL)
	if err != nil {
		return res, err
	}
	out, err := d.Client.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{
		SourceArn: aws.String(src), DestinationArn: aws.String(dst),
	}, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	if err != nil {
		if unsupported(err) {
			return res, fmt.Errorf("%w: %w", ErrMoveTaskUnsupported, err)
		}
		return res, fmt.Errorf("redrive: start message move task: %w", err)
	}
	res.TaskHandle = aws.ToString(out.TaskHandle)
	deadline := time.Now().Add(orDefault(o.TaskWait, DefaultTaskWait))
	poll := orDefault(d.TaskPoll, defaultTaskPoll)
	for {
		list, err := d.Client.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src), MaxResults: aws.Int32(10)})
		if err != nil {
			return res, fmt.Errorf("redrive: check message move task: %w", err)
		}
		i := slices.IndexFunc(list.Results, func(r types.ListMessageMoveTasksResultEntry) bool {
			return aws.ToString(r.TaskHandle) == res.TaskHandle
		})
		if i < 0 && len(list.Results) > 0 {
			i = 0 // the newest task; a finished task has no handle any more
		}
		if i >= 0 {
			t := list.Results[i]
			res.Moved = t.ApproximateNumberOfMessagesMoved
			switch aws.ToString(t.Status) {
			case "COMPLETED":
				res.Running = false
				return res, nil
			case "FAILED", "CANCELLED":
				return res, fmt.Errorf("%w: %s %s", ErrMoveTaskFailed, aws.ToString(t.Status), aws.ToString(t.FailureReason))
			}
		}
		res.Running = true
		if !time.Now().Add(poll).Before(deadline) {
			return res, nil
		}
		timer := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return res, ctx.Err()
		case <-timer.C:
		}
	}
}

func (d *DLQ) arn(ctx context.Context, url string) (string, error) {
	out, err := d.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", fmt.Errorf("read ARN of queue %s: %w", url, err)
	}
	a := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	if a == "" {
		return "", fmt.Errorf("read ARN of queue %s: none returned", url)
	}
	return a, nil
}

// unsupported reports whether err says the endpoint lacks the action:
// an unknown-operation error code, or (moto_server) a bare 500 or 501.
func unsupported(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "UnsupportedOperation", "InvalidAction", "NotImplemented", "UnknownOperationException", "UnknownOperation":
			return true
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case 500, 501:
			return true
		}
	}
	return false
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
