// Package processorapp builds the processor's SQS batch handler from its
// configuration: the AWS clients, the stores, the effects and the handler
// registry. The Lambda's main and the local stack share it, so both run the
// same code; tests that need to watch or disturb the processor (the chaos
// test) wrap its dependencies with Options instead of copying the wiring.
package processorapp

import (
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/handlers"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/processorconfig"
	"github.com/altafinex-webhooks/receiver/internal/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/sqsbatch"
)

var (
	_ process.Events     = (*ddbevents.Table)(nil)
	_ handlers.Orders    = (*ddborders.Store)(nil)
	_ handlers.Mailer    = (*sesmail.Mailer)(nil)
	_ handlers.Publisher = (*ebpublish.Publisher)(nil)
)

// MetricsFunction is the Function dimension of the processor's metrics, as
// template.yaml's alarms and dashboard name it.
const MetricsFunction = "processor"

// Option changes what New builds: each wraps one of the processor's
// dependencies. Options of one kind apply in the order given, each around
// the result of the one before.
type Option func(*options)

// options holds the wrappers, by dependency.
type options struct {
	events    []func(process.Events) process.Events
	orders    []func(handlers.Orders) handlers.Orders
	mailer    []func(handlers.Mailer) handlers.Mailer
	publisher []func(handlers.Publisher) handlers.Publisher
	registry  []func(process.Registry) process.Registry
}

// WithEventsWrapper wraps the events table the processor claims and
// finishes events in.
func WithEventsWrapper(wrap func(process.Events) process.Events) Option {
	return func(o *options) { o.events = append(o.events, wrap) }
}

// WithOrdersWrapper wraps the orders table the handlers apply events to.
func WithOrdersWrapper(wrap func(handlers.Orders) handlers.Orders) Option {
	return func(o *options) { o.orders = append(o.orders, wrap) }
}

// WithMailerWrapper wraps the handlers' mailer (SES, or the log mailer
// without a sender).
func WithMailerWrapper(wrap func(handlers.Mailer) handlers.Mailer) Option {
	return func(o *options) { o.mailer = append(o.mailer, wrap) }
}

// WithPublisherWrapper wraps the handlers' publisher (EventBridge, or the
// no-op one without a bus).
func WithPublisherWrapper(wrap func(handlers.Publisher) handlers.Publisher) Option {
	return func(o *options) { o.publisher = append(o.publisher, wrap) }
}

// WithHandlersWrapper wraps the handler registry (handlers.Default).
func WithHandlersWrapper(wrap func(process.Registry) process.Registry) Option {
	return func(o *options) { o.registry = append(o.registry, wrap) }
}

// wrap applies wrappers to v in order.
func wrap[T any](v T, wrappers []func(T) T) T {
	for _, w := range wrappers {
		v = w(v)
	}
	return v
}

// New builds the handler. Without a sender, emails are logged; without a
// bus, no domain events are published. Metrics go to metricsOut (stdout in
// Lambda). opts wrap the dependencies (none in production). Nothing here
// makes a network call.
func New(cfg processorconfig.Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer, opts ...Option) *sqsbatch.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ddb := dynamodb.NewFromConfig(awsCfg)
	var mailer handlers.Mailer = &sesmail.LogMailer{Logger: log}
	if cfg.SenderEmail != "" {
		mailer = sesmail.New(sesv2.NewFromConfig(awsCfg), cfg.SenderEmail)
	}
	var publisher handlers.Publisher = ebpublish.Nop{}
	if cfg.EventBusName != "" {
		publisher = ebpublish.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName)
	}
	proc := &process.Processor{
		Events: wrap[process.Events](ddbevents.New(ddb, cfg.EventsTable), o.events),
		Handlers: wrap(handlers.Default(handlers.Deps{
			Orders:           wrap[handlers.Orders](ddborders.New(ddb, cfg.OrdersTable).WithRefundsTable(cfg.RefundsTable), o.orders),
			Mailer:           wrap(mailer, o.mailer),
			Publisher:        wrap(publisher, o.publisher),
			RetryURLTemplate: cfg.RetryURLTemplate,
			Logger:           log,
		}), o.registry),
		Lease:          cfg.ProcessingLease,
		TTL:            cfg.EventTTL,
		MaxConcurrency: cfg.MaxConcurrency,
		IsPermanent:    awserr.IsPermanent,
		Logger:         log,
	}
	h := sqsbatch.New(proc, log)
	h.Metrics = &metrics.EMF{W: metricsOut, Namespace: cfg.Namespace, Function: MetricsFunction}
	return h
}
