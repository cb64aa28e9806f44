package processorapp_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
)

var (
	_ process.Events     = (*memEvents)(nil)
	_ handlers.Orders    = (*memOrders)(nil)
	_ handlers.Mailer    = (*memMailer)(nil)
	_ handlers.Publisher = (*memPublisher)(nil)
)

// memEvents is a zero-latency in-memory events table with the claim and
// finish rules of ddbevents.Table: a claim succeeds on a missing, RECEIVED
// or RETRYING record, or a PROCESSING one whose lease ended, and counts the
// attempt; a finish must hold the claim's token.
type memEvents struct {
	mu       sync.Mutex
	recs     map[string]eventrecord.Record
	claims   int
	finishes []eventrecord.Record
}

// Claim claims rec.EventID under rec.Token, creating the record when
// missing, or returns *eventrecord.ConflictError.
func (m *memEvents) Claim(_ context.Context, rec eventrecord.Record, now time.Time) (eventrecord.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.claims++
	old, ok := m.recs[rec.EventID]
	switch {
	case !ok || old.Expired(now):
		old = rec
		old.Attempts, old.Steps = 0, nil
	case old.Status == eventrecord.Received, old.Status == eventrecord.Retrying:
	case old.Status == eventrecord.Processing && !old.LeaseLive(now):
	default:
		return eventrecord.Record{}, &eventrecord.ConflictError{Existing: old}
	}
	old.Status = eventrecord.Processing
	old.Token, old.LeaseUntil, old.ExpiresAt = rec.Token, rec.LeaseUntil, rec.ExpiresAt
	old.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
	old.Attempts++
	m.recs[rec.EventID] = old
	return old, nil
}

// Finish writes the final status of the attempt held under rec.Token.
func (m *memEvents) Finish(_ context.Context, rec eventrecord.Record, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch rec.Status {
	case eventrecord.Processed, eventrecord.Retrying, eventrecord.Failed:
	default:
		return fmt.Errorf("finish event %s: status %q is not PROCESSED, RETRYING or FAILED", rec.EventID, rec.Status)
	}
	old, ok := m.recs[rec.EventID]
	if !ok || old.Token != rec.Token {
		return &eventrecord.ConflictError{Existing: old}
	}
	rec.LeaseUntil = time.Time{}
	rec.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
	m.recs[rec.EventID] = rec
	m.finishes = append(m.finishes, rec)
	return nil
}

// memOrders is a zero-latency in-memory orders table with the rules of
// ddborders.Store: the fact is validated, merged with package orders' pure
// rules, and stored (times at millisecond precision) only when it changed
// the order; a refund id is applied once.
type memOrders struct {
	mu      sync.Mutex
	orders  map[string]orders.Order
	refunds map[string]orders.Refund
	applies int
}

