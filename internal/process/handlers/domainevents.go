package handlers

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// OrderDetail is the order as domain events carry it: bounded whatever the
// number of refunds (sums and counts, not one entry per refund).
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
		payments = append(payments, PaymentDetail{PaymentID: p.PaymentID, Amount: p.Amount, Currency: p.Currency})
	}
	var anomalies []AnomalyDetail
	for _, a := range o.Anomalies {
		anomalies = append(anomalies, AnomalyDetail{Kind: string(a.Kind), Detail: a.Detail})
	}
	return OrderDetail{
		OrderID:          o.ID,
		Status:           string(o.Status),
		Amount:           o.Amount,
		Currency:         o.Currency,
		PaymentID:        o.PaymentID,
		CustomerEmail:    o.CustomerEmail,
		CustomerName:     o.CustomerName,
		PaidAt:           timePtr(o.PaidAt),
		FailureCode:      o.FailureCode,
		FailureMessage:   o.FailureMessage,
		FailedAt:         timePtr(o.FailedAt),
		PaidTotal:        o.PaidTotal,
		Payments:         payments,
		RefundedTotal:    o.RefundedTotal,
		RefundCount:      o.RefundCount,
		Anomalies:        anomalies,
		LastEventID:      o.LastEventID,
		LastEventCreated: timePtr(o.LastEventCreated),
		CreatedAt:        timePtr(o.CreatedAt),
		UpdatedAt:        timePtr(o.UpdatedAt),
	}
}

// domainEvent builds the event of detailType about o, caused by ev.
func domainEvent(detailType string, ev process.Event, o orders.Order, r *RefundDetail, now time.Time) (DomainEvent, error) {
	b, err := json.Marshal(Detail{
		Order:           orderDetail(o),
		Refund:          r,
		SourceEventID:   ev.ID,
		SourceEventType: ev.Type,
		Livemode:        ev.Livemode,
	})
	if err != nil {
		return DomainEvent{}, process.Permanent(fmt.Errorf("encode %s detail: %w", detailType, err))
	}
	return DomainEvent{DetailType: detailType, Detail: b, Time: now}, nil
}
