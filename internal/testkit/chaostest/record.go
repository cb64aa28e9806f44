package chaostest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

var (
	_ process.Handler     = (*RecordingHandler)(nil)
	_ process.Events      = (*RecordingEvents)(nil)
	_ handlers.Mailer     = (*RecordingMailer)(nil)
	_ handlers.Publisher  = (*RecordingPublisher)(nil)
	_ emailjob.Deliveries = (*RecordingDeliveries)(nil)
)

// ErrInjected is the (transient) error of every fault the Recorder injects.
var ErrInjected = errors.New("chaos: injected fault")

// The kinds of faults the Recorder injects into the processor, as Injected
// counts them.
const (
	InjectFailBefore = "send: fails before reaching the service"
	InjectCrashAfter = "send: crash right after the send"
	InjectReject     = "email: SES rejects it for good (undeliverable)"
	InjectPanic      = "send: the step panics"
	InjectHang       = "send: hangs until the handler's deadline"
	InjectKill       = "send: hangs past the Lambda deadline after the send"
	InjectPoison     = "handler: a poison event panics until dead-lettered"
	InjectThrottle   = "email: SES throttles it (ThrottlingException)"
)

// The paths sends are made on, each with a count of its own that the
// Schedule applies to.
const (
	// PathProcessor: the processor's steps, queuing an email's job and
	// publishing a domain event.
	PathProcessor = "processor"
	// PathSender: the email sender's SES requests.
	PathSender = "sender"
)

// StepSES is the Step of a send on PathSender.
const StepSES = "ses"

// PathKinds returns the kinds of faults the Recorder injects into the sends
// of path.
func PathKinds(path string) []string {
	kinds := []string{InjectFailBefore, InjectCrashAfter, InjectPanic, InjectHang, InjectKill}
	if path == PathSender {
		kinds = append(kinds, InjectReject, InjectThrottle)
	}
	return kinds
}

// ErrThrottled is the error of an injected throttle: SES's
// ThrottlingException as the SDK returns it, which the sender must see as
// a quota (awserr.IsThrottle) and defer.
var ErrThrottled error = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Maximum sending rate exceeded.", Fault: smithy.FaultClient}

// Schedule says which sends get which fault: the n-th send of a path
// counted while injecting gets kind k when n % Every[k] == At[k] (and k is
// one of the path's kinds, PathKinds). A fixed schedule, not a chance, so
// that every kind is injected in every run of some size, and a run where
// injection stopped shows in the counts.
type Schedule struct {
	Every map[string]int
	At    map[string]int
}

// DefaultSchedule injects each fault into a fixed share of each path's
// sends: a failure before and a crash after one send in 20 each, a panic
// in one in 40, a hang until the handler's deadline and one past the
// Lambda deadline in one send in 200 each (each of those holds a batch for
// seconds), and on the sender's path a permanent rejection of one email in
// 25 and a throttle of one in 30. No two kinds fall on the same send.
func DefaultSchedule() Schedule {
	return Schedule{
		Every: map[string]int{InjectFailBefore: 20, InjectCrashAfter: 20, InjectPanic: 40, InjectReject: 25, InjectHang: 200, InjectKill: 200, InjectThrottle: 30},
		// The rare ones early in each period, so that a short run has them.
		At: map[string]int{InjectFailBefore: 3, InjectCrashAfter: 13, InjectPanic: 31, InjectReject: 7, InjectHang: 17, InjectKill: 37, InjectThrottle: 9},
	}
}

// Scheduled returns how many faults of kind the schedule puts on the
// first n sends of a path.
func (s Schedule) Scheduled(kind string, n int) int {
	every, at := s.Every[kind], s.At[kind]
	if every <= 0 || n < at || at < 0 {
		return 0
	}
	if at == 0 {
		return n / every
	}
	return (n-at)/every + 1
}

// HTTPAttempt is one HTTP request the SDK made for a send.
type HTTPAttempt struct {
	Status int    // 0 when no answer came back
	Err    string // the transport's error, if any
}

