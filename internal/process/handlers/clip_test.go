package handlers_test

import (
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// The payload's texts an email shows are cut at handlers.MaxEmailFieldRunes
// characters, the last "…" (docs/business-logic.md); the model here is
// written out by hand.
func TestEmailFieldsAreClipped(t *testing.T) {
	const max = handlers.MaxEmailFieldRunes
	tests := []struct {
		name, in, want string
	}{
		{"short", "Renée O'Brien", "Renée O'Brien"},
		{"exactly the limit", strings.Repeat("é", max), strings.Repeat("é", max)},
		{"one over", strings.Repeat("a", max+1), strings.Repeat("a", max-1) + "…"},
		{"huge, escaped in HTML", strings.Repeat("'", 200_000), strings.Repeat("'", max-1) + "…"},
		{"four-byte characters", strings.Repeat("😀", max+5), strings.Repeat("😀", max-1) + "…"},
		{"spaces trimmed first", strings.Repeat(" ", 500) + "Ann", "Ann"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := orders.Order{ID: "ord_1", CustomerEmail: "buyer@example.org", CustomerName: tc.in, Amount: 100, Currency: "usd",
				FailureMessage: tc.in}
			want := "Hello " + tc.want + ",\n"
			for _, e := range []handlers.Email{handlers.ConfirmationEmail(o), handlers.FailureEmail(o, 100, "usd", "https://shop.example.com/pay"),
				handlers.RefundEmail(o, "re_1", 100, "usd")} {
				if !strings.HasPrefix(e.Text, want) {
					t.Errorf("%s: text starts %.80q…, want %.80q…", e.Template, e.Text, want)
				}
			}
			if got := handlers.FailureEmail(o, 100, "usd", "https://shop.example.com/pay").Text; !strings.Contains(got, "did not go through. "+tc.want+"\n") {
				t.Errorf("failure notice %.200q: want the failure message clipped to %.80q…", got, tc.want)
			}
		})
	}
	t.Run("ids and currency", func(t *testing.T) {
		long := strings.Repeat("x", 3*max)
		cut := strings.Repeat("x", max-1) + "…"
		o := orders.Order{ID: long, CustomerEmail: "buyer@example.org", Amount: 100, Currency: long}
		for _, e := range []handlers.Email{handlers.ConfirmationEmail(o), handlers.FailureEmail(o, 100, long, "https://shop.example.com/pay"),
			handlers.RefundEmail(o, long, 100, long)} {
			if strings.Contains(e.Text, long) || strings.Contains(e.Subject, long) || !strings.Contains(e.Subject, "Order "+cut) ||
				!strings.Contains(e.Text, "1.00 "+strings.ToUpper(cut)) {
				t.Errorf("%s: subject %.300q text %.300q: want the order id and currency clipped", e.Template, e.Subject, e.Text)
			}
			if e.OrderID != long {
				t.Errorf("%s: the job's order id (for logs and records) changed", e.Template)
			}
		}
	})
}
