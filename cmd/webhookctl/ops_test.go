package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

var opsT0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// opsNow is the operator's clock in these tests: an hour after the records.
var opsNow = opsT0.Add(time.Hour)

const storedBody = "{\n  \"id\": \"evt_f1\",\t\"type\": \"payment.succeeded\" }\r\n"

// putRecord walks a record through the table's methods to status s (the
// processor is not running): Reserve, Claim, Finish.
func putRecord(t *testing.T, e awsEnv, id string, s eventrecord.Status, body string) {
	t.Helper()
	ctx := context.Background()
	rec := eventrecord.Record{
		EventID: id, Status: eventrecord.Received, Type: "payment.succeeded", Created: opsT0.Add(-time.Minute),
		PayloadHash: "aa", Token: "ingest", LeaseUntil: opsT0.Add(30 * time.Second), ExpiresAt: opsT0.Add(30 * 24 * time.Hour),
		ReceivedAt: opsT0, UpdatedAt: opsT0,
	}
	if err := e.table.Reserve(ctx, rec, opsT0); err != nil {
		t.Fatal(err)
	}
	rec.Token, rec.Status = "proc", eventrecord.Processing
	if _, err := e.table.Claim(ctx, rec, opsT0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	rec.Status, rec.Body, rec.Error, rec.Steps = s, []byte(body), "order ord_1 is unknown", []string{"order_updated"}
	if s == eventrecord.Processed {
		rec.Notes = []string{"email_undeliverable: send payment_confirmation email for order ord_1: email cannot be delivered: SES MessageRejected"}
	}
	if err := e.table.Finish(ctx, rec, opsT0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestOperatorCommands(t *testing.T) {
	ep := emulator(t)
	// The commands run under the template's OperatorPolicy. The stack
	// case keeps the set-up's keys: it makes its stack inside the test and
	// asks for a stack the policy does not name (TestOperatorPolicyFindsTheStack
	// runs --stack under the policy).
	t.Run("events", func(t *testing.T) { testEvents(t, asOperator(t, newAWSEnv(t, ep))) })
	t.Run("replay by id", func(t *testing.T) { testReplayIDs(t, asOperator(t, newAWSEnv(t, ep))) })
	t.Run("replay all failed", func(t *testing.T) { testReplayBulk(t, asOperator(t, newAWSEnv(t, ep))) })
	t.Run("stranded replays", func(t *testing.T) { testReplayStranded(t, asOperator(t, newAWSEnv(t, ep))) })
	t.Run("replay ignored", func(t *testing.T) { testReplayIgnored(t, asOperator(t, newAWSEnv(t, ep))) })
	t.Run("dlq", func(t *testing.T) { testDLQ(t, asOperator(t, newAWSEnv(t, ep))) })
	t.Run("stack", func(t *testing.T) { testStack(t, newAWSEnv(t, ep)) })
}

func testEvents(t *testing.T, e awsEnv) {
	putRecord(t, e, "evt_f1", eventrecord.Failed, storedBody)
	putRecord(t, e, "evt_f2", eventrecord.Failed, "")
	putRecord(t, e, "evt_p1", eventrecord.Processed, "")
	// Emails through the sender's own table calls: evt_p1's claimed
	// twice (a deferred job's claim again) and sent; evt_f2's claimed
	// and held.
	ctx := context.Background()
	for _, c := range []struct {
		id, held, token string
		at              time.Time
	}{{"evt_p1", "", "tokA", opsT0.Add(3 * time.Second)}, {"evt_p1", "tokA", "tokA2", opsT0.Add(5 * time.Second)}, {"evt_f2", "", "tokB", opsNow.Add(-time.Second)}} {
		claim := e.table.ClaimEmail
		if c.held != "" {
			claim = func(ctx context.Context, id, template, token string, lease, now time.Time) error {
				return e.table.ReclaimEmail(ctx, id, template, c.held, token, lease, now)
			}
		}
		if err := claim(ctx, c.id, "payment_confirmation", c.token, c.at.Add(2*time.Minute), c.at); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.table.FinishEmail(ctx, "evt_p1", "tokA2", eventrecord.EmailSent, "", opsT0.Add(6*time.Second)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // in stdout
		notWant  []string
		json     func(t *testing.T, out string)
	}{
		{name: "get", args: []string{"get", "evt_f1"}, want: []string{
			"status       FAILED (replayable", "type         payment.succeeded", "attempts     1", "steps        order_updated",
			"error        order ord_1 is unknown", fmt.Sprintf("body         %d bytes", len(storedBody)), "updated      2026-11-27T12:00:02Z",
		}},
		{name: "get without body", args: []string{"get", "evt_f2"}, want: []string{"FAILED (no body kept", "body         0 bytes"}, notWant: []string{"note"}},
		{name: "get shows the email sent", args: []string{"get", "evt_p1"}, want: []string{
			"email        SENT (payment_confirmation)", "email tries  2", "email at     2026-11-27T12:00:06Z",
		}, notWant: []string{"email lease"}},
		{name: "get shows the email held", args: []string{"get", "evt_f2"}, want: []string{
			"email        SENDING (payment_confirmation): a sender holds it", "email tries  1", "email lease  2026-11-27T13:01:59Z",
		}},
		{name: "get without an email", args: []string{"get", "evt_f1"}, notWant: []string{"email"}},
		{name: "get shows notes", args: []string{"get", "evt_p1"}, want: []string{"note         email_undeliverable: send payment_confirmation email for order ord_1"}},
		{name: "get --json", args: []string{"get", "evt_p1", "--json"}, json: func(t *testing.T, out string) {
			var v ops.EventView
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatal(err)
			}
			if v.EventID != "evt_p1" || v.Status != eventrecord.Processed || v.Attempts != 1 || v.Replayable || len(v.ProcessorNotes) != 1 {
				t.Errorf("got %+v", v)
			}
			if e := v.Email; e == nil || e.Status != eventrecord.EmailSent || e.Attempts != 2 || e.At == nil || !e.At.Equal(opsT0.Add(6*time.Second)) || e.LeaseUntil != nil {
				t.Errorf("email %+v, want SENT at %s after 2 attempts, no lease", e, opsT0.Add(6*time.Second))
			}
		}},
		{name: "get unknown", args: []string{"get", "evt_none"}, wantCode: exitFail},
		{name: "list every status", args: []string{"list"}, want: []string{"EVENT ID", "evt_f1", "evt_f2", "evt_p1", "replayable"}},
		{name: "list failed", args: []string{"list", "--status", "failed", "--since", "24h"}, want: []string{"EVENT ID", "evt_f1", "evt_f2"}, notWant: []string{"evt_p1"}},
		{name: "list since later", args: []string{"list", "--since", "30m"}, notWant: []string{"evt_f1", "EVENT ID"}},
		{name: "list processed --json", args: []string{"list", "--status", "processed", "--json"}, json: func(t *testing.T, out string) {
			var l ops.EventList
			if err := json.Unmarshal([]byte(out), &l); err != nil {
				t.Fatal(err)
			}
			if len(l.Events) != 1 || l.Events[0].EventID != "evt_p1" || l.Matched != 1 {
				t.Errorf("got %+v", l)
			}
		}},
		{name: "list bad status", args: []string{"list", "--status", "DONE"}, wantCode: exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, eventsCmd, "", opsNow, append(tc.args, e.flags()...)...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout has %q:\n%s", w, r.stdout)
				}
			}
			if tc.json != nil {
				tc.json(t, r.stdout)
			}
		})
	}
}

