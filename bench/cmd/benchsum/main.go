// Command benchsum summarises `go test -bench` output: the median ns/op,
// B/op and allocs/op of each benchmark over its -count runs, and each
// median's ratio to a base benchmark. It reads the output on stdin.
//
//	go test -run '^$' -bench . -benchmem -count 6 | go run ./cmd/benchsum -base raw_hmac
//
// The base of BenchmarkX/2KB/receiver is its sibling BenchmarkX/2KB/raw_hmac
// when -base names a last element; otherwise -base is a whole benchmark
// name (e.g. BenchmarkRawHMAC_2KB) used for every row.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	base := flag.String("base", "raw_hmac", "base benchmark: a sibling's last name element, or a whole benchmark name")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *base); err != nil {
		fmt.Fprintln(os.Stderr, "benchsum:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer, base string) error {
	sum, err := parse(in)
	if err != nil {
		return err
	}
	if len(sum.order) == 0 {
		return fmt.Errorf("no benchmark results on stdin")
	}
	fmt.Fprintf(out, "%-44s %5s %12s %10s %9s %9s\n", "benchmark (median of runs)", "runs", "ns/op", "B/op", "allocs/op", "× base")
	for _, name := range sum.order {
		r := sum.results[name]
		ratio := "-"
		if b, ok := sum.results[baseOf(name, base, sum.results)]; ok && median(b.ns) > 0 {
			ratio = fmt.Sprintf("%.2f", median(r.ns)/median(b.ns))
		}
		fmt.Fprintf(out, "%-44s %5d %12.0f %10.0f %9.0f %9s\n", name, len(r.ns), median(r.ns), median(r.bytes), median(r.allocs), ratio)
	}
	return nil
}

// baseOf names the base of benchmark name.
func baseOf(name, base string, results map[string]*result) string {
	if i := strings.LastIndex(name, "/"); i >= 0 && !strings.Contains(base, "/") {
		if sib := name[:i+1] + base; results[sib] != nil {
			return sib
		}
	}
	return base
}
