package ddbevents

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/clocktest"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
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
	tests := []struct {
		name       string
		existing   *eventrecord.Record
		wantStatus eventrecord.Status // of the conflict; "" wants the reset
		wantBody   bool               // the conflict's record carries the body
	}{
		{name: "failed", existing: &failed},
		{name: "failed with a stale lease", existing: &failedWithLease},
		{name: "missing", wantStatus: ""},
		{name: "failed without body", existing: &noBody, wantStatus: eventrecord.Failed},
		{name: "processed", existing: ptr(withStatus(failed, eventrecord.Processed, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Processed},
		{name: "retrying", existing: ptr(withStatus(failed, eventrecord.Retrying, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Retrying},
		{name: "processing", existing: ptr(withStatus(failed, eventrecord.Processing, now.Add(lease), t0.Add(ttl))), wantStatus: eventrecord.Processing},
		{name: "received", existing: ptr(withStatus(failed, eventrecord.Received, now.Add(lease), t0.Add(ttl))), wantStatus: eventrecord.Received},
		{name: "rejected", existing: ptr(withStatus(failed, eventrecord.Rejected, time.Time{}, t0.Add(ttl))), wantStatus: eventrecord.Rejected, wantBody: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			if tc.existing != nil {
				seed(t, client, tbl, *tc.existing)
			}
			got, err := tbl.Reset(context.Background(), id, now)
			if tc.existing == nil || tc.wantStatus != "" {
				ce := wantConflict(t, err)
				if ce.Existing.EventID != id || ce.Existing.Status != tc.wantStatus || (len(ce.Existing.Body) > 0) != tc.wantBody {
					t.Errorf("Existing: got %s status %q body %d bytes, want %s %q body %v", ce.Existing.EventID, ce.Existing.Status, len(ce.Existing.Body), id, tc.wantStatus, tc.wantBody)
				}
				if tc.existing == nil {
					if _, err := tbl.Get(context.Background(), id); err == nil {
						t.Error("Reset created a record")
					}
					return
				}
				before, _ := decode(encode(*tc.existing))
				if stored := mustGet(t, tbl, id); !recordsEqual(stored, before) {
					t.Errorf("refused Reset changed the record:\n got %+v\nwant %+v", stored, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Reset: %v", err)
			}
			if got.Status != eventrecord.Retrying || !got.LeaseUntil.IsZero() || !got.UpdatedAt.Equal(now) ||
				got.Token != "proc-token" || got.Attempts != 2 || !slices.Equal(got.Steps, []string{"order_updated"}) ||
				got.Error != "no metadata.order_id" || !bytes.Equal(got.Body, body) || !got.ExpiresAt.Equal(t0.Add(ttl)) {
				t.Errorf("reset record %+v: want RETRYING, no lease, updated now, token, attempts, steps, error, body and TTL kept", got)
			}
			if stored := mustGet(t, tbl, id); !recordsEqual(stored, got) {
				t.Errorf("Reset returned %+v, table holds %+v", got, stored)
			}
			// The processor's claim now accepts it.
			if _, err := tbl.Claim(context.Background(), claim(id, "replay-token", now), now); err != nil {
				t.Errorf("Claim after Reset: %v", err)
			}
		})
	}
}

// A second Reset of the same event is refused: the first one won.
func TestResetTwice(t *testing.T) { clocktest.Run(t, baseT0, testResetTwice) }

func testResetTwice(t *testing.T, t0 time.Time) {
	tbl, client := newTable(t)
	rec := withStatus(received("evt_twice", "tok", t0), eventrecord.Failed, time.Time{}, t0.Add(ttl))
	rec.Body = []byte(`{"id":"evt_twice"}`)
	seed(t, client, tbl, rec)
	if _, err := tbl.Reset(context.Background(), "evt_twice", t0); err != nil {
		t.Fatalf("first Reset: %v", err)
	}
	_, err := tbl.Reset(context.Background(), "evt_twice", t0)
	if ce := wantConflict(t, err); ce.Existing.Status != eventrecord.Retrying {
		t.Errorf("second Reset: existing status %q, want RETRYING", ce.Existing.Status)
	}
}
