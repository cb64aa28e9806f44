package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fullCPUMB is the memory size at which Lambda gives a function one whole
// vCPU; below it the CPU share is proportional to memory.
const fullCPUMB = 1769

// ErrNoCgroup reports that a CPU-limited group could not be made: no
// figure of this run may then be presented as throttled.
var ErrNoCgroup = errors.New("cannot make a cgroup v1 cpu group")

// share is the CPU share Lambda gives memoryMB: memoryMB/1769 of one vCPU,
// at most one (sizes above 1,769 MB get a second vCPU, which a single
// quota over two cores would also model, but the tool stops at 1,769).
func share(memoryMB int) float64 {
	return min(float64(memoryMB)/fullCPUMB, 1)
}

// quotaUS is the cpu.cfs_quota_us that gives memoryMB's share of one CPU
// per period, rounded to the nearest microsecond and at least the 1,000 µs
// the kernel accepts.
func quotaUS(memoryMB int, periodUS int) int {
	q := int(math.Round(share(memoryMB) * float64(periodUS)))
	return max(q, 1000)
}

// cpuGroup is one cgroup v1 cpu group this program made.
type cpuGroup struct {
	dir      string // e.g. /sys/fs/cgroup/cpu/powertune-1234-128
	periodUS int
	quotaUS  int
}

// makeGroup creates root/name with the period and quota and reads both
// back. Any failure is ErrNoCgroup, and whatever was made is removed.
func makeGroup(root, name string, periodUS, quota int) (*cpuGroup, error) {
	if st, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err != nil || st.IsDir() {
		return nil, fmt.Errorf("%w: %s has no cpu.cfs_quota_us (is cgroup v1's cpu controller mounted there?): %v", ErrNoCgroup, root, err)
	}
	g := &cpuGroup{dir: filepath.Join(root, name), periodUS: periodUS, quotaUS: quota}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: mkdir %s: %v (run as root)", ErrNoCgroup, g.dir, err)
	}
	settings := []struct {
		file  string
		value int
	}{
		{"cpu.cfs_period_us", periodUS},
		{"cpu.cfs_quota_us", quota},
	}
	for _, s := range settings {
		if err := g.write(s.file, strconv.Itoa(s.value)); err != nil {
			_ = g.remove(nil)
			return nil, fmt.Errorf("%w: %v", ErrNoCgroup, err)
		}
		got, err := g.readInt(s.file)
		if err != nil || got != s.value {
			_ = g.remove(nil)
			return nil, fmt.Errorf("%w: %s reads back %d (%v), want %d", ErrNoCgroup, filepath.Join(g.dir, s.file), got, err, s.value)
		}
	}
	// No burst: a Lambda sandbox has no CPU credit to spend.
	if _, err := os.Stat(filepath.Join(g.dir, "cpu.cfs_burst_us")); err == nil {
		if err := g.write("cpu.cfs_burst_us", "0"); err != nil {
			_ = g.remove(nil)
			return nil, fmt.Errorf("%w: %v", ErrNoCgroup, err)
		}
	}
	return g, nil
}

func (g *cpuGroup) write(file, value string) error {
	return os.WriteFile(filepath.Join(g.dir, file), []byte(value), 0o644)
}

func (g *cpuGroup) readInt(file string) (int, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// procs returns the PIDs in the group.
func (g *cpuGroup) procs() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("cgroup.procs: %q: %w", f, err)
		}
		out = append(out, pid)
	}
	return out, nil
}

// throttling is the group's cpu.stat: periods, throttled periods and
// throttled time.
type throttling struct {
	Periods, Throttled int64
	ThrottledTime      time.Duration
}

func (g *cpuGroup) stat() (throttling, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "cpu.stat"))
	if err != nil {
		return throttling{}, err
	}
	return parseCPUStat(string(b))
}

// parseCPUStat reads cgroup v1's cpu.stat.
func parseCPUStat(s string) (throttling, error) {
	var t throttling
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return t, fmt.Errorf("cpu.stat: %q: %w", line, err)
		}
		switch f[0] {
		case "nr_periods":
			t.Periods = n
		case "nr_throttled":
			t.Throttled = n
		case "throttled_time":
			t.ThrottledTime = time.Duration(n)
		}
	}
	return t, nil
}

func (t throttling) sub(u throttling) throttling {
	return throttling{Periods: t.Periods - u.Periods, Throttled: t.Throttled - u.Throttled, ThrottledTime: t.ThrottledTime - u.ThrottledTime}
}

// remove empties and removes the group. A process still in it is ended by
// its PID only when owned says it is one this program started (its
// bootstrap); anything else makes remove fail rather than kill it.
func (g *cpuGroup) remove(owned func(pid int) bool) error {
	if g == nil {
		return nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := os.Remove(g.dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("remove %s: %w", g.dir, err)
		}
		pids, perr := g.procs()
		if perr != nil {
			return fmt.Errorf("remove %s: %w (%v)", g.dir, err, perr)
		}
		for _, pid := range pids {
			if owned == nil || !owned(pid) {
				return fmt.Errorf("remove %s: process %d, not started by this run, is in it", g.dir, pid)
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// groups tracks every group this run made, so that an error or a signal
// still removes them all.
type groups struct {
	root  string
	owner int // this process's PID, part of every group's name
	made  []*cpuGroup
	owned func(pid int) bool
}

// name is the group name for a memory size and function.
func (gs *groups) name(function string, memoryMB int) string {
	return fmt.Sprintf("powertune-%d-%s-%d", gs.owner, function, memoryMB)
}

func (gs *groups) make(function string, memoryMB, periodUS int) (*cpuGroup, error) {
	g, err := makeGroup(gs.root, gs.name(function, memoryMB), periodUS, quotaUS(memoryMB, periodUS))
	if err != nil {
		return nil, err
	}
	gs.made = append(gs.made, g)
	return g, nil
}

// removeAll removes every group still there and reports the failures.
func (gs *groups) removeAll() error {
	var errs []error
	for _, g := range gs.made {
		if err := g.remove(gs.owned); err != nil {
			errs = append(errs, err)
		}
	}
	gs.made = nil
	return errors.Join(errs...)
}

// removeStale removes empty groups left by earlier runs of this program
// that died without cleaning up (their owner PID no longer exists).
func (gs *groups) removeStale() {
	entries, err := os.ReadDir(gs.root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "powertune-") {
			continue
		}
		f := strings.SplitN(strings.TrimPrefix(e.Name(), "powertune-"), "-", 2)
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid == gs.owner {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its owner still runs
		}
		_ = os.Remove(filepath.Join(gs.root, e.Name())) // fails, harmlessly, if not empty
	}
}
