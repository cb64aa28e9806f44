package envelope_test

import (
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
)

func TestOrderID(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"named", `{"id":"evt_1","data":{"object":{"metadata":{"order_id":"ord_42"}}}}`, "ord_42"},
		{"no metadata", `{"id":"evt_1","data":{"object":{}}}`, ""},
		{"not JSON", `not json`, ""},
		{"empty", ``, ""},
		{"order id of another type", `{"data":{"object":{"metadata":{"order_id":42}}}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := envelope.OrderID([]byte(tc.body)); got != tc.want {
				t.Errorf("OrderID(%s) = %q, want %q", tc.body, got, tc.want)
			}
		})
	}
}
