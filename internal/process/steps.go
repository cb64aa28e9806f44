package process

import (
	"context"
	"fmt"
	"slices"
)

// Steps tracks the named steps of one processing attempt: those an earlier
// attempt completed, which Run skips, and those completed since. A handler
// runs its steps one after the other; Steps is not safe for concurrent use.
type Steps struct {
	completed []string
	ran       int
}

// NewSteps returns the tracker for an attempt that resumes after done, the
// steps earlier attempts completed.
func NewSteps(done []string) *Steps {
	return &Steps{completed: slices.Clone(done)}
}

// Done reports whether the step called name has completed, in this attempt
// or an earlier one.
func (s *Steps) Done(name string) bool {
	return slices.Contains(s.completed, name)
}

// Run runs fn as the step called name, unless it has completed already.
// When fn succeeds the step counts as completed; its error is returned
// wrapped with the step's name (the classification of the cause is kept).
func (s *Steps) Run(ctx context.Context, name string, fn func(context.Context) error) error {
	if s.Done(name) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("step %s: %w", name, err)
	}
	if err := fn(ctx); err != nil {
		return fmt.Errorf("step %s: %w", name, err)
	}
	s.completed = append(s.completed, name)
	s.ran++
	return nil
}

// Completed returns every completed step, earlier attempts' first, in order.
func (s *Steps) Completed() []string {
	return slices.Clone(s.completed)
}

// RanNow returns how many steps completed in this attempt.
func (s *Steps) RanNow() int { return s.ran }
