package handlers_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// The model of EventBridge's limit, written out from AWS's documentation
// ("Calculating Amazon EventBridge PutEvents event entry size", EventBridge
// User Guide): an entry's size is 14 bytes for Time when it is set, plus
// the UTF-8 bytes of Source, DetailType and Detail, plus those of each
// Resources entry (the receiver sets none). An entry must be under 256 KB;
// the test reads that as 256,000 bytes, the smaller of the two readings.
const (
	putEventsEntryLimit = 256_000
	// eventSource is the Source the receiver publishes under
	// (ebpublish.DefaultSource, a deployment constant).
	eventSource = "altafinex.webhooks"
	// The body limits ingest accepts: its default (ingest.DefaultMaxBody)
	// and the largest a deployment can configure (eventrecord.MaxBodyBytes),
	// both from docs/architecture.md.
	defaultMaxBody = 256 << 10
	largestMaxBody = 393_216
	// The documented bounds of the domain event's fields taken from the
	// payload (docs/business-logic.md): free text 1,000 characters, ids
	// and currency codes 255, the order id 2,048 (the orders table's key
	// limit). A longer value is cut to one character less, then "…".
	textRunes    = 1000
	idRunes      = 255
	orderIDRunes = 2048
)

func entrySize(e handlers.DomainEvent) int {
	n := len(eventSource) + len(e.DetailType) + len(e.Detail)
	if !e.Time.IsZero() {
		n += 14
	}
	return n
}

// cut is the documented clipping, written out by hand: the first max-1
// characters of s and "…" when s has more than max.
func cut(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}

// rawEvent reads a sample event, edits its data.object and encodes it as a
// provider may send it: JSON without HTML escaping ("<" is one byte of the
// body, six of an HTML-escaped detail).
func rawEvent(t testing.TB, name string, edit func(obj map[string]any)) process.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(object(m))
	encode := func(v any) []byte {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	return process.Event{
		ID:      m["id"].(string),
		Type:    m["type"].(string),
		Created: time.Unix(int64(m["created"].(float64)), 0).UTC(),
		Object:  encode(object(m)),
		Body:    encode(m),
		Attempt: 1,
	}
}

// TestDomainEventFitsEventBridge is the regression test of domain events
// that EventBridge refuses: a payload ingest accepts, with one text made
// huge, must yield an entry under the PutEvents limit, with that text cut
// at its documented bound, while the order keeps the whole text.
func TestDomainEventFitsEventBridge(t *testing.T) {
	lt := strings.Repeat("<", 50_000) // 50,000 bytes of body, 300,000 HTML-escaped
	emoji := strings.Repeat("😀", 98_000)
	quotes := strings.Repeat("\"\x01", 48_000) // 8 bytes of body a pair, 8 of detail
	long := strings.Repeat("p", 150_000)
	tests := []struct {
		name, sample string
		limit        int // the body limit the event fits
		edit         func(obj map[string]any)
		got          func(d handlers.Detail) []string // the fields that carry the text
		want         string
		stored       func(o orders.Order) string // what the order keeps, when it keeps the text
		full         string
	}{
		{"name of <", "payment.succeeded", defaultMaxBody,
			func(o map[string]any) { o["customer"].(map[string]any)["name"] = lt },
			func(d handlers.Detail) []string { return []string{d.Order.CustomerName} }, cut(lt, textRunes),
			func(o orders.Order) string { return o.CustomerName }, lt},
		{"name of four-byte characters", "payment.succeeded", largestMaxBody,
			func(o map[string]any) { o["customer"].(map[string]any)["name"] = emoji },
			func(d handlers.Detail) []string { return []string{d.Order.CustomerName} }, cut(emoji, textRunes),
			func(o orders.Order) string { return o.CustomerName }, emoji},
		{"name of quotes and control characters", "payment.succeeded", largestMaxBody,
			func(o map[string]any) { o["customer"].(map[string]any)["name"] = quotes },
			func(d handlers.Detail) []string { return []string{d.Order.CustomerName} }, cut(quotes, textRunes),
			func(o orders.Order) string { return o.CustomerName }, quotes},
		{"email of &", "payment.succeeded", defaultMaxBody,
			func(o map[string]any) { o["customer"].(map[string]any)["email"] = strings.ReplaceAll(lt, "<", "&") },
			func(d handlers.Detail) []string { return []string{d.Order.CustomerEmail} }, cut(strings.ReplaceAll(lt, "<", "&"), textRunes),
			nil, ""},
		{"payment id, shown twice", "payment.succeeded", defaultMaxBody,
			func(o map[string]any) { o["id"] = long },
			func(d handlers.Detail) []string { return []string{d.Order.PaymentID, d.Order.Payments[0].PaymentID} }, cut(long, idRunes),
			func(o orders.Order) string { return o.PaymentID }, long},
		{"currency of <", "payment.succeeded", defaultMaxBody,
			func(o map[string]any) { o["currency"] = lt },
			func(d handlers.Detail) []string { return []string{d.Order.Currency, d.Order.Payments[0].Currency} }, cut(lt, idRunes),
			nil, ""},
		{"order id of <", "payment.succeeded", defaultMaxBody,
			func(o map[string]any) { o["metadata"].(map[string]any)["order_id"] = lt },
			func(d handlers.Detail) []string { return []string{d.Order.OrderID} }, cut(lt, orderIDRunes),
			nil, ""},
		{"failure message of >", "payment.failed", defaultMaxBody,
			func(o map[string]any) { o["failure_message"] = strings.ReplaceAll(lt, "<", ">") },
			func(d handlers.Detail) []string { return []string{d.Order.FailureMessage} }, cut(strings.ReplaceAll(lt, "<", ">"), textRunes),
			func(o orders.Order) string { return o.FailureMessage }, strings.ReplaceAll(lt, "<", ">")},
		{"failure code of <", "payment.failed", defaultMaxBody,
			func(o map[string]any) { o["failure_code"] = lt },
			func(d handlers.Detail) []string { return []string{d.Order.FailureCode} }, cut(lt, textRunes),
			func(o orders.Order) string { return o.FailureCode }, lt},
		{"refund id of <", "refund.completed", defaultMaxBody,
			func(o map[string]any) { o["id"] = lt },
			func(d handlers.Detail) []string { return []string{d.Refund.RefundID} }, cut(lt, idRunes),
			nil, ""},
		{"refund's payment id of <", "refund.completed", defaultMaxBody,
			func(o map[string]any) { o["payment_id"] = lt },
			func(d handlers.Detail) []string { return []string{d.Refund.PaymentID} }, cut(lt, idRunes),
			nil, ""},
		{"refund currency of <", "refund.completed", defaultMaxBody,
			func(o map[string]any) { o["currency"] = lt },
			func(d handlers.Detail) []string { return []string{d.Refund.Currency, d.Order.Currency} }, cut(lt, idRunes),
			nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := rawEvent(t, tc.sample, tc.edit)
			if len(ev.Body) > tc.limit {
				t.Fatalf("body of %d bytes: ingest refuses over %d", len(ev.Body), tc.limit)
			}
			f := newFixture()
			f.mustHandle(t, ev)
			if len(f.pub.published) != 1 {
				t.Fatalf("published %d events", len(f.pub.published))
			}
			de := f.pub.published[0]
			if n := entrySize(de); n >= putEventsEntryLimit {
				t.Errorf("%s entry of %d bytes (detail %d) from a body of %d: EventBridge refuses %d or more",
					de.DetailType, n, len(de.Detail), len(ev.Body), putEventsEntryLimit)
			}
			var d handlers.Detail
			if err := json.Unmarshal(de.Detail, &d); err != nil {
				t.Fatal(err)
			}
			for i, got := range tc.got(d) {
				if got != tc.want {
					t.Errorf("field %d: %d characters %.40q…, want %d characters %.40q…", i, len([]rune(got)), got, len([]rune(tc.want)), tc.want)
				}
			}
			if tc.stored == nil {
				return
			}
			for _, o := range f.orders.m {
				if got := tc.stored(o); got != tc.full {
					t.Errorf("the order keeps %d characters, want the whole %d", len([]rune(got)), len([]rune(tc.full)))
				}
			}
		})
	}
}

