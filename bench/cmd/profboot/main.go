// Command profboot is a function's bootstrap with a CPU profile of its
// warm invocations: the same wiring as functions/ingest and
// functions/processor (configuration from the environment,
// config.LoadDefaultConfig, ingestapp.New or processorapp.New, the JSON
// log handler on stdout, lambda.Start), with the handler wrapped to start
// a CPU profile before invocation PROFBOOT_START and write it to
// PROFBOOT_CPUPROFILE after invocation PROFBOOT_STOP (both counted from 1
// in this process). Everything else is the production code, so the
// profile shows the whole invocation: the Lambda runtime client, the
// handler, the SDK (serialisation, SigV4, HTTP), logging, EMF and the
// garbage collector.
//
// powertune -cpuprofile builds it in place of the function's bootstrap.
// It is a measuring tool: never deploy it.
//
//	go build -tags lambda.norpc -o bootstrap ./cmd/profboot   # PROFBOOT_FUNCTION=ingest|processor|sender
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
)

func main() {
	h, err := handler(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "profboot:", err)
		os.Exit(1)
	}
	p, err := newProfiled(h, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profboot:", err)
		os.Exit(1)
	}
	lambda.Start(p)
}

// handler wires the function PROFBOOT_FUNCTION names as its main does.
func handler(ctx context.Context) (lambda.Handler, error) {
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	switch fn := os.Getenv("PROFBOOT_FUNCTION"); fn {
	case "ingest":
		cfg, err := ingestapp.Load(os.Getenv)
		if err != nil {
			return nil, err
		}
		log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
		h, err := ingestapp.New(ctx, cfg, awsCfg, log, os.Stdout)
		if err != nil {
			return nil, err
		}
		return lambda.NewHandler(h.Handle), nil
	case "processor", "sender": // the sender is the processor serving the email queue
		cfg, err := processorapp.Load(os.Getenv)
		if err != nil {
			return nil, err
		}
		log := slog.New(sqsbatch.LogHandler(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel})))
		return lambda.NewHandler(processorapp.New(cfg, awsCfg, log, os.Stdout).Handle), nil
	default:
		return nil, fmt.Errorf("PROFBOOT_FUNCTION %q is not ingest, processor or sender", fn)
	}
}

// profiled counts invocations and profiles those from start to stop.
type profiled struct {
	next        lambda.Handler
	start, stop int
	path        string
	mu          sync.Mutex
	n           int
	f           *os.File
}

func newProfiled(next lambda.Handler, getenv func(string) string) (*profiled, error) {
	p := &profiled{next: next, path: getenv("PROFBOOT_CPUPROFILE")}
	var err error
	if p.start, err = strconv.Atoi(getenv("PROFBOOT_START")); err != nil || p.start < 1 {
		return nil, fmt.Errorf("PROFBOOT_START %q: want an invocation number from 1", getenv("PROFBOOT_START"))
	}
	if p.stop, err = strconv.Atoi(getenv("PROFBOOT_STOP")); err != nil || p.stop < p.start {
		return nil, fmt.Errorf("PROFBOOT_STOP %q: want an invocation number from PROFBOOT_START", getenv("PROFBOOT_STOP"))
	}
	if p.path == "" {
		return nil, fmt.Errorf("PROFBOOT_CPUPROFILE is empty")
	}
	return p, nil
}

func (p *profiled) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	p.mu.Lock()
	p.n++
	if p.n == p.start {
		f, err := os.Create(p.path)
		if err == nil {
			if err = pprof.StartCPUProfile(f); err == nil {
				p.f = f
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "profboot: start profile:", err)
		}
	}
	n := p.n
	p.mu.Unlock()
	out, err := p.next.Invoke(ctx, payload)
	if n == p.stop && p.f != nil {
		pprof.StopCPUProfile()
		_ = p.f.Close()
		p.f = nil
	}
	return out, err
}
