package ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
)

var baseT0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// failedBody has characters a re-encoding would change.
var failedBody = []byte("{\n  \"id\": \"evt_failed\",\t\"type\": \"payment.succeeded\", \"note\": \"caf\u00e9 \\u00e9\"  }\r\n")

// putRecord walks a record through the table's own methods to status s:
// Reserve, then Claim and Finish for the processor's statuses; PutTerminal
// for IGNORED.
func putRecord(t *testing.T, e env, t0 time.Time, id string, s eventrecord.Status, body []byte) {
	t.Helper()
	ctx := context.Background()
	rec := eventrecord.Record{
		EventID: id, Status: eventrecord.Received, Type: "payment.succeeded", Created: t0.Add(-time.Minute),
		PayloadHash: "aa", Token: "ingest", LeaseUntil: t0.Add(30 * time.Second), ExpiresAt: t0.Add(30 * 24 * time.Hour),
		ReceivedAt: t0, UpdatedAt: t0,
	}
	if s == eventrecord.Ignored {
		rec.Status, rec.Token, rec.LeaseUntil, rec.Body, rec.Error = s, "", time.Time{}, body, "livemode true does not match the deployment's (false)"
		if err := e.table.PutTerminal(ctx, rec, t0); err != nil {
			t.Fatalf("PutTerminal: %v", err)
		}
		return
	}
	if err := e.table.Reserve(ctx, rec, t0); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if s == eventrecord.Received {
		return
	}
	rec.Token, rec.Status = "proc", eventrecord.Processing
	if _, err := e.table.Claim(ctx, rec, t0.Add(time.Second)); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if s == eventrecord.Processing {
		return
	}
	rec.Status, rec.Body, rec.Error = s, body, "no metadata.order_id"
	if err := e.table.Finish(ctx, rec, t0.Add(2*time.Second)); err != nil {
		t.Fatalf("Finish: %v", err)
	}
}

