package sqsbatch_test

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
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/sqsbatch"
)

// reference is what the Lambda runtime's own path gives: encoding/json into
// events.SQSEvent, then FromEvent. A member of the wrong type (an
// *json.UnmarshalTypeError) or a binary value that is not base64 (a
// base64.CorruptInputError) is reported after encoding/json has decoded
// the rest; the decoding is returned with it.
func reference(payload []byte) ([]sqsbatch.Record, error) {
	var ev events.SQSEvent
	err := json.Unmarshal(payload, &ev)
	if !decodedAnyway(err) {
		return nil, err
	}
	return sqsbatch.FromEvent(ev), err
}

// decodedAnyway reports whether err leaves the rest of the event decoded.
func decodedAnyway(err error) bool {
	var te *json.UnmarshalTypeError
	var be base64.CorruptInputError
	return err == nil || errors.As(err, &te) || errors.As(err, &be)
}

// sameRecords fails unless got and want hold the same records.
func sameRecords(t testing.TB, payload []byte, got, want []sqsbatch.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("DecodeBatch gives %d records, encoding/json %d, for %s", len(got), len(want), payload)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.MessageID != w.MessageID || !sameMessage(g.Message, w.Message) {
			t.Fatalf("record %d: DecodeBatch gives %+v\nencoding/json gives %+v\nfor %s", i, g, w, payload)
		}
	}
}

func sameMessage(g, w eventrecord.Message) bool {
	return g.EventID == w.EventID && g.Type == w.Type && g.Replay == w.Replay && g.ReceivedAt.Equal(w.ReceivedAt) &&
		g.ReceivedAt.Location() == w.ReceivedAt.Location() && bytes.Equal(g.Body, w.Body) && (g.Body == nil) == (w.Body == nil)
}

// sampleBatches returns the sample SQS events: events/processor-sqs.json,
// testdata/sqs-event.json (the raw bodies earlier versions queued), and a
// batch of each other testdata envelope as ingest enqueues it (base64).
func sampleBatches(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{filepath.Join("..", "..", "events", "processor-sqs.json"), filepath.Join("testdata", "sqs-event.json")} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	envelopes, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range envelopes {
		if filepath.Base(p) == "sqs-event.json" {
			continue
		}
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ ID, Type string }
		if err := json.Unmarshal(body, &env); err != nil || env.ID == "" {
			t.Fatalf("%s: not an envelope (%v)", p, err)
		}
		str := func(s string) events.SQSMessageAttribute {
			return events.SQSMessageAttribute{StringValue: &s, DataType: "String", StringListValues: []string{}, BinaryListValues: [][]byte{}}
		}
		ev := events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: "msg-" + env.ID, ReceiptHandle: "rh", Body: eventrecord.EncodeBody(body),
			Attributes: map[string]string{"ApproximateReceiveCount": "1"},
			MessageAttributes: map[string]events.SQSMessageAttribute{
				eventrecord.AttrEventID: str(env.ID), eventrecord.AttrType: str(env.Type),
				eventrecord.AttrReceivedAt: str("1795795201000"), eventrecord.AttrReplay: str("true"),
				eventrecord.AttrBodyEncoding: str(eventrecord.BodyBase64),
			},
			EventSource: "aws:sqs", AWSRegion: "us-east-1",
		}}}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	if len(out) < 3 {
		t.Fatalf("only %d sample batches", len(out))
	}
	return out
}

func TestDecodeBatchSamples(t *testing.T) {
	for name, payload := range sampleBatches(t) {
		t.Run(name, func(t *testing.T) {
			want, err := reference(payload)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sqsbatch.DecodeBatch(payload)
			if err != nil {
				t.Fatalf("DecodeBatch: %v", err)
			}
			if len(got) == 0 || got[0].MessageID == "" || got[0].Message.EventID == "" || len(got[0].Message.Body) == 0 ||
				got[0].Message.ReceivedAt.IsZero() {
				t.Fatalf("a sample without its fields: %+v", got)
			}
			sameRecords(t, payload, got, want)
		})
	}
}