// Send is one call of a mailer or the publisher, and what became of it.
type Send struct {
	// Key names the effect: "email confirmation <order>", "email failure
	// <order>", "email refund <order> <refund>" (an SES request of the
	// sender), "event OrderPaid <order>", "event OrderPaymentFailed <source
	// event>", "event OrderRefunded <order> <refund>". EmailKey and EventKey
	// name what the emulator received the same way. The processor's
	// queuing of an email's job is "job " and the email's key: no effect
	// of its own.
	Key     string
	EventID string
	// Attempt is the processor's attempt (PathProcessor); 0 on the
	// sender's path.
	Attempt int
	Path    string // PathProcessor or PathSender
	Step    string // handlers.StepEmail or StepEvent, or StepSES
	// Invocation is the simulated Lambda invocation that made the send
	// (WithInvocation).
	Invocation int64
	// EmailFinish is the sender's last write of the email's end (SENT or
	// UNDELIVERABLE) after this send, in the same invocation; nil when it
	// made none (PathSender only).
	EmailFinish *FinishCall
	// Result is "ok", "error" (the call failed, the service may have the
	// send), or the injected fault (InjectFailBefore, …).
	Result string
	Err    string
	HTTP   []HTTPAttempt
	At     time.Time
}

// Delivered reports whether the send certainly reached the service.
func (s Send) Delivered() bool {
	return s.Result == "ok" || s.Result == InjectCrashAfter || s.Result == InjectKill
}

// MayHaveReached reports whether the send may have reached the service:
// Delivered, or failed after one of its requests left.
func (s Send) MayHaveReached() bool {
	return s.Delivered() || (s.Result == "error" && reached(s) > 0)
}

// FinishCall is the processor's final write of an attempt, or the email
// sender's write of an email's end (EmailStatus).
type FinishCall struct {
	Status      eventrecord.Status
	EmailStatus eventrecord.EmailStatus
	Steps       []string
	Err         string
	// Conflict: the write was refused because another attempt holds the
	// record (the lease was lost). Frozen: the attempt had outlived the
	// Lambda deadline, and the write never left.
	Conflict, Frozen bool
}

// Attempt is one run of a handler for one event: a successful claim.
type Attempt struct {
	EventID string
	N       int // the claim count, process.Event.Attempt
	// Injected lists the faults injected into this attempt.
	Injected   []string
	HandlerErr string
	Finish     *FinishCall
}

// Persisted reports whether the attempt recorded step as completed.
func (a Attempt) Persisted(step string) bool {
	return a.Finish != nil && a.Finish.Err == "" && slices.Contains(a.Finish.Steps, step)
}

// Recorder records the processor's attempts and sends and injects faults
// into them. Its decorators share it; it is safe for concurrent use.
type Recorder struct {
	mu         sync.Mutex
	schedule   Schedule
	inject     bool
	sends      map[string]int // by path, counted while injecting
	poisonMax  int            // poison events panic until their claim count passes it
	poison     map[string]bool
	attempts   map[string][]*Attempt
	calls      []*Send
	injected   map[string]int
	injectedBy map[string]map[string]int // by path, then kind
	unsent     map[string]int            // by path: after-send faults whose send failed
	claims     map[string]int
	emailClaim map[string]int
}

// NewRecorder returns a Recorder that injects faults on schedule, and
// panics on the poison events until their claim count passes poisonMax
// (the queue's maxReceiveCount: by then the message is dead-lettered).
func NewRecorder(schedule Schedule, poison []string, poisonMax int) *Recorder {
	r := &Recorder{
		schedule: schedule, inject: true, poisonMax: poisonMax, poison: map[string]bool{}, sends: map[string]int{}, unsent: map[string]int{},
		attempts: map[string][]*Attempt{}, injected: map[string]int{}, claims: map[string]int{},
		injectedBy: map[string]map[string]int{PathProcessor: {}, PathSender: {}}, emailClaim: map[string]int{},
	}
	for _, id := range poison {
		r.poison[id] = true
	}
	return r
}

// SetInjecting turns fault injection on or off (poison events excepted:
// their panics end with the claim count).
func (r *Recorder) SetInjecting(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inject = on
}

// due returns the faults scheduled for the next send of path.
func (r *Recorder) due(path string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.inject {
		return nil
	}
	r.sends[path]++
	n := r.sends[path]
	var out []string
	for _, k := range PathKinds(path) {
		if every := r.schedule.Every[k]; every > 0 && n%every == r.schedule.At[k] {
			out = append(out, k)
		}
	}
	return out
}

// invocationKey carries the simulated Lambda invocation's number.
type invocationKey struct{}

// WithInvocation returns ctx carrying n, the number of the simulated
// Lambda invocation it serves: how a send of the email sender and its
// SENT write are matched. It survives context.WithoutCancel.
func WithInvocation(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, invocationKey{}, n)
}

func invocationOf(ctx context.Context) int64 {
	n, _ := ctx.Value(invocationKey{}).(int64)
	return n
}

type attemptKey struct{}

