package stats

import (
	"testing"
	"time"
)

func TestMedianPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name    string
		in      []time.Duration
		median  time.Duration
		p       float64
		wantAtP time.Duration
	}{
		{"empty", nil, 0, 50, 0},
		{"odd", ms(5, 1, 3), 3 * time.Millisecond, 99, 5 * time.Millisecond},
		{"even", ms(4, 1, 3, 2), 2500 * time.Microsecond, 50, 2 * time.Millisecond},
		{"p99 of 100", ms(func() []int {
			v := make([]int, 100)
			for i := range v {
				v[i] = i + 1
			}
			return v
		}()...), 50500 * time.Microsecond, 99, 99 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Median(tc.in); got != tc.median {
				t.Errorf("Median = %v, want %v", got, tc.median)
			}
			if got := Percentile(tc.in, tc.p); got != tc.wantAtP {
				t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.wantAtP)
			}
		})
	}
}
