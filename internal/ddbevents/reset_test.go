package ddbevents

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
)

func TestReset(t *testing.T) { clocktest.Run(t, baseT0, testReset) }

func testReset(t *testing.T, t0 time.Time) {
	const id = "evt_reset"
	body := []byte("{\n  \"id\": \"evt_reset\"\n}\n")
	now := t0.Add(time.Hour)
	failed := withStatus(received(id, "proc-token", t0), eventrecord.Failed, time.Time{}, t0.Add(ttl))
	failed.Attempts, failed.Steps, failed.Error, failed.Body = 2, []string{"order_updated"}, "no metadata.order_id", body
	failedWithLease := failed
	failedWithLease.LeaseUntil = t0.Add(lease)
	noBody := failed
	noBody.Body = nil
	kept := failed
	kept.EventID = eventrecord.MismatchKey(hash, id)
	tests := []struct {
		name       string
		existing   *eventrecord.Record
		ignored    bool               // ResetOptions.Ignored
		wantStatus eventrecord.Status // of the conflict; "" wants the reset
		wantBody   bool               // the conflict's record carries the body
	}{
		{name: "failed", existing: &failed},
		{name: "failed with a stale lease", existing: &failedWithLease},
		// A replay stranded between its reset and its send: replayed again.
		{name: "retrying with a body, no lease", existing: ptr(withStatus(failed, eventrecord.Retrying, time.Time{}, t0.Add(ttl)))},
		{name: "retrying with a body, lease ended", existing: ptr(withStatus(failed, eventrecord.Retrying, now, t0.Add(ttl)))},
		{name: "retrying with a body, live lease", existing: ptr(withStatus(failed, eventrecord.Retrying, now.Add(time.Second), t0.Add(ttl))), wantStatus: eventrecord.Retrying, wantBody: true},
		{name: "retrying without a body", existing: ptr(withStatus(noBody, eventrecord.Retrying, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Retrying},
		{name: "ignored, with the option", existing: ptr(withStatus(failed, eventrecord.Ignored, time.Time{}, t0.Add(ttl))), ignored: true},
		{name: "ignored, without the option", existing: ptr(withStatus(failed, eventrecord.Ignored, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Ignored, wantBody: true},
		{name: "missing", wantStatus: ""},
		{name: "failed without body", existing: &noBody, wantStatus: eventrecord.Failed},
		{name: "processed", existing: ptr(withStatus(failed, eventrecord.Processed, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Processed},
		{name: "processing", existing: ptr(withStatus(failed, eventrecord.Processing, now.Add(lease), t0.Add(ttl))), wantStatus: eventrecord.Processing},
		{name: "received", existing: ptr(withStatus(failed, eventrecord.Received, now.Add(lease), t0.Add(ttl))), wantStatus: eventrecord.Received},
		{name: "rejected", existing: ptr(withStatus(failed, eventrecord.Rejected, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Rejected, wantBody: true},
		{name: "a refused body kept FAILED", existing: &kept, wantStatus: eventrecord.Failed, wantBody: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			key := id
			if tc.existing != nil {
				seed(t, client, tbl, *tc.existing)
				key = tc.existing.EventID
			}
			got, was, err := tbl.Reset(context.Background(), key, ResetOptions{Token: "replay-1", Ignored: tc.ignored}, now)
			if tc.existing == nil || tc.wantStatus != "" {
				ce := wantConflict(t, err)
				if ce.Existing.EventID != key || ce.Existing.Status != tc.wantStatus || (len(ce.Existing.Body) > 0) != tc.wantBody {
					t.Errorf("Existing: got %s status %q body %d bytes, want %s %q body %v", ce.Existing.EventID, ce.Existing.Status, len(ce.Existing.Body), key, tc.wantStatus, tc.wantBody)
				}
				if tc.existing == nil {
					if _, err := tbl.Get(context.Background(), key); err == nil {
						t.Error("Reset created a record")
					}
					return
				}
				before, _ := decode(encode(*tc.existing))
				if stored := mustGet(t, tbl, key); !recordsEqual(stored, before) && tc.existing.Status != eventrecord.Retrying {
					t.Errorf("refused Reset changed the record:\n got %+v\nwant %+v", stored, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Reset: %v", err)
			}
			if was != tc.existing.Status {
				t.Errorf("Reset says the record was %s, want %s", was, tc.existing.Status)
			}
			if got.Status != eventrecord.Retrying || !got.LeaseUntil.IsZero() || !got.UpdatedAt.Equal(now) ||
				got.Token != "replay-1" || got.Attempts != 2 || !slices.Equal(got.Steps, []string{"order_updated"}) ||
				got.Error != "no metadata.order_id" || !bytes.Equal(got.Body, body) || !got.ExpiresAt.Equal(t0.Add(ttl)) {
				t.Errorf("reset record %+v: want RETRYING, no lease, updated now, the replay's token, attempts, steps, error, body and TTL kept", got)
			}
			if stored := mustGet(t, tbl, key); !recordsEqual(stored, got) {
				t.Errorf("Reset returned %+v, table holds %+v", got, stored)
			}
			// The processor's claim now accepts it.
			if _, err := tbl.Claim(context.Background(), claim(key, "proc-2", now), now); err != nil {
				t.Errorf("Claim after Reset: %v", err)
			}
		})
	}
}

// A second Reset of the same event succeeds while no processor has claimed
// it: the first replay may never have sent its message.
func TestResetTwice(t *testing.T) { clocktest.Run(t, baseT0, testResetTwice) }

func testResetTwice(t *testing.T, t0 time.Time) {
	tbl, client := newTable(t)
	rec := withStatus(received("evt_twice", "tok", t0), eventrecord.Failed, time.Time{}, t0.Add(ttl))
	rec.Body = []byte(`{"id":"evt_twice"}`)
	seed(t, client, tbl, rec)
	if _, _, err := tbl.Reset(context.Background(), "evt_twice", ResetOptions{Token: "r1"}, t0); err != nil {
		t.Fatalf("first Reset: %v", err)
	}
	got, _, err := tbl.Reset(context.Background(), "evt_twice", ResetOptions{Token: "r2"}, t0.Add(time.Minute))
	if err != nil || got.Token != "r2" {
		t.Fatalf("second Reset: %v, token %q", err, got.Token)
	}
	// Once the processor holds it, a replay is refused.
	if _, err := tbl.Claim(context.Background(), claim("evt_twice", "proc", t0.Add(2*time.Minute)), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, _, err = tbl.Reset(context.Background(), "evt_twice", ResetOptions{Token: "r3"}, t0.Add(3*time.Minute))
	if ce := wantConflict(t, err); ce.Existing.Status != eventrecord.Processing {
		t.Errorf("Reset of a claimed event: existing status %q, want PROCESSING", ce.Existing.Status)
	}
}

func TestRestore(t *testing.T) { clocktest.Run(t, baseT0, testRestore) }

func testRestore(t *testing.T, t0 time.Time) {
	for _, from := range []eventrecord.Status{eventrecord.Failed, eventrecord.Ignored} {
		t.Run(string(from), func(t *testing.T) {
			tbl, client := newTable(t)
			rec := withStatus(received("evt_restore", "tok", t0), from, time.Time{}, t0.Add(ttl))
			rec.Body = []byte(`{"id":"evt_restore"}`)
			seed(t, client, tbl, rec)
			reset, _, err := tbl.Reset(context.Background(), rec.EventID, ResetOptions{Token: "r1", Ignored: true}, t0)
			if err != nil {
				t.Fatal(err)
			}
			stale := reset
			stale.Token = "other"
			wantConflict(t, tbl.Restore(context.Background(), stale, from, t0))
			if err := tbl.Restore(context.Background(), reset, from, t0.Add(time.Second)); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got := mustGet(t, tbl, rec.EventID); got.Status != from || !bytes.Equal(got.Body, rec.Body) {
				t.Errorf("restored %s with %d body bytes, want %s with the body", got.Status, len(got.Body), from)
			}
		})
	}
}
