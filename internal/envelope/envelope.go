// Package envelope parses the routing fields of an Altafinex event envelope
// (id, type, created, livemode) and hands over data.object as raw JSON for
// the processor's handlers to decode.
//
// Parse decides whether a signed body is an event at all: ingest records
// one that is not as REJECTED, the processor as FAILED. It reads the body
// with github.com/go-json-experiment/json (the upstream of
// encoding/json/v2), whose defaults are the strictness this boundary wants:
//
//   - Duplicate member names, in any object at any depth, make the body
//     invalid. Parsers disagree on such a body (encoding/json keeps the
//     last, others the first), so the event id ingest dedupes on, or the
//     amount a handler applies, could differ from what another reader of
//     the same signed bytes sees. Names are compared after unescaping:
//     "id" and "\u0069d" are the same name.
//   - Member names match exactly, as the spec writes them: "ID" is not
//     "id" (encoding/json would fold the case), so it is an unknown member,
//     ignored like every other.
//   - Invalid UTF-8 anywhere, raw or as an escaped lone surrogate such as
//     "\ud83d", makes the body invalid, rather than being replaced with
//     U+FFFD (which would make two bodies read as one).
//   - Nesting deeper than 10,000 levels, counting the top-level object,
//     makes the body invalid: the library's limit, and encoding/json's,
//     with which the handlers decode data.object, so anything Parse accepts
//     the handlers can read. Both parse without recursion, and the body is
//     at most 384 KiB, so the limit costs nothing below it.
//   - Numbers are checked for syntax only, at any size, except created,
//     which must be an integer literal (no fraction or exponent) from 1 to
//     2^63-1. data.object is handed over byte for byte, so a huge amount
//     reaches the handlers as written and fails there (it does not fit
//     int64) instead of being rounded here.
package envelope

import (
	"errors"
	"fmt"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The event types the spec defines (docs/signature.md): every package that
// names one uses these (the chaos test's oracle excepted: it imports none
// of the code it checks).
const (
	TypePaymentSucceeded = "payment.succeeded"
	TypePaymentFailed    = "payment.failed"
	TypeRefundCompleted  = "refund.completed"
)

// ErrInvalid is the cause of every parse failure: the body is not a valid
// event envelope. A validly signed body that fails here is a permanent
// failure, not something a retry can fix.
var ErrInvalid = errors.New("invalid envelope")

// maxFieldLen is the longest id or type Parse accepts, in bytes after
// unescaping.
const maxFieldLen = 255

// Envelope holds the fields the receiver routes on.
type Envelope struct {
	ID       string
	Type     string
	Created  int64 // Unix seconds
	Livemode bool

	// Object is the raw JSON of data.object, as the body has it (nil when
	// there is no data, no data.object, or either is null), so the
	// processor decodes the payload without parsing the envelope again.
	Object []byte
}

// wire is the envelope as the body carries it. Livemode is a pointer so
// that a missing or null livemode is told from false.
type wire struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Created  int64  `json:"created"`
	Livemode *bool  `json:"livemode"`
	Data     struct {
		Object jsontext.Value `json:"object"`
	} `json:"data"`
}

// Parse reads the envelope of body, one JSON object (RFC 8259, with the
// rules of the package doc) whose id and type are non-empty strings of at
// most maxFieldLen bytes, created a positive integer, livemode a boolean
// and data, when present and not null, an object. Other members are
// ignored. Errors wrap ErrInvalid and come with the zero Envelope.
func Parse(body []byte) (Envelope, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case w.ID == "" || len(w.ID) > maxFieldLen:
		return Envelope{}, fmt.Errorf("%w: id must be a non-empty string of at most %d bytes", ErrInvalid, maxFieldLen)
	case w.Type == "" || len(w.Type) > maxFieldLen:
		return Envelope{}, fmt.Errorf("%w: type must be a non-empty string of at most %d bytes", ErrInvalid, maxFieldLen)
	case w.Created <= 0:
		return Envelope{}, fmt.Errorf("%w: created must be a positive integer", ErrInvalid)
	case w.Livemode == nil:
		return Envelope{}, fmt.Errorf("%w: livemode must be a boolean", ErrInvalid)
	}
	env := Envelope{ID: w.ID, Type: w.Type, Created: w.Created, Livemode: *w.Livemode}
	if obj := w.Data.Object; len(obj) > 0 && obj.Kind() != 'n' {
		env.Object = obj
	}
	return env, nil
}