func testReplayIDs(t *testing.T, e awsEnv) {
	putRecord(t, e, "evt_f1", eventrecord.Failed, storedBody)
	putRecord(t, e, "evt_p1", eventrecord.Processed, "")

	r := runCmd(t, replayCmd, "", opsNow, append([]string{"evt_f1"}, e.flags()...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_f1  replayed") {
		t.Fatalf("replay evt_f1: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	msgs := drain(t, e.sqs, e.url)
	if len(msgs) != 1 {
		t.Fatalf("%d messages queued, want 1", len(msgs))
	}
	if got := rawBody(t, msgs[0]); got != storedBody {
		t.Errorf("queued body %q, want the stored one %q", got, storedBody)
	}
	if attr(msgs[0], eventrecord.AttrReplay) != "true" || attr(msgs[0], eventrecord.AttrEventID) != "evt_f1" {
		t.Errorf("message attributes %v: want the replay mark and event id", msgs[0].MessageAttributes)
	}
	if rec, err := e.table.Get(context.Background(), "evt_f1"); err != nil || rec.Status != eventrecord.Retrying {
		t.Errorf("record %+v, %v: want RETRYING", rec, err)
	}

	before, err := e.table.Get(context.Background(), "evt_p1")
	if err != nil {
		t.Fatal(err)
	}
	// evt_f1 is RETRYING with its body and no processor has claimed it:
	// replay cannot tell whether its message went out, so it sends it
	// again (the processor applies it once).
	r = runCmd(t, replayCmd, "", opsNow, append([]string{"evt_p1", "evt_f1", "--json"}, e.flags()...)...)
	if r.code != exitFail {
		t.Errorf("replay of a processed and a replayed event: exit %d, want %d", r.code, exitFail)
	}
	var results []ops.ReplayResult
	if err := json.Unmarshal([]byte(r.stdout), &results); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if len(results) != 2 || results[0].Outcome != ops.AlreadyProcessed || results[1].Outcome != ops.Replayed || results[1].Was != eventrecord.Retrying {
		t.Errorf("results %+v: want already_processed, replayed (was RETRYING)", results)
	}
	if msgs := drain(t, e.sqs, e.url); len(msgs) != 1 {
		t.Errorf("%d messages sent, want 1", len(msgs))
	}
	after, err := e.table.Get(context.Background(), "evt_p1")
	if err != nil || after.Status != eventrecord.Processed || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("processed record changed: %+v → %+v", before, after)
	}
	r = runCmd(t, replayCmd, "", opsNow, append([]string{"evt_p1"}, e.flags()...)...)
	if !strings.Contains(r.stdout, "already processed, not replayed") {
		t.Errorf("human output %q: want \"already processed, not replayed\"", r.stdout)
	}
}

// Issue 11, item 4, with the tool: an event stranded by a replay that died
// between its reset and its send (RETRYING with its body, no message) is
// listed by events list --stranded and put on the queue by replay.
func testReplayStranded(t *testing.T, e awsEnv) {
	putRecord(t, e, "evt_s1", eventrecord.Failed, storedBody)
	putRecord(t, e, "evt_f1", eventrecord.Failed, storedBody)
	if _, _, err := e.table.Reset(context.Background(), "evt_s1", ddbevents.ResetOptions{Token: "died"}, opsT0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, eventsCmd, "", opsNow, append([]string{"list", "--stranded"}, e.flags()...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_s1") || strings.Contains(r.stdout, "evt_f1") || !strings.Contains(r.stderr, "1 of 1 event(s) (stranded)") || !strings.Contains(r.stdout, "stranded") {
		t.Fatalf("events list --stranded: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, eventsCmd, "", opsNow, append([]string{"get", "evt_s1"}, e.flags()...)...)
	if !strings.Contains(r.stdout, "RETRYING (stranded") || !strings.Contains(r.stdout, "webhookctl replay evt_s1") {
		t.Errorf("events get of a stranded event:\n%s", r.stdout)
	}
	r = runCmd(t, replayCmd, "", opsNow, append([]string{"evt_s1"}, e.flags()...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_s1  replayed") {
		t.Fatalf("replay of a stranded event: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	msgs := drain(t, e.sqs, e.url)
	if len(msgs) != 1 || rawBody(t, msgs[0]) != storedBody || attr(msgs[0], eventrecord.AttrEventID) != "evt_s1" {
		t.Fatalf("%d messages, want evt_s1's stored body once", len(msgs))
	}
}

// Issue 11, item 6, with the tool: an IGNORED event is replayed only when
// asked for with --ignored, after a confirmation that says what it means.
func testReplayIgnored(t *testing.T, e awsEnv) {
	rec := eventrecord.Record{
		EventID: "evt_i1", Status: eventrecord.Ignored, Type: "payment.succeeded", Livemode: true, PayloadHash: "aa",
		Error: "livemode true does not match the deployment's (false)", Body: []byte(storedBody),
		ExpiresAt: opsT0.Add(30 * 24 * time.Hour), ReceivedAt: opsT0, UpdatedAt: opsT0,
	}
	if err := e.table.PutTerminal(context.Background(), rec, opsT0); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, eventsCmd, "", opsNow, append([]string{"get", "evt_i1"}, e.flags()...)...)
	if !strings.Contains(r.stdout, "webhookctl replay --ignored evt_i1") || !strings.Contains(r.stdout, fmt.Sprintf("%d bytes", len(storedBody))) {
		t.Errorf("events get of an ignored event:\n%s", r.stdout)
	}
	r = runCmd(t, replayCmd, "", opsNow, append([]string{"evt_i1"}, e.flags()...)...)
	if r.code != exitFail || !strings.Contains(r.stdout, "--ignored") {
		t.Errorf("replay without --ignored: exit %d\nstdout: %s", r.code, r.stdout)
	}
	r = runCmd(t, replayCmd, "n\n", opsNow, append([]string{"evt_i1", "--ignored"}, e.flags()...)...)
	if r.code != exitFail || !strings.Contains(r.stderr, "whatever its livemode") {
		t.Errorf("declined: exit %d, stderr %q", r.code, r.stderr)
	}
	if msgs := drain(t, e.sqs, e.url); len(msgs) != 0 {
		t.Fatalf("%d messages sent before the confirmation", len(msgs))
	}
	r = runCmd(t, replayCmd, "y\n", opsNow, append([]string{"evt_i1", "--ignored"}, e.flags()...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_i1  replayed") {
		t.Fatalf("confirmed: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	msgs := drain(t, e.sqs, e.url)
	if len(msgs) != 1 || rawBody(t, msgs[0]) != storedBody {
		t.Fatalf("%d messages, want the ignored body once", len(msgs))
	}
}

func testReplayBulk(t *testing.T, e awsEnv) {
	putRecord(t, e, "evt_f1", eventrecord.Failed, storedBody)
	putRecord(t, e, "evt_f2", eventrecord.Failed, strings.Replace(storedBody, "f1", "f2", 1))
	putRecord(t, e, "evt_p1", eventrecord.Processed, "")
	// A body the processor refused under evt_f1's id (another body is
	// stored there): FAILED under its sha256 key, kept for investigation,
	// never replayed, and no reason for a bulk replay to fail.
	hash := strings.Repeat("ab", 32)
	refused := eventrecord.Record{
		EventID: eventrecord.MismatchKey(hash, "evt_f1"), Status: eventrecord.Failed, Type: "payment.succeeded",
		PayloadHash: hash, Body: []byte(`{"id":"evt_f1","other":"body"}`), Error: "payload mismatch",
		ExpiresAt: opsT0.Add(30 * 24 * time.Hour), ReceivedAt: opsT0, UpdatedAt: opsT0.Add(2 * time.Second),
	}
	if err := e.table.PutTerminal(context.Background(), refused, opsT0); err != nil {
		t.Fatal(err)
	}
	bulk := append([]string{"--status", "FAILED", "--since", "24h"}, e.flags()...)

	r := runCmd(t, replayCmd, "n\n", opsNow, bulk...)
	if r.code != exitFail || !strings.Contains(r.stderr, "Replay 2 FAILED event(s)") {
		t.Errorf("declined: exit %d, stderr %q", r.code, r.stderr)
	}
	if msgs := drain(t, e.sqs, e.url); len(msgs) != 0 {
		t.Fatalf("declined, yet %d messages sent", len(msgs))
	}
	r = runCmd(t, replayCmd, "", opsNow, append([]string{"--status", "FAILED", "--since", "30m"}, e.flags()...)...)
	if r.code != exitOK || !strings.Contains(r.stderr, "nothing to replay") {
		t.Errorf("nothing in range: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCmd(t, replayCmd, "y\n", opsNow, bulk...)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_f1  replayed") || !strings.Contains(r.stdout, "evt_f2  replayed") ||
		strings.Contains(r.stdout, refused.EventID) {
		t.Fatalf("confirmed: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if msgs := drain(t, e.sqs, e.url); len(msgs) != 2 {
		t.Errorf("%d messages sent, want 2", len(msgs))
	}
	// Now RETRYING: a second bulk run finds nothing, even with --yes.
	r = runCmd(t, replayCmd, "", opsNow, append(bulk, "--yes")...)
	if r.code != exitOK || !strings.Contains(r.stderr, "nothing to replay") {
		t.Errorf("second run: exit %d, stderr %q", r.code, r.stderr)
	}
}

func testDLQ(t *testing.T, e awsEnv) {
	dlq := sqsqueue.New(e.sqs, e.dlqURL)
	bodies := map[string]string{}
	for i := range 3 {
		id := fmt.Sprintf("evt_d%d", i)
		body := fmt.Sprintf("{\"id\":%q}\n", id)
		bodies[id] = body
		if err := dlq.Send(context.Background(), eventrecord.Message{EventID: id, Type: "refund.completed", ReceivedAt: opsT0, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	r := runCmd(t, dlqCmd, "", opsNow, append([]string{"peek", "--json"}, e.flags()...)...)
	var peeked []ops.DLQMessage
	if err := json.Unmarshal([]byte(r.stdout), &peeked); r.code != exitOK || err != nil || len(peeked) != 3 {
		t.Fatalf("peek: exit %d, %v, %d messages\n%s\n%s", r.code, err, len(peeked), r.stdout, r.stderr)
	}
	r = runCmd(t, dlqCmd, "", opsNow, append([]string{"peek"}, e.flags()...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_d0") || !strings.Contains(r.stdout, "refund.completed") {
		t.Errorf("peek text: %s %s", r.stdout, r.stderr)
	}
	r = runCmd(t, dlqCmd, "", opsNow, append([]string{"redrive"}, e.flags()...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, "moved 3 message(s)") {
		t.Fatalf("redrive: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	moved := drain(t, e.sqs, e.url)
	if len(moved) != 3 {
		t.Fatalf("%d messages on the events queue, want 3", len(moved))
	}
	for _, m := range moved {
		id := attr(m, eventrecord.AttrEventID)
		if rawBody(t, m) != bodies[id] || attr(m, eventrecord.AttrType) != "refund.completed" {
			t.Errorf("moved %s: body %q type %q", id, rawBody(t, m), attr(m, eventrecord.AttrType))
		}
		delete(bodies, id)
	}
	if len(bodies) != 0 {
		t.Errorf("not moved: %v", bodies)
	}
	if left := drain(t, e.sqs, e.dlqURL); len(left) != 0 {
		t.Errorf("%d messages left in the DLQ", len(left))
	}
}

// --stack reads the resources from a CloudFormation stack's outputs (moto
// runs CloudFormation; this stack's outputs are literals naming e).
func testStack(t *testing.T, e awsEnv) {
	putRecord(t, e, "evt_s1", eventrecord.Failed, storedBody)
	cf := cloudformation.NewFromConfig(motoserver.TestConfig(t))
	stack := motoserver.UniqueName(t, "stk")
	template := fmt.Sprintf(`{
  "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": %q}}},
  "Outputs": {
    "EventsTableName": {"Value": %q},
    "EventsQueueUrl": {"Value": %q},
    "EventsDLQUrl": {"Value": %q}
  }
}`, motoserver.UniqueName(t, "unused"), e.table.Name(), e.url, e.dlqURL)
	if _, err := cf.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(template)}); err != nil {
		t.Fatalf("CreateStack: %v", err)
	}
	t.Cleanup(func() {
		_, _ = cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(stack)})
	})
	r := runCmd(t, eventsCmd, "", opsNow, "list", "--stack", stack, "--endpoint", e.endpoint)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_s1") {
		t.Errorf("events list --stack: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, replayCmd, "", opsNow, "evt_s1", "--stack", stack, "--endpoint", e.endpoint)
	if r.code != exitOK || len(drain(t, e.sqs, e.url)) != 1 {
		t.Errorf("replay --stack: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, eventsCmd, "", opsNow, "list", "--stack", "absent-"+stack, "--endpoint", e.endpoint)
	if r.code != exitFail || !strings.Contains(r.stderr, "stack not found") {
		t.Errorf("absent stack: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestOperatorUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		cmd  func(context.Context, []string, cmdEnv) int
		args []string
		want string // in stderr
	}{
		{"send: repeat 0", sendCmd, []string{"--secret", "s", "--repeat", "0"}, "--repeat 0"},
		{"send: file and scenario", sendCmd, []string{"--secret", "s", "--file", "x", "--scenario", "refund"}, "exclude each other"},
		{"send: file and type", sendCmd, []string{"--secret", "s", "--file", "x", "--type", "payment.failed"}, "--file sends the file as it is"},
		{"send: no secret", sendCmd, nil, "no secret"},
		{"send: unknown type", sendCmd, []string{"--secret", "s", "--type", "charge.disputed"}, "unknown event type"},
		{"send: unknown scenario", sendCmd, []string{"--secret", "s", "--scenario", "chargeback"}, "unknown scenario"},
		{"send: type with scenario", sendCmd, []string{"--secret", "s", "--scenario", "refund", "--type", "payment.failed"}, "leave out --type"},
		{"send: seed without scenario", sendCmd, []string{"--secret", "s", "--seed", "3"}, "--seed only applies"},
		{"events: no subcommand", eventsCmd, nil, "want get EVENT_ID or list"},
		{"events: get without id", eventsCmd, []string{"get"}, "one EVENT_ID"},
		{"events: unknown", eventsCmd, []string{"show"}, "unknown events command"},
		{"events: bad since", eventsCmd, []string{"list", "--since", "yesterday"}, "--since"},
		{"events: unknown status names the valid ones", eventsCmd, []string{"list", "--status", "DONE"},
			`unknown status "DONE": want one of RECEIVED, PROCESSING, RETRYING, PROCESSED, FAILED, IGNORED, REJECTED`},
		{"events: bad limit", eventsCmd, []string{"list", "--limit", "0"}, "--limit 0"},
		{"events: nowhere to look", eventsCmd, []string{"get", "evt_1"}, "give --stack NAME"},
		{"orders: no subcommand", ordersCmd, nil, "want get ORDER_ID or list"},
		{"orders: get without id", ordersCmd, []string{"get"}, "one ORDER_ID"},
		{"orders: unknown status names the valid ones", ordersCmd, []string{"list", "--status", "SHIPPED"},
			`unknown order status "SHIPPED": want one of PAID, PAYMENT_FAILED, PARTIALLY_REFUNDED, REFUNDED, REFUND_RECEIVED`},
		{"orders: nowhere to look", ordersCmd, []string{"get", "ord_1"}, "give --stack NAME"},
		{"replay: nothing", replayCmd, nil, "give event ids"},
		{"replay: ids and status", replayCmd, []string{"evt_1", "--status", "FAILED"}, "not both"},
		{"replay: other status", replayCmd, []string{"--status", "PROCESSED"}, "only FAILED"},
		{"replay: since without status", replayCmd, []string{"evt_1", "--since", "24h"}, "goes with --status"},
		{"replay: a status with no replay", replayCmd, []string{"--status", "RETRYING"}, "only FAILED and IGNORED"},
		{"dlq: nothing", dlqCmd, nil, "want peek or redrive"},
		{"dlq: unknown", dlqCmd, []string{"purge", "--endpoint", "http://127.0.0.1:1"}, "unknown dlq command"},
		{"dlq: bad max", dlqCmd, []string{"peek", "--max", "0"}, "--max 0"},
		{"dlq: email queue URL without --email", dlqCmd, []string{"redrive", "--email-dlq-url", "http://127.0.0.1:1/q"}, "go with --email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			env := cmdEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: noEnv, now: func() time.Time { return opsNow }}
			if code := tc.cmd(context.Background(), tc.args, env); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := opsNow
	for _, tc := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"0", time.Time{}, false},
		{"24h", now.Add(-24 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"7d", now.Add(-7 * 24 * time.Hour), false},
		{"-1h", time.Time{}, true},
		{"xd", time.Time{}, true},
		{"soon", time.Time{}, true},
	} {
		got, err := parseSince(tc.in, now)
		if (err != nil) != tc.wantErr || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestDispatchOperatorCommands(t *testing.T) {
	for _, tc := range []struct{ cmd, usage string }{
		{"send", "Usage: webhookctl send"},
		{"events", "Usage: webhookctl events"},
		{"replay", "Usage: webhookctl replay"},
		{"dlq", "Usage: webhookctl dlq"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run([]string{tc.cmd, "-h"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
				t.Errorf("exit %d, want %d", code, exitOK)
			}
			if !strings.Contains(stderr.String(), tc.usage) {
				t.Errorf("help lacks %q:\n%s", tc.usage, stderr.String())
			}
			stdout.Reset()
			run([]string{"help"}, strings.NewReader(""), &stdout, &stderr)
			if !strings.Contains(stdout.String(), "\n  "+tc.cmd+" ") {
				t.Errorf("usage text does not list %s", tc.cmd)
			}
		})
	}
}
