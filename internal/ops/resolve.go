// Package ops is the logic behind webhookctl's operator commands, testable
// without the command line: finding a stack's table and queues, reading
// event records, replaying FAILED events, and peeking at and redriving the
// dead-letter queues (the events queue's and the email queue's). It talks to AWS through small interfaces that the SDK
// clients and the ddbevents and sqsqueue adapters satisfy.
package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Resources names what the operator commands work on.
type Resources struct {
	EventsTable string
	QueueURL    string
	DLQURL      string
	OrdersTable string
	// EmailQueueURL and EmailDLQURL are the email queue and its
	// dead-letter queue (webhookctl dlq --email).
	EmailQueueURL string
	EmailDLQURL   string
}

// The CloudFormation outputs of the SAM template that name the resources.
const (
	OutputEventsTable   = "EventsTableName"
	OutputQueueURL      = "EventsQueueUrl"
	OutputDLQURL        = "EventsDLQUrl"
	OutputOrdersTable   = "OrdersTableName"
	OutputEmailQueueURL = "EmailQueueUrl"
	OutputEmailDLQURL   = "EmailDLQUrl"
)

// Need says which resources a command uses, so that only those must be
// found.
type Need uint8

// The resources a command may need.
const (
	NeedEventsTable Need = 1 << iota
	NeedQueue
	NeedDLQ
	NeedOrdersTable
	NeedEmailQueue
	NeedEmailDLQ
)

// ErrStackNotFound is returned by StackResources when CloudFormation has no
// stack of that name.
var ErrStackNotFound = errors.New("stack not found")

// ErrMissingResource is returned when a resource a command needs could not
// be found (no stack output, no flag).
var ErrMissingResource = errors.New("resource not found")

// ErrQueueNotFound is returned by LocalResources when a local queue does not
// exist.
var ErrQueueNotFound = errors.New("queue not found")

// StackDescriber is the part of the CloudFormation client StackResources
// uses.
type StackDescriber interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

var _ StackDescriber = (*cloudformation.Client)(nil)

// QueueURLGetter is the part of the SQS client LocalResources uses.
type QueueURLGetter interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

var _ QueueURLGetter = (*sqs.Client)(nil)

// StackResources reads the resources from the outputs of a deployed stack
// (one DescribeStacks call). Outputs the stack lacks are left empty: Check
// says whether a command can go on.
func StackResources(ctx context.Context, cf StackDescriber, stack string) (Resources, error) {
	s, err := describeStack(ctx, cf, stack)
	if err != nil {
		return Resources{}, err
	}
	return ResourcesFromOutputs(s.Outputs), nil
}

// ResourcesFromOutputs picks the resources out of a stack's outputs.
func ResourcesFromOutputs(outputs []cftypes.Output) Resources {
	var r Resources
	for _, o := range outputs {
		v := aws.ToString(o.OutputValue)
		switch aws.ToString(o.OutputKey) {
		case OutputEventsTable:
			r.EventsTable = v
		case OutputQueueURL:
			r.QueueURL = v
		case OutputDLQURL:
			r.DLQURL = v
		case OutputOrdersTable:
			r.OrdersTable = v
		case OutputEmailQueueURL:
			r.EmailQueueURL = v
		case OutputEmailDLQURL:
			r.EmailDLQURL = v
		}
	}
	return r
}

// LocalNames are the names of the resources of a local stack.
type LocalNames struct {
	EventsTable string
	Queue       string
	DLQ         string
	OrdersTable string
	EmailQueue  string
	EmailDLQ    string
}

// LocalResources finds the local stack's resources by name: the tables'
// names are the names, the queues' URLs are asked for (GetQueueUrl), only
// when need includes them and known has no URL for them yet. Fields
// already set in known are kept.
func LocalResources(ctx context.Context, sq QueueURLGetter, names LocalNames, known Resources, need Need) (Resources, error) {
	r := known
	if r.EventsTable == "" {
		r.EventsTable = names.EventsTable
	}
	if r.OrdersTable == "" {
		r.OrdersTable = names.OrdersTable
	}
	for _, q := range []struct {
		need Need
		name string
		url  *string
	}{
		{NeedQueue, names.Queue, &r.QueueURL}, {NeedDLQ, names.DLQ, &r.DLQURL},
		{NeedEmailQueue, names.EmailQueue, &r.EmailQueueURL}, {NeedEmailDLQ, names.EmailDLQ, &r.EmailDLQURL},
	} {
		if need&q.need == 0 || *q.url != "" || q.name == "" {
			continue
		}
		out, err := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.name)})
		if err != nil {
			var nf *sqstypes.QueueDoesNotExist
			if errors.As(err, &nf) {
				return Resources{}, fmt.Errorf("queue %s: %w", q.name, ErrQueueNotFound)
			}
			return Resources{}, fmt.Errorf("find queue %s: %w", q.name, err)
		}
		*q.url = aws.ToString(out.QueueUrl)
	}
	return r, nil
}

// Merge returns r with every non-empty field of override put in its place.
func (r Resources) Merge(override Resources) Resources {
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&r.EventsTable, override.EventsTable},
		{&r.QueueURL, override.QueueURL},
		{&r.DLQURL, override.DLQURL},
		{&r.OrdersTable, override.OrdersTable},
		{&r.EmailQueueURL, override.EmailQueueURL},
		{&r.EmailDLQURL, override.EmailDLQURL},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	return r
}

// Check reports every resource need asks for that r lacks, as one error
// wrapping ErrMissingResource and naming the stack output that gives it.
func (r Resources) Check(need Need) error {
	var missing []string
	for _, f := range []struct {
		need   Need
		val    string
		output string
	}{
		{NeedEventsTable, r.EventsTable, OutputEventsTable},
		{NeedQueue, r.QueueURL, OutputQueueURL},
		{NeedDLQ, r.DLQURL, OutputDLQURL},
		{NeedOrdersTable, r.OrdersTable, OutputOrdersTable},
		{NeedEmailQueue, r.EmailQueueURL, OutputEmailQueueURL},
		{NeedEmailDLQ, r.EmailDLQURL, OutputEmailDLQURL},
	} {
		if need&f.need != 0 && f.val == "" {
			missing = append(missing, f.output)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingResource, strings.Join(missing, ", "))
	}
	return nil
}
