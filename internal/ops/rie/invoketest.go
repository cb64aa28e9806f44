// Package rie runs a function's built bootstrap the way `sam local
// invoke` does inside Docker, without Docker: under the AWS Lambda Runtime
// Interface Emulator (aws-lambda-rie), on loopback ports, with an event
// POSTed to the emulator's invoke URL. It also writes the events those
// invocations take (API Gateway HTTP API payload 2.0, SQS) and creates the
// tables and queues a function's environment names on an AWS emulator.
//
// `make invoke` (cmd/mkevents invoke) and this package's tests use it.
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// The emulator's Go package and the version this project pins (see
// docs/runbook.md and the Makefile's RIE_VERSION).
const (
	RIEPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// InvokePath is the emulator's invoke URL path.
const InvokePath = "/2015-03-31/functions/function/invocations"

// readyWait bounds how long Start waits for the emulator to listen.
const readyWait = 10 * time.Second

// ErrExited reports that the emulator process ended before or while it was
// used.
var ErrExited = errors.New("aws-lambda-rie exited")

// BuildBootstrap builds the function in moduleRoot/functions/<function>
// for this machine (host GOOS and GOARCH, CGO off, -tags lambda.norpc) into
// out. The Lambda build cross-compiles to linux/arm64 instead; the code is
// the same.
func BuildBootstrap(ctx context.Context, moduleRoot, function, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, "./functions/"+function)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s bootstrap: %w\n%s", function, err, b)
	}
	return nil
}

// InstallRIE returns gobin/aws-lambda-rie, installing RIEPackage at
// RIEVersion there with `go install` when it is missing.
func InstallRIE(ctx context.Context, gobin string) (string, error) {
	path := filepath.Join(gobin, "aws-lambda-rie")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", RIEPackage+"@"+RIEVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s (GOBIN=%s): %w\n%s", RIEPackage, RIEVersion, gobin, err, b)
	}
	return path, nil
}

// Function describes one function to run under the emulator.
type Function struct {
	RIE       string // path of aws-lambda-rie
	Bootstrap string // path of the function's bootstrap
	// Env is the function's whole environment: nothing of the calling
	// process is passed on, as in Lambda.
	Env      map[string]string
	Name     string        // AWS_LAMBDA_FUNCTION_NAME
	Timeout  time.Duration // AWS_LAMBDA_FUNCTION_TIMEOUT; 0: the emulator's default
	MemoryMB int           // AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0: the emulator's default
	// Output receives the emulator's log and the function's stdout and
	// stderr; nil discards them. It is written from another goroutine until
	// Stop returns.
	Output io.Writer
}

// Emulator is a running aws-lambda-rie process with one function.
type Emulator struct {
	// URL is the invoke URL, http://127.0.0.1:PORT/2015-03-31/functions/function/invocations.
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit status, set before done is closed
	mu   sync.Mutex
	addr string
}

// Start runs f's bootstrap under aws-lambda-rie on two free loopback ports
// and waits (at most 10 s) until the emulator accepts connections. The
// emulator starts the bootstrap on the first invocation.
func Start(ctx context.Context, f Function) (*Emulator, error) {
	// The emulator runs in the bootstrap's directory (as Lambda runs it in
	// /var/task): both paths must be absolute.
	rie, err := filepath.Abs(f.RIE)
	if err != nil {
		return nil, fmt.Errorf("aws-lambda-rie path: %w", err)
	}
	boot, err := filepath.Abs(f.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("bootstrap path: %w", err)
	}
	for _, p := range []string{rie, boot} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("start emulator: %w", err)
		}
	}
	apiPort, err := motoserver.FreePort()
	if err != nil {
		return nil, err
	}
	runtimePort, err := motoserver.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(apiPort)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(runtimePort),
		boot)
	cmd.Dir = filepath.Dir(boot)
	cmd.Env = environ(f)
	out := f.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	e := &Emulator{URL: "http://" + addr + InvokePath, cmd: cmd, done: make(chan struct{}), addr: addr}
	go func() { e.err = cmd.Wait(); close(e.done) }()
	if err := e.waitReady(ctx); err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// environ is the emulator's environment: the function's variables and the
// Lambda settings the emulator reads, sorted so runs are reproducible.
func environ(f Function) []string {
	env := make(map[string]string, len(f.Env)+3)
	for k, v := range f.Env {
		env[k] = v
	}
	if f.Name != "" {
		env["AWS_LAMBDA_FUNCTION_NAME"] = f.Name
	}
	if f.Timeout > 0 {
		env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(f.Timeout / time.Second))
	}
	if f.MemoryMB > 0 {
		env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(f.MemoryMB)
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (e *Emulator) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		if c, err := d.DialContext(ctx, "tcp", e.addr); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.done:
			return fmt.Errorf("%w before it listened on %s: %v", ErrExited, e.addr, e.err)
		case <-ctx.Done():
			return fmt.Errorf("aws-lambda-rie not listening on %s after %s: %w", e.addr, readyWait, ctx.Err())
		case <-tick.C:
		}
	}
}

// Invoke sends event to the function and returns its response: the
// handler's result, or for a handler error the emulator's errorMessage
// document (the emulator answers both with HTTP 200). Invocations are
// serialised: the emulator crashes on a second invoke while one runs.
func (e *Emulator) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.done:
		return nil, fmt.Errorf("invoke: %w: %v", ErrExited, e.err)
	default:
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: emulator answered %s: %s", resp.Status, body)
	}
	return body, nil
}

// PID is the emulator's process id (its function's bootstrap is a child of
// it), for reading its CPU time from /proc.
func (e *Emulator) PID() int { return e.cmd.Process.Pid }

// Stop ends the emulator by its PID (SIGTERM, which also ends the
// function) and waits for it; after 5 s it kills the emulator's process
// group. After Stop returns, Output is no longer written.
func (e *Emulator) Stop() {
	if e == nil || e.cmd.Process == nil {
		return
	}
	select {
	case <-e.done:
		return
	default:
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
	}
}
