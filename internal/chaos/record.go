package chaos

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/handlers"
	"github.com/altafinex-webhooks/receiver/internal/orders"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

var (
	_ process.Handler    = (*RecordingHandler)(nil)
	_ process.Events     = (*RecordingEvents)(nil)
	_ handlers.Orders    = (*RecordingOrders)(nil)
	_ handlers.Mailer    = (*RecordingMailer)(nil)
	_ handlers.Publisher = (*RecordingPublisher)(nil)
)

// ErrInjected is the (transient) error of every fault the Recorder injects.
var ErrInjected = errors.New("chaos: injected fault")

// The kinds of injected processor faults, as Recorder.Injected counts them.
const (
	InjectEmailBefore   = "email: fail before the send"
	InjectEmailAfter    = "email: crash after the send"
	InjectPublishBefore = "publish: fail before the send"
	InjectPublishAfter  = "publish: crash after the send"
)

// Apply is one call of the order step.
type Apply struct {
	Changed bool
	// Holds: the order as returned names this event as the one whose fact
	// it holds (PaymentEventID for payments, RefundEvents for refunds): the
	// handlers' test for a retry that still owes the notice.
	Holds bool
	// Addressed: the order as returned has a customer email address (a
	// refund applied before its payment has none, and emails no one).
	Addressed bool
	Err       string
}

// FinishCall is the processor's final write of an attempt.
type FinishCall struct {
	Status eventrecord.Status
	Steps  []string
	Err    string
	// Conflict: the write was refused because another attempt holds the
	// record (the lease was lost).
	Conflict bool
}

// Attempt is one run of a handler for one event: a successful claim.
type Attempt struct {
	EventID string
	N       int // the claim count, process.Event.Attempt
	// Resumed: an earlier attempt completed the order step.
	Resumed  bool
	ReadBack bool // the order was read back (Resumed)
	// ReadBackAddressed: the order read back has a customer address.
	ReadBackAddressed bool
	Applies           []Apply
	EmailsSent        int
	Published         int
	// Injected lists the faults injected into this attempt.
	Injected   []string
	HandlerErr string
	Finish     *FinishCall
}

// Notified reports whether this attempt decided that the customer and the
// bus are to be told: it resumed after the order step, or its order step
// changed the order or found it holding this event's fact. addressed
// reports whether the order it decided on had a customer address. ok is
// false when the attempt made no decision (its order step failed, or
// reading the order back did).
func (a Attempt) Notified() (notify, addressed, ok bool) {
	if a.Resumed {
		return true, a.ReadBackAddressed, a.ReadBack
	}
	for _, ap := range a.Applies {
		if ap.Err == "" {
			return ap.Changed || ap.Holds, ap.Addressed, true
		}
	}
	return false, false, false
}

// Crashed reports whether the fault kind was injected into this attempt.
func (a Attempt) Crashed(kind string) bool { return slices.Contains(a.Injected, kind) }

// Sent is one real email or domain event, sent by the emulator.
type Sent struct {
	EventID string
	Attempt int
	Kind    string // the email template or the domain event's detail type
	At      time.Time
}

// Recorder records the processor's attempts and effects and injects
// faults into its sends. Its decorators share it; it is safe for
// concurrent use.
type Recorder struct {
	mu sync.Mutex
	// failBefore and crashAfter are the chances that a send fails before
	// reaching the service, or that the attempt "crashes" right after a
	// real send (the send returns an error, so its step is not recorded
	// as completed).
	failBefore, crashAfter float64
	rng                    *mrand.Rand
	inject                 bool
	attempts               map[string][]*Attempt
	emails, published      []Sent
	injected               map[string]int
	claims                 map[string]int
	// unsure counts, by kind, sends that returned an error other than an
	// injected one: the request may have reached the service (a timeout
	// after SES stored the mail), so the service may hold one more.
	unsure map[string]int
}

// NewRecorder returns a Recorder that injects faults with the given
// chances, drawn from a generator seeded with seed.
func NewRecorder(seed uint64, failBefore, crashAfter float64) *Recorder {
	return &Recorder{
		failBefore: failBefore, crashAfter: crashAfter,
		rng:      mrand.New(mrand.NewPCG(seed, seed+1)),
		inject:   true,
		attempts: map[string][]*Attempt{},
		injected: map[string]int{},
		claims:   map[string]int{},
		unsure:   map[string]int{},
	}
}

// SetInjecting turns fault injection on or off.
func (r *Recorder) SetInjecting(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inject = on
}

// roll reports whether a fault of chance p fires now.
func (r *Recorder) roll(p float64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.inject && p > 0 && r.rng.Float64() < p
}

