package sqsbatch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

// putEventsEntrySize is an entry's size as AWS documents it ("Calculating
// Amazon EventBridge PutEvents event entry size", EventBridge User Guide):
// Time 14 bytes when set, plus the UTF-8 bytes of Source, DetailType and
// Detail (the receiver sets no Resources). An entry must be under 256 KB,
// read here as 256,000 bytes, the smaller reading. moto enforces neither.
func putEventsEntrySize(source string, e handlers.DomainEvent) int {
	n := len(source) + len(e.DetailType) + len(e.Detail)
	if !e.Time.IsZero() {
		n += 14
	}
	return n
}

const putEventsEntryLimit = 256_000

// TestHugeCustomerNameReachesTheBus is the regression test of a domain event
// EventBridge refuses: a payment.succeeded whose customer name is 50,000
// "<" (a body of about 50 KB, well within ingest's 256 KiB) made an OrderPaid
// detail of 300,521 bytes, since encoding/json writes "<" as "\u003c". Through
// the real tables and EventBridge against moto: the entry put is under the
// limit by AWS's formula, the rule delivers it with the name cut at 1,000
// characters (999 and "…", docs/business-logic.md), and the orders table
// keeps the whole name.
func TestHugeCustomerNameReachesTheBus(t *testing.T) {
	w := newWired(t, false)
	order := testevents.NewID("ord_")
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded, Order: order}, w.now)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("<", 50_000)
	body := withCustomerName(t, ev.Body, name)
	w.deliver(t, record("m-"+ev.ID, ev.ID, ev.Type, body))

	if len(w.pub.entries) != 1 {
		t.Fatalf("put %d domain events, want 1", len(w.pub.entries))
	}
	n := putEventsEntrySize(ebpublish.DefaultSource, w.pub.entries[0])
	t.Logf("entry of %d bytes from a body of %d", n, len(body))
	if n >= putEventsEntryLimit {
		t.Errorf("entry of %d bytes from a body of %d: EventBridge refuses %d or more", n, len(body), putEventsEntryLimit)
	}
	got := w.published(t)
	want := strings.Repeat("<", 999) + "…"
	if len(got) != 1 || got[0].DetailType != handlers.DetailOrderPaid || got[0].Detail.Order.CustomerName != want {
		t.Errorf("delivered %d events, want one OrderPaid with the name cut to 1,000 characters", len(got))
	}
	o, err := w.orders.Get(context.Background(), order)
	if err != nil {
		t.Fatal(err)
	}
	if o.CustomerName != name {
		t.Errorf("the order keeps a name of %d characters, want the whole %d", len([]rune(o.CustomerName)), len(name))
	}
}

// withCustomerName returns the event body with data.object.customer.name
// set to name, encoded as a provider may send it (no HTML escaping).
func withCustomerName(t *testing.T, body []byte, name string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["data"].(map[string]any)["object"].(map[string]any)["customer"].(map[string]any)["name"] = name
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
