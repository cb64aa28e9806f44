package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/chaos"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/handlers"
	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/testevents"
)

func TestGenerate(t *testing.T) {
	now := time.Unix(1795795500, 0)
	for _, n := range []int{1, 10, 500} {
		t.Run("", func(t *testing.T) {
			ords, err := chaos.Generate(mrand.New(mrand.NewPCG(uint64(n), 1)), n, now)
			if err != nil {
				t.Fatal(err)
			}
			evs := chaos.Events(ords)
			if len(evs) < n {
				t.Fatalf("%d events, want at least %d", len(evs), n)
			}
			ids, refunds := map[string]bool{}, map[string]bool{}
			for _, o := range ords {
				if len(o.Events) == 0 {
					t.Errorf("order %s has no event", o.ID)
				}
				var refunded int64
				for i, e := range o.Events {
					if ids[e.ID] {
						t.Errorf("event id %s twice", e.ID)
					}
					ids[e.ID] = true
					if e.OrderID != o.ID || e.Created.After(now) {
						t.Errorf("event %s: order %s, created %s", e.ID, e.OrderID, e.Created)
					}
					if i > 0 && !e.Created.After(o.Events[i-1].Created) {
						t.Errorf("order %s: events not in created order", o.ID)
					}
					if e.Type == testevents.RefundCompleted {
						if refunds[e.RefundID] || e.RefundID == "" {
							t.Errorf("refund id %q reused or empty", e.RefundID)
						}
						refunds[e.RefundID] = true
						refunded += e.Amount
					}
				}
				if refunded > o.Amount {
					t.Errorf("order %s: refunds %d exceed the amount %d", o.ID, refunded, o.Amount)
				}
			}
		})
	}
	if _, err := chaos.Generate(mrand.New(mrand.NewPCG(1, 1)), 0, now); !errors.Is(err, chaos.ErrBadCount) {
		t.Errorf("Generate(0): %v, want ErrBadCount", err)
	}
}

