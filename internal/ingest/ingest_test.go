package ingest_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/clocktest"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// fakeStore and fakeQueue are hand-written fakes with function fields for
// the pure-logic tests; the real adapters are tested against moto in
// ingestapp.
type fakeStore struct {
	reserve  func(eventrecord.Record) error
	release  func(id, token string) error
	terminal func(eventrecord.Record) error
	released []string
	puts     []eventrecord.Record
}

func (f *fakeStore) Reserve(_ context.Context, r eventrecord.Record, _ time.Time) error {
	f.puts = append(f.puts, r)
	if f.reserve != nil {
		return f.reserve(r)
	}
	return nil
}

func (f *fakeStore) Release(_ context.Context, id, token string) error {
	f.released = append(f.released, id+"/"+token)
	if f.release != nil {
		return f.release(id, token)
	}
	return nil
}

func (f *fakeStore) PutTerminal(_ context.Context, r eventrecord.Record, _ time.Time) error {
	f.puts = append(f.puts, r)
	if f.terminal != nil {
		return f.terminal(r)
	}
	return nil
}

type fakeQueue struct {
	send func(eventrecord.Message) error
	sent []eventrecord.Message
}

func (f *fakeQueue) Send(_ context.Context, m eventrecord.Message) error {
	if f.send != nil {
		if err := f.send(m); err != nil {
			return err
		}
	}
	f.sent = append(f.sent, m)
	return nil
}

type failingSecrets struct{}

func (failingSecrets) Secrets(context.Context) ([][]byte, error) { return nil, errors.New("injected") }

const (
	secret = "whsec_test"
	body   = `{"id":"evt_1","object":"event","type":"payment.succeeded","created":1795795200,"livemode":false,"data":{"object":{}}}`
)

// baseNow is ingest's pinned clock; the tests run at it and ten years
// either side (clocktest.Run).
var baseNow = time.Unix(1795795500, 0)

func newService(st *fakeStore, q *fakeQueue, now time.Time) *ingest.Service {
	return &ingest.Service{
		Store: st, Queue: q, Secrets: secrets.Static{[]byte(secret)},
		Now: func() time.Time { return now }, NewToken: func() string { return "tok" },
	}
}

func post(now time.Time, b string) ingest.Request {
	return ingest.Request{Method: "POST", Body: []byte(b), Signature: signature.Sign([]byte(secret), now, []byte(b)), SourceIP: "203.0.113.9"}
}

var errInjected = errors.New("injected")

func TestReceiveOutcomes(t *testing.T) { clocktest.Run(t, baseNow, testReceiveOutcomes) }

