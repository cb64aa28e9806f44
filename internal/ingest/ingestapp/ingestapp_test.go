package ingestapp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/ingest/apigw"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// The ingest function runs under its own policy from template.yaml; this
// package's tests must use every action of it.
func TestMain(m *testing.M) { os.Exit(iamtest.RunTests(m, iamtest.CheckExercised("IngestFunction"))) }

const secret = "whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d"

// stack is one ingest function wired to a fresh table and queue in moto.
type stack struct {
	t        *testing.T
	h        *apigw.Handler
	svc      *ingest.Service
	table    *ddbevents.Table
	tableNm  string
	queueURL string
	ddb      *dynamodb.Client
	sqs      *sqs.Client
	logs     *syncBuffer
	env      map[string]string
	now      time.Time
	keys     iamtest.Keys // the function's: its policy in template.yaml
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newStack(t *testing.T, env map[string]string) *stack {
	t.Helper()
	ctx := context.Background()
	awsCfg := motoserver.TestConfig(t)
	s := &stack{t: t, ddb: dynamodb.NewFromConfig(awsCfg), sqs: sqs.NewFromConfig(awsCfg), logs: &syncBuffer{}, now: baseNow}
	s.tableNm = motoserver.UniqueName(t, "events")
	if err := ddbevents.CreateTable(ctx, s.ddb, s.tableNm); err != nil {
		t.Fatalf("create table: %v", err)
	}
	qname := motoserver.UniqueName(t, "q")
	url, _, err := sqsqueue.CreateQueues(ctx, s.sqs, qname, qname+"-dlq", 5, 30*time.Second)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	s.queueURL = url
	s.table = ddbevents.New(s.ddb, s.tableNm)
	s.env = map[string]string{"EVENTS_TABLE": s.tableNm, "QUEUE_URL": url, "WEBHOOK_SECRETS": secret}
	for k, v := range env {
		s.env[k] = v
	}
	s.keys = iamtest.Function(t, "IngestFunction", func(k string) string { return s.env[k] })
	s.build(s.keys.Config(t))
	return s
}

// build (re)creates the handler over the same table and queue.
func (s *stack) build(awsCfg aws.Config) {
	s.t.Helper()
	cfg, err := ingestapp.Load(func(k string) string { return s.env[k] })
	if err != nil {
		s.t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(s.logs, nil))
	h, err := ingestapp.New(context.Background(), cfg, awsCfg, log, s.logs)
	if err != nil {
		s.t.Fatalf("ingestapp.New: %v", err)
	}
	s.h = h
	s.svc = h.Receiver.(*ingest.Service)
	s.svc.Now = func() time.Time { return s.now }
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withID returns the sample body with another event id.
func withID(t *testing.T, body []byte, id string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["id"] = id
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *stack) request(body []byte, headers map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /api/webhooks/payment", RawPath: "/api/webhooks/payment",
		Headers: headers, Body: string(body),
	}
	ev.RequestContext.RequestID = "req-1"
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.HTTP.SourceIP = "127.0.0.1"
	return ev
}

func (s *stack) signedRequest(body []byte) events.APIGatewayV2HTTPRequest {
	return s.request(body, map[string]string{"x-altafinex-signature": signature.Sign([]byte(secret), s.now, body), "content-type": "application/json"})
}

func (s *stack) deliver(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	resp, err := s.h.Handle(context.Background(), ev)
	if err != nil {
		s.t.Fatalf("Handle returned an error: %v", err)
	}
	return resp
}

func (s *stack) send(body []byte) events.APIGatewayV2HTTPResponse {
	s.t.Helper()
	return s.deliver(s.signedRequest(body))
}

// messages drains the queue (bounded) and returns what was on it.
func (s *stack) messages() []sqstypes.Message {
	s.t.Helper()
	var out []sqstypes.Message
	for range 20 {
		r, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.queueURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, VisibilityTimeout: 600,
		})
		if err != nil {
			s.t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		out = append(out, r.Messages...)
	}
	s.t.Fatal("queue did not drain in 20 receives")
	return nil
}