func TestDecodeBatchFollowsEncodingJSON(t *testing.T) {
	tests := []struct {
		name, payload string
		records       int // how many records encoding/json finds
	}{
		{"empty object", `{}`, 0},
		{"no records", `{"Records":[]}`, 0},
		{"null records", `{"Records":null}`, 0},
		{"keys in any case", `{"records":[{"MESSAGEID":"m","Body":"b","MessageAttributes":{"event_id":{"StringValue":"e"},"received_at":{"STRINGVALUE":"1795795201000"}}}]}`, 1},
		{"attribute names are not case-folded", `{"Records":[{"messageAttributes":{"EVENT_ID":{"stringValue":"e"},"Event_Type":{"stringValue":"t"}}}]}`, 1},
		{"keys folded beyond ASCII", `{"Records":[{"meſſageId":"m","messageAttributes":{"event_id":{"ſtringValue":"e"}}}]}`, 1},
		{"last repeated key wins", `{"Records":[{"messageId":"1","messageId":"2","body":"a","body":"b","messageAttributes":{"event_id":{"stringValue":"x","stringValue":"y"}}}]}`, 1},
		{"a repeated attribute is decoded afresh", `{"Records":[{"messageAttributes":{"event_id":{"stringValue":"x"},"event_id":{"dataType":"String"}}}]}`, 1},
		{"repeated attribute maps merge", `{"Records":[{"messageAttributes":{"event_id":{"stringValue":"e"}},"messageAttributes":{"event_type":{"stringValue":"t"}}}]}`, 1},
		{"null leaves strings as they were", `{"Records":[{"messageId":"m","messageId":null,"body":"b","body":null}]}`, 1},
		{"a null string value empties the attribute", `{"Records":[{"messageAttributes":{"event_id":{"stringValue":"e","stringValue":null}}}]}`, 1},
		{"a null attribute is empty", `{"Records":[{"messageAttributes":{"event_id":{"stringValue":"e"},"event_id":null}}]}`, 1},
		{"a null attribute map empties it", `{"Records":[{"messageAttributes":{"event_id":{"stringValue":"e"}},"messageAttributes":null,"messageAttributes":{"event_type":{"stringValue":"t"}}}]}`, 1},
		{"a null record is a zero record", `{"Records":[null,{"messageId":"m"}]}`, 2},
		{"a repeated list reuses the records", `{"Records":[{"messageId":"a","body":"x"},{"messageId":"b","body":"y","messageAttributes":{"replay":{"stringValue":"true"}}}],"Records":[{"messageId":"c"}],"Records":[{},null,{}]}`, 3},
		{"a repeated list merges into the attribute maps", `{"Records":[{"messageAttributes":{"event_id":{"stringValue":"e"}}}],"Records":[{"messageAttributes":{"event_type":{"stringValue":"t"}}}]}`, 1},
		{"null drops the old records", `{"Records":[{"messageId":"a"},{"messageId":"b"}],"Records":null,"Records":[{},{}]}`, 2},
		{"an empty list drops the old records", `{"Records":[{"messageId":"a"},{"messageId":"b"}],"Records":[],"Records":[{},{}]}`, 2},
		{"no attributes", `{"Records":[{"messageId":"m","body":"{}"}]}`, 1},
		{"empty attributes", `{"Records":[{"messageId":"m","messageAttributes":{}}]}`, 1},
		{"an attribute with a binary value only", `{"Records":[{"messageAttributes":{"event_id":{"binaryValue":"ZXZ0XzE=","dataType":"Binary"},"event_type":{"stringValue":"t"}}}]}`, 1},
		{"an empty body", `{"Records":[{"body":""}]}`, 1},
		{"escapes in the body", `{"Records":[{"body":"{\"a\":\"\\u00e9\\n\\ud83d\\ude00\\t\\/\\\\\"}\r\n"}]}`, 1},
		{"unpaired surrogates", `{"Records":[{"body":"\ud800x\udc00\ud83d","messageId":"\udfff","messageAttributes":{"event_id":{"stringValue":"\ud800\ud800"}}}]}`, 1},
		{"escapes in ids and attributes", `{"Records":[{"messageId":"m\"1\u003c","messageAttributes":{"event_id":{"stringValue":"evt\/1"},"replay":{"stringValue":"tru\u0065"}}}]}`, 1},
		{"received at in milliseconds", `{"Records":[{"messageAttributes":{"received_at":{"stringValue":"1795795201000","dataType":"Number"}}}]}`, 1},
		{"received at not a number", `{"Records":[{"messageAttributes":{"received_at":{"stringValue":"yesterday"}}},{"messageAttributes":{"received_at":{"stringValue":"-5"}}},{"messageAttributes":{"received_at":{"stringValue":"0"}}}]}`, 3},
		{"replay only when true", `{"Records":[{"messageAttributes":{"replay":{"stringValue":"TRUE"}}},{"messageAttributes":{"replay":{"stringValue":"true"}}}]}`, 2},
		{"unknown members of every kind", `{"version":1,"Records":[{"receiptHandle":"r","attributes":{"ApproximateReceiveCount":"1"},"md5OfBody":"x","eventSource":"aws:sqs","x":[1,2.5e3,true,false,null,{"a":{}}],"messageAttributes":{"other":{"stringValue":"o","stringListValues":[],"binaryListValues":[]},"event_id":{"stringValue":"e","dataType":"String","stringListValues":["a"],"binaryListValues":["YQ=="]}}}],"more":{"Records":[{"messageId":"no"}]}}`, 1},
		{"an unread member of another type", `{"Records":[{"messageId":"m","receiptHandle":5,"attributes":[],"messageAttributes":{"other":{"stringValue":5},"event_id":{"dataType":7,"stringValue":"e"}}}]}`, 1},
		{"whitespace everywhere", " \n{ \"Records\" : [ { \"messageId\" : \"m\" ,\t\"messageAttributes\" : { \"event_id\" : { \"stringValue\" : \"e\" } } } , null ] }\r\n", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(tc.payload)
			want, err := reference(payload)
			if !decodedAnyway(err) {
				t.Fatalf("encoding/json refuses the case: %v", err)
			}
			if len(want) != tc.records {
				t.Fatalf("encoding/json finds %d records, the case expects %d", len(want), tc.records)
			}
			got, err := sqsbatch.DecodeBatch(payload)
			if err != nil {
				t.Fatalf("DecodeBatch: %v", err)
			}
			sameRecords(t, payload, got, want)
		})
	}
}

