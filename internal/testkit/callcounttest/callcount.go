// Package callcounttest counts the AWS SDK operations a piece of code makes and
// measures DynamoDB items the way DynamoDB sizes them for billing. Tests use
// it to hold the hot path to its budget: one PutItem and one SendMessage
// per accepted event at ingest, and items under 1 KB (one write request
// unit each).
//
// A Counter is an SDK middleware: append Counter.Register to an
// aws.Config's APIOptions (or a client's Options.APIOptions) and every
// operation of every client built from it is counted, once per call (not
// per retry attempt), before it is sent.
package callcounttest

import (
	"context"
	"reflect"
	"sort"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// MiddlewareID is the ID of the counting middleware in the Initialize step.
const MiddlewareID = "callcounttest.Counter"

// Call is one counted operation.
type Call struct {
	// Service is the SDK's service ID, e.g. "DynamoDB", "SQS", "SESv2",
	// "EventBridge", "Secrets Manager".
	Service string
	// Operation is the API name, e.g. "PutItem".
	Operation string
	// Table is the input's TableName, for operations that have one.
	Table string
	// ItemBytes is the size (see ItemSize) of a PutItem's Item; 0 for
	// other operations.
	ItemBytes int
}

// Counter records operations. Its zero value is ready to use, and it is
// safe for concurrent use.
type Counter struct {
	mu    sync.Mutex
	calls []Call
}

// Register adds the counting middleware to stack. Its signature is that of
// an APIOptions entry:
//
//	cfg.APIOptions = append(cfg.APIOptions, counter.Register)
func (c *Counter) Register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(MiddlewareID,
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.record(ctx, in.Parameters)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (c *Counter) record(ctx context.Context, params any) {
	call := Call{
		Service:   awsmiddleware.GetServiceID(ctx),
		Operation: awsmiddleware.GetOperationName(ctx),
		Table:     tableName(params),
	}
	if put, ok := params.(*dynamodb.PutItemInput); ok {
		call.ItemBytes = ItemSize(put.Item)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
}

// tableName returns the TableName field of an operation's input, if it has
// one of type *string.
func tableName(params any) string {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return ""
	}
	f := v.Elem().FieldByName("TableName")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*string]() || f.IsNil() {
		return ""
	}
	return *f.Interface().(*string)
}

// Calls returns every counted call in the order made.
func (c *Counter) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Call(nil), c.calls...)
}

// Count returns how many calls of service's operation were made.
func (c *Counter) Count(service, operation string) int {
	return c.count(func(k Call) bool { return k.Service == service && k.Operation == operation })
}

// CountOn returns how many calls of a DynamoDB-style operation named table.
func (c *Counter) CountOn(service, operation, table string) int {
	return c.count(func(k Call) bool { return k.Service == service && k.Operation == operation && k.Table == table })
}

// Total returns the number of calls of any operation.
func (c *Counter) Total() int { return c.count(func(Call) bool { return true }) }

func (c *Counter) count(match func(Call) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.calls {
		if match(k) {
			n++
		}
	}
	return n
}

// Summary returns the number of calls per "Service.Operation", for
// messages.
func (c *Counter) Summary() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for _, k := range c.calls {
		m[k.Service+"."+k.Operation]++
	}
	return m
}

// Names returns the distinct "Service.Operation" names counted, sorted.
func (c *Counter) Names() []string {
	m := c.Summary()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Reset forgets every call.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}
