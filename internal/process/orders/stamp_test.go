package orders_test

import (
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

func TestStamped(t *testing.T) {
	created := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	now := time.Date(2026, 12, 3, 10, 4, 5, 123456789, time.FixedZone("CET", 3600))
	nowMs := time.Date(2026, 12, 3, 9, 4, 5, 123000000, time.UTC)
	tests := []struct {
		name        string
		isNew       bool
		wantCreated time.Time
	}{
		{"new order", true, nowMs},
		{"existing order keeps its creation time", false, created},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := orders.Order{ID: "other", Status: orders.Paid, CreatedAt: created}.Stamped("ord_1", tc.isNew, now)
			if got.ID != "ord_1" || !got.UpdatedAt.Equal(nowMs) || got.UpdatedAt.Location() != time.UTC ||
				!got.CreatedAt.Equal(tc.wantCreated) || got.Status != orders.Paid {
				t.Errorf("Stamped = id %q created %v updated %v status %s; want ord_1, %v, %v, PAID", got.ID, got.CreatedAt, got.UpdatedAt, got.Status, tc.wantCreated, nowMs)
			}
		})
	}
	if !orders.Millis(time.Time{}).IsZero() {
		t.Error("Millis of the zero time is not zero")
	}
}
