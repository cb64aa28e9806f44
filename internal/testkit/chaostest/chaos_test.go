package chaostest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/bustest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// Both functions run under their own policies from template.yaml.
func TestMain(m *testing.M) { os.Exit(iamtest.RunTests(m)) }

const secret = "whsec_chaos_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d"

// Settings of a run; `make chaos` raises the count with CHAOS_EVENTS.
const (
	defaultEvents = 300
	maxEvents     = 20000
	// The processor's knobs, short so that faults turn into retries,
	// redeliveries and dead letters within the run.
	visibility      = 2 * time.Second
	maxReceiveCount = 5
	processingLease = 5 * time.Second
	// lambdaTimeout leaves the handler the whole lease and the outcome
	// write the processor's finish margin after it, as the template does
	// (a 30 s timeout, a 3 s margin).
	lambdaTimeout = processingLease + process.DefaultFinishMargin
	dedupeLease   = 3 * time.Second
	pollers       = 3
	// The email mapping: emailSenders invocations at most (the template's
	// Tuning Email MaxConcurrency), sharing emailSendRate (SES's rate as
	// the senders know it), each in a sandbox of its own. Above what the
	// processor manages here, so that faults, not the pace, make the
	// email path's figures.
	emailSenders  = 2
	emailSendRate = 20
	// minSenderSends: the SES requests a run must make while faults are
	// injected for every kind of the sender's faults to come up (the
	// rarest is the 37th of each 200).
	minSenderSends = 40
	// deliveryRate paces the first attempts (events a second), and they
	// wait while the queue holds more than maxBacklog messages: the
	// processor's every call runs under IAM on one emulator process that
	// serialises DynamoDB, and whose SQS receive takes time linear in the
	// queue's length, so the queue must stay short.
	deliveryRate = 20
	maxBacklog   = 150
	// The network faults: each phase held this long, cycled while the
	// provider delivers (and at least once).
	phaseHold = time.Second
	// Quiet: the queue must be empty with nothing in flight this long.
	quietFor = 3 * time.Second
)

type settings struct {
	events int
	seed   uint64
	budget time.Duration
	logTo  string
}

func loadSettings(t *testing.T) settings {
	t.Helper()
	s := settings{events: defaultEvents, seed: uint64(time.Now().UnixNano()), logTo: os.Getenv("CHAOS_LOG")}
	if v := os.Getenv("CHAOS_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEvents {
			t.Fatalf("CHAOS_EVENTS=%q: want an integer in 1..%d", v, maxEvents)
		}
		s.events = n
	}
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: want an unsigned integer", v)
		}
		s.seed = n
	}
	// The processor, on one emulator, manages 4 to 10 events a second (the
	// fewer, the longer the run: the emulator's tables grow): budget two
	// minutes plus 300 ms an event, and keep it under go test's deadline.
	s.budget = 2*time.Minute + time.Duration(s.events)*300*time.Millisecond
	if dl, ok := t.Deadline(); ok {
		s.budget = min(s.budget, time.Until(dl)-30*time.Second)
	}
	return s
}

// sesDomain is the SES identity the sender's address belongs to.
const sesDomain = "chaos.example.com"

// The proxies, one per AWS service the functions call.
const (
	proxyDDB = "ddb"
	proxySQS = "sqs"
	proxySES = "ses"
	proxyEB  = "eb"
)

// rig is the system under test: the functions wired through toxiproxy to
// the emulator, and direct clients for setting up and checking.
type rig struct {
	ep                       string
	ddb                      *dynamodb.Client // direct, for checks
	sqs                      *sqs.Client      // direct, for checks and the redrive
	eventsTable, ordersTable string
	queueURL, dlqURL, sender string
	emailURL, emailDLQURL    string
	busQueue                 string // where a rule delivers every domain event
	network                  *chaostest.Network
	rec                      *chaostest.Recorder
	ingest                   chaostest.HandleFunc
	processor                *processorapp.Handler
	// senders are the email mapping's sandboxes, one per concurrent
	// invocation: each paces its own sends.
	senders []*processorapp.Handler
	fnSQS   *sqs.Client // through the proxy: the pollers'
	logger  *slog.Logger
	// background: invocations the simulated Lambda timed out, still
	// running (frozen: every AWS call they make is refused).
	background  sync.WaitGroup
	timeouts    atomic.Int64
	invocations atomic.Int64
}

