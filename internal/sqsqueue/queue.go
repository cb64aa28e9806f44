// Package sqsqueue puts events on the SQS events queue and reads them back:
// the raw body as the message body, exactly as signed, and the metadata the
// processor routes on (event id, type, received time, replay mark) as
// message attributes.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// ErrInvalidBody is returned by Send for a body SQS cannot carry unchanged:
// empty, not valid UTF-8, or holding characters outside the set SQS allows
// (control characters other than tab, line feed and carriage return, and
// U+FFFE, U+FFFF).
var ErrInvalidBody = errors.New("message body cannot be sent to SQS unchanged")

// ErrMissingAttribute is returned by FromSQS when a message lacks the event
// id attribute.
var ErrMissingAttribute = errors.New("message attribute missing")

// ErrBadAttribute is returned by FromSQS when an attribute does not parse.
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

// Send puts m on the queue with one SendMessage: the body exactly as given,
// and the event id, type, received time (Unix ms) and replay mark as message
// attributes. A body SQS would not carry unchanged is refused with
// ErrInvalidBody, and a message without an event id is refused too.
func (q *Queue) Send(ctx context.Context, m eventrecord.Message) error {
	if m.EventID == "" {
		return fmt.Errorf("send event: %w: %s", ErrMissingAttribute, eventrecord.AttrEventID)
	}
	if err := checkBody(m.Body); err != nil {
		return fmt.Errorf("send event %s: %w", m.EventID, err)
	}
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.url),
		MessageBody:       aws.String(string(m.Body)),
		MessageAttributes: attributes(m),
	})
	if err != nil {
		return fmt.Errorf("send event %s to the queue: %w", m.EventID, err)
	}
	return nil
}

// attributes builds m's message attributes, leaving out empty ones (SQS
// refuses empty attribute values).
func attributes(m eventrecord.Message) map[string]types.MessageAttributeValue {
	attrs := map[string]types.MessageAttributeValue{
		eventrecord.AttrEventID: {DataType: aws.String("String"), StringValue: aws.String(m.EventID)},
	}
	if m.Type != "" {
		attrs[eventrecord.AttrType] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.Type)}
	}
	if !m.ReceivedAt.IsZero() {
		attrs[eventrecord.AttrReceivedAt] = types.MessageAttributeValue{
			DataType:    aws.String("Number"),
			StringValue: aws.String(strconv.FormatInt(m.ReceivedAt.UnixMilli(), 10)),
		}
	}
	if m.Replay {
		attrs[eventrecord.AttrReplay] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("true")}
	}
	return attrs
}

// checkBody reports whether SQS can carry b unchanged: non-empty, valid
// UTF-8, and only the characters SQS allows (#x9, #xA, #xD, #x20–#xD7FF,
// #xE000–#xFFFD, #x10000–#x10FFFF).
func checkBody(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidBody)
	}
	if !utf8.Valid(b) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidBody)
	}
	for i, r := range string(b) {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return fmt.Errorf("%w: character %U at byte %d", ErrInvalidBody, r, i)
		}
	}
	return nil
}

// FromSQS rebuilds a Message from a received SQS message: its body and its
// message attributes as a map from attribute name to string value (the
// StringValue of each attribute, Number attributes included). Callers
// holding aws-lambda-go's events.SQSMessage or the SDK's types.Message copy
// the string values into such a map (FromSDK does it for the latter), so this
// package depends on neither event shape.
//
// The event id attribute is required (ErrMissingAttribute); a received time
// that is not an integer gives ErrBadAttribute. On an error the Message
// still carries the body and every attribute that decoded, so the caller may
// fall back on the body.
func FromSQS(body string, attrs map[string]string) (eventrecord.Message, error) {
	m := eventrecord.Message{
		EventID: attrs[eventrecord.AttrEventID],
		Type:    attrs[eventrecord.AttrType],
		Body:    []byte(body),
		Replay:  attrs[eventrecord.AttrReplay] == "true",
	}
	var errs []error
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
