package local_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// Both functions run under their own policies from template.yaml.
func TestMain(m *testing.M) { os.Exit(iamtest.RunTests(m)) }

const secret = "whsec_0a1b2c3d4e5f60718293a4b5c6d7e8f9"

// syncBuffer collects the stack's log from its goroutines.
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

// startLocal runs local.Run on a free loopback port against the package's
// moto_server, with fresh table and queue names, until the test ends. The
// processor is off: these tests read the queue themselves.
func startLocal(t *testing.T) local.Stack {
	t.Helper()
	st, _ := startLocalWith(t, func(o *local.Options) { o.NoProcessor = true })
	return st
}

// startLocalWith is startLocal with the options adjusted by edit; it also
// returns the stack's log.
func startLocalWith(t *testing.T, edit func(*local.Options)) (local.Stack, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan local.Stack, 1)
	done := make(chan struct{})
	var runErr error
	logs := &syncBuffer{}
	opts := local.Options{
		Addr:        "127.0.0.1:0",
		Endpoint:    os.Getenv(motoserver.EndpointEnv),
		Secrets:     [][]byte{[]byte(secret)},
		EventsTable: motoserver.UniqueName(t, "events"),
		Queue:       motoserver.UniqueName(t, "q"),
		DLQ:         motoserver.UniqueName(t, "dlq"),
		OrdersTable: motoserver.UniqueName(t, "orders"),
		Getenv:      func(string) string { return "" },
		Log:         slog.New(slog.NewJSONHandler(logs, nil)),
		Out:         io.Discard,
		Ready:       func(st local.Stack) { ready <- st },
	}
	edit(&opts)
	// The set-up and the tests' checks use the admin's keys; each function
	// those of its policy in template.yaml (unless edit chose).
	setup := motoserver.TestConfig(t)
	opts.AWS = &setup
	if opts.FunctionAWS == nil {
		opts.FunctionAWS = func(function string, env func(string) string) (aws.Config, error) {
			keys, err := iamtest.FunctionKeys(t, function, env)
			if err != nil {
				return aws.Config{}, err
			}
			return keys.AWSConfig()
		}
	}
	go func() {
		defer close(done)
		runErr = local.Run(ctx, opts)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
			if runErr != nil {
				t.Errorf("local.Run: %v", runErr)
			}
		case <-time.After(30 * time.Second):
			t.Error("local.Run did not return after its context was cancelled")
		}
		if t.Failed() {
			t.Logf("stack log:\n%s", logs.String())
		}
	})
	select {
	case st := <-ready:
		return st, logs
	case <-done:
		t.Fatalf("local.Run returned before serving: %v", runErr)
	case <-time.After(60 * time.Second):
		t.Fatal("local.Run did not become ready")
	}
	return local.Stack{}, nil
}

// call sends one HTTP request and returns the status, the JSON body and
// the Content-Type.
func call(t *testing.T, method, url string, headers map[string]string, body []byte) (int, map[string]string) {
	t.Helper()
	status, got, _ := callAllow(t, method, url, headers, body)
	return status, got
}

// callAllow is call that also returns the Allow header.
func callAllow(t *testing.T, method, url string, headers map[string]string, body []byte) (int, map[string]string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (body %q)", ct, raw)
	}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s %s answered %d with a body that is not a JSON object of strings: %q", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode, got, resp.Header.Get("Allow")
}

// messages drains the queue (bounded) and returns the bodies on it.
func messages(t *testing.T, st local.Stack) []string {
	t.Helper()
	client := sqs.NewFromConfig(st.AWS)
	var out []string
	for range 20 {
		r, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(st.QueueURL), MaxNumberOfMessages: 10, VisibilityTimeout: 600,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			msg, err := sqsqueue.FromSDK(m)
			if err != nil {
				t.Fatalf("message %s: %v", aws.ToString(m.MessageId), err)
			}
			out = append(out, string(msg.Body))
		}
	}
	t.Fatal("queue did not drain in 20 receives")
	return nil
}

func itemCount(t *testing.T, st local.Stack) int {
	t.Helper()
	out, err := dynamodb.NewFromConfig(st.AWS).Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(st.EventsTable)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

func sample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "payloads", "payment.succeeded.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func setField(t *testing.T, body []byte, key, raw string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rejectedAnswer(body []byte) map[string]string {
	sum := sha256.Sum256(body)
	return map[string]string{"status": string(ingest.Rejected), "event_id": "sha256:" + hex.EncodeToString(sum[:])}
}

