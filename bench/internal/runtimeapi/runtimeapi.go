// Package runtimeapi measures a Lambda bootstrap's cold start against a
// minimal Lambda Runtime API of its own, serving one invocation, instead of
// aws-lambda-rie, whose Init Duration is not usable (about 0.02 ms, the init
// folded into the first invocation's Duration): the bootstrap is started
// directly, so the time from exec to its first "next invocation" request is
// its whole init (process start, Go runtime and package initialisation, main
// up to lambda.Start: what Lambda reports as Init Duration), and the time
// from handing it the event to its response is the first invocation.
package runtimeapi

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

// Options is one cold start.
type Options struct {
	Bootstrap string            // the executable to start
	Function  string            // AWS_LAMBDA_FUNCTION_NAME and the ARN's name
	MemoryMB  int               // AWS_LAMBDA_FUNCTION_MEMORY_SIZE
	Env       map[string]string // besides the runtime's own variables
	Event     []byte            // the one invocation's payload
	// Timeout bounds the wait for the answer (default 30 s); the
	// invocation's deadline is the same.
	Timeout time.Duration
	// Ready, when set, runs with the bootstrap's PID at its first "next"
	// request, before it gets the event (read its CPU, move it into a
	// cgroup); an error fails the run.
	Ready func(pid int) error
	// Answered, when set, runs with the response body and the PID while
	// the process is still alive (check the answer, verify the process).
	Answered func(body []byte, pid int) error
}

// Result is what one cold start took.
type Result struct {
	Init  time.Duration // exec → first GET /runtime/invocation/next
	First time.Duration // event handed over → response posted
}

// server serves one invocation of Options.Event.
type server struct {
	o    Options
	pidc chan int // the child's PID, once cmd.Start has returned
	mu   sync.Mutex
	next time.Time // first GET next
	resp time.Time // response posted
	body []byte
	fail string
	done chan struct{}
	once sync.Once
}

func (a *server) finish() { a.once.Do(func() { close(a.done) }) }

func (a *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/2018-06-01/runtime/"
	p := strings.TrimPrefix(r.URL.Path, prefix)
	switch {
	case r.Method == http.MethodGet && p == "invocation/next":
		a.mu.Lock()
		first := a.next.IsZero()
		if first {
			a.next = time.Now()
			if a.o.Ready != nil {
				if err := a.o.Ready(<-a.pidc); err != nil {
					a.fail = "at the first next request: " + err.Error()
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
		h.Set("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(a.o.Timeout).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:"+a.o.Function)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(a.o.Event)
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

// ColdStart starts o.Bootstrap once against a fresh one-invocation
// Runtime API on loopback, waits for its answer (bounded by o.Timeout),
// and ends the process, its own child, by its PID.
func ColdStart(ctx context.Context, o Options) (Result, error) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	var d Result
	api := &server{o: o, done: make(chan struct{}), pidc: make(chan int, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return d, err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	vars := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME":        o.Function,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(o.MemoryMB),
	}
	for k, v := range o.Env {
		vars[k] = v
	}
	environ := make([]string, 0, len(vars))
	for k, v := range vars {
		environ = append(environ, k+"="+v)
	}
	sort.Strings(environ)
	out := &SyncBuffer{}
	cmd := exec.Command(o.Bootstrap)
	cmd.Dir = filepath.Dir(o.Bootstrap)
	cmd.Env = environ
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return d, fmt.Errorf("start bootstrap: %w", err)
	}
	api.pidc <- cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill() // our own child, by its PID
		<-exited
	}()
	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	select {
	case <-api.done:
	case err := <-exited:
		exited <- err
		return d, fmt.Errorf("bootstrap exited before answering: %v\n%s", err, out.String())
	case <-timer.C:
		return d, fmt.Errorf("bootstrap did not answer in %s", o.Timeout)
	case <-ctx.Done():
		return d, ctx.Err()
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.fail != "" {
		return d, fmt.Errorf("bootstrap reported %s\n%s", api.fail, out.String())
	}
	if o.Answered != nil {
		if err := o.Answered(api.body, cmd.Process.Pid); err != nil {
			return d, err
		}
	}
	if api.resp.IsZero() {
		return d, errors.New("no response posted")
	}
	d.Init, d.First = api.next.Sub(start), api.resp.Sub(api.next)
	return d, nil
}

// SyncBuffer is a bytes buffer written by one goroutine (a child's output)
// and read by another.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Reset empties the buffer.
func (s *SyncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
