// Package clocktest runs a test whose clock is pinned at a fixed date once
// at that date and once with the same clock moved ten years ahead and ten
// years back. A test that passes at all three pins its clock for everything
// the code under test compares with: no time from the wall clock (a
// context deadline, time.Now in a dependency) meets the pinned one unseen.
package clocktest

import (
	"testing"
	"time"
)

// Years is how far each shifted run moves the pinned date.
const Years = 10

// Dates returns base, base moved Years ahead and base moved Years back.
func Dates(base time.Time) []time.Time {
	return []time.Time{base, base.AddDate(Years, 0, 0), base.AddDate(-Years, 0, 0)}
}

// Run runs f as a subtest at each of Dates(base), named for the date, with
// now the pinned date of that run.
func Run(t *testing.T, base time.Time, f func(t *testing.T, now time.Time)) {
	t.Helper()
	for _, now := range Dates(base) {
		t.Run(now.UTC().Format("at_2006-01-02"), func(t *testing.T) { f(t, now) })
	}
}
