package handlers

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process"
)

// payment is the data.object of payment.* events. Unknown fields are
// ignored.
type payment struct {
	ID             string `json:"id"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
	Created        int64  `json:"created"` // the payment's own time, Unix seconds
	FailureCode    string `json:"failure_code"`
	FailureMessage string `json:"failure_message"`
	Customer       struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"customer"`
	Metadata metadata `json:"metadata"`
}

// refund is the data.object of refund.* events.
type refund struct {
	ID        string   `json:"id"`
	PaymentID string   `json:"payment_id"`
	Amount    int64    `json:"amount"`
	Currency  string   `json:"currency"`
	Status    string   `json:"status"`
	Metadata  metadata `json:"metadata"`
}

type metadata struct {
	OrderID string `json:"order_id"`
}

// unixTime is the time of Unix seconds sec, or the zero time for 0.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// invalid returns the permanent error of a data.object that cannot be
// applied.
func invalid(format string, args ...any) error {
	return process.Permanent(fmt.Errorf("%w: %s", process.ErrInvalidPayload, fmt.Sprintf(format, args...)))
}

func parsePayment(ev process.Event) (payment, error) {
	var p payment
	if err := json.Unmarshal(ev.Object, &p); err != nil {
		return p, invalid("payment: %v", err)
	}
	switch {
	case strings.TrimSpace(p.Metadata.OrderID) == "":
		return p, invalid("payment %s: no metadata.order_id", p.ID)
	case p.ID == "":
		return p, invalid("payment: no id")
	case p.Amount < 0:
		return p, invalid("payment %s: negative amount", p.ID)
	case p.Currency == "":
		return p, invalid("payment %s: no currency", p.ID)
	}
	return p, nil
}

func parseRefund(ev process.Event) (refund, error) {
	var r refund
	if err := json.Unmarshal(ev.Object, &r); err != nil {
		return r, invalid("refund: %v", err)
	}
	switch {
	case strings.TrimSpace(r.Metadata.OrderID) == "":
		return r, invalid("refund %s: no metadata.order_id", r.ID)
	case r.ID == "":
		return r, invalid("refund: no id")
	case r.PaymentID == "":
		return r, invalid("refund %s: no payment_id", r.ID)
	case r.Amount <= 0:
		return r, invalid("refund %s: amount must be positive", r.ID)
	case r.Currency == "":
		return r, invalid("refund %s: no currency", r.ID)
	}
	return r, nil
}
