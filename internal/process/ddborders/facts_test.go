package ddborders_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

func anomalyKinds(as []orders.Anomaly) []orders.AnomalyKind {
	var out []orders.AnomalyKind
	for _, a := range as {
		out = append(out, a.Kind)
	}
	return out
}

// TestRefundAnnouncedThreeWays: three events announce refund re_1: the
// earliest-created says 1,000, a later one 4,999, an even earlier one
// 1,000 again. Whatever the arrival order, the earliest counts, the
// contradiction is kept once, the refund is recorded by the event that
// applied it first, and every contradicting event reports refund_conflict.
func TestRefundAnnouncedThreeWays(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	announce := map[string]orders.Refund{
		"r_first": refund("r_first", "re_1", 20, 1000),
		"r_big":   refund("r_big", "re_1", 25, 4999),
		"r_early": refund("r_early", "re_1", 15, 1000),
	}
	// Which arrivals contradict the refund as recorded when they arrive.
	for i, arrival := range [][]string{
		{"r_first", "r_big", "r_early"},
		{"r_big", "r_first", "r_early"},
		{"r_big", "r_early", "r_first"},
		{"r_first", "r_early", "r_big"},
	} {
		t.Run(fmt.Sprint(arrival), func(t *testing.T) {
			orderID := fmt.Sprintf("ord_three_%d", i)
			applyAll(t, s, orderID, []fact{pay(success("e1", "1", 10))})
			var conflicts []string
			for _, evt := range arrival {
				a, rec, err := s.ApplyRefund(ctx, orderID, announce[evt], t0)
				if err != nil {
					t.Fatal(err)
				}
				if rec.EventID != arrival[0] {
					t.Errorf("%s: recorded by %s, want %s (the first to apply it)", evt, rec.EventID, arrival[0])
				}
				if slices.Contains(anomalyKinds(a.NewAnomalies), orders.RefundConflict) {
					conflicts = append(conflicts, evt)
				}
			}
			o, err := s.Get(ctx, orderID)
			if err != nil {
				t.Fatal(err)
			}
			if o.RefundedTotal != 1000 || o.RefundCount != 1 || o.RefundConflicts != 1 || o.Status != orders.PartiallyRefunded ||
				!slices.Equal(anomalyKinds(o.Anomalies), []orders.AnomalyKind{orders.RefundConflict}) {
				t.Errorf("order %s refunded %d, %d refunds, %d conflicts, anomalies %v", o.Status, o.RefundedTotal, o.RefundCount, o.RefundConflicts, o.Anomalies)
			}
			// Every event whose amount differs from the one recorded when
			// it arrived reports the conflict: r_big, and the 1,000s that
			// met r_big's amount.
			var want []string
			recorded := int64(0)
			for _, evt := range arrival {
				switch r := announce[evt]; {
				case recorded == 0:
					recorded = r.Amount
				case r.Amount != recorded:
					want = append(want, evt)
					if r.EventCreated.Before(announce["r_big"].EventCreated) {
						recorded = r.Amount // an earlier one takes it over
					}
				}
			}
			if !slices.Equal(conflicts, want) {
				t.Errorf("conflict reported by %v, want %v", conflicts, want)
			}
			rec, err := s.GetRefund(ctx, orderID, "re_1")
			if err != nil || rec.Amount != 1000 || rec.EventID != arrival[0] {
				t.Errorf("GetRefund: %+v %v", rec, err)
			}
		})
	}
}

// TestFactAppliedByTheSameEvent: an attempt whose write landed but whose
// answer was lost is followed by another attempt of the same event, which
// finds its fact applied. It changes nothing and reports the anomalies the
// fact brought, so that they are noted and counted once.
func TestFactAppliedByTheSameEvent(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		setup []fact
		event fact
		want  []orders.AnomalyKind
	}{
		{"the first payment", nil, pay(success("e1", "1", 10)), nil},
		{"a second payment", []fact{pay(success("e1", "1", 10))}, pay(success("e2", "2", 20)), []orders.AnomalyKind{orders.DoubleCharge}},
		{"a plain refund", []fact{pay(success("e1", "1", 10))}, ref(refund("r1", "re_1", 20, 100)), nil},
		{"an over-refund", []fact{pay(success("e1", "1", 10))}, ref(refund("r1", "re_1", 20, 9999)), []orders.AnomalyKind{orders.OverRefund}},
		{"a refund of another payment", []fact{pay(success("e1", "1", 10))}, ref(ofPayment(refund("r1", "re_1", 20, 100), "x")),
			[]orders.AnomalyKind{orders.ForeignRefund}},
		{"an earlier announcement that took a refund over", []fact{pay(success("e1", "1", 10)), ref(refund("r2", "re_1", 30, 200))},
			ref(refund("r1", "re_1", 20, 100)), []orders.AnomalyKind{orders.RefundConflict}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_same_%d", i)
			applyAll(t, s, orderID, tc.setup)
			first, err := apply(ctx, s, orderID, tc.event)
			if err != nil || !first.Changed || !slices.Equal(anomalyKinds(first.NewAnomalies), tc.want) {
				t.Fatalf("first attempt: changed %v, anomalies %v (%v); want changed, %v", first.Changed, first.NewAnomalies, err, tc.want)
			}
			again, err := apply(ctx, s, orderID, tc.event)
			if err != nil || again.Changed || !slices.Equal(anomalyKinds(again.NewAnomalies), tc.want) {
				t.Errorf("the same event again: changed %v, anomalies %v (%v); want unchanged, %v", again.Changed, again.NewAnomalies, err, tc.want)
			}
		})
	}
}