func (s *stack) itemCount() int {
	s.t.Helper()
	out, err := s.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.tableNm)})
	if err != nil {
		s.t.Fatal(err)
	}
	return len(out.Items)
}

func (s *stack) record(id string) eventrecord.Record {
	s.t.Helper()
	r, err := s.table.Get(context.Background(), id)
	if err != nil {
		s.t.Fatalf("Get %s: %v", id, err)
	}
	return r
}

func wantAnswer(t *testing.T, resp events.APIGatewayV2HTTPResponse, status int, field, value string) {
	t.Helper()
	var body map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("answer is not a JSON object: %q", resp.Body)
	}
	if resp.StatusCode != status || body[field] != value {
		t.Fatalf("answer = %d %s, want %d {%q:%q}", resp.StatusCode, resp.Body, status, field, value)
	}
	if resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("Content-Type = %q", resp.Headers["Content-Type"])
	}
}

func TestFreshEventIsQueuedWithRawBodyAndAttributes(t *testing.T) {
	s := newStack(t, nil)
	body := sample(t, "payment.succeeded.json")
	resp := s.send(body)
	wantAnswer(t, resp, 200, "status", "accepted")
	if !strings.Contains(resp.Body, `"event_id":"evt_3PqL8fA1x9Kd2mZ0"`) {
		t.Errorf("answer lacks the event id: %s", resp.Body)
	}
	msgs := s.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages on the queue, want 1", len(msgs))
	}
	if got := rawBody(t, msgs[0]); !bytes.Equal(got, body) {
		t.Errorf("queued body differs from the raw body:\n got %q\nwant %q", got, body)
	}
	attrs := msgs[0].MessageAttributes
	if aws.ToString(attrs[eventrecord.AttrEventID].StringValue) != "evt_3PqL8fA1x9Kd2mZ0" || aws.ToString(attrs[eventrecord.AttrType].StringValue) != "payment.succeeded" {
		t.Errorf("message attributes = %v", attrs)
	}
	rec := s.record("evt_3PqL8fA1x9Kd2mZ0")
	if rec.Status != eventrecord.Received || rec.PayloadHash == "" || !rec.ExpiresAt.After(s.now.Add(29*24*time.Hour)) {
		t.Errorf("record = %+v", rec)
	}
	if len(rec.Body) != 0 {
		t.Error("the dedupe record carries the body: the hot path must stay under 1 KB")
	}
}

// baseNow is ingest's pinned clock; the dedupe tests run at it and ten
// years either side (clocktest.Run).
var baseNow = time.Unix(1795795500, 0)

func TestDuplicateAfterProcessingStarted(t *testing.T) {
	clocktest.Run(t, baseNow, testDuplicateAfterProcessingStarted)
}

func testDuplicateAfterProcessingStarted(t *testing.T, now time.Time) {
	for _, status := range []eventrecord.Status{eventrecord.Processing, eventrecord.Processed, eventrecord.Failed, eventrecord.Retrying} {
		t.Run(string(status), func(t *testing.T) {
			s := newStack(t, nil)
			s.now = now
			body := sample(t, "payment.succeeded.json")
			wantAnswer(t, s.send(body), 200, "status", "accepted")
			s.messages()
			claimed, err := s.table.Claim(context.Background(), eventrecord.Record{EventID: "evt_3PqL8fA1x9Kd2mZ0", Token: "proc-1", LeaseUntil: s.now.Add(time.Minute), ExpiresAt: s.now.Add(720 * time.Hour)}, s.now)
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			if status != eventrecord.Processing {
				claimed.Status = status
				if err := s.table.Finish(context.Background(), claimed, s.now); err != nil {
					t.Fatalf("Finish: %v", err)
				}
			}
			s.now = s.now.Add(2 * time.Minute) // leases long gone
			wantAnswer(t, s.send(body), 200, "status", "duplicate")
			if n := len(s.messages()); n != 0 {
				t.Fatalf("duplicate enqueued %d messages", n)
			}
		})
	}
}

func TestInFlightThenLeaseExpiry(t *testing.T) {
	clocktest.Run(t, baseNow, testInFlightThenLeaseExpiry)
}

