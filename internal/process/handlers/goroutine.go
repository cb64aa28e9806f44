package handlers

import (
	"runtime/debug"

	"github.com/altafinex-webhooks/receiver/internal/process"
)

// Go runs fn in a goroutine of its own and returns a channel that receives
// fn's error (nil on success) once. A panic in fn is recovered there and
// received as a *process.PanicError (errors.Is process.ErrPanic: transient,
// the stack kept for the log), so it fails this event's attempt instead of
// the whole invocation.
//
// The processor recovers a panic in the goroutine that runs a handler, not
// in goroutines the handler starts: Go's recover works only in the
// panicking goroutine, and an unrecovered panic ends the process, with
// every record of the batch in flight. Start any goroutine of a handler
// with Go, and wait for its error before the handler returns (the step
// that started it fails with it).
//
//	errc := handlers.Go(func() error { return crm.Notify(ctx, order) })
//	…
//	if err := <-errc; err != nil {
//		return err
//	}
func Go(fn func() error) <-chan error {
	errc := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				errc <- &process.PanicError{Value: v, Stack: debug.Stack()}
			}
		}()
		errc <- fn()
	}()
	return errc
}
