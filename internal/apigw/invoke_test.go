package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/apigw"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
)

// reference is what the Lambda runtime's own path gives: encoding/json into
// the event type, then FromEvent. A member of the wrong type is an
// *json.UnmarshalTypeError, after which encoding/json still decodes the
// rest; the decoding is returned with it.
func reference(payload []byte) (apigw.Invocation, error) {
	var ev events.APIGatewayV2HTTPRequest
	err := json.Unmarshal(payload, &ev)
	if te := (*json.UnmarshalTypeError)(nil); err != nil && !errors.As(err, &te) {
		return apigw.Invocation{}, err
	}
	return apigw.FromEvent(ev), err
}

// sameInvocation compares two decodings; when no header is spelled exactly
// x-altafinex-signature and several spellings are sent, Header's map walk
// may pick any of them, so the signature must then be one of those sent.
func sameInvocation(t testing.TB, payload []byte, got, want apigw.Invocation) {
	t.Helper()
	if got.Signature != want.Signature {
		var ev events.APIGatewayV2HTTPRequest
		_ = json.Unmarshal(payload, &ev)
		found := false
		if _, exact := ev.Headers["x-altafinex-signature"]; !exact {
			for k, v := range ev.Headers {
				found = found || (strings.EqualFold(k, "x-altafinex-signature") && v == got.Signature)
			}
		}
		if !found {
			t.Fatalf("signature %q, encoding/json gives %q\n%s", got.Signature, want.Signature, payload)
		}
		got.Signature = want.Signature
	}
	if got.RequestID != want.RequestID || got.Method != want.Method || got.SourceIP != want.SourceIP ||
		!bytes.Equal(got.Body, want.Body) || got.IsBase64Encoded != want.IsBase64Encoded {
		t.Fatalf("DecodeInvocation = %+v\nencoding/json gives %+v\nfor %s", got, want, payload)
	}
}

// sampleInvocations are the events/ ingest events and aws-lambda-go's
// payload-2.0 samples (every kind of authorizer, a function URL).
func sampleInvocations(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "events", "ingest-*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no sample invocations in events/: %v", err)
	}
	aws, err := filepath.Glob(filepath.Join("testdata", "aws-lambda-go", "*.json"))
	if err != nil || len(aws) < 5 {
		t.Fatalf("aws-lambda-go samples missing from testdata/aws-lambda-go: %v", err)
	}
	paths = append(paths, aws...)
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func TestDecodeInvocationSamples(t *testing.T) {
	for name, payload := range sampleInvocations(t) {
		t.Run(name, func(t *testing.T) {
			want, err := reference(payload)
			if err != nil {
				t.Fatal(err)
			}
			got, err := apigw.DecodeInvocation(payload)
			if err != nil {
				t.Fatalf("DecodeInvocation: %v", err)
			}
			if strings.HasPrefix(name, "ingest-") && (got.Method != "POST" || got.Signature == "" || len(got.Body) == 0 || got.RequestID == "") {
				t.Fatalf("a sample without its fields: %+v", got)
			}
			if got.Method == "" || got.SourceIP == "" || got.RequestID == "" {
				t.Fatalf("method, source IP or request id missing: %+v", got)
			}
			sameInvocation(t, payload, got, want)
		})
	}
}

