// Package stats computes the summary figures the bench commands print:
// medians and percentiles of a sample.
package stats

import (
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0–100) of v by the nearest-rank
// method, or 0 for an empty sample. v is not modified.
func Percentile(v []time.Duration, p float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.999999999)
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Median returns the median of v: the mean of the two middle values for an
// even count, or 0 for an empty sample.
func Median(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Ms formats d in milliseconds with two decimals.
func Ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
