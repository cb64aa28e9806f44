package chaos_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/chaos"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/handlers"
	"github.com/altafinex-webhooks/receiver/internal/iamtest"
	"github.com/altafinex-webhooks/receiver/internal/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ingestconfig"
	"github.com/altafinex-webhooks/receiver/internal/lambdajson"
	"github.com/altafinex-webhooks/receiver/internal/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/processorconfig"
	"github.com/altafinex-webhooks/receiver/internal/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/sqspoller"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testevents"
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
	pollers       = 2
	// deliveryRate paces the first attempts (events a second), so that
	// the processor keeps up and the queue stays short.
	deliveryRate = 20
	// The network faults: each phase held this long, cycled while the
	// provider delivers (and at least once).
	phaseHold = time.Second
	// Quiet: the queue must be empty with nothing in flight this long.
	quietFor = 3 * time.Second
	// Processor fault chances, per send.
	failBefore = 0.05
	crashAfter = 0.05
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
	// The deliveries are paced at deliveryRate: budget two minutes plus
	// twice that pace, and keep it under go test's deadline.
	s.budget = 2*time.Minute + 2*time.Duration(s.events)*time.Second/deliveryRate
	if dl, ok := t.Deadline(); ok {
		s.budget = min(s.budget, time.Until(dl)-30*time.Second)
	}
	return s
}

// rig is the system under test: the functions wired through toxiproxy to
// the emulator, and direct clients for setting up and checking.
type rig struct {
	ep                       string
	ddb                      *dynamodb.Client // direct, for checks
	sqs                      *sqs.Client      // direct, for checks and the redrive
	eventsTable, ordersTable string
	queueURL, dlqURL, sender string
	network                  *chaos.Network
	rec                      *chaos.Recorder
	ingest                   chaos.HandleFunc
	processor                *sqsbatch.Handler
	fnSQS                    *sqs.Client // through the proxy: the pollers'
	logger                   *slog.Logger
}

func newRig(t *testing.T, ctx context.Context, s settings) *rig {
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
	const domain = "chaos.example.com"
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)}); err != nil {
		t.Fatalf("create SES identity: %v", err)
	}
	r.sender = testevents.NewID("payments-") + "@" + domain
	bus := motoserver.UniqueName(t, "bus")
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatalf("create event bus: %v", err)
	}

	// Toxiproxy in front of DynamoDB and SQS; the functions reach them
	// only through it (per-service endpoints, read by LoadDefaultConfig
	// and by each client), with two SDK attempts per call so that faults
	// surface as errors. SES and EventBridge are reached directly.
	r.network = chaos.NewNetwork()
	t.Cleanup(r.network.Close)
	ddbURL, err := r.network.AddProxy("ddb", r.ep)
	if err != nil {
		t.Fatal(err)
	}
	sqsURL, err := r.network.AddProxy("sqs", r.ep)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddbURL)
	t.Setenv("AWS_ENDPOINT_URL_SQS", sqsURL)
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	env := map[string]string{
		"EVENTS_TABLE": r.eventsTable, "QUEUE_URL": r.queueURL, "WEBHOOK_SECRETS": secret,
		"DEDUPE_LEASE": dedupeLease.String(),
		"ORDERS_TABLE": r.ordersTable, "SENDER_EMAIL": r.sender, "EVENT_BUS_NAME": bus,
		"PROCESSING_LEASE": processingLease.String(), "MAX_CONCURRENCY": "10",
	}
	getenv := func(k string) string { return env[k] }
	// Each function signs with the keys of its policy in template.yaml;
	// the configurations load after the endpoint variables above.
	ingestCfg := iamtest.Function(t, "IngestFunction", getenv).Config(t)
	processorCfg := iamtest.Function(t, "ProcessorFunction", getenv).Config(t)

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

	icfg, err := ingestconfig.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	ih, err := ingestapp.New(ctx, icfg, ingestCfg, r.logger, io.Discard)
	if err != nil {
		t.Fatalf("ingestapp.New: %v", err)
	}
	// Both functions run through their bytes entry points, as on Lambda.
	r.ingest = func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return lambdajson.Call[events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse](ctx, ih, ev)
	}

	pcfg, err := processorconfig.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	r.rec = chaos.NewRecorder(s.seed, failBefore, crashAfter)
	r.processor = newProcessor(pcfg, processorCfg, r.rec, r.logger)
	r.fnSQS = sqs.NewFromConfig(processorCfg)

	// The DynamoDB probe (DescribeTable) is in neither function's policy:
	// it signs with the set-up's keys, from the same environment.
	checkWiring(t, ctx, r, motoserver.TestConfig(t))
	r.network.ResetCounts()
	return r
}

