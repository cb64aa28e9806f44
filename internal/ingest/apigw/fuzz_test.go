package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/ingest/apigw"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// The fuzz handler's secrets are the spec vectors' two, so that the valid
// vectors pass, and its clock is theirs.
var (
	fuzzSecrets = [][]byte{[]byte("whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d"), []byte("whsec_a1b2c3d4e5f60718293a4b5c6d7e8f90")}
	fuzzNow     = time.Unix(1795795500, 0)
)

// fuzzMaxBody is small so that the fuzzer reaches the size limit too.
const fuzzMaxBody = 2048

// memStore is an in-memory events table: first write of an id wins, later
// ones get a ConflictError, as the conditional puts do.
type memStore struct{ recs map[string]eventrecord.Record }

func (m *memStore) put(rec eventrecord.Record) error {
	if old, ok := m.recs[rec.EventID]; ok {
		return &eventrecord.ConflictError{Existing: old}
	}
	m.recs[rec.EventID] = rec
	return nil
}

func (m *memStore) Reserve(_ context.Context, rec eventrecord.Record, _ time.Time) error {
	return m.put(rec)
}

func (m *memStore) Release(_ context.Context, id, token string) error {
	if m.recs[id].Token == token {
		delete(m.recs, id)
	}
	return nil
}

func (m *memStore) PutTerminal(_ context.Context, rec eventrecord.Record, _ time.Time) error {
	return m.put(rec)
}

type memQueue struct{ msgs []eventrecord.Message }

func (q *memQueue) Send(_ context.Context, msg eventrecord.Message) error {
	q.msgs = append(q.msgs, msg)
	return nil
}

var (
	_ ingest.Store = (*memStore)(nil)
	_ ingest.Queue = (*memQueue)(nil)
)

// headerKeys are the spellings the signature header is sent under; the
// fuzzer picks one by index, past the end meaning "not sent".
var headerKeys = []string{"x-altafinex-signature", "X-Altafinex-Signature", "X-ALTAFINEX-SIGNATURE"}

// documented are the statuses the ingest function may answer.
var documented = []int{200, 400, 401, 403, 405, 409, 413, 503}

