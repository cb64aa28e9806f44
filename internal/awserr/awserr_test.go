package awserr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// sdkError wraps apiErr the way an SDK client returns it: an
// OperationError around an HTTP ResponseError around the API error.
func sdkError(status int, apiErr error) error {
	return &smithy.OperationError{
		ServiceID:     "DynamoDB",
		OperationName: "UpdateItem",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      apiErr,
			},
			RequestID: "req-1",
		},
	}
}

// canceled is DynamoDB's TransactionCanceledException with one reason per
// item of the transaction.
func canceled(codes ...string) error {
	e := &ddbtypes.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		e.CancellationReasons = append(e.CancellationReasons, ddbtypes.CancellationReason{Code: aws.String(c)})
	}
	return e
}

func generic(code string) error { return &smithy.GenericAPIError{Code: code, Message: "m"} }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want awserr.Class
	}{
		{"nil", nil, awserr.Transient},
		{"unknown plain error", errors.New("something"), awserr.Transient},
		{"context deadline", fmt.Errorf("send: %w", context.DeadlineExceeded), awserr.Transient},
		{"context canceled", context.Canceled, awserr.Transient},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, awserr.Transient},
		{"connection reset in an operation", &smithy.OperationError{Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, awserr.Transient},
		{"unexpected EOF", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), awserr.Transient},
		{"retries exhausted on throttling", &retry.MaxAttemptsError{Attempt: 3, Err: sdkError(400, &ddbtypes.ProvisionedThroughputExceededException{})}, awserr.Transient},
		{"dynamodb throttling", sdkError(400, generic("ThrottlingException")), awserr.Transient},
		{"dynamodb request limit", sdkError(400, &ddbtypes.RequestLimitExceeded{}), awserr.Transient},
		{"dynamodb internal server error", sdkError(500, &ddbtypes.InternalServerError{}), awserr.Transient},
		{"generic 503", sdkError(503, generic("ServiceUnavailable")), awserr.Transient},
		{"unknown code with a 5xx", sdkError(502, generic("Whatever")), awserr.Transient},
		{"dynamodb transaction conflict", sdkError(400, &ddbtypes.TransactionConflictException{}), awserr.Transient},
		{"dynamodb table missing", sdkError(400, &ddbtypes.ResourceNotFoundException{}), awserr.Transient},
		{"access denied", sdkError(400, generic("AccessDeniedException")), awserr.Transient},
		{"expired token", sdkError(400, generic("ExpiredTokenException")), awserr.Transient},
		{"ses too many requests", sdkError(429, &sestypes.TooManyRequestsException{}), awserr.Transient},
		{"ses limit exceeded", sdkError(400, &sestypes.LimitExceededException{}), awserr.Transient},
		{"ses sending paused", sdkError(400, &sestypes.SendingPausedException{}), awserr.Transient},
		{"ses MAIL FROM domain not verified", sdkError(400, &sestypes.MailFromDomainNotVerifiedException{}), awserr.Transient},
		{"eventbridge internal", sdkError(500, &ebtypes.InternalException{}), awserr.Transient},
		{"eventbridge bus missing", sdkError(400, &ebtypes.ResourceNotFoundException{}), awserr.Transient},
		{"dynamodb conditional check failed", sdkError(400, &ddbtypes.ConditionalCheckFailedException{}), awserr.Permanent},
		{"dynamodb validation", sdkError(400, generic("ValidationException")), awserr.Permanent},
		{"serialization", sdkError(400, generic("SerializationException")), awserr.Permanent},
		{"ses message rejected", sdkError(400, &sestypes.MessageRejected{}), awserr.Permanent},
		{"ses bad request", sdkError(400, &sestypes.BadRequestException{}), awserr.Permanent},
		{"eventbridge invalid event pattern", sdkError(400, &ebtypes.InvalidEventPatternException{}), awserr.Permanent},
		{"modeled client fault without HTTP", &ddbtypes.ConditionalCheckFailedException{}, awserr.Permanent},
		{"transaction canceled: an item in another transaction", sdkError(400, canceled("None", "TransactionConflict")), awserr.Transient},
		{"transaction canceled: throttled", sdkError(400, canceled("ThrottlingError", "None")), awserr.Transient},
		{"transaction canceled: throughput exceeded", sdkError(400, canceled("None", "ProvisionedThroughputExceeded")), awserr.Transient},
		{"transaction canceled: a condition and a conflict", sdkError(400, canceled("ConditionalCheckFailed", "TransactionConflict")), awserr.Transient},
		{"transaction canceled: a reason this code does not know", sdkError(400, canceled("None", "SomethingNew")), awserr.Transient},
		{"transaction canceled without reasons", sdkError(400, canceled()), awserr.Transient},
		{"transaction canceled: a condition failed", sdkError(400, canceled("None", "ConditionalCheckFailed")), awserr.Permanent},
		{"transaction canceled: invalid", sdkError(400, canceled("ValidationError", "None")), awserr.Permanent},
		{"wrapped twice", fmt.Errorf("step order: %w", fmt.Errorf("apply: %w", sdkError(400, generic("ValidationException")))), awserr.Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := awserr.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v): want %s, got %s", tc.err, tc.want, got)
			}
			if got := awserr.IsPermanent(tc.err); got != (tc.want == awserr.Permanent) {
				t.Errorf("IsPermanent: got %v", got)
			}
			if got := awserr.IsTransient(tc.err); got != (tc.err != nil && tc.want == awserr.Transient) {
				t.Errorf("IsTransient: got %v", got)
			}
		})
	}
}

