package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
)

// invokeReport is what the emulator's REPORT line says of one invocation.
type invokeReport struct {
	Duration time.Duration // from handing the event to the runtime to its response
	Billed   time.Duration // Duration rounded up to the millisecond, as the emulator prints it
}

// reportRe matches aws-lambda-rie's REPORT line:
//
//	REPORT RequestId: ID\t[Init Duration: X ms\t]Duration: X ms\tBilled Duration: X ms\t…
var reportRe = regexp.MustCompile(`REPORT RequestId: (\S+)\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms\s+Billed Duration: ([0-9.]+) ms`)

// parseReports returns every REPORT line of the emulator's output by
// request id.
func parseReports(out string) (map[string]invokeReport, error) {
	reports := map[string]invokeReport{}
	for _, m := range reportRe.FindAllStringSubmatch(out, -1) {
		d, err := msDuration(m[2])
		if err != nil {
			return nil, fmt.Errorf("REPORT %s: Duration %q: %w", m[1], m[2], err)
		}
		b, err := msDuration(m[3])
		if err != nil {
			return nil, fmt.Errorf("REPORT %s: Billed Duration %q: %w", m[1], m[3], err)
		}
		reports[m[1]] = invokeReport{Duration: d, Billed: b}
	}
	return reports, nil
}

func msDuration(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(math.Round(f * float64(time.Millisecond))), nil
}
