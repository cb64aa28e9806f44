package process_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
)

// fakeEvents is an in-memory events table with the claim rules of DESIGN.md.
type fakeEvents struct {
	mu        sync.Mutex
	recs      map[string]eventrecord.Record
	claimErr  error
	finishErr error
	// failFinishes fails that many Finish calls with finishErr, then lets
	// them through; zero fails every one while finishErr is set.
	failFinishes int
	finishes     int
}

func newFakeEvents() *fakeEvents { return &fakeEvents{recs: map[string]eventrecord.Record{}} }

func (f *fakeEvents) Claim(_ context.Context, rec eventrecord.Record, now time.Time) (eventrecord.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.claimErr != nil {
		return eventrecord.Record{}, f.claimErr
	}
	old, ok := f.recs[rec.EventID]
	if ok {
		switch {
		case old.Status == eventrecord.Received, old.Status == eventrecord.Retrying:
		case old.Status == eventrecord.Processing && !old.LeaseLive(now):
		default:
			return eventrecord.Record{}, &eventrecord.ConflictError{Existing: old}
		}
	} else {
		old = rec
	}
	old.Status = eventrecord.Processing
	old.Token, old.LeaseUntil = rec.Token, rec.LeaseUntil
	old.Attempts++
	f.recs[rec.EventID] = old
	return old, nil
}

func (f *fakeEvents) Finish(_ context.Context, rec eventrecord.Record, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finishes++
	if f.finishErr != nil && (f.failFinishes == 0 || f.finishes <= f.failFinishes) {
		return f.finishErr
	}
	old, ok := f.recs[rec.EventID]
	if !ok || old.Token != rec.Token {
		return &eventrecord.ConflictError{Existing: old}
	}
	rec.LeaseUntil = time.Time{}
	f.recs[rec.EventID] = rec
	return nil
}