func apply(ctx context.Context, s *ddborders.Store, orderID string, f fact) (orders.Applied, error) {
	if f.Payment != nil {
		return s.ApplyPayment(ctx, orderID, *f.Payment, t0)
	}
	a, _, err := s.ApplyRefund(ctx, orderID, *f.Refund, t0)
	return a, err
}

// previousItem is the order item the previous version of the store (before
// the refunds table) wrote: payment pay_1 of 4,999 USD (event e1, at 10)
// unless refundFirst, and refunds re_0… of 100 each (events r0…, at 20…)
// in a map.
func previousItem(orderID string, refunds int, refundFirst bool) map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	m := map[string]types.AttributeValue{}
	for i := range refunds {
		m[fmt.Sprintf("re_%d", i)] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"amount": n(100), "event_id": s(fmt.Sprintf("r%d", i)), "event_created_ms": n(at(20 + i).UnixMilli()),
		}}
	}
	item := map[string]types.AttributeValue{
		"order_id": s(orderID), "status": s("PARTIALLY_REFUNDED"), "amount": n(4999), "currency": s("usd"),
		"payment_id": s("pay_1"), "payment_event_id": s("e1"), "customer_email": s("jane.doe@example.com"), "customer_name": s("Jane Doe"),
		"paid_at_ms": n(at(10).UnixMilli()), "refunds": &types.AttributeValueMemberM{Value: m},
		"refunded_total": n(int64(100 * refunds)), "remaining": n(4999 - int64(100*refunds)),
		"last_event_id": s("e1"), "last_event_created_ms": n(at(10).UnixMilli()),
		"created_at_ms": n(at(10).UnixMilli()), "updated_at_ms": n(at(60).UnixMilli()),
		"event_ids": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("e1")}}, "version": n(int64(1 + refunds)),
	}
	if refunds == 0 {
		item["status"] = s("PAID")
	}
	if refundFirst {
		delete(item, "paid_at_ms")
		delete(item, "remaining")
		item["status"], item["amount"], item["payment_id"], item["payment_event_id"] = s("REFUND_RECEIVED"), n(0), s(""), s("")
	}
	return item
}

// TestOrderOfThePreviousVersion: an order item the previous version wrote
// is read as the same facts, and upgraded by the first event that writes
// it: the previous version's attributes removed, one refund item per
// refund it held (more than one transaction holds, for one of them), so
// that its refund ids are applied once.
func TestOrderOfThePreviousVersion(t *testing.T) {
	client, table, _ := newTable(t, "")
	s := ddborders.New(client, table)
	ctx := context.Background()
	tests := []struct {
		name        string
		refunds     int
		refundFirst bool
		event       fact
		wantChanged bool
		wantStatus  orders.Status
		wantTotal   int64
	}{
		{"paid, the payment again", 0, false, pay(success("e9", "1", 30)), false, orders.Paid, 0},
		{"paid, a second payment", 0, false, pay(success("e9", "2", 30)), true, orders.Paid, 0},
		{"paid, a stale failure", 2, false, pay(failure("f9", 5)), false, orders.PartiallyRefunded, 200},
		{"refunded, a refund id it holds", 2, false, ref(refund("r9", "re_1", 90, 100)), false, orders.PartiallyRefunded, 200},
		{"refunded, a new refund", 2, false, ref(refund("r9", "re_9", 90, 100)), true, orders.PartiallyRefunded, 300},
		{"more refunds than a transaction holds, one of them again", 30, false, ref(refund("r9", "re_29", 90, 100)), false, orders.PartiallyRefunded, 3000},
		{"more refunds than a transaction holds, a new one", 30, false, ref(refund("r9", "re_99", 90, 100)), true, orders.PartiallyRefunded, 3100},
		{"a refund before its payment, the payment", 1, true, pay(success("e9", "1", 30)), true, orders.PartiallyRefunded, 100},
		{"a refund before its payment, a failure", 1, true, pay(failure("f9", 30)), false, orders.RefundReceived, 100},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orderID := fmt.Sprintf("ord_previous_%d", i)
			if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: previousItem(orderID, tc.refunds, tc.refundFirst)}); err != nil {
				t.Fatal(err)
			}
			before, err := s.Get(ctx, orderID)
			if err != nil || before.RefundCount != tc.refunds || before.HasSuccess() == tc.refundFirst {
				t.Fatalf("read as %+v (%v)", before, err)
			}
			a, err := apply(ctx, s, orderID, tc.event)
			if err != nil || a.Changed != tc.wantChanged {
				t.Fatalf("changed %v (%v), want %v", a.Changed, err, tc.wantChanged)
			}
			o, err := s.Get(ctx, orderID)
			if err != nil || o.Status != tc.wantStatus || o.RefundedTotal != tc.wantTotal || o.Anomalies != nil && tc.event.Payment == nil {
				t.Fatalf("order %s, refunded %d, anomalies %v (%v); want %s, %d", o.Status, o.RefundedTotal, o.Anomalies, err, tc.wantStatus, tc.wantTotal)
			}
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
				"order_id": &types.AttributeValueMemberS{Value: orderID}}, ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			_, oldMap := out.Item["refunds"]
			_, remaining := out.Item["remaining"]
			if oldMap || remaining || out.Item["payments"] == nil {
				t.Errorf("the item is not upgraded: %v", out.Item)
			}
			for j := range tc.refunds {
				if r, err := s.GetRefund(ctx, orderID, fmt.Sprintf("re_%d", j)); err != nil || r.Amount != 100 || r.EventID != fmt.Sprintf("r%d", j) {
					t.Errorf("refund re_%d: %+v (%v)", j, r, err)
				}
			}
			// Once upgraded, the same event again changes nothing.
			if again, err := apply(ctx, s, orderID, tc.event); err != nil || again.Changed {
				t.Errorf("the event again: changed %v (%v)", again.Changed, err)
			}
		})
	}
}
