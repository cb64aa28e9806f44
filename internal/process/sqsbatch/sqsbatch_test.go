package sqsbatch_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
)

// fakeProcessor answers outcomes by event id and records the messages.
type fakeProcessor struct {
	outcomes map[string]process.Outcome
	got      []eventrecord.Message
}

func (f *fakeProcessor) ProcessBatch(_ context.Context, msgs []eventrecord.Message) []process.Result {
	f.got = msgs
	res := make([]process.Result, len(msgs))
	for i, m := range msgs {
		o, ok := f.outcomes[m.EventID]
		if !ok {
			o = process.OutcomeProcessed
		}
		res[i] = process.Result{EventID: m.EventID, Outcome: o}
	}
	return res
}

func loadEvent(t *testing.T, name string) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestHandleFixture(t *testing.T) {
	ev := loadEvent(t, "sqs-event.json")
	tests := []struct {
		name     string
		outcomes map[string]process.Outcome
		want     []string
	}{
		{"all processed", nil, []string{}},
		{"retrying and in flight are retried", map[string]process.Outcome{
			"evt_3PqL8fA1x9Kd2mZ0": process.OutcomeRetrying,
			"":                     process.OutcomeInFlight, // the record without attributes
		}, []string{"059f36b4-87a3-44ab-83d2-661975830a7d", "c1b2a3d4-0000-4bbb-8ccc-9d8e7f6a5b4c"}},
		{"failed and duplicate are acknowledged", map[string]process.Outcome{
			"evt_3PqL8fA1x9Kd2mZ0": process.OutcomeFailed,
			"evt_3PqL8gB7w2Rn5yX4": process.OutcomeDuplicate,
		}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fp := &fakeProcessor{outcomes: tc.outcomes}
			resp, err := sqsbatch.New(fp, slog.New(slog.DiscardHandler)).Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("Handle error %v: it must stay nil", err)
			}
			var got []string
			for _, f := range resp.BatchItemFailures {
				got = append(got, f.ItemIdentifier)
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("failures: want %v, got %v", tc.want, got)
			}
			// The response must serialise as Lambda expects it.
			b, _ := json.Marshal(resp)
			if !bytes.Contains(b, []byte(`"batchItemFailures":[`)) {
				t.Errorf("response JSON %s", b)
			}
		})
	}
}

