package chaostest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest/oracle"
)

func TestGenerate(t *testing.T) {
	now := time.Unix(1795795500, 0)
	for _, n := range []int{1, 10, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ords, err := chaostest.Generate(mrand.New(mrand.NewPCG(uint64(n), 1)), n, now)
			if err != nil {
				t.Fatal(err)
			}
			evs := chaostest.Events(ords)
			if len(evs) < n {
				t.Fatalf("%d events, want at least %d", len(evs), n)
			}
			ids, poison := map[string]bool{}, 0
			for _, o := range ords {
				if len(o.Events) == 0 {
					t.Errorf("order %s has no event", o.ID)
				}
				for i, e := range o.Events {
					if ids[e.ID] {
						t.Errorf("event id %s twice", e.ID)
					}
					ids[e.ID] = true
					if e.OrderID != o.ID || e.Fact.OrderID != o.ID || e.Fact.EventID != e.ID || e.Created.After(now) || string(e.Fact.Kind) != e.Type {
						t.Errorf("event %s: order %s, created %s, fact %+v", e.ID, e.OrderID, e.Created, e.Fact)
					}
					if i > 0 && e.Created.Before(o.Events[i-1].Created) {
						t.Errorf("order %s: events not in created order", o.ID)
					}
					if !strings.Contains(string(e.Body), `"id": "`+e.ID+`"`) {
						t.Errorf("event %s: body %s", e.ID, e.Body)
					}
					if e.Poison {
						poison++
					}
				}
			}
			if want := max(1, len(evs)/chaostest.PoisonEvery); poison != want {
				t.Errorf("%d poison events, want %d", poison, want)
			}
		})
	}
	if _, err := chaostest.Generate(mrand.New(mrand.NewPCG(1, 1)), 0, now); !errors.Is(err, chaostest.ErrBadCount) {
		t.Errorf("Generate(0): %v, want ErrBadCount", err)
	}
}

