package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// The customer's data in the email jobs, which no command may print.
const (
	jobRecipient = "jane.doe+orders@example.com"
	jobText      = "Dear Jane Doe, we received 129.90 EUR for order ord_77."
)

// testJob is a job as the processor's email step queues it (deferrals 0)
// or as a sender's deferral queues it again: with a claim token, a count
// and the copy's due time, all in the message body.
func testJob(id string, deferrals int) emailjob.Job {
	j := emailjob.Job{
		EventID: id, QueuedAt: opsT0,
		Email: handlers.Email{To: jobRecipient, Subject: "Payment received", Text: jobText,
			Template: "payment_confirmation", OrderID: "ord_77", EventID: id},
	}
	if deferrals > 0 {
		j.Deferrals, j.DeferredUntil, j.Token = deferrals, opsT0.Add(30*time.Minute), "tok_"+id
	}
	return j
}

// emailQueues is one test's email queue and its dead-letter queue, beside
// an events environment whose dead-letter queue --email must not touch.
type emailQueues struct {
	awsEnv
	emailURL, emailDLQURL string
}

// newEmailQueues creates the email queues under names unique to the test,
// or, with localNames, under the local stack's names.
func newEmailQueues(t *testing.T, ep string, localNames bool) emailQueues {
	t.Helper()
	e := emailQueues{awsEnv: newAWSEnv(t, ep)}
	name := motoserver.UniqueName(t, "emails")
	queue, dlq := name, name+"-dlq"
	if localNames {
		queue, dlq = local.DefaultEmailQueue, local.DefaultEmailDLQ
	}
	var err error
	e.emailURL, e.emailDLQURL, err = sqsqueue.CreateQueues(context.Background(), e.sqs, queue, dlq, 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, u := range []string{e.emailURL, e.emailDLQURL} {
			_, _ = e.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	return e
}

// operatorKeys sets the environment's keys to those of the template's
// OperatorPolicy for e's email queues (and refs besides); the test's own
// clients keep the set-up's keys.
func (e emailQueues) operatorKeys(t *testing.T, refs map[string]string) {
	t.Helper()
	all := map[string]string{"EmailQueue": e.emailURL, "EmailDLQ": e.emailDLQURL}
	maps.Copy(all, refs)
	keys := iamtest.ManagedPolicy(t, "OperatorPolicy", all)
	t.Setenv("AWS_ACCESS_KEY_ID", keys.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", keys.SecretAccessKey)
}

// stackWithOutputs creates a CloudFormation stack whose outputs name e's
// email queues, as the deployed stack's EmailQueueUrl and EmailDLQUrl do.
func (e emailQueues) stackWithOutputs(t *testing.T) string {
	t.Helper()
	cf := cloudformation.NewFromConfig(motoserver.TestConfig(t))
	stack := motoserver.UniqueName(t, "stk")
	template := fmt.Sprintf(`{
  "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": %q}}},
  "Outputs": {
    "EventsQueueUrl": {"Value": %q},
    "EventsDLQUrl": {"Value": %q},
    "EmailQueueUrl": {"Value": %q},
    "EmailDLQUrl": {"Value": %q}
  }
}`, motoserver.UniqueName(t, "unused"), e.url, e.dlqURL, e.emailURL, e.emailDLQURL)
	if _, err := cf.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(template)}); err != nil {
		t.Fatalf("CreateStack: %v", err)
	}
	t.Cleanup(func() {
		_, _ = cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(stack)})
	})
	return stack
}

