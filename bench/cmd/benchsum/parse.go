package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// result holds every run's figures of one benchmark.
type result struct {
	ns, bytes, allocs []float64
}

// summary is the parsed output, benchmarks in order of first appearance.
type summary struct {
	order   []string
	results map[string]*result
}

// parse reads benchmark lines ("BenchmarkX-2  N  123 ns/op  …"); every
// other line is ignored.
func parse(in io.Reader) (summary, error) {
	s := summary{results: map[string]*result{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line (e.g. a log line that starts with Benchmark)
		}
		name := trimProcs(f[0])
		r := s.results[name]
		if r == nil {
			r = &result{}
			s.results[name] = r
			s.order = append(s.order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return summary{}, fmt.Errorf("%s: value %q: %w", name, f[i], err)
			}
			switch f[i+1] {
			case "ns/op":
				r.ns = append(r.ns, v)
			case "B/op":
				r.bytes = append(r.bytes, v)
			case "allocs/op":
				r.allocs = append(r.allocs, v)
			}
		}
	}
	return s, sc.Err()
}

// trimProcs removes the -GOMAXPROCS suffix go test adds to a name.
func trimProcs(name string) string {
	i := strings.LastIndex(name, "-")
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// median returns the median of v, or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}
