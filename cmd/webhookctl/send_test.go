package main

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const sendSecret = "whsec_sendtest0123456789abcdef"

var answerLine = regexp.MustCompile(`(?m)^(evt_\S+) (\S+)  (\d{3}) (.*)$`)

// answers parses send's stdout: event id, type, status and answer per line.
func answers(t *testing.T, stdout string) [][]string {
	t.Helper()
	var out [][]string
	for _, m := range answerLine.FindAllStringSubmatch(stdout, -1) {
		out = append(out, m[1:])
	}
	return out
}

// The receiver, run by local.Run, takes what send sends.
func TestSendToLocalStack(t *testing.T) {
	ep := emulator(t)
	st := startLocal(t, ep, sendSecret)
	url := st.URL + local.WebhookPath
	client := sqs.NewFromConfig(st.AWS)
	file := filepath.Join(t.TempDir(), "body.json")
	fileBody := "{\"id\":\"evt_fromfile01\",\"object\":\"event\",\"type\":\"refund.completed\",\"created\":1795881600,\"livemode\":false,\r\n \"data\":{\"object\":{\"note\":\"caf\u00e9\"}}}\n"
	if err := os.WriteFile(file, []byte(fileBody), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStatus []string // per answer: "200 accepted", "200 duplicate", "409"; "409|200 duplicate" accepts either
		wantMsgs   int
		check      func(t *testing.T, ans [][]string, bodies []string)
	}{
		{
			name: "one event", args: []string{"--type", "payment.failed", "--order", "ord_send1"},
			wantStatus: []string{"200 accepted"}, wantMsgs: 1,
			check: func(t *testing.T, ans [][]string, bodies []string) {
				env, err := envelope.Parse([]byte(bodies[0]))
				if err != nil || env.ID != ans[0][0] || env.Type != "payment.failed" || !strings.Contains(bodies[0], `"order_id": "ord_send1"`) {
					t.Errorf("queued body %s (%+v, %v): want the event sent, id %s", bodies[0], env, err, ans[0][0])
				}
			},
		},
		{
			name: "repeat: one message, the others duplicates", args: []string{"--repeat", "3"}, wantCode: exitFail,
			wantStatus: []string{"200 accepted", "409|200 duplicate", "409|200 duplicate"}, wantMsgs: 1,
			check: func(t *testing.T, ans [][]string, _ []string) {
				if ans[0][0] != ans[1][0] || ans[1][0] != ans[2][0] {
					t.Errorf("repeats carry ids %s %s %s, want one", ans[0][0], ans[1][0], ans[2][0])
				}
			},
		},
		{
			name: "scenario", args: []string{"--scenario", "refund", "--seed", "7", "--order", "ord_scn"},
			wantStatus: []string{"200 accepted", "200 accepted", "200 accepted"}, wantMsgs: 3,
			check: func(t *testing.T, ans [][]string, bodies []string) {
				evs, err := testevents.Scenario("refund", testevents.Options{}, time.Now(), rand.New(rand.NewPCG(7, 7)))
				if err != nil {
					t.Fatal(err)
				}
				var want, got []string
				for i, e := range evs {
					want = append(want, e.Type)
					got = append(got, ans[i][1])
				}
				if !slices.Equal(got, want) {
					t.Errorf("sent in order %v, want seed 7's %v", got, want)
				}
				for _, b := range bodies {
					if !strings.Contains(b, `"order_id": "ord_scn"`) {
						t.Errorf("body not about ord_scn: %s", b)
					}
				}
			},
		},
		{
			name: "file, byte for byte", args: []string{"--file", file},
			wantStatus: []string{"200 accepted"}, wantMsgs: 1,
			check: func(t *testing.T, ans [][]string, bodies []string) {
				if bodies[0] != fileBody || ans[0][0] != "evt_fromfile01" {
					t.Errorf("queued %q as %s, want the file's bytes %q", bodies[0], ans[0][0], fileBody)
				}
			},
		},
		{
			name: "wrong secret", args: []string{"--secret", "whsec_wrong"}, wantCode: exitFail,
			wantStatus: []string{"401"}, wantMsgs: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--url", url}, tc.args...)
			if !slices.Contains(tc.args, "--secret") {
				args = append(args, "--secret", sendSecret)
			}
			r := runCmd(t, sendCmd, "", time.Now(), args...)
			if r.code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			ans := answers(t, r.stdout)
			if len(ans) != len(tc.wantStatus) {
				t.Fatalf("%d answers, want %d:\n%s", len(ans), len(tc.wantStatus), r.stdout)
			}
			for i, want := range tc.wantStatus {
				if !statusMatches(ans[i][2], ans[i][3], want) {
					t.Errorf("answer %d: %s %s, want %s", i, ans[i][2], ans[i][3], want)
				}
			}
			msgs := drain(t, client, st.QueueURL)
			if len(msgs) != tc.wantMsgs {
				t.Fatalf("%d messages queued, want %d", len(msgs), tc.wantMsgs)
			}
			var bodies []string
			for _, m := range msgs {
				bodies = append(bodies, rawBody(t, m))
				if attr(m, eventrecord.AttrReplay) != "" {
					t.Errorf("a delivery is marked as a replay")
				}
			}
			// Queue order is not promised: put the bodies in sending order.
			slices.SortFunc(bodies, func(a, b string) int {
				return slices.IndexFunc(ans, func(x []string) bool { return strings.Contains(a, x[0]) }) -
					slices.IndexFunc(ans, func(x []string) bool { return strings.Contains(b, x[0]) })
			})
			if tc.check != nil {
				tc.check(t, ans, bodies)
			}
		})
	}
}

