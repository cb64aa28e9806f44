package apigw_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/ingest/apigw"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// recorder is a Receiver that records the request and answers a fixed result.
type recorder struct {
	got ingest.Request
	res ingest.Result
}

func (r *recorder) Receive(_ context.Context, req ingest.Request) ingest.Result {
	r.got = req
	return r.res
}

func TestRequest(t *testing.T) {
	body := []byte("{\"id\":\"evt_1\"}\xff") // not UTF-8: API Gateway base64-encodes it
	tests := []struct {
		name    string
		ev      events.APIGatewayV2HTTPRequest
		want    string
		wantErr bool
	}{
		{"plain", events.APIGatewayV2HTTPRequest{Body: "{}", Headers: map[string]string{"x-altafinex-signature": "t=1,v1=a"}}, "{}", false},
		{"base64", events.APIGatewayV2HTTPRequest{Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true, Headers: map[string]string{"X-Altafinex-Signature": "t=1,v1=a"}}, string(body), false},
		{"bad padding", events.APIGatewayV2HTTPRequest{Body: "e30", IsBase64Encoded: true}, "", true},
		{"not base64", events.APIGatewayV2HTTPRequest{Body: "{}!", IsBase64Encoded: true}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := apigw.Request(tc.ev)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, apigw.ErrBadBase64)) {
				t.Fatalf("err = %v, wantErr %t", err, tc.wantErr)
			}
			if err == nil && (string(got.Body) != tc.want || got.Signature != "t=1,v1=a") {
				t.Errorf("got body %q signature %q", got.Body, got.Signature)
			}
		})
	}
}

func TestHeaderAnyCase(t *testing.T) {
	for _, k := range []string{"x-altafinex-signature", "X-Altafinex-Signature", "X-ALTAFINEX-SIGNATURE"} {
		if got := apigw.Header(map[string]string{"content-type": "x", k: "v"}, signature.HeaderName); got != "v" {
			t.Errorf("Header with key %q = %q", k, got)
		}
	}
	if got := apigw.Header(nil, signature.HeaderName); got != "" {
		t.Errorf("Header(nil) = %q", got)
	}
}

func TestHandleMapsEveryOutcome(t *testing.T) {
	tests := []struct {
		outcome ingest.Outcome
		status  int
		field   string
		metric  string
	}{
		{ingest.Accepted, 200, "status", "Accepted"},
		{ingest.Duplicate, 200, "status", "Duplicate"},
		{ingest.Ignored, 200, "status", "Ignored"},
		{ingest.Rejected, 200, "status", "Rejected"},
		{ingest.PayloadMismatch, 200, "status", "PayloadMismatch"},
		{ingest.InFlight, 409, "error", "InFlight"},
		{ingest.InvalidSignature, 401, "error", "SignatureFailure"},
		{ingest.PayloadTooLarge, 413, "error", "PayloadTooLarge"},
		{ingest.MethodNotAllowed, 405, "error", "BadRequest"},
		{ingest.Forbidden, 403, "error", "Forbidden"},
		{ingest.BadRequest, 400, "error", "BadRequest"},
		{ingest.Unavailable, 503, "error", "Unavailable"},
		{ingest.Outcome("surprise"), 503, "error", "Unavailable"},
	}
	for _, tc := range tests {
		t.Run(string(tc.outcome), func(t *testing.T) {
			var logs, emf bytes.Buffer
			h := &apigw.Handler{
				Receiver: &recorder{res: ingest.Result{Outcome: tc.outcome, EventID: "evt_1", Reason: "signature_mismatch"}},
				Log:      slog.New(slog.NewJSONHandler(&logs, nil)),
				Metrics:  &metrics.EMF{W: &emf, Function: "ingest"},
			}
			resp, err := h.Handle(context.Background(), events.APIGatewayV2HTTPRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if resp.StatusCode != tc.status || body[tc.field] == "" {
				t.Errorf("answer %d %s, want %d with %q", resp.StatusCode, resp.Body, tc.status, tc.field)
			}
			if !strings.Contains(emf.String(), `"`+tc.metric+`":1`) {
				t.Errorf("metric line %s lacks %s", emf.String(), tc.metric)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line["event_id"] != "evt_1" || line["outcome"] == nil || line["duration_ms"] == nil {
				t.Errorf("log line %s", logs.String())
			}
		})
	}
}

// BenchmarkRawHMAC_2KB is the floor: the HMAC-SHA256 every verification must compute.
func BenchmarkRawHMAC_2KB(b *testing.B) {
	body := body2KB(b)
	key := []byte("whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("1795795495"))
		m.Write([]byte("."))
		m.Write(body)
		_ = m.Sum(nil)
	}
}

// BenchmarkHandler_2KB runs the whole ingest handler, API Gateway event in,
// response out, with zero-latency in-memory fakes for DynamoDB and SQS.
func BenchmarkHandler_2KB(b *testing.B) {
	h, ev := benchHandler(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Body)))
	for b.Loop() {
		resp, _ := h.Handle(context.Background(), ev)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d %s", resp.StatusCode, resp.Body)
		}
	}
}

