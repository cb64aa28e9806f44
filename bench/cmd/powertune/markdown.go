package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/bench/internal/awsprice"
	"github.com/altafinex-webhooks/receiver/bench/internal/stats"
)

// The rule that picks a size (the design's "smallest memory that keeps
// latency flat"): the cheapest size whose warm p99 is within p99Slack of
// the best size's and whose cold start is under coldLimit.
const (
	p99Slack  = 1.10
	coldLimit = 100 * time.Millisecond
)

// report is the whole run.
type report struct {
	opts              options
	machine           string
	started, finished time.Time
	tables            []*table
}

// table is one function's rows.
type table struct {
	function      string
	batch         int
	throttledInit bool // the choice's cold start: init under the share (true) or at full CPU
	note          string
	rows          []row
}

func (rep *report) table(w workload) *table {
	t := &table{function: w.function(), batch: w.batch(), throttledInit: rep.opts.throttledInit}
	if n, ok := w.(interface{ note() string }); ok {
		t.note = n.note()
	}
	rep.tables = append(rep.tables, t)
	return t
}

// candidate is what the choice looks at in a row.
type candidate struct {
	MB   int
	P99  time.Duration // warm Duration p99
	Cold time.Duration // first invocation under the emulator, init included (median)
	Cost float64       // dollars per million events
}

func (r row) candidate(batch int, throttledInit bool) candidate {
	cold := stats.Median(r.Boosted)
	if throttledInit {
		cold = stats.Median(r.ColdDur)
	}
	return candidate{MB: r.MB, P99: stats.Percentile(r.Warm, 99), Cold: cold, Cost: r.costPerMillion(batch)}
}

// meanBilledMs is the mean billed duration of the warm invocations.
func (r row) meanBilledMs() float64 {
	if len(r.Billed) == 0 {
		return 0
	}
	var sum float64
	for _, b := range r.Billed {
		sum += awsprice.BilledMs(b)
	}
	return sum / float64(len(r.Billed))
}

func (r row) costPerMillion(batch int) float64 {
	return awsprice.LambdaPerMillionEvents(r.meanBilledMs(), r.MB, batch)
}

// choose applies the rule. ok is false when no size meets it; best is the
// size with the lowest warm p99.
func choose(cs []candidate) (pick, best candidate, ok bool) {
	if len(cs) == 0 {
		return pick, best, false
	}
	best = cs[0]
	for _, c := range cs[1:] {
		if c.P99 < best.P99 {
			best = c
		}
	}
	limit := time.Duration(float64(best.P99) * p99Slack)
	for _, c := range cs {
		if c.P99 > limit || c.Cold >= coldLimit {
			continue
		}
		if !ok || c.Cost < pick.Cost || (c.Cost == pick.Cost && c.MB < pick.MB) {
			pick, ok = c, true
		}
	}
	return pick, best, ok
}

// markdown renders the report, ready to paste into docs/performance.md.
func (rep *report) markdown() string {
	var b strings.Builder
	o := rep.opts
	fmt.Fprintf(&b, "Run of %s to %s UTC.\n\n", rep.started.Format("2006-01-02 15:04"), rep.finished.Format("15:04"))
	fmt.Fprintf(&b, "- Command: `make powertune` → `cd bench && go run ./cmd/powertune %s`\n", strings.Join(os.Args[1:], " "))
	fmt.Fprintf(&b, "- Machine: %s\n", rep.machine)
	fmt.Fprintf(&b, "- Every AWS call: moto_server behind toxiproxy adding %s to each answer. Group: cpu.cfs_period_us %d, quota = MB/1769 × period, no burst; the bootstrap alone in it.\n", o.latency, o.periodUS)
	if o.cpuprofile != "" {
		fmt.Fprintf(&b, "- **Profiled run** (cmd/profboot, CPU profiles in %s): the figures carry the profiler's cost; do not use them for the choice.\n", o.cpuprofile)
	}
	fmt.Fprintf(&b, "- Per size: %d cold starts of each kind, %d warm-ups, then up to %d warm invocations.\n", o.colds, o.warmup, o.warm)
	for _, t := range rep.tables {
		b.WriteString("\n")
		t.markdown(&b)
	}
	return b.String()
}

func (t *table) markdown(b *strings.Builder) {
	unit := "invocation"
	if t.batch > 1 {
		unit = fmt.Sprintf("invocation (batch of %d)", t.batch)
	}
	fmt.Fprintf(b, "**%s**, per %s; times in ms, warm figures are the emulator's REPORT `Duration`:\n\n", t.function, unit)
	if t.note != "" {
		fmt.Fprintf(b, "%s\n\n", t.note)
	}
	coldNote := "the init at full CPU (column \"cold, init at full CPU\"), the invocation under the share"
	if t.throttledInit {
		coldNote = "the init and the invocation under the share (column \"cold first invocation\")"
	}
	fmt.Fprintf(b, "The choice's cold start: %s.\n\n", coldNote)
	b.WriteString("| MB | CPU share | init (median / max) | init CPU | cold first invocation (median / max) | cold, init at full CPU (median / max) | warm p50 | warm p99 | warm p50 at the driver | mean billed | bootstrap CPU per invocation | emulator CPU per invocation | periods throttled | $ per M events (Lambda) | log bytes per invocation | load avg before → after |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	var cs []candidate
	for _, r := range t.rows {
		c := r.candidate(t.batch, t.throttledInit)
		cs = append(cs, c)
		n := len(r.Warm)
		perInv := func(d time.Duration) string {
			if n == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f", ms(d/time.Duration(n)))
		}
		thr := "–"
		if r.Throttle.Periods > 0 {
			thr = fmt.Sprintf("%d of %d", r.Throttle.Throttled, r.Throttle.Periods)
		}
		fmt.Fprintf(b, "| %d | %.3f | %.1f / %.1f | %.1f | %.1f / %.1f | %.1f / %.1f | %.1f | %.1f | %.1f | %.2f | %s | %s | %s | $%.3f | %.0f | %s → %s |\n",
			r.MB, r.Share,
			ms(stats.Median(r.Init)), ms(stats.Percentile(r.Init, 100)), ms(stats.Median(r.InitCPU)),
			ms(stats.Median(r.ColdDur)), ms(stats.Percentile(r.ColdDur, 100)),
			ms(stats.Median(r.Boosted)), ms(stats.Percentile(r.Boosted, 100)),
			ms(stats.Percentile(r.Warm, 50)), ms(c.P99), ms(stats.Percentile(r.WarmWall, 50)),
			r.meanBilledMs(), perInv(r.BootCPU), perInv(r.EmuCPU), thr, c.Cost, r.LogBytes,
			first(r.Load[0]), first(r.Load[1]))
	}
	b.WriteString("\n")
	pick, best, ok := choose(cs)
	if !ok {
		fmt.Fprintf(b, "Choice for %s: **no size** has a warm p99 within %.0f %% of the best (%.1f ms at %d MB) and a cold start under %s.\n",
			t.function, (p99Slack-1)*100, ms(best.P99), best.MB, coldLimit)
		return
	}
	fmt.Fprintf(b, "Choice for %s: **%d MB**, the cheapest size ($%.3f per million events) whose warm p99 (%.1f ms) is within %.0f %% of the best (%.1f ms at %d MB) and whose cold start (%.1f ms) is under %s.\n",
		t.function, pick.MB, pick.Cost, ms(pick.P99), (p99Slack-1)*100, ms(best.P99), best.MB, ms(pick.Cold), coldLimit)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// first is the first field of a load average ("4.12 3.90 3.50" → "4.12").
func first(load string) string {
	f := strings.Fields(load)
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
