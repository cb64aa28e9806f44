package ddbevents_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// Ingest reserves an event; a second delivery while the first one's lease
// is live gets a ConflictError carrying the existing record.
func ExampleTable_Reserve() {
	ctx := context.Background()
	cfg, err := motoserver.AWSConfig(ctx, motoserver.Endpoint())
	if err != nil {
		fmt.Println(err)
		return
	}
	client := dynamodb.NewFromConfig(cfg)
	const name = "example-events"
	if err := ddbevents.CreateTable(ctx, client, name); err != nil {
		fmt.Println(err)
		return
	}
	defer client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	table := ddbevents.New(client, name)

	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	rec := eventrecord.Record{
		EventID: "evt_1", Status: eventrecord.Received, Type: "payment.succeeded",
		PayloadHash: "9f3c", Token: "attempt-1", LeaseUntil: now.Add(30 * time.Second),
		ExpiresAt: now.Add(30 * 24 * time.Hour), ReceivedAt: now, UpdatedAt: now,
	}
	fmt.Println("first:", table.Reserve(ctx, rec, now))

	rec.Token = "attempt-2"
	var conflict *eventrecord.ConflictError
	if err := table.Reserve(ctx, rec, now.Add(time.Second)); errors.As(err, &conflict) {
		fmt.Println("second:", conflict.Existing.Status, conflict.Existing.Token)
	}
	// Output:
	// first: <nil>
	// second: RECEIVED attempt-1
}
