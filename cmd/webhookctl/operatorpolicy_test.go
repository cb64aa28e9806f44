package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// An operator holding the template's OperatorPolicy finds the resources
// through --stack (its stack's outputs), lists the events and replays one.
func TestOperatorPolicyFindsTheStack(t *testing.T) {
	ep := emulator(t)
	e := newAWSEnv(t, ep)
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

	keys := iamtest.ManagedPolicy(t, "OperatorPolicy", map[string]string{
		"AWS::StackName": stack, "EventsTable": e.table.Name(), "EventsQueue": e.url, "EventsDLQ": e.dlqURL,
	})
	t.Setenv("AWS_ACCESS_KEY_ID", keys.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", keys.SecretAccessKey)

	r := runCmd(t, eventsCmd, "", opsNow, "list", "--stack", stack, "--endpoint", ep)
	if r.code != exitOK || !strings.Contains(r.stdout, "evt_s1") {
		t.Errorf("events list --stack: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, replayCmd, "", opsNow, "evt_s1", "--stack", stack, "--endpoint", ep)
	if r.code != exitOK || len(drain(t, e.sqs, e.url)) != 1 {
		t.Errorf("replay --stack: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