// sendKey carries the send under way, and its Recorder, to the transport.
type sendKey struct{}

type sendCtx struct {
	rec *Recorder
	s   *Send
}

// attempt returns the attempt of ctx, or nil.
func attemptOf(ctx context.Context) *Attempt {
	a, _ := ctx.Value(attemptKey{}).(*Attempt)
	return a
}

func (r *Recorder) injectedInto(a *Attempt, path, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.injected[kind]++
	r.injectedBy[path][kind]++
	if a != nil {
		a.Injected = append(a.Injected, kind)
	}
}

// Handlers returns reg with every handler wrapped by a RecordingHandler.
func (r *Recorder) Handlers(reg process.Registry) process.Registry {
	out := make(process.Registry, len(reg))
	for typ, h := range reg {
		out[typ] = &RecordingHandler{rec: r, next: h}
	}
	return out
}

// RecordingHandler records each run of the handler it wraps as an Attempt,
// hands the attempt to the other decorators through the context, and
// panics for poison events.
type RecordingHandler struct {
	rec  *Recorder
	next process.Handler
}

// Handle runs the wrapped handler.
func (h *RecordingHandler) Handle(ctx context.Context, ev process.Event, steps *process.Steps) (err error) {
	a := &Attempt{EventID: ev.ID, N: ev.Attempt}
	h.rec.mu.Lock()
	h.rec.attempts[ev.ID] = append(h.rec.attempts[ev.ID], a)
	poison := h.rec.poison[ev.ID] && ev.Attempt <= h.rec.poisonMax
	h.rec.mu.Unlock()
	defer func() {
		if err != nil {
			h.rec.mu.Lock()
			a.HandlerErr = err.Error()
			h.rec.mu.Unlock()
		}
	}()
	defer func() {
		if v := recover(); v != nil {
			h.rec.mu.Lock()
			a.HandlerErr = fmt.Sprint("panic: ", v)
			h.rec.mu.Unlock()
			panic(v) // the processor's to recover
		}
	}()
	if poison {
		h.rec.injectedInto(a, PathProcessor, InjectPoison)
		panic(fmt.Sprintf("chaos: poison event %s, attempt %d", ev.ID, ev.Attempt))
	}
	return h.next.Handle(context.WithValue(ctx, attemptKey{}, a), ev, steps)
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
// attempt it ends (the last try, when the processor tries again).
func (e *RecordingEvents) Finish(ctx context.Context, rec eventrecord.Record, now time.Time) error {
	err := e.next.Finish(ctx, rec, now)
	fc := &FinishCall{Status: rec.Status, Steps: slices.Clone(rec.Steps)}
	if err != nil {
		fc.Err = err.Error()
		var ce *eventrecord.ConflictError
		fc.Conflict = errors.As(err, &ce)
		fc.Frozen = errors.Is(err, ErrFrozen)
	}
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	for _, a := range e.rec.attempts[rec.EventID] {
		if a.N == rec.Attempts {
			a.Finish = fc
			return err
		}
	}
	// The handler did not run (a payload that does not parse).
	e.rec.attempts[rec.EventID] = append(e.rec.attempts[rec.EventID], &Attempt{EventID: rec.EventID, N: rec.Attempts, Finish: fc})
	return err
}

// Mailer returns a RecordingMailer over next, the processor's mailer:
// the email queue, whose sends queue a job (PathProcessor, key "job " and
// the email's key).
func (r *Recorder) Mailer(next handlers.Mailer) *RecordingMailer {
	return &RecordingMailer{rec: r, next: next, path: PathProcessor}
}

// SESMailer returns a RecordingMailer over next, the email sender's
// mailer: SES (PathSender, key EmailKey).
func (r *Recorder) SESMailer(next handlers.Mailer) *RecordingMailer {
	return &RecordingMailer{rec: r, next: next, path: PathSender}
}

// RecordingMailer records every email send and injects faults into it.
type RecordingMailer struct {
	rec  *Recorder
	next handlers.Mailer
	path string
}

// refundRef finds the refund an email names.
var refundRef = regexp.MustCompile(`refund reference ([A-Za-z0-9_]+)`)

// EmailKey is the key of an email about order with subject subject and body
// body: a confirmation, a failure notice or the notice of one refund.
func EmailKey(order, subject, body string) string {
	switch {
	case strings.HasSuffix(subject, ": payment confirmed"):
		return "email confirmation " + order
	case strings.HasSuffix(subject, ": payment failed"):
		return "email failure " + order
	}
	ref := ""
	if m := refundRef.FindStringSubmatch(body); m != nil {
		ref = m[1]
	}
	return "email refund " + order + " " + ref
}

// Send sends e through the wrapped mailer, unless a fault is due.
func (m *RecordingMailer) Send(ctx context.Context, e handlers.Email) error {
	key, step := EmailKey(e.OrderID, e.Subject, e.Text), StepSES
	if m.path == PathProcessor {
		key, step = "job "+key, handlers.StepEmail
	}
	return m.rec.send(ctx, m.path, key, step, e.EventID,
		func(ctx context.Context) error { return m.next.Send(ctx, e) })
}

// Publisher returns a RecordingPublisher over next.
func (r *Recorder) Publisher(next handlers.Publisher) *RecordingPublisher {
	return &RecordingPublisher{rec: r, next: next}
}

// RecordingPublisher records every domain event published and injects
// faults into it.
type RecordingPublisher struct {
	rec  *Recorder
	next handlers.Publisher
}

// EventKey is the key of a domain event of detailType with detail.
func EventKey(detailType string, detail handlers.Detail) string {
	switch detailType {
	case handlers.DetailOrderPaymentFailed:
		return "event " + detailType + " " + detail.SourceEventID
	case handlers.DetailOrderRefunded:
		ref := ""
		if detail.Refund != nil {
			ref = detail.Refund.RefundID
		}
		return "event " + detailType + " " + detail.Order.OrderID + " " + ref
	}
	return "event " + detailType + " " + detail.Order.OrderID
}

// Publish publishes e through the wrapped publisher, unless a fault is due.
func (p *RecordingPublisher) Publish(ctx context.Context, e handlers.DomainEvent) error {
	var d handlers.Detail
	_ = json.Unmarshal(e.Detail, &d)
	return p.rec.send(ctx, PathProcessor, EventKey(e.DetailType, d), handlers.StepEvent, "",
		func(ctx context.Context) error { return p.next.Publish(ctx, e) })
}

// send makes one recorded send on path, with the faults due; eventID
// names the event when no processor attempt is under way (the sender's).
func (r *Recorder) send(ctx context.Context, path, key, step, eventID string, do func(context.Context) error) error {
	a := attemptOf(ctx)
	if path == PathSender {
		a = nil
	}
	s := &Send{Key: key, Path: path, Step: step, EventID: eventID, Invocation: invocationOf(ctx), Result: "ok", At: time.Now()}
	if a != nil {
		s.EventID, s.Attempt = a.EventID, a.N
	}
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
	finish := func(result string, err error) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		s.Result = result
		if err != nil {
			s.Err = err.Error()
		}
		return err
	}
	due := r.due(path)
	for _, k := range []string{InjectFailBefore, InjectThrottle, InjectReject, InjectPanic, InjectHang} {
		if !slices.Contains(due, k) {
			continue
		}
		r.injectedInto(a, path, k)
		switch k {
		case InjectFailBefore:
			return finish(k, fmt.Errorf("%s: %w", k, ErrInjected))
		case InjectThrottle:
			return finish(k, fmt.Errorf("%s: %w: %w", k, ErrThrottled, ErrInjected))
		case InjectReject:
			return finish(k, fmt.Errorf("%s: %w: %w", k, handlers.ErrUndeliverable, ErrInjected))
		case InjectPanic:
			_ = finish(k, nil)
			panic("chaos: " + k)
		case InjectHang:
			<-ctx.Done()
			return finish(k, fmt.Errorf("%s: %w", k, ctx.Err()))
		}
	}
	err := do(context.WithValue(ctx, sendKey{}, sendCtx{rec: r, s: s}))
	if err != nil {
		// A fault due after the send has nothing to follow.
		for _, k := range []string{InjectKill, InjectCrashAfter} {
			if slices.Contains(due, k) {
				r.mu.Lock()
				r.unsent[path]++
				r.mu.Unlock()
			}
		}
		return finish("error", err)
	}
	switch {
	case slices.Contains(due, InjectKill):
		// Sent, then stuck past the Lambda deadline, ignoring ctx: the
		// simulated Lambda has frozen the attempt by the time it returns.
		r.injectedInto(a, path, InjectKill)
		if at, ok := FreezeTime(ctx); ok {
			time.Sleep(time.Until(at) + 50*time.Millisecond)
		}
		return finish(InjectKill, fmt.Errorf("%s: %w", InjectKill, ErrInjected))
	case slices.Contains(due, InjectCrashAfter):
		r.injectedInto(a, path, InjectCrashAfter)
		return finish(InjectCrashAfter, fmt.Errorf("%s: %w", InjectCrashAfter, ErrInjected))
	}
	return finish("ok", nil)
}

