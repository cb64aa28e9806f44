package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// emulator returns the endpoint of the package's moto_server (IAM enforced,
// started by TestMain with iamtest.RunTests, which put the set-up's keys
// in the environment).
func emulator(t *testing.T) string {
	t.Helper()
	ep := motoserver.Endpoint()
	if err := motoserver.Ping(context.Background(), ep); ep == "" || err != nil {
		t.Fatalf("no emulator at AWS_ENDPOINT_URL=%q (%v): TestMain starts one", ep, err)
	}
	return ep
}

// asOperator makes the webhookctl commands of the test run with the keys
// of the template's OperatorPolicy for e's table and queues (they read
// their credentials from the environment); the test's own clients keep the
// set-up's keys.
func asOperator(t *testing.T, e awsEnv) awsEnv {
	t.Helper()
	keys := iamtest.ManagedPolicy(t, "OperatorPolicy", map[string]string{
		"EventsTable": e.table.Name(), "EventsQueue": e.url, "EventsDLQ": e.dlqURL,
	})
	t.Setenv("AWS_ACCESS_KEY_ID", keys.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", keys.SecretAccessKey)
	return e
}

// awsEnv is one test's events table and queues in the emulator.
type awsEnv struct {
	endpoint string
	table    *ddbevents.Table
	sqs      *sqs.Client
	url      string
	dlqURL   string
}

func newAWSEnv(t *testing.T, endpoint string) awsEnv {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	ddb := dynamodb.NewFromConfig(cfg)
	e := awsEnv{endpoint: endpoint, sqs: sqs.NewFromConfig(cfg)}
	name := motoserver.UniqueName(t, "events")
	if err := ddbevents.CreateTable(ctx, ddb, name); err != nil {
		t.Fatal(err)
	}
	e.table = ddbevents.New(ddb, name)
	var err error
	e.url, e.dlqURL, err = sqsqueue.CreateQueues(ctx, e.sqs, name, name+"-dlq", 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		for _, u := range []string{e.url, e.dlqURL} {
			_, _ = e.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return e
}

// flags are the deployment flags that point a command at e.
func (e awsEnv) flags() []string {
	return []string{"--endpoint", e.endpoint, "--table", e.table.Name(), "--queue-url", e.url, "--dlq-url", e.dlqURL}
}

// drain receives every message of url, hiding each for a minute so none
// is counted twice.
func drain(t *testing.T, client *sqs.Client, url string) []types.Message {
	t.Helper()
	var all []types.Message
	for range 100 {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		all = append(all, out.Messages...)
	}
	t.Fatal("queue never ran dry")
	return nil
}

func attr(m types.Message, name string) string {
	if v, ok := m.MessageAttributes[name]; ok {
		return aws.ToString(v.StringValue)
	}
	return ""
}

// cmdRun is the outcome of one in-process command.
type cmdRun struct {
	code           int
	stdout, stderr string
}

// runCmd runs cmd with stdin, the process environment (as the test set
// it) and clock now.
func runCmd(t *testing.T, cmd func(context.Context, []string, cmdEnv) int, stdin string, now time.Time, args ...string) cmdRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := cmdEnv{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: os.Getenv, now: func() time.Time { return now }}
	code := cmd(context.Background(), args, env)
	return cmdRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// startLocal runs the local stack (local.Run) on a free loopback port with
// secret, against endpoint, with this test's own table and queue names, and
// stops it when the test ends.
func startLocal(t *testing.T, endpoint, secret string) local.Stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan local.Stack, 1)
	done := make(chan error, 1)
	name := motoserver.UniqueName(t, "local")
	// The set-up uses the package's keys, the ingest function its own.
	setup := motoserver.TestConfig(t)
	go func() {
		done <- local.Run(ctx, local.Options{
			Addr: "127.0.0.1:0", Endpoint: endpoint, Secrets: [][]byte{[]byte(secret)},
			EventsTable: name, Queue: name + "-q", DLQ: name + "-dlq", OrdersTable: name + "-orders",
			EmailQueue: name + "-eq", EmailDLQ: name + "-edlq",
			NoProcessor: true, // records stay RECEIVED, messages stay queued
			Getenv:      func(string) string { return "" },
			AWS:         &setup,
			FunctionAWS: func(function string, env func(string) string) (aws.Config, error) {
				keys, err := iamtest.FunctionKeys(t, function, env)
				if err != nil {
					return aws.Config{}, err
				}
				return keys.AWSConfig()
			},
			Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Out: io.Discard,
			Ready: func(st local.Stack) { ready <- st },
		})
	}()
	select {
	case st := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("local.Run: %v", err)
			}
		})
		return st
	case err := <-done:
		cancel()
		t.Fatalf("local.Run ended before it was ready: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("local stack not ready after 2 minutes")
	}
	return local.Stack{}
}

// rawBody is the event body a queue message carries, decoded as the
// processor decodes it.
func rawBody(t *testing.T, m types.Message) string {
	t.Helper()
	msg, err := sqsqueue.FromSDK(m)
	if err != nil {
		t.Fatalf("message %s: %v", aws.ToString(m.MessageId), err)
	}
	return string(msg.Body)
}
