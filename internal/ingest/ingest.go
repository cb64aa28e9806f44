// Package ingest is the hot path of the receiver: verify a webhook delivery,
// dedupe it with one conditional write, enqueue it, and say what happened.
//
// It knows nothing of API Gateway, DynamoDB or SQS: the apigw package adapts
// HTTP to Receive, and the adapters behind Store and Queue talk to AWS. The
// whole path is one write to the Store and one Send to the Queue; no
// business logic runs here.
package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// Store is the events table as ingest uses it.
type Store interface {
	// Reserve writes rec (RECEIVED, with a lease) with one conditional put.
	// When an existing record blocks it, it returns *eventrecord.ConflictError.
	Reserve(ctx context.Context, rec eventrecord.Record, now time.Time) error
	// Release deletes the record written by this attempt (token).
	Release(ctx context.Context, eventID, token string) error
	// PutTerminal records an IGNORED or REJECTED event, or a body refused
	// as a payload mismatch, with its body, unless a record with that key
	// exists: then it returns *eventrecord.ConflictError with it.
	PutTerminal(ctx context.Context, rec eventrecord.Record, now time.Time) error
}

// Queue is the events queue.
type Queue interface {
	Send(ctx context.Context, m eventrecord.Message) error
}

// SecretSource gives the signing secrets currently accepted. No secret and
// a nil error means none is configured yet (a new stack whose secret still
// holds its placeholder).
type SecretSource interface {
	Secrets(ctx context.Context) ([][]byte, error)
}

// Outcome is what became of one delivery. Each maps to one HTTP answer.
type Outcome string

// The outcomes of Receive.
const (
	Accepted         Outcome = "accepted"          // stored and queued
	Duplicate        Outcome = "duplicate"         // already being processed or done
	Ignored          Outcome = "ignored"           // unsubscribed type or livemode mismatch, recorded with its body
	Rejected         Outcome = "rejected"          // signed but not a usable envelope, recorded with its body
	PayloadMismatch  Outcome = "payload_mismatch"  // same id as a stored event, other body: recorded apart with its body
	InFlight         Outcome = "in_flight"         // another delivery of this event holds the lease
	InvalidSignature Outcome = "invalid_signature" // any signature failure
	// NoSecret: no signing secret is configured, so nothing can be
	// verified. The client is told invalid_signature, as for any other
	// signature failure; the log and the metrics tell them apart.
	NoSecret         Outcome = "no_signing_secret"
	PayloadTooLarge  Outcome = "payload_too_large" // over the body limit, not stored
	MethodNotAllowed Outcome = "method_not_allowed"
	Forbidden        Outcome = "forbidden" // source address not in the allow-list
	BadRequest       Outcome = "bad_request"
	Unavailable      Outcome = "unavailable" // DynamoDB or SQS failed; nothing blocks a retry
)

// The Reason of an Ignored result: why the event was not queued. The
// values are few and fixed, so they serve as a metric dimension.
const (
	IgnoredType     = "unsubscribed_type" // an event type the deployment does not subscribe to
	IgnoredLivemode = "livemode_mismatch" // a live event on a test deployment, or the reverse
	IgnoredBefore   = "ignored_before"    // this event is recorded IGNORED already
)

// ReasonNoSecret is the log's reason for NoSecret.
const ReasonNoSecret = "no signing secret configured: put the provider's whsec_ secret into the stack's secret (webhookctl connect --stack NAME)"

// Request is one delivery as the HTTP front hands it over.
type Request struct {
	Method    string
	Body      []byte
	Signature string // the X-Altafinex-Signature header value
	SourceIP  string
}

// Result says what Receive did. Reason and Err are for the log only, never
// for the client.
type Result struct {
	Outcome   Outcome
	EventID   string
	EventType string
	Reason    string // which check failed: a signature outcome, an Ignored reason, a description
	Err       error  // the underlying error, when there is one
}

