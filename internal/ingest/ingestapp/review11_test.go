package ingestapp_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// lostReplyQueue is the real queue whose first n sends reach SQS and then
// report an error, as a SendMessage whose reply is lost (a timeout after
// SQS stored the message) does.
type lostReplyQueue struct {
	ingest.Queue
	n int
}

func (q *lostReplyQueue) Send(ctx context.Context, m eventrecord.Message) error {
	if err := q.Queue.Send(ctx, m); err != nil {
		return err
	}
	if q.n > 0 {
		q.n--
		return errors.New("injected: the SendMessage reply was lost")
	}
	return nil
}

// A body the processor refused as a payload mismatch (its FAILED record
// keyed sha256:<hash>#<id>, body kept) is already kept for investigation,
// so the provider's retry of that body must be answered 200
// payload_mismatch. It is answered 503 on every retry: ingest's mismatch
// write meets the processor's FAILED record under the same key and takes
// only a REJECTED one for "the same body kept already". No retry can fix
// that 503 (DESIGN.md: "never a 5xx that no retry can fix";
// docs/architecture.md, "What answers 5xx": "the retry writes it").
//
// The sequence, each step through the real components against moto:
//  1. body A: reserved, sent, the SendMessage reply lost: 503, the record
//     released, but A's message is on the queue;
//  2. body B under the same id (a provider bug or a leaked secret):
//     accepted and queued;
//  3. the processor takes A's message: the record holds B's hash, so it
//     refuses A and keeps it FAILED under sha256:<hash of A>#<id>;
//  4. the provider retries A, as its 503 told it to.
func TestRetryOfABodyTheProcessorRefusedIsNot5xxForever(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	const id = "evt_3PqL8fA1x9Kd2mZ0"
	a := sample(t, "payment.succeeded.json")
	b := bytes.Replace(a, []byte("4999"), []byte("9999"), 1)
	if bytes.Equal(a, b) {
		t.Fatal("the sample has no amount 4999 to change")
	}

	queue := s.svc.Queue
	s.svc.Queue = &lostReplyQueue{Queue: queue, n: 1}
	wantAnswer(t, s.send(a), 503, "error", "unavailable")
	if _, err := s.table.Get(ctx, id); !errors.Is(err, ddbevents.ErrNotFound) {
		t.Fatalf("record after the failed send: %v, want it released", err)
	}
	s.svc.Queue = queue

	s.now = s.now.Add(time.Second)
	wantAnswer(t, s.send(b), 200, "status", "accepted")

	msgs := s.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages on the queue, want A's and B's", len(msgs))
	}
	proc := &process.Processor{Events: ddbevents.New(s.ddb, s.tableNm), Now: func() time.Time { return s.now }, Logger: slog.New(slog.DiscardHandler)}
	refused := false
	for _, m := range msgs {
		msg, err := sqsqueue.FromSDK(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(msg.Body, a) {
			continue
		}
		res := proc.Process(ctx, msg)
		if res.Outcome != process.OutcomeFailed || !errors.Is(res.Err, process.ErrPayloadMismatch) {
			t.Fatalf("processing A's message: %s %v, want failed with ErrPayloadMismatch", res.Outcome, res.Err)
		}
		refused = true
	}
	if !refused {
		t.Fatal("A's message is not on the queue")
	}
	kept := s.record(eventrecord.MismatchKey(sha256Hex(a), id))
	if kept.Status != eventrecord.Failed || !bytes.Equal(kept.Body, a) {
		t.Fatalf("the processor kept A as %s with %d body bytes, want FAILED with A", kept.Status, len(kept.Body))
	}

	// The provider retries A (it was answered 503). A is kept already;
	// each retry must be answered 200 payload_mismatch, never 5xx.
	for i := range 3 {
		s.now = s.now.Add(time.Minute)
		resp := s.send(a)
		if resp.StatusCode >= 500 {
			t.Fatalf("retry %d of A: answered %d %s; A is kept already (FAILED, key %s), so no retry can get past this 5xx",
				i+1, resp.StatusCode, resp.Body, kept.EventID)
		}
		wantAnswer(t, resp, 200, "status", "payload_mismatch")
	}
	if n := len(s.messages()); n != 0 {
		t.Errorf("the retries queued %d messages", n)
	}
}