// TestDecodeBatchReusesRecordsAsEncodingJSON spells out what the reference
// gives for a repeated list, so that the case cannot pass by both being
// wrong: the old elements are decoded over, beyond the truncation too.
func TestDecodeBatchReusesRecordsAsEncodingJSON(t *testing.T) {
	payload := []byte(`{"Records":[{"messageId":"a","body":"x"},{"messageId":"b","body":"y"}],"Records":[{"messageId":"c"}],"Records":[{},{}]}`)
	got, err := sqsbatch.DecodeBatch(payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].MessageID != "c" || string(got[0].Message.Body) != "x" || got[1].MessageID != "b" || string(got[1].Message.Body) != "y" {
		t.Fatalf("DecodeBatch gives %+v", got)
	}
	want, err := reference(payload)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, payload, got, want)
}

func TestDecodeBatchRefusesTheRest(t *testing.T) {
	tests := []struct{ name, payload string }{
		{"not JSON", `hello`},
		{"empty", ``},
		{"an array", `[]`},
		{"null", `null`},
		{"truncated", `{"Records":[{"body":"x"}`},
		{"trailing data", `{} {}`},
		{"records an object", `{"Records":{}}`},
		{"a record a string", `{"Records":["m"]}`},
		{"message id a number", `{"Records":[{"messageId":1}]}`},
		{"body true", `{"Records":[{"body":true}]}`},
		{"attributes an array", `{"Records":[{"messageAttributes":[]}]}`},
		{"an attribute a string", `{"Records":[{"messageAttributes":{"event_id":"e"}}]}`},
		{"a string value a number", `{"Records":[{"messageAttributes":{"received_at":{"stringValue":1795795201000}}}]}`},
		{"escaped key in the event", `{"Rec\u006frds":[]}`},
		{"escaped key in a record", `{"Records":[{"b\u006fdy":"x"}]}`},
		{"escaped attribute name", `{"Records":[{"messageAttributes":{"event\u005fid":{"stringValue":"e"}}}]}`},
		{"invalid UTF-8", "{\"Records\":[{\"body\":\"\xff\"}]}"},
		{"a control character", "{\"Records\":[{\"body\":\"a\nb\"}]}"},
		{"bad JSON in a skipped member", `{"Records":[{"attributes":{"a":[1,}}]}`},
		{"a leading zero", `{"Records":[{"x":01}]}`},
		{"nested too deeply", `{"Records":[{"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}]}`},
		{"a missing comma", `{"Records":[{"messageId":"m" "body":"b"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := sqsbatch.DecodeBatch([]byte(tc.payload)); !errors.Is(err, sqsbatch.ErrUnsupported) {
				t.Fatalf("DecodeBatch(%q) = %+v, %v; want ErrUnsupported", tc.payload, got, err)
			}
		})
	}
}

// FuzzDecodeBatchMatchesEncodingJSON checks the fast decoder against the
// runtime's own path: wherever it decodes, it agrees with encoding/json,
// and it never decodes what encoding/json refuses as JSON. (A member the
// handler does not read may have another type than the event struct's
// field: encoding/json reports that and decodes the rest, DecodeBatch just
// decodes.)
func FuzzDecodeBatchMatchesEncodingJSON(f *testing.F) {
	for _, payload := range sampleBatches(f) {
		f.Add(payload)
	}
	f.Add([]byte(`{"records":[{"MessageId":"m","BODY":"\ud83d\ude00\u0000","messageAttributes":{"event_id":{"StringValue":"e","stringValue":null},"replay":{"stringValue":"true"}}},null],"Records":[{}]}`))
	f.Add([]byte(`{"Records":[{"messageAttributes":{"received_at":{"stringValue":"17957952010"}}},{"body":"\ud800"}],"Records":null}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := sqsbatch.DecodeBatch(payload)
		if err != nil {
			if !errors.Is(err, sqsbatch.ErrUnsupported) {
				t.Fatalf("error %v does not wrap ErrUnsupported", err)
			}
			return
		}
		want, err := reference(payload)
		if !decodedAnyway(err) {
			t.Fatalf("DecodeBatch decoded what encoding/json refuses (%v):\n%q", err, payload)
		}
		sameRecords(t, payload, got, want)
	})
}

