package metrics_test

// The dashboard and the alarms of template.yaml against the metrics the
// code emits: both functions are driven through every path that counts
// something (their real handlers, with in-memory dependencies), their EMF
// lines are collected, and every metric the template names in the
// functions' namespace (name and dimensions) must be among them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/ingest/apigw"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// metricKey is a metric as CloudWatch tells it apart: its name and its
// dimensions, sorted, as "name{k=v,k=v}".
func metricKey(name string, dims map[string]string) string {
	parts := make([]string, 0, len(dims))
	for k, v := range dims {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// emitted parses EMF lines into the metric keys they publish: one per
// dimension set of each line. It fails the test on an empty dimension
// value.
func emitted(t *testing.T, out []byte) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("EMF line %s: %v", line, err)
		}
		var directive struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal(line, &directive); err != nil {
			t.Fatal(err)
		}
		for _, cwm := range directive.AWS.CloudWatchMetrics {
			for _, set := range cwm.Dimensions {
				dims := map[string]string{}
				for _, d := range set {
					v, _ := m[d].(string)
					if v == "" {
						t.Errorf("metric line with an empty %s dimension: %s", d, line)
					}
					dims[d] = v
				}
				for _, metric := range cwm.Metrics {
					keys[metricKey(metric.Name, dims)] = true
				}
			}
		}
	}
	return keys
}

// fakeReceiver answers the outcome it holds.
type fakeReceiver struct{ res ingest.Result }

func (f *fakeReceiver) Receive(context.Context, ingest.Request) ingest.Result { return f.res }

