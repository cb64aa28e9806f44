package ddbevents

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// ScanFilter selects records for Scan. Zero fields select everything.
type ScanFilter struct {
	Statuses []eventrecord.Status // any of these; empty: every status
	Type     string               // this event type only
	Since    time.Time            // updated at or after this time
	// PageSize bounds the items DynamoDB reads per Scan call; 0: its
	// default (1 MB of items).
	PageSize int32
}

// Scan calls fn with every record that f selects, page after page, in the
// table's order (none in particular), until the table is exhausted or fn
// returns an error, which Scan returns. An operator's read: it reads the
// whole table (DynamoDB filters after reading), never on a hot path.
func (t *Table) Scan(ctx context.Context, f ScanFilter, fn func(eventrecord.Record) error) error {
	var conds []string
	vals := item{}
	if len(f.Statuses) > 0 {
		refs := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			refs[i] = fmt.Sprintf(":s%d", i)
			vals[refs[i]] = str(string(s))
		}
		conds = append(conds, "#status IN ("+strings.Join(refs, ", ")+")")
	}
	if f.Type != "" {
		conds = append(conds, "#type = :type")
		vals[":type"] = str(f.Type)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "#updated >= :since")
		vals[":since"] = num(f.Since.UnixMilli())
	}
	in := &dynamodb.ScanInput{TableName: t.nameRef()}
	if f.PageSize > 0 {
		in.Limit = aws.Int32(f.PageSize)
	}
	if len(conds) > 0 {
		filter := strings.Join(conds, " AND ")
		in.FilterExpression = aws.String(filter)
		in.ExpressionAttributeNames = exprNames(filter)
		in.ExpressionAttributeValues = vals
	}
	p := dynamodb.NewScanPaginator(t.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("scan events table %s: %w", t.name, err)
		}
		for _, it := range page.Items {
			r, err := decode(it)
			if err != nil {
				return fmt.Errorf("scan events table %s: %w", t.name, err)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}