// TestInvokeAnswersAsHandle checks the Lambda entry point against Handle:
// the processor sees the same messages, and the response is the same JSON,
// byte for byte, as json.Marshal of Handle's.
func TestInvokeAnswersAsHandle(t *testing.T) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "sqs-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		payload  []byte
		outcomes map[string]process.Outcome
		failures int
	}{
		{"all processed", fixture, nil, 0},
		{"retrying and in flight", fixture, map[string]process.Outcome{
			"evt_3PqL8fA1x9Kd2mZ0": process.OutcomeRetrying,
			"":                     process.OutcomeInFlight,
		}, 2},
		{"failed and duplicate", fixture, map[string]process.Outcome{
			"evt_3PqL8fA1x9Kd2mZ0": process.OutcomeFailed,
			"evt_3PqL8gB7w2Rn5yX4": process.OutcomeDuplicate,
		}, 0},
		{"ids to escape", []byte(`{"Records":[{"messageId":"m\"<1>&\u2028","messageAttributes":{"event_id":{"stringValue":"e1"}}},{"messageId":"ok"},{"messageId":"m\\2"}]}`),
			map[string]process.Outcome{"e1": process.OutcomeRetrying, "": process.OutcomeInFlight}, 3},
		{"no records", []byte(`{"Records":[]}`), nil, 0},
		{"through the fallback", []byte(`{"Rec\u006frds":[{"messageId":"m1","body":"{}","messageAttributes":{"event_id":{"stringValue":"e1"}}}]}`),
			map[string]process.Outcome{"e1": process.OutcomeRetrying}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev events.SQSEvent
			if err := json.Unmarshal(tc.payload, &ev); err != nil {
				t.Fatal(err)
			}
			quiet := slog.New(slog.DiscardHandler)
			viaHandle := &fakeProcessor{outcomes: tc.outcomes}
			resp, err := sqsbatch.New(viaHandle, quiet).Handle(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}

			viaInvoke := &fakeProcessor{outcomes: tc.outcomes}
			out, err := sqsbatch.New(viaInvoke, quiet).Invoke(context.Background(), tc.payload)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("Invoke answered %s\nHandle's response is %s", out, want)
			}
			var got events.SQSEventResponse
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("Invoke wrote invalid JSON: %v\n%s", err, out)
			}
			if got.BatchItemFailures == nil || len(got.BatchItemFailures) != tc.failures {
				t.Fatalf("batch item failures %#v, want %d", got.BatchItemFailures, tc.failures)
			}
			for i, f := range got.BatchItemFailures {
				if f != resp.BatchItemFailures[i] {
					t.Fatalf("failure %d: Invoke %+v, Handle %+v", i, f, resp.BatchItemFailures[i])
				}
			}
			if len(viaInvoke.got) != len(viaHandle.got) {
				t.Fatalf("the processor saw %d messages through Invoke, %d through Handle", len(viaInvoke.got), len(viaHandle.got))
			}
			for i := range viaInvoke.got {
				if !sameMessage(viaInvoke.got[i], viaHandle.got[i]) {
					t.Fatalf("message %d: through Invoke %+v, through Handle %+v", i, viaInvoke.got[i], viaHandle.got[i])
				}
			}
		})
	}
}

