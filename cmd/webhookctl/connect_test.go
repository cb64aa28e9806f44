package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/signature"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// stackPlaceholder is the value template.yaml's WebhookSecret generates
// (secrets' tests check that the template still makes this shape).
const stackPlaceholder = `{"not_configured":"put the Altafinex signing secret here: webhookctl connect --stack NAME","placeholder":"Xw3Rt7Yb1Nm5Qk9Lp2Hs6Dg0Fj4Ac8Ev"}`

// connectStackTemplate stands for the SAM template in moto's CloudFormation:
// the outputs connect reads, the Mode parameter, and the events table.
// moto's CloudFormation cannot create a Secrets Manager secret, so the
// secret is made beforehand and passed in, as WebhookSecretArn is.
const connectStackTemplate = `{
  "Parameters": {
    "Mode": {"Type": "String", "Default": "test"},
    "WebhookSecretArn": {"Type": "String"},
    "WebhookUrl": {"Type": "String"},
    "EventsTableName": {"Type": "String"}
  },
  "Resources": {
    "EventsTable": {"Type": "AWS::DynamoDB::Table", "Properties": {
      "TableName": {"Ref": "EventsTableName"}, "BillingMode": "PAY_PER_REQUEST",
      "AttributeDefinitions": [{"AttributeName": "event_id", "AttributeType": "S"}],
      "KeySchema": [{"AttributeName": "event_id", "KeyType": "HASH"}]}}
  },
  "Outputs": {
    "WebhookUrl": {"Value": {"Ref": "WebhookUrl"}},
    "WebhookSecretArn": {"Value": {"Ref": "WebhookSecretArn"}},
    "EventsTableName": {"Value": {"Ref": "EventsTable"}}
  }
}`

// createStack creates a stack of connectStackTemplate in moto.
func createStack(t *testing.T, cf *cloudformation.Client, name string, params map[string]string) {
	t.Helper()
	in := &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(connectStackTemplate)}
	for k, v := range params {
		in.Parameters = append(in.Parameters, cftypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(v)})
	}
	if _, err := cf.CreateStack(context.Background(), in); err != nil {
		t.Fatalf("CreateStack: %v", err)
	}
	t.Cleanup(func() {
		_, _ = cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(name)})
	})
}

