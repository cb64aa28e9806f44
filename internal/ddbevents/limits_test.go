package ddbevents

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/testkit/clocktest"
)

// dynamoSize is an item's size as DynamoDB documents it ("Item sizes and
// formats"), rounding every number up to its largest size, 21 bytes: the
// model the limits are checked against.
func dynamoSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name) + dynamoValueSize(v)
	}
	return n
}

func dynamoValueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return 21
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + dynamoValueSize(e)
		}
		return n
	}
	return ItemLimit // unknown types count as too big
}

func TestLimitsAddUp(t *testing.T) {
	if eventrecord.MaxBodyBytes+MetadataBytes != ItemLimit || MetadataBytes != 6784 {
		t.Fatalf("MaxBodyBytes %d + MetadataBytes %d = %d, want ItemLimit %d with 6,784 for the metadata",
			eventrecord.MaxBodyBytes, MetadataBytes, eventrecord.MaxBodyBytes+MetadataBytes, ItemLimit)
	}
}

// largest is a record with every attribute at its largest (the longest key
// a body record has, a 255-byte type, an error past MaxErrorBytes, the
// handlers' steps), holding a body of eventrecord.MaxBodyBytes.
func largest(t0 time.Time, status eventrecord.Status) eventrecord.Record {
	hash := strings.Repeat("a", 64)
	return eventrecord.Record{
		EventID: eventrecord.MismatchKey(hash, strings.Repeat("e", eventrecord.MaxIDBytes)), Status: status,
		Type: strings.Repeat("t", eventrecord.MaxIDBytes), Created: t0, Livemode: true, PayloadHash: hash,
		Token: strings.Repeat("k", 32), LeaseUntil: t0.Add(lease), ExpiresAt: t0.Add(ttl), ReceivedAt: t0, UpdatedAt: t0,
		Attempts: 99, Steps: []string{"order_updated", "email_sent", "domain_event_published"},
		Error: strings.Repeat("x", 5000), Body: bytes.Repeat([]byte{0xff}, eventrecord.MaxBodyBytes), DurationMS: 123456,
	}
}

// Every write that keeps a body stores the largest record against moto
// (which refuses items over 405,000 bytes), and the stored item stays
// under ItemLimit by DynamoDB's own count.
func TestLargestRecordsAreStored(t *testing.T) { clocktest.Run(t, baseT0, testLargestRecordsAreStored) }

func testLargestRecordsAreStored(t *testing.T, t0 time.Time) {
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(t *testing.T, tbl *Table, rec eventrecord.Record)
	}{
		{"REJECTED (PutTerminal)", func(t *testing.T, tbl *Table, rec eventrecord.Record) {
			rec.Status, rec.Token, rec.LeaseUntil = eventrecord.Rejected, "", time.Time{}
			if err := tbl.PutTerminal(ctx, rec, t0); err != nil {
				t.Fatalf("PutTerminal: %v", err)
			}
		}},
		{"IGNORED (PutTerminal)", func(t *testing.T, tbl *Table, rec eventrecord.Record) {
			rec.Status, rec.Token, rec.LeaseUntil = eventrecord.Ignored, "", time.Time{}
			if err := tbl.PutTerminal(ctx, rec, t0); err != nil {
				t.Fatalf("PutTerminal: %v", err)
			}
		}},
		{"FAILED (Claim, Finish)", func(t *testing.T, tbl *Table, rec eventrecord.Record) {
			claim := rec
			claim.Status, claim.Body, claim.Error, claim.Steps = eventrecord.Processing, nil, "", nil
			if _, err := tbl.Claim(ctx, claim, t0); err != nil {
				t.Fatalf("Claim: %v", err)
			}
			rec.Status = eventrecord.Failed
			if err := tbl.Finish(ctx, rec, t0.Add(time.Second)); err != nil {
				t.Fatalf("Finish: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tbl, client := newTable(t)
			rec := largest(t0, eventrecord.Failed)
			tc.write(t, tbl, rec)
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl.name), Key: key(rec.EventID), ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode(out.Item)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Body, rec.Body) || len(got.Error) > MaxErrorBytes {
				t.Errorf("stored body of %d bytes (want %d), error of %d bytes (want at most %d)", len(got.Body), len(rec.Body), len(got.Error), MaxErrorBytes)
			}
			if size := dynamoSize(out.Item); size > ItemLimit {
				t.Errorf("item of %d bytes, over ItemLimit %d", size, ItemLimit)
			}
			if meta := dynamoSize(out.Item) - len(got.Body); meta > MetadataBytes/2 {
				t.Errorf("metadata of %d bytes: the handlers' steps have less room than MetadataBytes promises", meta)
			}
		})
	}
}