// ingestMetrics drives the ingest handler through every outcome, each
// signature failure and ignore reason included.
func ingestMetrics(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	recv := &fakeReceiver{}
	h := &apigw.Handler{Receiver: recv, Log: slog.New(slog.DiscardHandler),
		Metrics: &metrics.EMF{W: &buf, Function: ingestapp.MetricsFunction}}
	results := []ingest.Result{
		{Outcome: ingest.Accepted}, {Outcome: ingest.Duplicate}, {Outcome: ingest.Rejected},
		{Outcome: ingest.PayloadMismatch}, {Outcome: ingest.InFlight}, {Outcome: ingest.PayloadTooLarge},
		{Outcome: ingest.MethodNotAllowed}, {Outcome: ingest.Forbidden}, {Outcome: ingest.BadRequest}, {Outcome: ingest.Unavailable},
		{Outcome: ingest.NoSecret, Reason: ingest.ReasonNoSecret},
	}
	for _, reason := range []string{ingest.IgnoredType, ingest.IgnoredLivemode, ingest.IgnoredBefore} {
		results = append(results, ingest.Result{Outcome: ingest.Ignored, Reason: reason})
	}
	for _, err := range []error{signature.ErrMissingHeader, signature.ErrMalformedHeader, signature.ErrTimestampOutOfTolerance, signature.ErrSignatureMismatch} {
		results = append(results, ingest.Result{Outcome: ingest.InvalidSignature, Reason: signature.Outcome(err), Err: err})
	}
	for _, res := range results {
		recv.res = res
		req := events.APIGatewayV2HTTPRequest{Body: "{}"}
		req.RequestContext.HTTP.Method = "POST"
		if _, err := h.Handle(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// claims is an events table that refuses the claims of the ids it names.
type claims struct {
	mu      sync.Mutex
	refused map[string]eventrecord.Status
}

func (c *claims) Claim(_ context.Context, rec eventrecord.Record, _ time.Time) (eventrecord.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.refused[rec.EventID]; ok {
		return eventrecord.Record{}, &eventrecord.ConflictError{Existing: eventrecord.Record{EventID: rec.EventID, Status: s}}
	}
	rec.Attempts = 1
	return rec, nil
}

func (c *claims) Finish(context.Context, eventrecord.Record, time.Time) error { return nil }

// memOrders is an in-memory orders table with the orders package's rules.
type memOrders struct {
	mu      sync.Mutex
	m       map[string]orders.Order
	refunds map[string]orders.Refund
}

func (s *memOrders) ApplyPayment(_ context.Context, id string, p orders.Payment, _ time.Time) (orders.Applied, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m[id]
	old.ID = id
	n, changed := old.ApplyPayment(p)
	s.m[id] = n
	return orders.Applied{Order: n, Changed: changed, NewAnomalies: orders.NewAnomalies(old, n)}, nil
}

func (s *memOrders) ApplyRefund(_ context.Context, id string, r orders.Refund, _ time.Time) (orders.Applied, orders.Refund, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m[id]
	old.ID = id
	if held, ok := s.refunds[id+"/"+r.RefundID]; ok {
		// Another amount: a refund_conflict (this fake keeps the first
		// announcement, and flags every contradiction).
		n, outcome := old.ResolveRefund(held, true, false, r)
		if outcome != orders.RefundContradicted {
			return orders.Applied{Order: old}, held, nil
		}
		s.m[id] = n
		return orders.Applied{Order: n, Changed: true, NewAnomalies: orders.NewAnomalies(old, n)}, held, nil
	}
	n, _ := old.ApplyRefund(r)
	s.m[id], s.refunds[id+"/"+r.RefundID] = n, r
	return orders.Applied{Order: n, Changed: true, NewAnomalies: orders.NewAnomalies(old, n)}, r, nil
}

func (s *memOrders) Get(_ context.Context, id string) (orders.Order, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id], nil
}

func (s *memOrders) GetRefund(_ context.Context, id, refundID string) (orders.Refund, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refunds[id+"/"+refundID], nil
}

// mailer rejects every email to a rejected@ address, fails every one to a
// slow@ address, and sends the others nowhere.
type mailer struct{}

func (mailer) Send(_ context.Context, e handlers.Email) error {
	switch {
	case strings.HasPrefix(e.To, "rejected@"):
		return fmt.Errorf("send: %w: SES MessageRejected", handlers.ErrUndeliverable)
	case strings.HasPrefix(e.To, "slow@"):
		return errors.New("throttled")
	}
	return nil
}

type publisher struct{}

func (publisher) Publish(context.Context, handlers.DomainEvent) error { return nil }

// processorMetrics drives the processor, as processorapp builds it with
// its real handlers over in-memory dependencies, through every outcome,
// a panic, an undeliverable email and every order anomaly.
func processorMetrics(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	refused := map[string]eventrecord.Status{"evt_dup": eventrecord.Processed, "evt_busy": eventrecord.Processing}
	h := processorapp.NewWithTestHooks(processorapp.Config{EventsTable: "events", OrdersTable: "orders"}, aws.Config{Region: "us-east-1"},
		slog.New(slog.DiscardHandler), &buf, processorapp.TestHooks{
			Events: func(process.Events) process.Events { return &claims{refused: refused} },
			Orders: func(handlers.Orders) handlers.Orders {
				return &memOrders{m: map[string]orders.Order{}, refunds: map[string]orders.Refund{}}
			},
			Mailer:    func(handlers.Mailer) handlers.Mailer { return mailer{} },
			Publisher: func(handlers.Publisher) handlers.Publisher { return publisher{} },
			Handlers: func(r process.Registry) process.Registry {
				r["test.panic"] = process.HandlerFunc(func(context.Context, process.Event, *process.Steps) error { panic("a merchant's bug") })
				return r
			},
		})
	now := time.Now()
	at := func(min int) time.Time { return now.Add(time.Duration(min-60) * time.Minute) }
	var recs []events.SQSMessage
	add := func(id, body string) {
		recs = append(recs, events.SQSMessage{MessageId: fmt.Sprint(len(recs)), Body: body,
			MessageAttributes: map[string]events.SQSMessageAttribute{"event_id": {StringValue: aws.String(id), DataType: "String"}}})
	}
	build := func(o testevents.Options, customer string) {
		t.Helper()
		ev, err := testevents.Build(o, now)
		if err != nil {
			t.Fatal(err)
		}
		body := string(ev.Body)
		if customer != "" {
			body = strings.Replace(body, `"test.customer@example.com"`, `"`+customer+`"`, 1)
		}
		add(ev.ID, body)
	}
	pay := func(order, payment string, min int, customer string) {
		build(testevents.Options{Type: testevents.PaymentSucceeded, Order: order, Payment: payment, Created: at(min)}, customer)
	}
	refund := func(order, payment, currency string, amount int64, min int) {
		build(testevents.Options{Type: testevents.RefundCompleted, Order: order, Payment: payment, Currency: currency, Amount: amount, Created: at(min)}, "")
	}
	pay("ord_a", "pay_a1", 1, "")
	pay("ord_a", "pay_a2", 2, "")                                                                                   // double charge
	refund("ord_a", "pay_a1", "eur", 100, 3)                                                                        // currency mismatch
	refund("ord_a", "pay_zz", "usd", 100, 4)                                                                        // foreign refund
	refund("ord_a", "pay_a1", "usd", 999999, 5)                                                                     // over-refund
	pay("ord_b", "pay_b", 1, "rejected@example.com")                                                                // undeliverable email
	pay("ord_c", "pay_c", 1, "slow@example.com")                                                                    // retried
	add("evt_bad", `{"id":"evt_bad","type":"payment.succeeded","created":1,"livemode":false,"data":{"object":{}}}`) // failed
	add("", "not an envelope")                                                                                      // failed, type unknown
	add("evt_dup", `{"id":"evt_dup","type":"payment.succeeded","created":1,"livemode":false,"data":{"object":{}}}`)
	add("evt_busy", `{"id":"evt_busy","type":"payment.succeeded","created":1,"livemode":false,"data":{"object":{}}}`)
	add("evt_panic", `{"id":"evt_panic","type":"test.panic","created":1,"livemode":false,"data":{"object":{}}}`)
	// One refund id announced with two amounts: a refund conflict.
	for i, amount := range []int64{100, 200} {
		build(testevents.Options{Type: testevents.RefundCompleted, Order: "ord_a", Payment: "pay_a1", Refund: "re_a_twice", Amount: amount, Created: at(6 + i)}, "")
	}
	// One record at a time: the anomalies of ord_a need its events in order.
	for _, r := range recs {
		if _, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{r}}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// throttle is a quota's error as the SDK returns it: a ThrottlingException.
type throttle struct{}

func (throttle) Error() string     { return "ThrottlingException: Rate exceeded" }
func (throttle) ErrorCode() string { return "ThrottlingException" }

// quotaMailer is SES to the email sender: it throttles every email to a
// throttled@ address, rejects those to rejected@, panics on panic@, and
// sends the others nowhere.
type quotaMailer struct{}

func (quotaMailer) Send(_ context.Context, e handlers.Email) error {
	switch {
	case strings.HasPrefix(e.To, "throttled@"):
		return throttle{}
	case strings.HasPrefix(e.To, "rejected@"):
		return fmt.Errorf("send: %w: SES MessageRejected", handlers.ErrUndeliverable)
	case strings.HasPrefix(e.To, "panic@"):
		panic("a mailer's bug")
	}
	return nil
}

// throttledPublisher is EventBridge throttling every PutEvents.
type throttledPublisher struct{}

func (throttledPublisher) Publish(context.Context, handlers.DomainEvent) error { return throttle{} }

// deliveries grants every claim and records every end.
type deliveries struct{}

func (deliveries) ClaimEmail(context.Context, string, string, string, time.Time, time.Time) error {
	return nil
}

func (deliveries) ReclaimEmail(context.Context, string, string, string, string, time.Time, time.Time) error {
	return nil
}

func (deliveries) FinishEmail(context.Context, string, string, eventrecord.EmailStatus, string, time.Time) error {
	return nil
}

// requeue takes every deferred job or event.
type requeue struct{}

func (requeue) Requeue(context.Context, emailjob.Job, time.Duration) error { return nil }
func (requeue) SendDelayed(context.Context, eventrecord.Message, time.Duration) error {
	return nil
}

// quotaMetrics drives the processor as deployed, with the email queue and
// the events queue to defer on (over in-memory dependencies), through the
// quotas' paths: an event whose domain event EventBridge throttles
// (deferred), and email jobs sent, throttled (deferred), undeliverable and
// panicking.
func quotaMetrics(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	const emailARN = "arn:aws:sqs:us-east-1:123456789012:emails"
	cfg := processorapp.Config{EventsTable: "events", OrdersTable: "orders", SenderEmail: "orders@example.com",
		EventsQueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/events",
		EmailQueueURL:  "https://sqs.us-east-1.amazonaws.com/123456789012/emails", EmailQueueARN: emailARN,
		EmailSendRate: 1000, EmailSenderConcurrency: 1}
	h := processorapp.NewWithTestHooks(cfg, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler), &buf, processorapp.TestHooks{
		Events: func(process.Events) process.Events { return &claims{} },
		Orders: func(handlers.Orders) handlers.Orders {
			return &memOrders{m: map[string]orders.Order{}, refunds: map[string]orders.Refund{}}
		},
		Mailer:       func(handlers.Mailer) handlers.Mailer { return mailer{} },
		Publisher:    func(handlers.Publisher) handlers.Publisher { return throttledPublisher{} },
		SenderMailer: func(handlers.Mailer) handlers.Mailer { return quotaMailer{} },
		Deliveries:   func(emailjob.Deliveries) emailjob.Deliveries { return deliveries{} },
		Requeue:      func(emailjob.Queue) emailjob.Queue { return requeue{} },
		DeferQueue:   func(sqsbatch.DelayedQueue) sqsbatch.DelayedQueue { return requeue{} },
	})
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded, Order: "ord_q"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	received := strconv.FormatInt(time.Now().Add(-time.Minute).UnixMilli(), 10)
	event := events.SQSMessage{MessageId: "e1", Body: string(ev.Body), MessageAttributes: map[string]events.SQSMessageAttribute{
		eventrecord.AttrEventID:    {StringValue: aws.String(ev.ID), DataType: "String"},
		eventrecord.AttrReceivedAt: {StringValue: aws.String(received), DataType: "Number"},
	}}
	if resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{event}}); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the throttled event: %v, failures %v; want it deferred", err, resp.BatchItemFailures)
	}
	var jobs events.SQSEvent
	for i, to := range []string{"buyer@example.org", "throttled@example.org", "rejected@example.org", "panic@example.org"} {
		body, err := sqsemail.Encode(emailjob.Job{EventID: fmt.Sprint("evt_job", i), QueuedAt: time.Now(),
			Email: handlers.Email{To: to, Subject: "s", Text: "t", Template: "payment_confirmation", OrderID: "ord_q"}})
		if err != nil {
			t.Fatal(err)
		}
		jobs.Records = append(jobs.Records, events.SQSMessage{MessageId: fmt.Sprint("j", i), Body: body, EventSourceARN: emailARN,
			MessageAttributes: map[string]events.SQSMessageAttribute{eventrecord.AttrBodyEncoding: {StringValue: aws.String(eventrecord.BodyBase64), DataType: "String"}}})
	}
	resp, err := h.Handle(context.Background(), jobs)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "j3" {
		t.Fatalf("the email jobs: %v, failures %v; want the panicking one only", err, resp.BatchItemFailures)
	}
	return buf.Bytes()
}