// TestBadInputOverHTTP sends the bad-input cases as real HTTP requests to
// the local front and checks each answer, then that none of them queued
// anything and that only the rejected and ignored ones were recorded.
func TestBadInputOverHTTP(t *testing.T) {
	st := startLocal(t)
	url := st.URL + local.WebhookPath
	base := sample(t)
	// The front runs on the real clock: stale and early signatures are
	// far enough out that the test's own run time cannot bring them back.
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	sign := func(b []byte) string { return signature.Sign([]byte(secret), now, b) }
	hdr := func(sig string) map[string]string {
		return map[string]string{signature.HeaderName: sig, "Content-Type": "application/json"}
	}
	good := sign(base)
	v1 := good[strings.Index(good, "v1=")+3:]
	unauthorized := map[string]string{"error": string(ingest.InvalidSignature)}
	notFound := map[string]string{"message": "Not Found"}

	huge := []byte(`{"pad":"` + strings.Repeat("x", ingest.DefaultMaxBody+1-len(`{"pad":""}`)) + `"}`)
	truncated := base[:len(base)-10]
	notObject := []byte(`[1,2,3]`)
	missingID := setField(t, base, "id", "")
	notUTF8 := bytes.Replace(setField(t, base, "id", `"evt_latin1"`), []byte("Jane Doe"), []byte("Ren\xe9e Doe"), 1)
	dupID := []byte(`{"id":"evt_a","id":"evt_b","type":"payment.succeeded","created":1795795200,"livemode":false}`)
	deep := []byte(`{"id":"evt_deep","type":"payment.succeeded","created":1795795200,"livemode":false,"data":` +
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
	bom := append([]byte("\xef\xbb\xbf"), setField(t, base, "id", `"evt_bom"`)...)
	unknownType := setField(t, setField(t, base, "id", `"evt_unknown_type"`), "type", `"payment.disputed"`)
	live := setField(t, setField(t, base, "id", `"evt_live"`), "livemode", "true")

	tests := []struct {
		name    string
		method  string
		headers map[string]string
		body    []byte
		status  int
		want    map[string]string
	}{
		// API Gateway's answer to a method without a route; the function never sees it.
		{"GET", "GET", hdr(good), nil, 404, notFound},
		{"PUT", "PUT", hdr(good), base, 404, notFound},
		{"no body, unsigned", "POST", nil, nil, 401, unauthorized},
		{"no body, signed", "POST", hdr(sign(nil)), nil, 200, rejectedAnswer(nil)},
		{"body over the limit", "POST", hdr(sign(huge)), huge, 413, map[string]string{"error": string(ingest.PayloadTooLarge)}},
		{"truncated JSON", "POST", hdr(sign(truncated)), truncated, 200, rejectedAnswer(truncated)},
		{"JSON array", "POST", hdr(sign(notObject)), notObject, 200, rejectedAnswer(notObject)},
		{"missing id", "POST", hdr(sign(missingID)), missingID, 200, rejectedAnswer(missingID)},
		{"invalid UTF-8", "POST", hdr(sign(notUTF8)), notUTF8, 200, rejectedAnswer(notUTF8)},
		{"duplicate id keys", "POST", hdr(sign(dupID)), dupID, 200, rejectedAnswer(dupID)},
		{"100k nested brackets", "POST", hdr(sign(deep)), deep, 200, rejectedAnswer(deep)},
		{"byte order mark", "POST", hdr(sign(bom)), bom, 200, rejectedAnswer(bom)},
		{"a second t", "POST", hdr("t=" + ts + "," + good), base, 401, unauthorized},
		{"64 KB header", "POST", hdr("t=" + ts + ",v1=" + strings.Repeat("a", 64<<10)), base, 401, unauthorized},
		{"signature missing", "POST", map[string]string{"Content-Type": "application/json"}, base, 401, unauthorized},
		{"signature malformed", "POST", hdr("garbage"), base, 401, unauthorized},
		{"signature an hour old", "POST", hdr(signature.Sign([]byte(secret), now.Add(-time.Hour), base)), base, 401, unauthorized},
		{"signature an hour in the future", "POST", hdr(signature.Sign([]byte(secret), now.Add(time.Hour), base)), base, 401, unauthorized},
		{"wrong secret", "POST", hdr(signature.Sign([]byte("whsec_00000000000000000000000000000000"), now, base)), base, 401, unauthorized},
		{"v1 truncated to 63 hex", "POST", hdr("t=" + ts + ",v1=" + v1[:63]), base, 401, unauthorized},
		{"v0 only", "POST", hdr("t=" + ts + ",v0=" + v1), base, 401, unauthorized},
		{"replay signed 10 minutes ago", "POST", hdr(signature.Sign([]byte(secret), now.Add(-10*time.Minute), base)), base, 401, unauthorized},
		{"unknown event type", "POST", hdr(sign(unknownType)), unknownType, 200, map[string]string{"status": string(ingest.Ignored), "event_id": "evt_unknown_type"}},
		{"livemode true in test mode", "POST", hdr(sign(live)), live, 200, map[string]string{"status": string(ingest.Ignored), "event_id": "evt_live"}},
	}
	records := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, got := call(t, tc.method, url, tc.headers, tc.body)
			if status != tc.status || !maps.Equal(got, tc.want) {
				t.Fatalf("answer = %d %v, want %d %v", status, got, tc.status, tc.want)
			}
		})
		if tc.status == 200 {
			records++
		}
	}
	if msgs := messages(t, st); len(msgs) != 0 {
		t.Fatalf("bad input put %d messages on the queue", len(msgs))
	}
	if n := itemCount(t, st); n != records {
		t.Fatalf("%d records in the events table, want %d (one per rejected or ignored case)", n, records)
	}
}

