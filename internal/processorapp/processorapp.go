// Package processorapp builds the processor function's handler from its
// configuration: the AWS clients, the stores, the effects and the handler
// registry, for both queues it serves: the events queue (sqsbatch) and the
// email queue (sqsemail, emailjob), each through an event source mapping
// of its own, told apart by the records' eventSourceARN. The Lambda's main
// and the local stack share it, so both run the same code; tests that need
// to watch or disturb the processor (the chaos test) wrap its dependencies
// with Options instead of copying the wiring.
package processorapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/handlers"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/processorconfig"
	"github.com/altafinex-webhooks/receiver/internal/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

var (
	_ process.Events      = (*ddbevents.Table)(nil)
	_ emailjob.Deliveries = (*ddbevents.Table)(nil)
	_ handlers.Orders     = (*ddborders.Store)(nil)
	_ handlers.Mailer     = (*sesmail.Mailer)(nil)
	_ handlers.Mailer     = (*sqsemail.Queue)(nil)
	_ handlers.Publisher  = (*ebpublish.Publisher)(nil)
	_ lambda.Handler      = (*Handler)(nil)
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
	events     []func(process.Events) process.Events
	deliveries []func(emailjob.Deliveries) emailjob.Deliveries
	sesMailer  []func(handlers.Mailer) handlers.Mailer
	orders     []func(handlers.Orders) handlers.Orders
	mailer     []func(handlers.Mailer) handlers.Mailer
	publisher  []func(handlers.Publisher) handlers.Publisher
	registry   []func(process.Registry) process.Registry
	requeue    []func(emailjob.Queue) emailjob.Queue
	deferQueue []func(sqsbatch.DelayedQueue) sqsbatch.DelayedQueue
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

// WithMailerWrapper wraps the handlers' mailer: the email queue when one
// is configured, else SES (or the log mailer without a sender) inline.
func WithMailerWrapper(wrap func(handlers.Mailer) handlers.Mailer) Option {
	return func(o *options) { o.mailer = append(o.mailer, wrap) }
}

// WithSenderMailerWrapper wraps the email sender's mailer: SES (or the
// log mailer without a sender), which the email queue's jobs are sent
// with. Without an email queue it is unused.
func WithSenderMailerWrapper(wrap func(handlers.Mailer) handlers.Mailer) Option {
	return func(o *options) { o.sesMailer = append(o.sesMailer, wrap) }
}

// WithDeliveriesWrapper wraps where the email sender keeps each email's
// delivery (the events table).
func WithDeliveriesWrapper(wrap func(emailjob.Deliveries) emailjob.Deliveries) Option {
	return func(o *options) { o.deliveries = append(o.deliveries, wrap) }
}

// WithRequeueWrapper wraps the queue the email sender defers jobs on (the
// email queue). Without an email queue it is unused.
func WithRequeueWrapper(wrap func(emailjob.Queue) emailjob.Queue) Option {
	return func(o *options) { o.requeue = append(o.requeue, wrap) }
}

// WithDeferQueueWrapper wraps the queue the processor defers throttled
// events on (the events queue). Without the events queue's URL it is
// unused.
func WithDeferQueueWrapper(wrap func(sqsbatch.DelayedQueue) sqsbatch.DelayedQueue) Option {
	return func(o *options) { o.deferQueue = append(o.deferQueue, wrap) }
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
	// emailARNJSON is emailARN as JSON writes it, without the quotes; nil
	// when it holds a character JSON escapes (Route decodes every batch
	// then).
	emailARNJSON []byte
	log          *slog.Logger
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
	// RouteEvents: every record is the events queue's (or the payload is
	// not an SQS event: the events handler answers it its way).
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

// batchSources is an SQS event with nothing but each record's source.
type batchSources struct {
	Records []struct {
		EventSourceARN string `json:"eventSourceARN"`
	} `json:"Records"`
}

// Route reads the records' eventSourceARN in an invocation's payload
// (encoding/json into a struct of that field alone) and says how the
// batch is served.
//
// The events queue's batches, the most, take a shortcut: when the email
// queue's ARN does not appear in the payload as it is written, and no
// \u escape does either, no record's eventSourceARN can be that ARN (an
// ARN holds no character JSON must escape, so only a \u escape could spell
// it otherwise), and the batch is the events queue's without being decoded
// (two scans of the bytes instead of a decoding: BenchmarkRouteBatch10).
func (h *Handler) Route(payload []byte) Route {
	if h.Emails == nil {
		return RouteEvents
	}
	if !bytes.Contains(payload, h.emailARNJSON) && !bytes.Contains(payload, []byte(`\u`)) {
		return RouteEvents
	}
	var b batchSources
	if json.Unmarshal(payload, &b) != nil {
		return RouteEvents
	}
	arns := make([]string, len(b.Records))
	for i, r := range b.Records {
		arns[i] = r.EventSourceARN
	}
	return h.route(arns)
}

func (h *Handler) route(arns []string) Route {
	emails := 0
	for _, arn := range arns {
		if h.isEmail(arn) {
			emails++
		}
	}
	switch {
	case emails == 0:
		return RouteEvents
	case emails == len(arns):
		return RouteEmails
	}
	return RouteMixed
}

// jsonVerbatim returns s as bytes when JSON writes it as it is (no quote,
// backslash, slash, control or non-ASCII character), else nil.
func jsonVerbatim(s string) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '/' {
			return nil
		}
	}
	return []byte(s)
}

// Invoke serves one invocation from its raw bytes: the events queue's
// batches go to the events handler's own entry point, the others are
// decoded with encoding/json.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if h.Route(payload) == RouteEvents {
		return h.Events.Invoke(ctx, payload)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("processorapp: decode the batch: %w", err)
	}
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Handle is Invoke on a decoded event.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	arns := make([]string, len(ev.Records))
	for i, r := range ev.Records {
		arns[i] = r.EventSourceARN
	}
	switch h.route(arns) {
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
// metricsOut (stdout in Lambda). opts wrap the dependencies (none in
// production). Nothing here makes a network call.
func New(cfg processorconfig.Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer, opts ...Option) *Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
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

	h := &Handler{emailARN: cfg.EmailQueueARN, emailARNJSON: jsonVerbatim(cfg.EmailQueueARN), log: log}
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
			Deliveries:  wrap[emailjob.Deliveries](eventsTable, o.deliveries),
			Mailer:      wrap(sesMailer, o.sesMailer),
			Queue:       wrap[emailjob.Queue](queue, o.requeue),
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
		Events: wrap[process.Events](eventsTable, o.events),
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
	h.Events = sqsbatch.New(proc, log)
	h.Events.Metrics = emf
	if cfg.EventsQueueURL != "" {
		h.Events.Defer = &sqsbatch.QuotaDeferral{
			Queue:      wrap[sqsbatch.DelayedQueue](sqsqueue.New(sqsClient, cfg.EventsQueueURL), o.deferQueue),
			IsThrottle: awserr.IsThrottle,
			Logger:     log,
		}
	}
	return h
}
