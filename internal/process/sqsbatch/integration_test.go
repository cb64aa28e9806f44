package sqsbatch_test

// End-to-end tests of the processor function's handler: the real events and
// orders tables, SES and EventBridge adapters against moto_server, with
// recording and failing decorators around the mailer and publisher to count
// effects and inject faults.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// The processor runs under its own policy from template.yaml; this
// package's tests must use every action of it.
func TestMain(m *testing.M) {
	os.Exit(iamtest.RunTests(m, iamtest.CheckExercised("ProcessorFunction")))
}

const senderDomain = "shop.example.com"

// recordingMailer wraps the real SES mailer: it fails the emails fail
// returns an error for, and counts the sent ones per order.
type recordingMailer struct {
	next handlers.Mailer
	mu   sync.Mutex
	fail func(handlers.Email) error
	sent map[string]int
}

func (m *recordingMailer) Send(ctx context.Context, e handlers.Email) error {
	m.mu.Lock()
	fail := m.fail
	m.mu.Unlock()
	if fail != nil {
		if err := fail(e); err != nil {
			return err
		}
	}
	if err := m.next.Send(ctx, e); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent[e.OrderID]++
	return nil
}

func (m *recordingMailer) setFail(f func(handlers.Email) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = f
}

func (m *recordingMailer) count(orderID string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent[orderID]
}

// recordingPublisher wraps the real EventBridge publisher likewise.
type recordingPublisher struct {
	next      handlers.Publisher
	mu        sync.Mutex
	fail      func(handlers.DomainEvent) error
	published map[string]int         // by source event id
	entries   []handlers.DomainEvent // every event put, as its entry's Detail went out
}

func (p *recordingPublisher) Publish(ctx context.Context, e handlers.DomainEvent) error {
	p.mu.Lock()
	fail := p.fail
	p.mu.Unlock()
	if fail != nil {
		if err := fail(e); err != nil {
			return err
		}
	}
	if err := p.next.Publish(ctx, e); err != nil {
		return err
	}
	var d handlers.Detail
	_ = json.Unmarshal(e.Detail, &d)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published[d.SourceEventID]++
	p.entries = append(p.entries, e)
	return nil
}

func (p *recordingPublisher) count(eventID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published[eventID]
}

type stack struct {
	events  *ddbevents.Table
	orders  *ddborders.Store
	mailer  *recordingMailer
	pub     *recordingPublisher
	handler *sqsbatch.Handler
	prefix  string // makes event ids, order ids and addresses unique to the test
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	ddb := dynamodb.NewFromConfig(cfg)
	eventsTable, ordersTable := motoserver.UniqueName(t, "events"), motoserver.UniqueName(t, "orders")
	if err := ddbevents.CreateTable(ctx, ddb, eventsTable); err != nil {
		t.Fatal(err)
	}
	if err := ddborders.CreateTable(ctx, ddb, ordersTable); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, n := range []string{eventsTable, ordersTable, ordersTable + ddborders.RefundsTableSuffix} {
			_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(n)})
		}
	})
	ses := sesv2.NewFromConfig(cfg)
	if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(senderDomain)}); err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	bus := motoserver.UniqueName(t, "bus")
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = eb.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(bus)})
	})

	// The processor's clients carry its policy from template.yaml, for
	// the environment the template would give it; the test's own reads
	// (s.events, s.orders) use the set-up's keys.
	sender := "orders@" + senderDomain
	env := map[string]string{"EVENTS_TABLE": eventsTable, "ORDERS_TABLE": ordersTable, "REFUNDS_TABLE": ordersTable + ddborders.RefundsTableSuffix,
		"SENDER_EMAIL": sender, "EVENT_BUS_NAME": bus}
	fnCfg := iamtest.Function(t, "ProcessorFunction", func(k string) string { return env[k] }).Config(t)
	fnDDB := dynamodb.NewFromConfig(fnCfg)
	s := &stack{
		events: ddbevents.New(ddb, eventsTable),
		orders: ddborders.New(ddb, ordersTable),
		mailer: &recordingMailer{next: sesmail.New(sesv2.NewFromConfig(fnCfg), sender), sent: map[string]int{}},
		pub:    &recordingPublisher{next: ebpublish.New(eventbridge.NewFromConfig(fnCfg), bus), published: map[string]int{}},
		prefix: strings.ToLower(strings.TrimPrefix(motoserver.UniqueName(t, "x"), "x-")),
	}
	quiet := slog.New(slog.DiscardHandler)
	proc := &process.Processor{
		Events: ddbevents.New(fnDDB, eventsTable),
		Handlers: handlers.Default(handlers.Deps{
			Orders: ddborders.New(fnDDB, ordersTable), Mailer: s.mailer, Publisher: s.pub, Logger: quiet,
		}),
		IsPermanent: awserr.IsPermanent,
		Logger:      quiet,
	}
	s.handler = sqsbatch.New(proc, quiet)
	return s
}

