package rie_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// eventsDir is the repository's events/ folder.
const eventsDir = "../../../events"

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func payload(t *testing.T, typ string) []byte {
	t.Helper()
	return readFile(t, filepath.Join(eventsDir, "payloads", typ+".json"))
}

// The checked-in ingest events decode as aws-lambda-go's payload 2.0
// request, carry their payload byte for byte, and are signed with the local
// secret (or, for the bad one, not).
func TestIngestEventFiles(t *testing.T) {
	tests := []struct {
		file, payload string
		wantErr       error
	}{
		{"ingest-payment-succeeded.json", "payment.succeeded", nil},
		{"ingest-payment-failed.json", "payment.failed", nil},
		{"ingest-refund-completed.json", "refund.completed", nil},
		{"ingest-bad-signature.json", "payment.succeeded", signature.ErrSignatureMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(readFile(t, filepath.Join(eventsDir, tc.file)), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Version != "2.0" || ev.RouteKey != rie.RouteKey || ev.RawPath != rie.WebhookPath ||
				ev.RequestContext.HTTP.Method != "POST" || ev.RequestContext.HTTP.SourceIP == "" ||
				ev.RequestContext.RequestID == "" || ev.IsBase64Encoded {
				t.Errorf("event shape: %+v", ev)
			}
			for k := range ev.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q is not lower-cased", k)
				}
			}
			if got := ev.Headers["content-type"]; got != "application/json" {
				t.Errorf("content-type = %q", got)
			}
			if want := payload(t, tc.payload); ev.Body != string(want) {
				t.Errorf("body differs from events/payloads/%s.json", tc.payload)
			}
			sig := ev.Headers["x-altafinex-signature"]
			h, err := signature.ParseHeader(sig)
			if err != nil {
				t.Fatal(err)
			}
			// Verify at the signing time: the files are re-signed by make
			// events, not by the tests.
			v := signature.Verifier{Secrets: [][]byte{[]byte(rie.LocalSecret)}, Now: func() time.Time { return time.Unix(h.Timestamp, 0) }}
			if err := v.Verify(sig, []byte(ev.Body)); !errors.Is(err, tc.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// processor-sqs.json decodes as aws-lambda-go's SQS event and as the
// message ingest queues.
func TestProcessorEventFile(t *testing.T) {
	var ev events.SQSEvent
	if err := json.Unmarshal(readFile(t, filepath.Join(eventsDir, "processor-sqs.json")), &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 1 {
		t.Fatalf("%d records, want 1", len(ev.Records))
	}
	r := ev.Records[0]
	if r.EventSource != "aws:sqs" || r.EventSourceARN == "" || r.AWSRegion == "" || r.MessageId == "" ||
		r.ReceiptHandle == "" || r.Attributes["ApproximateReceiveCount"] != "1" {
		t.Errorf("record shape: %+v", r)
	}
	attrs := map[string]string{}
	for k, v := range r.MessageAttributes {
		attrs[k] = *v.StringValue
	}
	msg, err := sqsqueue.FromSQS(r.Body, attrs)
	if err != nil {
		t.Fatal(err)
	}
	if attrs[eventrecord.AttrBodyEncoding] != eventrecord.BodyBase64 || string(msg.Body) != string(payload(t, "payment.succeeded")) {
		t.Error("body is not events/payloads/payment.succeeded.json base64-encoded, as ingest queues it")
	}
	if msg.EventID != "evt_3PqL8fA1x9Kd2mZ0" || msg.Type != "payment.succeeded" || msg.ReceivedAt.IsZero() {
		t.Errorf("message = %+v", msg)
	}
	if dt := r.MessageAttributes[eventrecord.AttrReceivedAt].DataType; dt != "Number" {
		t.Errorf("received_at dataType = %q, want Number", dt)
	}
}

// Each section of env.json is a valid configuration of its function.
func TestEnvFile(t *testing.T) {
	f, err := rie.ReadEnvFile(filepath.Join(eventsDir, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		section string
		load    func(func(string) string) error
	}{
		{"IngestFunction", func(g func(string) string) error { _, err := ingestapp.Load(g); return err }},
		{"ProcessorFunction", func(g func(string) string) error { _, err := processorapp.Load(g); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.section, func(t *testing.T) {
			env, ok := f[tc.section]
			if !ok {
				t.Fatalf("no %s section", tc.section)
			}
			if err := tc.load(func(k string) string { return env[k] }); err != nil {
				t.Error(err)
			}
			if env["AWS_ENDPOINT_URL"] == "" {
				t.Error("no AWS_ENDPOINT_URL")
			}
		})
	}
	if got := f["IngestFunction"]["WEBHOOK_SECRETS"]; got != rie.LocalSecret {
		t.Errorf("IngestFunction WEBHOOK_SECRETS = %q, want the local secret the events are signed with", got)
	}
}

// The writers give the same bytes for the same arguments (the files diff
// cleanly) and end in a newline.
func TestEventsAreStable(t *testing.T) {
	body := payload(t, "payment.succeeded")
	at := time.Unix(1795795201, 0)
	tests := []struct {
		name  string
		write func() ([]byte, error)
	}{
		{"http", func() ([]byte, error) { return rie.HTTPEvent(body, "t=1,v1=00", at) }},
		{"sqs", func() ([]byte, error) { return rie.SQSEvent(body, "evt_1", "payment.succeeded", at, 1) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.write()
			if err != nil {
				t.Fatal(err)
			}
			b, err := tc.write()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) || !bytes.HasSuffix(a, []byte("}\n")) || !bytes.Contains(a, []byte("\n  \"")) {
				t.Errorf("not stable, indented JSON:\n%s\n%s", a, b)
			}
		})
	}
}
