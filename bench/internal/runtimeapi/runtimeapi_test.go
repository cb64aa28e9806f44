package runtimeapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/bench/internal/runtimeapi"
)

// TestMain lets this test binary play a bootstrap: with RUNTIMEAPI_FAKE set
// it takes one event from AWS_LAMBDA_RUNTIME_API and answers it (response:
// the event upper-cased; error: an invocation error), as the Lambda runtime
// client does.
func TestMain(m *testing.M) {
	if mode := os.Getenv("RUNTIMEAPI_FAKE"); mode != "" {
		os.Exit(fakeBootstrap(mode))
	}
	os.Exit(m.Run())
}

func fakeBootstrap(mode string) int {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	resp, err := http.Get(base + "next")
	if err != nil {
		return 2
	}
	ev, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
	path, body := id+"/response", bytes.ToUpper(ev)
	if mode == "error" {
		path, body = id+"/error", []byte(`{"errorMessage":"boom"}`)
	}
	if _, err := http.Post(base+path, "application/json", bytes.NewReader(body)); err != nil {
		return 3
	}
	select {} // a real runtime polls again; ColdStart ends the process
}

func TestColdStart(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mode    string
		wantErr string
	}{
		{"answered", "response", ""},
		{"invocation error", "error", "boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var readyPID, answeredPID int
			var answer []byte
			_, err := runtimeapi.ColdStart(context.Background(), runtimeapi.Options{
				Bootstrap: self, Function: "F", MemoryMB: 128,
				Env:      map[string]string{"RUNTIMEAPI_FAKE": tc.mode},
				Event:    []byte(`{"id":"evt_1"}`),
				Ready:    func(pid int) error { readyPID = pid; return nil },
				Answered: func(body []byte, pid int) error { answer, answeredPID = body, pid; return nil },
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(answer) != `{"ID":"EVT_1"}` {
				t.Errorf("answer %s, want the event upper-cased", answer)
			}
			if readyPID == 0 || readyPID != answeredPID || readyPID == os.Getpid() {
				t.Errorf("Ready saw PID %d, Answered %d: want the child's, both the same", readyPID, answeredPID)
			}
		})
	}
}