// payment returns the body of a payment.succeeded event n for order n,
// unique to the test; edit may change the decoded event first.
func (s *stack) payment(t *testing.T, n int, edit func(obj map[string]any)) (eventID, orderID string, body []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "payment.succeeded.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	eventID, orderID = fmt.Sprintf("evt_%s_%d", s.prefix, n), fmt.Sprintf("ord_%s_%d", s.prefix, n)
	m["id"] = eventID
	obj := m["data"].(map[string]any)["object"].(map[string]any)
	obj["metadata"] = map[string]any{"order_id": orderID}
	obj["customer"] = map[string]any{"email": s.address(n), "name": "Buyer " + strconv.Itoa(n)}
	if edit != nil {
		edit(obj)
	}
	body, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return eventID, orderID, body
}

func (s *stack) address(n int) string { return fmt.Sprintf("buyer-%s-%d@example.org", s.prefix, n) }

// record is an SQS record as Lambda delivers it, with the body and the
// attributes as ingest sends them (the body base64-encoded).
func record(msgID, eventID, eventType string, body []byte) events.SQSMessage {
	str := func(v string) events.SQSMessageAttribute {
		return events.SQSMessageAttribute{StringValue: &v, DataType: "String", StringListValues: []string{}, BinaryListValues: [][]byte{}}
	}
	received := str(strconv.FormatInt(time.Now().UnixMilli(), 10))
	received.DataType = "Number"
	return events.SQSMessage{
		MessageId:     msgID,
		ReceiptHandle: "rh-" + msgID,
		Body:          eventrecord.EncodeBody(body),
		Attributes:    map[string]string{"ApproximateReceiveCount": "1"},
		MessageAttributes: map[string]events.SQSMessageAttribute{
			eventrecord.AttrEventID:      str(eventID),
			eventrecord.AttrType:         str(eventType),
			eventrecord.AttrReceivedAt:   received,
			eventrecord.AttrBodyEncoding: str(eventrecord.BodyBase64),
		},
		EventSource:    "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:events",
		AWSRegion:      "us-east-1",
	}
}