func testReceiveOutcomes(t *testing.T, now time.Time) {
	conflict := func(r eventrecord.Record) error { return &eventrecord.ConflictError{Existing: r} }
	tests := []struct {
		name        string
		req         ingest.Request
		store       fakeStore
		queue       fakeQueue
		setup       func(*ingest.Service)
		want        ingest.Outcome
		wantSent    int
		wantRelease int
	}{
		{name: "accepted", req: post(now, body), want: ingest.Accepted, wantSent: 1},
		{name: "GET", req: ingest.Request{Method: "GET"}, want: ingest.MethodNotAllowed},
		{name: "source outside the allow-list", req: post(now, body), want: ingest.Forbidden,
			setup: func(s *ingest.Service) { s.AllowedNets = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")} }},
		{name: "source inside the allow-list", req: post(now, body), want: ingest.Accepted, wantSent: 1,
			setup: func(s *ingest.Service) { s.AllowedNets = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")} }},
		{name: "body over the limit", req: post(now, body), want: ingest.PayloadTooLarge, setup: func(s *ingest.Service) { s.MaxBody = 10 }},
		{name: "secrets unavailable", req: post(now, body), want: ingest.Unavailable, setup: func(s *ingest.Service) { s.Secrets = failingSecrets{} }},
		{name: "bad signature", req: ingest.Request{Method: "POST", Body: []byte(body), Signature: "t=1,v1=00"}, want: ingest.InvalidSignature},
		{name: "dedupe write fails", req: post(now, body), store: fakeStore{reserve: func(eventrecord.Record) error { return errInjected }}, want: ingest.Unavailable},
		{name: "in flight", req: post(now, body), store: fakeStore{reserve: conflict}, want: ingest.InFlight},
		{name: "processed", req: post(now, body), want: ingest.Duplicate, store: fakeStore{reserve: func(r eventrecord.Record) error {
			r.Status = eventrecord.Processed
			return conflict(r)
		}}},
		{name: "other payload", req: post(now, body), want: ingest.PayloadMismatch, store: fakeStore{reserve: func(r eventrecord.Record) error {
			r.Status, r.PayloadHash = eventrecord.Processed, "ffff"
			return conflict(r)
		}}},
		{name: "send fails: released", req: post(now, body), queue: fakeQueue{send: func(eventrecord.Message) error { return errInjected }}, want: ingest.Unavailable, wantRelease: 1},
		{name: "send and release fail", req: post(now, body), want: ingest.Unavailable, wantRelease: 1,
			queue: fakeQueue{send: func(eventrecord.Message) error { return errInjected }},
			store: fakeStore{release: func(string, string) error { return errInjected }}},
		{name: "not an envelope", req: post(now, `[1,2]`), want: ingest.Rejected},
		{name: "not an envelope, store down", req: post(now, `[1,2]`), want: ingest.Unavailable,
			store: fakeStore{terminal: func(eventrecord.Record) error { return errInjected }}},
		{name: "not an envelope, already recorded", req: post(now, `[1,2]`), want: ingest.Rejected, store: fakeStore{terminal: conflict}},
		{name: "unsubscribed", req: post(now, body), want: ingest.Ignored, setup: func(s *ingest.Service) { s.Types = []string{"refund.completed"} }},
		{name: "livemode mismatch", req: post(now, body), want: ingest.Ignored, setup: func(s *ingest.Service) { s.Livemode = true }},
		{name: "ignored, store down", req: post(now, body), want: ingest.Unavailable, setup: func(s *ingest.Service) { s.Livemode = true },
			store: fakeStore{terminal: func(eventrecord.Record) error { return errInjected }}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := newService(&tc.store, &tc.queue, now)
			if tc.setup != nil {
				tc.setup(svc)
			}
			res := svc.Receive(context.Background(), tc.req)
			if res.Outcome != tc.want {
				t.Fatalf("Outcome = %s (%s, %v), want %s", res.Outcome, res.Reason, res.Err, tc.want)
			}
			if len(tc.queue.sent) != tc.wantSent {
				t.Errorf("sent %d messages, want %d", len(tc.queue.sent), tc.wantSent)
			}
			if len(tc.store.released) != tc.wantRelease {
				t.Errorf("released %v, want %d releases", tc.store.released, tc.wantRelease)
			}
			if tc.wantRelease > 0 && tc.store.released[0] != "evt_1/tok" {
				t.Errorf("released %v, want this attempt's token", tc.store.released)
			}
			if tc.want == ingest.Unavailable && res.Err == nil {
				t.Error("Unavailable without the underlying error for the log")
			}
		})
	}
}

func TestReservedRecord(t *testing.T) { clocktest.Run(t, baseNow, testReservedRecord) }

func testReservedRecord(t *testing.T, now time.Time) {
	st, q := &fakeStore{}, &fakeQueue{}
	svc := newService(st, q, now)
	svc.Lease, svc.TTL = 10*time.Second, 96*time.Hour
	if res := svc.Receive(context.Background(), post(now, body)); res.Outcome != ingest.Accepted {
		t.Fatalf("Outcome = %s", res.Outcome)
	}
	r := st.puts[0]
	if r.Status != eventrecord.Received || r.Token != "tok" || !r.LeaseUntil.Equal(now.Add(10*time.Second)) ||
		!r.ExpiresAt.Equal(now.Add(96*time.Hour)) || r.Type != "payment.succeeded" || r.Created.Unix() != 1795795200 || len(r.PayloadHash) != 64 || r.Body != nil {
		t.Errorf("reserved %+v", r)
	}
	m := q.sent[0]
	if m.EventID != "evt_1" || m.Type != "payment.succeeded" || string(m.Body) != body || !m.ReceivedAt.Equal(now) {
		t.Errorf("sent %+v", m)
	}
}

func TestRejectedRecordKeepsTheBody(t *testing.T) {
	now := baseNow
	st := &fakeStore{}
	svc := newService(st, &fakeQueue{}, now)
	res := svc.Receive(context.Background(), post(now, `{"id":""}`))
	if res.Outcome != ingest.Rejected || len(st.puts) != 1 {
		t.Fatalf("Outcome = %s, puts %d", res.Outcome, len(st.puts))
	}
	r := st.puts[0]
	if r.Status != eventrecord.Rejected || string(r.Body) != `{"id":""}` || r.EventID != "sha256:"+r.PayloadHash {
		t.Errorf("rejected record %+v", r)
	}
}
