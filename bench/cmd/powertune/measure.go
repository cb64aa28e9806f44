package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/bench/internal/runtimeapi"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
)

// row is one memory size's figures for one function.
type row struct {
	MB      int
	Share   float64
	QuotaUS int
	Init    []time.Duration // exec → ready, own Runtime API, one per cold start
	// Boosted is the cold start with the init at full CPU and the first
	// invocation under the size's share: init plus first invocation, own
	// Runtime API, one per cold start (see -init).
	Boosted  []time.Duration
	InitCPU  []time.Duration // the bootstrap's CPU time up to ready, the same runs
	ColdDur  []time.Duration // first invocation's Duration under the emulator (init included)
	ColdWall []time.Duration // the same as the load driver saw it
	Warm     []time.Duration // warm Durations (REPORT)
	WarmWall []time.Duration // warm, as the load driver saw it
	Billed   []time.Duration // warm Billed Durations (REPORT)
	BootCPU  time.Duration   // the bootstrap's CPU over the measured warm invocations
	EmuCPU   time.Duration   // the emulator's, over the same
	Throttle throttling      // the group's cpu.stat over the same
	Load     [2]string       // load average before and after
	LogBytes float64         // the function's JSON lines (logs, EMF) per invocation
}

// measure runs one function at one memory size: cold starts under the
// emulator and against the own Runtime API, then warm invocations under
// the last emulator.
func measure(ctx context.Context, o options, gs *groups, riePath, boot string, w workload, endpoint string, mb int) (r row, err error) {
	r = row{MB: mb, Share: share(mb), QuotaUS: quotaUS(mb, o.periodUS), Load: [2]string{loadAverage(), ""}}
	g, err := gs.make(w.function(), mb, o.periodUS)
	if err != nil {
		return r, err
	}
	defer func() {
		if rerr := g.remove(gs.owned); rerr != nil && err == nil {
			err = rerr
		}
	}()
	wrapper, err := writeWrapper(filepath.Dir(boot), g, boot)
	if err != nil {
		return r, err
	}
	// Events: one per cold start of each kind, the warm-ups and the
	// measured ones.
	if err := w.prepare(ctx, 3*o.colds+o.warmup+o.warm); err != nil {
		return r, fmt.Errorf("prepare events: %w", err)
	}
	env := w.env(endpoint)
	if o.cpuprofile != "" {
		// The emulator's process of the last cold start serves the warm
		// invocations: its first is the cold one, then the warm-ups.
		env["PROFBOOT_FUNCTION"] = w.function()
		env["PROFBOOT_START"] = strconv.Itoa(o.warmup + 2)
		env["PROFBOOT_STOP"] = strconv.Itoa(o.warmup + 1 + o.warm)
		env["PROFBOOT_CPUPROFILE"] = filepath.Join(o.cpuprofile, fmt.Sprintf("%s-%d.pprof", w.function(), mb))
	}
	verify := func(pid, parent int) error { return verifyInGroup(g, pid, parent, boot) }

	// Cold starts against the own Runtime API: the init.
	for range o.colds {
		ev, err := w.next(ctx)
		if err != nil {
			return r, err
		}
		d, err := probeInit(ctx, wrapper, w.logicalID(), env, mb, ev, w.check, verify, nil)
		if err != nil {
			return r, fmt.Errorf("init probe: %w", err)
		}
		r.Init, r.InitCPU = append(r.Init, d.init), append(r.InitCPU, d.cpu)
		if err := waitEmpty(g); err != nil {
			return r, err
		}
	}
	// The same with the init at full CPU: the bootstrap joins the group
	// when it asks for its first event.
	join := func(pid int) error { return g.write("cgroup.procs", strconv.Itoa(pid)) }
	for range o.colds {
		ev, err := w.next(ctx)
		if err != nil {
			return r, err
		}
		d, err := probeInit(ctx, boot, w.logicalID(), env, mb, ev, w.check, verify, join)
		if err != nil {
			return r, fmt.Errorf("init probe at full CPU: %w", err)
		}
		r.Boosted = append(r.Boosted, d.init+d.first)
		if err := waitEmpty(g); err != nil {
			return r, err
		}
	}

	// Cold starts under the emulator; the last one stays for the warm run.
	var emu *rie.Emulator
	out := &runtimeapi.SyncBuffer{}
	defer func() { emu.Stop() }()
	var iv *invoker
	var bootPID int
	for i := range o.colds {
		if emu != nil {
			emu.Stop()
			if err := waitEmpty(g); err != nil {
				return r, err
			}
		}
		out.Reset()
		emu, err = rie.Start(ctx, rie.Function{
			RIE: riePath, Bootstrap: wrapper, Env: env, Name: w.logicalID(),
			Timeout: 30 * time.Second, MemoryMB: mb, Output: out,
		})
		if err != nil {
			return r, err
		}
		iv = &invoker{url: emu.URL, client: &http.Client{Timeout: 60 * time.Second}, prefix: fmt.Sprintf("%s-%d-%d", w.function(), mb, i)}
		ev, err := w.next(ctx)
		if err != nil {
			return r, err
		}
		id, resp, took, err := iv.invoke(ctx, ev)
		if err != nil {
			return r, fmt.Errorf("%w\n%s", err, out.String())
		}
		if err := w.check(resp); err != nil {
			return r, fmt.Errorf("%w\n%s", err, out.String())
		}
		pids, err := g.procs()
		if err != nil {
			return r, err
		}
		if len(pids) != 1 {
			return r, fmt.Errorf("%d processes in %s after the first invocation, want the bootstrap alone: %v", len(pids), g.dir, pids)
		}
		if err := verify(pids[0], emu.PID()); err != nil {
			return r, err
		}
		bootPID = pids[0]
		reps, err := waitReports(out, []string{id})
		if err != nil {
			return r, err
		}
		r.ColdDur = append(r.ColdDur, reps[id].Duration)
		r.ColdWall = append(r.ColdWall, took)
	}

	for i := range o.warmup {
		if err := warmOne(ctx, w, iv, i); err != nil {
			return r, fmt.Errorf("%w\n%s", err, out.String())
		}
	}
	before, err := readCounters(bootPID, emu.PID(), g)
	if err != nil {
		return r, err
	}
	var ids []string
	var walls []time.Duration
	deadline := time.Now().Add(o.budget)
	for i := range o.warm {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "powertune: %s at %d MB: stopped after %d warm invocations (-budget %s)\n", w.function(), mb, i, o.budget)
			break
		}
		ev, err := w.next(ctx)
		if err != nil {
			return r, err
		}
		id, resp, took, err := iv.invoke(ctx, ev)
		if err != nil {
			return r, fmt.Errorf("%w\n%s", err, out.String())
		}
		if err := w.check(resp); err != nil {
			return r, fmt.Errorf("%w\n%s", err, out.String())
		}
		ids, walls = append(ids, id), append(walls, took)
		// Untimed housekeeping happens after the CPU readings of this
		// invocation are no longer affected: it runs outside the group.
		if err := w.between(ctx, o.warmup+i); err != nil {
			return r, err
		}
	}
	after, err := readCounters(bootPID, emu.PID(), g)
	if err != nil {
		return r, err
	}
	// The process must still be the same bootstrap in the same group.
	if err := verify(bootPID, emu.PID()); err != nil {
		return r, err
	}
	reps, err := waitReports(out, ids)
	if err != nil {
		return r, err
	}
	for i, id := range ids {
		r.Warm = append(r.Warm, reps[id].Duration)
		r.Billed = append(r.Billed, reps[id].Billed)
		r.WarmWall = append(r.WarmWall, walls[i])
	}
	r.BootCPU, r.EmuCPU, r.Throttle = after.boot-before.boot, after.emu-before.emu, after.throttle.sub(before.throttle)
	// This emulator served the last cold invocation, the warm-ups and the
	// measured ones.
	r.LogBytes = float64(jsonBytes(out.String())) / float64(1+o.warmup+len(ids))
	emu.Stop()
	emu = nil
	if err := waitEmpty(g); err != nil {
		return r, err
	}
	r.Load[1] = loadAverage()
	return r, nil
}

