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

func greeting(name string) string {
	if name = strings.TrimSpace(name); name == "" {
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

// ConfirmationEmail is the email of a successful payment.
func ConfirmationEmail(o orders.Order) Email {
	paras := []string{
		greeting(o.CustomerName),
		fmt.Sprintf("We received your payment of %s for order %s. Thank you!", orders.FormatAmount(o.Amount, o.Currency), o.ID),
	}
	if o.RefundedTotal > 0 {
		// Refunds that arrived before this payment could not be told: a
		// refund carries no customer address. This email owes them.
		paras = append(paras, fmt.Sprintf("A refund of %s has also been made on this order.", orders.FormatAmount(o.RefundedTotal, o.Currency)))
	} else {
		paras = append(paras, "We will let you know when it ships.")
	}
	return Email{
		To:       o.CustomerEmail,
		Subject:  fmt.Sprintf("Order %s: payment confirmed", o.ID),
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
func FailureEmail(o orders.Order, amount int64, currency, retryURL string) Email {
	reason := o.FailureMessage
	if reason == "" {
		reason = "The payment was declined."
	}
	paras := []string{
		greeting(o.CustomerName),
		fmt.Sprintf("Your payment of %s for order %s did not go through. %s", orders.FormatAmount(amount, currency), o.ID, reason),
		"You can try again, or pay another way, here: " + retryURL,
	}
	return Email{
		To:       o.CustomerEmail,
		Subject:  fmt.Sprintf("Order %s: payment failed", o.ID),
		Text:     textBody(paras),
		HTML:     htmlBody(paras[:2], "Pay for your order", retryURL),
		Template: TemplatePaymentFailed,
		OrderID:  o.ID,
	}
}

// RefundEmail is the email of the completed refund refundID of amount. It
// names the refund, as the customer's statement may.
func RefundEmail(o orders.Order, refundID string, amount int64, currency string) Email {
	paras := []string{
		greeting(o.CustomerName),
		fmt.Sprintf("We refunded %s for order %s (refund reference %s).", orders.FormatAmount(amount, currency), o.ID, refundID),
		fmt.Sprintf("Refunded so far: %s.", orders.FormatAmount(o.RefundedTotal, currency)),
		"It may take a few days to appear on your statement.",
	}
	return Email{
		To:       o.CustomerEmail,
		Subject:  fmt.Sprintf("Order %s: refund of %s", o.ID, orders.FormatAmount(amount, currency)),
		Text:     textBody(paras),
		HTML:     htmlBody(paras, "", ""),
		Template: TemplateRefund,
		OrderID:  o.ID,
	}
}
