package warm_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// recorder is an SDK HTTP client that passes requests to moto and keeps
// the last response, to be replayed by a canned client.
type recorder struct {
	mu     sync.Mutex
	next   aws.HTTPClient
	status int
	header http.Header
	body   []byte
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.status, r.header, r.body = resp.StatusCode, resp.Header.Clone(), b
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// canned answers every request with the recorded response, without a
// network: what is left is the SDK's own work on both sides of the call
// (validation, serialisation, endpoint resolution, SigV4, the middleware
// stack, checksums, deserialisation).
type canned struct{ r *recorder }

func (c canned) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode: c.r.status, Header: c.r.header.Clone(), Request: req,
		Body: io.NopCloser(bytes.NewReader(c.r.body)), ContentLength: int64(len(c.r.body)),
	}, nil
}

// The calls of ingest's hot path, as ddbevents and sqsqueue make them: a
// conditional PutItem of a ~270-byte record, a SendMessage of a 2 KB body
// with three attributes.
func putItem() *dynamodb.PutItemInput {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	return &dynamodb.PutItemInput{
		TableName: aws.String("sdk-bench-events"),
		Item: map[string]types.AttributeValue{
			"event_id": s("evt_01JD2Q7Y1W4X9ZK3M5N7P8R0ST"), "status": s("RECEIVED"), "type": s("payment.succeeded"),
			"attempt_token": s("0f1e2d3c4b5a69788796a5b4c3d2e1f0"), "lease_until": n("1764770000000"),
			"payload_sha256": s("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
			"received_at":    n("1764769970000"), "expires_at": n("1767361970"), "created": n("1764769969"),
		},
		ConditionExpression:                 aws.String("attribute_not_exists(event_id) OR expires_at < :now"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": n("1764769970")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}

func sendMessage(url string) *sqs.SendMessageInput {
	str := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return &sqs.SendMessageInput{
		QueueUrl:    aws.String(url),
		MessageBody: aws.String(string(bytes.Repeat([]byte(`{"id":"evt_1","type":"payment.succeeded"},`), 48))),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"event_id": str("evt_01JD2Q7Y1W4X9ZK3M5N7P8R0ST"), "type": str("payment.succeeded"),
			"received_at": {DataType: aws.String("Number"), StringValue: aws.String("1764769970000")},
		},
	}
}

// BenchmarkSDK measures one call of each of ingest's two AWS operations
// through the real SDK clients with a canned answer, with the client
// options that could be cut and without them.
func BenchmarkSDK(b *testing.B) {
	ctx := context.Background()
	cfg := motoserver.TestConfig(b)
	db := dynamodb.NewFromConfig(cfg)
	if _, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("sdk-bench-events"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("event_id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("event_id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		b.Fatal(err)
	}
	q, err := sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("sdk-bench")})
	if err != nil {
		b.Fatal(err)
	}
	// Record one real answer of each.
	ddbRec := &recorder{next: cfg.HTTPClient}
	if _, err := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = ddbRec }).PutItem(ctx, putItem()); err != nil {
		b.Fatal(err)
	}
	sqsRec := &recorder{next: cfg.HTTPClient}
	if _, err := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.HTTPClient = sqsRec }).SendMessage(ctx, sendMessage(*q.QueueUrl)); err != nil {
		b.Fatal(err)
	}

	ddbVariants := []struct {
		name string
		opt  func(*dynamodb.Options)
	}{
		{"default", func(*dynamodb.Options) {}},
		{"no_crc32_check", func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }},
		{"no_retryer", func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} }},
	}
	for _, v := range ddbVariants {
		client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = canned{ddbRec} }, v.opt)
		in := putItem()
		b.Run("PutItem/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := client.PutItem(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	sqsVariants := []struct {
		name string
		opt  func(*sqs.Options)
	}{
		{"default", func(*sqs.Options) {}},
		{"no_md5_check", func(o *sqs.Options) { o.DisableMessageChecksumValidation = true }},
		{"no_retryer", func(o *sqs.Options) { o.Retryer = aws.NopRetryer{} }},
	}
	for _, v := range sqsVariants {
		client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.HTTPClient = canned{sqsRec} }, v.opt)
		in := sendMessage(*q.QueueUrl)
		b.Run("SendMessage/"+v.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := client.SendMessage(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
