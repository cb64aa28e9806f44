package sqsbatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// A record whose TTL has passed is gone as far as the processor is
// concerned, though DynamoDB deletes expired items lazily (days later): a
// replay or redrive of its event is claimed afresh, as a first attempt with
// no steps, and applied once. The claim replaces the expired item with one
// conditional PutItem, which the processor's policy must allow.
func TestExpiredRecordIsClaimedAfresh(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	eventID, orderID, body := s.payment(t, 1, nil)
	now := time.Now()
	then := now.Add(-31 * 24 * time.Hour)
	old := eventrecord.Record{
		EventID: eventID, Type: "payment.succeeded", Token: "delivery-a-month-ago",
		LeaseUntil: then.Add(time.Minute), ExpiresAt: now.Add(-time.Hour),
	}
	if _, err := s.events.Claim(ctx, old, then); err != nil {
		t.Fatal(err)
	}
	old.Status, old.Steps = eventrecord.Processed, allSteps
	if err := s.events.Finish(ctx, old, then.Add(time.Second)); err != nil {
		t.Fatal(err)
	}

	if got := s.handle(t, record("redriven", eventID, "payment.succeeded", body)); len(got) != 0 {
		t.Fatalf("failures %v", got)
	}
	r := s.record(t, eventID)
	wantRecord(t, r, eventrecord.Processed, allSteps)
	if r.Attempts != 1 || r.Token == old.Token || !r.ExpiresAt.After(now) {
		t.Errorf("record %+v: want a fresh first attempt under a new token, expiring later", r)
	}
	if o := s.order(t, orderID); o.Status != orders.Paid || o.PaymentEventID != eventID {
		t.Errorf("order %+v: want PAID by %s", o, eventID)
	}
	if n, p := s.mailer.count(orderID), s.pub.count(eventID); n != 1 || p != 1 {
		t.Errorf("%d emails, %d events: want 1 of each", n, p)
	}
}