func testInFlightThenLeaseExpiry(t *testing.T, now time.Time) {
	s := newStack(t, nil)
	s.now = now
	body := sample(t, "payment.succeeded.json")
	// Another delivery has reserved the event and not yet sent it.
	other := eventrecord.Record{EventID: "evt_3PqL8fA1x9Kd2mZ0", Status: eventrecord.Received, Token: "other", LeaseUntil: s.now.Add(30 * time.Second), ExpiresAt: s.now.Add(720 * time.Hour)}
	other.PayloadHash = sha256Hex(body)
	if err := s.table.Reserve(context.Background(), other, s.now); err != nil {
		t.Fatal(err)
	}
	wantAnswer(t, s.send(body), 409, "error", "in_flight")
	if n := len(s.messages()); n != 0 {
		t.Fatalf("in-flight delivery enqueued %d messages", n)
	}
	s.now = s.now.Add(31 * time.Second)
	wantAnswer(t, s.send(body), 200, "status", "accepted")
	if n := len(s.messages()); n != 1 {
		t.Fatalf("takeover enqueued %d messages, want 1", n)
	}
	if rec := s.record("evt_3PqL8fA1x9Kd2mZ0"); rec.Token == "other" {
		t.Error("the takeover did not replace the dead attempt's token")
	}
}

func TestExpiredRecordNotYetDeletedIsNew(t *testing.T) {
	clocktest.Run(t, baseNow, testExpiredRecordNotYetDeletedIsNew)
}