func newRig(t *testing.T, ctx context.Context, s settings, poison []string) *rig {
	t.Helper()
	r := &rig{ep: motoserver.Endpoint()}
	direct := motoserver.TestConfig(t)
	ep := aws.String(r.ep)
	r.ddb = dynamodb.NewFromConfig(direct, func(o *dynamodb.Options) { o.BaseEndpoint = ep })
	r.sqs = sqs.NewFromConfig(direct, func(o *sqs.Options) { o.BaseEndpoint = ep })
	ses := sesv2.NewFromConfig(direct, func(o *sesv2.Options) { o.BaseEndpoint = ep })
	eb := eventbridge.NewFromConfig(direct, func(o *eventbridge.Options) { o.BaseEndpoint = ep })

	r.eventsTable = motoserver.UniqueName(t, "events")
	r.ordersTable = motoserver.UniqueName(t, "orders")
	if err := ddbevents.CreateTable(ctx, r.ddb, r.eventsTable); err != nil {
		t.Fatalf("create events table: %v", err)
	}
	if err := ddborders.CreateTable(ctx, r.ddb, r.ordersTable); err != nil {
		t.Fatalf("create orders table: %v", err)
	}
	qname := motoserver.UniqueName(t, "q")
	var err error
	r.queueURL, r.dlqURL, err = sqsqueue.CreateQueues(ctx, r.sqs, qname, qname+"-dlq", maxReceiveCount, visibility)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	r.emailURL, r.emailDLQURL, err = sqsqueue.CreateQueues(ctx, r.sqs, qname+"-emails", qname+"-emails-dlq", maxReceiveCount, visibility)
	if err != nil {
		t.Fatalf("create the email queues: %v", err)
	}
	emailARN, err := sqsqueue.QueueARN(ctx, r.sqs, r.emailURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(sesDomain)}); err != nil {
		t.Fatalf("create SES identity: %v", err)
	}
	r.sender = testevents.NewID("payments-") + "@" + sesDomain
	bus := motoserver.UniqueName(t, "bus")
	r.busQueue = bustest.ToQueue(t, ctx, eb, r.sqs, bus)

	// Toxiproxy in front of every service the functions call; the
	// functions reach them only through it (per-service endpoints, read
	// by LoadDefaultConfig and by each client), with two SDK attempts per
	// call so that faults surface as errors.
	r.network = chaostest.NewNetwork()
	t.Cleanup(r.network.Close)
	for _, p := range []struct{ proxy, env string }{
		{proxyDDB, "AWS_ENDPOINT_URL_DYNAMODB"}, {proxySQS, "AWS_ENDPOINT_URL_SQS"},
		{proxySES, "AWS_ENDPOINT_URL_SESV2"}, {proxyEB, "AWS_ENDPOINT_URL_EVENTBRIDGE"},
	} {
		u, err := r.network.AddProxy(p.proxy, r.ep)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(p.env, u)
	}
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	env := map[string]string{
		"EVENTS_TABLE": r.eventsTable, "QUEUE_URL": r.queueURL, "WEBHOOK_SECRETS": secret,
		"DEDUPE_LEASE": dedupeLease.String(),
		"ORDERS_TABLE": r.ordersTable, "REFUNDS_TABLE": r.ordersTable + ddborders.RefundsTableSuffix,
		"SENDER_EMAIL": r.sender, "EVENT_BUS_NAME": bus,
		"PROCESSING_LEASE": processingLease.String(), "MAX_CONCURRENCY": "10",
		// The real design: emails through their own queue, served by the
		// same function through a second mapping; throttled events
		// deferred on the events queue.
		"EVENTS_QUEUE_URL": r.queueURL, "EMAIL_QUEUE_URL": r.emailURL, "EMAIL_QUEUE_ARN": emailARN,
		"EMAIL_SEND_RATE": fmt.Sprint(emailSendRate), "EMAIL_SENDER_CONCURRENCY": fmt.Sprint(emailSenders),
	}
	getenv := func(k string) string { return env[k] }
	// Each function signs with the keys of its policy in template.yaml;
	// the configurations load after the endpoint variables above. The
	// processor's requests go through the simulated Lambda's sandbox:
	// refused once their invocation is frozen, recorded for the sends.
	ingestCfg := iamtest.Function(t, "IngestFunction", getenv).Config(t)
	processorCfg := sandboxed(iamtest.Function(t, "ProcessorFunction", getenv).Config(t))

	logw := io.Discard
	if s.logTo != "" {
		f, err := os.Create(s.logTo)
		if err != nil {
			t.Fatalf("CHAOS_LOG: %v", err)
		}
		t.Cleanup(func() { f.Close() })
		logw = &lockedWriter{w: f}
	}
	r.logger = slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))

	icfg, err := ingestapp.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	ih, err := ingestapp.New(ctx, icfg, ingestCfg, r.logger, io.Discard)
	if err != nil {
		t.Fatalf("ingestapp.New: %v", err)
	}
	// Both functions run through the entry point lambda.Start runs: the
	// event as JSON bytes in, the response's bytes out.
	r.ingest = func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return local.Invoke(ctx, ih.Handle, ev)
	}

	pcfg, err := processorapp.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	r.rec = chaostest.NewRecorder(chaostest.DefaultSchedule(), poison, maxReceiveCount)
	r.processor = newProcessor(pcfg, processorCfg, r.rec, r.logger)
	for range emailSenders {
		r.senders = append(r.senders, newProcessor(pcfg, processorCfg, r.rec, r.logger))
	}
	// The pollers poll with the processor's keys, as the event source
	// mapping uses its role.
	r.fnSQS = sqs.NewFromConfig(processorCfg)

	// The probes (DescribeTable, a SendEmail from another address,
	// DescribeEventBus) are in
	// neither function's policy: they sign with the set-up's keys, loaded
	// from the same endpoint variables, through the same sandbox.
	checkWiring(t, ctx, r, sandboxed(motoserver.TestConfig(t)), bus)
	r.network.ResetCounts()
	return r
}