// TestExpectedIgnoresArrivalOrder checks the model: any permutation of an
// order's events gives the same state, with refunds summed once each.
func TestExpectedIgnoresArrivalOrder(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	ords, err := chaos.Generate(rng, 400, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ords {
		want := chaos.Expected(o)
		var sum int64
		for _, a := range want.Refunds {
			sum += a
		}
		if sum != want.RefundedTotal {
			t.Errorf("order %s: refunds sum to %d, total %d", o.ID, sum, want.RefundedTotal)
		}
		if want.Status == "" || want.Status != orders.Derive(want) {
			t.Errorf("order %s: status %q", o.ID, want.Status)
		}
		shuffled := o
		shuffled.Events = append([]chaos.Event(nil), o.Events...)
		rng.Shuffle(len(shuffled.Events), func(i, j int) {
			shuffled.Events[i], shuffled.Events[j] = shuffled.Events[j], shuffled.Events[i]
		})
		if got := chaos.Expected(shuffled); got.Status != want.Status || got.RefundedTotal != want.RefundedTotal || got.LastEventID != want.LastEventID {
			t.Errorf("order %s: shuffled %+v, want %+v", o.ID, got, want)
		}
	}
}

func TestExplainDuplicates(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	send := func(n, s int) chaos.Sent { return chaos.Sent{EventID: "evt_1", Attempt: n, At: at(s)} }
	done := &chaos.FinishCall{Status: eventrecord.Processed, Steps: []string{"order", "email", "event"}}
	tests := []struct {
		name     string
		sends    []chaos.Sent
		attempts []chaos.Attempt
		want     []chaos.Cause
	}{
		{"one send", []chaos.Sent{send(1, 1)}, []chaos.Attempt{{N: 1, Finish: done}}, nil},
		{"crash after the send", []chaos.Sent{send(2, 2), send(1, 1)}, []chaos.Attempt{
			{N: 1, Injected: []string{chaos.InjectEmailAfter}, Finish: &chaos.FinishCall{Status: eventrecord.Retrying, Steps: []string{"order"}}},
			{N: 2, Finish: done},
		}, []chaos.Cause{chaos.CauseInjectedCrash}},
		{"checkpoint lost", []chaos.Sent{send(1, 1), send(2, 2)}, []chaos.Attempt{
			{N: 1, Finish: &chaos.FinishCall{Status: eventrecord.Retrying, Steps: []string{"order", "email"}, Err: "reset"}},
			{N: 2, Finish: done},
		}, []chaos.Cause{chaos.CauseCheckpointLost}},
		{"lease lost", []chaos.Sent{send(1, 1), send(2, 2)}, []chaos.Attempt{
			{N: 1, Finish: &chaos.FinishCall{Status: eventrecord.Processed, Err: "conflict", Conflict: true}},
			{N: 2, Finish: done},
		}, []chaos.Cause{chaos.CauseLeaseLost}},
		{"sent again after a recorded step", []chaos.Sent{send(1, 1), send(2, 2)}, []chaos.Attempt{
			{N: 1, Finish: &chaos.FinishCall{Status: eventrecord.Retrying, Steps: []string{"order", "email"}}},
			{N: 2, Finish: done},
		}, []chaos.Cause{chaos.CauseUnexplained}},
		{"twice in one attempt", []chaos.Sent{send(1, 1), send(1, 2)}, []chaos.Attempt{{N: 1, Finish: done}},
			[]chaos.Cause{chaos.CauseUnexplained}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := chaos.ExplainDuplicates(tc.sends, tc.attempts, chaos.InjectEmailAfter, "email")
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestFinalDecision(t *testing.T) {
	tests := []struct {
		name             string
		attempts         []chaos.Attempt
		notify, addr, ok bool
	}{
		{"none", nil, false, false, false},
		{"order step failed", []chaos.Attempt{{Applies: []chaos.Apply{{Err: "reset"}}}}, false, false, false},
		{"changed", []chaos.Attempt{{Applies: []chaos.Apply{{Changed: true, Addressed: true}}}}, true, true, true},
		{"stale", []chaos.Attempt{{Applies: []chaos.Apply{{}}}}, false, false, true},
		{"resumed after an unaddressed decision", []chaos.Attempt{
			{Applies: []chaos.Apply{{Changed: true}}},
			{Resumed: true, ReadBack: true, ReadBackAddressed: true},
		}, true, false, true},
		{"last decision wins", []chaos.Attempt{
			{Applies: []chaos.Apply{{Changed: true, Addressed: true}}},
			{Applies: []chaos.Apply{{}}},
		}, false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, a, ok := chaos.FinalDecision(tc.attempts)
			if n != tc.notify || a != tc.addr || ok != tc.ok {
				t.Errorf("FinalDecision = %t, %t, %t; want %t, %t, %t", n, a, ok, tc.notify, tc.addr, tc.ok)
			}
		})
	}
}

// TestProviderRetriesUntil2xx drives the provider against an in-memory
// fake: every event is answered 503 twice, then 200; deliveries are signed
// at send time and duplicates are delivered too.
func TestProviderRetriesUntil2xx(t *testing.T) {
	ords, err := chaos.Generate(mrand.New(mrand.NewPCG(5, 6)), 60, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs := chaos.Events(ords)
	secret := []byte("whsec_test")
	var mu sync.Mutex
	calls := map[string]int{}
	handle := func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		v := signature.Verifier{Secrets: [][]byte{secret}, Tolerance: time.Minute}
		if err := v.Verify(req.Headers["x-altafinex-signature"], []byte(req.Body)); err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusUnauthorized}, nil
		}
		mu.Lock()
		defer mu.Unlock()
		calls[req.Body]++
		if calls[req.Body] <= 2 {
			return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusServiceUnavailable}, nil
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Body: `{"status":"accepted"}`}, nil
	}
	p := &chaos.Provider{Handle: handle, Secret: secret, Workers: 4, DuplicateRate: 0.5,
		MaxAttempts: 5, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Seed: 1}
	rep := p.Deliver(context.Background(), evs)
	if len(rep.GaveUp) != 0 || len(rep.Accepted) != len(evs) {
		t.Fatalf("gave up %v, accepted %d of %d", rep.GaveUp, len(rep.Accepted), len(evs))
	}
	if rep.Duplicates == 0 || rep.Deliveries != len(evs)+rep.Duplicates {
		t.Errorf("deliveries %d, duplicates %d, events %d", rep.Deliveries, rep.Duplicates, len(evs))
	}
	if rep.Non2xx[http.StatusServiceUnavailable] != 2*len(evs) || rep.NonOK() != 2*len(evs) {
		t.Errorf("non-2xx %v, want %d 503s", rep.Non2xx, 2*len(evs))
	}
	if rep.Requests != 2*len(evs)+rep.Deliveries {
		t.Errorf("%d requests, want %d", rep.Requests, 2*len(evs)+rep.Deliveries)
	}

	// A handler that never answers 2xx: every delivery gives up after
	// MaxAttempts.
	never := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusConflict}, nil
	}
	p = &chaos.Provider{Handle: never, Secret: secret, MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	rep = p.Deliver(context.Background(), evs[:5])
	if len(rep.GaveUp) != 5 || rep.Requests != 15 || len(rep.Accepted) != 0 {
		t.Errorf("gave up %d, requests %d, accepted %d; want 5, 15, 0", len(rep.GaveUp), rep.Requests, len(rep.Accepted))
	}
}