// newProcessor is processorapp.New with the recorder's decorators around
// the events table, the orders table, the mailer, the publisher and every
// handler.
func newProcessor(cfg processorconfig.Config, awsCfg aws.Config, rec *chaos.Recorder, log *slog.Logger) *sqsbatch.Handler {
	return processorapp.New(cfg, awsCfg, log, io.Discard,
		processorapp.WithEventsWrapper(func(e process.Events) process.Events { return rec.Events(e) }),
		processorapp.WithOrdersWrapper(func(o handlers.Orders) handlers.Orders { return rec.Orders(o) }),
		processorapp.WithMailerWrapper(func(m handlers.Mailer) handlers.Mailer { return rec.Mailer(m) }),
		processorapp.WithPublisherWrapper(func(p handlers.Publisher) handlers.Publisher { return rec.Publisher(p) }),
		processorapp.WithHandlersWrapper(rec.Handlers),
	)
}

// checkWiring proves that the functions' DynamoDB and SQS calls go through
// the proxies: with a proxy stopped, the call fails.
func checkWiring(t *testing.T, ctx context.Context, r *rig, fnCfg aws.Config) {
	t.Helper()
	fnDDB := dynamodb.NewFromConfig(fnCfg)
	for _, c := range []struct {
		proxy string
		call  func() error
	}{
		{"ddb", func() error {
			_, err := fnDDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.eventsTable)})
			return err
		}},
		{"sqs", func() error {
			_, err := r.fnSQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(r.queueURL)})
			return err
		}},
	} {
		if err := c.call(); err != nil {
			t.Fatalf("%s call through its proxy: %v", c.proxy, err)
		}
		if err := r.network.Apply(chaos.Fault{Proxy: c.proxy, Disabled: true}); err != nil {
			t.Fatal(err)
		}
		err := c.call()
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

// runPollers emulates the event source mapping: pollers long-poll the
// queue through the SQS proxy and hand each batch to the processor under
// a Lambda-like timeout. The returned stop ends them and waits.
func (r *rig) runPollers(t *testing.T, ctx context.Context) (stop func()) {
	t.Helper()
	pctx, cancel := context.WithCancel(ctx)
	handle := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, lambdaTimeout)
		defer cancel()
		return lambdajson.Call[events.SQSEvent, events.SQSEventResponse](ctx, r.processor, ev)
	}
	var wg sync.WaitGroup
	for range pollers {
		p, err := sqspoller.New(ctx, r.fnSQS, r.queueURL, handle)
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
	return func() { cancel(); wg.Wait() }
}