func testExpiredRecordNotYetDeletedIsNew(t *testing.T, now time.Time) {
	s := newStack(t, nil)
	s.now = now
	body := sample(t, "payment.succeeded.json")
	old := eventrecord.Record{EventID: "evt_3PqL8fA1x9Kd2mZ0", Status: eventrecord.Ignored, PayloadHash: "0000", ExpiresAt: s.now.Add(-time.Hour)}
	if err := s.table.PutTerminal(context.Background(), old, s.now.Add(-31*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantAnswer(t, s.send(body), 200, "status", "accepted")
	if n := len(s.messages()); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
}

// A second body under an accepted event's id never replaces it, in any
// status, not even once the first delivery's lease has run out (issue 11,
// item 1: with DEDUPE_LEASE=1s the second body used to take the record
// over and queue a second message). It is answered 200 payload_mismatch,
// queues nothing, is logged as an error and counted, and is kept for
// investigation in a record of its own.
func TestSameIDOtherBody(t *testing.T) { clocktest.Run(t, baseNow, testSameIDOtherBody) }

func testSameIDOtherBody(t *testing.T, now time.Time) {
	for _, status := range []eventrecord.Status{eventrecord.Received, eventrecord.Processed, eventrecord.Failed} {
		t.Run(string(status), func(t *testing.T) {
			s := newStack(t, map[string]string{"DEDUPE_LEASE": "1s"})
			s.now = now
			body := sample(t, "payment.succeeded.json")
			const id = "evt_3PqL8fA1x9Kd2mZ0"
			wantAnswer(t, s.send(body), 200, "status", "accepted")
			if n := len(s.messages()); n != 1 {
				t.Fatalf("%d messages after the first delivery, want 1", n)
			}
			if status != eventrecord.Received {
				claimed, err := s.table.Claim(context.Background(), eventrecord.Record{EventID: id, Token: "proc", LeaseUntil: s.now.Add(time.Minute), ExpiresAt: s.now.Add(720 * time.Hour)}, s.now)
				if err != nil {
					t.Fatal(err)
				}
				claimed.Status, claimed.Body = status, body
				if err := s.table.Finish(context.Background(), claimed, s.now); err != nil {
					t.Fatal(err)
				}
			}
			before := s.record(id)
			s.now = s.now.Add(2 * time.Second) // the first delivery's lease has run out

			tampered := bytes.Replace(body, []byte("4999"), []byte("9999"), 1)
			wantAnswer(t, s.send(tampered), 200, "status", "payload_mismatch")
			if n := len(s.messages()); n != 0 {
				t.Fatalf("enqueued %d messages for a conflicting payload", n)
			}
			after := s.record(id)
			if after.PayloadHash != sha256Hex(body) || after.Token != before.Token || after.Status != before.Status {
				t.Errorf("stored event changed: %s %s token %s, want %s %s token %s",
					after.Status, after.PayloadHash, after.Token, before.Status, sha256Hex(body), before.Token)
			}
			kept := s.record("sha256:" + sha256Hex(tampered) + "#" + id)
			if kept.Status != eventrecord.Rejected || !bytes.Equal(kept.Body, tampered) || !strings.Contains(kept.Error, sha256Hex(body)) {
				t.Errorf("kept record: %s, %d body bytes, error %q; want REJECTED with the tampered body and the stored hash", kept.Status, len(kept.Body), kept.Error)
			}
			logs := s.logs.String()
			if !strings.Contains(logs, `"level":"ERROR","msg":"webhook delivery"`) || !strings.Contains(logs, `"outcome":"payload_mismatch"`) {
				t.Errorf("no error logged:\n%s", logs)
			}
			if !strings.Contains(logs, `"PayloadMismatch":1`) {
				t.Errorf("PayloadMismatch not counted:\n%s", logs)
			}
			// The same tampered body again: still refused, kept once.
			wantAnswer(t, s.send(tampered), 200, "status", "payload_mismatch")
			if n := s.itemCount(); n != 2 {
				t.Errorf("%d records, want the event and the kept body", n)
			}
		})
	}
}

// Only the statuses the design names answer 2xx to a refused reservation:
// a record in a status this code does not know (a newer version's, or
// another store's) is answered 503 and logged, and so is a refusal that
// comes back without the existing record (issue 11, item 7).
func TestConflictFailsClosed(t *testing.T) {
	t.Run("unknown status", func(t *testing.T) {
		s := newStack(t, nil)
		body := sample(t, "payment.succeeded.json")
		_, err := s.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.tableNm), Item: map[string]ddbtypes.AttributeValue{
			"event_id":       &ddbtypes.AttributeValueMemberS{Value: "evt_3PqL8fA1x9Kd2mZ0"},
			"status":         &ddbtypes.AttributeValueMemberS{Value: "ARCHIVED"},
			"payload_sha256": &ddbtypes.AttributeValueMemberS{Value: sha256Hex(body)},
			"expires_at":     &ddbtypes.AttributeValueMemberN{Value: itoa(int(s.now.Add(time.Hour).Unix()))},
		}})
		if err != nil {
			t.Fatal(err)
		}
		wantAnswer(t, s.send(body), 503, "error", "unavailable")
		if n := len(s.messages()); n != 0 {
			t.Fatalf("%d messages queued", n)
		}
		if logs := s.logs.String(); !strings.Contains(logs, `"level":"ERROR"`) || !strings.Contains(logs, "ARCHIVED") {
			t.Errorf("no error logged naming the status:\n%s", logs)
		}
	})
	t.Run("no existing record returned", func(t *testing.T) {
		s := newStack(t, nil)
		body := sample(t, "payment.succeeded.json")
		wantAnswer(t, s.send(body), 200, "status", "accepted")
		s.messages()
		s.svc.Store = forgetfulStore{s.table} // the real table, its conflicts stripped of the existing item
		wantAnswer(t, s.send(body), 503, "error", "unavailable")
		if n := len(s.messages()); n != 0 {
			t.Fatalf("%d messages queued", n)
		}
	})
}

// forgetfulStore is the real events table whose refused writes come back
// without the existing record, as another store might answer.
type forgetfulStore struct{ *ddbevents.Table }

func (f forgetfulStore) Reserve(ctx context.Context, rec eventrecord.Record, now time.Time) error {
	return forget(f.Table.Reserve(ctx, rec, now))
}

func forget(err error) error {
	var c *eventrecord.ConflictError
	if errors.As(err, &c) {
		return &eventrecord.ConflictError{Existing: eventrecord.Record{EventID: c.Existing.EventID}}
	}
	return err
}

