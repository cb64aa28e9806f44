package handlers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

// TestGo: a goroutine started with Go hands back its error, and its panic
// as a transient *process.PanicError with the stack, instead of ending the
// process (which no test could survive to report).
func TestGo(t *testing.T) {
	boom := errors.New("crm unavailable")
	tests := []struct {
		name      string
		fn        func() error
		wantErr   error
		wantPanic any
	}{
		{"success", func() error { return nil }, nil, nil},
		{"an error", func() error { return boom }, boom, nil},
		{"a panic", func() error { panic("a merchant's bug") }, process.ErrPanic, "a merchant's bug"},
		{"a panic with an error", func() error { panic(boom) }, process.ErrPanic, boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := <-handlers.Go(tc.fn)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("want %v, got %v", tc.wantErr, err)
			}
			var pe *process.PanicError
			if errors.As(err, &pe) != errors.Is(tc.wantErr, process.ErrPanic) {
				t.Fatalf("PanicError: %v", err)
			}
			if pe == nil {
				return
			}
			if pe.Value != tc.wantPanic {
				t.Errorf("panic value %v, want %v", pe.Value, tc.wantPanic)
			}
			if tc.wantPanic == boom && errors.Is(err, boom) {
				t.Error("a panic's value is in the error's chain: its classification would be the value's, not transient")
			}
			if !strings.Contains(string(pe.Stack), "goroutine_test.go") {
				t.Errorf("the stack does not show where it panicked:\n%s", pe.Stack)
			}
		})
	}
}
