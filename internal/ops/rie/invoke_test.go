package rie_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// The built bootstraps run under their own policies from template.yaml.
func TestMain(m *testing.M) { os.Exit(iamtest.RunTests(m)) }

// lockedBuffer collects the emulator's output, written from the process's
// copying goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	return root
}

// startFunction builds function's bootstrap for this machine, installs
// aws-lambda-rie into the repository's bin/ when it is missing, creates
// per-test tables and queues for the function's env.json section, and runs
// it under the emulator until the test ends, with the variables of
// overrides set on top. It returns the emulator and the function's
// environment (QUEUE_URL is the real queue's URL).
func startFunction(t *testing.T, function, logicalID string, overrides map[string]string) (*rie.Emulator, map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root := moduleRoot(t)
	riePath, err := rie.InstallRIE(ctx, filepath.Join(root, "bin"))
	if err != nil {
		t.Fatalf("the Runtime Interface Emulator is needed and could not be installed: %v", err)
	}
	boot := filepath.Join(t.TempDir(), "bootstrap")
	if err := rie.BuildBootstrap(ctx, root, function, boot); err != nil {
		t.Fatal(err)
	}

	f, err := rie.ReadEnvFile(filepath.Join(eventsDir, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	env := f[logicalID]
	for k, v := range overrides {
		env[k] = v
	}
	for _, k := range []string{"EVENTS_TABLE", "ORDERS_TABLE"} {
		if env[k] != "" {
			env[k] = motoserver.UniqueName(t, env[k])
		}
	}
	if env["QUEUE_URL"] != "" {
		env["QUEUE_URL"] = "http://127.0.0.1/" + rie.AccountID + "/" + motoserver.UniqueName(t, "webhook-events-queue")
	}
	env, err = rie.CreateResources(ctx, motoserver.TestConfig(t), rie.ForEmulator(env, motoserver.Endpoint()))
	if err != nil {
		t.Fatal(err)
	}
	// The function signs with the keys of its own policy in template.yaml.
	env = iamtest.Function(t, logicalID, func(k string) string { return env[k] }).Env(env)

	out := &lockedBuffer{}
	emu, err := rie.Start(ctx, rie.Function{
		RIE: riePath, Bootstrap: boot, Env: env, Name: logicalID, Timeout: 30 * time.Second, Output: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		emu.Stop()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", out.String())
		}
	})
	return emu, env
}

func invoke(t *testing.T, emu *rie.Emulator, event []byte, into any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := emu.Invoke(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp, into); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
}

func queueDepth(t *testing.T, client *sqs.Client, url string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := json.Unmarshal([]byte(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The built ingest bootstrap, run by the emulator with API Gateway events:
// a freshly signed delivery is accepted and queued once; the cases run in
// order, each against what the previous ones left.
func TestIngestUnderRIE(t *testing.T) {
	emu, env := startFunction(t, "ingest", "IngestFunction", nil)
	client := sqs.NewFromConfig(motoserver.TestConfig(t))
	body := payload(t, "payment.succeeded")
	secret := []byte(rie.LocalSecret)

	tests := []struct {
		name       string
		secret     []byte
		age        time.Duration
		wantStatus int
		wantBody   string // the status field of the JSON answer, or the error
		wantQueue  int    // messages on the queue afterwards
	}{
		{"bad signature", []byte("whsec_someone_else"), 0, 401, "invalid_signature", 0},
		{"stale signature", secret, 10 * time.Minute, 401, "invalid_signature", 0},
		{"signed now", secret, 0, 200, "accepted", 1},
		// The record is RECEIVED with a live lease: the provider must retry.
		{"second delivery while queued", secret, 0, 409, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := time.Now().Add(-tc.age)
			ev, err := rie.HTTPEvent(body, signature.Sign(tc.secret, at, body), at)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			invoke(t, emu, ev, &resp)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.wantStatus, resp.Body)
			}
			var answer struct{ Status, Error, EventID string }
			if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if tc.wantBody != "" && answer.Status != tc.wantBody && answer.Error != tc.wantBody {
				t.Errorf("body %s, want %q", resp.Body, tc.wantBody)
			}
			if got := queueDepth(t, client, env["QUEUE_URL"]); got != tc.wantQueue {
				t.Errorf("%d messages on the queue, want %d", got, tc.wantQueue)
			}
		})
	}

	t.Run("the queued message", func(t *testing.T) {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(env["QUEUE_URL"]), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("%d messages, want 1", len(out.Messages))
		}
		m := out.Messages[0]
		if msg, err := sqsqueue.FromSDK(m); err != nil || !bytes.Equal(msg.Body, body) {
			t.Errorf("body is not the signed bytes (%v):\n%s", err, aws.ToString(m.Body))
		}
		if got := aws.ToString(m.MessageAttributes[eventrecord.AttrEventID].StringValue); got != "evt_3PqL8fA1x9Kd2mZ0" {
			t.Errorf("event_id attribute = %q", got)
		}
	})
}

