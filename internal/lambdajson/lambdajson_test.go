package lambdajson_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/lambdajson"
)

// echo answers with the SQS batch's message ids as failures, and records the bytes.
type echo struct {
	got []byte
	err error
	out string
}

func (e *echo) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	e.got = payload
	return []byte(e.out), e.err
}

func TestCall(t *testing.T) {
	h := &echo{out: `{"batchItemFailures":[{"itemIdentifier":"m1"}]}`}
	resp, err := lambdajson.Call[events.SQSEvent, events.SQSEventResponse](context.Background(), h,
		events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: `{"a":"<b>"}`}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m1" {
		t.Errorf("response %+v", resp)
	}
	if !strings.Contains(string(h.got), `"messageId":"m1"`) {
		t.Errorf("the handler got %s", h.got)
	}
}

func TestCallErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := lambdajson.Call[int, int](context.Background(), &echo{err: boom}, 1); !errors.Is(err, boom) {
		t.Errorf("handler error: %v", err)
	}
	if _, err := lambdajson.Call[int, int](context.Background(), &echo{out: "not json"}, 1); err == nil {
		t.Error("a response that is not JSON gave no error")
	}
	if _, err := lambdajson.Call[func(), int](context.Background(), &echo{out: "1"}, func() {}); err == nil {
		t.Error("an event that cannot be marshalled gave no error")
	}
}
