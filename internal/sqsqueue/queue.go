// Package sqsqueue puts events on the SQS events queue and reads them back:
// the raw body, base64-encoded so that SQS carries any bytes the signature
// covers, as the message body, and the metadata the processor routes on
// (event id, type, received time, replay mark, body encoding) as message
// attributes.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// MaxMessageBytes is the largest SQS message (body plus attribute names,
// types and values) since August 2025, and the MaximumMessageSize of the
// queues of template.yaml and CreateQueues.
const MaxMessageBytes = 1 << 20

// ErrInvalidBody is returned by Send for an empty body (SQS refuses an
// empty message).
var ErrInvalidBody = errors.New("message body cannot be sent to SQS")

// ErrTooLarge is returned by Send for a message over MaxMessageBytes.
var ErrTooLarge = errors.New("message over the SQS size limit")

// ErrMissingAttribute is returned by FromSQS when a message lacks the event
// id attribute.
var ErrMissingAttribute = errors.New("message attribute missing")

// ErrBadAttribute is returned by FromSQS when an attribute does not parse,
// and by Send for an attribute value SQS would refuse (eventrecord.CheckSQSText).
var ErrBadAttribute = errors.New("message attribute malformed")

// Queue is the events queue.
type Queue struct {
	client *sqs.Client
	url    string
}

// New returns the events queue at url, reached through client.
func New(client *sqs.Client, url string) *Queue {
	return &Queue{client: client, url: url}
}

// URL returns the queue's URL.
func (q *Queue) URL() string { return q.url }

// Send puts m on the queue with one SendMessage: the body base64-encoded
// (eventrecord.EncodeBody), and the event id, type, received time (Unix
// ms), replay mark, body encoding and a deferral's times (Unix ms) as
// message attributes. It refuses,
// without calling SQS, a message without an event id or body, one with an
// attribute value SQS would refuse (ErrBadAttribute), and one over
// MaxMessageBytes (ErrTooLarge).
func (q *Queue) Send(ctx context.Context, m eventrecord.Message) error {
	return q.send(ctx, m, 0)
}

// SendDelayed is Send with the message delivered after delay (whole
// seconds, at most SQS's 15 minutes): the processor defers a message a
// downstream quota throttled this way, as a new message, so that the
// quota spends none of its receives.
func (q *Queue) SendDelayed(ctx context.Context, m eventrecord.Message, delay time.Duration) error {
	return q.send(ctx, m, min(max(delay, 0), MaxDelay))
}

// MaxDelay is the longest delay SQS gives a message.
const MaxDelay = 15 * time.Minute

func (q *Queue) send(ctx context.Context, m eventrecord.Message, delay time.Duration) error {
	if m.EventID == "" {
		return fmt.Errorf("send event: %w: %s", ErrMissingAttribute, eventrecord.AttrEventID)
	}
	if len(m.Body) == 0 {
		return fmt.Errorf("send event %s: %w: empty", m.EventID, ErrInvalidBody)
	}
	attrs := attributes(m)
	for name, a := range attrs {
		if err := eventrecord.CheckSQSText(aws.ToString(a.StringValue)); err != nil {
			return fmt.Errorf("send event %q: %w: %s: %w", m.EventID, ErrBadAttribute, name, err)
		}
	}
	body := eventrecord.EncodeBody(m.Body)
	if n := MessageSize(body, attrs); n > MaxMessageBytes {
		return fmt.Errorf("send event %s: %w: %d bytes, the limit is %d", m.EventID, ErrTooLarge, n, MaxMessageBytes)
	}
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.url),
		MessageBody:       aws.String(body),
		MessageAttributes: attrs,
		DelaySeconds:      int32(delay.Round(time.Second) / time.Second),
	})
	if err != nil {
		return fmt.Errorf("send event %s to the queue: %w", m.EventID, err)
	}
	return nil
}

// MessageSize is the size SQS counts for a message: the body's bytes plus,
// for each message attribute, its name, data type and value.
func MessageSize(body string, attrs map[string]types.MessageAttributeValue) int {
	n := len(body)
	for name, a := range attrs {
		n += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
	}
	return n
}

// attributes builds m's message attributes, leaving out empty ones (SQS
// refuses empty attribute values).
func attributes(m eventrecord.Message) map[string]types.MessageAttributeValue {
	str := func(v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	attrs := map[string]types.MessageAttributeValue{
		eventrecord.AttrEventID:      str(m.EventID),
		eventrecord.AttrBodyEncoding: str(eventrecord.BodyBase64),
	}
	if m.Type != "" {
		attrs[eventrecord.AttrType] = str(m.Type)
	}
	if !m.ReceivedAt.IsZero() {
		attrs[eventrecord.AttrReceivedAt] = types.MessageAttributeValue{
			DataType:    aws.String("Number"),
			StringValue: aws.String(strconv.FormatInt(m.ReceivedAt.UnixMilli(), 10)),
		}
	}
	if m.Replay {
		attrs[eventrecord.AttrReplay] = str("true")
	}
	for name, at := range map[string]time.Time{eventrecord.AttrDeferredSince: m.DeferredSince, eventrecord.AttrDeferredUntil: m.DeferredUntil} {
		if !at.IsZero() {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(at.UnixMilli(), 10))}
		}
	}
	return attrs
}

// FromSQS rebuilds a Message from a received SQS message: its body
// (decoded as its body_encoding attribute says) and its message attributes as a map from attribute name to string value (the
// StringValue of each attribute, Number attributes included). Callers
// holding aws-lambda-go's events.SQSMessage or the SDK's types.Message copy
// the string values into such a map (FromSDK does it for the latter), so this
// package depends on neither event shape.
//
// The event id attribute is required (ErrMissingAttribute); a received time
// that is not an integer gives ErrBadAttribute, a body that does not decode
// eventrecord.ErrBodyEncoding. On an error the Message still carries every
// attribute that decoded, and the message body as it came when it did not
// decode, so the caller may fall back on it.
func FromSQS(body string, attrs map[string]string) (eventrecord.Message, error) {
	m := eventrecord.Message{
		EventID: attrs[eventrecord.AttrEventID],
		Type:    attrs[eventrecord.AttrType],
		Replay:  attrs[eventrecord.AttrReplay] == "true",
	}
	var errs []error
	raw, err := eventrecord.DecodeBody([]byte(body), attrs[eventrecord.AttrBodyEncoding])
	if err != nil {
		raw = []byte(body)
		errs = append(errs, err)
	}
	m.Body = raw
	if m.EventID == "" {
		errs = append(errs, fmt.Errorf("%w: %s", ErrMissingAttribute, eventrecord.AttrEventID))
	}
	if s, ok := attrs[eventrecord.AttrReceivedAt]; ok {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s %q", ErrBadAttribute, eventrecord.AttrReceivedAt, s))
		} else {
			m.ReceivedAt = time.UnixMilli(ms).UTC()
		}
	}
	if len(errs) > 0 {
		return m, fmt.Errorf("decode queue message: %w", errors.Join(errs...))
	}
	return m, nil
}

// FromSDK is FromSQS for a message received with the SDK (ReceiveMessage
// with MessageAttributeNames ["All"]), as the operator tools read the
// dead-letter queue.
func FromSDK(msg types.Message) (eventrecord.Message, error) {
	attrs := make(map[string]string, len(msg.MessageAttributes))
	for k, v := range msg.MessageAttributes {
		if v.StringValue != nil {
			attrs[k] = *v.StringValue
		}
	}
	return FromSQS(aws.ToString(msg.Body), attrs)
}