// quiesce waits until the queue has had no message, visible or in
// flight, for quietFor.
func (r *rig) quiesce(ctx context.Context) error {
	var since time.Time
	last := "no reading"
	for ctx.Err() == nil {
		out, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(r.queueURL),
			AttributeNames: []sqstypes.QueueAttributeName{
				sqstypes.QueueAttributeNameApproximateNumberOfMessages,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
				sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
			},
		})
		if err == nil {
			last = fmt.Sprint(out.Attributes)
			busy := false
			for _, v := range out.Attributes {
				busy = busy || v != "0"
			}
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
	return fmt.Errorf("queue not quiet before the deadline (last: %s): %w", last, ctx.Err())
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
// the emulator fails in turns, and the processor crashes around its sends.
// Then it checks the two promises against the model: every event answered
// 2xx is PROCESSED, every order holds exactly the facts of its events, and
// an email or domain event goes out twice only where an attempt crashed
// between the send and its checkpoint.
func TestChaos(t *testing.T) {
	s := loadSettings(t)
	ctx, cancel := context.WithTimeout(context.Background(), s.budget)
	defer cancel()
	started := time.Now()
	r := newRig(t, ctx, s)

	rng := mrand.New(mrand.NewPCG(s.seed, 7))
	ords, err := chaos.Generate(rng, s.events, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs := chaos.Events(ords)
	t.Logf("seed %d: %d events in %d orders; budget %s", s.seed, len(evs), len(ords), s.budget)

	stopPollers := r.runPollers(t, ctx)
	defer stopPollers()

	// Faults while the provider delivers (the processor runs meanwhile).
	phases := chaos.StandardPhases("ddb", "sqs")
	var delivered atomic.Bool
	faultsDone := make(chan error, 1)
	go func() {
		faultsDone <- r.network.RunPhases(ctx, phases, phaseHold, delivered.Load)
	}()
	prov := &chaos.Provider{
		Handle: r.ingest, Secret: []byte(secret), Workers: chaos.DefaultWorkers,
		DuplicateRate: chaos.DefaultDuplicateRate, MaxAttempts: chaos.DefaultMaxAttempts, Seed: s.seed,
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

	// Calm: no toxics, no injected crashes; drain, redrive once, drain.
	if err := r.network.Heal(); err != nil {
		t.Fatal(err)
	}
	r.rec.SetInjecting(false)
	if err := r.quiesce(ctx); err != nil {
		t.Errorf("first drain: %v", err)
	}
	redriven, err := r.redrive(ctx, len(evs)*2)
	if err != nil {
		t.Errorf("redrive: %v", err)
	}
	if err := r.quiesce(ctx); err != nil {
		t.Errorf("drain after the redrive: %v", err)
	}
	stopPollers()
	elapsed := time.Since(started)

	c := r.check(t, ctx, ords, rep)
	c.redriven = len(redriven)
	summary := c.summary(s, rep, r, faultsEnded.Sub(started), elapsed)
	t.Log("\n" + summary)
	if os.Getenv("CHAOS_EVENTS") != "" {
		fmt.Fprintln(os.Stdout, summary)
	}
}

// checks holds the figures of the verification.
type checks struct {
	lost, doubleApplied, wrongOrders int
	missingRecords, extraRecords     int
	emails, published, sesStored     int
	unsureEmails                     int // sends that failed, not injected: SES may hold them
	dupEmails, dupEvents             map[chaos.Cause]int
	missingEmails, missingEvents     int
	staleFailures, unaddressed       int
	silentRefunds, duplicateRefunds  int
	attempts, redriven               int
}

func (r *rig) check(t *testing.T, ctx context.Context, ords []chaos.Order, rep chaos.Report) *checks {
	t.Helper()
	c := &checks{dupEmails: map[chaos.Cause]int{}, dupEvents: map[chaos.Cause]int{}}
	evs := chaos.Events(ords)
	byID := map[string]chaos.Event{}
	for _, e := range evs {
		byID[e.ID] = e
	}
	if len(rep.GaveUp) > 0 {
		t.Errorf("%d deliveries were never answered 2xx within %d attempts: %s", len(rep.GaveUp), chaos.DefaultMaxAttempts, firstN(rep.GaveUp, 10))
	}
	for status, n := range rep.Answers2xx {
		if status != "accepted" && status != "duplicate" {
			t.Errorf("%d answers 2xx %q: a valid event must be accepted or a duplicate", n, status)
		}
	}

	// 1. Nothing answered 2xx is lost: one PROCESSED record per event.
	table := ddbevents.New(r.ddb, r.eventsTable)
	for _, e := range evs {
		if !rep.Accepted[e.ID] {
			continue
		}
		rec, err := table.Get(ctx, e.ID)
		switch {
		case errors.Is(err, ddbevents.ErrNotFound):
			c.lost++
			c.missingRecords++
			t.Errorf("LOST: event %s (%s, order %s) answered 2xx has no record", e.ID, e.Type, e.OrderID)
		case err != nil:
			t.Fatalf("read record %s: %v", e.ID, err)
		case rec.Status != eventrecord.Processed:
			c.lost++
			t.Errorf("LOST: event %s (%s, order %s) answered 2xx is %s after the drain: attempts %d, steps %v, error %q",
				e.ID, e.Type, e.OrderID, rec.Status, rec.Attempts, rec.Steps, rec.Error)
		}
	}
	if n := scanCount(t, ctx, r.ddb, r.eventsTable); n != len(evs) {
		c.extraRecords = n - len(evs)
		t.Errorf("events table holds %d records for %d events", n, len(evs))
	}

	// 2. No order change applied twice: every order equals the model.
	for _, o := range ords {
		want := chaos.Expected(o)
		out, err := r.ddb.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(r.ordersTable), ConsistentRead: aws.Bool(true),
			Key: map[string]ddbtypes.AttributeValue{"order_id": &ddbtypes.AttributeValueMemberS{Value: o.ID}},
		})
		if err != nil {
			t.Fatalf("read order %s: %v", o.ID, err)
		}
		got := rawOrder(out.Item)
		if got.refundedTotal != want.RefundedTotal || got.refundSum != got.refundedTotal || len(got.refunds) != len(want.Refunds) {
			c.doubleApplied++
			t.Errorf("DOUBLE-APPLIED or missing refund on order %s: refunded_total %d (refunds %v summing to %d), want %d (%v)",
				o.ID, got.refundedTotal, got.refunds, got.refundSum, want.RefundedTotal, want.Refunds)
			continue
		}
		if diff := orderDiff(got, want); diff != "" {
			c.wrongOrders++
			t.Errorf("order %s differs from the model: %s", o.ID, diff)
		}
	}

	// 3. Emails and domain events: one per event that should notify; a
	// second only where an attempt crashed between the send and its
	// checkpoint.
	attempts := r.rec.Attempts()
	emails, published := groupSends(r.rec.Emails()), groupSends(r.rec.Published())
	c.emails, c.published = len(r.rec.Emails()), len(r.rec.Published())
	for _, as := range attempts {
		c.attempts += len(as)
	}
	for _, e := range evs {
		as := attempts[e.ID]
		for _, cause := range chaos.ExplainDuplicates(emails[e.ID], as, chaos.InjectEmailAfter, handlers.StepEmail) {
			c.dupEmails[cause]++
			if cause == chaos.CauseUnexplained {
				t.Errorf("DUPLICATE EMAIL without a crash for event %s (%s): sends %v, attempts %s", e.ID, e.Type, emails[e.ID], describe(as))
			}
		}
		for _, cause := range chaos.ExplainDuplicates(published[e.ID], as, chaos.InjectPublishAfter, handlers.StepEvent) {
			c.dupEvents[cause]++
			if cause == chaos.CauseUnexplained {
				t.Errorf("DUPLICATE DOMAIN EVENT without a crash for event %s (%s): sends %v, attempts %s", e.ID, e.Type, published[e.ID], describe(as))
			}
		}
		notify, addressed, ok := chaos.FinalDecision(as)
		if !ok {
			if rep.Accepted[e.ID] {
				t.Errorf("event %s (%s) was never applied to its order: attempts %s", e.ID, e.Type, describe(as))
			}
			continue
		}
		if notify {
			if !addressed {
				// A refund applied before its payment: the order
				// has no customer address, the notice goes nowhere.
				c.unaddressed++
			} else if len(emails[e.ID]) == 0 {
				c.missingEmails++
				t.Errorf("MISSING EMAIL for event %s (%s): attempts %s", e.ID, e.Type, describe(as))
			}
			if len(published[e.ID]) == 0 {
				c.missingEvents++
				t.Errorf("MISSING DOMAIN EVENT for event %s (%s): attempts %s", e.ID, e.Type, describe(as))
			}
			continue
		}
		// Told no one: only a stale failure, or a refund event that does
		// not own its refund id (another event, created earlier, carried
		// it). A refund the model says this event applied must have told
		// the bus, and the customer when the order had an address.
		switch e.Type {
		case testevents.PaymentFailed:
			if m := chaos.Expected(ords[orderIndex(ords, e.OrderID)]); !m.HasSuccess() && len(m.Refunds) == 0 && m.PaymentEventID == e.ID {
				t.Errorf("payment.failed %s holds its order and told no one: attempts %s", e.ID, describe(as))
			}
			c.staleFailures++
		case testevents.RefundCompleted:
			if m := chaos.Expected(ords[orderIndex(ords, e.OrderID)]); m.RefundEvents[e.RefundID].ID == e.ID {
				c.silentRefunds++
				t.Errorf("REFUND TOLD NO ONE: refund %s (order %s) applied its refund %s and sent no notice nor OrderRefunded: attempts %s",
					e.ID, e.OrderID, e.RefundID, describe(as))
			} else {
				c.duplicateRefunds++
			}
		default:
			t.Errorf("%s %s told no one: attempts %s", e.Type, e.ID, describe(as))
		}
	}
	c.sesStored = sesCount(t, r.ep, r.sender)
	// A send that failed (a timeout, a reset) may have reached SES: it
	// holds at least what the recorder saw sent and at most that plus the
	// failed sends.
	c.unsureEmails = r.rec.UnsureEmails()
	if c.sesStored < c.emails || c.sesStored > c.emails+c.unsureEmails {
		t.Errorf("SES holds %d emails from %s, the recorder saw %d sent and %d sends fail (they may have reached SES)",
			c.sesStored, r.sender, c.emails, c.unsureEmails)
	}
	return c
}

func orderIndex(ords []chaos.Order, id string) int {
	for i, o := range ords {
		if o.ID == id {
			return i
		}
	}
	return -1
}

func groupSends(ss []chaos.Sent) map[string][]chaos.Sent {
	out := map[string][]chaos.Sent{}
	for _, s := range ss {
		out[s.EventID] = append(out[s.EventID], s)
	}
	return out
}

func describe(as []chaos.Attempt) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "[#%d resumed=%t applies=%v emails=%d published=%d injected=%v err=%q", a.N, a.Resumed, a.Applies, a.EmailsSent, a.Published, a.Injected, a.HandlerErr)
		if a.Finish != nil {
			fmt.Fprintf(&b, " finish=%s steps=%v err=%q", a.Finish.Status, a.Finish.Steps, a.Finish.Err)
		}
		b.WriteString("] ")
	}
	return b.String()
}

