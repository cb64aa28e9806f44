package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
)

// lockedBuffer collects a subprocess's output from its copying goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// localProcess is "webhookctl local" running as its own process, with its
// own cache directory (XDG_CACHE_HOME) and a moto_server of its own.
type localProcess struct {
	cmd            *exec.Cmd
	env            []string // the environment the other commands run with
	statePath      string
	stdout, stderr *lockedBuffer
	banner         string
	done           chan error
}

// startLocalProcess starts the built binary's "local" on a free port
// against a fresh moto_server and waits for its banner.
func startLocalProcess(t *testing.T) *localProcess {
	t.Helper()
	srv, err := motoserver.Start(context.Background(), nil)
	if err != nil {
		t.Fatalf("this test needs moto_server: %v", err)
	}
	t.Cleanup(srv.Stop)
	cache := filepath.Join(t.TempDir(), "cache")
	p := &localProcess{
		// No AWS_ENDPOINT_URL and no WEBHOOK_SECRETS: the commands must
		// find both in the state file.
		env:       []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + cache},
		statePath: filepath.Join(cache, local.StateDir, local.StateFileName),
		stdout:    &lockedBuffer{}, stderr: &lockedBuffer{},
		done: make(chan error, 1),
	}
	port, err := motoserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(binPath, "local", "--addr", "127.0.0.1:"+strconv.Itoa(port), "--endpoint", srv.URL)
	p.cmd.Env = p.env
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			_, _ = p.stdout.Write([]byte(sc.Text() + "\n"))
			if !signalled && strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	select {
	case <-ready:
		p.banner = p.stdout.String()
		return p
	case err := <-p.done:
		t.Fatalf("webhookctl local ended before it was ready (%v):\n%s\n%s", err, p.stdout.String(), p.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("webhookctl local not ready after 2 minutes:\n%s\n%s", p.stdout.String(), p.stderr.String())
	}
	return nil
}

// run runs another webhookctl command as a user would in a second shell.
func (p *localProcess) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runBinary(t, p.env, []byte(stdin), args...)
}

// interrupt sends SIGINT, as Ctrl-C does, and returns the exit code.
func (p *localProcess) interrupt(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("wait: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("webhookctl local did not stop within a minute of SIGINT")
	}
	return -1
}

// commandLines returns the commands the banner prints to try next, as
// argument lists for the binary (the "go run ./cmd/webhookctl" prefix
// removed, the comment dropped).
func commandLines(t *testing.T, banner string) [][]string {
	t.Helper()
	var out [][]string
	for _, l := range strings.Split(banner, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(l), "go run ./cmd/webhookctl ")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, "#")
		out = append(out, strings.Fields(rest))
	}
	if len(out) < 4 {
		t.Fatalf("the banner prints %d commands to try, want at least 4:\n%s", len(out), banner)
	}
	return out
}

