package main

import (
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
	"strings"
	"sync"
	"time"
)

// initRun is one cold start measured against this program's own minimal
// Lambda Runtime API instead of the emulator, whose Init Duration is not
// usable (it reports about 0.02 ms and folds the init into the first
// invocation's Duration): the wrapper is started directly, so the time
// from exec to its first "next invocation" request is the whole init
// (process start, joining the group, the Go runtime, configuration, the
// clients and the secret fetch: what Lambda reports as Init Duration).
type initRun struct {
	init  time.Duration // exec → first GET /runtime/invocation/next
	first time.Duration // event handed over → response posted
	cpu   time.Duration // the process's CPU time up to that first request
}

// runtimeAPI serves one invocation of event.
type runtimeAPI struct {
	event    []byte
	function string
	pid      func() int // the bootstrap's PID, to read its CPU time when it is ready
	// join, when set, moves the bootstrap into the group once its init is
	// done (its first "next" request), before it gets the event: the init
	// at full CPU, the invocation under the size's share.
	join func(pid int) error
	mu   sync.Mutex
	cpu  time.Duration
	next time.Time // first GET next
	resp time.Time // response posted
	body []byte
	fail string
	done chan struct{}
	once sync.Once
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
			a.cpu, _ = onCPU(a.pid()) // 0 if unreadable
			if a.join != nil {
				if err := a.join(a.pid()); err != nil {
					a.fail = "join the group after the init: " + err.Error()
					a.mu.Unlock()
					a.finish()
					http.Error(w, a.fail, http.StatusInternalServerError)
					return
				}
			}
		}
		a.mu.Unlock()
		if !first {
			<-r.Context().Done() // the second poll waits until the process is stopped
			return
		}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "powertune-init")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:"+a.function)
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

// probeInit starts wrapper once against a fresh runtimeAPI serving event,
// checks the answer with check and the process with verify, and ends the
// process by its PID. wrapper either joins the group and execs the
// bootstrap (the init under the size's share), or is the bootstrap itself
// with join set (the init at full CPU, then the group: see runtimeAPI).
func probeInit(ctx context.Context, wrapper, function string, env map[string]string, memoryMB int, event []byte, check func([]byte) error, verify func(pid, parent int) error, join func(pid int) error) (initRun, error) {
	var d initRun
	var cmd *exec.Cmd
	api := &runtimeAPI{event: event, function: function, done: make(chan struct{}), pid: func() int { return cmd.Process.Pid }, join: join}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return d, err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	vars := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME":        function,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(memoryMB),
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
	cmd = exec.Command(wrapper)
	cmd.Dir = filepath.Dir(wrapper)
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
	case <-time.After(30 * time.Second):
		return d, errors.New("bootstrap did not answer in 30 s")
	case <-ctx.Done():
		return d, ctx.Err()
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.fail != "" {
		return d, fmt.Errorf("bootstrap reported %s\n%s", api.fail, out.String())
	}
	if err := check(api.body); err != nil {
		return d, err
	}
	// The process that answered must be the real bootstrap, in the group.
	if err := verify(cmd.Process.Pid, os.Getpid()); err != nil {
		return d, err
	}
	d.init, d.first, d.cpu = api.next.Sub(start), api.resp.Sub(api.next), api.cpu
	return d, nil
}

// syncBuffer is a bytes buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
