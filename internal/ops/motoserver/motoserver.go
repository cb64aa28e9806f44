// Package motoserver starts and stops moto_server, the AWS emulator that the
// tests and `webhookctl local` run against, and builds AWS SDK
// configurations that point at it.
//
// moto_server speaks the real wire protocols of DynamoDB, SQS, Secrets
// Manager, SES and EventBridge, so the code under test uses the real AWS SDK
// end to end. It ships with Python; install it with `pip install "moto[server]"`.
package motoserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region used against the emulator.
const Region = "us-east-1"

// ErrNotInstalled is returned by Start when moto_server is not on the PATH.
var ErrNotInstalled = errors.New(`moto_server not found on PATH: install it with pip install "moto[server]"`)

// Server is a moto_server child process listening on a loopback port.
type Server struct {
	// URL is the endpoint to use, e.g. http://127.0.0.1:41234: the proxy
	// that serialises DynamoDB requests.
	URL string
	// Direct is moto_server's own address, without the proxy.
	Direct string
	cmd    *exec.Cmd
	done   chan error
	proxy  *http.Server
}

// Start runs moto_server on a free port of 127.0.0.1 and waits until it
// answers, for at most 30 s. Its output goes to logw (nil discards it). The
// child is killed when the calling process dies.
func Start(ctx context.Context, logw io.Writer) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	if logw == nil {
		logw = io.Discard
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	s := &Server{Direct: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.startProxy(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// startProxy serves URL: DynamoDB requests one at a time, the rest as they come.
func (s *Server) startProxy() error {
	target, err := url.Parse(s.Direct)
	if err != nil {
		return err
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	// A client that gives up mid-request (a test's timeout, an injected
	// fault) is not the proxy's error to report.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	var dynamo sync.Mutex
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the moto proxy: %w", err)
	}
	s.proxy = &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
				dynamo.Lock()
				defer dynamo.Unlock()
				// moto goes on with a request whose client went away (a
				// reset, a timeout): the lock must be held until moto
				// answers, or the next request runs inside a transaction
				// still being applied (moto rolls one back by restoring
				// whole-table copies) and one of two writes is lost. So the
				// request to moto is not cancelled with the client's: not
				// by its context, nor by the CloseNotifier the reverse
				// proxy falls back on.
				r = r.WithContext(context.WithoutCancel(r.Context()))
				w = plainWriter{w}
			}
			rp.ServeHTTP(w, r)
		}),
	}
	s.URL = "http://" + ln.Addr().String()
	go func() { _ = s.proxy.Serve(ln) }()
	return nil
}

// plainWriter hides every optional interface of a ResponseWriter, the
// CloseNotifier in particular.
type plainWriter struct{ w http.ResponseWriter }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := Ping(ctx, s.Direct); err == nil {
			return nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("moto_server exited before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("moto_server at %s not ready after %s: %w", s.Direct, limit, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop kills the server and its children and waits for it to exit.
func (s *Server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	if s.proxy != nil {
		_ = s.proxy.Close()
	}
	killGroup(s.cmd.Process)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
}

// Ping checks that an emulator answers at endpoint.
func Ping(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/moto-api/data.json", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto at %s: status %d", endpoint, resp.StatusCode)
	}
	return nil
}

// Reset empties every emulated service at endpoint.
func Reset(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: status %d", resp.StatusCode)
	}
	return nil
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// AWSConfig returns an SDK configuration for the emulator at endpoint:
// static test credentials, region us-east-1, every client's base endpoint
// set to endpoint. Per-service overrides such as AWS_ENDPOINT_URL_SQS in the
// environment still win, which is how tests point one service at a dead port.
func AWSConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config for %s: %w", endpoint, err)
	}
	// Set on the Config, not with config.WithBaseEndpoint: a load option
	// would hide the per-service variables (AWS_ENDPOINT_URL_SQS, …) that
	// fault tests use to point one service elsewhere.
	cfg.BaseEndpoint = aws.String(endpoint)
	return cfg, nil
}

// EndpointEnv is the variable that names an already-running emulator.
const EndpointEnv = "AWS_ENDPOINT_URL"

// Endpoint returns the emulator endpoint named by AWS_ENDPOINT_URL, or "".
func Endpoint() string { return os.Getenv(EndpointEnv) }

// Ensure returns a working emulator endpoint: endpoint itself when it is set
// and answers, else a moto_server started now (announced on notice, when
// not nil). Call stop when done; it stops only what Ensure started.
func Ensure(ctx context.Context, endpoint string, notice io.Writer) (url string, stop func(), err error) {
	if endpoint != "" {
		if err := Ping(ctx, endpoint); err != nil {
			return "", nil, fmt.Errorf("AWS endpoint %s does not answer: %w", endpoint, err)
		}
		return endpoint, func() {}, nil
	}
	if notice != nil {
		fmt.Fprintln(notice, "starting moto_server (AWS_ENDPOINT_URL is not set)…")
	}
	srv, err := Start(ctx, nil)
	if err != nil {
		return "", nil, err
	}
	return srv.URL, srv.Stop, nil
}
