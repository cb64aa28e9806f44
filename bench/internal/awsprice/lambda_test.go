package awsprice

import (
	"math"
	"testing"
	"time"
)

func TestBilledMs(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want float64
	}{
		{0, 0},
		{time.Millisecond, 1},
		{1001 * time.Microsecond, 2},
		{12*time.Millisecond + 1, 13},
		{999 * time.Microsecond, 1},
	}
	for _, tc := range tests {
		if got := BilledMs(tc.in); got != tc.want {
			t.Errorf("BilledMs(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestLambdaPerMillionEvents(t *testing.T) {
	// Worked by hand: 1 M invocations of 25 ms at 128 MB = 1e6 × 0.025 s ×
	// 0.125 GB = 3,125 GB-s × $0.0000133334 = $0.04166…, plus $0.20 of
	// requests.
	tests := []struct {
		name  string
		ms    float64
		mb    int
		batch int
		want  float64
	}{
		{"ingest 25 ms at 128 MB", 25, 128, 1, 0.20 + 3125*0.0000133334},
		{"one vCPU, 10 ms", 10, 1769, 1, 0.20 + 1e6*0.010*1769.0/1024*0.0000133334},
		// A batch of 10: a tenth of the invocations, each 100 ms at 256 MB:
		// 1e5 × 0.1 × 0.25 = 2,500 GB-s.
		{"processor batch of 10", 100, 256, 10, 0.02 + 2500*0.0000133334},
		{"batch 0 is 1", 25, 128, 0, 0.20 + 3125*0.0000133334},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LambdaPerMillionEvents(tc.ms, tc.mb, tc.batch); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("got $%.6f, want $%.6f", got, tc.want)
			}
		})
	}
}