func (s *stack) handle(t *testing.T, recs ...events.SQSMessage) []string {
	t.Helper()
	resp, err := s.handler.Handle(context.Background(), events.SQSEvent{Records: recs})
	if err != nil {
		t.Fatalf("Handle returned %v; it must stay nil", err)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func (s *stack) record(t *testing.T, eventID string) eventrecord.Record {
	t.Helper()
	rec, err := s.events.Get(context.Background(), eventID)
	if err != nil {
		t.Fatalf("event record %s: %v", eventID, err)
	}
	return rec
}

func (s *stack) order(t *testing.T, orderID string) orders.Order {
	t.Helper()
	o, err := s.orders.Get(context.Background(), orderID)
	if err != nil {
		t.Fatalf("order %s: %v", orderID, err)
	}
	return o
}

func wantRecord(t *testing.T, rec eventrecord.Record, status eventrecord.Status, steps []string) {
	t.Helper()
	if rec.Status != status || !slices.Equal(rec.Steps, steps) {
		t.Errorf("record %s: want %s %v, got %s %v (error %q)", rec.EventID, status, steps, rec.Status, rec.Steps, rec.Error)
	}
}

var allSteps = []string{handlers.StepOrder, handlers.StepEvent, handlers.StepEmail}

// throttled is what SES answers when the account sends too fast.
func throttled() error {
	return fmt.Errorf("send email: %w", &sestypes.TooManyRequestsException{Message: aws.String("Maximum sending rate exceeded.")})
}

func TestBatchReportsExactlyTheFailedRecords(t *testing.T) {
	s := newStack(t)
	var recs []events.SQSMessage
	failing := map[string]bool{}
	var eventIDs, orderIDs []string
	for i := range 10 {
		eventID, orderID, body := s.payment(t, i, nil)
		eventIDs, orderIDs = append(eventIDs, eventID), append(orderIDs, orderID)
		recs = append(recs, record(fmt.Sprintf("msg-%d", i), eventID, "payment.succeeded", body))
		if i == 3 || i == 7 {
			failing[orderID] = true
		}
	}
	s.mailer.setFail(func(e handlers.Email) error {
		if failing[e.OrderID] {
			return throttled()
		}
		return nil
	})

	got := s.handle(t, recs...)
	slices.Sort(got)
	if want := []string{"msg-3", "msg-7"}; !slices.Equal(got, want) {
		t.Fatalf("batch item failures: want %v, got %v", want, got)
	}
	for i, id := range eventIDs {
		if failing[orderIDs[i]] {
			rec := s.record(t, id)
			wantRecord(t, rec, eventrecord.Retrying, []string{handlers.StepOrder, handlers.StepEvent})
			if !strings.Contains(rec.Error, "TooManyRequests") || len(rec.Body) != 0 {
				t.Errorf("retrying record: error %q, body %d bytes", rec.Error, len(rec.Body))
			}
			continue
		}
		wantRecord(t, s.record(t, id), eventrecord.Processed, allSteps)
		if n := s.mailer.count(orderIDs[i]); n != 1 {
			t.Errorf("order %s: %d emails", orderIDs[i], n)
		}
	}

	// SQS brings the two back; SES has recovered.
	s.mailer.setFail(nil)
	if got := s.handle(t, recs[3], recs[7]); len(got) != 0 {
		t.Fatalf("redelivery failures %v", got)
	}
	for _, i := range []int{3, 7} {
		wantRecord(t, s.record(t, eventIDs[i]), eventrecord.Processed, allSteps)
		if n, p := s.mailer.count(orderIDs[i]), s.pub.count(eventIDs[i]); n != 1 || p != 1 {
			t.Errorf("order %s: %d emails, %d events", orderIDs[i], n, p)
		}
		if o := s.order(t, orderIDs[i]); o.Status != orders.Paid {
			t.Errorf("order %s status %s", orderIDs[i], o.Status)
		}
	}
}

func TestRedeliveryAfterProcessedChangesNothing(t *testing.T) {
	s := newStack(t)
	eventID, orderID, body := s.payment(t, 1, nil)
	rec := record("m1", eventID, "payment.succeeded", body)
	if got := s.handle(t, rec); len(got) != 0 {
		t.Fatalf("failures %v", got)
	}
	before := s.order(t, orderID)
	first := s.record(t, eventID)

	if got := s.handle(t, rec); len(got) != 0 {
		t.Fatalf("a redelivered processed message must be acknowledged, got failures %v", got)
	}
	after := s.record(t, eventID)
	if after.Attempts != first.Attempts || !after.UpdatedAt.Equal(first.UpdatedAt) {
		t.Errorf("the duplicate touched the record: %+v", after)
	}
	if o := s.order(t, orderID); !o.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("the duplicate changed the order")
	}
	if n, p := s.mailer.count(orderID), s.pub.count(eventID); n != 1 || p != 1 {
		t.Errorf("%d emails, %d events", n, p)
	}
}

func TestReplayWithoutRecordIsProcessedOnce(t *testing.T) {
	s := newStack(t)
	eventID, orderID, body := s.payment(t, 1, nil)
	// An operator's replay whose record expired: no record at all, and no
	// attributes but the body's.
	rec := events.SQSMessage{MessageId: "replay-1", Body: string(body), MessageAttributes: map[string]events.SQSMessageAttribute{}}
	if got := s.handle(t, rec); len(got) != 0 {
		t.Fatalf("failures %v", got)
	}
	r := s.record(t, eventID)
	wantRecord(t, r, eventrecord.Processed, allSteps)
	if r.Type != "payment.succeeded" || r.PayloadHash == "" || r.Attempts != 1 {
		t.Errorf("created record %+v", r)
	}
	if got := s.handle(t, rec); len(got) != 0 {
		t.Fatalf("second replay failures %v", got)
	}
	if n := s.mailer.count(orderID); n != 1 {
		t.Errorf("%d emails", n)
	}
}

func TestConcurrentDeliveriesApplyOnce(t *testing.T) {
	s := newStack(t)
	eventID, orderID, body := s.payment(t, 1, nil)
	rec := record("same-message", eventID, "payment.succeeded", body)

	var wg sync.WaitGroup
	results := make([][]string, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.handler.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec}})
			if err != nil {
				t.Errorf("Handle: %v", err)
			}
			for _, f := range resp.BatchItemFailures {
				results[i] = append(results[i], f.ItemIdentifier)
			}
		}()
	}
	wg.Wait()
	// A delivery that lost the race is retried by SQS later, and then
	// acknowledged as a duplicate.
	for _, r := range results {
		if len(r) > 0 {
			if got := s.handle(t, rec); len(got) != 0 {
				t.Fatalf("retry of the losing delivery: failures %v", got)
			}
		}
	}
	wantRecord(t, s.record(t, eventID), eventrecord.Processed, allSteps)
	if n, p := s.mailer.count(orderID), s.pub.count(eventID); n != 1 || p != 1 {
		t.Errorf("%d emails, %d events", n, p)
	}
	if n := sesMessagesTo(t, s.address(1)); n != 1 {
		t.Errorf("moto holds %d emails to the customer", n)
	}
}