// ApplyPayment applies p to order orderID.
func (m *memOrders) ApplyPayment(_ context.Context, orderID string, p orders.Payment, now time.Time) (orders.Applied, error) {
	if err := p.Validate(); err != nil {
		return orders.Applied{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	p.EventCreated, p.PaymentCreated = orders.Millis(p.EventCreated), orders.Millis(p.PaymentCreated)
	return m.apply(orderID, orders.Millis(now), func(o orders.Order) (orders.Order, bool) { return o.ApplyPayment(p) })
}

// ApplyRefund applies r to order orderID, once per refund id.
func (m *memOrders) ApplyRefund(_ context.Context, orderID string, r orders.Refund, now time.Time) (orders.Applied, orders.Refund, error) {
	if err := r.Validate(); err != nil {
		return orders.Applied{}, orders.Refund{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	r.EventCreated = orders.Millis(r.EventCreated)
	m.mu.Lock()
	held, dup := m.refunds[orderID+"/"+r.RefundID]
	m.mu.Unlock()
	if dup {
		o, _ := m.Get(context.Background(), orderID)
		return orders.Applied{Order: o}, held, nil
	}
	a, err := m.apply(orderID, orders.Millis(now), func(o orders.Order) (orders.Order, bool) { return o.ApplyRefund(r) })
	if err == nil {
		m.mu.Lock()
		m.refunds[orderID+"/"+r.RefundID] = r
		m.mu.Unlock()
	}
	return a, r, err
}

func (m *memOrders) apply(orderID string, now time.Time, rule func(orders.Order) (orders.Order, bool)) (orders.Applied, error) {
	if strings.TrimSpace(orderID) == "" {
		return orders.Applied{}, fmt.Errorf("no order id: %w", orders.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.applies++
	old, exists := m.orders[orderID]
	if !exists {
		old = orders.Order{ID: orderID}
	}
	n, changed := rule(old)
	if !changed {
		return orders.Applied{Order: old}, nil
	}
	n = n.Stamped(orderID, !exists, now)
	m.orders[orderID] = n
	return orders.Applied{Order: n, Changed: true, NewAnomalies: orders.NewAnomalies(old, n)}, nil
}

// GetRefund returns the refund recorded for refundID.
func (m *memOrders) GetRefund(_ context.Context, orderID, refundID string) (orders.Refund, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.refunds[orderID+"/"+refundID]
	if !ok {
		return r, fmt.Errorf("refund %s: %w", refundID, ddborders.ErrNotFound)
	}
	return r, nil
}

// Get returns order orderID, or ddborders.ErrNotFound.
func (m *memOrders) Get(_ context.Context, orderID string) (orders.Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[orderID]
	if !ok {
		return orders.Order{}, fmt.Errorf("order %s: %w", orderID, ddborders.ErrNotFound)
	}
	return o, nil
}

// memMailer keeps the emails sent.
type memMailer struct {
	mu   sync.Mutex
	sent []handlers.Email
}

// Send keeps e.
func (m *memMailer) Send(_ context.Context, e handlers.Email) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, e)
	return nil
}

// memPublisher keeps the domain events published.
type memPublisher struct {
	mu        sync.Mutex
	published []handlers.DomainEvent
}

// Publish keeps e.
func (m *memPublisher) Publish(_ context.Context, e handlers.DomainEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.published = append(m.published, e)
	return nil
}

// fakes are the processor's four dependencies, in memory.
type fakes struct {
	events    *memEvents
	orders    *memOrders
	mailer    *memMailer
	publisher *memPublisher
}

func newFakes() *fakes {
	return &fakes{
		events:    &memEvents{recs: map[string]eventrecord.Record{}},
		orders:    &memOrders{orders: map[string]orders.Order{}, refunds: map[string]orders.Refund{}},
		mailer:    &memMailer{},
		publisher: &memPublisher{},
	}
}

// hooks put the fakes in place of what processorapp.New builds: each hook
// drops the production dependency it is handed.
func (f *fakes) hooks() processorapp.TestHooks {
	return processorapp.TestHooks{
		Events:    func(process.Events) process.Events { return f.events },
		Orders:    func(handlers.Orders) handlers.Orders { return f.orders },
		Mailer:    func(handlers.Mailer) handlers.Mailer { return f.mailer },
		Publisher: func(handlers.Publisher) handlers.Publisher { return f.publisher },
	}
}

// tally counts what the fakes saw.
type tally struct {
	claims, processed, orderUpdates, emails, domainEvents int
}

// tally returns what the fakes saw since the last reset.
func (f *fakes) tally() tally {
	f.events.mu.Lock()
	t := tally{claims: f.events.claims}
	for _, r := range f.events.finishes {
		if r.Status == eventrecord.Processed {
			t.processed++
		}
	}
	f.events.mu.Unlock()
	f.orders.mu.Lock()
	t.orderUpdates = f.orders.applies
	f.orders.mu.Unlock()
	f.mailer.mu.Lock()
	t.emails = len(f.mailer.sent)
	f.mailer.mu.Unlock()
	f.publisher.mu.Lock()
	t.domainEvents = len(f.publisher.published)
	f.publisher.mu.Unlock()
	return t
}

// reset empties the fakes, keeping their storage, so that the same events
// are processed for the first time again; it returns what they saw.
func (f *fakes) reset() tally {
	t := f.tally()
	f.events.mu.Lock()
	clear(f.events.recs)
	f.events.claims, f.events.finishes = 0, f.events.finishes[:0]
	f.events.mu.Unlock()
	f.orders.mu.Lock()
	clear(f.orders.orders)
	clear(f.orders.refunds)
	f.orders.applies = 0
	f.orders.mu.Unlock()
	f.mailer.mu.Lock()
	f.mailer.sent = f.mailer.sent[:0]
	f.mailer.mu.Unlock()
	f.publisher.mu.Lock()
	f.publisher.published = f.publisher.published[:0]
	f.publisher.mu.Unlock()
	return t
}
