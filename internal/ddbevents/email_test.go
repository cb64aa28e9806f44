package ddbevents

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// The email's delivery against moto_server: each step of a job's life,
// and what a second copy of the job meets at each.
func TestEmailDelivery(t *testing.T) {
	ctx := context.Background()
	now := baseT0
	processed := func(id string) eventrecord.Record {
		r := claim(id, "proc", now)
		r.Status, r.LeaseUntil, r.Steps = eventrecord.Processed, time.Time{}, []string{"order", "event", "email"}
		return r
	}
	conflictEmail := func(t *testing.T, err error) eventrecord.EmailDelivery {
		t.Helper()
		var ce *eventrecord.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("want *ConflictError, got %v", err)
		}
		return ce.Existing.Email
	}

	t.Run("claim, a copy meets the live claim, sent, a copy meets SENT", func(t *testing.T) {
		tbl, client := newTable(t)
		seed(t, client, tbl, processed("evt_1"))
		if err := tbl.ClaimEmail(ctx, "evt_1", "payment_confirmation", "tokA", now.Add(time.Minute), now); err != nil {
			t.Fatalf("first claim: %v", err)
		}
		got := conflictEmail(t, tbl.ClaimEmail(ctx, "evt_1", "payment_confirmation", "tokB", now.Add(time.Minute), now.Add(time.Second)))
		if got.Status != eventrecord.EmailSending || got.Token != "tokA" || !got.LeaseUntil.Equal(now.Add(time.Minute)) {
			t.Errorf("second copy sees %+v, want SENDING under tokA until %s", got, now.Add(time.Minute))
		}
		// A plain claim is not granted for holding the token already.
		got = conflictEmail(t, tbl.ClaimEmail(ctx, "evt_1", "payment_confirmation", "tokA", now.Add(2*time.Minute), now.Add(time.Second)))
		if got.Token != "tokA" {
			t.Errorf("a claim under the held token sees %+v, want it refused under tokA", got)
		}
		// The holder's deferred job claims again, swapping its token;
		// a second copy of that job, with the same held token, meets it.
		if err := tbl.ReclaimEmail(ctx, "evt_1", "payment_confirmation", "tokA", "tokA2", now.Add(2*time.Minute), now.Add(2*time.Second)); err != nil {
			t.Fatalf("the holder's claim again: %v", err)
		}
		got = conflictEmail(t, tbl.ReclaimEmail(ctx, "evt_1", "payment_confirmation", "tokA", "tokA3", now.Add(2*time.Minute), now.Add(2*time.Second)))
		if got.Status != eventrecord.EmailSending || got.Token != "tokA2" {
			t.Errorf("a second copy of the deferred job sees %+v, want SENDING under tokA2", got)
		}
		conflictEmail(t, tbl.FinishEmail(ctx, "evt_1", "tokA", eventrecord.EmailSent, "", now.Add(3*time.Second)))
		if err := tbl.FinishEmail(ctx, "evt_1", "tokA2", eventrecord.EmailSent, "", now.Add(3*time.Second)); err != nil {
			t.Fatalf("finish: %v", err)
		}
		got = conflictEmail(t, tbl.ClaimEmail(ctx, "evt_1", "payment_confirmation", "tokC", now.Add(time.Hour), now.Add(time.Hour)))
		if got.Status != eventrecord.EmailSent || !got.At.Equal(now.Add(3*time.Second)) || !got.LeaseUntil.IsZero() {
			t.Errorf("after the send a copy sees %+v, want SENT at %s with no lease", got, now.Add(3*time.Second))
		}
		rec, err := tbl.Get(ctx, "evt_1")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != eventrecord.Processed || len(rec.Steps) != 3 || rec.Token != "proc" {
			t.Errorf("the event's own attributes changed: %+v", rec)
		}
		// The holder's two claims count; the refused copies do not.
		if rec.Email.Attempts != 2 || rec.Email.Status != eventrecord.EmailSent || rec.Email.Token != "tokA2" {
			t.Errorf("email %+v, want SENT under tokA2 after 2 attempts", rec.Email)
		}
	})

	t.Run("an expired claim is taken over, and its holder can no longer finish", func(t *testing.T) {
		tbl, client := newTable(t)
		seed(t, client, tbl, processed("evt_2"))
		if err := tbl.ClaimEmail(ctx, "evt_2", "refund_notice", "tokA", now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if err := tbl.ClaimEmail(ctx, "evt_2", "refund_notice", "tokB", now.Add(3*time.Minute), now.Add(time.Minute)); err != nil {
			t.Fatalf("claim at the lease's end: %v", err)
		}
		conflictEmail(t, tbl.FinishEmail(ctx, "evt_2", "tokA", eventrecord.EmailSent, "", now.Add(time.Minute)))
		if err := tbl.FinishEmail(ctx, "evt_2", "tokB", eventrecord.EmailUndeliverable, "SES MessageRejected", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		rec, err := tbl.Get(ctx, "evt_2")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Email.Status != eventrecord.EmailUndeliverable || rec.Email.Error != "SES MessageRejected" || rec.Email.Template != "refund_notice" {
			t.Errorf("email %+v, want UNDELIVERABLE with the reason", rec.Email)
		}
	})

	t.Run("a reclaim after the lease ended elsewhere meets the new holder", func(t *testing.T) {
		tbl, client := newTable(t)
		seed(t, client, tbl, processed("evt_4"))
		if err := tbl.ClaimEmail(ctx, "evt_4", "payment_confirmation", "tokA", now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		if err := tbl.ClaimEmail(ctx, "evt_4", "payment_confirmation", "tokB", now.Add(3*time.Minute), now.Add(time.Minute)); err != nil {
			t.Fatalf("claim at the lease's end: %v", err)
		}
		got := conflictEmail(t, tbl.ReclaimEmail(ctx, "evt_4", "payment_confirmation", "tokA", "tokA2", now.Add(4*time.Minute), now.Add(2*time.Minute)))
		if got.Token != "tokB" {
			t.Errorf("the old holder's reclaim sees %+v, want SENDING under tokB", got)
		}
		if err := tbl.ReclaimEmail(ctx, "evt_none", "payment_confirmation", "tokA", "tokA2", now.Add(time.Minute), now); !errors.Is(err, eventrecord.ErrNoRecord) {
			t.Errorf("reclaim without a record: want ErrNoRecord, got %v", err)
		}
	})

	t.Run("no record", func(t *testing.T) {
		tbl, _ := newTable(t)
		err := tbl.ClaimEmail(ctx, "evt_none", "payment_confirmation", "tokA", now.Add(time.Minute), now)
		if !errors.Is(err, eventrecord.ErrNoRecord) {
			t.Fatalf("want ErrNoRecord, got %v", err)
		}
		if _, err := tbl.Get(ctx, "evt_none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("the claim created an item: %v", err)
		}
	})

	t.Run("finish refuses a status that is not an end", func(t *testing.T) {
		tbl, _ := newTable(t)
		if err := tbl.FinishEmail(ctx, "evt_3", "tokA", eventrecord.EmailSending, "", now); err == nil {
			t.Error("FinishEmail accepted SENDING")
		}
	})
}