// sesMessagesTo counts the emails moto's SES holds for to.
func sesMessagesTo(t *testing.T, to string) int {
	t.Helper()
	resp, err := http.Get(motoserver.Endpoint() + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []struct {
				Destinations struct {
					ToAddresses []string `json:"ToAddresses"`
				} `json:"destinations"`
			} `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range data.SES.Message {
		if slices.Contains(m.Destinations.ToAddresses, to) {
			n++
		}
	}
	return n
}

// TestRetryResumesAfterTheDomainEvent: an email that fails for now
// (throttling) retries the event after OrderPaid went out; the retry sends
// the email and does not publish again.
func TestRetryResumesAfterTheDomainEvent(t *testing.T) {
	s := newStack(t)
	eventID, orderID, body := s.payment(t, 1, nil)
	rec := record("m1", eventID, "payment.succeeded", body)
	s.mailer.setFail(func(handlers.Email) error { return throttled() })
	if got := s.handle(t, rec); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("want m1 retried, got %v", got)
	}
	wantRecord(t, s.record(t, eventID), eventrecord.Retrying, []string{handlers.StepOrder, handlers.StepEvent})
	if p := s.pub.count(eventID); p != 1 {
		t.Fatalf("%d domain events before the retry", p)
	}

	s.mailer.setFail(nil)
	if got := s.handle(t, rec); len(got) != 0 {
		t.Fatalf("retry failures %v", got)
	}
	r := s.record(t, eventID)
	wantRecord(t, r, eventrecord.Processed, allSteps)
	if r.Attempts != 2 || r.Error != "" {
		t.Errorf("record after the retry: attempts %d, error %q", r.Attempts, r.Error)
	}
	if n, p := s.mailer.count(orderID), s.pub.count(eventID); n != 1 || p != 1 {
		t.Errorf("%d emails, %d events", n, p)
	}
}

func TestPermanentFailureIsRecordedAndAcknowledged(t *testing.T) {
	s := newStack(t)
	eventID, _, body := s.payment(t, 1, func(obj map[string]any) { delete(obj, "metadata") })
	if got := s.handle(t, record("m1", eventID, "payment.succeeded", body)); len(got) != 0 {
		t.Fatalf("a permanent failure must be acknowledged, got failures %v", got)
	}
	r := s.record(t, eventID)
	wantRecord(t, r, eventrecord.Failed, nil)
	if string(r.Body) != string(body) || !strings.Contains(r.Error, "metadata.order_id") {
		t.Errorf("failed record: error %q, body kept %v", r.Error, string(r.Body) == string(body))
	}
	if len(s.mailer.sent) != 0 {
		t.Errorf("emails sent: %v", s.mailer.sent)
	}
}

func TestLiveLeaseIsRetriedLater(t *testing.T) {
	s := newStack(t)
	eventID, orderID, body := s.payment(t, 1, nil)
	now := time.Now()
	_, err := s.events.Claim(context.Background(), eventrecord.Record{
		EventID: eventID, Type: "payment.succeeded", Token: "other-delivery",
		LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour),
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.handle(t, record("m1", eventID, "payment.succeeded", body)); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("want m1 retried, got %v", got)
	}
	r := s.record(t, eventID)
	if r.Status != eventrecord.Processing || r.Token != "other-delivery" {
		t.Errorf("record %s under %s", r.Status, r.Token)
	}
	if _, err := s.orders.Get(context.Background(), orderID); err == nil {
		t.Error("the order was written while another delivery held the event")
	}
}

func TestUnreadableBodyIsRecordedUnderItsHash(t *testing.T) {
	s := newStack(t)
	body := []byte(`{"id": "evt_cut_short", "type": "payment.succ`)
	if got := s.handle(t, events.SQSMessage{MessageId: "m1", Body: string(body)}); len(got) != 0 {
		t.Fatalf("failures %v", got)
	}
	sum := sha256.Sum256(body)
	r := s.record(t, "sha256:"+hex.EncodeToString(sum[:]))
	wantRecord(t, r, eventrecord.Failed, nil)
	if string(r.Body) != string(body) || !strings.Contains(r.Error, "invalid") {
		t.Errorf("record: error %q, body %q", r.Error, r.Body)
	}
}

// withReplayMark marks an SQS record as an operator's replay.
func withReplayMark(r events.SQSMessage) events.SQSMessage {
	v := "true"
	r.MessageAttributes[eventrecord.AttrReplay] = events.SQSMessageAttribute{StringValue: &v, DataType: "String"}
	return r
}

// Issue 11, item 1, the processor's side: a message whose body is not the
// one ingest stored under its event id (its SHA-256 differs) is never
// applied. It is recorded FAILED in a record of its own with the body and
// the reason, and acknowledged; the stored event's record is untouched and
// its own message is applied as usual.
func TestMismatchingBodyIsRefusedAndKept(t *testing.T) {
	s := newStack(t)
	eventID, orderID, body := s.payment(t, 1, nil)
	_, _, other := s.payment(t, 1, func(obj map[string]any) { obj["amount"] = 9999 })
	now := time.Now()
	sum := sha256.Sum256(body)
	stored := eventrecord.Record{
		EventID: eventID, Status: eventrecord.Received, Type: "payment.succeeded", PayloadHash: hex.EncodeToString(sum[:]),
		Token: "ingest", LeaseUntil: now.Add(30 * time.Second), ExpiresAt: now.Add(24 * time.Hour), ReceivedAt: now, UpdatedAt: now,
	}
	if err := s.events.Reserve(context.Background(), stored, now); err != nil {
		t.Fatal(err)
	}
	if got := s.handle(t, record("m-other", eventID, "payment.succeeded", other)); len(got) != 0 {
		t.Fatalf("the refused message must be acknowledged, got failures %v", got)
	}
	if r := s.record(t, eventID); r.Status != eventrecord.Received || r.PayloadHash != stored.PayloadHash || r.Token != "ingest" {
		t.Errorf("stored event changed: %s %s under %s", r.Status, r.PayloadHash, r.Token)
	}
	if _, err := s.orders.Get(context.Background(), orderID); err == nil {
		t.Fatal("the mismatching body was applied to the order")
	}
	otherSum := sha256.Sum256(other)
	kept := s.record(t, eventrecord.MismatchKey(hex.EncodeToString(otherSum[:]), eventID))
	if kept.Status != eventrecord.Failed || string(kept.Body) != string(other) || !strings.Contains(kept.Error, process.ErrPayloadMismatch.Error()) || !strings.Contains(kept.Error, stored.PayloadHash) {
		t.Errorf("kept record %s, %d body bytes, error %q; want FAILED with the body and the reason", kept.Status, len(kept.Body), kept.Error)
	}

	if got := s.handle(t, record("m-own", eventID, "payment.succeeded", body)); len(got) != 0 {
		t.Fatalf("the event's own message: failures %v", got)
	}
	wantRecord(t, s.record(t, eventID), eventrecord.Processed, allSteps)
	if o := s.order(t, orderID); o.Amount != 4999 {
		t.Errorf("order amount %d, want the stored body's 4999", o.Amount)
	}
	// The refused message again: a duplicate, nothing changes.
	if got := s.handle(t, record("m-other", eventID, "payment.succeeded", other)); len(got) != 0 {
		t.Fatalf("failures %v", got)
	}
	if n, p := s.mailer.count(orderID), s.pub.count(eventID); n != 1 || p != 1 {
		t.Errorf("%d emails, %d events, want 1 each", n, p)
	}
}

// Issue 11, item 5: a replayed event's record holds the body only until the
// processor ends the replayed attempt: RETRYING (the retry comes from the
// queue, with its own body) and PROCESSED records keep none.
func TestReplayedRecordDropsItsBody(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	eventID, orderID, body := s.payment(t, 1, nil)
	now := time.Now()
	sum := sha256.Sum256(body)
	// An earlier attempt failed permanently (say, a handler bug since
	// fixed): FAILED with the body.
	failed := eventrecord.Record{
		EventID: eventID, Status: eventrecord.Processing, Type: "payment.succeeded", PayloadHash: hex.EncodeToString(sum[:]),
		Token: "proc-0", LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(24 * time.Hour), ReceivedAt: now,
	}
	if _, err := s.events.Claim(ctx, failed, now); err != nil {
		t.Fatal(err)
	}
	failed.Status, failed.Error, failed.Body = eventrecord.Failed, "handler bug", body
	if err := s.events.Finish(ctx, failed, now); err != nil {
		t.Fatal(err)
	}
	// webhookctl replay: reset, and the stored body sent again.
	if _, _, err := s.events.Reset(ctx, eventID, ddbevents.ResetOptions{Token: "replay-1"}, now); err != nil {
		t.Fatal(err)
	}
	replayed := withReplayMark(record("m-replay", eventID, "payment.succeeded", body))

	s.mailer.setFail(func(handlers.Email) error { return throttled() })
	if got := s.handle(t, replayed); !slices.Equal(got, []string{"m-replay"}) {
		t.Fatalf("want m-replay retried, got %v", got)
	}
	if r := s.record(t, eventID); r.Status != eventrecord.Retrying || len(r.Body) != 0 {
		t.Errorf("after a transient failure: %s with %d body bytes, want RETRYING without a body", r.Status, len(r.Body))
	}
	s.mailer.setFail(nil)
	if got := s.handle(t, replayed); len(got) != 0 {
		t.Fatalf("failures %v", got)
	}
	r := s.record(t, eventID)
	wantRecord(t, r, eventrecord.Processed, allSteps)
	if len(r.Body) != 0 {
		t.Errorf("PROCESSED record keeps %d body bytes, want none", len(r.Body))
	}
	if n := s.mailer.count(orderID); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// padded returns body (a JSON object) with a "pad" member that makes it
// exactly n bytes long.
func padded(t *testing.T, body []byte, n int) []byte {
	t.Helper()
	head := []byte(`{"pad":"`)
	rest := body[1:]
	fill := n - len(head) - len(`",`) - len(rest)
	if fill < 0 {
		t.Fatalf("body of %d bytes is over %d already", len(body), n)
	}
	out := append(append(append(head, strings.Repeat("x", fill)...), `",`...), rest...)
	if len(out) != n {
		t.Fatalf("padded to %d bytes, want %d", len(out), n)
	}
	return out
}

// Issue 11, item 3, the processor's side: a batch of ten messages of the
// largest body (eventrecord.MaxBodyBytes), as the Lambda runtime hands the
// invocation over, stays under Lambda's 6 MB payload and is processed; one
// of them fails permanently and its FAILED record keeps the whole body
// (moto refuses DynamoDB items over 405,000 bytes).
func TestLargestBodiesThroughTheProcessor(t *testing.T) {
	s := newStack(t)
	ev := events.SQSEvent{}
	var ids []string
	var failedID string
	var failedBody []byte
	for i := range 10 {
		edit := func(map[string]any) {}
		if i == 3 {
			edit = func(obj map[string]any) { delete(obj, "metadata") }
		}
		id, _, body := s.payment(t, i, edit)
		body = padded(t, body, eventrecord.MaxBodyBytes)
		ev.Records = append(ev.Records, record(fmt.Sprintf("m%d", i), id, "payment.succeeded", body))
		ids = append(ids, id)
		if i == 3 {
			failedID, failedBody = id, body
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	const lambdaPayloadLimit = 6 << 20 // synchronous invocation payload, bytes
	if len(payload) >= lambdaPayloadLimit {
		t.Fatalf("a batch of 10 largest bodies is %d bytes of invocation, over Lambda's %d", len(payload), lambdaPayloadLimit)
	}
	t.Logf("a batch of 10 bodies of %d bytes: %d bytes of invocation", eventrecord.MaxBodyBytes, len(payload))
	out, err := lambda.NewHandler(s.handler.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != `{"batchItemFailures":[]}` {
		t.Fatalf("response %s, want no failures", out)
	}
	for _, id := range ids {
		want := eventrecord.Processed
		if id == failedID {
			want = eventrecord.Failed
		}
		if r := s.record(t, id); r.Status != want {
			t.Errorf("%s: %s (%s), want %s", id, r.Status, r.Error, want)
		}
	}
	if r := s.record(t, failedID); !slices.Equal(r.Body, failedBody) {
		t.Errorf("FAILED record keeps %d body bytes, want the %d received", len(r.Body), len(failedBody))
	}
}