func TestQueueFailureReleasesTheRecord(t *testing.T) {
	s := newStack(t, nil)
	port, err := motoserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// Point SQS alone at a closed port; DynamoDB stays on the emulator.
	t.Setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:"+itoa(port))
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	s.build(s.keys.Config(t))
	body := sample(t, "payment.succeeded.json")
	wantAnswer(t, s.send(body), 503, "error", "unavailable")
	if _, err := s.table.Get(context.Background(), "evt_3PqL8fA1x9Kd2mZ0"); !errors.Is(err, ddbevents.ErrNotFound) {
		t.Fatalf("dedupe record after a failed send: %v, want ErrNotFound", err)
	}

	os.Unsetenv("AWS_ENDPOINT_URL_SQS")
	s.build(s.keys.Config(t))
	wantAnswer(t, s.send(body), 200, "status", "accepted")
	if n := len(s.messages()); n != 1 {
		t.Fatalf("retry enqueued %d messages, want 1", n)
	}
}

func TestConcurrentDeliveriesOfOneEvent(t *testing.T) {
	s := newStack(t, nil)
	body := sample(t, "payment.succeeded.json")
	ev := s.signedRequest(body)
	const n = 20
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.h.Handle(context.Background(), ev)
			if err != nil {
				t.Error(err)
			}
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 409:
		default:
			t.Errorf("answer %d, want only 200 or 409", c)
		}
	}
	if ok == 0 {
		t.Error("no delivery was accepted")
	}
	if got := len(s.messages()); got != 1 {
		t.Fatalf("%d messages on the queue, want exactly 1 (answers %v)", got, codes)
	}
}

func TestBase64BodyAndHeaderCase(t *testing.T) {
	s := newStack(t, nil)
	base := sample(t, "payment.succeeded.json")
	tests := []struct {
		name   string
		header string
		b64    bool
	}{
		{"base64 body", "x-altafinex-signature", true},
		{"lower case", "x-altafinex-signature", false},
		{"canonical case", "X-Altafinex-Signature", false},
		{"upper case", "X-ALTAFINEX-SIGNATURE", false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := withID(t, base, "evt_case_"+itoa(i))
			ev := s.request(body, map[string]string{tc.header: signature.Sign([]byte(secret), s.now, body)})
			if tc.b64 {
				ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
			}
			wantAnswer(t, s.deliver(ev), 200, "status", "accepted")
			msgs := s.messages()
			if len(msgs) != 1 || !bytes.Equal(rawBody(t, msgs[0]), body) {
				t.Fatalf("queue holds %d messages, want the decoded body once", len(msgs))
			}
		})
	}
}

func TestBodyOverTheLimit(t *testing.T) {
	s := newStack(t, map[string]string{"MAX_BODY_BYTES": "1024"})
	body := withID(t, sample(t, "payment.succeeded.json"), strings.Repeat("x", 1200))
	wantAnswer(t, s.send(body), 413, "error", "payload_too_large")
	if s.itemCount() != 0 || len(s.messages()) != 0 {
		t.Fatal("an oversized body was stored or queued")
	}
}

func TestSignatureFailures(t *testing.T) {
	s := newStack(t, nil)
	body := sample(t, "payment.succeeded.json")
	good := signature.Sign([]byte(secret), s.now, body)
	v1 := good[strings.Index(good, "v1=")+3:]
	tests := []struct {
		name, header, reason string
	}{
		{"missing", "", "missing_header"},
		{"malformed", "v1=" + v1, "malformed_header"},
		{"old", signature.Sign([]byte(secret), s.now.Add(-301*time.Second), body), "timestamp_out_of_tolerance"},
		{"wrong secret", signature.Sign([]byte("whsec_other"), s.now, body), "signature_mismatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := map[string]string{}
			if tc.header != "" {
				headers["x-altafinex-signature"] = tc.header
			}
			wantAnswer(t, s.deliver(s.request(body, headers)), 401, "error", "invalid_signature")
			if !strings.Contains(s.logs.String(), `"reason":"`+tc.reason+`"`) {
				t.Errorf("log does not give the reason %s", tc.reason)
			}
		})
	}
	if s.itemCount() != 0 || len(s.messages()) != 0 {
		t.Fatal("a delivery with a bad signature was stored or queued")
	}
	logs := s.logs.String()
	if strings.Contains(logs, secret) || strings.Contains(logs, v1) || strings.Contains(logs, v1[:16]) {
		t.Fatalf("logs contain a secret or a signature:\n%s", logs)
	}
}