// sandboxed returns cfg with its HTTP client inside the simulated Lambda's
// sandbox (chaostest.HTTPClient).
func sandboxed(cfg aws.Config) aws.Config {
	next := cfg.HTTPClient
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = chaostest.HTTPClient{Next: next}
	return cfg
}

// newProcessor is processorapp.New with the recorder's decorators around
// the events table, the mailer (the email queue), the publisher and every
// handler, and the email sender's SES mailer and deliveries.
func newProcessor(cfg processorapp.Config, awsCfg aws.Config, rec *chaostest.Recorder, log *slog.Logger) *processorapp.Handler {
	return processorapp.NewWithTestHooks(cfg, awsCfg, log, io.Discard, processorapp.TestHooks{
		Events:       func(e process.Events) process.Events { return rec.Events(e) },
		Mailer:       func(m handlers.Mailer) handlers.Mailer { return rec.Mailer(m) },
		Publisher:    func(p handlers.Publisher) handlers.Publisher { return rec.Publisher(p) },
		Handlers:     rec.Handlers,
		SenderMailer: func(m handlers.Mailer) handlers.Mailer { return rec.SESMailer(m) },
		Deliveries:   func(d emailjob.Deliveries) emailjob.Deliveries { return rec.Deliveries(d) },
	})
}

