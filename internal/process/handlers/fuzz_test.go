package handlers_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/process"
)

// FuzzHandlers feeds arbitrary data.object payloads to every handler: each
// either applies the event or fails permanently; nothing panics.
func FuzzHandlers(f *testing.F) {
	for _, name := range []string{"payment.succeeded", "payment.failed", "refund.completed"} {
		ev := event(f, name, nil)
		f.Add(ev.Type, []byte(ev.Object))
	}
	f.Add("refund.completed", []byte(`{"id":"re_1","payment_id":"p","amount":-1,"currency":"usd","metadata":{"order_id":"o"}}`))
	f.Fuzz(func(t *testing.T, typ string, obj []byte) {
		fx := newFixture()
		h, ok := fx.reg[typ]
		if !ok || !json.Valid(obj) {
			return
		}
		ev := process.Event{ID: "evt_f", Type: typ, Created: fixedCreated, Object: obj, Attempt: 1}
		err := h.Handle(t.Context(), ev, process.NewSteps(nil))
		if err != nil && !errors.Is(err, process.ErrPermanent) {
			t.Fatalf("in-memory fakes cannot fail transiently: %v", err)
		}
		if err == nil && len(fx.orders.m) > 1 {
			t.Fatalf("one event touched %d orders", len(fx.orders.m))
		}
	})
}