func (f *fakeEvents) get(t *testing.T, id string) eventrecord.Record {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.recs[id]
	if !ok {
		t.Fatalf("no record %s", id)
	}
	return rec
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sampleMessage(t *testing.T) eventrecord.Message {
	t.Helper()
	return eventrecord.Message{
		EventID:    "evt_3PqL8fA1x9Kd2mZ0",
		Type:       "payment.succeeded",
		ReceivedAt: time.UnixMilli(1795795201000),
		Body:       readSample(t, "payment.succeeded.json"),
	}
}

// fixedNow is the processor's pinned clock. Tests that compare with it run
// at this date and ten years either side (clocktest.Run), so nothing in the
// processor may compare it with the wall clock.
var fixedNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newProcessor(ev process.Events, h process.Handler, now time.Time) *process.Processor {
	return &process.Processor{
		Events:   ev,
		Handlers: process.Registry{"payment.succeeded": h},
		Now:      func() time.Time { return now },
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// stepsHandler runs the named steps; fail maps a step to its error.
type stepsHandler struct {
	mu    sync.Mutex
	names []string
	fail  map[string]error
	ran   []string
	seen  []process.Event
}

func (h *stepsHandler) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	h.mu.Lock()
	h.seen = append(h.seen, ev)
	h.mu.Unlock()
	for _, n := range h.names {
		err := steps.Run(ctx, n, func(context.Context) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.ran = append(h.ran, n)
			return h.fail[n]
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func TestProcessOutcomes(t *testing.T) {
	clocktest.Run(t, fixedNow, testProcessOutcomes)
}

func testProcessOutcomes(t *testing.T, now time.Time) {
	errBoom := errors.New("boom: throttled")
	errBad := errors.New("validation: bad")
	tests := []struct {
		name         string
		existing     *eventrecord.Record
		fail         map[string]error
		isPermanent  func(error) bool
		finishErr    error
		failFinishes int
		want         process.Outcome
		wantErr      error
		wantStatus   eventrecord.Status
		wantSteps    []string
		wantRan      []string
		wantBody     bool
	}{
		{name: "happy path", want: process.OutcomeProcessed, wantStatus: eventrecord.Processed,
			wantSteps: []string{"order", "email", "event"}, wantRan: []string{"order", "email", "event"}},
		{name: "transient failure after a step keeps the completed steps",
			fail: map[string]error{"email": errBoom}, want: process.OutcomeRetrying, wantErr: errBoom,
			wantStatus: eventrecord.Retrying, wantSteps: []string{"order"}, wantRan: []string{"order", "email"}},
		{name: "permanent failure keeps the body",
			fail: map[string]error{"order": process.Permanent(errBad)}, want: process.OutcomeFailed, wantErr: errBad,
			wantStatus: eventrecord.Failed, wantRan: []string{"order"}, wantBody: true},
		{name: "classifier marks an error permanent",
			fail: map[string]error{"order": errBad}, isPermanent: func(err error) bool { return errors.Is(err, errBad) },
			want: process.OutcomeFailed, wantErr: errBad, wantStatus: eventrecord.Failed, wantRan: []string{"order"}, wantBody: true},
		{name: "retry resumes after the completed steps",
			existing:   &eventrecord.Record{Status: eventrecord.Retrying, Steps: []string{"order", "email"}, Attempts: 1},
			want:       process.OutcomeProcessed,
			wantStatus: eventrecord.Processed, wantSteps: []string{"order", "email", "event"}, wantRan: []string{"event"}},
		{name: "processed already is a duplicate",
			existing: &eventrecord.Record{Status: eventrecord.Processed, Steps: []string{"order", "email", "event"}},
			want:     process.OutcomeDuplicate, wantStatus: eventrecord.Processed, wantSteps: []string{"order", "email", "event"}},
		{name: "failed already is a duplicate",
			existing: &eventrecord.Record{Status: eventrecord.Failed},
			want:     process.OutcomeDuplicate, wantStatus: eventrecord.Failed},
		{name: "live lease elsewhere is in flight",
			existing: &eventrecord.Record{Status: eventrecord.Processing, Token: "other", LeaseUntil: now.Add(time.Minute)},
			want:     process.OutcomeInFlight, wantErr: process.ErrInFlight, wantStatus: eventrecord.Processing},
		{name: "expired lease elsewhere is taken over",
			existing: &eventrecord.Record{Status: eventrecord.Processing, Token: "other", LeaseUntil: now.Add(-time.Second)},
			want:     process.OutcomeProcessed, wantStatus: eventrecord.Processed,
			wantSteps: []string{"order", "email", "event"}, wantRan: []string{"order", "email", "event"}},
		{name: "final write that always fails: the message is retried",
			finishErr: errBoom, want: process.OutcomeRetrying, wantErr: errBoom, wantStatus: eventrecord.Processing,
			wantRan: []string{"order", "email", "event"}},
		{name: "final write that fails twice is tried again",
			finishErr: errBoom, failFinishes: 2, want: process.OutcomeProcessed, wantStatus: eventrecord.Processed,
			wantSteps: []string{"order", "email", "event"}, wantRan: []string{"order", "email", "event"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := sampleMessage(t)
			events := newFakeEvents()
			if tc.existing != nil {
				rec := *tc.existing
				rec.EventID = msg.EventID
				events.recs[msg.EventID] = rec
			}
			events.finishErr, events.failFinishes = tc.finishErr, tc.failFinishes
			h := &stepsHandler{names: []string{"order", "email", "event"}, fail: tc.fail}
			p := newProcessor(events, h, now)
			p.IsPermanent = tc.isPermanent

			res := p.Process(context.Background(), msg)

			if res.Outcome != tc.want {
				t.Fatalf("outcome: want %s, got %s (err %v)", tc.want, res.Outcome, res.Err)
			}
			if res.Outcome.Retry() != (tc.want == process.OutcomeRetrying || tc.want == process.OutcomeInFlight) {
				t.Errorf("Retry() = %v for %s", res.Outcome.Retry(), res.Outcome)
			}
			if tc.wantErr == nil && res.Err != nil || tc.wantErr != nil && !errors.Is(res.Err, tc.wantErr) {
				t.Errorf("err: want %v, got %v", tc.wantErr, res.Err)
			}
			if res.EventID != msg.EventID || res.Type != msg.Type {
				t.Errorf("result names %s/%s", res.EventID, res.Type)
			}
			rec := events.get(t, msg.EventID)
			if rec.Status != tc.wantStatus {
				t.Errorf("status: want %s, got %s", tc.wantStatus, rec.Status)
			}
			if !slices.Equal(rec.Steps, tc.wantSteps) {
				t.Errorf("steps: want %v, got %v", tc.wantSteps, rec.Steps)
			}
			if !slices.Equal(h.ran, tc.wantRan) {
				t.Errorf("ran: want %v, got %v", tc.wantRan, h.ran)
			}
			if got := len(rec.Body) > 0; got != tc.wantBody {
				t.Errorf("body kept: want %v, got %v", tc.wantBody, got)
			}
			if tc.finishErr != nil && events.finishes != 3 && tc.failFinishes > 0 {
				t.Errorf("final writes: want 3, got %d", events.finishes)
			}
			if tc.want == process.OutcomeRetrying && tc.finishErr == nil || tc.want == process.OutcomeFailed {
				if rec.Error == "" {
					t.Error("no error recorded")
				}
			}
		})
	}
}

func TestProcessEventFields(t *testing.T) {
	clocktest.Run(t, fixedNow, testProcessEventFields)
}

func testProcessEventFields(t *testing.T, now time.Time) {
	events := newFakeEvents()
	h := &stepsHandler{}
	p := newProcessor(events, h, now)
	p.Lease = 90 * time.Second
	p.NewToken = func() string { return "tok-1" }
	msg := sampleMessage(t)
	msg.Replay = true

	if res := p.Process(context.Background(), msg); res.Outcome != process.OutcomeProcessed {
		t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
	}
	if len(h.seen) != 1 {
		t.Fatalf("handler called %d times", len(h.seen))
	}
	ev := h.seen[0]
	if ev.ID != msg.EventID || ev.Type != msg.Type || !ev.Replay || ev.Attempt != 1 {
		t.Errorf("event %+v", ev)
	}
	if want := time.Unix(1795795200, 0).UTC(); !ev.Created.Equal(want) {
		t.Errorf("created: want %v, got %v", want, ev.Created)
	}
	if !strings.Contains(string(ev.Object), `"pay_7Hc2Vb9QeL4sT1"`) {
		t.Errorf("object %s", ev.Object)
	}
	rec := events.get(t, msg.EventID)
	if rec.Token != "tok-1" || rec.PayloadHash == "" || !rec.ExpiresAt.Equal(now.Add(process.DefaultTTL)) {
		t.Errorf("claim record %+v", rec)
	}
}

func TestProcessBadMessages(t *testing.T) {
	clocktest.Run(t, fixedNow, testProcessBadMessages)
}

func testProcessBadMessages(t *testing.T, now time.Time) {
	body := readSample(t, "payment.succeeded.json")
	tests := []struct {
		name    string
		msg     eventrecord.Message
		wantID  string
		wantErr error
	}{
		{name: "attributes missing: routed from the body",
			msg: eventrecord.Message{Body: body}, wantID: "evt_3PqL8fA1x9Kd2mZ0"},
		{name: "not an envelope, no attributes: keyed by hash",
			msg: eventrecord.Message{Body: []byte("not json")}, wantID: "sha256:", wantErr: process.ErrInvalidPayload},
		{name: "not an envelope, attributes name it",
			msg:    eventrecord.Message{EventID: "evt_x", Type: "payment.succeeded", Body: []byte(`{"id":"evt_x"`)},
			wantID: "evt_x", wantErr: process.ErrInvalidPayload},
		{name: "attributes disagree with the body",
			msg:    eventrecord.Message{EventID: "evt_other", Type: "payment.succeeded", Body: body},
			wantID: "evt_other", wantErr: process.ErrInvalidPayload},
		{name: "no data.object",
			msg:    eventrecord.Message{Body: []byte(`{"id":"evt_y","type":"payment.succeeded","created":1,"livemode":false}`)},
			wantID: "evt_y", wantErr: process.ErrInvalidPayload},
		{name: "type without a handler",
			msg:    eventrecord.Message{Body: []byte(`{"id":"evt_z","type":"dispute.created","created":1,"livemode":false,"data":{"object":{}}}`)},
			wantID: "evt_z", wantErr: process.ErrNoHandler},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := newFakeEvents()
			h := &stepsHandler{names: []string{"order"}}
			p := newProcessor(events, h, now)
			res := p.Process(context.Background(), tc.msg)
			if !strings.HasPrefix(res.EventID, tc.wantID) {
				t.Fatalf("event id: want prefix %q, got %q", tc.wantID, res.EventID)
			}
			rec := events.get(t, res.EventID)
			if tc.wantErr == nil {
				if res.Outcome != process.OutcomeProcessed || rec.Status != eventrecord.Processed {
					t.Fatalf("want processed, got %s/%s: %v", res.Outcome, rec.Status, res.Err)
				}
				return
			}
			if res.Outcome != process.OutcomeFailed || !errors.Is(res.Err, tc.wantErr) || !errors.Is(res.Err, process.ErrPermanent) {
				t.Fatalf("want failed with %v, got %s: %v", tc.wantErr, res.Outcome, res.Err)
			}
			if rec.Status != eventrecord.Failed || string(rec.Body) != string(tc.msg.Body) {
				t.Errorf("record %s, body %q", rec.Status, rec.Body)
			}
			if len(h.ran) != 0 {
				t.Errorf("handler ran %v", h.ran)
			}
		})
	}
}

func TestProcessClaimError(t *testing.T) {
	events := newFakeEvents()
	events.claimErr = errors.New("throttled")
	h := &stepsHandler{names: []string{"order"}}
	res := newProcessor(events, h, fixedNow).Process(context.Background(), sampleMessage(t))
	if res.Outcome != process.OutcomeRetrying || !errors.Is(res.Err, events.claimErr) {
		t.Fatalf("want retrying, got %s: %v", res.Outcome, res.Err)
	}
	if len(h.ran) != 0 || events.finishes != 0 {
		t.Errorf("ran %v, finishes %d", h.ran, events.finishes)
	}
}

func TestProcessBatchBoundAndOrder(t *testing.T) {
	const limit, n = 3, 9
	var (
		mu      sync.Mutex
		active  int
		maxSeen int
	)
	release := make(chan struct{})
	full := make(chan struct{}, n)
	h := process.HandlerFunc(func(ctx context.Context, ev process.Event, _ *process.Steps) error {
		mu.Lock()
		active++
		maxSeen = max(maxSeen, active)
		if active == limit {
			full <- struct{}{}
		}
		mu.Unlock()
		<-release
		mu.Lock()
		active--
		mu.Unlock()
		if strings.HasSuffix(ev.ID, "_4") {
			return errors.New("transient")
		}
		return nil
	})
	events := newFakeEvents()
	p := newProcessor(events, h, fixedNow)
	p.MaxConcurrency = limit
	msgs := make([]eventrecord.Message, n)
	for i := range msgs {
		id := fmt.Sprintf("evt_%d", i)
		msgs[i] = eventrecord.Message{EventID: id, Type: "payment.succeeded",
			Body: []byte(fmt.Sprintf(`{"id":%q,"type":"payment.succeeded","created":1,"livemode":false,"data":{"object":{}}}`, id))}
	}
	done := make(chan []process.Result, 1)
	go func() { done <- p.ProcessBatch(context.Background(), msgs) }()
	select {
	case <-full:
	case <-time.After(10 * time.Second):
		t.Fatal("the batch never ran records concurrently")
	}
	close(release)
	results := <-done
	if maxSeen != limit {
		t.Errorf("max concurrent handlers: want %d, got %d", limit, maxSeen)
	}
	for i, r := range results {
		want := process.OutcomeProcessed
		if i == 4 {
			want = process.OutcomeRetrying
		}
		if r.EventID != msgs[i].EventID || r.Outcome != want {
			t.Errorf("result %d: want %s %s, got %s %s", i, msgs[i].EventID, want, r.EventID, r.Outcome)
		}
	}
}

// TestHandlerDeadlineIsTheLeaseLeft is the regression test of the clock
// mix-up that failed main from 2026-11-28: the processor's clock was pinned
// and the lease end computed from it became a context deadline, which Go
// measures against the wall clock. The handler's context must carry the
// lease's remaining time as a duration, whatever the processor's clock says.
func TestHandlerDeadlineIsTheLeaseLeft(t *testing.T) {
	const lease, spent = 2 * time.Minute, 30 * time.Second
	clocktest.Run(t, fixedNow, func(t *testing.T, now time.Time) {
		var (
			deadline time.Time
			hasDL    bool
		)
		h := process.HandlerFunc(func(ctx context.Context, _ process.Event, _ *process.Steps) error {
			deadline, hasDL = ctx.Deadline()
			return ctx.Err()
		})
		p := newProcessor(newFakeEvents(), h, now)
		p.Lease = lease
		// The processor's clock reads now at the claim and now+spent
		// afterwards: the handler has the lease less what was spent.
		reads := 0
		p.Now = func() time.Time {
			reads++
			if reads == 1 {
				return now
			}
			return now.Add(spent)
		}
		before := time.Now()
		res := p.Process(context.Background(), sampleMessage(t))
		after := time.Now()
		if res.Outcome != process.OutcomeProcessed {
			t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
		}
		if !hasDL {
			t.Fatal("the handler's context has no deadline")
		}
		left := lease - spent
		if deadline.Before(before.Add(left)) || deadline.After(after.Add(left)) {
			t.Errorf("handler deadline %v: want %v after the dispatch (between %v and %v)",
				deadline, left, before.Add(left), after.Add(left))
		}
	})
}

// TestHandlerDeadlineLeavesTheFinishMargin: the invocation's deadline less
// the margin bounds the handler when it comes before the lease's end, so
// the outcome write still runs before Lambda freezes the sandbox.
func TestHandlerDeadlineLeavesTheFinishMargin(t *testing.T) {
	const invocation, margin = 20 * time.Second, 4 * time.Second
	clocktest.Run(t, fixedNow, func(t *testing.T, now time.Time) {
		var deadline time.Time
		h := process.HandlerFunc(func(ctx context.Context, _ process.Event, _ *process.Steps) error {
			deadline, _ = ctx.Deadline()
			return nil
		})
		events := newFakeEvents()
		p := newProcessor(events, h, now)
		p.Lease = time.Hour
		p.FinishMargin = margin
		ctx, cancel := context.WithTimeout(context.Background(), invocation)
		defer cancel()
		end, _ := ctx.Deadline()
		res := p.Process(ctx, sampleMessage(t))
		if res.Outcome != process.OutcomeProcessed {
			t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
		}
		// The handler's deadline is computed as a duration from the wall
		// clock, so it lands within a few milliseconds of end-margin, never
		// after it.
		if want := end.Add(-margin); deadline.After(want) || deadline.Before(want.Add(-time.Second)) {
			t.Errorf("handler deadline %v: want the invocation's end less %v (%v)", deadline, margin, want)
		}
		if got := events.get(t, sampleMessage(t).EventID).Status; got != eventrecord.Processed {
			t.Errorf("status %s", got)
		}
	})
}

// TestFinishConflictIsNotRetried: a final write refused because another
// delivery holds the event is not tried again.
func TestFinishConflictIsNotRetried(t *testing.T) {
	events := newFakeEvents()
	events.finishErr = &eventrecord.ConflictError{Existing: eventrecord.Record{Status: eventrecord.Processing}}
	res := newProcessor(events, &stepsHandler{names: []string{"order"}}, fixedNow).Process(context.Background(), sampleMessage(t))
	var ce *eventrecord.ConflictError
	if res.Outcome != process.OutcomeRetrying || !errors.As(res.Err, &ce) || events.finishes != 1 {
		t.Errorf("outcome %s (%v) after %d final writes; want retrying after 1", res.Outcome, res.Err, events.finishes)
	}
}

// panicky panics in the "email" step of the events whose id it names, after
// the "order" step completed.
type panicky struct{ ids map[string]bool }

func (h panicky) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	if err := steps.Run(ctx, "order", func(context.Context) error { return nil }); err != nil {
		return err
	}
	return steps.Run(ctx, "email", func(context.Context) error {
		if h.ids[ev.ID] {
			var amounts []int64
			_ = amounts[len(ev.ID)] // a merchant's bug: an index out of range
		}
		return nil
	})
}

// TestPanicIsTheRecordsTransientFailure is the regression test of one panic
// taking the whole batch down (no recover in the record's goroutine): a
// handler panics on one record of a batch of 10; that record is RETRYING
// with the step completed before the panic recorded and the stack logged,
// and the nine others are processed.
func TestPanicIsTheRecordsTransientFailure(t *testing.T) {
	events := newFakeEvents()
	var logs strings.Builder
	p := newProcessor(events, panicky{ids: map[string]bool{"evt_4": true}}, fixedNow)
	p.Logger = slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))
	msgs := make([]eventrecord.Message, 10)
	for i := range msgs {
		id := fmt.Sprintf("evt_%d", i)
		msgs[i] = eventrecord.Message{EventID: id, Type: "payment.succeeded",
			Body: []byte(fmt.Sprintf(`{"id":%q,"type":"payment.succeeded","created":1,"livemode":false,"data":{"object":{}}}`, id))}
	}
	results := p.ProcessBatch(context.Background(), msgs)
	for i, r := range results {
		rec := events.get(t, msgs[i].EventID)
		if i == 4 {
			var pe *process.PanicError
			if r.Outcome != process.OutcomeRetrying || !errors.Is(r.Err, process.ErrPanic) || !errors.As(r.Err, &pe) ||
				errors.Is(r.Err, process.ErrPermanent) {
				t.Errorf("panicking record: %s %v", r.Outcome, r.Err)
			}
			if rec.Status != eventrecord.Retrying || !slices.Equal(rec.Steps, []string{"order"}) || !strings.Contains(rec.Error, "index out of range") {
				t.Errorf("panicking record stored %s, steps %v, error %q", rec.Status, rec.Steps, rec.Error)
			}
			continue
		}
		if r.Outcome != process.OutcomeProcessed || rec.Status != eventrecord.Processed {
			t.Errorf("record %d: %s (%v), stored %s", i, r.Outcome, r.Err, rec.Status)
		}
	}
	if !strings.Contains(logs.String(), `"stack":"goroutine`) || !strings.Contains(logs.String(), "panicky.Handle") {
		t.Errorf("no stack of the panic in the log: %.300s", logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestNotes: notes a handler writes are returned with the result and kept
// on the record, after those of earlier attempts, once each.
func TestNotes(t *testing.T) {
	events := newFakeEvents()
	msg := sampleMessage(t)
	earlier := process.Note{Kind: "email_undeliverable", Detail: "rejected"}
	events.recs[msg.EventID] = eventrecord.Record{EventID: msg.EventID, Status: eventrecord.Retrying, Attempts: 1, Notes: []string{earlier.String()}}
	h := process.HandlerFunc(func(ctx context.Context, ev process.Event, steps *process.Steps) error {
		steps.Note(earlier)
		steps.Note(process.Note{Metric: "OrderAnomaly", Kind: "double_charge", Detail: "2 payments"})
		return nil
	})
	res := newProcessor(events, h, fixedNow).Process(context.Background(), msg)
	if res.Outcome != process.OutcomeProcessed || len(res.Notes) != 2 || res.Notes[1].Kind != "double_charge" {
		t.Fatalf("result %s, notes %v", res.Outcome, res.Notes)
	}
	want := []string{"email_undeliverable: rejected", "double_charge: 2 payments"}
	if got := events.get(t, msg.EventID).Notes; !slices.Equal(got, want) {
		t.Errorf("record notes: want %q, got %q", want, got)
	}
}

// TestFinishIsTriedUntilTheDeadline: under an invocation deadline, the
// outcome write is tried for as long as it leaves, more than the few tries
// of a host without one.
func TestFinishIsTriedUntilTheDeadline(t *testing.T) {
	events := newFakeEvents()
	events.finishErr, events.failFinishes = errors.New("connection refused"), 8
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := newProcessor(events, &stepsHandler{names: []string{"order"}}, fixedNow).Process(ctx, sampleMessage(t))
	if res.Outcome != process.OutcomeProcessed || events.finishes != 9 {
		t.Errorf("outcome %s (%v) after %d final writes; want processed after 9", res.Outcome, res.Err, events.finishes)
	}
}
