package ops_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// The deploy (or rollback) of the base64 queue format has a window in which
// the previous version's processor (06a0dbc) receives a message this
// version's ingest queued: it reads the base64 text as the body, fails it
// permanently ("invalid envelope: body is not a JSON object at offset 0")
// and keeps the base64 text as the FAILED record's body, under the payload
// hash ingest stored (of the raw body). Reproduced with the real 06a0dbc
// processor against moto: the record below is what it leaves, written here
// through the table's own methods, as that processor writes it (Claim,
// then Finish FAILED with the message body it read).
//
// The event was answered 200 accepted. Replay is the documented recovery
// for FAILED events, and must get it applied (DESIGN.md: "Nothing answered
// 2xx is ever lost"; "replay ... once the cause is fixed"). On main the
// replayed message carries the base64 text as its raw body, the processor
// refuses it as a payload mismatch, the record stays RETRYING with that
// body, and every further replay does the same: the event is never
// applied, and no tool says why.
func TestReplayRecoversAnEventThePreviousProcessorFailedOnABase64Message(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t0 := baseT0
	const id = "evt_3PqL8fA1x9Kd2mZ0"
	raw := []byte(`{"id":"evt_3PqL8fA1x9Kd2mZ0","object":"event","type":"payment.succeeded","created":1795795200,"livemode":false,"data":{"object":{"id":"pay_1","metadata":{"order_id":"ord_1"}}}}`)
	sum := sha256.Sum256(raw)

	// This version's ingest: the record of the raw body.
	rec := eventrecord.Record{
		EventID: id, Status: eventrecord.Received, Type: "payment.succeeded", Created: time.Unix(1795795200, 0).UTC(),
		PayloadHash: hex.EncodeToString(sum[:]), Token: "ingest", LeaseUntil: t0.Add(30 * time.Second),
		ExpiresAt: t0.Add(30 * 24 * time.Hour), ReceivedAt: t0, UpdatedAt: t0,
	}
	if err := e.table.Reserve(ctx, rec, t0); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	// The previous processor on the base64 message: claim, then FAILED with
	// the message body it read.
	rec.Status, rec.Token, rec.LeaseUntil = eventrecord.Processing, "old-proc", t0.Add(2*time.Minute)
	if _, err := e.table.Claim(ctx, rec, t0.Add(time.Second)); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	rec.Status = eventrecord.Failed
	rec.Body = []byte(base64.StdEncoding.EncodeToString(raw))
	rec.Error = "invalid event payload: invalid envelope: body is not a JSON object at offset 0"
	if err := e.table.Finish(ctx, rec, t0.Add(2*time.Second)); err != nil {
		t.Fatalf("Finish: %v", err)
	}

	var applied [][]byte
	proc := &process.Processor{
		Events: e.table,
		Handlers: process.Registry{"payment.succeeded": process.HandlerFunc(func(_ context.Context, ev process.Event, _ *process.Steps) error {
			applied = append(applied, ev.Body)
			return nil
		})},
		Logger: slog.New(slog.DiscardHandler),
	}
	now := t0.Add(time.Hour)
	proc.Now = func() time.Time { return now }
	// Replay, as the runbook says, more than once if need be.
	for round := 1; round <= 2 && len(applied) == 0; round++ {
		r := &ops.Replayer{Store: e.table, Queue: e.queue, Now: func() time.Time { return now }}
		out, err := r.Replay(ctx, id)
		if err != nil || out.Outcome != ops.Replayed {
			t.Fatalf("replay %d: %s, %v", round, out.Outcome, err)
		}
		for _, m := range drain(t, e.sqs, e.url) {
			msg, err := sqsqueue.FromSDK(m)
			if err != nil {
				t.Fatal(err)
			}
			res := proc.Process(ctx, msg)
			t.Logf("replay %d: processor %s %v", round, res.Outcome, res.Err)
		}
		now = now.Add(10 * time.Minute)
	}
	got, err := e.table.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || !bytes.Equal(applied[0], raw) || got.Status != eventrecord.Processed {
		t.Fatalf("after two replays the event was applied %d times (want once, with the raw body) and its record is %s with %d body bytes, want PROCESSED: an accepted event no tool can get applied",
			len(applied), got.Status, len(got.Body))
	}
}