// update runs fn on the attempt of ctx under the lock; without an attempt
// in ctx it does nothing.
func (r *Recorder) update(ctx context.Context, fn func(a *Attempt)) {
	a, ok := ctx.Value(attemptKey{}).(*Attempt)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(a)
}

type attemptKey struct{}

// Handlers returns reg with every handler wrapped by a RecordingHandler.
func (r *Recorder) Handlers(reg process.Registry) process.Registry {
	out := make(process.Registry, len(reg))
	for typ, h := range reg {
		out[typ] = &RecordingHandler{rec: r, next: h}
	}
	return out
}

// RecordingHandler records each run of the handler it wraps as an Attempt
// and hands the attempt to the other decorators through the context.
type RecordingHandler struct {
	rec  *Recorder
	next process.Handler
}

// Handle runs the wrapped handler.
func (h *RecordingHandler) Handle(ctx context.Context, ev process.Event, steps *process.Steps) error {
	a := &Attempt{EventID: ev.ID, N: ev.Attempt, Resumed: steps.Done(handlers.StepOrder)}
	h.rec.mu.Lock()
	h.rec.attempts[ev.ID] = append(h.rec.attempts[ev.ID], a)
	h.rec.mu.Unlock()
	err := h.next.Handle(context.WithValue(ctx, attemptKey{}, a), ev, steps)
	if err != nil {
		h.rec.mu.Lock()
		a.HandlerErr = err.Error()
		h.rec.mu.Unlock()
	}
	return err
}

// Events returns a RecordingEvents over next.
func (r *Recorder) Events(next process.Events) *RecordingEvents {
	return &RecordingEvents{rec: r, next: next}
}

// RecordingEvents records the processor's claims and final writes.
type RecordingEvents struct {
	rec  *Recorder
	next process.Events
}

// Claim claims through the wrapped table and counts the outcome.
func (e *RecordingEvents) Claim(ctx context.Context, rec eventrecord.Record, now time.Time) (eventrecord.Record, error) {
	got, err := e.next.Claim(ctx, rec, now)
	kind := "claimed"
	var ce *eventrecord.ConflictError
	switch {
	case errors.As(err, &ce):
		kind = "refused: " + string(ce.Existing.Status)
	case err != nil:
		kind = "error"
	}
	e.rec.mu.Lock()
	e.rec.claims[kind]++
	e.rec.mu.Unlock()
	return got, err
}

// Finish writes through the wrapped table and records the write on the
// attempt it ends.
func (e *RecordingEvents) Finish(ctx context.Context, rec eventrecord.Record, now time.Time) error {
	err := e.next.Finish(ctx, rec, now)
	fc := &FinishCall{Status: rec.Status, Steps: slices.Clone(rec.Steps)}
	if err != nil {
		fc.Err = err.Error()
		var ce *eventrecord.ConflictError
		fc.Conflict = errors.As(err, &ce)
	}
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	for _, a := range e.rec.attempts[rec.EventID] {
		if a.N == rec.Attempts && a.Finish == nil {
			a.Finish = fc
			return err
		}
	}
	// The handler did not run (a payload that does not parse).
	e.rec.attempts[rec.EventID] = append(e.rec.attempts[rec.EventID], &Attempt{EventID: rec.EventID, N: rec.Attempts, Finish: fc})
	return err
}

// Orders returns a RecordingOrders over next.
func (r *Recorder) Orders(next handlers.Orders) *RecordingOrders {
	return &RecordingOrders{rec: r, next: next}
}

// RecordingOrders records every order step's result on its attempt.
type RecordingOrders struct {
	rec  *Recorder
	next handlers.Orders
}

// ApplyPayment applies through the wrapped store.
func (o *RecordingOrders) ApplyPayment(ctx context.Context, orderID string, p orders.Payment, now time.Time) (orders.Order, bool, error) {
	got, changed, err := o.next.ApplyPayment(ctx, orderID, p, now)
	// The handler addresses a payment's notice to the payload's customer
	// when the order has none.
	o.record(ctx, Apply{Changed: changed, Holds: err == nil && got.PaymentEventID == p.EventID,
		Addressed: got.CustomerEmail != "" || p.CustomerEmail != ""}, err)
	return got, changed, err
}

// ApplyRefund applies through the wrapped store.
func (o *RecordingOrders) ApplyRefund(ctx context.Context, orderID string, rf orders.Refund, now time.Time) (orders.Order, bool, error) {
	got, changed, err := o.next.ApplyRefund(ctx, orderID, rf, now)
	o.record(ctx, Apply{Changed: changed, Holds: err == nil && got.RefundEvents[rf.RefundID].ID == rf.EventID,
		Addressed: got.CustomerEmail != ""}, err)
	return got, changed, err
}