// checkWiring proves that the functions' calls to each service go through
// its proxy (with the proxy stopped, the call fails) and through the
// simulated sandbox (frozen, the call is refused).
func checkWiring(t *testing.T, ctx context.Context, r *rig, cfg aws.Config, bus string) {
	t.Helper()
	fnDDB := dynamodb.NewFromConfig(cfg)
	fnSQS := sqs.NewFromConfig(cfg)
	fnSES := sesv2.NewFromConfig(cfg)
	fnEB := eventbridge.NewFromConfig(cfg)
	calls := []struct {
		proxy string
		call  func(ctx context.Context) error
	}{
		{proxyDDB, func(ctx context.Context) error {
			_, err := fnDDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.eventsTable)})
			return err
		}},
		{proxySQS, func(ctx context.Context) error {
			_, err := fnSQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(r.queueURL)})
			return err
		}},
		{proxySES, func(ctx context.Context) error {
			// moto refuses GetEmailIdentity under IAM; a send from another
			// address of the domain stays out of the run's figures.
			_, err := fnSES.SendEmail(ctx, &sesv2.SendEmailInput{
				FromEmailAddress: aws.String("wiring-probe@" + sesDomain),
				Destination:      &sestypes.Destination{ToAddresses: []string{"probe@example.com"}},
				Content: &sestypes.EmailContent{Simple: &sestypes.Message{
					Subject: &sestypes.Content{Data: aws.String("probe")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("probe")}},
				}},
			})
			return err
		}},
		{proxyEB, func(ctx context.Context) error {
			_, err := fnEB.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
			return err
		}},
	}
	for _, c := range calls {
		if err := c.call(ctx); err != nil {
			t.Fatalf("%s call through its proxy: %v", c.proxy, err)
		}
		if err := c.call(chaostest.WithFreeze(ctx, time.Now())); err == nil {
			t.Fatalf("%s call succeeded in a frozen sandbox", c.proxy)
		}
		if err := r.network.Apply(chaostest.Fault{Proxy: c.proxy, Disabled: true}); err != nil {
			t.Fatal(err)
		}
		err := c.call(ctx)
		if herr := r.network.Heal(); herr != nil {
			t.Fatal(herr)
		}
		if err == nil {
			t.Fatalf("%s call succeeded with its proxy stopped: the functions do not go through toxiproxy", c.proxy)
		}
	}
}

// lockedWriter serialises writes to a log file.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// errLambdaTimeout is the simulated Lambda's answer to an invocation that
// outlived its timeout: the whole batch failed.
var errLambdaTimeout = fmt.Errorf("chaos: the invocation timed out after %s", lambdaTimeout)

// invoke returns what runs one batch in sandbox h the way Lambda does:
// under the function's timeout, through the bytes entry point, and at the
// deadline the invocation ends: whatever the handler still does is frozen
// (the functions' HTTP client refuses every call past the freeze time) and
// the batch counts as failed. Each invocation is numbered
// (chaostest.WithInvocation).
func (r *rig) invoke(h *processorapp.Handler) local.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return r.invokeIn(ctx, h, ev)
	}
}

func (r *rig) invokeIn(ctx context.Context, h *processorapp.Handler, ev events.SQSEvent) (events.SQSEventResponse, error) {
	deadline := time.Now().Add(lambdaTimeout)
	ictx, cancel := context.WithDeadline(chaostest.WithInvocation(chaostest.WithFreeze(ctx, deadline), r.invocations.Add(1)), deadline)
	type result struct {
		resp events.SQSEventResponse
		err  error
	}
	done := make(chan result, 1)
	r.background.Add(1)
	go func() {
		defer r.background.Done()
		defer cancel()
		resp, err := local.Invoke(ictx, h.Handle, ev)
		done <- result{resp, err}
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case res := <-done:
		return res.resp, res.err
	case <-timer.C:
		r.timeouts.Add(1)
		return events.SQSEventResponse{}, errLambdaTimeout
	}
}

// runPollers emulates the two event source mappings: pollers long-poll
// each queue through the SQS proxy and hand each batch to the processor as
// Lambda would (invoke): the events queue's to the shared processor, the
// email queue's each to a sandbox of its own. The returned stop ends them
// and waits.
func (r *rig) runPollers(t *testing.T, ctx context.Context) (stop func()) {
	t.Helper()
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	type feed struct {
		url string
		h   *processorapp.Handler
	}
	var feeds []feed
	for range pollers {
		feeds = append(feeds, feed{r.queueURL, r.processor})
	}
	for _, h := range r.senders {
		feeds = append(feeds, feed{r.emailURL, h})
	}
	for _, f := range feeds {
		p, err := local.NewPoller(ctx, r.fnSQS, f.url, r.invoke(f.h))
		if err != nil {
			cancel()
			t.Fatalf("poller: %v", err)
		}
		p.WaitTime, p.BatchSize, p.Logger = time.Second, 10, r.logger
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Run(pctx)
		}()
	}
	var once sync.Once
	return func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// watchBacklog keeps n at the number of messages waiting on the queue,