func firstN(ss []string, n int) string {
	if len(ss) > n {
		return strings.Join(ss[:n], ", ") + ", …"
	}
	return strings.Join(ss, ", ")
}

// storedOrder is an order item as stored, read attribute by attribute.
type storedOrder struct {
	status, paymentEventID, lastEventID, currency string
	amount, refundedTotal, refundSum              int64
	refunds                                       map[string]int64
	refundEvents                                  map[string]string
	hasPaid, hasFailed                            bool
}

func rawOrder(item map[string]ddbtypes.AttributeValue) storedOrder {
	s := func(k string) string {
		if v, ok := item[k].(*ddbtypes.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	n := func(v ddbtypes.AttributeValue) int64 {
		if v, ok := v.(*ddbtypes.AttributeValueMemberN); ok {
			x, _ := strconv.ParseInt(v.Value, 10, 64)
			return x
		}
		return 0
	}
	o := storedOrder{
		status: s("status"), paymentEventID: s("payment_event_id"), lastEventID: s("last_event_id"), currency: s("currency"),
		amount: n(item["amount"]), refundedTotal: n(item["refunded_total"]), refunds: map[string]int64{},
		refundEvents: map[string]string{},
	}
	_, o.hasPaid = item["paid_at_ms"]
	_, o.hasFailed = item["failed_at_ms"]
	if m, ok := item["refunds"].(*ddbtypes.AttributeValueMemberM); ok {
		for id, v := range m.Value {
			// Each refund is a map of amount, event_id and
			// event_created_ms.
			r, _ := v.(*ddbtypes.AttributeValueMemberM)
			if r == nil {
				r = &ddbtypes.AttributeValueMemberM{}
			}
			o.refunds[id] = n(r.Value["amount"])
			o.refundSum += o.refunds[id]
			if e, ok := r.Value["event_id"].(*ddbtypes.AttributeValueMemberS); ok {
				o.refundEvents[id] = e.Value
			}
		}
	}
	return o
}

func orderDiff(got storedOrder, want orders.Order) string {
	var d []string
	check := func(name string, g, w any) {
		if fmt.Sprint(g) != fmt.Sprint(w) {
			d = append(d, fmt.Sprintf("%s %v, want %v", name, g, w))
		}
	}
	check("status", got.status, string(want.Status))
	check("amount", got.amount, want.Amount)
	check("currency", got.currency, want.Currency)
	check("payment_event_id", got.paymentEventID, want.PaymentEventID)
	check("last_event_id", got.lastEventID, want.LastEventID)
	check("paid", got.hasPaid, want.HasSuccess())
	check("failed", got.hasFailed, want.HasFailure())
	for id, a := range want.Refunds {
		check("refund "+id, got.refunds[id], a)
		check("refund "+id+" event", got.refundEvents[id], want.RefundEvents[id].ID)
	}
	return strings.Join(d, "; ")
}

func scanCount(t *testing.T, ctx context.Context, client *dynamodb.Client, table string) int {
	t.Helper()
	n := 0
	var start map[string]ddbtypes.AttributeValue
	for range 1000 {
		out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), Select: ddbtypes.SelectCount, ExclusiveStartKey: start})
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		n += int(out.Count)
		if len(out.LastEvaluatedKey) == 0 {
			return n
		}
		start = out.LastEvaluatedKey
	}
	t.Fatalf("scan %s did not end in 1000 pages", table)
	return 0
}

