// Package processorapp is the processor function's wiring: Load reads and
// validates its configuration from the environment, once, at start-up, and
// reports every problem in one error; New builds the SQS batch handler from
// it: the AWS clients, the stores, the effects and the handler registry.
// The Lambda's main and the local stack share it, so both run the
// same code; tests that need to watch or disturb the processor (the chaos
// test, the benchmarks, the metrics template test) wrap its dependencies
// with TestHooks instead of copying the wiring.
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
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
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

// TestHooks are for tests only: each wraps one of the dependencies New
// builds, to watch it or to put a fake or a fault in its place. A nil hook
// leaves its dependency as built. Production code calls New, which sets
// none.
type TestHooks struct {
	Events    func(process.Events) process.Events         // the events table
	Orders    func(handlers.Orders) handlers.Orders       // the orders table
	Mailer    func(handlers.Mailer) handlers.Mailer       // SES, or the log mailer without a sender
	Publisher func(handlers.Publisher) handlers.Publisher // EventBridge, or the no-op one without a bus
	Handlers  func(process.Registry) process.Registry     // handlers.Default
}

// wrap applies hook to v, when there is one.
func wrap[T any](v T, hook func(T) T) T {
	if hook == nil {
		return v
	}
	return hook(v)
}

// New builds the handler. Without a sender, emails are logged; without a
// bus, no domain events are published. Metrics go to metricsOut (stdout in
// Lambda). Nothing here makes a network call.
func New(cfg Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) *sqsbatch.Handler {
	return NewWithTestHooks(cfg, awsCfg, log, metricsOut, TestHooks{})
}

// NewWithTestHooks is New with the dependencies wrapped by hooks: for tests
// only.
func NewWithTestHooks(cfg Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer, hooks TestHooks) *sqsbatch.Handler {
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
		Events: wrap[process.Events](ddbevents.New(ddb, cfg.EventsTable), hooks.Events),
		Handlers: wrap(handlers.Default(handlers.Deps{
			Orders:           wrap[handlers.Orders](ddborders.New(ddb, cfg.OrdersTable).WithRefundsTable(cfg.RefundsTable), hooks.Orders),
			Mailer:           wrap(mailer, hooks.Mailer),
			Publisher:        wrap(publisher, hooks.Publisher),
			RetryURLTemplate: cfg.RetryURLTemplate,
			Logger:           log,
		}), hooks.Handlers),
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