// syncLog collects a stack's log from its goroutines.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// connect, as the dashboard's Save & Test, against a stack in moto's
// CloudFormation fronted by the local front (the ingest and processor code
// the functions run, ingest reading the stack's secret from Secrets
// Manager): before, a signed delivery is refused as "no signing secret
// configured"; connect reads the secret from stdin, stores it, prints the
// WebhookUrl and shows its test event reach PROCESSED; the secret is never
// printed or logged.
func TestConnect(t *testing.T) {
	ep := emulator(t)
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	sm := secretsmanager.NewFromConfig(cfg)
	name := motoserver.UniqueName(t, "stack")
	sec, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name + "-secret"), SecretString: aws.String(stackPlaceholder)})
	if err != nil {
		t.Fatal(err)
	}
	port, err := motoserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + local.WebhookPath
	cf := cloudformation.NewFromConfig(cfg)
	createStack(t, cf, name, map[string]string{"WebhookSecretArn": aws.ToString(sec.ARN), "WebhookUrl": url, "EventsTableName": name + "-events"})
	live := name + "-live"
	createStack(t, cf, live, map[string]string{"Mode": "live", "WebhookSecretArn": aws.ToString(sec.ARN), "WebhookUrl": url, "EventsTableName": live + "-events"})

	logs := &syncLog{}
	runCtx, cancel := context.WithCancel(ctx)
	ready, stopped := make(chan local.Stack, 1), make(chan struct{})
	var runErr error
	go func() {
		defer close(stopped)
		runErr = local.Run(runCtx, local.Options{
			Addr: "127.0.0.1:" + strconv.Itoa(port), Endpoint: ep, SecretID: aws.ToString(sec.ARN),
			EventsTable: name + "-events", Queue: name + "-q", DLQ: name + "-dlq", OrdersTable: name + "-orders",
			EmailQueue: name + "-eq", EmailDLQ: name + "-edlq",
			Getenv: func(string) string { return "" }, Log: slog.New(slog.NewJSONHandler(logs, nil)), Out: io.Discard,
			Ready: func(st local.Stack) { ready <- st },
			// The set-up uses the package's keys; each function runs
			// under its template policy, ingest reading the stack's secret.
			AWS: &cfg,
			FunctionAWS: func(function string, env func(string) string) (aws.Config, error) {
				keys, err := iamtest.FunctionKeys(t, function, env)
				if err != nil {
					return aws.Config{}, err
				}
				return keys.AWSConfig()
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
		if runErr != nil {
			t.Errorf("local.Run: %v", runErr)
		}
	})
	select {
	case <-ready:
	case <-stopped:
		t.Fatalf("local.Run ended before it was ready: %v", runErr)
	case <-time.After(2 * time.Minute):
		t.Fatal("local stack not ready")
	}

	const secret = "whsec_c0nnect7e5t0a1b2c3d4e5f60718293"
	body := []byte(`{"id":"evt_before_connect","object":"event","type":"payment.succeeded","created":1795795200,"livemode":false,"data":{"object":{}}}`)
	if status, answer := postSigned(t, url, secret, body); status != 401 || !strings.Contains(answer, "invalid_signature") {
		t.Fatalf("before connect: %d %s, want 401 invalid_signature", status, answer)
	}
	if !strings.Contains(logs.String(), `"outcome":"no_signing_secret"`) {
		t.Fatalf("before connect, the log does not say no signing secret is configured:\n%s", logs.String())
	}

	// connect runs as an operator holding the template's OperatorPolicy
	// for this stack (the test's own clients keep the set-up's keys).
	operator := func(stack, table string) {
		keys := iamtest.ManagedPolicy(t, "OperatorPolicy", map[string]string{
			"AWS::StackName": stack, "EventsTable": table, "WebhookSecretArn": aws.ToString(sec.ARN),
		})
		t.Setenv("AWS_ACCESS_KEY_ID", keys.AccessKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", keys.SecretAccessKey)
	}
	operator(name, name+"-events")
	args := []string{"--stack", name, "--endpoint", ep, "--retry", "1s", "--poll", "200ms", "--wait", "2m"}
	r := runCmd(t, connectCmd, secret+"\n", time.Now(), args...)
	if r.code != exitOK {
		t.Fatalf("connect: exit %d\nstdout:\n%s\nstderr:\n%s\nlog:\n%s", r.code, r.stdout, r.stderr, logs.String())
	}
	t.Logf("connect:\n%s", r.stdout)
	for _, want := range []string{"Signing secret stored in " + aws.ToString(sec.ARN), "paste into the Altafinex dashboard", "\n  " + url + "\n", "  PROCESSED", "Connected"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("connect's output lacks %q:\n%s", want, r.stdout)
		}
	}
	got, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: sec.ARN})
	if err != nil || aws.ToString(got.SecretString) != secret {
		t.Fatalf("the stack's secret does not hold the signing secret now (%v)", err)
	}
	id := strings.Fields(r.stdout[strings.Index(r.stdout, "Test event ")+len("Test event "):])[0]
	rec, err := ddbevents.New(dynamodb.NewFromConfig(cfg), name+"-events").Get(ctx, id)
	if err != nil || rec.Status != eventrecord.Processed {
		t.Fatalf("test event %s: %+v, %v; want PROCESSED", id, rec, err)
	}
	for what, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "the stack's log": logs.String()} {
		if strings.Contains(out, secret) || strings.Contains(out, strings.TrimPrefix(secret, "whsec_")) {
			t.Errorf("the secret is in %s", what)
		}
	}

	// Again: the same secret stored again, the test passes again.
	if r := runCmd(t, connectCmd, secret, time.Now(), args...); r.code != exitOK || !strings.Contains(r.stdout, "Connected") {
		t.Errorf("connect again: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A live stack: the secret is stored, but no test event (a real order).
	operator(live, live+"-events")
	liveArgs := []string{"--stack", live, "--endpoint", ep}
	if r := runCmd(t, connectCmd, secret, time.Now(), liveArgs...); r.code != exitOK || !strings.Contains(r.stdout, "no test event sent") || strings.Contains(r.stdout, "Test event") {
		t.Errorf("connect to a live stack: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestConnectUsageErrors(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no stack", "whsec_abc\n", nil, "--stack NAME is required"},
		{"secret as a flag", "", []string{"--stack", "s", "--secret", "whsec_abc"}, "flag provided but not defined: -secret"},
		{"empty stdin", "", []string{"--stack", "s"}, "no secret on standard input"},
		{"not a signing secret", "https://example.com/hook\n", []string{"--stack", "s"}, "starts with whsec_"},
		{"two secrets", "whsec_a,whsec_b\n", []string{"--stack", "s"}, "one secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, connectCmd, tc.stdin, time.Now(), tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, exitUsage, tc.want)
			}
			if strings.Contains(r.stderr, "whsec_a") || strings.Contains(r.stderr, "whsec_abc") {
				t.Errorf("the secret is echoed in the error: %q", r.stderr)
			}
		})
	}
}

// postSigned posts body signed with secret and returns the answer.
func postSigned(t *testing.T, url, secret string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(signature.HeaderName, signature.Sign([]byte(secret), time.Now(), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
