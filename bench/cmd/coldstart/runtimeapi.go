package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// direct is one cold start measured against this program's own minimal
// Lambda Runtime API instead of the emulator: the bootstrap is started
// directly, so the time to its first "next invocation" request is its
// whole init (process start, Go runtime and package initialisation, main
// up to lambda.Start), and the time from handing it the event to its
// response is the first invocation.
type direct struct {
	init  time.Duration // exec → first GET /runtime/invocation/next
	first time.Duration // event handed over → response posted
}

// runtimeAPI serves one invocation of event.
type runtimeAPI struct {
	event []byte
	mu    sync.Mutex
	next  time.Time // first GET next
	resp  time.Time // response posted
	body  []byte
	fail  string
	done  chan struct{}
	once  sync.Once
}

func (a *runtimeAPI) finish() { a.once.Do(func() { close(a.done) }) }

func (a *runtimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	p := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodGet && p == "invocation/next":
		a.mu.Lock()
		first := a.next.IsZero()
		if first {
			a.next = time.Now()
		}
		a.mu.Unlock()
		if !first {
			<-r.Context().Done() // the second poll waits until the process is stopped
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "coldstart-1")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(10*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:IngestFunction")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(a.event)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/response"):
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.resp, a.body = time.Now(), b
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		a.finish()
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/error"):
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.fail = p + ": " + string(b)
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		a.finish()
	default:
		http.NotFound(w, r)
	}
}

// coldStartDirect runs boot once against a fresh runtimeAPI.
func coldStartDirect(ctx context.Context, boot string, env map[string]string, memory int) (direct, error) {
	var d direct
	ev, err := event()
	if err != nil {
		return d, err
	}
	api := &runtimeAPI{event: ev, done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return d, err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	vars := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME":        "IngestFunction",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memory),
	}
	for k, v := range env {
		vars[k] = v
	}
	environ := make([]string, 0, len(vars))
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	sort.Strings(environ)
	out := &syncBuffer{}
	cmd := exec.Command(boot)
	cmd.Dir = filepath.Dir(boot)
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return d, fmt.Errorf("start bootstrap: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill() // our own child, by its PID
		<-exited
	}()
	select {
	case <-api.done:
	case err := <-exited:
		exited <- err
		return d, fmt.Errorf("bootstrap exited before answering: %v\n%s", err, out.String())
	case <-time.After(15 * time.Second):
		return d, errors.New("bootstrap did not answer in 15 s")
	case <-ctx.Done():
		return d, ctx.Err()
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.fail != "" {
		return d, fmt.Errorf("bootstrap reported %s\n%s", api.fail, out.String())
	}
	if err := accepted(api.body); err != nil {
		return d, err
	}
	d.init, d.first = api.next.Sub(start), api.resp.Sub(api.next)
	return d, nil
}
