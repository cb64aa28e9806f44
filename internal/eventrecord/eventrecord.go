// Package eventrecord describes the record the receiver keeps for every
// webhook event in the events table: its status, lease and history.
//
// The ingest function creates the record (RECEIVED, IGNORED, REJECTED); the
// processor claims it (PROCESSING) and ends it (PROCESSED, RETRYING, FAILED).
// Storage adapters translate it to and from DynamoDB items; domain packages
// only see these types. It also holds the rules for what travels with an
// event: the id and type (CheckEventID, CheckType), the queue message's
// attributes and body encoding, and SQS's character rule (CheckSQSText).
package eventrecord

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// MaxBodyBytes is the largest body the receiver accepts (the highest
// MAX_BODY_BYTES the configuration allows): 393,216 bytes (384 KiB), the
// largest that every path can carry and store.
//
//   - A record that keeps its body (REJECTED, IGNORED, FAILED, a payload
//     mismatch) is one DynamoDB item. ddbevents keeps every item under
//     400,000 bytes (DynamoDB documents 400 KB; AWS accepts 409,600 and
//     moto_server 405,000) and bounds everything but the body to 6,784
//     bytes (ddbevents.MetadataBytes): 400,000 − 6,784 = 393,216.
//   - On the queue, the DLQ and a replay the body travels base64-encoded
//     (EncodeBody): 4 × 393,216 / 3 = 524,288 bytes (512 KiB), plus at most
//     about 700 bytes of message attributes, under SQS's 1,048,576
//     (MaximumMessageSize of both queues).
//   - A processor batch of 10 such messages is about 5.3 MB of invocation
//     JSON, under Lambda's 6 MB (the event source mapping also caps a
//     batch's payload at 6 MB).
const MaxBodyBytes = 384 << 10

// Status is where an event is in its life.
type Status string

// The statuses of an event record.
const (
	// Received: accepted by ingest and queued (or about to be); the lease
	// says how long this ingest attempt owns the record.
	Received Status = "RECEIVED"
	// Processing: claimed by a processor until the lease ends.
	Processing Status = "PROCESSING"
	// Retrying: the last processing attempt failed transiently; SQS brings
	// the message back.
	Retrying Status = "RETRYING"
	// Processed: every effect applied.
	Processed Status = "PROCESSED"
	// Failed: a permanent error; the body is kept for a replay.
	Failed Status = "FAILED"
	// Ignored: an event type the deployment does not subscribe to, or a
	// livemode mismatch. Not queued by ingest; the body is kept, so that an
	// operator can replay it (webhookctl replay --ignored).
	Ignored Status = "IGNORED"
	// Rejected: validly signed, but refused: not a valid envelope (keyed
	// RejectedKey), or a body that differs from the stored one under the
	// same event id (a payload mismatch, keyed MismatchKey). Body kept.
	Rejected Status = "REJECTED"
)

// BodyKeyPrefix starts the key of every record that is kept for a body
// rather than for an event (RejectedKey, MismatchKey). No event id starts
// with it (CheckEventID), so the two never meet.
const BodyKeyPrefix = "sha256:"

// RejectedKey is the key of the REJECTED record of a body that is not an
// envelope: "sha256:" and the body's hex SHA-256.
func RejectedKey(hash string) string { return BodyKeyPrefix + hash }

// MismatchKey is the key of the record that keeps a body refused because
// another one is stored under its event id: "sha256:<hex of this
// body>#<event id>".
func MismatchKey(hash, eventID string) string { return BodyKeyPrefix + hash + "#" + eventID }

// IsBodyKey reports whether key names a record kept for a body (REJECTED,
// or a payload mismatch), not an event: such a record is never replayed.
func IsBodyKey(key string) bool { return strings.HasPrefix(key, BodyKeyPrefix) }

// MaxIDBytes is the longest event id or type, in bytes (the envelope's own
// limit).
const MaxIDBytes = 255

// ErrBadRoutingField is the cause of CheckEventID's and CheckType's
// refusals.
var ErrBadRoutingField = errors.New("event id or type unusable")

// CheckEventID says whether id can be an event's id here: 1 to 255 bytes
// of valid UTF-8, no control character (Unicode Cc: U+0000–U+001F,
// U+007F–U+009F), only characters SQS carries in a message attribute
// (CheckSQSText), and not starting with BodyKeyPrefix. Ingest records any
// other id REJECTED: the id travels as an SQS attribute and keys the
// events table.
func CheckEventID(id string) error {
	if err := checkRouting("id", id); err != nil {
		return err
	}
	if strings.HasPrefix(id, BodyKeyPrefix) {
		return fmt.Errorf("%w: id starts with %q, which names records kept for a body", ErrBadRoutingField, BodyKeyPrefix)
	}
	return nil
}