func TestSignedButNotAnEnvelope(t *testing.T) {
	s := newStack(t, nil)
	body := []byte(`{"id": 42, "type": "payment.succeeded"}`)
	wantAnswer(t, s.send(body), 200, "status", "rejected")
	rec := s.record("sha256:" + sha256Hex(body))
	if rec.Status != eventrecord.Rejected || !bytes.Equal(rec.Body, body) {
		t.Fatalf("record = %+v, want REJECTED with the body", rec)
	}
	if len(s.messages()) != 0 {
		t.Fatal("a rejected body was queued")
	}
	if !strings.Contains(s.logs.String(), `"level":"ERROR"`) {
		t.Error("no error logged for a rejected body")
	}
}

// Ignored events keep their body (issue 11, item 6), so that an operator can
// replay them; a livemode mismatch is logged as an error and counted with
// its reason, which the LivemodeMismatchAlarm watches.
func TestIgnoredEvents(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		file       string
		wantReason string
		wantLevel  string
	}{
		{"unsubscribed type", map[string]string{"SUBSCRIBED_EVENT_TYPES": "payment.succeeded"}, "refund.completed.json", "unsubscribed_type", "INFO"},
		{"livemode mismatch", map[string]string{"LIVE_MODE": "true"}, "payment.succeeded.json", "livemode_mismatch", "ERROR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, tc.env)
			body := sample(t, tc.file)
			wantAnswer(t, s.send(body), 200, "status", "ignored")
			var env struct{ ID string }
			_ = json.Unmarshal(body, &env)
			rec := s.record(env.ID)
			if rec.Status != eventrecord.Ignored || !bytes.Equal(rec.Body, body) || rec.Error == "" {
				t.Fatalf("record %s with %d body bytes, error %q; want IGNORED with the body and the reason", rec.Status, len(rec.Body), rec.Error)
			}
			if len(s.messages()) != 0 {
				t.Fatal("an ignored event was queued")
			}
			logs := s.logs.String()
			if !strings.Contains(logs, `"level":"`+tc.wantLevel+`","msg":"webhook delivery"`) || !strings.Contains(logs, `"reason":"`+tc.wantReason+`"`) {
				t.Errorf("want a %s line with reason %s:\n%s", tc.wantLevel, tc.wantReason, logs)
			}
			if !strings.Contains(logs, `"Ignored":1,"Reason":"`+tc.wantReason+`"`) {
				t.Errorf("Ignored not counted with Reason %s:\n%s", tc.wantReason, logs)
			}
			wantAnswer(t, s.send(body), 200, "status", "ignored") // and again
			if s.itemCount() != 1 {
				t.Errorf("%d records after the second delivery, want 1", s.itemCount())
			}
		})
	}
}

func TestSecretFromSecretsManager(t *testing.T) {
	ctx := context.Background()
	sm := secretsmanager.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "secret")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(secret)}); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]string{"WEBHOOK_SECRETS": "", "WEBHOOK_SECRET_ID": name})
	wantAnswer(t, s.send(sample(t, "payment.failed.json")), 200, "status", "accepted")
	if strings.Contains(s.logs.String(), secret) {
		t.Fatal("the secret reached the log")
	}
}