func TestMessageFromRecord(t *testing.T) {
	ev := loadEvent(t, "sqs-event.json") // messages as earlier versions queued them: the raw body
	// A body SQS refuses raw, as this version queues it: base64.
	odd := "{\"id\":\"evt_odd\",\"note\":\"\uffff\x00\xe9\"}"
	encoded := events.SQSMessage{Body: base64.StdEncoding.EncodeToString([]byte(odd)), MessageAttributes: map[string]events.SQSMessageAttribute{
		"event_id":      {StringValue: ptr("evt_odd"), DataType: "String"},
		"body_encoding": {StringValue: ptr("base64"), DataType: "String"},
	}}
	badBase64 := events.SQSMessage{Body: "{not base64}", MessageAttributes: map[string]events.SQSMessageAttribute{
		"event_id":      {StringValue: ptr("evt_bad"), DataType: "String"},
		"body_encoding": {StringValue: ptr("base64"), DataType: "String"},
	}}
	tests := []struct {
		name     string
		rec      events.SQSMessage
		want     eventrecord.Message
		wantBody string
	}{
		{"all attributes", ev.Records[0], eventrecord.Message{EventID: "evt_3PqL8fA1x9Kd2mZ0", Type: "payment.succeeded",
			ReceivedAt: time.UnixMilli(1795795201000).UTC()}, ev.Records[0].Body},
		{"replay", ev.Records[1], eventrecord.Message{EventID: "evt_3PqL8gB7w2Rn5yX4", Type: "payment.failed",
			ReceivedAt: time.UnixMilli(1795795201000).UTC(), Replay: true}, ev.Records[1].Body},
		{"no attributes", ev.Records[2], eventrecord.Message{}, ev.Records[2].Body},
		{"malformed received_at", events.SQSMessage{MessageAttributes: map[string]events.SQSMessageAttribute{
			"received_at": {StringValue: ptr("yesterday"), DataType: "Number"}}}, eventrecord.Message{}, ""},
		{"base64 body", encoded, eventrecord.Message{EventID: "evt_odd"}, odd},
		{"base64 that does not decode: kept as it came", badBase64, eventrecord.Message{EventID: "evt_bad"}, "{not base64}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sqsbatch.Message(tc.rec)
			if string(got.Body) != tc.wantBody {
				t.Errorf("body %q, want %q byte for byte", got.Body, tc.wantBody)
			}
			got.Body = nil
			if got.EventID != tc.want.EventID || got.Type != tc.want.Type || !got.ReceivedAt.Equal(tc.want.ReceivedAt) || got.Replay != tc.want.Replay {
				t.Errorf("want %+v\ngot  %+v", tc.want, got)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestLogHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(sqsbatch.LogHandler(slog.NewJSONHandler(&buf, nil))).With("function", "processor")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-42"})
	logger.InfoContext(ctx, "hello")
	logger.InfoContext(context.Background(), "outside")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("lines: %s", buf.Bytes())
	}
	var first, second map[string]any
	if err := json.Unmarshal(lines[0], &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lines[1], &second); err != nil {
		t.Fatal(err)
	}
	if first["aws_request_id"] != "req-42" || first["function"] != "processor" {
		t.Errorf("first line %v", first)
	}
	if _, ok := second["aws_request_id"]; ok {
		t.Errorf("second line %v", second)
	}
}

func TestMetricsPerOutcome(t *testing.T) {
	var buf bytes.Buffer
	fp := &fakeProcessor{outcomes: map[string]process.Outcome{"evt_3PqL8gB7w2Rn5yX4": process.OutcomeRetrying}}
	h := sqsbatch.New(fp, slog.New(slog.DiscardHandler))
	h.Metrics = &metrics.EMF{W: &buf, Function: "processor"}
	if _, err := h.Handle(context.Background(), loadEvent(t, "sqs-event.json")); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("metric line %s: %v", line, err)
		}
		for _, name := range []string{"Processed", "Retried", sqsbatch.MetricLatency} {
			if _, ok := m[name]; ok {
				counts[name]++
			}
		}
		// template.yaml's alarms and dashboard read these metrics with
		// the dimension Function=processor; any other dimension set would
		// be one more billed custom metric.
		var emf struct {
			AWS struct {
				CloudWatchMetrics []struct{ Dimensions [][]string }
			} `json:"_aws"`
			Function string
		}
		if err := json.Unmarshal(line, &emf); err != nil {
			t.Fatal(err)
		}
		if emf.Function != "processor" || len(emf.AWS.CloudWatchMetrics) != 1 ||
			!slices.EqualFunc(emf.AWS.CloudWatchMetrics[0].Dimensions, [][]string{{"Function"}}, slices.Equal) {
			t.Errorf("metric line %s: want the dimension set [[Function]] alone, Function=processor", line)
		}
	}
	if counts["Processed"] != 2 || counts["Retried"] != 1 || counts[sqsbatch.MetricLatency] != 2 {
		t.Errorf("metric lines %v:\n%s", counts, buf.String())
	}
}

// resultsProcessor answers the results it holds, one per message.
type resultsProcessor []process.Result

func (r resultsProcessor) ProcessBatch(_ context.Context, msgs []eventrecord.Message) []process.Result {
	return r[:len(msgs)]
}

// TestMetricsOfPanicsNotesAndUnknownTypes: a panic is counted as
// ProcessorPanic, each note under its metric with its kind; outcomes and
// panics carry no EventType (Function only, whatever the type, known or
// not), so no dimension value is ever empty.
func TestMetricsOfPanicsNotesAndUnknownTypes(t *testing.T) {
	var buf bytes.Buffer
	h := sqsbatch.New(resultsProcessor{
		{Type: "payment.succeeded", Outcome: process.OutcomeRetrying, Err: &process.PanicError{Value: "boom"}},
		{Type: "refund.completed", Outcome: process.OutcomeProcessed, Notes: []process.Note{
			{Metric: "OrderAnomaly", Kind: "over_refund"}, {Metric: "EmailUndeliverable", Kind: "email_undeliverable"}}},
		{Type: "", Outcome: process.OutcomeFailed, Err: process.ErrInvalidPayload},
	}, slog.New(slog.DiscardHandler))
	h.Metrics = &metrics.EMF{W: &buf, Function: "processor"}
	ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "1"}, {MessageId: "2"}, {MessageId: "3"}}}
	if _, err := h.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m struct {
			AWS struct {
				CloudWatchMetrics []struct{ Metrics []struct{ Name string } }
			} `json:"_aws"`
			EventType, Kind *string
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		name := m.AWS.CloudWatchMetrics[0].Metrics[0].Name
		switch {
		case m.EventType != nil:
			name += " EventType=" + *m.EventType
		case m.Kind != nil:
			name += " Kind=" + *m.Kind
		}
		got = append(got, name)
	}
	want := []string{
		"Retried", "ProcessorPanic",
		"Processed", "OrderAnomaly Kind=over_refund", "EmailUndeliverable Kind=email_undeliverable",
		sqsbatch.MetricLatency,
		"Failed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("metrics:\n got %q\nwant %q", got, want)
	}
}
