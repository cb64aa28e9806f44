package main

import (
	"context"
	"time"

	"github.com/altafinex-webhooks/receiver/bench/internal/runtimeapi"
)

// coldStartDirect runs boot once against runtimeapi's own Runtime API: its
// init and first invocation without the emulator.
func coldStartDirect(ctx context.Context, boot string, env map[string]string, memory int) (runtimeapi.Result, error) {
	ev, err := event()
	if err != nil {
		return runtimeapi.Result{}, err
	}
	return runtimeapi.ColdStart(ctx, runtimeapi.Options{
		Bootstrap: boot, Function: "IngestFunction", MemoryMB: memory, Env: env, Event: ev,
		Timeout:  15 * time.Second,
		Answered: func(body []byte, _ int) error { return accepted(body) },
	})
}