// The state file: written 0600 once the stack serves, holding the URL, the
// emulator and the secret; read by every other command, so the commands
// the banner prints run as printed, with no export and no flag; never in
// the log; removed when Ctrl-C (SIGINT) stops the stack, which exits 0.
func TestLocalStateFile(t *testing.T) {
	p := startLocalProcess(t)

	info, err := os.Stat(p.statePath)
	if err != nil {
		t.Fatalf("no state file while the stack runs: %v\nbanner:\n%s", err, p.banner)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("state file mode %o, want 600: it holds the secret", mode)
	}
	if dir, err := os.Stat(filepath.Dir(p.statePath)); err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, mode %o, want 700", err, dir.Mode().Perm())
	}
	st, err := local.ReadState(p.statePath, local.ProcessAlive)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != p.cmd.Process.Pid || !strings.HasPrefix(st.Secret, "whsec_") || st.Endpoint == "" ||
		!strings.HasSuffix(st.WebhookURL, "/api/webhooks/payment") || st.QueueURL == "" || st.OrdersTable == "" {
		t.Fatalf("state %+v", st)
	}
	if !strings.HasSuffix(st.EmailQueueURL, "/webhook-emails-queue") || !strings.HasSuffix(st.EmailDLQURL, "/webhook-emails-dlq") {
		t.Errorf("state %+v: want the local email queues, webhook-emails-queue and webhook-emails-dlq", st)
	}
	if !strings.Contains(p.banner, p.statePath) || !strings.Contains(p.banner, st.WebhookURL) {
		t.Errorf("the banner does not say where the state file and the URL are:\n%s", p.banner)
	}

	// The commands the banner prints, in order, each answering.
	for _, args := range commandLines(t, p.banner) {
		r := p.run(t, "", args...)
		// The processor may not have reached the order yet: look again,
		// a bounded number of times, as a person would.
		for try := 0; args[0] == "orders" && args[1] == "get" && r.code == exitFail && try < 40; try++ {
			time.Sleep(250 * time.Millisecond)
			r = p.run(t, "", args...)
		}
		if r.code != exitOK {
			t.Fatalf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
		t.Logf("webhookctl %s\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
		if args[0] == "send" && !regexp.MustCompile(`(?m) 200 \{"event_id":"evt_\w+","status":"accepted"\}$`).MatchString(r.stdout) {
			t.Errorf("send: no accepted answer:\n%s", r.stdout)
		}
	}
	// The email dead-letter queue, found through the state file: a job
	// peeked at without its recipient, and redriven.
	cfg, err := motoserver.AWSConfig(context.Background(), st.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqsemail.New(sqs.NewFromConfig(cfg), st.EmailDLQURL).Requeue(context.Background(), testJob("evt_local", 2), 0); err != nil {
		t.Fatal(err)
	}
	if r := p.run(t, "", "dlq", "--email", "peek"); r.code != exitOK || !strings.Contains(r.stdout, "evt_local") ||
		!strings.Contains(r.stdout, "payment_confirmation") || strings.Contains(r.stdout+r.stderr, jobRecipient) {
		t.Errorf("dlq --email peek: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r := p.run(t, "", "dlq", "--email", "redrive"); r.code != exitOK || !strings.Contains(r.stdout, "moved 1 message(s) to the email queue") {
		t.Errorf("dlq --email redrive: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	// The curl line's signature: sign reads the secret from the state file.
	body := `{"id":"evt_curl"}`
	if r := p.run(t, body, "sign"); r.code != exitOK || !strings.HasPrefix(r.stdout, "t=") {
		t.Fatalf("sign without --secret: exit %d %s %s", r.code, r.stdout, r.stderr)
	} else if v := p.run(t, body, "verify", "--secret", st.Secret, "--header", strings.TrimSpace(r.stdout)); v.firstWord() != "valid" {
		t.Fatalf("sign signed with another secret than the state file's: %s", v.stdout)
	}
	// --url elsewhere never gets the local secret.
	if r := p.run(t, "", "send", "--url", "http://127.0.0.1:1/api/webhooks/payment"); r.code != exitUsage || !strings.Contains(r.stderr, "no secret") {
		t.Errorf("send to another URL without --secret: exit %d %s", r.code, r.stderr)
	}

	if code := p.interrupt(t); code != exitOK {
		t.Errorf("SIGINT: exit %d, want 0\n%s", code, p.stderr.String())
	}
	if _, err := os.Stat(p.statePath); !os.IsNotExist(err) {
		t.Errorf("state file still there after the stack stopped: %v", err)
	}
	if strings.Contains(p.stdout.String(), st.Secret) || strings.Contains(p.stderr.String(), st.Secret) {
		t.Error("the secret appears in the banner or the log")
	}
	r := p.run(t, "", "events", "list")
	if r.code != exitUsage || !strings.Contains(r.stderr, "make run") {
		t.Errorf("events list with no stack: exit %d, stderr %q; want a usage error that says to start one", r.code, r.stderr)
	}
}

// A state file left by a stack that was killed (its process is gone) is
// not used: the commands say no local stack runs.
func TestLocalStateFileStale(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	path := filepath.Join(cache, local.StateDir, local.StateFileName)
	if err := local.WriteState(path, local.State{PID: dead.Process.Pid, Endpoint: "http://127.0.0.1:1", Secret: "whsec_x", WebhookURL: "http://127.0.0.1:1/api/webhooks/payment"}); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + cache}
	r := runBinary(t, env, nil, "events", "list")
	if r.code != exitUsage || !strings.Contains(r.stderr, "stale state file") {
		t.Errorf("events list: exit %d, stderr %q; want a usage error naming the stale file", r.code, r.stderr)
	}
	r = runBinary(t, env, []byte("{}"), "sign")
	if r.code != exitUsage {
		t.Errorf("sign with only a stale state file: exit %d, want %d (no secret)", r.code, exitUsage)
	}
}
