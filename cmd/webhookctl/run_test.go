package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// noEnv is a getenv that finds nothing.
func noEnv(string) string { return "" }

// envWith returns a getenv that finds only WEBHOOK_SECRETS=secrets.
func envWith(secrets string) func(string) string {
	return func(k string) string {
		if k == secretsEnv {
			return secrets
		}
		return ""
	}
}

// clock returns a clock stopped at Unix second s.
func clock(s int64) func() time.Time {
	return func() time.Time { return time.Unix(s, 0) }
}

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no arguments", wantCode: exitUsage, wantStderr: "Commands:"},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "--help", args: []string{"--help"}, wantCode: exitOK, wantStdout: "local"},
		{name: "unknown", args: []string{"nope"}, wantCode: exitUsage, wantStderr: `unknown command "nope"`},
		{name: "verify -h", args: []string{"verify", "-h"}, wantCode: exitOK, wantStderr: "Usage: webhookctl verify"},
		{name: "sign -h", args: []string{"sign", "-h"}, wantCode: exitOK, wantStderr: "Usage: webhookctl sign"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit: got %d, want %d", code, tc.wantCode)
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("want stdout containing %q and stderr containing %q, got:\nstdout: %s\nstderr: %s", tc.wantStdout, tc.wantStderr, &stdout, &stderr)
			}
		})
	}
}

func TestVerifyCmd(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	var signed bytes.Buffer
	if code := signCmd([]string{"--secret", "whsec_a", "--at", "1000"}, bytes.NewReader(body), &signed, &bytes.Buffer{}, noEnv, clock(0)); code != exitOK {
		t.Fatalf("sign: exit %d", code)
	}
	header := strings.TrimSpace(signed.String())

	tests := []struct {
		name     string
		args     []string
		getenv   func(string) string
		now      int64
		wantCode int
		wantOut  []string
	}{
		{name: "valid, names the secret that matched", args: []string{"--secret", "whsec_b", "--secret", "whsec_a", "--header", header}, now: 1005, wantCode: exitOK,
			wantOut: []string{"valid\n", "t=1000: signed 5s ago (tolerance 300s)", "v1 entry 1 of 1 matches under secret 2 of 2"}},
		{name: "pasted header line", args: []string{"--secret", "whsec_a", "--header", "x-altafinex-signature: " + header}, now: 1000, wantCode: exitOK, wantOut: []string{"valid\n"}},
		{name: "--at overrides the clock", args: []string{"--secret", "whsec_a", "--header", header, "--at", "1300"}, now: 99999, wantCode: exitOK, wantOut: []string{"signed 300s ago"}},
		{name: "secrets from the environment", args: []string{"--header", header}, getenv: envWith(" whsec_b , whsec_a ,"), now: 1000, wantCode: exitOK, wantOut: []string{"secret 2 of 2"}},
		{name: "flags win over the environment", args: []string{"--secret", "whsec_b", "--header", header}, getenv: envWith("whsec_a"), now: 1000, wantCode: exitFail, wantOut: []string{"signature_mismatch\n"}},
		{name: "too old", args: []string{"--secret", "whsec_a", "--header", header}, now: 1301, wantCode: exitFail,
			wantOut: []string{"timestamp_out_of_tolerance\n", "t=1000: signed 301s ago (tolerance 300s)"}},
		{name: "in the future", args: []string{"--secret", "whsec_a", "--header", header, "--tolerance", "10s"}, now: 989, wantCode: exitFail,
			wantOut: []string{"timestamp_out_of_tolerance\n", "signed 11s in the future (tolerance 10s)"}},
		{name: "mismatch counts what was tried", args: []string{"--secret", "whsec_b", "--secret", "whsec_c", "--header", header + ",v1=zz"}, now: 1000, wantCode: exitFail,
			wantOut: []string{"signature_mismatch\n", "tried 2 v1 entries against 2 secrets; 1 of them not 64 hex digits"}},
		{name: "malformed says why", args: []string{"--secret", "whsec_a", "--header", "t=1,t=2,v1=00"}, now: 1000, wantCode: exitFail, wantOut: []string{"malformed_header\n", `more than one "t"`}},
		{name: "empty header", args: []string{"--secret", "whsec_a", "--header", ""}, now: 1000, wantCode: exitFail, wantOut: []string{"missing_header\n", "empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := tc.getenv
			if getenv == nil {
				getenv = noEnv
			}
			var stdout, stderr bytes.Buffer
			code := verifyCmd(tc.args, bytes.NewReader(body), &stdout, &stderr, getenv, clock(tc.now))
			if code != tc.wantCode {
				t.Errorf("exit: got %d, want %d (stderr %q)", code, tc.wantCode, &stderr)
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, &stdout)
				}
			}
			for _, s := range []string{"whsec_a", "whsec_b", "whsec_c"} {
				if strings.Contains(stdout.String()+stderr.String(), s) {
					t.Errorf("output reveals secret %q", s)
				}
			}
		})
	}
}

func TestCmdUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		cmd     func([]string, *bytes.Buffer, *bytes.Buffer) int
		args    []string
		wantErr string
	}{
		{name: "verify: no --header", cmd: verifyWith, args: []string{"--secret", "whsec_a"}, wantErr: "--header is required"},
		{name: "verify: no secret", cmd: verifyWith, args: []string{"--header", "t=1,v1=00"}, wantErr: "no secret"},
		{name: "verify: empty --secret", cmd: verifyWith, args: []string{"--secret", "", "--header", "t=1,v1=00"}, wantErr: "empty secret"},
		{name: "verify: --at in hex", cmd: verifyWith, args: []string{"--secret", "whsec_a", "--header", "t=1,v1=00", "--at", "0x10"}, wantErr: "--at"},
		{name: "verify: --at overflows", cmd: verifyWith, args: []string{"--secret", "whsec_a", "--header", "t=1,v1=00", "--at", "99999999999999999999"}, wantErr: "--at"},
		{name: "verify: zero tolerance", cmd: verifyWith, args: []string{"--secret", "whsec_a", "--header", "t=1,v1=00", "--tolerance", "0s"}, wantErr: "positive"},
		{name: "verify: bad tolerance", cmd: verifyWith, args: []string{"--secret", "whsec_a", "--header", "t=1,v1=00", "--tolerance", "300"}, wantErr: "tolerance"},
		{name: "verify: positional argument", cmd: verifyWith, args: []string{"--secret", "whsec_a", "--header", "t=1,v1=00", "body.json"}, wantErr: "unexpected argument"},
		{name: "sign: no secret", cmd: signWith, wantErr: "no secret"},
		{name: "sign: --at before 1970", cmd: signWith, args: []string{"--secret", "whsec_a", "--at", "-1"}, wantErr: "before 1970"},
		{name: "sign: unknown flag", cmd: signWith, args: []string{"--secret", "whsec_a", "--header", "x"}, wantErr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := tc.cmd(tc.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit: got %d, want %d", code, exitUsage)
			}
			if stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("want nothing on stdout and %q on stderr, got:\nstdout: %s\nstderr: %s", tc.wantErr, &stdout, &stderr)
			}
			if strings.Contains(stderr.String(), "whsec_a") {
				t.Errorf("stderr reveals the secret: %s", &stderr)
			}
		})
	}
}

func verifyWith(args []string, stdout, stderr *bytes.Buffer) int {
	return verifyCmd(args, strings.NewReader("{}"), stdout, stderr, noEnv, clock(1))
}

func signWith(args []string, stdout, stderr *bytes.Buffer) int {
	return signCmd(args, strings.NewReader("{}"), stdout, stderr, noEnv, clock(1))
}

func TestUnreadableStdin(t *testing.T) {
	broken := iotest.ErrReader(errors.New("disk on fire"))
	tests := []struct {
		name string
		cmd  func(*bytes.Buffer, *bytes.Buffer) int
	}{
		{name: "verify", cmd: func(o, e *bytes.Buffer) int {
			return verifyCmd([]string{"--secret", "s", "--header", "t=1,v1=00"}, broken, o, e, noEnv, clock(1))
		}},
		{name: "sign", cmd: func(o, e *bytes.Buffer) int { return signCmd([]string{"--secret", "s"}, broken, o, e, noEnv, clock(1)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := tc.cmd(&stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "disk on fire") {
				t.Errorf("got exit %d, stderr %q; want %d and the read error", code, &stderr, exitUsage)
			}
		})
	}
}

func TestSignCmd(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		want   string
		wantV1 int
	}{
		{name: "clock time when no --at", args: []string{"--secret", "whsec_a"}, getenv: noEnv, want: "t=1795795495,v1=", wantV1: 1},
		{name: "--at", args: []string{"--secret", "whsec_a", "--at", "42"}, getenv: noEnv, want: "t=42,v1=", wantV1: 1},
		{name: "one v1 per flag", args: []string{"--secret", "whsec_a", "--secret", "whsec_b", "--secret", "whsec_c"}, getenv: noEnv, want: "t=1795795495,v1=", wantV1: 3},
		{name: "one v1 per environment secret", getenv: envWith("whsec_a,whsec_b"), want: "t=1795795495,v1=", wantV1: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := signCmd(tc.args, strings.NewReader("{}"), &stdout, &stderr, tc.getenv, clock(1795795495)); code != exitOK {
				t.Fatalf("exit %d, stderr %q", code, &stderr)
			}
			out := stdout.String()
			if !strings.HasPrefix(out, tc.want) || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || strings.Count(out, "v1=") != tc.wantV1 {
				t.Errorf("got %q, want one line starting %q with %d v1", out, tc.want, tc.wantV1)
			}
			if strings.Contains(out, "whsec_") {
				t.Errorf("output reveals a secret: %q", out)
			}
		})
	}
}