// Service receives deliveries. Build it with its fields set; the zero values
// of the optional fields take the documented defaults.
type Service struct {
	Store   Store
	Queue   Queue
	Secrets SecretSource

	Tolerance   time.Duration    // signature tolerance; 0: signature.DefaultTolerance
	MaxBody     int              // body limit in bytes; 0: DefaultMaxBody
	Types       []string         // subscribed event types; nil: DefaultTypes
	Livemode    bool             // the deployment's mode: live events only, or test events only
	TTL         time.Duration    // how long a record is kept; 0: DefaultTTL
	Lease       time.Duration    // how long an attempt owns a RECEIVED record; 0: DefaultLease
	AllowedNets []netip.Prefix   // source allow-list; empty: any source
	Now         func() time.Time // nil: time.Now
	NewToken    func() string    // nil: 16 random bytes, hex
}

// Defaults of Service's optional fields.
const (
	DefaultMaxBody = 256 << 10
	DefaultTTL     = 30 * 24 * time.Hour
	DefaultLease   = 30 * time.Second
)

// DefaultTypes are the event types the spec defines.
var DefaultTypes = []string{envelope.TypePaymentSucceeded, envelope.TypePaymentFailed, envelope.TypeRefundCompleted}

// Receive runs one delivery through the ingest steps of the design: size,
// signature, envelope, subscription, dedupe, enqueue. It never answers
// Accepted, Duplicate, Ignored, Rejected or PayloadMismatch unless the event
// is on the queue or recorded (its body kept, for the last three), and it
// answers Unavailable only for faults a retry can fix.
func (s *Service) Receive(ctx context.Context, req Request) Result {
	if req.Method != "POST" {
		return Result{Outcome: MethodNotAllowed, Reason: "method " + req.Method}
	}
	if !s.sourceAllowed(req.SourceIP) {
		return Result{Outcome: Forbidden, Reason: "source " + req.SourceIP + " not allowed"}
	}
	if len(req.Body) > s.maxBody() {
		return Result{Outcome: PayloadTooLarge, Reason: fmt.Sprintf("body of %d bytes over the limit of %d", len(req.Body), s.maxBody())}
	}
	now := s.now()
	secrets, err := s.Secrets.Secrets(ctx)
	if err != nil {
		return Result{Outcome: Unavailable, Reason: "signing secrets unavailable", Err: err}
	}
	if len(secrets) == 0 {
		return Result{Outcome: NoSecret, Reason: ReasonNoSecret}
	}
	v := signature.Verifier{Secrets: secrets, Tolerance: s.Tolerance, Now: func() time.Time { return now }}
	if err := v.Verify(req.Signature, req.Body); err != nil {
		return Result{Outcome: InvalidSignature, Reason: signature.Outcome(err), Err: err}
	}

	sum := sha256.Sum256(req.Body)
	hash := hex.EncodeToString(sum[:])
	env, err := envelope.Parse(req.Body)
	if err == nil {
		// The id and type travel as SQS message attributes and the id keys
		// the events table: refuse what either cannot carry.
		err = errors.Join(eventrecord.CheckEventID(env.ID), eventrecord.CheckType(env.Type))
	}
	if err != nil {
		return s.reject(ctx, req.Body, hash, now, err)
	}
	res := Result{EventID: env.ID, EventType: env.Type}
	rec := eventrecord.Record{
		EventID:     env.ID,
		Type:        env.Type,
		Created:     time.Unix(env.Created, 0).UTC(),
		Livemode:    env.Livemode,
		PayloadHash: hash,
		ExpiresAt:   now.Add(s.ttl()),
		ReceivedAt:  now,
		UpdatedAt:   now,
	}
	if reason, detail := s.ignoreReason(env); reason != "" {
		return s.ignore(ctx, rec, req.Body, reason, detail, now, res)
	}

	rec.Status = eventrecord.Received
	rec.Token = s.token()
	rec.LeaseUntil = now.Add(s.lease())
	if err := s.Store.Reserve(ctx, rec, now); err != nil {
		var conflict *eventrecord.ConflictError
		if !errors.As(err, &conflict) {
			res.Outcome, res.Reason, res.Err = Unavailable, "dedupe write failed", err
			return res
		}
		return s.conflictResult(ctx, res, rec, req.Body, conflict.Existing, now)
	}
	msg := eventrecord.Message{EventID: env.ID, Type: env.Type, ReceivedAt: now, Body: req.Body}
	if err := s.Queue.Send(ctx, msg); err != nil {
		res.Outcome, res.Reason, res.Err = Unavailable, "enqueue failed", err
		// Undo the reservation so the provider's retry starts afresh. If even
		// this fails, the lease runs out and a later retry takes over.
		if rerr := s.Store.Release(context.WithoutCancel(ctx), env.ID, rec.Token); rerr != nil {
			res.Err = errors.Join(err, fmt.Errorf("release dedupe record: %w", rerr))
		}
		return res
	}
	res.Outcome = Accepted
	return res
}