// TestDomainEventWorstCase builds the largest domain event an order can
// make, every text of it at its bound in characters that encoding/json
// writes in six bytes, and checks it against the arithmetic written out in
// domainevents.go and docs/business-logic.md.
func TestDomainEventWorstCase(t *testing.T) {
	const (
		worstDetail = 113_128 // 54,000 + 42,840 + 12,288 + 4,000 for keys, numbers and times
		worstEntry  = 114_000
	)
	huge := strings.Repeat("<", 3*orderIDRunes)
	at := time.Date(2026, 11, 28, 12, 0, 0, 123456789, time.UTC)
	o := orders.Order{
		ID: huge, Status: orders.PartiallyRefunded, Amount: math.MinInt64, Currency: huge, PaymentID: huge,
		CustomerEmail: huge, CustomerName: huge, PaymentEventID: huge, PaidAt: at, PaidEventID: huge,
		FailureCode: huge, FailureMessage: huge, FailedAt: at, PaidTotal: math.MinInt64, RefundCount: math.MinInt,
		RefundedTotal: math.MinInt64, LastEventID: huge, LastEventCreated: at, CreatedAt: at, UpdatedAt: at,
	}
	for range orders.MaxPayments {
		o.Payments = append(o.Payments, orders.PaymentRecord{PaymentID: huge, Amount: math.MinInt64, Currency: huge, Created: at})
	}
	for _, k := range orders.AnomalyKinds() {
		o.Anomalies = append(o.Anomalies, orders.Anomaly{Kind: k, Detail: huge})
	}
	r := &handlers.RefundDetail{RefundID: huge, PaymentID: huge, Amount: math.MinInt64, Currency: huge}
	ev := process.Event{ID: huge, Type: huge, Livemode: true}
	for _, typ := range []string{handlers.DetailOrderPaid, handlers.DetailOrderPaymentFailed, handlers.DetailOrderRefunded} {
		de, err := handlers.BuildDomainEvent(typ, ev, o, r, at)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: detail %d bytes, entry %d", typ, len(de.Detail), entrySize(de))
		if len(de.Detail) >= worstDetail || entrySize(de) >= worstEntry {
			t.Errorf("%s: detail of %d bytes, entry of %d: the documented worst case is under %d and %d",
				typ, len(de.Detail), entrySize(de), worstDetail, worstEntry)
		}
		var d handlers.Detail
		if err := json.Unmarshal(de.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d.Order.CustomerName != cut(huge, textRunes) || d.Order.OrderID != cut(huge, orderIDRunes) ||
			d.Refund.RefundID != cut(huge, idRunes) || d.SourceEventID != cut(huge, idRunes) ||
			d.Order.Anomalies[4].Detail != cut(huge, textRunes) || d.Order.Payments[9].Currency != cut(huge, idRunes) {
			t.Errorf("%s: a field is not cut at its documented bound", typ)
		}
	}
}
