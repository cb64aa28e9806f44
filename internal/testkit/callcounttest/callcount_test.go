package callcounttest_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/testkit/callcounttest"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// counted returns a copy of cfg whose clients report to a new Counter.
func counted(cfg aws.Config) (aws.Config, *callcounttest.Counter) {
	c := &callcounttest.Counter{}
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, c.Register)
	return cfg, c
}

// TestCounter checks the middleware itself against the real SDK: calls
// are counted once each, failed ones included, with their table and the
// size of a put item; clients built without it are not counted.
func TestCounter(t *testing.T) {
	ctx := context.Background()
	cfg := motoserver.TestConfig(t)
	plain := dynamodb.NewFromConfig(cfg)
	table := motoserver.UniqueName(t, "events")
	if err := ddbevents.CreateTable(ctx, plain, table); err != nil {
		t.Fatal(err)
	}
	ccfg, counter := counted(cfg)
	ddb := dynamodb.NewFromConfig(ccfg)

	item := map[string]types.AttributeValue{"event_id": &types.AttributeValueMemberS{Value: "evt_1"}}
	put := &dynamodb.PutItemInput{TableName: aws.String(table), Item: item, ConditionExpression: aws.String("attribute_not_exists(event_id)")}
	if _, err := ddb.PutItem(ctx, put); err != nil {
		t.Fatal(err)
	}
	_, err := ddb.PutItem(ctx, put)
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second put: %v, want a failed condition", err)
	}
	if _, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: item}); err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name      string
		got, want int
	}{
		{"PutItem", counter.Count("DynamoDB", "PutItem"), 2},
		{"PutItem on the table", counter.CountOn("DynamoDB", "PutItem", table), 2},
		{"PutItem on another table", counter.CountOn("DynamoDB", "PutItem", "other"), 0},
		{"GetItem (the uncounted client's call left out)", counter.Count("DynamoDB", "GetItem"), 1},
		{"total", counter.Total(), 3},
		{"item bytes of the first put", counter.Calls()[0].ItemBytes, len("event_id") + len("evt_1")},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d (calls %v)", c.name, c.got, c.want, counter.Summary())
		}
	}
	counter.Reset()
	if n := counter.Total(); n != 0 {
		t.Errorf("after Reset: %d calls", n)
	}
}