// statusMatches checks one answer against "CODE [status]" alternatives
// separated by "|".
func statusMatches(code, answer, want string) bool {
	for _, alt := range strings.Split(want, "|") {
		wantCode, wantStatus, _ := strings.Cut(alt, " ")
		if code != wantCode {
			continue
		}
		if wantStatus == "" {
			return true
		}
		var a struct{ Status string }
		if json.Unmarshal([]byte(answer), &a) == nil && a.Status == wantStatus {
			return true
		}
	}
	return false
}

// Against any URL: each repeat is signed afresh over the same bytes, and a
// long run reports progress.
func TestSendRepeatSignsEachDelivery(t *testing.T) {
	var mu sync.Mutex
	var headers []string
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		headers = append(headers, r.Header.Get(signature.HeaderName))
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"accepted"}`)
	}))
	t.Cleanup(srv.Close)

	var sec int64 = 1795795200
	clockNow := func() time.Time { sec++; return time.Unix(sec, 0) }
	var stdout, stderr strings.Builder
	env := cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: envWith(sendSecret), now: clockNow}
	code := sendCmd(t.Context(), []string{"--url", srv.URL, "--repeat", "12", "--type", "refund.completed"}, env)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if len(headers) != 12 {
		t.Fatalf("%d requests, want 12", len(headers))
	}
	for i := range headers {
		if bodies[i] != bodies[0] {
			t.Errorf("request %d: body differs", i)
		}
		if i > 0 && headers[i] == headers[i-1] {
			t.Errorf("request %d: same signature header as the one before", i)
		}
		h, err := signature.ParseHeader(headers[i])
		if err != nil {
			t.Fatalf("header %q: %v", headers[i], err)
		}
		v := signature.Verifier{Secrets: [][]byte{[]byte(sendSecret)}, Tolerance: signature.DefaultTolerance, Now: func() time.Time { return time.Unix(h.Timestamp, 0) }}
		if err := v.Verify(headers[i], []byte(bodies[i])); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if !strings.Contains(stderr.String(), "sent 12/12") || !strings.Contains(stderr.String(), "sent 10/12") {
		t.Errorf("no progress on stderr: %q", stderr.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), sendSecret) {
		t.Error("the secret was printed")
	}
}