// strand leaves a FAILED event as a replay that dies after its reset
// leaves it: RETRYING with its body, no message anywhere.
func strand(t *testing.T, e env, t0 time.Time, id string) {
	t.Helper()
	putRecord(t, e, t0, id, eventrecord.Failed, failedBody)
	if _, _, err := e.table.Reset(context.Background(), id, ddbevents.ResetOptions{Token: "dead-replay"}, t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestReplay(t *testing.T) { clocktest.Run(t, baseT0, testReplay) }

func testReplay(t *testing.T, t0 time.Time) {
	tests := []struct {
		name        string
		status      eventrecord.Status // "" puts no record
		put         func(t *testing.T, e env, id string)
		id          string // default evt_failed
		body        []byte
		ignored     bool // Replayer.Ignored
		wantOutcome ops.ReplayOutcome
		wantStatus  eventrecord.Status // stored afterwards
	}{
		{name: "failed with body", status: eventrecord.Failed, body: failedBody, wantOutcome: ops.Replayed, wantStatus: eventrecord.Retrying},
		{name: "stranded replay: replayed again", put: func(t *testing.T, e env, id string) { strand(t, e, t0, id) }, wantOutcome: ops.Replayed, wantStatus: eventrecord.Retrying},
		{name: "ignored, not asked for", status: eventrecord.Ignored, body: failedBody, wantOutcome: ops.IgnoredNeedsFlag, wantStatus: eventrecord.Ignored},
		{name: "ignored, asked for", status: eventrecord.Ignored, body: failedBody, ignored: true, wantOutcome: ops.Replayed, wantStatus: eventrecord.Retrying},
		{name: "processed", status: eventrecord.Processed, wantOutcome: ops.AlreadyProcessed, wantStatus: eventrecord.Processed},
		{name: "failed without body", status: eventrecord.Failed, wantOutcome: ops.NoBody, wantStatus: eventrecord.Failed},
		{name: "received", status: eventrecord.Received, wantOutcome: ops.NotReplayable, wantStatus: eventrecord.Received},
		{name: "processing", status: eventrecord.Processing, wantOutcome: ops.NotReplayable, wantStatus: eventrecord.Processing},
		{name: "retrying: the queue has it", status: eventrecord.Retrying, body: failedBody, wantOutcome: ops.NotReplayable, wantStatus: eventrecord.Retrying},
		{name: "a refused body kept FAILED", id: eventrecord.MismatchKey("aa", "evt_failed"), status: eventrecord.Failed, body: failedBody, wantOutcome: ops.NotReplayable, wantStatus: eventrecord.Failed},
		{name: "missing", wantOutcome: ops.NotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := tc.id
			if id == "" {
				id = "evt_failed"
			}
			switch {
			case tc.put != nil:
				tc.put(t, e, id)
			case tc.status != "":
				putRecord(t, e, t0, id, tc.status, tc.body)
			}
			now := t0.Add(time.Hour)
			r := &ops.Replayer{Store: e.table, Queue: e.queue, Ignored: tc.ignored, Now: func() time.Time { return now }}
			res, err := r.Replay(context.Background(), id)
			if err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if res.Outcome != tc.wantOutcome || res.EventID != id || res.Text() == "" {
				t.Errorf("result %+v (%q): want outcome %s", res, res.Text(), tc.wantOutcome)
			}
			msgs := drain(t, e.sqs, e.url)
			if tc.wantOutcome != ops.Replayed {
				if len(msgs) != 0 {
					t.Errorf("%d messages sent, want none", len(msgs))
				}
			} else {
				if len(msgs) != 1 {
					t.Fatalf("%d messages sent, want 1", len(msgs))
				}
				if got := rawBody(t, msgs[0]); got != string(failedBody) {
					t.Errorf("body:\n got %q\nwant %q", got, failedBody)
				}
				a := attrs(msgs[0])
				if a[eventrecord.AttrReplay] != "String:true" || a[eventrecord.AttrEventID] != "String:"+id || a[eventrecord.AttrType] != "String:payment.succeeded" {
					t.Errorf("attributes %v: want replay mark, event id and type", a)
				}
			}
			if tc.status == "" && tc.put == nil {
				return
			}
			stored, err := e.table.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != tc.wantStatus {
				t.Errorf("stored status %s, want %s", stored.Status, tc.wantStatus)
			}
		})
	}
}

// A replay whose send fails puts the record back to what it was, body
// kept, so that it can be replayed again.
func TestReplaySendFailsRollsBack(t *testing.T) {
	clocktest.Run(t, baseT0, testReplaySendFailsRollsBack)
}

func testReplaySendFailsRollsBack(t *testing.T, t0 time.Time) {
	for _, status := range []eventrecord.Status{eventrecord.Failed, eventrecord.Ignored} {
		t.Run(string(status), func(t *testing.T) {
			e := newEnv(t)
			putRecord(t, e, t0, "evt_failed", status, failedBody)
			sendErr := errors.New("queue down")
			r := &ops.Replayer{Store: e.table, Queue: failingQueue{sendErr}, Ignored: true, Now: func() time.Time { return t0.Add(time.Hour) }}
			if _, err := r.Replay(context.Background(), "evt_failed"); !errors.Is(err, sendErr) {
				t.Fatalf("Replay: got %v, want the send error", err)
			}
			stored, err := e.table.Get(context.Background(), "evt_failed")
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != status || string(stored.Body) != string(failedBody) || stored.Error == "" {
				t.Errorf("stored %+v: want %s with its body and error", stored, status)
			}
			r.Queue = e.queue
			if res, err := r.Replay(context.Background(), "evt_failed"); err != nil || res.Outcome != ops.Replayed {
				t.Errorf("second replay: %+v, %v; want replayed", res, err)
			}
		})
	}
}

// Issue 11, item 4: a replay stranded either way (its send and its
// rollback both failed; or the tool died between the reset and the send)
// leaves the event RETRYING with its body and no message anywhere. The
// stranded listing finds it, and replay, run again, puts it on the queue.
func TestStrandedReplayIsFoundAndReplayedAgain(t *testing.T) {
	clocktest.Run(t, baseT0, testStrandedReplayIsFoundAndReplayedAgain)
}

func testStrandedReplayIsFoundAndReplayedAgain(t *testing.T, t0 time.Time) {
	ways := []struct {
		name   string
		strand func(t *testing.T, e env)
	}{
		{"send and rollback failed", func(t *testing.T, e env) {
			putRecord(t, e, t0, "evt_failed", eventrecord.Failed, failedBody)
			r := &ops.Replayer{Store: failingRestore{e.table}, Queue: failingQueue{errors.New("queue down")}, Now: func() time.Time { return t0.Add(time.Minute) }}
			if _, err := r.Replay(context.Background(), "evt_failed"); err == nil || !strings.Contains(err.Error(), "run replay again") {
				t.Fatalf("Replay: got %v, want an error that says to run replay again", err)
			}
		}},
		{"the tool died after the reset", func(t *testing.T, e env) { strand(t, e, t0, "evt_failed") }},
	}
	for _, way := range ways {
		t.Run(way.name, func(t *testing.T) {
			e := newEnv(t)
			way.strand(t, e)
			now := t0.Add(time.Minute + ops.StrandedAfter)
			if n := len(drain(t, e.sqs, e.url)); n != 0 {
				t.Fatalf("%d messages queued: not stranded", n)
			}
			views, err := ops.ListStranded(context.Background(), e.table, time.Time{}, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(views) != 1 || views[0].EventID != "evt_failed" || !views[0].Stranded || !views[0].Replayable || views[0].BodyBytes != len(failedBody) {
				t.Fatalf("stranded listing: %+v, want evt_failed", views)
			}
			r := &ops.Replayer{Store: e.table, Queue: e.queue, Now: func() time.Time { return now }}
			res, err := r.Replay(context.Background(), "evt_failed")
			if err != nil || res.Outcome != ops.Replayed {
				t.Fatalf("replay again: %+v, %v; want replayed", res, err)
			}
			msgs := drain(t, e.sqs, e.url)
			if len(msgs) != 1 || rawBody(t, msgs[0]) != string(failedBody) {
				t.Fatalf("%d messages, want the stored body once", len(msgs))
			}
			if views, _ := ops.ListStranded(context.Background(), e.table, time.Time{}, now); len(views) != 0 {
				t.Errorf("still listed as stranded right after the replay: %+v", views)
			}
		})
	}
}

// Issue 11, item 4: an interrupt between the reset and the send (the
// context is cancelled as soon as the reset returns) does not stop the
// replay: the message is sent on a context of its own.
func TestReplayFinishesWhenInterrupted(t *testing.T) {
	clocktest.Run(t, baseT0, testReplayFinishesWhenInterrupted)
}

func testReplayFinishesWhenInterrupted(t *testing.T, t0 time.Time) {
	e := newEnv(t)
	putRecord(t, e, t0, "evt_failed", eventrecord.Failed, failedBody)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &ops.Replayer{Store: interruptAfterReset{e.table, cancel}, Queue: e.queue, Now: func() time.Time { return t0.Add(time.Hour) }}
	res, err := r.Replay(ctx, "evt_failed")
	if err != nil || res.Outcome != ops.Replayed {
		t.Fatalf("Replay: %+v, %v; want replayed despite the interrupt", res, err)
	}
	if msgs := drain(t, e.sqs, e.url); len(msgs) != 1 {
		t.Fatalf("%d messages, want the replayed one", len(msgs))
	}
	// The next replay, on the cancelled context, does not start.
	if _, err := r.Replay(ctx, "evt_failed"); !errors.Is(err, context.Canceled) {
		t.Errorf("Replay on a cancelled context: %v, want context.Canceled", err)
	}
}

type failingQueue struct{ err error }

func (q failingQueue) Send(context.Context, eventrecord.Message) error { return q.err }

// failingRestore is the real table whose Restore fails.
type failingRestore struct{ *ddbevents.Table }

func (failingRestore) Restore(context.Context, eventrecord.Record, eventrecord.Status, time.Time) error {
	return errors.New("table unreachable")
}

// interruptAfterReset is the real table that cancels the replay's context
// (an operator's Ctrl-C) as soon as a reset returns.
type interruptAfterReset struct {
	*ddbevents.Table
	cancel context.CancelFunc
}

func (s interruptAfterReset) Reset(ctx context.Context, id string, o ddbevents.ResetOptions, now time.Time) (eventrecord.Record, eventrecord.Status, error) {
	rec, was, err := s.Table.Reset(ctx, id, o, now)
	s.cancel()
	return rec, was, err
}

func TestGetAndListEvents(t *testing.T) { clocktest.Run(t, baseT0, testGetAndListEvents) }

func testGetAndListEvents(t *testing.T, t0 time.Time) {
	e := newEnv(t)
	ctx := context.Background()
	putRecord(t, e, t0, "evt_a", eventrecord.Failed, failedBody)
	putRecord(t, e, t0, "evt_b", eventrecord.Processed, nil)
	putRecord(t, e, t0, "evt_c", eventrecord.Failed, nil)
	now := t0.Add(time.Hour)

	v, err := ops.GetEvent(ctx, e.table, "evt_a", now)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != eventrecord.Failed || v.BodyBytes != len(failedBody) || v.Attempts != 1 || !v.Replayable ||
		v.Error != "no metadata.order_id" || v.UpdatedAt == nil || !v.UpdatedAt.Equal(t0.Add(2*time.Second)) || v.Expired {
		t.Errorf("GetEvent: %+v", v)
	}
	if _, err := ops.GetEvent(ctx, e.table, "evt_none", now); !errors.Is(err, ops.ErrNotFound) {
		t.Errorf("GetEvent absent: got %v, want ErrNotFound", err)
	}

	tests := []struct {
		name  string
		since time.Time
		want  []string
	}{
		{"all failed", time.Time{}, []string{"evt_a", "evt_c"}},
		{"since before", t0, []string{"evt_a", "evt_c"}},
		{"since after", t0.Add(time.Minute), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			views, err := ops.ListEvents(ctx, e.table, eventrecord.Failed, tc.since, now)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, v := range views {
				ids = append(ids, v.EventID)
			}
			if len(ids) != len(tc.want) || (len(ids) > 0 && (ids[0] != tc.want[0] || ids[1] != tc.want[1])) {
				t.Errorf("got %v, want %v", ids, tc.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    eventrecord.Status
		wantErr error
	}{
		{"FAILED", eventrecord.Failed, nil},
		{"failed", eventrecord.Failed, nil},
		{" processed ", eventrecord.Processed, nil},
		{"DONE", "", ops.ErrUnknownStatus},
	} {
		got, err := ops.ParseStatus(tc.in)
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// Issue 11, item 3, replay's side: a FAILED record holding the largest body
// is replayed, and the message carries it byte for byte.
func TestReplayLargestBody(t *testing.T) {
	e := newEnv(t)
	body := []byte(strings.Repeat("\uffff", eventrecord.MaxBodyBytes/3))
	putRecord(t, e, baseT0, "evt_big", eventrecord.Failed, body)
	r := &ops.Replayer{Store: e.table, Queue: e.queue, Now: func() time.Time { return baseT0.Add(time.Hour) }}
	res, err := r.Replay(context.Background(), "evt_big")
	if err != nil || res.Outcome != ops.Replayed || res.BodyBytes != eventrecord.MaxBodyBytes {
		t.Fatalf("Replay: %+v, %v; want %d bytes replayed", res, err, eventrecord.MaxBodyBytes)
	}
	msgs := drain(t, e.sqs, e.url)
	if len(msgs) != 1 || rawBody(t, msgs[0]) != string(body) {
		t.Fatalf("%d messages, want the largest body byte for byte", len(msgs))
	}
}