// CheckType is CheckEventID's rule for an event type, without the prefix
// rule.
func CheckType(typ string) error { return checkRouting("type", typ) }

func checkRouting(name, v string) error {
	if v == "" || len(v) > MaxIDBytes {
		return fmt.Errorf("%w: %s must be 1 to %d bytes, is %d", ErrBadRoutingField, name, MaxIDBytes, len(v))
	}
	if err := CheckSQSText(v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadRoutingField, name, err)
	}
	for i, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s holds the control character %U at byte %d", ErrBadRoutingField, name, r, i)
		}
	}
	return nil
}

// Terminal reports whether no further processing happens for s.
func (s Status) Terminal() bool {
	switch s {
	case Processed, Failed, Ignored, Rejected:
		return true
	}
	return false
}

// Record is one item of the events table.
type Record struct {
	EventID     string    // table key; "sha256:<hex>" for REJECTED bodies
	Status      Status    //
	Type        string    // event type, e.g. payment.succeeded
	Created     time.Time // the event's own created time
	Livemode    bool      //
	PayloadHash string    // hex SHA-256 of the raw body
	Token       string    // the attempt token of the current owner (ingest or processor)
	LeaseUntil  time.Time // the owner's lease; zero when none
	ExpiresAt   time.Time // TTL: DynamoDB deletes the item some time after this
	ReceivedAt  time.Time // first accepted by ingest
	UpdatedAt   time.Time //
	Attempts    int       // processing attempts (claims)
	Steps       []string  // completed processing steps (checkpoints), in order
	Notes       []string  // problems processing got past ("kind: detail"), such as an email that could not be sent
	Error       string    // last error, for RETRYING and FAILED; for IGNORED and REJECTED the reason
	Body        []byte    // raw body: only for FAILED, REJECTED, IGNORED, and RETRYING while a replay is on its way
	DurationMS  int64     // processing time of the successful attempt
	// Email is the delivery of the event's customer email, which the
	// email sender records on the event (zero when none was queued).
	Email EmailDelivery
}

// ErrNoRecord reports an event that has no record to keep its email's
// delivery on (ddbevents.Table.ClaimEmail).
var ErrNoRecord = errors.New("no event record")

// EmailStatus is where the delivery of an event's customer email stands.
type EmailStatus string

// The statuses of an email delivery.
const (
	// EmailSending: a sender holds the email under a lease; it may have
	// reached SES.
	EmailSending EmailStatus = "SENDING"
	// EmailSent: SES accepted it.
	EmailSent EmailStatus = "SENT"
	// EmailUndeliverable: SES refused it for good (recipient rejected, an
	// address it refuses); the delivery's Error says why.
	EmailUndeliverable EmailStatus = "UNDELIVERABLE"
)

// Done reports whether the delivery has ended (sent or undeliverable): a
// job of the same email is a duplicate.
func (s EmailStatus) Done() bool { return s == EmailSent || s == EmailUndeliverable }

// EmailDelivery is the state of an event's customer email, kept on the
// event's record: what makes each email go out once although its job may
// be queued or delivered twice.
type EmailDelivery struct {
	Status     EmailStatus
	Template   string    // the kind of message, as handlers.Email.Template
	Token      string    // the sender's claim
	LeaseUntil time.Time // the claim's lease, while SENDING
	At         time.Time // when it was sent, or found undeliverable
	Error      string    // why it is undeliverable
	// Attempts counts the sender's claims: each a try of the send (a
	// deferred job's claim again counts too).
	Attempts int
}

// Expired reports whether the record's TTL has passed at now. DynamoDB
// deletes expired items lazily, so readers must check this themselves.
func (r Record) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)
}

// LeaseLive reports whether the record's owner still holds its lease at now.
func (r Record) LeaseLive(now time.Time) bool {
	return now.Before(r.LeaseUntil)
}

// ConflictError reports that a conditional write was refused because of the
// record that already exists. Match it with errors.As.
type ConflictError struct {
	Existing Record
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("event %s: conflicting record in status %s", e.Existing.EventID, e.Existing.Status)
}

