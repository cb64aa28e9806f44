package process

import (
	"context"
	"fmt"
	"slices"
)

// Steps tracks the named steps of one processing attempt: those an earlier
// attempt completed, which Run skips, and those completed since; and the
// notes the processing of the event wrote. A handler runs its steps one
// after the other; Steps is not safe for concurrent use.
type Steps struct {
	completed []string
	ran       int
	notes     []string // every note, earlier attempts' first, as recorded
	added     []Note   // the notes of this attempt
}

// Note is a problem the processing of an event met and got past: it does
// not change the outcome, but it is kept on the event record (webhookctl
// events get shows it), logged, and counted as the metric Metric with the
// dimension Kind (an alarm can watch it).
type Note struct {
	// Metric names the CloudWatch metric the note is counted under, such
	// as "EmailUndeliverable" or "OrderAnomaly".
	Metric string
	// Kind says what happened, in a short stable name such as
	// "email_undeliverable" or "double_charge".
	Kind string
	// Detail says it in a sentence, without personal data.
	Detail string
}

// String is the note as the event record keeps it: "kind: detail".
func (n Note) String() string { return n.Kind + ": " + n.Detail }

// NewSteps returns the tracker for an attempt that resumes after done, the
// steps earlier attempts completed.
func NewSteps(done []string) *Steps {
	return &Steps{completed: slices.Clone(done)}
}

// resume returns the tracker for an attempt of an event whose record holds
// the steps done and the notes written by earlier attempts.
func resume(done, notes []string) *Steps {
	s := NewSteps(done)
	s.notes = slices.Clone(notes)
	return s
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

// Note records n. A note already recorded for the event, word for word, is
// not recorded twice on the event record (a retry that meets the same
// problem), but it is counted again.
func (s *Steps) Note(n Note) {
	s.added = append(s.added, n)
	if text := n.String(); !slices.Contains(s.notes, text) {
		s.notes = append(s.notes, text)
	}
}

// Completed returns every completed step, earlier attempts' first, in order.
func (s *Steps) Completed() []string {
	return slices.Clone(s.completed)
}

// RanNow returns how many steps completed in this attempt.
func (s *Steps) RanNow() int { return s.ran }

// Notes returns the notes of this attempt, in the order written.
func (s *Steps) Notes() []Note { return slices.Clone(s.added) }

// recorded returns every note as the event record keeps it.
func (s *Steps) recorded() []string { return slices.Clone(s.notes) }
