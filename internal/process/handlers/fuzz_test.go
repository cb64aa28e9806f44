package handlers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
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

// FuzzDomainEventSize sets one text of a data.object (the field'th of
// textPaths) to piece repeated times times, and checks the domain event of
// any payload ingest can accept (a body up to the largest configurable
// limit) against EventBridge's entry limit, by AWS's formula (entrySize).
func FuzzDomainEventSize(f *testing.F) {
	for _, name := range []string{"payment.succeeded", "payment.failed", "refund.completed"} {
		ev := event(f, name, nil)
		for i := range textPaths {
			f.Add(ev.Type, []byte(ev.Object), uint8(i), "<", uint32(60_000))
		}
	}
	f.Add("payment.succeeded", []byte(event(f, "payment.succeeded", nil).Object), uint8(0), "\x00\u2028😀\xff", uint32(20_000))
	f.Fuzz(func(t *testing.T, typ string, obj []byte, field uint8, piece string, times uint32) {
		fx := newFixture()
		h, ok := fx.reg[typ]
		var m map[string]any
		if !ok || json.Unmarshal(obj, &m) != nil || m == nil || len(piece) == 0 {
			return
		}
		path := textPaths[int(field)%len(textPaths)]
		n := min(int(times), largestMaxBody/len(piece))
		setPath(m, path, strings.Repeat(piece, n))
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			return
		}
		// The envelope around data.object is about 200 bytes more.
		if buf.Len()+200 > largestMaxBody {
			return
		}
		ev := process.Event{ID: "evt_f", Type: typ, Created: fixedCreated, Object: buf.Bytes(), Attempt: 1}
		if err := h.Handle(t.Context(), ev, process.NewSteps(nil)); err != nil {
			return
		}
		for _, de := range fx.pub.published {
			if n := entrySize(de); n >= putEventsEntryLimit {
				t.Fatalf("%s entry of %d bytes from a data.object of %d (%s)", de.DetailType, n, buf.Len(), strings.Join(path, "."))
			}
		}
	})
}

// textPaths are the texts of a data.object a domain event may copy.
var textPaths = [][]string{
	{"customer", "name"}, {"customer", "email"}, {"failure_message"}, {"failure_code"},
	{"id"}, {"currency"}, {"payment_id"}, {"metadata", "order_id"},
}

// setPath sets the string at path in m, creating objects on the way (and
// replacing what is not one).
func setPath(m map[string]any, path []string, v string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}
