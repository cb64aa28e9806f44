package ddborders_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestOneRefundIDTwoAmountsWhateverTheArrivalOrder: two events name one
// refund id with different amounts (a provider bug, or a corrected
// announcement). A refund id adds once; which amount it adds must not
// depend on which event arrives first, or the same facts give two end
// states (DESIGN.md: "the end state the same whatever the arrival order").
// The store before the refunds table let the earlier-created event take a
// refund id over; the chaos test's oracle keeps the earlier-created one
// too.
func TestOneRefundIDTwoAmountsWhateverTheArrivalOrder(t *testing.T) {
	s, _ := newStore(t)
	facts := []fact{
		pay(success("e_pay", "1", 10)),
		ref(refund("e_re_small", "re_1", 20, 1000)),
		ref(refund("e_re_big", "re_1", 25, 4999)),
	}
	type end struct {
		Status                     string
		RefundedTotal, RefundCount int64
	}
	var ends []end
	for i, p := range [][]fact{facts, {facts[0], facts[2], facts[1]}} {
		orderID := fmt.Sprintf("ord_refund_conflict_%d", i)
		applyAll(t, s, orderID, p)
		o, err := s.Get(context.Background(), orderID)
		if err != nil {
			t.Fatal(err)
		}
		ends = append(ends, end{string(o.Status), o.RefundedTotal, int64(o.RefundCount)})
	}
	if !slices.Equal(ends[:1], ends[1:]) {
		t.Errorf("in created order: %+v; the later-created event first: %+v", ends[0], ends[1])
	}
}
