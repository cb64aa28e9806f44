package main

import (
	"context"
	"os"
	"time"

	"github.com/altafinex-webhooks/receiver/bench/internal/runtimeapi"
)

// initRun is one cold start against runtimeapi's own Runtime API (see
// there why not the emulator's).
type initRun struct {
	init  time.Duration // exec → first GET /runtime/invocation/next
	first time.Duration // event handed over → response posted
	cpu   time.Duration // the process's CPU time up to that first request
}

// probeInit starts wrapper once, serving it event, checks the answer with
// check and the process with verify. wrapper either joins the group and
// execs the bootstrap (the init under the size's share), or is the
// bootstrap itself with join set: it then joins the group at its first
// "next" request (the init at full CPU, the invocation under the share).
func probeInit(ctx context.Context, wrapper, function string, env map[string]string, memoryMB int, event []byte, check func([]byte) error, verify func(pid, parent int) error, join func(pid int) error) (initRun, error) {
	var cpu time.Duration
	d, err := runtimeapi.ColdStart(ctx, runtimeapi.Options{
		Bootstrap: wrapper, Function: function, MemoryMB: memoryMB, Env: env, Event: event,
		Ready: func(pid int) error {
			cpu, _ = onCPU(pid) // 0 if unreadable
			if join == nil {
				return nil
			}
			return join(pid)
		},
		Answered: func(body []byte, pid int) error {
			if err := check(body); err != nil {
				return err
			}
			// The process that answered must be the real bootstrap, in the group.
			return verify(pid, os.Getpid())
		},
	})
	if err != nil {
		return initRun{}, err
	}
	return initRun{init: d.Init, first: d.First, cpu: cpu}, nil
}
