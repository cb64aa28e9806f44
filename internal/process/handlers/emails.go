package handlers

import (
	"fmt"
	"html"
	"net/url"
	"strings"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// The templates of the customer emails, as Email.Template names them.
const (
	TemplatePaymentConfirmation = "payment_confirmation"
	TemplatePaymentFailed       = "payment_failed"
	TemplateRefund              = "refund_notice"
)

// MaxEmailFieldRunes is the most characters of each text from the
// payload an email shows: the customer's name, the failure message, the
// order and refund ids and the currency code. Longer text is cut to
// MaxEmailFieldRunes-1 characters followed by "…". The provider bounds
// none of them, and a customer email must fit in one job on the email
// queue (an SQS message): unclipped, a name of 200,000 apostrophes in a
// payment ingest accepts (each 5 bytes once HTML-escaped, then JSON and
// base64) makes a job over SQS's 1 MiB. The retry link is not cut (a cut
// link leads nowhere); its order id is bounded by the orders table's key.
const MaxEmailFieldRunes = 200

// clip returns s cut to MaxEmailFieldRunes characters (see clipTo).
func clip(s string) string { return clipTo(s, MaxEmailFieldRunes) }

// amount is orders.FormatAmount with the currency code clipped.
func amount(minor int64, currency string) string {
	return orders.FormatAmount(minor, clip(currency))
}

func greeting(name string) string {
	if name = clip(strings.TrimSpace(name)); name == "" {
		return "Hello,"
	}
	return "Hello " + name + ","
}

// htmlBody wraps paragraphs of plain text (escaped) into a minimal HTML
// document; link, when set, is added as a last paragraph.
func htmlBody(paras []string, linkText, link string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><body>")
	for _, p := range paras {
		b.WriteString("<p>")
		b.WriteString(html.EscapeString(p))
		b.WriteString("</p>")
	}
	if link != "" {
		fmt.Fprintf(&b, `<p><a href="%s">%s</a></p>`, html.EscapeString(link), html.EscapeString(linkText))
	}
	b.WriteString("</body></html>")
	return b.String()
}

func textBody(paras []string) string {
	return strings.Join(paras, "\n\n") + "\n"
}

// ConfirmationEmail is the email of a successful payment. The payload's
// texts in it are clipped (MaxEmailFieldRunes), as in every email.
func ConfirmationEmail(o orders.Order) Email {
	paras := []string{
		greeting(o.CustomerName),
		fmt.Sprintf("We received your payment of %s for order %s. Thank you!", amount(o.Amount, o.Currency), clip(o.ID)),
	}
	if o.RefundedTotal > 0 {
		// Refunds that arrived before this payment could not be told: a
		// refund carries no customer address. This email owes them.
		paras = append(paras, fmt.Sprintf("A refund of %s has also been made on this order.", amount(o.RefundedTotal, o.Currency)))
	} else {
		paras = append(paras, "We will let you know when it ships.")
	}
	return Email{
		To:       o.CustomerEmail,
		Subject:  fmt.Sprintf("Order %s: payment confirmed", clip(o.ID)),
		Text:     textBody(paras),
		HTML:     htmlBody(paras, "", ""),
		Template: TemplatePaymentConfirmation,
		OrderID:  o.ID,
	}
}

// RetryURL fills the order id into tmpl ({order_id}), path-escaped.
func RetryURL(tmpl, orderID string) string {
	if tmpl == "" {
		tmpl = DefaultRetryURLTemplate
	}
	return strings.ReplaceAll(tmpl, "{order_id}", url.PathEscape(orderID))
}

// FailureEmail is the email of a failed payment, with the link where the
// customer can pay again.
func FailureEmail(o orders.Order, minor int64, currency, retryURL string) Email {
	reason := clip(strings.TrimSpace(o.FailureMessage))
	if reason == "" {
		reason = "The payment was declined."
	}
	paras := []string{
		greeting(o.CustomerName),
		fmt.Sprintf("Your payment of %s for order %s did not go through. %s", amount(minor, currency), clip(o.ID), reason),
		"You can try again, or pay another way, here: " + retryURL,
	}
	return Email{
		To:       o.CustomerEmail,
		Subject:  fmt.Sprintf("Order %s: payment failed", clip(o.ID)),
		Text:     textBody(paras),
		HTML:     htmlBody(paras[:2], "Pay for your order", retryURL),
		Template: TemplatePaymentFailed,
		OrderID:  o.ID,
	}
}

// RefundEmail is the email of the completed refund refundID of amount. It
// names the refund, as the customer's statement may.
func RefundEmail(o orders.Order, refundID string, minor int64, currency string) Email {
	paras := []string{
		greeting(o.CustomerName),
		fmt.Sprintf("We refunded %s for order %s (refund reference %s).", amount(minor, currency), clip(o.ID), clip(refundID)),
		fmt.Sprintf("Refunded so far: %s.", amount(o.RefundedTotal, currency)),
		"It may take a few days to appear on your statement.",
	}
	return Email{
		To:       o.CustomerEmail,
		Subject:  fmt.Sprintf("Order %s: refund of %s", clip(o.ID), amount(minor, currency)),
		Text:     textBody(paras),
		HTML:     htmlBody(paras, "", ""),
		Template: TemplateRefund,
		OrderID:  o.ID,
	}
}
