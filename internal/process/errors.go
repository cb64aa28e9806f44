package process

import (
	"errors"
	"fmt"
)

// ErrPermanent marks an error that no retry can fix: the event is recorded
// FAILED with its body and acknowledged. Match it with errors.Is; mark an
// error with Permanent.
var ErrPermanent = errors.New("permanent failure")

// ErrNoHandler is the (permanent) error of an event type with no registered
// handler.
var ErrNoHandler = errors.New("no handler for event type")

// ErrInvalidPayload is the (permanent) error of a body that is not the
// event it claims to be: not an envelope, a data.object that does not parse,
// a missing metadata.order_id.
var ErrInvalidPayload = errors.New("invalid event payload")

// ErrInFlight reports that another delivery holds the event under a live
// lease; the message is reported failed and comes back later.
var ErrInFlight = errors.New("event is being processed by another delivery")

// ErrPayloadMismatch is the cause of a message refused because its body is
// not the one the event's record was stored with (its SHA-256 differs): it
// is recorded FAILED in a record of its own, body kept, never applied.
var ErrPayloadMismatch = errors.New("message body differs from the stored event's")

// ErrPanic is the (transient) error of a handler that panicked: the record
// is RETRYING, its siblings in the batch are not affected. Match it with
// errors.Is; errors.As finds the *PanicError with the value and the stack.
var ErrPanic = errors.New("handler panicked")

// PanicError is a panic recovered from a handler.
type PanicError struct {
	Value any
	Stack []byte // the panicking goroutine's stack, for the log
}

func (e *PanicError) Error() string { return fmt.Sprintf("%v: %v", ErrPanic, e.Value) }

// Unwrap returns ErrPanic, never the panic value: whatever a handler
// panics with, the outcome is transient.
func (e *PanicError) Unwrap() error { return ErrPanic }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() []error {
	return []error{e.err, ErrPermanent}
}

// Permanent marks err as permanent: errors.Is(Permanent(err), ErrPermanent)
// holds, and err's own chain is kept. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil || errors.Is(err, ErrPermanent) {
		return err
	}
	return &permanentError{err: err}
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}