func TestMissingSecretFailsStart(t *testing.T) {
	cfg, err := ingestapp.Load(func(k string) string {
		return map[string]string{"EVENTS_TABLE": "t", "QUEUE_URL": "q", "WEBHOOK_SECRET_ID": "no-such-secret"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingestapp.New(context.Background(), cfg, motoserver.TestConfig(t), slog.New(slog.DiscardHandler), nil); err == nil {
		t.Fatal("New with a missing secret: want an error")
	}
}

// rawBody is the event body a queue message carries, decoded as the
// processor decodes it; it fails the test unless the message says how the
// body is encoded (base64, which SQS carries whatever the body holds).
func rawBody(t *testing.T, m sqstypes.Message) []byte {
	t.Helper()
	if enc := m.MessageAttributes[eventrecord.AttrBodyEncoding]; aws.ToString(enc.StringValue) != eventrecord.BodyBase64 {
		t.Fatalf("message %s: body_encoding %q, want base64", aws.ToString(m.MessageId), aws.ToString(enc.StringValue))
	}
	msg, err := sqsqueue.FromSDK(m)
	if err != nil {
		t.Fatalf("message %s: %v", aws.ToString(m.MessageId), err)
	}
	return msg.Body
}

// padTo returns body (a JSON object) with a "pad" member that makes it
// exactly n bytes long.
func padTo(t *testing.T, body []byte, n int) []byte {
	t.Helper()
	body = bytes.TrimSpace(body)
	head := []byte(`{"pad":"`)
	rest := body[1:] // after the object's '{'
	fill := n - len(head) - len(`",`) - len(rest)
	if fill < 0 {
		t.Fatalf("body of %d bytes is over %d already", len(body), n)
	}
	out := append(append(append(head, bytes.Repeat([]byte("x"), fill)...), `",`...), rest...)
	if len(out) != n {
		t.Fatalf("padded to %d bytes, want %d", len(out), n)
	}
	return out
}

// A body of exactly the largest allowed size (issue 11, item 3) goes
// through every ingest path against moto, which refuses DynamoDB items over
// 405,000 bytes: queued (and decoded back byte for byte), recorded
// REJECTED, recorded IGNORED, and kept as a payload mismatch. One byte
// more is answered 413.
func TestLargestBodyOnEveryIngestPath(t *testing.T) {
	const max = eventrecord.MaxBodyBytes
	s := newStack(t, map[string]string{"MAX_BODY_BYTES": itoa(max), "SUBSCRIBED_EVENT_TYPES": "payment.succeeded,payment.failed"})
	base := sample(t, "payment.succeeded.json")

	accepted := padTo(t, withID(t, base, "evt_max"), max)
	wantAnswer(t, s.send(accepted), 200, "status", "accepted")
	msgs := s.messages()
	if len(msgs) != 1 || !bytes.Equal(rawBody(t, msgs[0]), accepted) {
		t.Fatalf("queue holds %d messages, want the %d-byte body once", len(msgs), max)
	}

	notEnvelope := padTo(t, []byte(`{"id":42}`), max)
	wantAnswer(t, s.send(notEnvelope), 200, "status", "rejected")
	if rec := s.record("sha256:" + sha256Hex(notEnvelope)); !bytes.Equal(rec.Body, notEnvelope) {
		t.Errorf("REJECTED record keeps %d bytes, want %d", len(rec.Body), max)
	}

	ignored := padTo(t, withID(t, sample(t, "refund.completed.json"), "evt_max_ignored"), max)
	wantAnswer(t, s.send(ignored), 200, "status", "ignored")
	if rec := s.record("evt_max_ignored"); rec.Status != eventrecord.Ignored || !bytes.Equal(rec.Body, ignored) {
		t.Errorf("IGNORED record %s keeps %d bytes, want %d", rec.Status, len(rec.Body), max)
	}

	other := padTo(t, withID(t, bytes.Replace(base, []byte("4999"), []byte("9999"), 1), "evt_max"), max)
	wantAnswer(t, s.send(other), 200, "status", "payload_mismatch")
	if rec := s.record("sha256:" + sha256Hex(other) + "#evt_max"); !bytes.Equal(rec.Body, other) {
		t.Errorf("kept mismatch keeps %d bytes, want %d", len(rec.Body), max)
	}

	over := padTo(t, withID(t, base, "evt_over"), max+1)
	wantAnswer(t, s.send(over), 413, "error", "payload_too_large")
	if logs := s.logs.String(); strings.Contains(logs, `"outcome":"unavailable"`) {
		t.Errorf("a delivery was answered 503:\n%s", logs)
	}
}
