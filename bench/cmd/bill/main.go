// Command bill prints what a deployment costs a merchant on AWS (us-east-1
// list prices, bench/internal/awsprice): per million events for the HTTP
// API front and the function-URL front, the fixed monthly part, and the
// monthly total at 10 thousand to 10 million events beside Hookdeck and
// Svix, as markdown for docs/performance.md. The durations and log sizes
// come from `make powertune` at the chosen sizes; the defaults are those of
// docs/performance.md, section 6.
//
//	go run ./cmd/bill -ingest-mb 1024 -ingest-ms 21.1   # another ingest size
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/altafinex-webhooks/receiver/bench/internal/awsprice"
)

func main() {
	var d awsprice.Deployment
	flag.IntVar(&d.IngestMB, "ingest-mb", 256, "ingest MemorySize")
	flag.Float64Var(&d.IngestBilledMs, "ingest-ms", 23.23, "ingest mean billed ms per invocation")
	flag.IntVar(&d.ProcessorMB, "processor-mb", 256, "processor MemorySize")
	flag.Float64Var(&d.ProcessorBilledMs1, "processor-ms1", 93.88, "processor mean billed ms, batch of 1")
	flag.Float64Var(&d.ProcessorBilledMs10, "processor-ms10", 517.75, "processor mean billed ms, batch of 10")
	flag.Float64Var(&d.IngestLogBytes, "ingest-log", 437, "ingest's JSON log bytes per invocation")
	flag.Float64Var(&d.ProcessorLogBytesPerRecord, "processor-log-record", 665, "processor's JSON log bytes per record")
	flag.Float64Var(&d.ProcessorLogBytesPerInvocation, "processor-log-invocation", 215, "processor's JSON log bytes per invocation besides its records'")
	flag.Float64Var(&d.PlatformLogBytes, "platform-log", 500, "Lambda platform log bytes per invocation (JSON platform.start and platform.report)")
	flag.BoolVar(&d.Tracing, "tracing", true, "X-Ray Active (the template's default)")
	flag.Float64Var(&d.EventItemBytes, "event-item", 400, "bytes stored per event record, overhead included")
	flag.Float64Var(&d.OrderItemBytes, "order-item", 500, "bytes stored per order, overhead included")
	flag.Float64Var(&d.EmailsPerEvent, "emails-per-event", 1, "share of events that email a customer (every kind does when the payload names one)")
	flag.Float64Var(&d.SenderBilledMs1, "sender-ms1", 41.85, "email sender's mean billed ms, batch of 1 job")
	flag.Float64Var(&d.SenderBilledMs10, "sender-ms10", 1334.91, "email sender's mean billed ms, batch of 10 jobs (paced)")
	flag.Float64Var(&d.SenderLogBytesPerEmail, "sender-log-email", 422, "email sender's JSON log bytes per email")
	flag.IntVar(&d.Mappings, "mappings", 2, "SQS event source mappings (events queue, email queue)")
	flag.IntVar(&d.Alarms, "alarms", 20, "standard alarms the stack creates (the HTTP API front)")
	flag.IntVar(&d.Dashboards, "dashboards", 1, "dashboards")
	flag.IntVar(&d.Metrics, "metrics", 7, "custom metrics a healthy deployment emits in a month")
	flag.IntVar(&d.Secrets, "secrets", 1, "Secrets Manager secrets")
	flag.Parse()
	print(os.Stdout, d)
}

// volumes are the months the bill is shown for.
var volumes = []float64{10_000, 100_000, 1_000_000, 10_000_000}