func (o *RecordingOrders) record(ctx context.Context, ap Apply, err error) {
	if err != nil {
		ap.Err = err.Error()
	}
	o.rec.update(ctx, func(a *Attempt) { a.Applies = append(a.Applies, ap) })
}

// Get reads through the wrapped store.
func (o *RecordingOrders) Get(ctx context.Context, orderID string) (orders.Order, error) {
	got, err := o.next.Get(ctx, orderID)
	o.rec.update(ctx, func(a *Attempt) { a.ReadBack, a.ReadBackAddressed = err == nil, got.CustomerEmail != "" })
	return got, err
}

// Mailer returns a RecordingMailer over next.
func (r *Recorder) Mailer(next handlers.Mailer) *RecordingMailer {
	return &RecordingMailer{rec: r, next: next}
}

// RecordingMailer records every email the wrapped mailer sent, and injects
// failures before and crashes after the send.
type RecordingMailer struct {
	rec  *Recorder
	next handlers.Mailer
}

// Send sends e through the wrapped mailer, unless a fault fires first.
func (m *RecordingMailer) Send(ctx context.Context, e handlers.Email) error {
	return m.rec.send(ctx, e.Template, InjectEmailBefore, InjectEmailAfter, &m.rec.emails,
		func(a *Attempt) { a.EmailsSent++ },
		func(ctx context.Context) error { return m.next.Send(ctx, e) })
}

// Publisher returns a RecordingPublisher over next.
func (r *Recorder) Publisher(next handlers.Publisher) *RecordingPublisher {
	return &RecordingPublisher{rec: r, next: next}
}

// RecordingPublisher records every domain event the wrapped publisher
// published, and injects failures before and crashes after the send.
type RecordingPublisher struct {
	rec  *Recorder
	next handlers.Publisher
}

// Publish publishes e through the wrapped publisher, unless a fault fires
// first.
func (p *RecordingPublisher) Publish(ctx context.Context, e handlers.DomainEvent) error {
	return p.rec.send(ctx, e.DetailType, InjectPublishBefore, InjectPublishAfter, &p.rec.published,
		func(a *Attempt) { a.Published++ },
		func(ctx context.Context) error { return p.next.Publish(ctx, e) })
}

func (r *Recorder) send(ctx context.Context, kind, before, after string, log *[]Sent, count func(*Attempt), do func(context.Context) error) error {
	if r.roll(r.failBefore) {
		r.injectedInto(ctx, before)
		return fmt.Errorf("%s: %w", before, ErrInjected)
	}
	if err := do(ctx); err != nil {
		r.mu.Lock()
		r.unsure[before]++
		r.mu.Unlock()
		return err
	}
	s := Sent{Kind: kind, At: time.Now()}
	if a, ok := ctx.Value(attemptKey{}).(*Attempt); ok {
		s.EventID, s.Attempt = a.EventID, a.N
	}
	r.mu.Lock()
	*log = append(*log, s)
	r.mu.Unlock()
	r.update(ctx, count)
	if r.roll(r.crashAfter) {
		r.injectedInto(ctx, after)
		return fmt.Errorf("%s: %w", after, ErrInjected)
	}
	return nil
}

func (r *Recorder) injectedInto(ctx context.Context, kind string) {
	r.mu.Lock()
	r.injected[kind]++
	r.mu.Unlock()
	r.update(ctx, func(a *Attempt) { a.Injected = append(a.Injected, kind) })
}

// Injected returns how many faults of each kind were injected.
func (r *Recorder) Injected() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneCounts(r.injected)
}

// UnsureEmails returns how many email sends failed with an error that was
// not injected: each may have reached SES all the same.
func (r *Recorder) UnsureEmails() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unsure[InjectEmailBefore]
}

// Claims returns the outcomes of the processor's claims, counted.
func (r *Recorder) Claims() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneCounts(r.claims)
}

// Attempts returns a copy of every recorded attempt, by event id, in claim
// order.
func (r *Recorder) Attempts() map[string][]Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]Attempt, len(r.attempts))
	for id, as := range r.attempts {
		cp := make([]Attempt, len(as))
		for i, a := range as {
			cp[i] = *a
			cp[i].Applies = slices.Clone(a.Applies)
			cp[i].Injected = slices.Clone(a.Injected)
		}
		sort.SliceStable(cp, func(i, j int) bool { return cp[i].N < cp[j].N })
		out[id] = cp
	}
	return out
}

// Emails returns every email sent.
func (r *Recorder) Emails() []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.emails)
}

// Published returns every domain event published.
func (r *Recorder) Published() []Sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.published)
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
