package iamtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(RunTests(m)) }

// translated is template.yaml, translated once for the static tests.
var translated = sync.OnceValues(func() (*Template, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	return Translate(context.Background(), filepath.Join(root, "template.yaml"))
})

func template(t *testing.T) *Template {
	t.Helper()
	tpl, err := translated()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// resolve resolves a principal's policy with the template's defaults and
// the given environment and bindings.
func resolve(t *testing.T, principal string, env, refs map[string]string) (Policy, error) {
	t.Helper()
	tpl := template(t)
	r := newResolver(context.Background(), tpl, nil)
	for id, v := range refs {
		if err := r.bind(id, v); err != nil {
			t.Fatal(err)
		}
	}
	if env != nil {
		vars, err := tpl.Variables(principal)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.bindEnv(vars, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
	}
	return r.policy(principal)
}

// stmt is a statement as the tests below expect it.
type stmt struct {
	sid       string
	actions   []string
	resources []string
	condition string // "Operator Key=Value", or empty
}

func summary(s Statement) stmt {
	out := stmt{sid: s.Sid, actions: s.Actions, resources: s.Resources}
	for _, c := range s.Conditions {
		out.condition += fmt.Sprintf("%s %s=%s", c.Operator, c.Key, strings.Join(c.Values, ","))
	}
	return out
}

const (
	arnPrefix     = "arn:aws:%s:us-east-1:123456789012:"
	secretARN     = "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing-AbCdEf"
	queueURL      = "http://127.0.0.1:5000/123456789012/events-queue"
	dlqURL        = "http://127.0.0.1:5000/123456789012/events-dlq"
	emailQueueURL = "http://127.0.0.1:5000/123456789012/email-queue"
	emailDLQURL   = "http://127.0.0.1:5000/123456789012/email-dlq"
	senderAddr    = "orders@shop.example.com"
)

func arn(service, resource string) string { return fmt.Sprintf(arnPrefix, service) + resource }

// The policies of template.yaml, statement by statement, as a hand-written
// model of what each principal needs: a change to a policy must change
// this table too. What moto_server does not check (DynamoDB, Secrets
// Manager, EventBridge and SES resources, the ses:FromAddress condition)
// is checked here against the translated template, under the default
// parameters and the others that change a policy.
func TestPolicies(t *testing.T) {
	ingestEnv := map[string]string{"EVENTS_TABLE": "events", "QUEUE_URL": queueURL, "WEBHOOK_SECRET_ID": secretARN}
	processorEnv := map[string]string{"EVENTS_TABLE": "events", "ORDERS_TABLE": "orders", "REFUNDS_TABLE": "refunds", "EVENT_BUS_NAME": "shop-orders", "SENDER_EMAIL": senderAddr,
		"EVENTS_QUEUE_URL": queueURL, "EMAIL_QUEUE_URL": emailQueueURL}
	withoutSender := map[string]string{"EVENTS_TABLE": "events", "ORDERS_TABLE": "orders", "REFUNDS_TABLE": "refunds", "EVENT_BUS_NAME": "shop-orders",
		"EVENTS_QUEUE_URL": queueURL, "EMAIL_QUEUE_URL": emailQueueURL}
	ingest := func(secret string) []stmt {
		return []stmt{
			{sid: "DedupeRecord", actions: []string{"dynamodb:PutItem", "dynamodb:DeleteItem"}, resources: []string{arn("dynamodb", "table/events")}},
			{sid: "Enqueue", actions: []string{"sqs:SendMessage"}, resources: []string{arn("sqs", "events-queue")}},
			{sid: "SigningSecret", actions: []string{"secretsmanager:GetSecretValue"}, resources: []string{secret}},
		}
	}
	processor := func(bus string, email bool) []stmt {
		out := []stmt{
			{sid: "EventRecords", actions: []string{"dynamodb:UpdateItem", "dynamodb:PutItem"}, resources: []string{arn("dynamodb", "table/events")}},
			// A throttled event queued again, delayed; an email's job queued.
			{sid: "DeferEvents", actions: []string{"sqs:SendMessage"}, resources: []string{arn("sqs", "events-queue")}},
			{sid: "EmailJobs", actions: []string{"sqs:SendMessage"}, resources: []string{arn("sqs", "email-queue")}},
			{sid: "Orders", actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, resources: []string{arn("dynamodb", "table/orders")}},
			{sid: "Refunds", actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, resources: []string{arn("dynamodb", "table/refunds")}},
			{sid: "DomainEvents", actions: []string{"events:PutEvents"}, resources: []string{arn("events", "event-bus/"+bus)}},
		}
		if email {
			out = append(out, stmt{sid: "CustomerEmail", actions: []string{"ses:SendEmail"}, resources: []string{arn("ses", "identity/*")},
				condition: "StringEquals ses:FromAddress=" + senderAddr})
		}
		return out
	}
	tests := []struct {
		name      string
		principal string
		env, refs map[string]string
		want      []stmt
	}{
		{"ingest, secret made by the stack", "IngestFunction", ingestEnv, nil, ingest(secretARN)},
		{"ingest, secret given", "IngestFunction", map[string]string{"EVENTS_TABLE": "events", "QUEUE_URL": queueURL, "WEBHOOK_SECRET_ID": secretARN + "x"},
			map[string]string{"WebhookSecretArn": secretARN + "x"}, ingest(secretARN + "x")},
		{"processor, bus made by the stack", "ProcessorFunction", processorEnv, nil, processor("shop-orders", true)},
		{"processor, bus given", "ProcessorFunction", map[string]string{"EVENTS_TABLE": "events", "ORDERS_TABLE": "orders", "REFUNDS_TABLE": "refunds", "EVENT_BUS_NAME": "default", "SENDER_EMAIL": senderAddr,
			"EVENTS_QUEUE_URL": queueURL, "EMAIL_QUEUE_URL": emailQueueURL},
			map[string]string{"EventBusName": "default"}, processor("default", true)},
		{"processor without a sender: no SES at all", "ProcessorFunction", withoutSender, nil, processor("shop-orders", false)},
		{"operator", "OperatorPolicy", nil, map[string]string{"AWS::StackName": "shop", "EventsTable": "events", "EventsQueue": queueURL, "EventsDLQ": dlqURL,
			"OrdersTable": "orders", "WebhookSecretArn": secretARN, "EmailQueue": emailQueueURL, "EmailDLQ": emailDLQURL}, []stmt{
			{sid: "FindResources", actions: []string{"cloudformation:DescribeStacks"}, resources: []string{arn("cloudformation", "stack/shop/*")}},
			{sid: "EventRecords", actions: []string{"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem"}, resources: []string{arn("dynamodb", "table/events")}},
			{sid: "Requeue", actions: []string{"sqs:SendMessage", "sqs:GetQueueAttributes"}, resources: []string{arn("sqs", "events-queue")}},
			{sid: "DeadLetters", actions: []string{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
				"sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks"}, resources: []string{arn("sqs", "events-dlq")}},
			{sid: "EmailRequeue", actions: []string{"sqs:SendMessage", "sqs:GetQueueAttributes"}, resources: []string{arn("sqs", "email-queue")}},
			{sid: "EmailDeadLetters", actions: []string{"sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
				"sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks"}, resources: []string{arn("sqs", "email-dlq")}},
			{sid: "Orders", actions: []string{"dynamodb:GetItem", "dynamodb:Scan"}, resources: []string{arn("dynamodb", "table/orders")}},
			{sid: "StoreSigningSecret", actions: []string{"secretsmanager:PutSecretValue"}, resources: []string{secretARN}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := resolve(t, tc.principal, tc.env, tc.refs)
			if err != nil {
				t.Fatal(err)
			}
			var got []stmt
			for _, s := range pol.Statements {
				if s.Effect != "Allow" {
					t.Errorf("statement %s: %s", s.ID(), s.Effect)
				}
				if !s.AWSManaged {
					got = append(got, summary(s))
				}
			}
			if !slices.EqualFunc(got, tc.want, func(a, b stmt) bool {
				return a.sid == b.sid && slices.Equal(a.actions, b.actions) && slices.Equal(a.resources, b.resources) && a.condition == b.condition
			}) {
				t.Errorf("statements of %s\n got %+v\nwant %+v", tc.principal, got, tc.want)
			}
		})
	}
}

// The AWS managed policies SAM attaches: logs and X-Ray to both functions,
// the SQS poller's to the processor. Their statements are AWS's, on "*";
// the harness knows their documents and gives them to the functions' users.
func TestAWSManagedPolicies(t *testing.T) {
	tpl := template(t)
	for principal, want := range map[string][]string{
		"IngestFunction":    {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"},
		"ProcessorFunction": {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaSQSQueueExecutionRole"},
		"OperatorPolicy":    nil,
	} {
		got, err := tpl.AWSManaged(principal)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: AWS managed policies %v, want %v", principal, got, want)
		}
	}
}

// Least privilege, as a rule over every function: with its environment
// naming each resource the template gives it, every statement of its own
// policies names only those resources, never "*", and a wildcard ARN only
// under a condition (SES identities, narrowed by ses:FromAddress).
func TestStatementsNameOnlyWhatTheFunctionIsGiven(t *testing.T) {
	tpl := template(t)
	for _, fn := range tpl.Principals() {
		if tpl.Resources[fn].Type != typeFunction {
			continue
		}
		t.Run(fn, func(t *testing.T) {
			vars, err := tpl.Variables(fn)
			if err != nil {
				t.Fatal(err)
			}
			r := newResolver(context.Background(), tpl, nil)
			env, given := map[string]string{}, map[string]bool{}
			for name, expr := range vars {
				// A value for each variable that names a resource (or a
				// parameter, such as SENDER_EMAIL), so that every
				// optional statement is present.
				id, ok := refName(expr)
				if args, isIf := fnArgs(expr, "Fn::If"); isIf && len(args) == 3 {
					id, ok = refName(args[1])
				}
				if !ok {
					continue
				}
				env[name] = sampleValue(tpl, id, name)
				given[id] = true
			}
			if err := r.bindEnv(vars, func(k string) string { return env[k] }); err != nil {
				t.Fatal(err)
			}
			allowed := map[string]bool{}
			for id := range given {
				for _, attr := range []string{"", "Arn"} {
					if v, err := r.attr(id, attr); err == nil {
						allowed[v] = true
					}
				}
			}
			pol, err := r.policy(fn)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range pol.Statements {
				if s.AWSManaged {
					continue
				}
				for _, res := range s.Resources {
					switch {
					case res == "*" || strings.Contains(res, unboundPrefix):
						t.Errorf("statement %s: resource %s is not one the function's environment names", s.ID(), res)
					case strings.Contains(res, "*") && len(s.Conditions) == 0:
						t.Errorf("statement %s: wildcard resource %s without a condition", s.ID(), res)
					case !strings.Contains(res, "*") && !allowed[res]:
						t.Errorf("statement %s: resource %s is not one the function's environment names (%v)", s.ID(), res, allowed)
					}
				}
			}
		})
	}
}

// sampleValue is a plausible value of a variable naming id.
func sampleValue(tpl *Template, id, variable string) string {
	switch tpl.Resources[id].Type {
	case "AWS::SQS::Queue":
		return "http://127.0.0.1:5000/123456789012/sample-" + strings.ToLower(id)
	case "AWS::SecretsManager::Secret":
		return arn("secretsmanager", "secret:sample-AbCdEf")
	case "":
		if strings.Contains(variable, "EMAIL") {
			return senderAddr
		}
		return "sample-" + strings.ToLower(id)
	default:
		return "sample-" + strings.ToLower(id)
	}
}

// The reverse check's universe: every action of a principal's own
// policies, with both branches of each Fn::If (the SES statement exists
// only with a sender).
func TestActions(t *testing.T) {
	got, err := template(t).Actions("ProcessorFunction")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ProcessorFunctionRolePolicy0/EventRecords dynamodb:UpdateItem",
		"ProcessorFunctionRolePolicy0/EventRecords dynamodb:PutItem",
		"ProcessorFunctionRolePolicy0/DeferEvents sqs:SendMessage",
		"ProcessorFunctionRolePolicy0/EmailJobs sqs:SendMessage",
		"ProcessorFunctionRolePolicy0/Orders dynamodb:GetItem",
		"ProcessorFunctionRolePolicy0/Orders dynamodb:UpdateItem",
		"ProcessorFunctionRolePolicy0/Refunds dynamodb:GetItem",
		"ProcessorFunctionRolePolicy0/Refunds dynamodb:PutItem",
		"ProcessorFunctionRolePolicy0/Refunds dynamodb:UpdateItem",
		"ProcessorFunctionRolePolicy0/DomainEvents events:PutEvents",
		"ProcessorFunctionRolePolicy1/CustomerEmail ses:SendEmail",
	}
	var names []string
	for _, a := range got {
		names = append(names, a.String())
	}
	if !slices.Equal(names, want) {
		t.Errorf("actions\n got %v\nwant %v", names, want)
	}
}

// What the harness cannot evaluate fails the resolution instead of being
// skipped.
func TestUnevaluableStatementsFail(t *testing.T) {
	tests := []struct {
		name string
		stmt map[string]any
		want string
	}{
		{"NotAction", map[string]any{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, "NotAction"},
		{"unknown condition key", map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceVpce": "vpce-1"}}}, "aws:SourceVpce"},
		{"unknown operator", map[string]any{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
			"Condition": map[string]any{"IpAddress": map[string]any{"ses:FromAddress": "x"}}}, "IpAddress"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseStatement("p", "s", tc.stmt); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseStatement: %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

// Without python3 (or the SAM translator) the harness fails with what to
// install, instead of running the tests without the policies.
func TestTranslateWithoutPython(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Translate(context.Background(), "template.yaml")
	if !errors.Is(err, ErrNoTranslator) || !strings.Contains(err.Error(), "make lint-deps") {
		t.Fatalf("Translate without python3: %v, want ErrNoTranslator naming make lint-deps", err)
	}
}
