// Package processorapp is the processor function's wiring: Load reads and
// validates its configuration from the environment, once, at start-up, and
// reports every problem in one error; New builds the function's handler from
// it: the AWS clients, the stores, the effects and the handler registry, for
// both queues it serves: the events queue (sqsbatch) and the email queue
// (sqsemail, emailjob), each through an event source mapping of its own,
// told apart by the records' eventSourceARN. The Lambda's main and the local stack share it, so both run the
// same code; tests that need to watch or disturb the processor (the chaos
// test, the benchmarks, the metrics template test) wrap its dependencies
// with TestHooks instead of copying the wiring.
package processorapp

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

var (
	_ process.Events      = (*ddbevents.Table)(nil)
	_ emailjob.Deliveries = (*ddbevents.Table)(nil)
	_ handlers.Orders     = (*ddborders.Store)(nil)
	_ handlers.Mailer     = (*sesmail.Mailer)(nil)
	_ handlers.Mailer     = (*sqsemail.Queue)(nil)
	_ handlers.Publisher  = (*ebpublish.Publisher)(nil)
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
	Mailer    func(handlers.Mailer) handlers.Mailer       // the handlers' mailer: the email queue when one is configured, else SES (or the log mailer without a sender)
	Publisher func(handlers.Publisher) handlers.Publisher // EventBridge, or the no-op one without a bus
	Handlers  func(process.Registry) process.Registry     // handlers.Default

	SenderMailer func(handlers.Mailer) handlers.Mailer             // the email sender's SES (or log mailer); unused without an email queue
	Deliveries   func(emailjob.Deliveries) emailjob.Deliveries     // where the sender keeps each email's delivery (the events table)
	Requeue      func(emailjob.Queue) emailjob.Queue               // the queue the sender defers jobs on (the email queue)
	DeferQueue   func(sqsbatch.DelayedQueue) sqsbatch.DelayedQueue // the queue throttled events are deferred on (the events queue)
}

// wrap applies hook to v, when there is one.
func wrap[T any](v T, hook func(T) T) T {
	if hook == nil {
		return v
	}
	return hook(v)
}

// Handler is the processor function's Lambda handler: batches of the
// events queue go to Events, those of the email queue to Emails, told
// apart by each record's eventSourceARN.
//
// An event source mapping reads one queue, so a batch never mixes the two
// queues; a batch that does (a hand-made event) is still served: its
// records are split by source, each part goes to its queue's handler, and
// the batch item failures of both are returned together (a warning is
// logged). Records of any source other than the email queue's, or of none,
// are the events queue's.
type Handler struct {
	// Events serves the events queue.
	Events *sqsbatch.Handler
	// Emails serves the email queue (nil without one).
	Emails   *sqsemail.Handler
	emailARN string
	log      *slog.Logger
}

// isEmail reports whether a record of this source ARN is the email
// queue's.
func (h *Handler) isEmail(sourceARN string) bool {
	return h.Emails != nil && sourceARN != "" && sourceARN == h.emailARN
}

// Route is how a batch is served, by the sources of its records.
type Route int

// The routes of a batch.
const (
	// RouteEvents: every record is the events queue's.
	RouteEvents Route = iota
	// RouteEmails: every record is the email queue's.
	RouteEmails
	// RouteMixed: records of both queues, served apart.
	RouteMixed
)

func (r Route) String() string {
	switch r {
	case RouteEmails:
		return "emails"
	case RouteMixed:
		return "mixed"
	}
	return "events"
}

// Route says how the batch ev is served, by its records' eventSourceARN.
func (h *Handler) Route(ev events.SQSEvent) Route {
	emails := 0
	for _, r := range ev.Records {
		if h.isEmail(r.EventSourceARN) {
			emails++
		}
	}
	switch {
	case emails == 0:
		return RouteEvents
	case emails == len(ev.Records):
		return RouteEmails
	}
	return RouteMixed
}