// ref is one metric the template names: where, and its key.
type ref struct{ where, key string }

// templateRefs returns the metrics of the functions' namespace that the
// alarms and the dashboard of template.yaml name, read from the template as
// the SAM translator turns it into CloudFormation JSON (intrinsic functions
// in their long form).
func templateRefs(t *testing.T, path string) []ref {
	t.Helper()
	tpl, err := iamtest.Translate(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	var refs []ref
	for _, name := range slices.Sorted(maps.Keys(tpl.Resources)) {
		res := tpl.Resources[name]
		props := res.Properties
		switch res.Type {
		case "AWS::CloudWatch::Alarm":
			if !ourNamespace(props["Namespace"]) {
				continue // an AWS namespace (AWS/SQS, AWS/Lambda, …)
			}
			dims := map[string]string{}
			list, _ := props["Dimensions"].([]any)
			for _, d := range list {
				dim, _ := d.(map[string]any)
				dn, _ := dim["Name"].(string)
				v, ok := dim["Value"].(string)
				if !ok || v == "" {
					t.Errorf("alarm %s: dimension %s is not a plain, non-empty string: %v", name, dn, dim["Value"])
				}
				dims[dn] = v
			}
			metric, _ := props["MetricName"].(string)
			refs = append(refs, ref{"alarm " + name, metricKey(metric, dims)})
		case "AWS::CloudWatch::Dashboard":
			refs = append(refs, dashboardRefs(t, name, props["DashboardBody"])...)
		}
	}
	return refs
}

// ourNamespace reports whether an alarm's Namespace is the functions' own:
// the template's Tuning map, Observability, MetricsNamespace.
func ourNamespace(ns any) bool {
	m, _ := ns.(map[string]any)
	args, _ := m["Fn::FindInMap"].([]any)
	return len(args) == 3 && args[0] == "Tuning" && args[1] == "Observability" && args[2] == "MetricsNamespace"
}

// subVar finds the ${…} variables of a Fn::Sub string.
var subVar = regexp.MustCompile(`\$\{[^}]+\}`)

// namespace stands for ${MetricsNamespace} in the dashboard's JSON.
const namespace = "METRICS-NAMESPACE"

// dashboardRefs returns the metrics of the functions' namespace that the
// dashboard body (a !Sub of a JSON document) names, expanding CloudWatch's
// "." (same as the row above) and "..." (the row above, up to the values
// given after it) shorthands.
func dashboardRefs(t *testing.T, name string, body any) []ref {
	t.Helper()
	m, _ := body.(map[string]any)
	sub := m["Fn::Sub"]
	if args, ok := sub.([]any); ok && len(args) > 0 {
		sub = args[0] // [template, variables]
	}
	tmpl, ok := sub.(string)
	if !ok {
		t.Fatalf("dashboard %s: body is not a !Sub of a JSON document: %v", name, body)
	}
	text := subVar.ReplaceAllStringFunc(tmpl, func(v string) string {
		if v == "${MetricsNamespace}" {
			return namespace
		}
		return "0" // a number outside quotes, a string inside
	})
	var dash struct {
		Widgets []struct {
			Type       string
			Properties struct {
				Title   string
				Metrics [][]any
			}
		}
	}
	if err := json.Unmarshal([]byte(text), &dash); err != nil {
		t.Fatalf("dashboard %s: %v", name, err)
	}
	var refs []ref
	for _, w := range dash.Widgets {
		var prev []string
		for _, row := range w.Properties.Metrics {
			var vals []string
			for _, v := range row {
				if s, ok := v.(string); ok {
					vals = append(vals, s) // options objects are not part of the metric
				}
			}
			switch {
			case len(vals) > 0 && vals[0] == "...":
				vals = append(slices.Clone(prev[:len(prev)-(len(vals)-1)]), vals[1:]...)
			default:
				for i, v := range vals {
					if v == "." && i < len(prev) {
						vals[i] = prev[i]
					}
				}
			}
			prev = vals
			if vals[0] != namespace {
				continue
			}
			dims := map[string]string{}
			for i := 2; i+1 < len(vals); i += 2 {
				if vals[i+1] == "" {
					t.Errorf("dashboard %s, %q: empty %s dimension", name, w.Properties.Title, vals[i])
				}
				dims[vals[i]] = vals[i+1]
			}
			refs = append(refs, ref{fmt.Sprintf("dashboard %q", w.Properties.Title), metricKey(vals[1], dims)})
		}
	}
	return refs
}

// TestTemplateNamesOnlyEmittedMetrics is the regression test of the
// dashboard that plotted Duplicate for the processor, which emits
// ProcessorDuplicate: every metric an alarm or a dashboard widget of
// template.yaml names in the functions' namespace, with its dimensions,
// is one the code emits.
func TestTemplateNamesOnlyEmittedMetrics(t *testing.T) {
	got := emitted(t, slices.Concat(ingestMetrics(t), processorMetrics(t), quotaMetrics(t)))
	refs := templateRefs(t, "../../template.yaml")
	if len(refs) < 20 {
		t.Fatalf("found only %d metric references in template.yaml: the parser misses some", len(refs))
	}
	for _, r := range refs {
		if !got[r.key] {
			t.Errorf("%s names %s, which no code path emits", r.where, r.key)
		}
	}
	// The processor's outcomes and findings are all on the dashboard.
	plotted := map[string]bool{}
	for _, r := range refs {
		plotted[r.key] = true
	}
	for _, name := range []string{"Processed", "Retried", "Failed", "ProcessorDuplicate", "ProcessorInFlight", "ProcessorPanic", handlers.MetricEmailUndeliverable,
		sqsemail.MetricSent, sqsemail.MetricDeferred, sqsemail.MetricThrottled, sqsemail.MetricAge, sqsbatch.MetricDeferred} {
		if key := metricKey(name, map[string]string{"Function": processorapp.MetricsFunction}); !plotted[key] {
			t.Errorf("the template never shows %s", key)
		}
	}
	for _, k := range orders.AnomalyKinds() {
		if key := metricKey(handlers.MetricOrderAnomaly, map[string]string{"Function": processorapp.MetricsFunction, "Kind": string(k)}); !plotted[key] {
			t.Errorf("the template never shows %s", key)
		}
	}
	if t.Failed() {
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t.Logf("emitted:\n  %s", strings.Join(keys, "\n  "))
	}
}

// alarmRef is the metric an alarm watches: its namespace (a plain string,
// or "ours" for the functions' own), name and dimension values.
type alarmRef struct {
	namespace, metric string
	dims              map[string]any
}

// TestEveryAlarmOnTheDashboard: every alarm the template always creates is
// in the dashboard's alarm widget, and the quotas' paths have theirs: the
// email backlog's age (the queue's oldest job and the wait the customer
// sees), the email DLQ, SES throttling the sender, events deferred.
func TestEveryAlarmOnTheDashboard(t *testing.T) {
	tpl, err := iamtest.Translate(context.Background(), "../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var body string
	alarms := map[string]alarmRef{}
	for name, res := range tpl.Resources {
		switch res.Type {
		case "AWS::CloudWatch::Dashboard":
			m, _ := res.Properties["DashboardBody"].(map[string]any)
			args, _ := m["Fn::Sub"].([]any)
			if len(args) > 0 {
				body, _ = args[0].(string)
			}
		case "AWS::CloudWatch::Alarm":
			if res.Condition != "" {
				continue // a conditional resource cannot be named in the body
			}
			a := alarmRef{dims: map[string]any{}}
			a.namespace, _ = res.Properties["Namespace"].(string)
			if ourNamespace(res.Properties["Namespace"]) {
				a.namespace = "ours"
			}
			a.metric, _ = res.Properties["MetricName"].(string)
			list, _ := res.Properties["Dimensions"].([]any)
			for _, d := range list {
				dim, _ := d.(map[string]any)
				dn, _ := dim["Name"].(string)
				a.dims[dn] = dim["Value"]
			}
			alarms[name] = a
		}
	}
	if body == "" || len(alarms) < 10 {
		t.Fatalf("dashboard body %d bytes, %d alarms: the template's reading misses them", len(body), len(alarms))
	}
	for name := range alarms {
		if !strings.Contains(body, "${"+name+".Arn}") {
			t.Errorf("alarm %s is not in the dashboard's alarm widget", name)
		}
	}
	// queue names the queue a dimension value (!GetAtt Q.QueueName) is of.
	queue := func(v any) string {
		m, _ := v.(map[string]any)
		ga, _ := m["Fn::GetAtt"].([]any)
		if len(ga) == 2 && ga[1] == "QueueName" {
			s, _ := ga[0].(string)
			return s
		}
		return ""
	}
	want := []struct {
		what              string
		namespace, metric string
		queue             string
	}{
		{"the email backlog's age (oldest job)", "AWS/SQS", "ApproximateAgeOfOldestMessage", "EmailQueue"},
		{"the customer's wait for an email", "ours", sqsemail.MetricAge, ""},
		{"SES throttling the sender", "ours", sqsemail.MetricThrottled, ""},
		{"events deferred for a quota", "ours", sqsbatch.MetricDeferred, ""},
		{"the email DLQ's depth", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "EmailDLQ"},
		{"the email DLQ's age", "AWS/SQS", "ApproximateAgeOfOldestMessage", "EmailDLQ"},
	}
	for _, w := range want {
		found := false
		for _, a := range alarms {
			if a.namespace != w.namespace || a.metric != w.metric {
				continue
			}
			if w.queue == "" && a.dims["Function"] == processorapp.MetricsFunction || w.queue != "" && queue(a.dims["QueueName"]) == w.queue {
				found = true
			}
		}
		if !found {
			t.Errorf("no alarm on %s (%s %s %s)", w.what, w.namespace, w.metric, w.queue)
		}
	}
}
