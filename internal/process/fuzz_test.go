package process_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// FuzzProcessBody feeds arbitrary bodies without attributes: every one is
// either processed or recorded FAILED under some id, never retried forever
// and never a panic.
func FuzzProcessBody(f *testing.F) {
	for _, name := range []string{"payment.succeeded.json", "payment.failed.json", "refund.completed.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":"evt_1","type":"payment.succeeded","created":1,"livemode":true,"data":{"object":null}}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		events := newFakeEvents()
		p := newProcessor(events, &stepsHandler{names: []string{"order"}}, fixedNow)
		res := p.Process(context.Background(), eventrecord.Message{Body: body})
		if res.Outcome != process.OutcomeProcessed && res.Outcome != process.OutcomeFailed {
			t.Fatalf("outcome %s: %v", res.Outcome, res.Err)
		}
		rec := events.get(t, res.EventID)
		if res.Outcome == process.OutcomeFailed && (rec.Status != eventrecord.Failed || string(rec.Body) != string(body)) {
			t.Fatalf("failed record %s with body %q", rec.Status, rec.Body)
		}
	})
}
