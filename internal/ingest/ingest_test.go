package ingest_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
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
		{name: "other payload, received", req: post(now, body), want: ingest.PayloadMismatch, store: fakeStore{reserve: func(r eventrecord.Record) error {
			r.PayloadHash = "ffff"
			return conflict(r)
		}}},
		{name: "other payload, kept before", req: post(now, body), want: ingest.PayloadMismatch, store: fakeStore{
			reserve:  func(r eventrecord.Record) error { r.PayloadHash = "ffff"; return conflict(r) },
			terminal: conflict,
		}},
		{name: "other payload, store down", req: post(now, body), want: ingest.Unavailable, store: fakeStore{
			reserve:  func(r eventrecord.Record) error { r.PayloadHash = "ffff"; return conflict(r) },
			terminal: func(eventrecord.Record) error { return errInjected },
		}},
		// Fail closed: only the statuses the design names answer 2xx.
		{name: "conflict without the existing record", req: post(now, body), want: ingest.Unavailable, store: fakeStore{reserve: func(r eventrecord.Record) error {
			return conflict(eventrecord.Record{EventID: r.EventID})
		}}},
		{name: "conflict with an unknown status", req: post(now, body), want: ingest.Unavailable, store: fakeStore{reserve: func(r eventrecord.Record) error {
			r.Status = "ARCHIVED"
			return conflict(r)
		}}},
		{name: "recorded IGNORED before", req: post(now, body), want: ingest.Ignored, store: fakeStore{reserve: func(r eventrecord.Record) error {
			r.Status = eventrecord.Ignored
			return conflict(r)
		}}},
		{name: "retrying", req: post(now, body), want: ingest.Duplicate, store: fakeStore{reserve: func(r eventrecord.Record) error {
			r.Status = eventrecord.Retrying
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
		{name: "not an envelope, conflict without the record", req: post(now, `[1,2]`), want: ingest.Unavailable,
			store: fakeStore{terminal: func(r eventrecord.Record) error { return conflict(eventrecord.Record{EventID: r.EventID}) }}},
		{name: "event id with a control character", req: post(now, strings.Replace(body, `"evt_1"`, `"evt_\u0001"`, 1)), want: ingest.Rejected},
		{name: "event id SQS refuses", req: post(now, strings.Replace(body, `"evt_1"`, `"evt_\uffff"`, 1)), want: ingest.Rejected},
		{name: "event id in the body keys' space", req: post(now, strings.Replace(body, `"evt_1"`, `"sha256:abc"`, 1)), want: ingest.Rejected},
		{name: "type with a line feed", req: post(now, strings.Replace(body, `"payment.succeeded"`, `"payment.succeeded\n"`, 1)), want: ingest.Rejected},
		{name: "unsubscribed", req: post(now, body), want: ingest.Ignored, setup: func(s *ingest.Service) { s.Types = []string{"refund.completed"} }},
		{name: "livemode mismatch", req: post(now, body), want: ingest.Ignored, setup: func(s *ingest.Service) { s.Livemode = true }},
		{name: "ignored, store down", req: post(now, body), want: ingest.Unavailable, setup: func(s *ingest.Service) { s.Livemode = true },
			store: fakeStore{terminal: func(eventrecord.Record) error { return errInjected }}},
		{name: "ignored again", req: post(now, body), want: ingest.Ignored, setup: func(s *ingest.Service) { s.Livemode = true },
			store: fakeStore{terminal: func(r eventrecord.Record) error { return conflict(r) }}},
		{name: "ignored, other payload stored", req: post(now, body), want: ingest.PayloadMismatch, setup: func(s *ingest.Service) { s.Livemode = true },
			store: fakeStore{terminal: func(r eventrecord.Record) error {
				if r.Status == eventrecord.Ignored {
					r.PayloadHash = "ffff"
					return conflict(r)
				}
				return nil
			}}},
		{name: "ignored, conflict without the record", req: post(now, body), want: ingest.Unavailable, setup: func(s *ingest.Service) { s.Livemode = true },
			store: fakeStore{terminal: func(r eventrecord.Record) error { return conflict(eventrecord.Record{EventID: r.EventID}) }}},
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

// A body refused as a payload mismatch is kept in a record of its own,
// keyed by its hash and the event id, with the reason; the stored event is
// not touched and nothing is queued.
func TestPayloadMismatchKeepsTheBody(t *testing.T) {
	now := baseNow
	st, q := &fakeStore{reserve: func(r eventrecord.Record) error {
		r.Status, r.PayloadHash = eventrecord.Processed, strings.Repeat("f", 64)
		return &eventrecord.ConflictError{Existing: r}
	}}, &fakeQueue{}
	res := newService(st, q, now).Receive(context.Background(), post(now, body))
	if res.Outcome != ingest.PayloadMismatch || res.EventID != "evt_1" || len(q.sent) != 0 {
		t.Fatalf("Outcome %s, id %q, %d sent: want payload_mismatch for evt_1, nothing sent", res.Outcome, res.EventID, len(q.sent))
	}
	if len(st.puts) != 2 {
		t.Fatalf("%d writes, want the reservation and the kept body", len(st.puts))
	}
	kept := st.puts[1]
	hash := st.puts[0].PayloadHash
	if kept.EventID != "sha256:"+hash+"#evt_1" || kept.Status != eventrecord.Rejected || string(kept.Body) != body ||
		kept.PayloadHash != hash || !strings.Contains(kept.Error, strings.Repeat("f", 64)) || kept.Type != "payment.succeeded" {
		t.Errorf("kept %+v", kept)
	}
}

// An ignored event keeps its body, so that it can be replayed, and says
// why it was ignored in a reason code fit for a metric dimension.
func TestIgnoredRecordKeepsTheBody(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*ingest.Service)
		wantReason string
	}{
		{"livemode", func(s *ingest.Service) { s.Livemode = true }, ingest.IgnoredLivemode},
		{"type", func(s *ingest.Service) { s.Types = []string{"refund.completed"} }, ingest.IgnoredType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &fakeStore{}
			svc := newService(st, &fakeQueue{}, baseNow)
			tc.setup(svc)
			res := svc.Receive(context.Background(), post(baseNow, body))
			if res.Outcome != ingest.Ignored || res.Reason != tc.wantReason || len(st.puts) != 1 {
				t.Fatalf("Outcome %s reason %q, %d writes", res.Outcome, res.Reason, len(st.puts))
			}
			if r := st.puts[0]; r.Status != eventrecord.Ignored || string(r.Body) != body || r.Error == "" || r.EventID != "evt_1" {
				t.Errorf("ignored record %+v", r)
			}
		})
	}
}