// TestNetworkFaults puts a proxy in front of a loopback HTTP server and
// checks that each fault does what the chaos test relies on.
func TestNetworkFaults(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	n := chaos.NewNetwork()
	t.Cleanup(n.Close)
	url, err := n.AddProxy("svc", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		// A fresh connection each time: toxics apply to connections.
		c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && string(b) != "ok" {
			err = fmt.Errorf("body %q", b)
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("through the healthy proxy: %v", err)
	}
	for _, tc := range []struct {
		fault chaos.Fault
		fails bool
	}{
		{chaos.Fault{Proxy: "svc", Disabled: true}, true},
		{chaos.Fault{Proxy: "svc", Toxics: []chaos.Toxic{{Name: "r", Type: "reset_peer", Stream: "downstream", Toxicity: 1, Attributes: map[string]int64{"timeout": 0}}}}, true},
		{chaos.Fault{Proxy: "svc", Toxics: []chaos.Toxic{{Name: "t", Type: "timeout", Stream: "upstream", Toxicity: 1, Attributes: map[string]int64{"timeout": 100}}}}, true},
		{chaos.Fault{Proxy: "svc", Toxics: []chaos.Toxic{{Name: "l", Type: "latency", Stream: "downstream", Toxicity: 1, Attributes: map[string]int64{"latency": 20}}}}, false},
	} {
		t.Run(tc.fault.Kind(), func(t *testing.T) {
			if err := n.Apply(tc.fault); err != nil {
				t.Fatal(err)
			}
			err := get()
			if herr := n.Heal(); herr != nil {
				t.Fatal(herr)
			}
			if (err != nil) != tc.fails {
				t.Errorf("request under %s: error %v, want failure %t", tc.fault.Kind(), err, tc.fails)
			}
			if err := get(); err != nil {
				t.Errorf("after Heal: %v", err)
			}
		})
	}
	if got := n.Counts()["svc disabled"]; got != 1 {
		t.Errorf("Counts()[svc disabled] = %d, want 1", got)
	}
	if err := n.Apply(chaos.Fault{Proxy: "nope", Disabled: true}); !errors.Is(err, chaos.ErrUnknownProxy) {
		t.Errorf("Apply to an unknown proxy: %v, want ErrUnknownProxy", err)
	}
}

// fakeMailer counts sends; it stands in for SES in the Recorder's test.
type fakeMailer struct{ sent int }

func (m *fakeMailer) Send(context.Context, handlers.Email) error { m.sent++; return nil }

// TestRecorderInjects checks the decorators: with certain crashes the send
// happens and is recorded, and the attempt says it crashed; with certain
// failures nothing is sent; with injection off, nothing is injected.
func TestRecorderInjects(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after float64
		inject        bool
		wantSent      int
		wantErr       bool
		wantInjected  string
	}{
		{"crash after the send", 0, 1, true, 1, true, chaos.InjectEmailAfter},
		{"fail before the send", 1, 0, true, 0, true, chaos.InjectEmailBefore},
		{"injection off", 1, 1, false, 1, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := chaos.NewRecorder(1, tc.before, tc.after)
			rec.SetInjecting(tc.inject)
			inner := &fakeMailer{}
			mailer := rec.Mailer(inner)
			reg := rec.Handlers(process.Registry{"payment.succeeded": process.HandlerFunc(
				func(ctx context.Context, ev process.Event, steps *process.Steps) error {
					return steps.Run(ctx, handlers.StepEmail, func(ctx context.Context) error {
						return mailer.Send(ctx, handlers.Email{Template: handlers.TemplatePaymentConfirmation})
					})
				})})
			err := reg["payment.succeeded"].Handle(context.Background(), process.Event{ID: "evt_1", Attempt: 1}, process.NewSteps(nil))
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, chaos.ErrInjected)) {
				t.Fatalf("Handle: %v, want an injected error: %t", err, tc.wantErr)
			}
			if inner.sent != tc.wantSent || len(rec.Emails()) != tc.wantSent {
				t.Errorf("sent %d, recorded %d, want %d", inner.sent, len(rec.Emails()), tc.wantSent)
			}
			as := rec.Attempts()["evt_1"]
			if len(as) != 1 || as[0].EmailsSent != tc.wantSent {
				t.Fatalf("attempts %+v", as)
			}
			if got := as[0].Crashed(tc.wantInjected); got != (tc.wantInjected != "") {
				t.Errorf("attempt injected %v, want %q", as[0].Injected, tc.wantInjected)
			}
			if tc.wantInjected != "" && rec.Injected()[tc.wantInjected] != 1 {
				t.Errorf("Injected() = %v", rec.Injected())
			}
		})
	}
}