// Handle serves one invocation: lambda.Start(h.Handle).
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	switch h.Route(ev) {
	case RouteEmails:
		return h.Emails.Handle(ctx, ev)
	case RouteEvents:
		return h.Events.Handle(ctx, ev)
	}
	var emails, others events.SQSEvent
	for _, r := range ev.Records {
		if h.isEmail(r.EventSourceARN) {
			emails.Records = append(emails.Records, r)
		} else {
			others.Records = append(others.Records, r)
		}
	}
	h.log.LogAttrs(ctx, slog.LevelWarn, "a batch mixed the email queue's records with others: each part served by its queue's handler",
		slog.Int("email_records", len(emails.Records)), slog.Int("other_records", len(others.Records)))
	eresp, eerr := h.Emails.Handle(ctx, emails)
	oresp, oerr := h.Events.Handle(ctx, others)
	if err := errors.Join(eerr, oerr); err != nil {
		return events.SQSEventResponse{}, err
	}
	return events.SQSEventResponse{BatchItemFailures: append(append([]events.SQSBatchItemFailure{}, eresp.BatchItemFailures...), oresp.BatchItemFailures...)}, nil
}

// New builds the handler. Without a sender, emails are logged; without a
// bus, no domain events are published; without an email queue, emails are
// sent inline by the email step; without the events queue's URL, a
// throttled event is retried through the queue's receives. Metrics go to
// metricsOut (stdout in Lambda). Nothing here makes a network call.
func New(cfg Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) *Handler {
	return NewWithTestHooks(cfg, awsCfg, log, metricsOut, TestHooks{})
}

// NewWithTestHooks is New with the dependencies wrapped by hooks: for tests
// only.
func NewWithTestHooks(cfg Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer, hooks TestHooks) *Handler {
	ddb := dynamodb.NewFromConfig(awsCfg)
	eventsTable := ddbevents.New(ddb, cfg.EventsTable)
	var sesMailer handlers.Mailer = &sesmail.LogMailer{Logger: log}
	if cfg.SenderEmail != "" {
		sesMailer = sesmail.New(sesv2.NewFromConfig(awsCfg), cfg.SenderEmail)
	}
	var publisher handlers.Publisher = ebpublish.Nop{}
	if cfg.EventBusName != "" {
		publisher = ebpublish.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName)
	}
	emf := &metrics.EMF{W: metricsOut, Namespace: cfg.Namespace, Function: MetricsFunction}
	var sqsClient *sqs.Client
	if cfg.EmailQueued() || cfg.EventsQueueURL != "" {
		sqsClient = sqs.NewFromConfig(awsCfg)
	}

	h := &Handler{emailARN: cfg.EmailQueueARN, log: log}
	mailer := sesMailer
	if cfg.EmailQueued() {
		if cfg.SenderEmail != "" {
			// One attempt per send: a throttled or failed send is deferred
			// by the sender (emailjob), at its pace, and an SDK retry of a
			// send whose answer was lost would duplicate the email.
			sesMailer = sesmail.New(sesv2.NewFromConfig(awsCfg, func(o *sesv2.Options) { o.RetryMaxAttempts = 1 }), cfg.SenderEmail)
		}
		queue := sqsemail.New(sqsClient, cfg.EmailQueueURL)
		mailer = queue
		sender := &emailjob.Sender{
			Deliveries:  wrap[emailjob.Deliveries](eventsTable, hooks.Deliveries),
			Mailer:      wrap(sesMailer, hooks.SenderMailer),
			Queue:       wrap[emailjob.Queue](queue, hooks.Requeue),
			Rate:        cfg.SenderRate(),
			Lease:       cfg.ProcessingLease,
			IsThrottle:  awserr.IsThrottle,
			IsPermanent: awserr.IsPermanent,
			Logger:      log,
		}
		h.Emails = sqsemail.NewHandler(sender, log)
		h.Emails.Metrics = emf
	}
	proc := &process.Processor{
		Events: wrap[process.Events](eventsTable, hooks.Events),
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
	h.Events = sqsbatch.New(proc, log)
	h.Events.Metrics = emf
	if cfg.EventsQueueURL != "" {
		h.Events.Defer = &sqsbatch.QuotaDeferral{
			Queue:      wrap[sqsbatch.DelayedQueue](sqsqueue.New(sqsClient, cfg.EventsQueueURL), hooks.DeferQueue),
			IsThrottle: awserr.IsThrottle,
			Logger:     log,
		}
	}
	return h
}