// read every quarter of a second, until stop is called.
func (r *rig) watchBacklog(ctx context.Context, n *atomic.Int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			out, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl:       aws.String(r.queueURL),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
			})
			if err == nil {
				v, _ := strconv.ParseInt(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], 10, 64)
				n.Store(v)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// quiesce waits until both queues, the events queue and the email queue,
// have had no message, visible, in flight or delayed, for quietFor.
func (r *rig) quiesce(ctx context.Context) error {
	var since time.Time
	last := "no reading"
	for ctx.Err() == nil {
		busy, reading, err := r.queuesBusy(ctx, r.queueURL, r.emailURL)
		if err == nil {
			last = reading
			switch {
			case busy:
				since = time.Time{}
			case since.IsZero():
				since = time.Now()
			case time.Since(since) >= quietFor:
				return nil
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("queues not quiet before the deadline (last: %s): %w", last, ctx.Err())
}

// queuesBusy reports whether any of the queues holds a message, visible,
// in flight or delayed, and what it read.
func (r *rig) queuesBusy(ctx context.Context, urls ...string) (bool, string, error) {
	busy := false
	var reading []string
	for _, u := range urls {
		out, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(u),
			AttributeNames: []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
			},
		})
		if err != nil {
			return false, "", err
		}
		for _, v := range out.Attributes {
			busy = busy || v != "0"
		}
		reading = append(reading, fmt.Sprint(u[strings.LastIndex(u, "/")+1:], out.Attributes))
	}
	return busy, strings.Join(reading, "; "), nil
}

// queueDepth is the number of messages on url, visible, in flight or
// delayed.
func (r *rig) queueDepth(ctx context.Context, url string) (int, error) {
	out, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n, nil
}

// redriveEmails moves every message of the email dead-letter queue back
// to the email queue once, body and attributes as they are (what SQS's
// DLQ redrive does), and returns how many it moved.
func (r *rig) redriveEmails(ctx context.Context, limit int) (int, error) {
	moved := 0
	for range limit/10 + 5 {
		out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(r.emailDLQURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			VisibilityTimeout: 60, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return moved, fmt.Errorf("receive from the email DLQ: %w", err)
		}
		if len(out.Messages) == 0 {
			return moved, nil
		}
		for _, m := range out.Messages {
			if _, err := r.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(r.emailURL), MessageBody: m.Body, MessageAttributes: m.MessageAttributes}); err != nil {
				return moved, fmt.Errorf("send to the email queue: %w", err)
			}
			if _, err := r.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.emailDLQURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return moved, fmt.Errorf("delete from the email DLQ: %w", err)
			}
			moved++
		}
	}
	return moved, fmt.Errorf("email DLQ not drained in %d receives", limit/10+5)
}

// redrive moves every message of the dead-letter queue back to the queue
// once: receive, send, delete. It returns the event ids moved.
func (r *rig) redrive(ctx context.Context, limit int) ([]string, error) {
	q := sqsqueue.New(r.sqs, r.queueURL)
	var moved []string
	for range limit/10 + 5 {
		out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(r.dlqURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			VisibilityTimeout: 60, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return moved, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(out.Messages) == 0 {
			return moved, nil
		}
		for _, m := range out.Messages {
			msg, err := sqsqueue.FromSDK(m)
			if err != nil {
				return moved, err
			}
			if err := q.Send(ctx, msg); err != nil {
				return moved, err
			}
			if _, err := r.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.dlqURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return moved, fmt.Errorf("delete from the DLQ: %w", err)
			}
			moved = append(moved, msg.EventID)
		}
	}
	return moved, fmt.Errorf("DLQ not drained in %d receives", limit/10+5)
}