// conflictResult maps the record that refused rec's write (a reservation,
// or an IGNORED record) to an outcome. Only the statuses the design names
// answer 2xx; a conflict without the existing record, or with a status this
// code does not know, is Unavailable: fail closed, so that a future status
// or another store never turns an in-flight 409 into a 200.
func (s *Service) conflictResult(ctx context.Context, res Result, rec eventrecord.Record, body []byte, old eventrecord.Record, now time.Time) Result {
	switch {
	case old.Status == "":
		res.Outcome, res.Reason = Unavailable, "write refused, and the store returned no existing record"
		res.Err = fmt.Errorf("event %q: conditional write refused without the existing record", rec.EventID)
	case !slices.Contains(knownStatuses, old.Status):
		res.Outcome, res.Reason = Unavailable, "existing record in an unknown status"
		res.Err = fmt.Errorf("event %q: existing record in status %q, which this code does not know", rec.EventID, old.Status)
	case old.PayloadHash != "" && old.PayloadHash != rec.PayloadHash:
		return s.mismatch(ctx, res, rec, body, old, now)
	case old.Status == eventrecord.Received:
		// The put's condition lets an expired lease be taken over, so a
		// RECEIVED record that blocked it is live: another delivery of this
		// event is between its put and its send. Never 200 here: if that
		// attempt fails, this answer would have lost the event.
		res.Outcome, res.Reason = InFlight, "another delivery holds the lease"
	case old.Status == eventrecord.Ignored:
		res.Outcome, res.Reason = Ignored, IgnoredBefore
	case old.Status == eventrecord.Rejected:
		// Event ids never start with eventrecord.BodyKeyPrefix, so an event
		// cannot meet a REJECTED record: fail closed if it does.
		res.Outcome, res.Reason = Unavailable, "existing record is a REJECTED body"
		res.Err = fmt.Errorf("event %q: meets a REJECTED record", rec.EventID)
	default: // PROCESSING or later
		res.Outcome, res.Reason = Duplicate, "record is "+string(old.Status)
	}
	return res
}

// knownStatuses are the statuses conflictResult maps to an answer.
var knownStatuses = []eventrecord.Status{
	eventrecord.Received, eventrecord.Processing, eventrecord.Retrying, eventrecord.Processed,
	eventrecord.Failed, eventrecord.Ignored, eventrecord.Rejected,
}