// TestGenerateEveryShape checks that a run of the chaos test's default size
// holds every contradiction the design names, as the oracle sees them, and
// the rest of the generator's shapes.
func TestGenerateEveryShape(t *testing.T) {
	for seed := range uint64(5) {
		ords, err := chaostest.Generate(mrand.New(mrand.NewPCG(seed, 3)), 300, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, o := range ords {
			st, _ := oracle.Expect(o.Facts())
			for _, a := range st.Anomalies {
				seen[a]++
			}
			payments, refunds, created := map[string]int{}, map[string]int{}, map[time.Time]int{}
			for _, e := range o.Events {
				created[e.Created]++
				switch e.Fact.Kind {
				case oracle.Succeeded:
					payments[e.Fact.PaymentID]++
				case oracle.Refunded:
					refunds[e.Fact.RefundID]++
				}
			}
			for _, n := range payments {
				if n > 1 {
					seen["payment announced twice"]++
				}
			}
			for _, n := range refunds {
				if n > 1 {
					seen["refund id shared by two events"]++
				}
			}
			for _, n := range created {
				if n > 1 {
					seen["equal created times"]++
				}
			}
		}
		for _, want := range []string{"double_charge", "currency_mismatch", "over_refund", "foreign_refund", "refund_conflict",
			"payment announced twice", "refund id shared by two events", "equal created times"} {
			if seen[want] == 0 {
				t.Errorf("seed %d: no order with %s in 300 events (%v)", seed, want, seen)
			}
		}
	}
}

func TestExplain(t *testing.T) {
	at := time.Unix(1, 0)
	send := func(n int, result string, http int) chaostest.Send {
		s := chaostest.Send{EventID: "evt_1", Attempt: n, Step: "event", Result: result, At: at}
		for range http {
			s.HTTP = append(s.HTTP, chaostest.HTTPAttempt{Status: 200})
		}
		return s
	}
	done := &chaostest.FinishCall{Status: eventrecord.Processed, Steps: []string{"order", "event", "email"}}
	sent := &chaostest.FinishCall{EmailStatus: eventrecord.EmailSent}
	ses := func(result string, http int, finish *chaostest.FinishCall) chaostest.Send {
		s := chaostest.Send{EventID: "evt_1", Path: chaostest.PathSender, Step: chaostest.StepSES, Result: result, At: at, EmailFinish: finish}
		for range http {
			s.HTTP = append(s.HTTP, chaostest.HTTPAttempt{Status: 200})
		}
		return s
	}
	attempts := func(as ...chaostest.Attempt) map[string][]chaostest.Attempt {
		return map[string][]chaostest.Attempt{"evt_1": as}
	}
	tests := []struct {
		name      string
		delivered int
		sends     []chaostest.Send
		attempts  map[string][]chaostest.Attempt
		want      []chaostest.Cause
	}{
		{"once", 1, []chaostest.Send{send(1, "ok", 1)}, attempts(chaostest.Attempt{N: 1, Finish: done}), nil},
		{"crash after the send", 2, []chaostest.Send{send(1, chaostest.InjectCrashAfter, 1), send(2, "ok", 1)},
			attempts(chaostest.Attempt{N: 1, Finish: &chaostest.FinishCall{Status: eventrecord.Retrying, Steps: []string{"order"}}}, chaostest.Attempt{N: 2, Finish: done}),
			[]chaostest.Cause{chaostest.CauseCrash}},
		{"answer lost", 2, []chaostest.Send{send(1, "error", 1), send(2, "ok", 1)},
			attempts(chaostest.Attempt{N: 1, Finish: &chaostest.FinishCall{Status: eventrecord.Retrying, Steps: []string{"order"}}}, chaostest.Attempt{N: 2, Finish: done}),
			[]chaostest.Cause{chaostest.CauseAnswerLost}},
		{"an error before anything left explains nothing", 2, []chaostest.Send{send(1, "error", 0), send(2, "ok", 1)},
			attempts(chaostest.Attempt{N: 1}, chaostest.Attempt{N: 2, Finish: done}), []chaostest.Cause{chaostest.CauseUnexplained}},
		{"SDK retry inside one send", 2, []chaostest.Send{send(1, "ok", 2)}, attempts(chaostest.Attempt{N: 1, Finish: done}),
			[]chaostest.Cause{chaostest.CauseSDKRetry}},
		{"outcome write lost", 2, []chaostest.Send{send(1, "ok", 1), send(2, "ok", 1)},
			attempts(chaostest.Attempt{N: 1, Finish: &chaostest.FinishCall{Status: eventrecord.Processed, Err: "reset"}}, chaostest.Attempt{N: 2, Finish: done}),
			[]chaostest.Cause{chaostest.CauseOutcomeLost}},
		{"lease lost", 2, []chaostest.Send{send(1, "ok", 1), send(2, "ok", 1)},
			attempts(chaostest.Attempt{N: 1, Finish: &chaostest.FinishCall{Status: eventrecord.Processed, Err: "conflict", Conflict: true}}, chaostest.Attempt{N: 2, Finish: done}),
			[]chaostest.Cause{chaostest.CauseLeaseLost}},
		{"frozen at the deadline", 2, []chaostest.Send{send(1, "ok", 1), send(2, "ok", 1)},
			attempts(chaostest.Attempt{N: 1}, chaostest.Attempt{N: 2, Finish: done}), []chaostest.Cause{chaostest.CauseDeadline}},
		{"sent again after a recorded step", 2, []chaostest.Send{send(1, "ok", 1), send(2, "ok", 1)},
			attempts(chaostest.Attempt{N: 1, Finish: &chaostest.FinishCall{Status: eventrecord.Retrying, Steps: []string{"order", "event"}}}, chaostest.Attempt{N: 2, Finish: done}),
			[]chaostest.Cause{chaostest.CauseUnexplained}},
		{"due none, sent one", 1, []chaostest.Send{send(1, "ok", 1)}, attempts(chaostest.Attempt{N: 1, Finish: done}), nil},
		// The email sender's sends: recorded by their SENT write.
		{"sender: sent once, recorded", 1, []chaostest.Send{ses("ok", 1, sent)}, nil, nil},
		{"sender: answer lost, the deferred job sent it", 2, []chaostest.Send{ses("error", 1, nil), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSenderAnswerLost}},
		{"sender: injected crash after the send", 2, []chaostest.Send{ses(chaostest.InjectCrashAfter, 1, nil), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSenderAnswerLost}},
		{"sender: frozen before the SENT write", 2, []chaostest.Send{ses("ok", 1, &chaostest.FinishCall{EmailStatus: eventrecord.EmailSent, Err: "frozen", Frozen: true}), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSenderStopped}},
		{"sender: no SENT write at all", 2, []chaostest.Send{ses("ok", 1, nil), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSenderStopped}},
		{"sender: killed past the deadline", 2, []chaostest.Send{ses(chaostest.InjectKill, 1, nil), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSenderStopped}},
		{"sender: every try of the SENT write failed", 2, []chaostest.Send{ses("ok", 1, &chaostest.FinishCall{EmailStatus: eventrecord.EmailSent, Err: "reset"}), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSenderStopped}},
		{"sender: lease lost", 2, []chaostest.Send{ses("ok", 1, &chaostest.FinishCall{EmailStatus: eventrecord.EmailSent, Err: "conflict", Conflict: true}), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSenderLeaseLost}},
		{"sender: sent twice, both recorded", 2, []chaostest.Send{ses("ok", 1, sent), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseUnexplained}},
		{"sender: a throttled send never left", 2, []chaostest.Send{ses(chaostest.InjectThrottle, 0, nil), ses("ok", 1, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseUnexplained}},
		{"sender: an SDK retry", 2, []chaostest.Send{ses("ok", 2, sent)}, nil,
			[]chaostest.Cause{chaostest.CauseSDKRetry}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := 1
			if tc.name == "due none, sent one" {
				want, tc.want = 0, []chaostest.Cause{chaostest.CauseUnexplained}
			}
			got := chaostest.Explain(tc.delivered, want, tc.sends, tc.attempts)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestProviderRetriesUntil2xx drives the provider against an in-memory
// fake: every event is answered 503 twice, then 200; deliveries are signed
// at send time and duplicates are delivered too.
func TestProviderRetriesUntil2xx(t *testing.T) {
	ords, err := chaostest.Generate(mrand.New(mrand.NewPCG(5, 6)), 60, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	evs := chaostest.Events(ords)
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
	p := &chaostest.Provider{Handle: handle, Secret: secret, Workers: 4, DuplicateRate: 0.5,
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
	p = &chaostest.Provider{Handle: never, Secret: secret, MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
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
	n := chaostest.NewNetwork()
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
		fault chaostest.Fault
		fails bool
	}{
		{chaostest.Fault{Proxy: "svc", Disabled: true}, true},
		{chaostest.Fault{Proxy: "svc", Toxics: []chaostest.Toxic{{Name: "r", Type: "reset_peer", Stream: "downstream", Toxicity: 1, Attributes: map[string]int64{"timeout": 0}}}}, true},
		{chaostest.Fault{Proxy: "svc", Toxics: []chaostest.Toxic{{Name: "t", Type: "timeout", Stream: "upstream", Toxicity: 1, Attributes: map[string]int64{"timeout": 100}}}}, true},
		{chaostest.Fault{Proxy: "svc", Toxics: []chaostest.Toxic{{Name: "l", Type: "latency", Stream: "downstream", Toxicity: 1, Attributes: map[string]int64{"latency": 20}}}}, false},
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
	if err := n.Apply(chaostest.Fault{Proxy: "nope", Disabled: true}); !errors.Is(err, chaostest.ErrUnknownProxy) {
		t.Errorf("Apply to an unknown proxy: %v, want ErrUnknownProxy", err)
	}
}

// fakeMailer counts sends; it stands in for SES in the Recorder's test.
type fakeMailer struct{ sent int }

func (m *fakeMailer) Send(context.Context, handlers.Email) error { m.sent++; return nil }

// TestRecorderInjects checks the decorators on the sender's path (SES,
// where every kind of email fault applies): each scheduled fault does what
// its kind says, and with injection off nothing is injected.
func TestRecorderInjects(t *testing.T) {
	for _, tc := range []struct {
		kind     string
		inject   bool
		wantSent int
		wantErr  error
	}{
		{chaostest.InjectCrashAfter, true, 1, chaostest.ErrInjected},
		{chaostest.InjectFailBefore, true, 0, chaostest.ErrInjected},
		{chaostest.InjectReject, true, 0, handlers.ErrUndeliverable},
		{chaostest.InjectThrottle, true, 0, chaostest.ErrThrottled},
		{chaostest.InjectCrashAfter, false, 1, nil},
	} {
		t.Run(fmt.Sprint(tc.kind, " ", tc.inject), func(t *testing.T) {
			rec := chaostest.NewRecorder(chaostest.Schedule{Every: map[string]int{tc.kind: 1}, At: map[string]int{tc.kind: 0}}, nil, 0)
			rec.SetInjecting(tc.inject)
			inner := &fakeMailer{}
			mailer := rec.SESMailer(inner)
			reg := rec.Handlers(process.Registry{"payment.succeeded": process.HandlerFunc(
				func(ctx context.Context, ev process.Event, steps *process.Steps) error {
					return steps.Run(ctx, handlers.StepEmail, func(ctx context.Context) error {
						return mailer.Send(ctx, handlers.Email{OrderID: "ord_1", Subject: "Order ord_1: payment confirmed", Template: handlers.TemplatePaymentConfirmation, EventID: "evt_1"})
					})
				})})
			err := reg["payment.succeeded"].Handle(context.Background(), process.Event{ID: "evt_1", Attempt: 1}, process.NewSteps(nil))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Handle: %v, want %v", err, tc.wantErr)
			}
			sends := rec.Sends()
			if inner.sent != tc.wantSent || len(sends) != 1 || sends[0].Key != "email confirmation ord_1" || sends[0].EventID != "evt_1" {
				t.Fatalf("sent %d, recorded %+v", inner.sent, sends)
			}
			wantResult := "ok"
			if tc.inject {
				wantResult = tc.kind
			}
			if sends[0].Result != wantResult || sends[0].Delivered() != (tc.wantSent == 1) {
				t.Errorf("send %+v, want result %s", sends[0], wantResult)
			}
			if got := rec.Injected()[tc.kind]; got != b2i(tc.inject) {
				t.Errorf("Injected() = %v", rec.Injected())
			}
		})
	}
}

// TestPoisonPanicsUntilDeadLettered: a poison event's handler panics while
// its claim count is at most the limit, then runs.
func TestPoisonPanicsUntilDeadLettered(t *testing.T) {
	rec := chaostest.NewRecorder(chaostest.Schedule{}, []string{"evt_p"}, 2)
	ran := 0
	h := rec.Handlers(process.Registry{"x": process.HandlerFunc(func(context.Context, process.Event, *process.Steps) error { ran++; return nil })})["x"]
	for n := 1; n <= 3; n++ {
		func() {
			defer func() {
				if v := recover(); (v != nil) != (n <= 2) {
					t.Errorf("attempt %d: recovered %v", n, v)
				}
			}()
			_ = h.Handle(context.Background(), process.Event{ID: "evt_p", Attempt: n}, process.NewSteps(nil))
		}()
	}
	if ran != 1 || rec.Injected()[chaostest.InjectPoison] != 2 {
		t.Errorf("ran %d, injected %v", ran, rec.Injected())
	}
}

// TestHTTPClientFreezes: a request made after its context's freeze time is
// refused and never reaches the server; one before goes through.
func TestHTTPClientFreezes(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	c := chaostest.HTTPClient{Next: srv.Client()}
	for _, tc := range []struct {
		freeze  time.Duration
		wantErr error
	}{{time.Hour, nil}, {-time.Millisecond, chaostest.ErrFrozen}} {
		req, err := http.NewRequestWithContext(chaostest.WithFreeze(context.Background(), time.Now().Add(tc.freeze)), "GET", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("freeze in %s: %v, want %v", tc.freeze, err, tc.wantErr)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the server saw %d requests, want 1", n)
	}
}

// The default schedule puts at most one fault on a send of each path, and
// Scheduled counts what it puts on the first n sends.
func TestDefaultSchedule(t *testing.T) {
	s := chaostest.DefaultSchedule()
	for _, path := range []string{chaostest.PathProcessor, chaostest.PathSender} {
		counts := map[string]int{}
		for n := 1; n <= 1200; n++ {
			var due []string
			for _, k := range chaostest.PathKinds(path) {
				if n%s.Every[k] == s.At[k] {
					due = append(due, k)
					counts[k]++
				}
			}
			if len(due) > 1 {
				t.Errorf("%s send %d gets %v", path, n, due)
			}
			if n%100 == 0 || n == 37 {
				for _, k := range chaostest.PathKinds(path) {
					if got := s.Scheduled(k, n); got != counts[k] {
						t.Errorf("Scheduled(%q, %d) = %d, want %d", k, n, got, counts[k])
					}
				}
			}
		}
	}
}