// warmOne is one unmeasured warm invocation.
func warmOne(ctx context.Context, w workload, iv *invoker, i int) error {
	ev, err := w.next(ctx)
	if err != nil {
		return err
	}
	_, resp, _, err := iv.invoke(ctx, ev)
	if err != nil {
		return err
	}
	if err := w.check(resp); err != nil {
		return err
	}
	return w.between(ctx, i)
}

// writeWrapper writes the script the emulator (or the init probe) starts
// instead of the bootstrap: it moves itself into the group, then becomes
// the bootstrap with exec, keeping its PID and the group. If it cannot
// join the group it exits 97 and the bootstrap never runs.
func writeWrapper(dir string, g *cpuGroup, boot string) (string, error) {
	p := filepath.Join(dir, "bootstrap-in-"+filepath.Base(g.dir))
	script := "#!/bin/sh\n" +
		"echo $$ > " + strconv.Quote(filepath.Join(g.dir, "cgroup.procs")) + " || exit 97\n" +
		"exec " + strconv.Quote(boot) + "\n"
	return p, os.WriteFile(p, []byte(script), 0o755)
}

// verifyInGroup checks that pid runs the real bootstrap (not the wrapper),
// that its parent is parent (the emulator or this program), and that it is
// in g's cpu group.
func verifyInGroup(g *cpuGroup, pid, parent int, boot string) error {
	p, err := exe(pid)
	if err != nil {
		return fmt.Errorf("process %d in %s: %w", pid, g.dir, err)
	}
	if p != boot {
		return fmt.Errorf("process %d in %s runs %s, not the bootstrap %s", pid, g.dir, p, boot)
	}
	pp, err := parentPID(pid)
	if err != nil {
		return err
	}
	if pp != parent {
		return fmt.Errorf("bootstrap %d's parent is %d, not %d", pid, pp, parent)
	}
	cg, err := cgroupOf(pid, "cpu")
	if err != nil {
		return err
	}
	if want := "/" + filepath.Base(g.dir); cg != want {
		return fmt.Errorf("bootstrap %d is in cpu group %s, not %s", pid, cg, want)
	}
	return nil
}

