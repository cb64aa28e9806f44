package local

// The poller emulates Lambda's SQS event source mapping for local
// runs: it long-polls a queue, hands each batch to a Lambda SQS handler as
// the events.SQSEvent Lambda would build, deletes the records the handler
// did not report failed, and leaves the failed ones to come back after the
// visibility timeout (and to reach the dead-letter queue after the queue's
// maxReceiveCount).
//
// Like the real mapping with ReportBatchItemFailures: a handler error, or a
// response naming a message that is not in the batch, fails the whole
// batch; an empty response deletes every record.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSHandler is a Lambda SQS handler with ReportBatchItemFailures.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// ErrBatchFailed is the error of a batch the handler failed as a whole.
var ErrBatchFailed = errors.New("handler failed the whole batch")

// Defaults of the poller's settings.
const (
	DefaultPollBatch = 10
	DefaultPollWait  = 20 * time.Second
	// errorBackoff is the pause after a failed receive.
	errorBackoff = time.Second
)

// Poller feeds one queue to a handler.
type Poller struct {
	client   *sqs.Client
	queueURL string
	queueARN string
	region   string
	handler  SQSHandler
	// BatchSize is the most messages per batch, 1 to 10
	// (DefaultPollBatch when zero).
	BatchSize int
	// WaitTime is the long-poll wait, at most 20 s (DefaultPollWait when
	// zero).
	WaitTime time.Duration
	// Logger (slog.Default when nil).
	Logger *slog.Logger
}

// NewPoller returns a poller of the queue at queueURL feeding handler. It reads
// the queue's ARN for the records' eventSourceARN.
func NewPoller(ctx context.Context, client *sqs.Client, queueURL string, handler SQSHandler) (*Poller, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return nil, fmt.Errorf("read the ARN of queue %s: %w", queueURL, err)
	}
	arn := out.Attributes[string(types.QueueAttributeNameQueueArn)]
	region := client.Options().Region
	if parts := strings.Split(arn, ":"); len(parts) > 3 && parts[3] != "" {
		region = parts[3]
	}
	return &Poller{client: client, queueURL: queueURL, queueARN: arn, region: region, handler: handler}, nil
}

// Run polls until ctx is done, then returns nil. A failed receive is logged
// and retried after a pause.
func (p *Poller) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if _, err := p.PollOnce(ctx); err != nil && ctx.Err() == nil {
			p.logger().LogAttrs(ctx, slog.LevelWarn, "poll failed", slog.String("queue", p.queueURL), slog.String("error", err.Error()))
			if errors.Is(err, ErrBatchFailed) {
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(errorBackoff):
			}
		}
	}
	return nil
}

// PollOnce receives one batch (waiting up to WaitTime for the first
// message), hands it to the handler and deletes the successes. It returns
// how many messages it received. ErrBatchFailed reports a batch the handler
// failed as a whole; nothing is deleted then.
func (p *Poller) PollOnce(ctx context.Context) (int, error) {
	out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.queueURL),
		MaxNumberOfMessages:         int32(p.batchSize()),
		WaitTimeSeconds:             int32(p.waitTime() / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return 0, fmt.Errorf("receive from %s: %w", p.queueURL, err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	ev := p.Event(out.Messages)
	resp, herr := p.handler(ctx, ev)
	if herr != nil {
		return len(out.Messages), fmt.Errorf("%w: %w", ErrBatchFailed, herr)
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		if !inBatch(ev, f.ItemIdentifier) {
			return len(out.Messages), fmt.Errorf("%w: batch item failure %q names no message of the batch", ErrBatchFailed, f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range out.Messages {
		if !failed[aws.ToString(m.MessageId)] {
			del = append(del, types.DeleteMessageBatchRequestEntry{
				Id:            aws.String(strconv.Itoa(i)),
				ReceiptHandle: m.ReceiptHandle,
			})
		}
	}
	if len(del) == 0 {
		return len(out.Messages), nil
	}
	dout, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.queueURL), Entries: del})
	if err != nil {
		return len(out.Messages), fmt.Errorf("delete %d messages from %s: %w", len(del), p.queueURL, err)
	}
	if len(dout.Failed) > 0 {
		return len(out.Messages), fmt.Errorf("delete from %s: %d of %d refused, first: %s", p.queueURL, len(dout.Failed), len(del), aws.ToString(dout.Failed[0].Message))
	}
	return len(out.Messages), nil
}

func inBatch(ev events.SQSEvent, id string) bool {
	for _, r := range ev.Records {
		if id != "" && r.MessageId == id {
			return true
		}
	}
	return false
}

// Event builds the events.SQSEvent that Lambda would hand the function for
// msgs.
func (p *Poller) Event(msgs []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		rec := events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             map[string]string{},
			MessageAttributes:      map[string]events.SQSMessageAttribute{},
			EventSourceARN:         p.queueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              p.region,
		}
		for k, v := range m.Attributes {
			rec.Attributes[k] = v
		}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: append([]string{}, v.StringListValues...),
				BinaryListValues: append([][]byte{}, v.BinaryListValues...),
				DataType:         aws.ToString(v.DataType),
			}
		}
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

func (p *Poller) batchSize() int {
	if p.BatchSize < 1 || p.BatchSize > 10 {
		return DefaultPollBatch
	}
	return p.BatchSize
}

func (p *Poller) waitTime() time.Duration {
	if p.WaitTime <= 0 || p.WaitTime > 20*time.Second {
		return DefaultPollWait
	}
	return p.WaitTime
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}