func TestDecodeInvocationFollowsEncodingJSON(t *testing.T) {
	tests := []struct{ name, payload string }{
		{"empty object", `{}`},
		{"keys in any case", `{"BODY":"b","IsBase64Encoded":true,"Headers":{"X-Altafinex-Signature":"s"},"REQUESTCONTEXT":{"RequestID":"r","HTTP":{"METHOD":"POST","SourceIP":"1.2.3.4"}}}`},
		{"last repeated key wins", `{"body":"a","body":"b","requestContext":{"requestId":"1","requestId":"2"}}`},
		{"null leaves a field as it was", `{"body":"a","body":null,"isBase64Encoded":true,"isBase64Encoded":null}`},
		{"null containers", `{"headers":null,"requestContext":null}`},
		{"null inside the context", `{"requestContext":{"http":null,"requestId":null}}`},
		{"repeated objects merge", `{"requestContext":{"requestId":"r"},"requestContext":{"http":{"method":"GET"}}}`},
		{"lower-case header wins", `{"headers":{"X-Altafinex-Signature":"upper","x-altafinex-signature":"lower"}}`},
		{"a null header is empty", `{"headers":{"x-altafinex-signature":null}}`},
		{"escapes in values", `{"body":"{\"a\":\"\\u00e9\\n\\ud83d\\ude00\"}","requestContext":{"requestId":"a\/b"}}`},
		{"unpaired surrogate", `{"body":"\ud800x"}`},
		{"unknown members of every kind", `{"version":"2.0","cookies":["a","b"],"queryStringParameters":{"a":"1"},"requestContext":{"timeEpoch":1795813986172,"authentication":null,"http":{"path":"/x"}},"stageVariables":{}}`},
		{"whitespace everywhere", " \n{ \"body\" : \"x\" ,\t\"headers\" : { } }\r\n"},
		{"header key unicode fold", `{"headers":{"x-altafinex-ſignature":"s"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, err := reference([]byte(tc.payload))
			if err != nil {
				t.Fatalf("encoding/json refuses the case: %v", err)
			}

			got, err := apigw.DecodeInvocation([]byte(tc.payload))
			if err != nil {
				t.Fatalf("DecodeInvocation: %v", err)
			}
			sameInvocation(t, []byte(tc.payload), got, want)
		})
	}
}

func TestDecodeInvocationRefusesTheRest(t *testing.T) {
	tests := []struct{ name, payload string }{
		{"not JSON", `hello`},
		{"an array", `[]`},
		{"null", `null`},
		{"truncated", `{"body":"x"`},
		{"trailing data", `{} {}`},
		{"body a number", `{"body":5}`},
		{"base64 flag a string", `{"isBase64Encoded":"true"}`},
		{"headers an array", `{"headers":["x"]}`},
		{"a header a number", `{"headers":{"content-length":5}}`},
		{"escaped key", `{"b\u006fdy":"x"}`},
		{"invalid UTF-8", "{\"body\":\"\xff\"}"},
		{"bad JSON in a skipped member", `{"version":[1,}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apigw.DecodeInvocation([]byte(tc.payload)); !errors.Is(err, apigw.ErrUnsupported) {
				t.Fatalf("DecodeInvocation(%s) = %v, want ErrUnsupported", tc.payload, err)
			}
		})
	}
}

// FuzzDecodeInvocationMatchesEncodingJSON checks the fast decoder against
// the runtime's own path: wherever it decodes, it agrees with encoding/json,
// and it never decodes what encoding/json refuses as JSON. (A member the
// receiver does not read may have another type than the event struct's
// field: encoding/json reports that and decodes the rest, DecodeInvocation
// just decodes.)
func FuzzDecodeInvocationMatchesEncodingJSON(f *testing.F) {
	for _, payload := range sampleInvocations(f) {
		f.Add(payload)
	}
	f.Add([]byte(`{"BODY":"b","headers":{"X-ALTAFINEX-SIGNATURE":"s","x-altafinex-signature":null}}`))
	f.Add([]byte(`{"body":"\ud83d\ude00\u0000","requestContext":{"http":{"sourceIp":"::1"}}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := apigw.DecodeInvocation(payload)
		if err != nil {
			if !errors.Is(err, apigw.ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		want, err := reference(payload)
		if te := (*json.UnmarshalTypeError)(nil); err != nil && !errors.As(err, &te) {
			t.Fatalf("DecodeInvocation decoded what encoding/json refuses (%v):\n%q", err, payload)
		}
		sameInvocation(t, payload, got, want)
	})
}

// TestInvokeAnswersAsHandle checks the Lambda entry point against Handle for
// every outcome: the same status, headers and body.
func TestInvokeAnswersAsHandle(t *testing.T) {
	payload := sampleInvocations(t)["ingest-payment-succeeded.json"]
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	outcomes := []ingest.Outcome{ingest.Accepted, ingest.Duplicate, ingest.Ignored, ingest.Rejected, ingest.PayloadMismatch,
		ingest.InFlight, ingest.InvalidSignature, ingest.PayloadTooLarge, ingest.MethodNotAllowed, ingest.Forbidden,
		ingest.BadRequest, ingest.Unavailable, "surprise"}
	for _, o := range outcomes {
		t.Run(string(o), func(t *testing.T) {
			rec := &recorder{res: ingest.Result{Outcome: o, EventID: `evt_"quoted"<&>`}}
			h := &apigw.Handler{Receiver: rec, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Metrics: &metrics.EMF{W: io.Discard}}
			out, err := h.Invoke(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			var got events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("Invoke wrote invalid JSON: %v\n%s", err, out)
			}
			if rec.got.Signature != ev.Headers["x-altafinex-signature"] || string(rec.got.Body) != ev.Body || rec.got.Method != "POST" {
				t.Fatalf("the receiver saw %+v", rec.got)
			}
			want, _ := h.Handle(context.Background(), ev)
			if got.StatusCode != want.StatusCode || got.Body != want.Body || len(got.Headers) != 1 || got.Headers["Content-Type"] != want.Headers["Content-Type"] {
				t.Fatalf("Invoke answered %+v, Handle %+v", got, want)
			}
		})
	}
}

// TestInvokeFallsBackToEncodingJSON: an event the fast decoder leaves alone
// is still served, and only a payload that is no event at all fails.
func TestInvokeFallsBackToEncodingJSON(t *testing.T) {
	rec := &recorder{res: ingest.Result{Outcome: ingest.Accepted, EventID: "evt_1"}}
	var logs bytes.Buffer
	h := &apigw.Handler{Receiver: rec, Log: slog.New(slog.NewJSONHandler(&logs, nil))}
	out, err := h.Invoke(context.Background(), []byte(`{"b\u006fdy":"{}","requestContext":{"http":{"method":"POST"}}}`))
	if err != nil || !bytes.Contains(out, []byte(`"statusCode":200`)) || string(rec.got.Body) != "{}" || rec.got.Method != "POST" {
		t.Fatalf("Invoke = %s, %v; the receiver saw %+v", out, err, rec.got)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"invocation outside the fast decoder`) {
		t.Errorf("no warning of the fallback in the log:\n%s", logs.String())
	}
	if out, err := h.Invoke(context.Background(), []byte(`[1,2]`)); err == nil {
		t.Fatalf("Invoke of a JSON array = %s, want an error", out)
	}
}