// TestChaos delivers a random set of payment and refund events through the
// ingest function and the processor while the network between them and
// every AWS service fails in turns, the processor crashes, hangs and panics
// around its sends, and the simulated Lambda freezes attempts at their
// deadline. Then it checks the promises against the oracle (a model of the
// spec's rules written apart from the code) and against what the emulator
// received: every event answered 2xx is PROCESSED, every order is the
// oracle's, every effect went out exactly once or each duplicate has a
// named cause, and every kind of fault was injected.
func TestChaos(t *testing.T) {
	s := loadSettings(t)
	ctx, cancel := context.WithTimeout(context.Background(), s.budget)
	defer cancel()
	started := time.Now()

	rng := mrand.New(mrand.NewPCG(s.seed, 7))
	ords, err := chaostest.Generate(rng, s.events, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs := chaostest.Events(ords)
	var poison []string
	for _, e := range evs {
		if e.Poison {
			poison = append(poison, e.ID)
		}
	}
	r := newRig(t, ctx, s, poison)
	t.Logf("seed %d: %d events in %d orders, %d poison; budget %s", s.seed, len(evs), len(ords), len(poison), s.budget)

	stopPollers := r.runPollers(t, ctx)
	defer stopPollers()
	var backlog atomic.Int64
	stopWatch := r.watchBacklog(ctx, &backlog)
	defer stopWatch()
	drain := startDrain(r.sqs, r.busQueue)
	defer drain.stop()

	// Faults while the provider delivers (the processor runs meanwhile).
	phases := chaostest.StandardPhases(proxyDDB, proxySQS, proxySES, proxyEB)
	var delivered atomic.Bool
	faultsDone := make(chan error, 1)
	go func() {
		faultsDone <- r.network.RunPhases(ctx, phases, phaseHold, delivered.Load)
	}()
	prov := &chaostest.Provider{
		Handle: r.ingest, Secret: []byte(secret), Workers: chaostest.DefaultWorkers,
		DuplicateRate: chaostest.DefaultDuplicateRate, MaxAttempts: chaostest.DefaultMaxAttempts, Seed: s.seed, PoisonFirst: true,
		Hold: func() bool { return backlog.Load() > maxBacklog },
		// The first attempts spread over three quarters of a fault cycle,
		// or longer at deliveryRate: moto's SQS slows as a queue grows.
		Spread: max(time.Duration(len(phases))*phaseHold*3/4, time.Duration(len(evs))*time.Second/deliveryRate),
	}
	rep := prov.Deliver(ctx, evs)
	delivered.Store(true)
	if err := <-faultsDone; err != nil {
		t.Fatalf("fault schedule: %v", err)
	}
	faultsEnded := time.Now()

	// Calm: no toxics, no injected faults; drain, redrive once, drain.
	if err := r.network.Heal(); err != nil {
		t.Fatal(err)
	}
	r.rec.SetInjecting(false)
	if err := r.quiesce(ctx); err != nil {
		t.Errorf("first drain: %v", err)
	}
	drained := time.Now()
	redriven, err := r.redrive(ctx, len(evs)*2)
	if err != nil {
		t.Errorf("redrive: %v", err)
	}
	emailsRedriven, err := r.redriveEmails(ctx, len(evs)*2)
	if err != nil {
		t.Errorf("redrive the email DLQ: %v", err)
	}
	if err := r.quiesce(ctx); err != nil {
		t.Errorf("drain after the redrive: %v", err)
	}
	redrained := time.Now()
	// Nothing is left in the email dead-letter queue: a redriven job is
	// sent once, or found sent.
	if n, err := r.queueDepth(ctx, r.emailDLQURL); err != nil || n != 0 {
		t.Errorf("email DLQ after the redrive and the drain: %d messages (%v), want 0", n, err)
	}
	stopPollers()
	r.background.Wait()
	published, drainErrs := drain.stop()
	for _, err := range drainErrs {
		t.Errorf("reading the bus's queue: %v", err)
	}
	elapsed := time.Since(started)

	c := r.check(t, ctx, ords, rep, published)
	c.redriven, c.emailsRedriven = len(redriven), emailsRedriven
	c.drain, c.redrain = drained.Sub(faultsEnded), redrained.Sub(drained)
	c.checkMinimums(t, r, phases, poison, len(evs))
	summary := c.summary(s, rep, r, faultsEnded.Sub(started), elapsed)
	t.Log("\n" + summary)
	if os.Getenv("CHAOS_EVENTS") != "" {
		fmt.Fprintln(os.Stdout, summary)
	}
}
