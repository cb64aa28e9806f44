package handlers

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// Bounds of the domain event's texts taken from the payload. The provider
// bounds none of them, and an entry EventBridge refuses (PutEvents: under
// 256 KB) is an OrderPaid fulfilment never hears of: unbounded, a customer
// name of 50,000 "<" (a body of 50 KB, ingest accepts 256 KiB by default)
// made a detail of 300,521 bytes, since encoding/json writes "<" as the six
// bytes "\u003c". A longer text is cut to one character less, then "…"
// (clipTo; a byte that is not UTF-8 counts one character). The orders
// table keeps every text whole: the cut is the event's alone.
const (
	// MaxDetailTextRunes bounds the free texts: customer_name,
	// customer_email, failure_code, failure_message and each anomaly's
	// detail.
	MaxDetailTextRunes = 1000
	// MaxDetailIDRunes bounds the ids and codes: payment_id, refund_id,
	// currency (also of payments and refund), last_event_id,
	// source_event_id and source_event_type. Event ids and types are at
	// most 255 bytes already (ingest refuses longer), so they are never
	// cut; a real provider id or ISO 4217 code is far shorter.
	MaxDetailIDRunes = 255
	// MaxDetailOrderIDRunes bounds order_id: 2,048, DynamoDB's limit of
	// the orders table's key, so the id of a stored order is never cut.
	MaxDetailOrderIDRunes = 2048
)

// The worst case of an entry, every field at its bound (a test builds it):
// encoding/json writes any character in at most 6 bytes ("<", ">", "&",
// U+2028, U+2029, control characters and each byte that is not UTF-8 as a
// \u escape; any other character is at most 4 bytes of UTF-8), so a field
// cut at n characters is under 6n bytes. An order holds at most
// orders.MaxPayments (10) payments and one anomaly per kind (5).
//
//	free texts  (4 + 5 anomalies) × 1,000 × 6 =  54,000
//	ids, codes  (3 + 10 × 2 + 3 + 2) × 255 × 6 =  42,840
//	order_id                         2,048 × 6 =  12,288
//	keys, numbers, times, status, punctuation  <   4,000
//	detail                                     < 113,128
//
// The entry adds Time (14 bytes), Source and DetailType (under 40): under
// 114,000 bytes in all, less than half of PutEvents' 256 KB
// (TestDomainEventWorstCase measures a detail of 110,551 bytes).

// OrderDetail is the order as domain events carry it: bounded whatever the
// number of refunds (sums and counts, not one entry per refund), its texts
// from the payload cut (MaxDetailTextRunes, MaxDetailIDRunes,
// MaxDetailOrderIDRunes).
type OrderDetail struct {
	OrderID          string          `json:"order_id"`
	Status           string          `json:"status"`
	Amount           int64           `json:"amount"`
	Currency         string          `json:"currency,omitempty"`
	PaymentID        string          `json:"payment_id,omitempty"`
	CustomerEmail    string          `json:"customer_email,omitempty"`
	CustomerName     string          `json:"customer_name,omitempty"`
	PaidAt           *time.Time      `json:"paid_at,omitempty"`
	FailureCode      string          `json:"failure_code,omitempty"`
	FailureMessage   string          `json:"failure_message,omitempty"`
	FailedAt         *time.Time      `json:"failed_at,omitempty"`
	PaidTotal        int64           `json:"paid_total"`
	Payments         []PaymentDetail `json:"payments,omitempty"`
	RefundedTotal    int64           `json:"refunded_total"`
	RefundCount      int             `json:"refund_count"`
	Anomalies        []AnomalyDetail `json:"anomalies,omitempty"`
	LastEventID      string          `json:"last_event_id,omitempty"`
	LastEventCreated *time.Time      `json:"last_event_created,omitempty"`
	CreatedAt        *time.Time      `json:"created_at,omitempty"`
	UpdatedAt        *time.Time      `json:"updated_at,omitempty"`
}