// sesCount returns how many emails moto's SES holds from sender.
func sesCount(t *testing.T, endpoint, sender string) int {
	t.Helper()
	resp, err := http.Get(strings.TrimRight(endpoint, "/") + "/moto-api/data.json")
	if err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []struct {
				Source string `json:"source"`
			} `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	n := 0
	for _, m := range data.SES.Message {
		if m.Source == sender {
			n++
		}
	}
	return n
}

func (c *checks) summary(s settings, rep chaos.Report, r *rig, faulty, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos run (seed %d)\n", s.seed)
	fmt.Fprintf(&b, "  events                %d\n", rep.Events)
	fmt.Fprintf(&b, "  deliveries            %d (%d duplicates), %d requests\n", rep.Deliveries, rep.Duplicates, rep.Requests)
	fmt.Fprintf(&b, "  2xx answers           %v\n", rep.Answers2xx)
	fmt.Fprintf(&b, "  non-2xx answers       %d %v\n", rep.NonOK(), rep.Non2xx)
	fmt.Fprintf(&b, "  never accepted        %d\n", len(rep.GaveUp))
	fmt.Fprintf(&b, "  network faults applied (phases of %s):\n%s", phaseHold, chaos.FormatCounts(r.network.Counts()))
	fmt.Fprintf(&b, "  processor faults injected:\n%s", chaos.FormatCounts(r.rec.Injected()))
	fmt.Fprintf(&b, "  processor claims:\n%s", chaos.FormatCounts(r.rec.Claims()))
	fmt.Fprintf(&b, "  handler attempts      %d\n", c.attempts)
	fmt.Fprintf(&b, "  redriven from DLQ     %d\n", c.redriven)
	fmt.Fprintf(&b, "  LOST                  %d\n", c.lost)
	fmt.Fprintf(&b, "  DOUBLE-APPLIED        %d (orders differing otherwise: %d)\n", c.doubleApplied, c.wrongOrders)
	fmt.Fprintf(&b, "  emails sent           %d (SES holds %d; %d sends failed and may have reached it), duplicates %s, missing %d\n",
		c.emails, c.sesStored, c.unsureEmails, causes(c.dupEmails), c.missingEmails)
	fmt.Fprintf(&b, "  domain events         %d, duplicates %s, missing %d\n", c.published, causes(c.dupEvents), c.missingEvents)
	fmt.Fprintf(&b, "  not notified          %d stale payment.failed, %d duplicate refund events; refunds that told no one: %d (must be 0)\n",
		c.staleFailures, c.duplicateRefunds, c.silentRefunds)
	fmt.Fprintf(&b, "  no email address      %d (refunds applied before their payment)\n", c.unaddressed)
	fmt.Fprintf(&b, "  delivery              %s; faults for %s; total %s\n", rep.Duration.Round(time.Millisecond), faulty.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	return b.String()
}

func causes(m map[chaos.Cause]int) string {
	total := 0
	keys := make([]string, 0, len(m))
	for k, v := range m {
		total += v
		keys = append(keys, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(keys)
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(keys, "; "))
}