// recordHTTP adds one HTTP attempt to the send of ctx, if any.
func recordHTTP(ctx context.Context, status int, err error) {
	sc, ok := ctx.Value(sendKey{}).(sendCtx)
	if !ok {
		return
	}
	h := HTTPAttempt{Status: status}
	if err != nil {
		h.Err = err.Error()
	}
	sc.rec.mu.Lock()
	sc.s.HTTP = append(sc.s.HTTP, h)
	sc.rec.mu.Unlock()
}

// Deliveries returns a RecordingDeliveries over next, where the email
// sender keeps each email's delivery.
func (r *Recorder) Deliveries(next emailjob.Deliveries) *RecordingDeliveries {
	return &RecordingDeliveries{rec: r, next: next}
}

// RecordingDeliveries counts the email sender's claims and records each
// write of an email's end on the send it follows (Send.EmailFinish).
type RecordingDeliveries struct {
	rec  *Recorder
	next emailjob.Deliveries
}

// ClaimEmail claims through the wrapped table and counts the outcome.
func (d *RecordingDeliveries) ClaimEmail(ctx context.Context, eventID, template, token string, leaseUntil, now time.Time) error {
	return d.count(d.next.ClaimEmail(ctx, eventID, template, token, leaseUntil, now))
}

// ReclaimEmail claims again through the wrapped table and counts the
// outcome, as ClaimEmail.
func (d *RecordingDeliveries) ReclaimEmail(ctx context.Context, eventID, template, heldToken, token string, leaseUntil, now time.Time) error {
	return d.count(d.next.ReclaimEmail(ctx, eventID, template, heldToken, token, leaseUntil, now))
}