// PaymentDetail is one successful payment of the order.
type PaymentDetail struct {
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
}

// AnomalyDetail is one anomaly of the order (see package orders).
type AnomalyDetail struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// RefundDetail is the refund an OrderRefunded event reports.
type RefundDetail struct {
	RefundID  string `json:"refund_id"`
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
}

// Detail is the JSON document of every domain event.
type Detail struct {
	Order           OrderDetail   `json:"order"`
	Refund          *RefundDetail `json:"refund,omitempty"`
	SourceEventID   string        `json:"source_event_id"`
	SourceEventType string        `json:"source_event_type"`
	Livemode        bool          `json:"livemode"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func orderDetail(o orders.Order) OrderDetail {
	var payments []PaymentDetail
	for _, p := range o.Payments {
		payments = append(payments, PaymentDetail{PaymentID: clipTo(p.PaymentID, MaxDetailIDRunes), Amount: p.Amount,
			Currency: clipTo(p.Currency, MaxDetailIDRunes)})
	}
	var anomalies []AnomalyDetail
	for _, a := range o.Anomalies {
		anomalies = append(anomalies, AnomalyDetail{Kind: string(a.Kind), Detail: clipTo(a.Detail, MaxDetailTextRunes)})
	}
	return OrderDetail{
		OrderID:          clipTo(o.ID, MaxDetailOrderIDRunes),
		Status:           string(o.Status),
		Amount:           o.Amount,
		Currency:         clipTo(o.Currency, MaxDetailIDRunes),
		PaymentID:        clipTo(o.PaymentID, MaxDetailIDRunes),
		CustomerEmail:    clipTo(o.CustomerEmail, MaxDetailTextRunes),
		CustomerName:     clipTo(o.CustomerName, MaxDetailTextRunes),
		PaidAt:           timePtr(o.PaidAt),
		FailureCode:      clipTo(o.FailureCode, MaxDetailTextRunes),
		FailureMessage:   clipTo(o.FailureMessage, MaxDetailTextRunes),
		FailedAt:         timePtr(o.FailedAt),
		PaidTotal:        o.PaidTotal,
		Payments:         payments,
		RefundedTotal:    o.RefundedTotal,
		RefundCount:      o.RefundCount,
		Anomalies:        anomalies,
		LastEventID:      clipTo(o.LastEventID, MaxDetailIDRunes),
		LastEventCreated: timePtr(o.LastEventCreated),
		CreatedAt:        timePtr(o.CreatedAt),
		UpdatedAt:        timePtr(o.UpdatedAt),
	}
}

// domainEvent builds the event of detailType about o, caused by ev, its
// payload's texts cut (MaxDetailTextRunes and the other bounds). The detail
// is encoded by encoding/json as it is, HTML escaping included: turning it
// off would shrink "<" but not the worst case (control characters and bytes
// that are not UTF-8 stay six bytes), and EventBridge parses the detail and
// writes its own JSON for every target anyway.
func domainEvent(detailType string, ev process.Event, o orders.Order, r *RefundDetail, now time.Time) (DomainEvent, error) {
	if r != nil {
		c := *r
		c.RefundID, c.PaymentID, c.Currency = clipTo(c.RefundID, MaxDetailIDRunes), clipTo(c.PaymentID, MaxDetailIDRunes), clipTo(c.Currency, MaxDetailIDRunes)
		r = &c
	}
	b, err := json.Marshal(Detail{
		Order:           orderDetail(o),
		Refund:          r,
		SourceEventID:   clipTo(ev.ID, MaxDetailIDRunes),
		SourceEventType: clipTo(ev.Type, MaxDetailIDRunes),
		Livemode:        ev.Livemode,
	})
	if err != nil {
		return DomainEvent{}, process.Permanent(fmt.Errorf("encode %s detail: %w", detailType, err))
	}
	return DomainEvent{DetailType: detailType, Detail: b, Time: now}, nil
}
