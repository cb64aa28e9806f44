package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkVerify/2KB/raw_hmac-2    100  1000 ns/op  1000 MB/s  512 B/op  6 allocs/op
BenchmarkVerify/2KB/receiver-2    100  1100 ns/op  900 MB/s   544 B/op  6 allocs/op
BenchmarkVerify/2KB/raw_hmac-2    100  3000 ns/op  1000 MB/s  512 B/op  6 allocs/op
BenchmarkVerify/2KB/receiver-2    100  1300 ns/op  900 MB/s   544 B/op  6 allocs/op
BenchmarkVerify/2KB/raw_hmac-2    100  2000 ns/op  1000 MB/s  512 B/op  6 allocs/op
BenchmarkVerify/2KB/receiver-2    100  1200 ns/op  900 MB/s   544 B/op  6 allocs/op
BenchmarkHandler_2KB-2            100  4000 ns/op
PASS
`

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range tests {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name, base string
		want       []string // substrings of the output, in any order
	}{
		{"sibling base", "raw_hmac", []string{
			"BenchmarkVerify/2KB/raw_hmac                     3         2000        512         6      1.00",
			"BenchmarkVerify/2KB/receiver                     3         1200        544         6      0.60",
			"BenchmarkHandler_2KB                             1         4000          0         0         -",
		}},
		{"whole-name base", "BenchmarkVerify/2KB/receiver", []string{
			"BenchmarkHandler_2KB                             1         4000          0         0      3.33",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(strings.NewReader(sample), &out, tc.base); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestRunNoResults(t *testing.T) {
	if err := run(strings.NewReader("PASS\n"), &bytes.Buffer{}, "raw_hmac"); err == nil {
		t.Fatal("no error for input without results")
	}
}
