package iamtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// recordingTB stands for a test whose failures are to be read, not
// reported: it keeps Errorf's messages and runs the cleanups on finish.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

// finish runs the cleanups, as the end of the test would, and returns the
// failures they reported.
func (r *recordingTB) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	return r.errors
}

// fixtures makes two tables and two queues with the set-up's keys.
func fixtures(t *testing.T) (tables, queues []string) {
	t.Helper()
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	db, q := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	for _, p := range []string{"events", "other"} {
		name := motoserver.UniqueName(t, p)
		if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("event_id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("event_id"), KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		}); err != nil {
			t.Fatal(err)
		}
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		tables, queues = append(tables, name), append(queues, aws.ToString(out.QueueUrl))
	}
	return tables, queues
}

func putItem(ctx context.Context, cfg aws.Config, table string) error {
	_, err := dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{"event_id": &ddbtypes.AttributeValueMemberS{Value: "e1"}},
	})
	return err
}

func sendMessage(ctx context.Context, cfg aws.Config, queue string) error {
	_, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String("x")})
	return err
}

// accessDenied reports a 403: the harness's AccessDeniedException, or
// moto's AccessDenied (an XML body the JSON clients cannot decode).
func accessDenied(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden
}

// A function's keys do what its policy allows; every call outside it is
// refused (403, as on AWS) and fails the test that made it, naming the
// action and the resource: another table (moto alone would allow it), an
// action the policy lacks, another queue.
func TestCallOutsideThePolicyFailsTheTest(t *testing.T) {
	ctx := context.Background()
	tables, queues := fixtures(t)
	rec := &recordingTB{TB: t}
	env := map[string]string{"EVENTS_TABLE": tables[0], "QUEUE_URL": queues[0]}
	cfg := Function(rec, "IngestFunction", func(k string) string { return env[k] }).Config(t)

	if err := putItem(ctx, cfg, tables[0]); err != nil {
		t.Errorf("PutItem on its own table: %v", err)
	}
	if err := sendMessage(ctx, cfg, queues[0]); err != nil {
		t.Errorf("SendMessage to its own queue: %v", err)
	}
	outside := []struct {
		name string
		call func() error
		want string // in the test's failure
	}{
		{"another table", func() error { return putItem(ctx, cfg, tables[1]) },
			"IngestFunction called dynamodb:PutItem on " + arn("dynamodb", "table/"+tables[1])},
		{"an action it lacks", func() error {
			_, err := dynamodb.NewFromConfig(cfg).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(tables[0])})
			return err
		}, "IngestFunction called dynamodb:DeleteTable on " + arn("dynamodb", "table/"+tables[0])},
		{"another queue", func() error { return sendMessage(ctx, cfg, queues[1]) },
			"IngestFunction called sqs:SendMessage on " + arn("sqs", tables[1])},
	}
	for _, c := range outside {
		if err := c.call(); !accessDenied(err) {
			t.Errorf("%s: %v, want AccessDenied", c.name, err)
		}
	}
	failures := rec.finish()
	for _, c := range outside {
		if !slices.ContainsFunc(failures, func(f string) bool { return strings.Contains(f, c.want) }) {
			t.Errorf("%s: no failure names %q; failures:\n%s", c.name, c.want, strings.Join(failures, "\n"))
		}
	}
	if len(failures) != len(outside) {
		t.Errorf("%d failures, want %d:\n%s", len(failures), len(outside), strings.Join(failures, "\n"))
	}
}

// What moto_server's own IAM evaluation covers and what it does not, found
// by experiment and pinned here (docs/least-privilege.md): it refuses an
// action outside the user's policy, matches SQS queue ARNs, but matches no
// DynamoDB or SES resource (a statement naming a table's ARN refuses every
// call, one on "*" allows every table), and ignores condition keys such as
// ses:FromAddress. The harness's proxy covers the gaps; this test goes to
// moto directly, past it.
func TestWhatMotoChecks(t *testing.T) {
	ctx := context.Background()
	srv, err := motoserver.Start(ctx, nil)
	if err != nil {
		t.Fatalf("moto_server: %v", err)
	}
	t.Cleanup(srv.Stop)
	h, err := startHarness(ctx, template(t), srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	db := dynamodb.NewFromConfig(h.admin)
	tables := []string{"t1", "t2"}
	for _, name := range tables {
		if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("event_id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("event_id"), KeyType: ddbtypes.KeyTypeHash}},
			BillingMode:          ddbtypes.BillingModePayPerRequest,
		}); err != nil {
			t.Fatal(err)
		}
	}
	var queues []string
	for _, name := range []string{"q1", "q2"} {
		out, err := sqs.NewFromConfig(h.admin).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		queues = append(queues, aws.ToString(out.QueueUrl))
	}
	if _, err := sesv2.NewFromConfig(h.admin).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("shop.example.com")}); err != nil {
		t.Fatal(err)
	}
	users := 0
	user := func(statement string) aws.Config {
		t.Helper()
		users++
		doc := `{"Version":"2012-10-17","Statement":[` + statement + `]}`
		k, err := createUser(ctx, h.iam, fmt.Sprintf("experiment-%d", users), map[string]string{"p": doc})
		if err != nil {
			t.Fatal(err)
		}
		cfg := h.admin.Copy()
		cfg.Credentials = credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, "")
		return cfg
	}
	send := func(cfg aws.Config, from string) error {
		_, err := sesv2.NewFromConfig(cfg).SendEmail(ctx, &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(from),
			Destination:      &sestypes.Destination{ToAddresses: []string{"buyer@example.org"}},
			Content: &sestypes.EmailContent{Simple: &sestypes.Message{
				Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("t")}},
			}},
		})
		return err
	}
	exactTable := user(`{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"` + arn("dynamodb", "table/t1") + `"}`)
	anyTable := user(`{"Effect":"Allow","Action":"dynamodb:PutItem","Resource":"*"}`)
	oneQueue := user(`{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"` + arn("sqs", "q1") + `"}`)
	sender := user(`{"Effect":"Allow","Action":"ses:SendEmail","Resource":"*","Condition":{"StringEquals":{"ses:FromAddress":"orders@shop.example.com"}}}`)
	senderByIdentity := user(`{"Effect":"Allow","Action":"ses:SendEmail","Resource":"` + arn("ses", "identity/*") + `"}`)

	tests := []struct {
		name       string
		call       func() error
		wantDenied bool
	}{
		{"an action outside the policy", func() error { return sendMessage(ctx, anyTable, queues[0]) }, true},
		{"DynamoDB: the table's own ARN is refused", func() error { return putItem(ctx, exactTable, "t1") }, true},
		{"DynamoDB: * allows the table", func() error { return putItem(ctx, anyTable, "t1") }, false},
		{"DynamoDB: * allows every other table too", func() error { return putItem(ctx, anyTable, "t2") }, false},
		{"SQS: the queue's ARN allows it", func() error { return sendMessage(ctx, oneQueue, queues[0]) }, false},
		{"SQS: another queue is refused", func() error { return sendMessage(ctx, oneQueue, queues[1]) }, true},
		{"SES: identity ARNs are refused", func() error { return send(senderByIdentity, "orders@shop.example.com") }, true},
		{"SES: ses:FromAddress is not checked", func() error { return send(sender, "someone-else@shop.example.com") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if denied := accessDenied(err); denied != tc.wantDenied {
				t.Errorf("denied %v (%v), want denied %v: moto_server's IAM evaluation changed; update docs/least-privilege.md and iamtest's moto document", denied, err, tc.wantDenied)
			}
		})
	}
}
