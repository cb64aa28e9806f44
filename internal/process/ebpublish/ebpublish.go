// Package ebpublish publishes the processor's domain events (OrderPaid,
// OrderPaymentFailed, OrderRefunded) on an Amazon EventBridge bus, the hook
// for the merchant's fulfilment and other systems. Nop stands in when no bus
// is configured.
package ebpublish

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

var (
	_ handlers.Publisher = (*Publisher)(nil)
	_ handlers.Publisher = Nop{}
)

// DefaultSource is the Source of every event the receiver publishes.
const DefaultSource = "altafinex.webhooks"

// ErrEntryFailed reports that PutEvents accepted the call but refused the
// entry (FailedEntryCount > 0). It is transient: EventBridge's own errors
// there are throttling and internal failures.
var ErrEntryFailed = errors.New("eventbridge refused the event")

// EntryError is the refusal of one entry, carrying EventBridge's code and
// message. It matches ErrEntryFailed with errors.Is.
type EntryError struct {
	DetailType string
	Code       string
	Message    string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("%s: %s: %s: %s", ErrEntryFailed, e.DetailType, e.Code, e.Message)
}

// Is reports whether target is ErrEntryFailed.
func (e *EntryError) Is(target error) bool { return target == ErrEntryFailed }

// ErrorCode returns the entry's error code, as an AWS API error does, so
// that awserr.IsThrottle sees an entry EventBridge throttled
// (ThrottlingException) as the quota it is.
func (e *EntryError) ErrorCode() string { return e.Code }

// Publisher puts events on one bus.
type Publisher struct {
	client *eventbridge.Client
	bus    string
	// Source is the events' Source (DefaultSource when empty).
	Source string
}

// New returns a Publisher to the bus called (or with the ARN) bus.
func New(client *eventbridge.Client, bus string) *Publisher {
	return &Publisher{client: client, bus: bus, Source: DefaultSource}
}

// Publish puts e on the bus with one PutEvents call. A refused entry is an
// *EntryError; SDK errors are returned wrapped.
func (p *Publisher) Publish(ctx context.Context, e handlers.DomainEvent) error {
	source := p.Source
	if source == "" {
		source = DefaultSource
	}
	entry := types.PutEventsRequestEntry{
		EventBusName: aws.String(p.bus),
		Source:       aws.String(source),
		DetailType:   aws.String(e.DetailType),
		Detail:       aws.String(string(e.Detail)),
	}
	if !e.Time.IsZero() {
		entry.Time = aws.Time(e.Time)
	}
	out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{entry}})
	if err != nil {
		return fmt.Errorf("publish %s: %w", e.DetailType, err)
	}
	if out.FailedEntryCount > 0 {
		ee := &EntryError{DetailType: e.DetailType, Code: "unknown"}
		if len(out.Entries) > 0 {
			ee.Code = aws.ToString(out.Entries[0].ErrorCode)
			ee.Message = aws.ToString(out.Entries[0].ErrorMessage)
		}
		return ee
	}
	return nil
}

// Nop is the Publisher of a deployment with no bus: it publishes nothing.
type Nop struct{}

// Publish does nothing.
func (Nop) Publish(context.Context, handlers.DomainEvent) error { return nil }