// The local front answers what the deployed HTTP API answers: its one
// route is POST /api/webhooks/payment, and API Gateway itself answers any
// other method or path with 404 {"message":"Not Found"}, without invoking
// the function (HEAD and OPTIONS included: the API configures no CORS).
func TestUnroutedRequestsGetAPIGatewaysNotFound(t *testing.T) {
	st := startLocal(t)
	notFound := map[string]string{"message": "Not Found"}
	tests := []struct {
		method, path string
		status       int
		want         map[string]string
	}{
		{"GET", "/healthz", 200, map[string]string{"status": "ok"}}, // local only
		{"GET", "/", 404, notFound},
		{"GET", "/api/webhooks", 404, notFound},
		{"GET", local.WebhookPath, 404, notFound},
		{"PUT", local.WebhookPath, 404, notFound},
		{"DELETE", local.WebhookPath, 404, notFound},
		{"PATCH", local.WebhookPath, 404, notFound},
		{"OPTIONS", local.WebhookPath, 404, notFound},
		{"POST", local.WebhookPath + "/", 404, notFound},
		{"POST", "/api/webhooks/payment/extra", 404, notFound},
		{"POST", "/api/webhooks/refund", 404, notFound},
		{"POST", "/healthz", 404, notFound},
		{"DELETE", "/nope", 404, notFound},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			status, got, allow := callAllow(t, tc.method, st.URL+tc.path, nil, []byte("{}"))
			if status != tc.status || !maps.Equal(got, tc.want) {
				t.Fatalf("answer = %d %v, want %d %v", status, got, tc.status, tc.want)
			}
			if allow != "" {
				t.Errorf("Allow: %q on a %d: API Gateway sends none", allow, status)
			}
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		resp, err := http.Head(st.URL + local.WebhookPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("HEAD answered %d, want 404", resp.StatusCode)
		}
	})
	if n := itemCount(t, st); n != 0 {
		t.Fatalf("unrouted requests left %d records: they reached the function", n)
	}
}

func TestSignedRequestIsQueuedOnce(t *testing.T) {
	st := startLocal(t)
	body := sample(t)
	status, got := call(t, "POST", st.URL+local.WebhookPath, map[string]string{
		signature.HeaderName: signature.Sign([]byte(secret), time.Now(), body), "Content-Type": "application/json",
	}, body)
	want := map[string]string{"status": string(ingest.Accepted), "event_id": "evt_3PqL8fA1x9Kd2mZ0"}
	if status != 200 || !maps.Equal(got, want) {
		t.Fatalf("answer = %d %v, want 200 %v", status, got, want)
	}
	msgs := messages(t, st)
	if len(msgs) != 1 || msgs[0] != string(body) {
		t.Fatalf("queue holds %d messages, want the raw body once", len(msgs))
	}
	if n := itemCount(t, st); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}