// Message is what ingest puts on the events queue: the raw body, exactly as
// signed, plus the metadata the processor routes on as message attributes.
// On the queue the body travels base64-encoded (EncodeBody), so that SQS
// carries any bytes the signature covers; Body here is always the raw body.
type Message struct {
	EventID    string
	Type       string
	ReceivedAt time.Time
	Body       []byte
	// Replay marks a message re-enqueued by an operator (webhookctl replay),
	// not delivered by the provider.
	Replay bool
	// DeferredSince is when the processor first deferred the event in its
	// current stay on the queue, and DeferredUntil when the copy it queued
	// was due (queued plus its delay) (AttrDeferredSince,
	// AttrDeferredUntil); both zero on a message no deferral queued.
	DeferredSince, DeferredUntil time.Time
	// SentAt is when SQS took this copy of the message (its SentTimestamp
	// system attribute), zero when unknown. SQS sets it: it is never sent.
	SentAt time.Time
}

// DeferralCopySkew is how much later than the due time a deferral stamped
// on its copy SQS may have taken that copy (the send's latency and
// retries, the clocks' drift) for it still to count as the deferral's own
// (SameStay).
const DeferralCopySkew = time.Minute

// SameStay reports whether a message a deferral stamped due at
// deferredUntil (when it queued the copy, plus the copy's delay), which SQS
// took at sentAt (its SentTimestamp), is the copy that deferral queued: the
// deferrals of its current stay on the queue go on, and their bound with
// them. SQS takes the deferral's copy before it is due (or, should
// SentTimestamp count from the end of a delay, when it is due). It is not
// the deferral's copy when deferredUntil is zero (no deferral queued it),
// nor when SQS took it more than DeferralCopySkew after it was due: a
// message redriven from the dead-letter queue keeps its attributes and
// body, but SQS takes it as a new message, with a new SentTimestamp, and
// only after the copy, received at the earliest when due, spent all its
// receives (maxReceiveCount visibility timeouts: 15 minutes with the
// template's queues); so a redrive starts a new stay, with deferrals of
// its own. With sentAt unknown (zero: a record made by hand) the stamp is
// trusted.
func SameStay(deferredUntil, sentAt time.Time) bool {
	if deferredUntil.IsZero() {
		return false
	}
	return sentAt.IsZero() || sentAt.Sub(deferredUntil) <= DeferralCopySkew
}

// Names of the SQS message attributes that carry Message's metadata.
const (
	AttrEventID    = "event_id"    // String
	AttrType       = "event_type"  // String
	AttrReceivedAt = "received_at" // Number: Unix milliseconds
	AttrReplay     = "replay"      // String "true", only on replays
	// AttrDeferredSince and AttrDeferredUntil are set by the processor's
	// deferral only (Number: Unix milliseconds): when the event's current
	// stay of deferrals began, and when this copy was due.
	AttrDeferredSince = "deferred_since"
	AttrDeferredUntil = "deferred_until"
	// AttrBodyEncoding says how the SQS message body holds the raw body:
	// BodyBase64 on every message this version sends; absent on messages
	// of earlier versions, whose body is the raw body itself.
	AttrBodyEncoding = "body_encoding" // String
)

// BodyBase64 is the AttrBodyEncoding of a message body that is the raw body
// in standard base64 with padding (RFC 4648, section 4).
const BodyBase64 = "base64"

// ErrBodyEncoding is returned by DecodeBody for an encoding it does not
// know or a body that does not decode.
var ErrBodyEncoding = errors.New("message body encoding")

// EncodeBody returns the SQS message body that carries raw: its base64,
// made only of characters SQS accepts, whatever raw holds. It grows the
// body by 4/3 (a 384 KiB body becomes a 512 KiB message body).
func EncodeBody(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }

// DecodeBody returns the raw body an SQS message body carries, given the
// message's AttrBodyEncoding value: BodyBase64 decodes into a new slice, ""
// (a message of an earlier version) returns body itself. Anything else, or base64 that
// does not decode, is an error wrapping ErrBodyEncoding.
func DecodeBody(body []byte, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		return body, nil
	case BodyBase64:
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
		n, err := base64.StdEncoding.Decode(raw, body)
		if err != nil {
			return nil, fmt.Errorf("%w: %s body does not decode: %w", ErrBodyEncoding, encoding, err)
		}
		return raw[:n], nil
	}
	return nil, fmt.Errorf("%w: unknown encoding %q", ErrBodyEncoding, encoding)
}