// The built ingest bootstrap accepts a delivery through a function URL
// (FunctionUrl=Enabled), whose event differs from the HTTP API's only in
// fields the receiver does not read.
func TestIngestUnderRIEViaFunctionURL(t *testing.T) {
	emu, env := startFunction(t, "ingest", "IngestFunction", nil)
	client := sqs.NewFromConfig(motoserver.TestConfig(t))
	body := payload(t, "payment.failed")
	at := time.Now()
	ev, err := rie.FunctionURLEvent(body, signature.Sign([]byte(rie.LocalSecret), at, body), at)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ev, []byte(`"accountId": "anonymous"`)) || !bytes.Contains(ev, []byte(".lambda-url.")) {
		t.Fatalf("not a function URL event:\n%s", ev)
	}
	var resp events.APIGatewayV2HTTPResponse
	invoke(t, emu, ev, &resp)
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"accepted"`) {
		t.Fatalf("answer %d %s, want 200 accepted", resp.StatusCode, resp.Body)
	}
	if got := queueDepth(t, client, env["QUEUE_URL"]); got != 1 {
		t.Errorf("%d messages on the queue, want 1", got)
	}
}

// The built processor bootstrap, run by the emulator with an SQS event
// (events/processor-sqs.json) on an empty table: the batch response lists
// no failure, the event is PROCESSED and its order PAID. A second delivery
// of the same message is acknowledged without applying it again.
func TestProcessorUnderRIE(t *testing.T) {
	emu, env := startFunction(t, "processor", "ProcessorFunction", nil)
	cfg := motoserver.TestConfig(t)
	db := dynamodb.NewFromConfig(cfg)
	event := readFile(t, filepath.Join(eventsDir, "processor-sqs.json"))

	for _, name := range []string{"first delivery", "duplicate delivery"} {
		t.Run(name, func(t *testing.T) {
			var raw map[string]json.RawMessage
			invoke(t, emu, event, &raw)
			if _, ok := raw["batchItemFailures"]; !ok {
				t.Fatalf("not a batch response: %v", raw)
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(raw["batchItemFailures"], &resp.BatchItemFailures); err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Errorf("batchItemFailures = %+v, want none", resp.BatchItemFailures)
			}
			rec, err := ddbevents.New(db, env["EVENTS_TABLE"]).Get(context.Background(), "evt_3PqL8fA1x9Kd2mZ0")
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status != eventrecord.Processed || rec.Attempts != 1 {
				t.Errorf("record %s after %d attempts, want PROCESSED after 1", rec.Status, rec.Attempts)
			}
			o, err := ddborders.New(db, env["ORDERS_TABLE"]).Get(context.Background(), "ord_1001")
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != orders.Paid || o.Amount != 4999 || o.PaymentEventID != "evt_3PqL8fA1x9Kd2mZ0" {
				t.Errorf("order = %+v, want PAID 4999 by evt_3PqL8fA1x9Kd2mZ0", o)
			}
		})
	}
}

// deliverNow signs body with the local secret now and delivers it to the
// ingest function under emu; it returns the status code and the status or
// error of the JSON answer.
func deliverNow(t *testing.T, emu *rie.Emulator, body []byte) (int, string) {
	t.Helper()
	at := time.Now()
	ev, err := rie.HTTPEvent(body, signature.Sign([]byte(rie.LocalSecret), at, body), at)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.APIGatewayV2HTTPResponse
	invoke(t, emu, ev, &resp)
	var answer struct{ Status, Error string }
	if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return resp.StatusCode, answer.Status + answer.Error
}

// receiveAll takes every message of the queue at url (bounded), decoded.
func receiveAll(t *testing.T, client *sqs.Client, url string) []eventrecord.Message {
	t.Helper()
	var out []eventrecord.Message
	for range 10 {
		r, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			msg, err := sqsqueue.FromSDK(m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, msg)
		}
	}
	t.Fatal("queue did not drain")
	return nil
}

// Issue 11, item 1, at the Lambda boundary: with DEDUPE_LEASE=1s, a second
// body under an accepted event's id, delivered after the lease ran out and
// before the processor claimed the event, is answered 200
// payload_mismatch, queues nothing and does not replace the record; the
// body is kept in a record of its own.
func TestIngestUnderRIEKeepsTheFirstBody(t *testing.T) {
	emu, env := startFunction(t, "ingest", "IngestFunction", map[string]string{"DEDUPE_LEASE": "1s"})
	cfg := motoserver.TestConfig(t)
	client := sqs.NewFromConfig(cfg)
	table := ddbevents.New(dynamodb.NewFromConfig(cfg), env["EVENTS_TABLE"])
	body := payload(t, "payment.succeeded")
	if code, status := deliverNow(t, emu, body); code != 200 || status != "accepted" {
		t.Fatalf("first delivery: %d %s, want 200 accepted", code, status)
	}
	first, err := table.Get(context.Background(), "evt_3PqL8fA1x9Kd2mZ0")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the bootstrap runs on the wall clock: let the 1 s lease run out
	other := bytes.Replace(body, []byte("4999"), []byte("1"), 1)
	if bytes.Equal(other, body) {
		t.Fatal("the payload has no 4999 to change")
	}
	if code, status := deliverNow(t, emu, other); code != 200 || status != "payload_mismatch" {
		t.Fatalf("second body: %d %s, want 200 payload_mismatch", code, status)
	}
	msgs := receiveAll(t, client, env["QUEUE_URL"])
	if len(msgs) != 1 || !bytes.Equal(msgs[0].Body, body) {
		t.Fatalf("%d messages on the queue, want only the first body", len(msgs))
	}
	after, err := table.Get(context.Background(), "evt_3PqL8fA1x9Kd2mZ0")
	if err != nil {
		t.Fatal(err)
	}
	if after.PayloadHash != first.PayloadHash || after.Token != first.Token {
		t.Errorf("record replaced: hash %s token %s, want %s %s", after.PayloadHash, after.Token, first.PayloadHash, first.Token)
	}
	sum := sha256.Sum256(other)
	kept, err := table.Get(context.Background(), eventrecord.MismatchKey(hex.EncodeToString(sum[:]), "evt_3PqL8fA1x9Kd2mZ0"))
	if err != nil || !bytes.Equal(kept.Body, other) {
		t.Fatalf("the second body is not kept: %v", err)
	}
}

// Issue 11, item 2, at the Lambda boundary: a validly signed body holding a
// character SQS refuses in a message body (a raw U+FFFF inside a JSON
// string) is accepted and queued byte for byte; an event id SQS would
// refuse as a message attribute is recorded REJECTED, not queued.
func TestIngestUnderRIECarriesAnyBody(t *testing.T) {
	emu, env := startFunction(t, "ingest", "IngestFunction", nil)
	cfg := motoserver.TestConfig(t)
	client := sqs.NewFromConfig(cfg)
	body := bytes.Replace(payload(t, "payment.succeeded"), []byte(`"evt_3PqL8fA1x9Kd2mZ0"`), []byte("\"evt_odd\", \"note\": \"\uffff\""), 1)
	if code, status := deliverNow(t, emu, body); code != 200 || status != "accepted" {
		t.Fatalf("U+FFFF body: %d %s, want 200 accepted", code, status)
	}
	msgs := receiveAll(t, client, env["QUEUE_URL"])
	if len(msgs) != 1 || !bytes.Equal(msgs[0].Body, body) || msgs[0].EventID != "evt_odd" {
		t.Fatalf("%d messages, want the U+FFFF body once, byte for byte", len(msgs))
	}

	badID := bytes.Replace(payload(t, "payment.succeeded"), []byte(`"evt_3PqL8fA1x9Kd2mZ0"`), []byte(`"evt_\u0001"`), 1)
	if code, status := deliverNow(t, emu, badID); code != 200 || status != "rejected" {
		t.Fatalf("control character in the id: %d %s, want 200 rejected", code, status)
	}
	if n := len(receiveAll(t, client, env["QUEUE_URL"])); n != 0 {
		t.Fatalf("%d messages queued for an id SQS refuses", n)
	}
	sum := sha256.Sum256(badID)
	rec, err := ddbevents.New(dynamodb.NewFromConfig(cfg), env["EVENTS_TABLE"]).Get(context.Background(), eventrecord.RejectedKey(hex.EncodeToString(sum[:])))
	if err != nil || rec.Status != eventrecord.Rejected || !bytes.Equal(rec.Body, badID) {
		t.Fatalf("REJECTED record: %+v, %v", rec.Status, err)
	}
}