// TestInvokeFallsBackToEncodingJSON: an event the fast decoder leaves alone
// is still served, and only a payload that is no SQS event fails.
func TestInvokeFallsBackToEncodingJSON(t *testing.T) {
	fp := &fakeProcessor{outcomes: map[string]process.Outcome{"e1": process.OutcomeRetrying}}
	var logs bytes.Buffer
	h := sqsbatch.New(fp, slog.New(slog.NewJSONHandler(&logs, nil)))
	payload := []byte(`{"Records":[{"messageId":"m1","b\u006fdy":"{}","messageAttributes":{"event\u005fid":{"stringValue":"x"},"event_id":{"stringValue":"e1"}}}]}`)
	if _, err := sqsbatch.DecodeBatch(payload); !errors.Is(err, sqsbatch.ErrUnsupported) {
		t.Fatalf("the case must need the fallback; DecodeBatch: %v", err)
	}
	out, err := h.Invoke(context.Background(), payload)
	if err != nil || string(out) != `{"batchItemFailures":[{"itemIdentifier":"m1"}]}` {
		t.Fatalf("Invoke = %s, %v", out, err)
	}
	if len(fp.got) != 1 || string(fp.got[0].Body) != "{}" || fp.got[0].EventID != "e1" {
		t.Fatalf("the processor saw %+v", fp.got)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"invocation outside the fast decoder`) {
		t.Errorf("no warning of the fallback in the log:\n%s", logs.String())
	}
	for _, bad := range []string{`[1,2]`, `{"Records":[{"messageId":1}]}`, `{"Records":`} {
		if out, err := h.Invoke(context.Background(), []byte(bad)); err == nil {
			t.Errorf("Invoke(%s) = %s, want an error", bad, out)
		}
	}
}

func TestAppendResponse(t *testing.T) {
	tests := []struct {
		name   string
		failed []string
	}{
		{"none", []string{}},
		{"nil", nil},
		{"one", []string{"059f36b4-87a3-44ab-83d2-661975830a7d"}},
		{"to escape", []string{"a\"b", `c\d`, "<&>", "\u2028\u2029", "\x01\x1f", "bad\xffutf8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
			for _, id := range tc.failed {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
			}
			want, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if got := sqsbatch.AppendResponse([]byte("prefix"), tc.failed); string(got) != "prefix"+string(want) {
				t.Fatalf("AppendResponse = %s, json.Marshal gives %s", got, want)
			}
		})
	}
}
