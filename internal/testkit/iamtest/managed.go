package iamtest

import (
	"fmt"
	"strings"
)

// awsManagedPolicies are the documents of the AWS managed policies SAM
// attaches to the functions' roles, as AWS publishes them (the same as
// moto_server's copy). The harness cannot read them offline from AWS; a
// role with any other AWS managed policy fails its resolution, so that a
// new one is looked at before it is trusted.
var awsManagedPolicies = map[string][]Statement{
	// Every function: its logs.
	"AWSLambdaBasicExecutionRole": {{
		Effect:    "Allow",
		Actions:   []string{"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
		Resources: []string{"*"},
	}},
	// Tracing: Active.
	"AWSXrayWriteOnlyAccess": {{
		Effect: "Allow",
		Actions: []string{"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
			"xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"},
		Resources: []string{"*"},
	}},
	// An SQS event source: the event source mapping polls the queue with
	// the function's role.
	"AWSLambdaSQSQueueExecutionRole": {{
		Effect: "Allow",
		Actions: []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
			"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"},
		Resources: []string{"*"},
	}},
}

// awsManagedName returns the name of an AWS managed policy ARN the harness
// knows (arn:aws:iam::aws:policy/[path/]name).
func awsManagedName(arn string) (string, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::aws:policy/")
	if !ok {
		return "", false
	}
	name := rest[strings.LastIndex(rest, "/")+1:]
	_, known := awsManagedPolicies[name]
	return name, known
}

// awsManagedStatements returns the named policy's statements, labelled.
func awsManagedStatements(name string) []Statement {
	var out []Statement
	for i, s := range awsManagedPolicies[name] {
		s.Policy, s.Sid, s.AWSManaged = name, fmt.Sprintf("#%d", i), true
		out = append(out, s)
	}
	return out
}
