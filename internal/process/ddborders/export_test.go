package ddborders

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

// Item returns the item the store writes for o (without its version).
func Item(o orders.Order) map[string]types.AttributeValue { return encode(o) }

// PutOrder stores o as it is, at version 1: a state the tests build with
// the orders package (one that absorbed thousands of refunds) without
// sending each event through the table.
func (s *Store) PutOrder(ctx context.Context, o orders.Order) error {
	item := encode(o)
	item[attrVersion] = num(1)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	return err
}