func addFuzzSeeds(f *testing.F) {
	f.Helper()
	payloads, err := filepath.Glob(filepath.Join("..", "..", "..", "events", "payloads", "*.json"))
	if err != nil || len(payloads) == 0 {
		f.Fatalf("no sample payloads found: %v", err)
	}
	for _, p := range payloads {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), false, "POST", "", uint8(0), true)
		f.Add(base64.StdEncoding.EncodeToString(b), true, "POST", "", uint8(1), true)
		f.Add(string(b), false, "GET", "", uint8(2), true)
		f.Add(string(b), false, "POST", "t=1795795500,v1=00", uint8(0), false)
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "signature", "testdata", "signature-vectors.json"))
	if err != nil {
		f.Fatal(err)
	}
	var spec struct {
		Vectors []struct {
			Header     string `json:"header"`
			Body       string `json:"body"`
			BodyBase64 string `json:"body_base64"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil || len(spec.Vectors) == 0 {
		f.Fatalf("signature vectors: %v", err)
	}
	for _, v := range spec.Vectors {
		if v.BodyBase64 != "" {
			f.Add(v.BodyBase64, true, "POST", v.Header, uint8(0), false)
			continue
		}
		f.Add(v.Body, false, "POST", v.Header, uint8(0), false)
	}
	f.Add("e30", true, "POST", "", uint8(0), true)
	f.Add("{}!", true, "POST", "", uint8(0), true)
	f.Add("", false, "POST", "", uint8(3), false)
}

// viaJSON is s as a JSON string carries it: json.Marshal then Unmarshal.
func viaJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// FuzzInvoke feeds arbitrary API Gateway requests to Request and, as
// invocation bytes, to the Lambda entry point (Handle under
// lambda.NewHandler, as lambda.Start runs it) over a real
// ingest.Service with in-memory fakes. Whatever the input, the handler must
// not panic or fail, must answer a documented
// status (never a 5xx, since the fakes never fail) with a JSON body naming
// the outcome, and must queue only validly signed envelopes.
func FuzzInvoke(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, body string, isBase64 bool, method, header string, key uint8, sign bool) {
		decoded, decodeErr := []byte(body), error(nil)
		if isBase64 {
			decoded, decodeErr = base64.StdEncoding.DecodeString(body)
		}
		if sign && decodeErr == nil {
			header = signature.Sign(fuzzSecrets[int(key)%len(fuzzSecrets)], fuzzNow, decoded)
		}
		headers := map[string]string{"content-type": "application/json"}
		if int(key) < len(headerKeys) {
			headers[headerKeys[key]] = header
		} else {
			header = ""
		}
		ev := events.APIGatewayV2HTTPRequest{Version: "2.0", Headers: headers, Body: body, IsBase64Encoded: isBase64}
		ev.RequestContext.HTTP.Method = method
		ev.RequestContext.HTTP.SourceIP = "203.0.113.7"
		ev.RequestContext.RequestID = "fuzz"

		req, err := apigw.Request(ev)
		if (err != nil) != (decodeErr != nil) {
			t.Fatalf("Request error %v, base64 decoding error %v", err, decodeErr)
		}
		if err == nil && (!bytes.Equal(req.Body, decoded) || req.Signature != header || req.Method != method) {
			t.Fatalf("Request = %+v, want body %q signature %q method %q", req, decoded, header, method)
		}

		// The Lambda entry point, as lambda.Start(h.Handle) runs it: the
		// event as JSON bytes in, the response's bytes out.
		payload, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		// json.Marshal turns each invalid UTF-8 byte into U+FFFD (API
		// Gateway would have sent such a body base64-encoded): compare
		// with what the payload carries.
		if decodeErr == nil && !isBase64 {
			decoded = []byte(viaJSON(body))
		}
		header, method = viaJSON(header), viaJSON(method)

		store, queue := &memStore{recs: map[string]eventrecord.Record{}}, &memQueue{}
		h := &apigw.Handler{
			Receiver: &ingest.Service{Store: store, Queue: queue, Secrets: secrets.Static(fuzzSecrets), MaxBody: fuzzMaxBody, Now: func() time.Time { return fuzzNow }},
			Log:      slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Metrics:  &metrics.EMF{W: io.Discard, Function: "ingest"},
		}
		out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
		if err != nil {
			t.Fatalf("Invoke returned an error: %v", err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("Invoke answered something that is not JSON: %v\n%s", err, out)
		}
		if !slices.Contains(documented, resp.StatusCode) || resp.StatusCode >= 500 {
			t.Fatalf("status %d: not a documented answer to bad input (%s)", resp.StatusCode, resp.Body)
		}
		if resp.Headers["Content-Type"] != "application/json" {
			t.Fatalf("Content-Type %q", resp.Headers["Content-Type"])
		}
		var answer map[string]string
		if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil {
			t.Fatalf("answer is not a JSON object of strings: %q", resp.Body)
		}
		field := "error"
		if resp.StatusCode < 300 {
			field = "status"
		}
		outcome := ingest.Outcome(answer[field])
		if outcome == "" || len(answer) > 2 || (len(answer) == 2 && answer["event_id"] == "") {
			t.Fatalf("answer %d %q", resp.StatusCode, resp.Body)
		}

		switch {
		case decodeErr != nil:
			if resp.StatusCode != 400 || outcome != ingest.BadRequest {
				t.Fatalf("undecodable base64 answered %d %s", resp.StatusCode, resp.Body)
			}
			return
		case resp.StatusCode == 200:
			// Only a POST with a valid signature under the limit gets here.
			v := signature.Verifier{Secrets: fuzzSecrets, Now: func() time.Time { return fuzzNow }}
			if method != "POST" || len(decoded) > fuzzMaxBody || v.Verify(header, decoded) != nil {
				t.Fatalf("answered %s for method %q, %d bytes, signature %v", resp.Body, method, len(decoded), v.Verify(header, decoded))
			}
		}

		env, parseErr := envelope.Parse(decoded)
		switch outcome {
		case ingest.Accepted:
			if parseErr != nil || len(queue.msgs) != 1 || !bytes.Equal(queue.msgs[0].Body, decoded) || queue.msgs[0].EventID != env.ID || answer["event_id"] != env.ID {
				t.Fatalf("accepted %q (parse error %v) but queued %d messages", decoded, parseErr, len(queue.msgs))
			}
		case ingest.Rejected:
			rec := store.recs[answer["event_id"]]
			if parseErr == nil || len(queue.msgs) != 0 || rec.Status != eventrecord.Rejected || !bytes.Equal(rec.Body, decoded) {
				t.Fatalf("rejected %q (parse error %v): record %+v, %d messages", decoded, parseErr, rec, len(queue.msgs))
			}
		case ingest.Ignored:
			if parseErr != nil || len(queue.msgs) != 0 || store.recs[env.ID].Status != eventrecord.Ignored {
				t.Fatalf("ignored %q (parse error %v) but queued %d messages", decoded, parseErr, len(queue.msgs))
			}
		default:
			if len(queue.msgs) != 0 || len(store.recs) != 0 {
				t.Fatalf("answered %s but wrote %d records and %d messages", resp.Body, len(store.recs), len(queue.msgs))
			}
		}
	})
}