// mismatch keeps a body that differs from the one stored under its event id
// (a provider bug, or someone signing with a leaked secret) for
// investigation: a REJECTED record of its own, keyed
// eventrecord.MismatchKey, with the body. Nothing is queued. The answer is
// PayloadMismatch once the body is stored (now, or by an earlier delivery
// of the same body), Unavailable when it could not be.
func (s *Service) mismatch(ctx context.Context, res Result, rec eventrecord.Record, body []byte, old eventrecord.Record, now time.Time) Result {
	kept := eventrecord.Record{
		EventID:     eventrecord.MismatchKey(rec.PayloadHash, rec.EventID),
		Status:      eventrecord.Rejected,
		Type:        rec.Type,
		Created:     rec.Created,
		Livemode:    rec.Livemode,
		PayloadHash: rec.PayloadHash,
		ExpiresAt:   rec.ExpiresAt,
		ReceivedAt:  now,
		UpdatedAt:   now,
		Error: fmt.Sprintf("payload mismatch: event %s is stored (%s) with payload sha256 %s; this body's is %s",
			rec.EventID, old.Status, old.PayloadHash, rec.PayloadHash),
		Body: body,
	}
	res.Reason = fmt.Sprintf("event id already stored (%s) with payload sha256 %.12s…, this delivery has %.12s…; body kept as %s",
		old.Status, old.PayloadHash, rec.PayloadHash, kept.EventID)
	if err := s.Store.PutTerminal(ctx, kept, now); err != nil && !sameBodyKept(err, kept) {
		res.Outcome, res.Err = Unavailable, fmt.Errorf("keep mismatching body: %w", err)
		return res
	}
	res.Outcome = PayloadMismatch
	return res
}

// sameBodyKept reports whether err is a conflict with a finished record
// that keeps the same body as rec already: an earlier delivery of it, or
// the processor's FAILED record of the same body refused as a mismatch
// (the key names the hash, so any finished record under it keeps this
// body). A record still in flight under the key (PROCESSING) is not kept
// yet: the caller answers 503 and the provider's retry finds it finished.
func sameBodyKept(err error, rec eventrecord.Record) bool {
	var c *eventrecord.ConflictError
	return errors.As(err, &c) && c.Existing.Status.Terminal() && c.Existing.PayloadHash == rec.PayloadHash
}

func (s *Service) reject(ctx context.Context, body []byte, hash string, now time.Time, cause error) Result {
	rec := eventrecord.Record{
		EventID:     eventrecord.RejectedKey(hash),
		Status:      eventrecord.Rejected,
		PayloadHash: hash,
		ExpiresAt:   now.Add(s.ttl()),
		ReceivedAt:  now,
		UpdatedAt:   now,
		Error:       cause.Error(),
		Body:        body,
	}
	res := Result{Outcome: Rejected, EventID: rec.EventID, Reason: cause.Error()}
	if err := s.Store.PutTerminal(ctx, rec, now); err != nil && !sameBodyKept(err, rec) {
		res.Outcome, res.Err = Unavailable, err
	}
	return res
}

// ignore records the event IGNORED with its body (so that an operator can
// replay it), unless its id is stored already: then the stored record
// decides, as for a reservation.
func (s *Service) ignore(ctx context.Context, rec eventrecord.Record, body []byte, reason, detail string, now time.Time, res Result) Result {
	rec.Status = eventrecord.Ignored
	rec.Error = detail
	rec.Body = body
	err := s.Store.PutTerminal(ctx, rec, now)
	var conflict *eventrecord.ConflictError
	switch {
	case err == nil:
		res.Outcome, res.Reason = Ignored, reason
		return res
	case errors.As(err, &conflict):
		return s.conflictResult(ctx, res, rec, body, conflict.Existing, now)
	}
	res.Outcome, res.Reason, res.Err = Unavailable, "ignored record write failed", err
	return res
}

// ignoreReason says why env is not queued (an Ignored reason and the
// words for the record), or "" when it is.
func (s *Service) ignoreReason(env envelope.Envelope) (reason, detail string) {
	types := s.Types
	if types == nil {
		types = DefaultTypes
	}
	if !slices.Contains(types, env.Type) {
		return IgnoredType, "event type " + env.Type + " not subscribed"
	}
	if env.Livemode != s.Livemode {
		return IgnoredLivemode, fmt.Sprintf("livemode %t does not match the deployment's (%t): replay it once the mode is right", env.Livemode, s.Livemode)
	}
	return "", ""
}

func (s *Service) sourceAllowed(ip string) bool {
	if len(s.AllowedNets) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.AllowedNets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) token() string {
	if s.NewToken != nil {
		return s.NewToken()
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Service) maxBody() int {
	if s.MaxBody > 0 {
		return s.MaxBody
	}
	return DefaultMaxBody
}

func (s *Service) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}
