package iamtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// secretsByName is a Lookups with a fixed secret.
type secretsByName map[string]string

func (s secretsByName) SecretARN(_ context.Context, id string) (string, error) {
	if arn, ok := s[id]; ok {
		return arn, nil
	}
	return "", errors.New("no such secret")
}

func TestDescribe(t *testing.T) {
	const secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:signing-AbCdEf"
	look := secretsByName{"signing": secretARN}
	jsonReq := func(service, target, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", target)
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=abc")
		return r
	}
	sesReq := httptest.NewRequest(http.MethodPost, "/v2/email/outbound-emails", strings.NewReader(`{"FromEmailAddress":"Shop <orders@shop.example.com>"}`))
	sesReq.Header.Set("Content-Type", "application/json")
	sesReq.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=abc")
	cfnReq := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=DescribeStacks&StackName=shop&Version=2010-05-15"))
	cfnReq.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	cfnReq.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=abc")

	tests := []struct {
		name    string
		req     *http.Request
		want    Call
		free    bool
		wantErr error
	}{
		{"dynamodb", jsonReq("dynamodb", "DynamoDB_20120810.PutItem", `{"TableName":"events"}`),
			Call{Action: "dynamodb:PutItem", Resources: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/events"}}, false, nil},
		{"dynamodb without table", jsonReq("dynamodb", "DynamoDB_20120810.ListTables", `{}`),
			Call{Action: "dynamodb:ListTables"}, false, nil},
		{"dynamodb transaction without items", jsonReq("dynamodb", "DynamoDB_20120810.TransactWriteItems", `{"TransactItems":[]}`), Call{}, false, ErrUnmapped},
		{"dynamodb transaction", jsonReq("dynamodb", "DynamoDB_20120810.TransactWriteItems",
			`{"TransactItems":[{"Put":{"TableName":"refunds"}},{"Update":{"TableName":"orders"}},{"ConditionCheck":{"TableName":"arn:aws:dynamodb:us-east-1:123456789012:table/x"}}]}`),
			Call{Action: "dynamodb:TransactWriteItems", Parts: []Call{
				{Action: "dynamodb:PutItem", Resources: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/refunds"}},
				{Action: "dynamodb:UpdateItem", Resources: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/orders"}},
				{Action: "dynamodb:ConditionCheckItem", Resources: []string{"arn:aws:dynamodb:us-east-1:123456789012:table/x"}},
			}}, false, nil},
		{"dynamodb transaction item of an unknown kind", jsonReq("dynamodb", "DynamoDB_20120810.TransactWriteItems", `{"TransactItems":[{"Swap":{"TableName":"t"}}]}`),
			Call{}, false, ErrUnmapped},
		{"sqs", jsonReq("sqs", "AmazonSQS.SendMessage", `{"QueueUrl":"http://127.0.0.1:4566/123456789012/q1"}`),
			Call{Action: "sqs:SendMessage", Resources: []string{"arn:aws:sqs:us-east-1:123456789012:q1"}}, false, nil},
		{"sqs batch is authorized as the single call", jsonReq("sqs", "AmazonSQS.DeleteMessageBatch", `{"QueueUrl":"http://h/123456789012/q1"}`),
			Call{Action: "sqs:DeleteMessage", Resources: []string{"arn:aws:sqs:us-east-1:123456789012:q1"}}, false, nil},
		{"sqs by name", jsonReq("sqs", "AmazonSQS.GetQueueUrl", `{"QueueName":"q1"}`),
			Call{Action: "sqs:GetQueueUrl", Resources: []string{"arn:aws:sqs:us-east-1:123456789012:q1"}}, false, nil},
		{"sqs move task", jsonReq("sqs", "AmazonSQS.StartMessageMoveTask", `{"SourceArn":"arn:aws:sqs:us-east-1:123456789012:dlq"}`),
			Call{Action: "sqs:StartMessageMoveTask", Resources: []string{"arn:aws:sqs:us-east-1:123456789012:dlq"}}, false, nil},
		{"sqs without queue", jsonReq("sqs", "AmazonSQS.ReceiveMessage", `{}`), Call{}, false, ErrUnmapped},
		{"secret by name", jsonReq("secretsmanager", "secretsmanager.GetSecretValue", `{"SecretId":"signing"}`),
			Call{Action: "secretsmanager:GetSecretValue", Resources: []string{secretARN}}, false, nil},
		{"secret by ARN", jsonReq("secretsmanager", "secretsmanager.GetSecretValue", `{"SecretId":"`+secretARN+`"}`),
			Call{Action: "secretsmanager:GetSecretValue", Resources: []string{secretARN}}, false, nil},
		{"no such secret", jsonReq("secretsmanager", "secretsmanager.GetSecretValue", `{"SecretId":"nope"}`),
			Call{Action: "secretsmanager:GetSecretValue", Resources: []string{"arn:aws:secretsmanager:us-east-1:123456789012:secret:nope"}}, false, nil},
		{"events, each entry's bus", jsonReq("events", "AWSEvents.PutEvents", `{"Entries":[{"EventBusName":"orders"},{}]}`),
			Call{Action: "events:PutEvents", Resources: []string{"arn:aws:events:us-east-1:123456789012:event-bus/orders", "arn:aws:events:us-east-1:123456789012:event-bus/default"}}, false, nil},
		{"ses", sesReq, Call{Action: "ses:SendEmail", Resources: []string{"arn:aws:ses:us-east-1:123456789012:identity/shop.example.com"},
			Context: map[string]string{"ses:FromAddress": "orders@shop.example.com"}}, false, nil},
		{"cloudformation", cfnReq, Call{Action: "cloudformation:DescribeStacks", Resources: []string{"arn:aws:cloudformation:us-east-1:123456789012:stack/shop/*"}}, false, nil},
		{"caller identity", jsonReq("sts", "AWSSecurityTokenServiceV20110615.GetCallerIdentity", ``), Call{Action: "sts:GetCallerIdentity"}, true, nil},
		{"unknown service", jsonReq("kinesis", "Kinesis_20131202.PutRecord", `{}`), Call{}, false, ErrUnmapped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := parseAuth(tc.req.Header)
			if !ok || s.KeyID != "AKIAEXAMPLE" || s.Region != "us-east-1" {
				t.Fatalf("parseAuth: %+v, %v", s, ok)
			}
			body := readAll(t, tc.req)
			got, free, err := describe(context.Background(), tc.req, body, s, look)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if got.Action != tc.want.Action || !slices.Equal(got.Resources, tc.want.Resources) || len(got.Context) != len(tc.want.Context) ||
				got.Context["ses:FromAddress"] != tc.want.Context["ses:FromAddress"] || free != tc.free ||
				fmt.Sprint(got.Parts) != fmt.Sprint(tc.want.Parts) {
				t.Errorf("describe\n got %+v free %v\nwant %+v free %v", got, free, tc.want, tc.free)
			}
		})
	}
}

func readAll(t *testing.T, r *http.Request) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
