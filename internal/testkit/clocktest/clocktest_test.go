package clocktest_test

import (
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
)

func TestDates(t *testing.T) {
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	want := []time.Time{
		base,
		time.Date(2036, 11, 27, 12, 0, 0, 0, time.UTC),
		time.Date(2016, 11, 27, 12, 0, 0, 0, time.UTC),
	}
	got := clocktest.Dates(base)
	if len(got) != len(want) {
		t.Fatalf("want %d dates, got %d", len(want), len(got))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("date %d: want %v, got %v", i, want[i], got[i])
		}
	}
}

func TestRunVisitsEveryDate(t *testing.T) {
	base := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var seen []time.Time
	clocktest.Run(t, base, func(t *testing.T, now time.Time) { seen = append(seen, now) })
	if len(seen) != 3 || !seen[0].Equal(base) || seen[1].Year() != 2036 || seen[2].Year() != 2016 {
		t.Errorf("want runs at 2026, 2036 and 2016, got %v", seen)
	}
}