func (d *RecordingDeliveries) count(err error) error {
	kind := "claimed"
	var ce *eventrecord.ConflictError
	switch {
	case errors.As(err, &ce):
		kind = "refused: " + string(ce.Existing.Email.Status)
	case err != nil:
		kind = "error"
	}
	d.rec.mu.Lock()
	d.rec.emailClaim[kind]++
	d.rec.mu.Unlock()
	return err
}

// FinishEmail writes through the wrapped table and records the write on
// the last send of the email's event in the same invocation.
func (d *RecordingDeliveries) FinishEmail(ctx context.Context, eventID, token string, status eventrecord.EmailStatus, why string, now time.Time) error {
	err := d.next.FinishEmail(ctx, eventID, token, status, why, now)
	fc := &FinishCall{EmailStatus: status}
	if err != nil {
		fc.Err = err.Error()
		var ce *eventrecord.ConflictError
		fc.Conflict = errors.As(err, &ce)
		fc.Frozen = errors.Is(err, ErrFrozen)
	}
	inv := invocationOf(ctx)
	d.rec.mu.Lock()
	defer d.rec.mu.Unlock()
	for i := len(d.rec.calls) - 1; i >= 0; i-- {
		if s := d.rec.calls[i]; s.Path == PathSender && s.EventID == eventID && s.Invocation == inv {
			s.EmailFinish = fc
			break
		}
	}
	return err
}

// EmailClaims returns the outcomes of the email sender's claims, counted.
func (r *Recorder) EmailClaims() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneCounts(r.emailClaim)
}

// InjectedOn returns how many faults of each kind were injected into the
// sends of path, and how many sends of path were counted while injecting.
func (r *Recorder) InjectedOn(path string) (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneCounts(r.injectedBy[path]), r.sends[path]
}

// NotFollowed returns how many faults due after a send of path (a crash
// right after it, a kill past the deadline) were not injected because the
// send itself failed.
func (r *Recorder) NotFollowed(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unsent[path]
}

// Injected returns how many faults of each kind were injected.
func (r *Recorder) Injected() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneCounts(r.injected)
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
			cp[i].Injected = slices.Clone(a.Injected)
		}
		sort.SliceStable(cp, func(i, j int) bool { return cp[i].N < cp[j].N })
		out[id] = cp
	}
	return out
}

// Sends returns a copy of every send, in the order they started.
func (r *Recorder) Sends() []Send {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Send, len(r.calls))
	for i, s := range r.calls {
		out[i] = *s
		out[i].HTTP = slices.Clone(s.HTTP)
		if s.EmailFinish != nil {
			fc := *s.EmailFinish
			out[i].EmailFinish = &fc
		}
	}
	return out
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