// webhookctl dlq --email peeks at and redrives the email dead-letter
// queue, found through a local stack's state file, a stack's outputs or
// the flags, under the template's OperatorPolicy: it shows each job's
// event, template and deferrals, never its recipient or text, and puts
// every job back on the email queue with its body and attributes, the
// deferred one's claim token, count and due time included. The events
// dead-letter queue is left alone.
func TestEmailDLQ(t *testing.T) {
	ep := emulator(t)
	tests := []struct {
		name string
		// localNames creates the email queues under the local stack's
		// names (no other test of the package uses them).
		localNames bool
		// setup returns the command's deployment flags and, when the
		// local stack is found through its state file, that file; it
		// sets the operator's keys.
		setup func(t *testing.T, e emailQueues) (args []string, statePath string)
	}{
		{name: "local stack's state file", setup: func(t *testing.T, e emailQueues) ([]string, string) {
			path := filepath.Join(t.TempDir(), local.StateFileName)
			st := local.State{PID: os.Getpid(), Endpoint: ep, Region: motoserver.Region, EmailQueueURL: e.emailURL, EmailDLQURL: e.emailDLQURL,
				QueueURL: e.url, DLQURL: e.dlqURL, EventsTable: e.table.Name()}
			if err := local.WriteState(path, st); err != nil {
				t.Fatal(err)
			}
			e.operatorKeys(t, nil)
			return nil, path
		}},
		// GetQueueUrl, which finds the local names, is no operator's
		// action on a deployment (--stack reads its outputs): this case
		// keeps the set-up's keys.
		{name: "local names at --endpoint", localNames: true, setup: func(t *testing.T, e emailQueues) ([]string, string) {
			return []string{"--endpoint", ep}, ""
		}},
		{name: "stack outputs", setup: func(t *testing.T, e emailQueues) ([]string, string) {
			stack := e.stackWithOutputs(t)
			e.operatorKeys(t, map[string]string{"AWS::StackName": stack})
			return []string{"--stack", stack, "--endpoint", ep}, ""
		}},
		{name: "flags", setup: func(t *testing.T, e emailQueues) ([]string, string) {
			e.operatorKeys(t, nil)
			return []string{"--endpoint", ep, "--email-queue-url", e.emailURL, "--email-dlq-url", e.emailDLQURL}, ""
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmailQueues(t, ep, tc.localNames)
			jobs := map[string]emailjob.Job{"evt_m1": testJob("evt_m1", 0), "evt_m2": testJob("evt_m2", 3)}
			dead := sqsemail.New(e.sqs, e.emailDLQURL)
			for _, id := range []string{"evt_m1", "evt_m2"} {
				if err := dead.Requeue(context.Background(), jobs[id], 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := sqsqueue.New(e.sqs, e.dlqURL).Send(context.Background(), eventrecord.Message{EventID: "evt_d1", Type: "payment.failed", ReceivedAt: opsT0, Body: []byte(`{"id":"evt_d1"}`)}); err != nil {
				t.Fatal(err)
			}
			args, statePath := tc.setup(t, e)
			dlq := func(t *testing.T, verb string, more ...string) cmdRun {
				t.Helper()
				return runDLQCmd(t, statePath, append(append([]string{verb, "--email"}, more...), args...)...)
			}

			r := dlq(t, "peek", "--json")
			var peeked []ops.DLQMessage
			if err := json.Unmarshal([]byte(r.stdout), &peeked); r.code != exitOK || err != nil {
				t.Fatalf("peek --json: exit %d, %v\nstdout: %s\nstderr: %s", r.code, err, r.stdout, r.stderr)
			}
			got := map[string]string{}
			for _, m := range peeked {
				got[m.EventID] = fmt.Sprintf("%s, %d deferrals, queued %s", m.Template, m.Deferrals, m.QueuedAt.Format(time.RFC3339))
			}
			want := map[string]string{
				"evt_m1": "payment_confirmation, 0 deferrals, queued 2026-11-27T12:00:00Z",
				"evt_m2": "payment_confirmation, 3 deferrals, queued 2026-11-27T12:00:00Z",
			}
			if !maps.Equal(got, want) {
				t.Errorf("peek --json: got %v, want %v", got, want)
			}
			text := dlq(t, "peek")
			if text.code != exitOK || !strings.Contains(text.stdout, "TEMPLATE") || !regexp.MustCompile(`(?m)^evt_m2 +payment_confirmation +2 +\S+ +2026-11-27T12:00:00Z +3 `).MatchString(text.stdout) ||
				!strings.Contains(text.stderr, "2 message(s) in "+e.emailDLQURL) {
				t.Errorf("peek: exit %d\nstdout: %s\nstderr: %s", text.code, text.stdout, text.stderr)
			}
			for _, out := range []string{r.stdout, r.stderr, text.stdout, text.stderr} {
				for _, private := range []string{jobRecipient, "jane.doe", jobText, "tok_evt_m2"} {
					if strings.Contains(out, private) {
						t.Errorf("peek prints %q:\n%s", private, out)
					}
				}
			}

			r = dlq(t, "redrive")
			if r.code != exitOK || !strings.Contains(r.stdout, "moved 2 message(s) to the email queue") {
				t.Fatalf("redrive: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			moved := drain(t, e.sqs, e.emailURL)
			if len(moved) != 2 {
				t.Fatalf("%d jobs on the email queue, want 2", len(moved))
			}
			for _, m := range moved {
				id := attr(m, eventrecord.AttrEventID)
				j, ok := jobs[id]
				if !ok {
					t.Errorf("moved a message of event %q", id)
					continue
				}
				delete(jobs, id)
				wantBody, err := sqsemail.Encode(j)
				if err != nil {
					t.Fatal(err)
				}
				if aws.ToString(m.Body) != wantBody {
					t.Errorf("%s: body changed by the move", id)
				}
				wantAttrs := map[string]string{eventrecord.AttrEventID: "String:" + id, eventrecord.AttrBodyEncoding: "String:" + eventrecord.BodyBase64}
				if got := typedAttrs(m); !maps.Equal(got, wantAttrs) {
					t.Errorf("%s: attributes %v, want %v", id, got, wantAttrs)
				}
			}
			if left := drain(t, e.sqs, e.emailDLQURL); len(left) != 0 {
				t.Errorf("%d jobs left in the email DLQ", len(left))
			}
			if events := drain(t, e.sqs, e.dlqURL); len(events) != 1 || attr(events[0], eventrecord.AttrEventID) != "evt_d1" {
				t.Errorf("the events DLQ holds %d messages, want evt_d1 untouched", len(events))
			}
			if q := drain(t, e.sqs, e.url); len(q) != 0 {
				t.Errorf("%d messages on the events queue, want none", len(q))
			}
		})
	}
}

// runDLQCmd runs dlqCmd as runCmd does, but as a user without
// $AWS_ENDPOINT_URL when statePath names a local stack's state file, so
// that the command finds the stack through it.
func runDLQCmd(t *testing.T, statePath string, args ...string) cmdRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := os.Getenv
	if statePath != "" {
		getenv = func(k string) string {
			if k == endpointEnv {
				return ""
			}
			return os.Getenv(k)
		}
	}
	env := cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: getenv, now: func() time.Time { return opsNow }, statePath: statePath}
	code := dlqCmd(context.Background(), args, env)
	return cmdRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// typedAttrs flattens a message's attributes to name → DataType:value.
func typedAttrs(m types.Message) map[string]string {
	out := map[string]string{}
	for k, v := range m.MessageAttributes {
		out[k] = aws.ToString(v.DataType) + ":" + aws.ToString(v.StringValue)
	}
	return out
}