// TestClassifyRealErrors classifies errors as the SDK returns them from
// moto_server, so the wrapping of a real client is covered.
func TestClassifyRealErrors(t *testing.T) {
	ctx := context.Background()
	client := dynamodb.NewFromConfig(motoserver.TestConfig(t))
	table := motoserver.UniqueName(t, "awserr")
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	put := func(table string, item map[string]ddbtypes.AttributeValue, cond string) error {
		in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
		}
		_, err := client.PutItem(ctx, in)
		return err
	}
	id := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "a"}}
	if err := put(table, id, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want awserr.Class
	}{
		{"conditional check failed", put(table, id, "attribute_not_exists(id)"), awserr.Permanent},
		{"item without its key", put(table, map[string]ddbtypes.AttributeValue{"x": &ddbtypes.AttributeValueMemberS{Value: "b"}}, ""), awserr.Permanent},
		{"missing table", put(table+"-missing", id, ""), awserr.Transient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the call did not fail")
			}
			if got := awserr.Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v): want %s, got %s", tc.err, tc.want, got)
			}
		})
	}
}

// codedErr is an error with an AWS error code that is not an API error:
// as EventBridge's failed PutEvents entries are reported.
type codedErr string

func (c codedErr) Error() string     { return "entry failed: " + string(c) }
func (c codedErr) ErrorCode() string { return string(c) }

func TestIsThrottle(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"SES sending rate", sdkError(429, generic("ThrottlingException")), true},
		{"SES daily quota, wrapped", fmt.Errorf("send: %w", sdkError(400, generic("ThrottlingException"))), true},
		{"DynamoDB throughput", sdkError(400, &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("m")}), true},
		{"DynamoDB request limit", sdkError(400, &ddbtypes.RequestLimitExceeded{Message: aws.String("m")}), true},
		{"TooManyRequests", sdkError(429, generic("TooManyRequestsException")), true},
		{"bare 429", sdkError(429, errors.New("no code")), true},
		{"EventBridge entry throttled", fmt.Errorf("step event: %w", codedErr("ThrottlingException")), true},
		{"EventBridge entry internal failure", codedErr("InternalFailure"), false},
		{"5xx is transient, not a quota", sdkError(500, generic("InternalServerError")), false},
		{"access denied", sdkError(403, generic("AccessDeniedException")), false},
		{"timeout", context.DeadlineExceeded, false},
		{"conditional check", sdkError(400, &ddbtypes.ConditionalCheckFailedException{Message: aws.String("m")}), false},
		{"SES rejected", sdkError(400, &sestypes.MessageRejected{Message: aws.String("m")}), false},
		// DynamoDB throttling a transaction cancels it, ThrottlingError
		// among the reasons.
		{"transaction canceled: an item throttled", sdkError(400, canceled("None", "ThrottlingError")), true},
		{"transaction canceled: throughput exceeded", sdkError(400, canceled("ProvisionedThroughputExceeded", "None")), true},
		{"transaction canceled: request limit", sdkError(400, canceled("RequestLimitExceeded")), true},
		{"transaction canceled: throttled and in another transaction", sdkError(400, canceled("TransactionConflict", "ThrottlingError")), true},
		{"transaction canceled: throttled, but a condition failed", sdkError(400, canceled("ThrottlingError", "ConditionalCheckFailed")), false},
		{"transaction canceled: throttled, but invalid", sdkError(400, canceled("ValidationError", "ThrottlingError")), false},
		{"transaction canceled: in another transaction only", sdkError(400, canceled("None", "TransactionConflict")), false},
		{"transaction canceled: no reasons", sdkError(400, canceled()), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := awserr.IsThrottle(tc.err); got != tc.want {
				t.Errorf("IsThrottle(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
