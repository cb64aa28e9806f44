package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports (getconf CLK_TCK).
const clockTick = 10 * time.Millisecond

// cpuTime reads a process's CPU time (user + system, all its threads, live
// and exited) from /proc/PID/stat. Its resolution is one clock tick
// (10 ms): divide a difference over many invocations, never time one.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime+stime of a /proc/PID/stat line. The command
// name (field 2) is in parentheses and may itself hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(line string) (time.Duration, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat line without a command name: %q", line)
	}
	// After ")": field 3 (state) is rest[0]; utime is field 14, stime 15.
	rest := strings.Fields(line[i+1:])
	if len(rest) < 13 {
		return 0, fmt.Errorf("/proc stat line too short: %q", line)
	}
	var ticks int64
	for _, f := range rest[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat field %q: %w", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// cgroupOf returns the path of pid's group in the cgroup v1 hierarchy of
// controller (e.g. "cpu"), from /proc/PID/cgroup.
func cgroupOf(pid int, controller string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	return parseCgroupFile(string(b), controller)
}

// parseCgroupFile finds controller's line ("ID:controllers:path") in a
// /proc/PID/cgroup file.
func parseCgroupFile(s, controller string) (string, error) {
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				return f[2], nil
			}
		}
	}
	return "", fmt.Errorf("no %s controller in /proc/PID/cgroup", controller)
}

// exe is the program pid runs, from /proc/PID/exe.
func exe(pid int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
}

// parentPID is pid's parent, from /proc/PID/stat (field 4).
func parentPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	line := string(b)
	i := strings.LastIndexByte(line, ')')
	rest := strings.Fields(line[i+1:])
	if i < 0 || len(rest) < 2 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, line)
	}
	return strconv.Atoi(rest[1])
}

// loadAverage is the first three fields of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// onCPU is the time every live thread of pid has spent on a CPU, in
// nanoseconds, from /proc/PID/task/*/schedstat (its first field): finer
// than /proc/PID/stat's ticks, for one short span such as an init.
func onCPU(pid int) (time.Duration, error) {
	dirs, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, d := range dirs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, d.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		ns, err := parseSchedstat(string(b))
		if err != nil {
			return 0, err
		}
		sum += ns
	}
	return sum, nil
}

// parseSchedstat reads the time on CPU (ns) from a schedstat line:
// "on-cpu-ns wait-ns timeslices".
func parseSchedstat(s string) (time.Duration, error) {
	f := strings.Fields(s)
	if len(f) < 1 {
		return 0, fmt.Errorf("empty schedstat")
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat %q: %w", s, err)
	}
	return time.Duration(n), nil
}
