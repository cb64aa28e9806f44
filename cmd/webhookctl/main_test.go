package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// binPath is the webhookctl binary built once by TestMain.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "webhookctl-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "make temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintf(os.Stderr, "the go command is needed to build webhookctl for these tests: %v\n", err)
		return 1
	}
	binPath = filepath.Join(dir, "webhookctl")
	build := exec.Command(goTool, "build", "-o", binPath, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build webhookctl: %v\n%s", err, out)
		return 1
	}
	// The operator commands run under the template's OperatorPolicy; the
	// package's tests must use every action of it.
	return iamtest.RunTests(m, iamtest.CheckExercised("OperatorPolicy"),
		iamtest.NotExercisable("OperatorPolicy", "sqs:ListMessageMoveTasks",
			"moto_server has no message move tasks, so redrive falls back before polling one; internal/ops tests that path with a fake"))
}

// result is what one run of the binary printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// firstWord is the outcome printed by verify.
func (r result) firstWord() string {
	if f := strings.Fields(r.stdout); len(f) > 0 {
		return f[0]
	}
	return ""
}

// runBinary runs the built webhookctl with args, body on stdin, and env
// as its whole environment (so WEBHOOK_SECRETS is set only when given).
func runBinary(t *testing.T, env []string, body []byte, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append([]string{}, env...) // never nil: nil would inherit this process's environment
	cmd.Stdin = bytes.NewReader(body)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run webhookctl %q: %v", args, err)
		}
		code = exitErr.ExitCode()
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// vector is one entry of testdata/signature-vectors.json, a copy of the
// contract's test vectors.
type vector struct {
	Name             string   `json:"name"`
	Secrets          []string `json:"secrets"`
	Now              int64    `json:"now"`
	ToleranceSeconds int64    `json:"tolerance_seconds"`
	Header           string   `json:"header"`
	Expect           string   `json:"expect"`
	Body             *string  `json:"body"`
	BodyBase64       *string  `json:"body_base64"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "signature-vectors.json"))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var file struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("decode vectors: %v", err)
	}
	if len(file.Vectors) < 20 {
		t.Fatalf("only %d vectors in testdata, want the whole spec set", len(file.Vectors))
	}
	return file.Vectors
}

func (v vector) body(t *testing.T) []byte {
	t.Helper()
	switch {
	case v.Body != nil && v.BodyBase64 == nil:
		return []byte(*v.Body)
	case v.BodyBase64 != nil && v.Body == nil:
		b, err := base64.StdEncoding.DecodeString(*v.BodyBase64)
		if err != nil {
			t.Fatalf("vector %q: body_base64: %v", v.Name, err)
		}
		return b
	}
	t.Fatalf("vector %q: want exactly one of body and body_base64", v.Name)
	return nil
}

// verifyArgs are the verify flags that replay vector v.
func (v vector) verifyArgs() []string {
	args := []string{"verify", "--header", v.Header, "--at", fmt.Sprint(v.Now), "--tolerance", fmt.Sprintf("%ds", v.ToleranceSeconds)}
	for _, s := range v.Secrets {
		args = append(args, "--secret", s)
	}
	return args
}

// assertNoSecret fails when out shows any of secrets.
func assertNoSecret(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("output reveals secret %q:\n%s", s, out)
		}
	}
}

func TestBinaryVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			r := runBinary(t, nil, v.body(t), v.verifyArgs()...)
			wantCode := exitFail
			if v.Expect == "valid" {
				wantCode = exitOK
			}
			if r.firstWord() != v.Expect || r.code != wantCode {
				t.Fatalf("got %q exit %d, want %q exit %d\nstdout:\n%sstderr:\n%s", r.firstWord(), r.code, v.Expect, wantCode, r.stdout, r.stderr)
			}
			if len(strings.Split(strings.TrimSpace(r.stdout), "\n")) < 2 {
				t.Errorf("want an explanation after the outcome, got:\n%s", r.stdout)
			}
			assertNoSecret(t, r.stdout+r.stderr, v.Secrets...)
		})
	}
}

func TestBinarySignVerifyRoundTrip(t *testing.T) {
	body := []byte("{\"id\":\"evt_rt\"}\n\n  ") // trailing bytes must survive
	const old, new = "whsec_old_secret", "whsec_new_secret"
	signed := runBinary(t, nil, body, "sign", "--secret", old, "--secret", new, "--at", "1795795495")
	if signed.code != exitOK {
		t.Fatalf("sign: exit %d, stderr:\n%s", signed.code, signed.stderr)
	}
	header := strings.TrimSuffix(signed.stdout, "\n")
	if strings.Contains(header, "\n") || strings.Count(header, "v1=") != 2 || !strings.HasPrefix(header, "t=1795795495,") {
		t.Fatalf("sign printed %q, want one line with t and two v1", signed.stdout)
	}
	assertNoSecret(t, signed.stdout+signed.stderr, old, new)

	tests := []struct {
		name   string
		env    []string
		args   []string
		body   []byte
		want   string
		wantRC int
	}{
		{name: "old secret", args: []string{"--secret", old}, body: body, want: "valid"},
		{name: "new secret", args: []string{"--secret", new}, body: body, want: "valid"},
		{name: "secrets from the environment", env: []string{"WEBHOOK_SECRETS=whsec_other," + new}, body: body, want: "valid"},
		{name: "wrong secret", args: []string{"--secret", "whsec_other"}, body: body, want: "signature_mismatch", wantRC: exitFail},
		{name: "body without its trailing spaces", args: []string{"--secret", new}, body: bytes.TrimSpace(body), want: "signature_mismatch", wantRC: exitFail},
		{name: "too late", args: []string{"--secret", new, "--at", "1795795796"}, body: body, want: "timestamp_out_of_tolerance", wantRC: exitFail},
		{name: "wider tolerance", args: []string{"--secret", new, "--at", "1795795796", "--tolerance", "10m"}, body: body, want: "valid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"verify", "--header", header, "--at", "1795795500"}, tc.args...)
			r := runBinary(t, tc.env, tc.body, args...)
			if r.firstWord() != tc.want || r.code != tc.wantRC {
				t.Fatalf("got %q exit %d, want %q exit %d\nstdout:\n%sstderr:\n%s", r.firstWord(), r.code, tc.want, tc.wantRC, r.stdout, r.stderr)
			}
			assertNoSecret(t, r.stdout+r.stderr, old, new, "whsec_other")
		})
	}
}

func TestBinaryUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{name: "no command"},
		{name: "unknown command", args: []string{"frobnicate"}},
		{name: "verify without a secret", args: []string{"verify", "--header", "t=1,v1=00"}},
		{name: "verify with empty WEBHOOK_SECRETS", env: []string{"WEBHOOK_SECRETS= , "}, args: []string{"verify", "--header", "t=1,v1=00"}},
		{name: "verify with a bad --at", args: []string{"verify", "--secret", "whsec_x", "--header", "t=1,v1=00", "--at", "yesterday"}},
		{name: "verify with an unknown flag", args: []string{"verify", "--secret", "whsec_x", "--header", "t=1,v1=00", "--bogus"}},
		{name: "sign without a secret", args: []string{"sign"}},
		{name: "sign with a bad --at", args: []string{"sign", "--secret", "whsec_x", "--at", "1.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.env, nil, tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d\nstdout:\n%sstderr:\n%s", r.code, exitUsage, r.stdout, r.stderr)
			}
			if r.stdout != "" || !strings.Contains(r.stderr, "Usage") {
				t.Errorf("want usage on stderr only, got stdout %q, stderr %q", r.stdout, r.stderr)
			}
			assertNoSecret(t, r.stdout+r.stderr, "whsec_x")
		})
	}
}
