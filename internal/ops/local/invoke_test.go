package local_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/ops/local"
)

// failAll answers an SQS batch with every message id as a failure.
func failAll(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, r := range ev.Records {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId + "/" + r.Body})
	}
	return resp, nil
}

func TestInvoke(t *testing.T) {
	resp, err := local.Invoke(context.Background(), failAll,
		events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: `{"a":"<b>"}`}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != `m1/{"a":"<b>"}` {
		t.Errorf("response %+v", resp)
	}
}

// TestInvokeConcurrently: concurrent calls each get their own answer (one
// shared lambda.Handler would hand a pooled buffer to two of them).
func TestInvokeConcurrently(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				id := fmt.Sprintf("m%d-%d", i, j)
				resp, err := local.Invoke(context.Background(), failAll, events.SQSEvent{Records: []events.SQSMessage{{MessageId: id, Body: id}}})
				if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != id+"/"+id {
					t.Errorf("call %s: %+v, %v", id, resp, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestInvokeErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := local.Invoke(context.Background(), func(context.Context, int) (int, error) { return 0, boom }, 1); !errors.Is(err, boom) {
		t.Errorf("handler error: %v", err)
	}
	if _, err := local.Invoke(context.Background(), func(context.Context, int) (func(), error) { return func() {}, nil }, 1); err == nil {
		t.Error("a response that cannot be encoded gave no error")
	}
	if _, err := local.Invoke(context.Background(), func(context.Context, func()) (int, error) { return 1, nil }, func() {}); err == nil {
		t.Error("an event that cannot be marshalled gave no error")
	}
}