// BenchmarkInvoke_2KB is the ingest Lambda's work per request as the
// runtime sees it: the invocation's bytes in (a whole HTTP API event, as in
// events/), the response's bytes out, through lambda.NewHandler(h.Handle),
// what lambda.Start runs, with zero-latency in-memory fakes for DynamoDB and
// SQS.
func BenchmarkInvoke_2KB(b *testing.B) {
	h, ev := benchHandler(b)
	payload := invocationBytes(b, ev)
	entry := lambda.NewHandler(h.Handle)
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Body)))
	for b.Loop() {
		out, err := entry.Invoke(context.Background(), payload)
		if err != nil || !bytes.Contains(out, []byte(`"statusCode":200,`)) {
			b.Fatalf("Invoke = %s, %v", out, err)
		}
	}
}

// invocationBytes is events/ingest-payment-succeeded.json (a whole HTTP API
// event) carrying ev's body and headers.
func invocationBytes(b *testing.B, ev events.APIGatewayV2HTTPRequest) []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "ingest-payment-succeeded.json"))
	if err != nil {
		b.Fatal(err)
	}
	var full events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &full); err != nil {
		b.Fatal(err)
	}
	full.Body = ev.Body
	for k, v := range ev.Headers {
		full.Headers[k] = v
	}
	full.Headers["content-length"] = strconv.Itoa(len(ev.Body))
	out, err := json.Marshal(full)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

type nopStore struct{}

func (nopStore) Reserve(context.Context, eventrecord.Record, time.Time) error     { return nil }
func (nopStore) Release(context.Context, string, string) error                    { return nil }
func (nopStore) PutTerminal(context.Context, eventrecord.Record, time.Time) error { return nil }

type nopQueue struct{}

func (nopQueue) Send(context.Context, eventrecord.Message) error { return nil }

func benchHandler(b *testing.B) (*apigw.Handler, events.APIGatewayV2HTTPRequest) {
	body := body2KB(b)
	secret := []byte("whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d")
	now := time.Unix(1795795500, 0)
	svc := &ingest.Service{Store: nopStore{}, Queue: nopQueue{}, Secrets: secrets.Static{secret}, Now: func() time.Time { return now }}
	h := &apigw.Handler{Receiver: svc, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: &metrics.EMF{W: io.Discard, Function: "ingest"}}
	ev := events.APIGatewayV2HTTPRequest{
		Headers: map[string]string{"content-type": "application/json", "x-altafinex-signature": signature.Sign(secret, now, body)},
		Body:    string(body),
	}
	ev.RequestContext.HTTP.Method = "POST"
	ev.RequestContext.RequestID = "req"
	return h, ev
}

// body2KB is a realistic 2 KB payment.succeeded envelope: indented JSON
// with line items, so that it carries as many quotes and newlines (escapes
// in the invocation) as a real one, cut to exactly 2,048 bytes by the
// length of its description.
func body2KB(b *testing.B) []byte {
	b.Helper()
	type item struct {
		SKU      string `json:"sku"`
		Name     string `json:"name"`
		Quantity int    `json:"quantity"`
		Amount   int    `json:"unit_amount"`
	}
	obj := map[string]any{
		"id": "pay_7Hc2Vb9QeL4sT1", "object": "payment", "amount": 4999, "currency": "usd", "status": "succeeded",
		"created":        1795795190,
		"customer":       map[string]string{"email": "jane.doe@example.com", "name": "Jane Doe"},
		"payment_method": map[string]any{"type": "card", "card": map[string]string{"brand": "visa", "last4": "4242"}},
		"metadata":       map[string]string{"order_id": "ord_1001"},
	}
	var items []item
	for i := range 8 {
		items = append(items, item{SKU: "SKU-" + strconv.Itoa(1000+i), Name: "Organic cotton tee, size M", Quantity: 1 + i%3, Amount: 1299})
	}
	obj["line_items"] = items
	env := map[string]any{"id": "evt_3PqL8fA1x9Kd2mZ0", "object": "event", "type": "payment.succeeded", "created": 1795795200,
		"livemode": false, "api_version": "2026-06-01", "data": map[string]any{"object": obj}}
	for pad := 0; pad < 2048; pad++ {
		obj["description"] = strings.Repeat("x", pad)
		out, err := json.MarshalIndent(env, "", "  ")
		if err != nil {
			b.Fatal(err)
		}
		if len(out) == 2048 {
			return out
		}
		if len(out) > 2048 {
			break
		}
	}
	b.Fatal("could not make a 2,048-byte body")
	return nil
}