func print(w io.Writer, d awsprice.Deployment) {
	url := d
	url.FunctionURL = true
	fmt.Fprintf(w, "Per million events (no free tier, no fixed costs; X-Ray as at low volume, every invocation traced):\n\n")
	fmt.Fprintf(w, "| | HTTP API, batches of 10 | HTTP API, batches of 1 | function URL, batches of 10 | function URL, batches of 1 |\n| --- | ---: | ---: | ---: | ---: |\n")
	cols := [][]awsprice.Line{d.PerMillion(10), d.PerMillion(1), url.PerMillion(10), url.PerMillion(1)}
	for _, name := range names(cols[1]) {
		fmt.Fprintf(w, "| %s |", name)
		for _, c := range cols {
			fmt.Fprintf(w, " %s |", dollars(find(c, name)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "| **total** |")
	for _, c := range cols {
		fmt.Fprintf(w, " **%s** |", dollars(awsprice.Sum(c)))
	}
	fmt.Fprintf(w, "\n| total without X-Ray (Tracing=PassThrough) |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", dollars(awsprice.Sum(c)-orZero(find(c, "X-Ray traces"))))
	}
	fmt.Fprintf(w, "\n\nFixed, a month, at any volume:\n\n| | with the always-free allowances | without |\n| --- | ---: | ---: |\n")
	free, paid := d.Fixed(true), d.Fixed(false)
	for i := range free {
		fmt.Fprintf(w, "| %s | %s | %s |\n", free[i].Name, dollars(free[i].Dollars), dollars(paid[i].Dollars))
	}
	fmt.Fprintf(w, "| **total** | **%s** | **%s** |\n", dollars(awsprice.Sum(free)), dollars(awsprice.Sum(paid)))

	fmt.Fprintf(w, "\nA month, always-free allowances applied (storage as after a year at that volume):\n\n")
	fmt.Fprintf(w, "| Events a month | mean batch | fixed | usage, HTTP API | **total, HTTP API** | total, function URL | total without free allowances, HTTP API | Hookdeck (Team) | Svix (Free / Professional) |\n")
	fmt.Fprintf(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, v := range volumes {
		fixed, usage := d.Month(v, true)
		_, urlUsage := url.Month(v, true)
		pf, pu := d.Month(v, false)
		fmt.Fprintf(w, "| %s | %.2f | %s | %s | **%s** | %s | %s | %s | %s |\n",
			count(v), awsprice.BatchAt(v), dollars(awsprice.Sum(fixed)), dollars(awsprice.Sum(usage)),
			dollars(awsprice.Sum(fixed)+awsprice.Sum(usage)), dollars(awsprice.Sum(fixed)+awsprice.Sum(urlUsage)),
			dollars(awsprice.Sum(pf)+awsprice.Sum(pu)), hookdeck(v), svix(v))
	}
	fmt.Fprintf(w, "\nThe %s month in detail (always-free allowances applied, HTTP API):\n\n| | dollars |\n| --- | ---: |\n", count(1e6))
	fixed, usage := d.Month(1e6, true)
	for _, l := range append(fixed, usage...) {
		fmt.Fprintf(w, "| %s | %s |\n", l.Name, dollars(l.Dollars))
	}
}

// hookdeck is the Team plan: $39 a month with 10,000 events, then $1.00
// per 100,000 (list price; "as low as $0.33" with volume). Below 10,000
// events the free Developer plan (one user, 3-day retention) would do.
func hookdeck(events float64) string {
	extra := max(0, events-10_000) / 100_000 * 1.00
	return dollars(39 + extra)
}

// svix: 50,000 messages a month included, then $0.0001 a message, on the
// Free plan ($0) and the Professional plan ($490).
func svix(events float64) string {
	extra := max(0, events-50_000) * 0.0001
	return dollars(extra) + " / " + dollars(490+extra)
}

func names(lines []awsprice.Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Name)
	}
	return out
}

// find returns the dollars of the line called name, or -1 when absent.
func find(lines []awsprice.Line, name string) float64 {
	for _, l := range lines {
		if l.Name == name {
			return l.Dollars
		}
	}
	return -1
}

func orZero(v float64) float64 { return max(v, 0) }

func dollars(v float64) string {
	switch {
	case v < 0:
		return "–"
	case v == 0:
		return "$0"
	case v < 0.01:
		return "<$0.01"
	case v >= 1000:
		return fmt.Sprintf("$%.0f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

func count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%g M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%g k", v/1e3)
	}
	return fmt.Sprintf("%g", v)
}