// waitEmpty waits (at most 5 s) until no process is left in g.
func waitEmpty(g *cpuGroup) error {
	var pids []int
	for range 100 {
		var err error
		if pids, err = g.procs(); err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("processes %v still in %s 5 s after their emulator stopped", pids, g.dir)
}

// waitReports waits (at most 5 s) for the REPORT lines of ids: the
// emulator may print them after the response.
func waitReports(out *runtimeapi.SyncBuffer, ids []string) (map[string]invokeReport, error) {
	var missing []string
	for range 100 {
		reps, err := parseReports(out.String())
		if err != nil {
			return nil, err
		}
		missing = missing[:0]
		for _, id := range ids {
			if _, ok := reps[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return reps, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("no REPORT line for %d invocations (%v…)", len(missing), slices.Clip(missing[:1]))
}

// jsonBytes counts the bytes (newline included) of the lines of out that
// are JSON objects: the function's log lines and EMF lines, as CloudWatch
// Logs would ingest them; the emulator's own lines are not JSON.
func jsonBytes(out string) int {
	n := 0
	for _, line := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(line, "{") {
			n += len(line)
		}
	}
	return n
}

// counters are what the warm invocations are measured by, read before and
// after them: the bootstrap's and the emulator's CPU time and the group's
// throttling.
type counters struct {
	boot, emu time.Duration
	throttle  throttling
}

func readCounters(bootPID, emuPID int, g *cpuGroup) (counters, error) {
	var c counters
	var err error
	if c.boot, err = cpuTime(bootPID); err != nil {
		return c, err
	}
	if c.emu, err = cpuTime(emuPID); err != nil {
		return c, err
	}
	c.throttle, err = g.stat()
	return c, err
}
