package orders_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders/orderstest"
)

// The facts of the rules' table, shared with ddborders' tests.
var (
	at         = orderstest.At
	success    = orderstest.Success
	failure    = orderstest.Failure
	refund     = orderstest.Refund
	ofPayment  = orderstest.OfPayment
	withAmount = orderstest.WithAmount
	pay        = orderstest.Pay
	ref        = orderstest.Ref
	kinds      = orderstest.Kinds
)

func inCurrency[T orders.Payment | orders.Refund](f T, c string) T {
	return orderstest.InCurrency(f, c)
}

type fact = orderstest.Fact

// ledger is an order and the refunds applied to it: the store's part of
// the rules (a refund id is applied once; an earlier-created announcement
// that contradicts it takes it over; a contradiction is flagged once).
type ledger struct {
	o       orders.Order
	refunds map[string]held
}

// held is a refund as the store keeps it.
type held struct {
	r               orders.Refund
	summed, flagged bool
}

func (l *ledger) apply(f fact) bool {
	var changed bool
	if f.Payment != nil {
		l.o, changed = l.o.ApplyPayment(*f.Payment)
		return changed
	}
	if h, ok := l.refunds[f.Refund.RefundID]; ok {
		n, outcome := l.o.ResolveRefund(h.r, h.summed, h.flagged, *f.Refund)
		switch {
		case outcome == orders.RefundTakenOver:
			l.refunds[f.Refund.RefundID] = held{r: *f.Refund, summed: l.o.WithoutRefund(h.r, h.summed).SumsRefund(*f.Refund), flagged: true}
		case outcome == orders.RefundContradicted && !h.flagged:
			h.flagged = true
			l.refunds[f.Refund.RefundID] = h
		case outcome == orders.RefundAnnouncedEarlier:
			h.r = *f.Refund
			l.refunds[f.Refund.RefundID] = h
			return false
		default:
			return false
		}
		l.o = n
		return true
	}
	summed := l.o.SumsRefund(*f.Refund)
	if l.o, changed = l.o.ApplyRefund(*f.Refund); changed {
		l.refunds[f.Refund.RefundID] = held{r: *f.Refund, summed: summed}
	}
	return changed
}

// applyAll applies facts in order and returns the order and each step's
// changed flag.
func applyAll(facts []fact) (orders.Order, []bool) {
	l := ledger{o: orders.Order{ID: "ord_1"}, refunds: map[string]held{}}
	changed := make([]bool, len(facts))
	for i, f := range facts {
		changed[i] = l.apply(f)
	}
	return l.o, changed
}

// factDiff describes how the facts of two orders differ (everything but
// which announcement of a fact was recorded), or "".
func factDiff(want, got orders.Order) string {
	var d string
	check := func(name string, w, g any) {
		if fmt.Sprint(w) != fmt.Sprint(g) {
			d += fmt.Sprintf("\n  %s: want %v, got %v", name, w, g)
		}
	}
	check("Status", want.Status, got.Status)
	check("Amount", want.Amount, got.Amount)
	check("Currency", want.Currency, got.Currency)
	check("PaymentID", want.PaymentID, got.PaymentID)
	check("CustomerEmail", want.CustomerEmail, got.CustomerEmail)
	check("CustomerName", want.CustomerName, got.CustomerName)
	check("HasSuccess", want.HasSuccess(), got.HasSuccess())
	check("FailureCode", want.FailureCode, got.FailureCode)
	check("FailureMessage", want.FailureMessage, got.FailureMessage)
	check("FailedAt", want.FailedAt.UTC(), got.FailedAt.UTC())
	pays := func(o orders.Order) []string {
		var out []string
		for _, p := range o.Payments {
			out = append(out, fmt.Sprintf("%s:%d%s", p.PaymentID, p.Amount, p.Currency))
		}
		return out
	}
	check("Payments", pays(want), pays(got))
	check("ExtraPayments", want.ExtraPayments, got.ExtraPayments)
	check("PaidTotal", want.PaidTotal, got.PaidTotal)
	check("RefundTotals", want.RefundTotals, got.RefundTotals)
	check("RefundCount", want.RefundCount, got.RefundCount)
	check("RefundedTotal", want.RefundedTotal, got.RefundedTotal)
	check("RefundConflicts", want.RefundConflicts, got.RefundConflicts)
	check("ConflictingRefunds", want.ConflictingRefunds, got.ConflictingRefunds)
	check("Anomalies", want.Anomalies, got.Anomalies)
	return d
}

// diff is factDiff plus the recorded announcements.
func diff(want, got orders.Order) string {
	d := factDiff(want, got)
	check := func(name string, w, g any) {
		if fmt.Sprint(w) != fmt.Sprint(g) {
			d += fmt.Sprintf("\n  %s: want %v, got %v", name, w, g)
		}
	}
	check("PaymentEventID", want.PaymentEventID, got.PaymentEventID)
	check("PaidAt", want.PaidAt.UTC(), got.PaidAt.UTC())
	check("LastEventID", want.LastEventID, got.LastEventID)
	check("LastEventCreated", want.LastEventCreated.UTC(), got.LastEventCreated.UTC())
	return d
}

// TestRules runs the rules' table (orderstest.Rules, which ddborders'
// tests run against DynamoDB too) through the orders package alone.
func TestRules(t *testing.T) {
	for _, tc := range orderstest.Rules() {
		t.Run(tc.Name, func(t *testing.T) {
			got, changed := applyAll(tc.Facts)
			if !slices.Equal(changed, tc.WantChanged) {
				t.Errorf("changed: want %v, got %v", tc.WantChanged, changed)
			}
			if got.Status != orders.Derive(got) {
				t.Errorf("status %q, derived %q", got.Status, orders.Derive(got))
			}
			if tc.WantStatus != "" && got.Status != tc.WantStatus {
				t.Errorf("status %s, want %s", got.Status, tc.WantStatus)
			}
			if tc.Check != nil {
				tc.Check(t, got)
			}
		})
	}
}

func TestApplyDoesNotMutate(t *testing.T) {
	o, _ := applyAll([]fact{pay(success("e1", "1", 10)), ref(refund("r1", "re_1", 20, 1000))})
	totals, payments := slices.Clone(o.RefundTotals), slices.Clone(o.Payments)
	n, changed := o.ApplyRefund(refund("r2", "re_2", 30, 500))
	if !changed || n.RefundedTotal != 1500 {
		t.Fatalf("ApplyRefund: want changed with total 1500, got %v %d", changed, n.RefundedTotal)
	}
	n, _ = n.ApplyPayment(success("e2", "2", 40))
	if fmt.Sprint(totals) != fmt.Sprint(o.RefundTotals) || fmt.Sprint(payments) != fmt.Sprint(o.Payments) || o.RefundedTotal != 1000 {
		t.Errorf("the original order changed: %+v", o)
	}
	if len(n.Payments) != 2 {
		t.Errorf("payments %v", n.Payments)
	}
}

// TestBoundedWhateverTheRefunds applies more refunds than the old order
// item could hold (one map entry per refund id reached DynamoDB's 400 KB at
// about 4,000) and checks that what the order keeps does not grow.
func TestBoundedWhateverTheRefunds(t *testing.T) {
	l := ledger{o: orders.Order{ID: "ord_1"}, refunds: map[string]held{}}
	l.apply(pay(success("e1", "1", 10)))
	const n = 5000
	for i := range n {
		r := refund(fmt.Sprintf("r%d", i), fmt.Sprintf("re_%d", i), 20+i, 1)
		if i%2 == 1 {
			r.PaymentID = fmt.Sprintf("pay_other%d", i) // every odd one a foreign payment
		}
		if !l.apply(ref(r)) {
			t.Fatalf("refund %d not applied", i)
		}
	}
	o := l.o
	if o.RefundCount != n || o.RefundedTotal != n/2 || len(o.RefundTotals) != orders.MaxRefundTotals {
		t.Errorf("count %d, refunded %d, %d sums", o.RefundCount, o.RefundedTotal, len(o.RefundTotals))
	}
	counted := o.UnsummedRefunds
	for _, rt := range o.RefundTotals {
		counted += rt.Count
	}
	if counted != n {
		t.Errorf("the sums and the rest count %d refunds, want %d", counted, n)
	}
	if _, ok := o.Anomaly(orders.ForeignRefund); !ok {
		t.Error("foreign refunds not flagged")
	}
	for i := range 3 * orders.MaxPayments {
		l.apply(pay(success(fmt.Sprintf("p%d", i), fmt.Sprint("x", i), 100+i)))
	}
	if len(l.o.Payments) != orders.MaxPayments || l.o.ExtraPayments != 2*orders.MaxPayments+1 {
		t.Errorf("%d payments kept, %d extra", len(l.o.Payments), l.o.ExtraPayments)
	}
}

func TestNewAnomalies(t *testing.T) {
	before, _ := applyAll([]fact{pay(success("e1", "1", 10)), ref(inCurrency(refund("r1", "re_1", 20, 1), "eur"))})
	after, _ := before.ApplyRefund(refund("r2", "re_2", 30, 999999))
	got := orders.NewAnomalies(before, after)
	if len(got) != 1 || got[0].Kind != orders.OverRefund {
		t.Errorf("new anomalies %v", got)
	}
	if got := orders.NewAnomalies(after, after); got != nil {
		t.Errorf("no new anomaly expected, got %v", got)
	}
}

// TestNewAnomaliesPerFact: an event that adds a fact to an anomaly the
// order holds already brings it again (the alarm counts events); one that
// adds none does not.
func TestNewAnomaliesPerFact(t *testing.T) {
	base := []fact{pay(success("e1", "1", 10))}
	tests := []struct {
		name   string
		before []fact
		event  fact
		want   []orders.AnomalyKind
	}{
		{"a second payment", base, pay(success("e2", "2", 20)), []orders.AnomalyKind{orders.DoubleCharge}},
		{"a third payment", append(slices.Clone(base), pay(success("e2", "2", 20))), pay(success("e3", "3", 30)), []orders.AnomalyKind{orders.DoubleCharge}},
		{"the second payment announced again", append(slices.Clone(base), pay(success("e2", "2", 20))), pay(success("e9", "2", 40)), nil},
		{"a refund of another payment", base, ref(ofPayment(refund("r1", "re_1", 20, 100), "x")), []orders.AnomalyKind{orders.ForeignRefund}},
		{"a refund of a third payment", append(slices.Clone(base), ref(ofPayment(refund("r1", "re_1", 20, 100), "x"))),
			ref(ofPayment(refund("r2", "re_2", 30, 200), "y")), []orders.AnomalyKind{orders.ForeignRefund}},
		{"a second refund in euros", append(slices.Clone(base), ref(inCurrency(refund("r1", "re_1", 20, 100), "eur"))),
			ref(inCurrency(refund("r2", "re_2", 30, 100), "eur")), []orders.AnomalyKind{orders.CurrencyMismatch}},
		{"a refund further beyond what was paid", append(slices.Clone(base), ref(refund("r1", "re_1", 20, 5000))),
			ref(refund("r2", "re_2", 30, 1)), []orders.AnomalyKind{orders.OverRefund}},
		{"the payment of an over-refund", []fact{ref(refund("r1", "re_1", 20, 5000))}, pay(success("e1", "1", 10)), []orders.AnomalyKind{orders.OverRefund}},
		{"a plain refund on a double-charged order", append(slices.Clone(base), pay(success("e2", "2", 20))), ref(refund("r1", "re_1", 30, 100)), nil},
		{"one refund id, another amount", append(slices.Clone(base), ref(refund("r1", "re_1", 20, 100))),
			ref(refund("r2", "re_1", 30, 200)), []orders.AnomalyKind{orders.RefundConflict}},
		{"another refund id contradicted", append(slices.Clone(base), ref(refund("r1", "re_1", 20, 100)), ref(refund("r2", "re_1", 30, 200)),
			ref(refund("r3", "re_2", 40, 100))), ref(refund("r4", "re_2", 35, 300)), []orders.AnomalyKind{orders.RefundConflict}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ledger{o: orders.Order{ID: "ord_1"}, refunds: map[string]held{}}
			for _, f := range tc.before {
				l.apply(f)
			}
			before := l.o
			l.apply(tc.event)
			var got []orders.AnomalyKind
			for _, a := range orders.NewAnomalies(before, l.o) {
				got = append(got, a.Kind)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("brought %v, want %v (order holds %v)", got, tc.want, kinds(l.o))
			}
		})
	}
}

// TestResolveRefund: of the announcements of one refund id, the
// earliest-created counts, whatever the arrival order; a contradiction is
// kept once per refund id; the same refund announced again changes nothing.
func TestResolveRefund(t *testing.T) {
	paid, _ := orders.Order{ID: "ord_1"}.ApplyPayment(success("e1", "1", 10))
	small, big := refund("r_small", "re_1", 20, 1000), refund("r_big", "re_1", 25, 4999)
	tests := []struct {
		name        string
		held, event orders.Refund
		flagged     bool
		want        orders.RefundOutcome
		refunded    int64
		conflicts   int
	}{
		{"the same refund again", small, refund("r_again", "re_1", 30, 1000), false, orders.RefundDuplicate, 1000, 0},
		{"the same refund, announced earlier", small, refund("r_early", "re_1", 5, 1000), false, orders.RefundAnnouncedEarlier, 1000, 0},
		{"another amount, later", small, big, false, orders.RefundContradicted, 1000, 1},
		{"another amount, earlier", big, small, false, orders.RefundTakenOver, 1000, 1},
		{"another amount, earlier, flagged already", big, small, true, orders.RefundTakenOver, 1000, 0},
		{"another amount, later, flagged already", small, big, true, orders.RefundContradicted, 1000, 0},
		{"another currency", small, inCurrency(refund("r_eur", "re_1", 30, 1000), "eur"), false, orders.RefundContradicted, 1000, 1},
		{"another payment", small, ofPayment(refund("r_p2", "re_1", 30, 1000), "2"), false, orders.RefundContradicted, 1000, 1},
		{"equal times: the smaller event id counts", refund("r_b", "re_1", 20, 4999), refund("r_a", "re_1", 20, 1000), false, orders.RefundTakenOver, 1000, 1},
		{"the previous version's refund, without payment", func() orders.Refund { r := small; r.PaymentID = ""; return r }(),
			refund("r_again", "re_1", 30, 1000), false, orders.RefundDuplicate, 1000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := paid.ApplyLegacyRefund(tc.held)
			if tc.flagged {
				o.RefundConflicts = 1
			}
			n, outcome := o.ResolveRefund(tc.held, true, tc.flagged, tc.event)
			if outcome != tc.want || n.RefundedTotal != tc.refunded || n.RefundCount != 1 || n.RefundConflicts-o.RefundConflicts != tc.conflicts {
				t.Errorf("outcome %v, refunded %d, count %d, conflicts %d; want %v, %d, 1, %d more",
					outcome, n.RefundedTotal, n.RefundCount, n.RefundConflicts, tc.want, tc.refunded, tc.conflicts)
			}
			_, held := n.Anomaly(orders.RefundConflict)
			if held != (n.RefundConflicts > 0) {
				t.Errorf("refund_conflict held %v with %d conflicts", held, n.RefundConflicts)
			}
		})
	}
}

// TestLegacyRefund: a refund the previous version recorded before its
// payment has no payment id; it counts against the payment that arrives.
func TestLegacyRefund(t *testing.T) {
	r := refund("r1", "re_1", 20, 1000)
	r.PaymentID = ""
	o := orders.Order{ID: "ord_1"}.ApplyLegacyRefund(r)
	if o.Status != orders.RefundReceived || o.RefundCount != 1 {
		t.Fatalf("%+v", o)
	}
	o, _ = o.ApplyPayment(success("e1", "1", 10))
	if o.Status != orders.PartiallyRefunded || o.RefundedTotal != 1000 || o.Anomalies != nil {
		t.Errorf("after the payment: %s, refunded %d, anomalies %v", o.Status, o.RefundedTotal, o.Anomalies)
	}
	if n, changed := o.ApplyRefund(r); changed || n.RefundCount != 1 {
		t.Errorf("ApplyRefund took a refund without payment id: %v", changed)
	}
}

func TestDerive(t *testing.T) {
	paid := []orders.PaymentRecord{{PaymentID: "p"}}
	tests := []struct {
		name string
		o    orders.Order
		want orders.Status
	}{
		{"nothing", orders.Order{}, ""},
		{"failure", orders.Order{FailedAt: at(1)}, orders.PaymentFailed},
		{"success", orders.Order{Payments: paid, PaidTotal: 100}, orders.Paid},
		{"zero-amount success", orders.Order{Payments: paid}, orders.Paid},
		{"partial", orders.Order{Payments: paid, PaidTotal: 100, RefundedTotal: 99, RefundCount: 1}, orders.PartiallyRefunded},
		{"full", orders.Order{Payments: paid, PaidTotal: 100, RefundedTotal: 100, RefundCount: 1}, orders.Refunded},
		{"refunds that do not count", orders.Order{Payments: paid, PaidTotal: 100, RefundCount: 1}, orders.Paid},
		{"refund only", orders.Order{RefundedTotal: 5, RefundCount: 1}, orders.RefundReceived},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := orders.Derive(tc.o); got != tc.want {
				t.Errorf("want %q, got %q", tc.want, got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"valid success", success("e1", "1", 1).Validate()},
		{"no event id", success("", "1", 1).Validate()},
		{"no created", func() error { p := success("e1", "1", 1); p.EventCreated = time.Time{}; return p.Validate() }()},
		{"no payment id", func() error { p := success("e1", "1", 1); p.PaymentID = ""; return p.Validate() }()},
		{"negative amount", withAmount(success("e1", "1", 1), -1).Validate()},
		{"no currency", inCurrency(failure("e1", 1), "").Validate()},
		{"valid refund", refund("r1", "re_1", 20, 1).Validate()},
		{"zero refund", refund("r1", "re_1", 20, 0).Validate()},
		{"no refund id", refund("r1", "", 20, 1).Validate()},
		{"refund without payment id", func() error { r := refund("r1", "re_1", 20, 1); r.PaymentID = ""; return r.Validate() }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr := !slices.Contains([]string{"valid success", "valid refund"}, tc.name)
			if (tc.err != nil) != wantErr || (tc.err != nil && !errors.Is(tc.err, orders.ErrInvalid)) {
				t.Errorf("want error %v, got %v", wantErr, tc.err)
			}
		})
	}
}

// scenario is one order's events, every kind of contradiction included:
// an early failure, the success announced twice, a second payment (a
// double charge), refunds of both payments, one refund announced twice,
// one in another currency, one of a foreign payment, one that over-refunds,
// one announced again with another amount, and two events created at the
// same second.
func scenario() []fact {
	return []fact{
		pay(failure("evt_fail", 5)),
		pay(success("evt_pay", "1", 10)),
		pay(success("evt_pay_again", "1", 10)),
		pay(success("evt_pay2", "2", 15)),
		ref(refund("evt_re1", "re_1", 20, 1000)),
		ref(refund("evt_re1_again", "re_1", 25, 1000)),
		ref(refund("evt_re1_other", "re_1", 26, 1200)),
		ref(inCurrency(refund("evt_re_eur", "re_eur", 30, 700), "eur")),
		ref(ofPayment(refund("evt_re_foreign", "re_f", 30, 300), "zz")),
		ref(ofPayment(refund("evt_re_big", "re_big", 40, 9000), "2")),
	}
}

// permutations calls f with every ordering of facts.
func permutations(facts []fact, f func([]fact)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(facts) {
			f(facts)
			return
		}
		for i := k; i < len(facts); i++ {
			facts[k], facts[i] = facts[i], facts[k]
			rec(k + 1)
			facts[k], facts[i] = facts[i], facts[k]
		}
	}
	rec(0)
}

func TestArrivalOrderIndependence(t *testing.T) {
	facts := scenario()
	want, _ := applyAll(facts)
	if want.Status != orders.Refunded || want.RefundedTotal != 10000 || want.PaidTotal != 9998 || want.PaymentID != "pay_1" || want.RefundConflicts != 1 ||
		!slices.Equal(kinds(want), orders.AnomalyKinds()) {
		t.Fatalf("in-order delivery: got %+v", want)
	}
	// 9! orders take seconds; a fixed sample of them, plus every order of
	// the first seven facts, keeps this fast.
	check := func(p []fact) {
		if got, _ := applyAll(p); factDiff(want, got) != "" {
			t.Fatalf("order %v:%s", p, factDiff(want, got))
		}
	}
	n := 0
	permutations(slices.Clone(facts[:7]), func(p []fact) { n++; check(append(slices.Clone(p), facts[7:]...)) })
	if n != 5040 {
		t.Fatalf("want 7! permutations, got %d", n)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 5000 {
		p := slices.Clone(facts)
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		check(p)
	}
}

// FuzzArrivalOrder applies a random set of facts about one order in two
// random orders, with random duplicates, and checks both end in the same
// facts; without duplicate announcements, in the same Order.
func FuzzArrivalOrder(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Add(uint64(42), uint64(7))
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		rng := rand.New(rand.NewPCG(seed1, 0))
		currencies := []string{"usd", "usd", "usd", "eur"}
		var facts []fact
		announcedTwice := false
		for i := range 1 + rng.IntN(9) {
			evt := fmt.Sprintf("e%d", i)
			sec := rng.IntN(5) // collisions in created time exercise the tie-breaks
			switch rng.IntN(4) {
			case 0:
				// Announcements of one payment carry the same payment.
				id := rng.IntN(3)
				p := inCurrency(success(evt, fmt.Sprint(id), sec), currencies[id])
				p.PaymentCreated, p.Amount = at(-id), int64(1000*(id+1))
				facts = append(facts, pay(p))
			case 1:
				facts = append(facts, pay(failure(evt, sec)))
			default:
				// Sometimes the refund id of an earlier fact: two events
				// announcing one refund, mostly with the same refund,
				// sometimes with another amount (a contradiction).
				id := rng.IntN(i + 1)
				amount := int64(100 * (id + 1))
				if rng.IntN(4) == 0 {
					amount++
				}
				r := ofPayment(refund(evt, fmt.Sprintf("re_%d", id), sec, amount), fmt.Sprint(id%4))
				r.Currency = currencies[id%len(currencies)]
				facts = append(facts, ref(r))
			}
		}
		seen := map[string]bool{}
		for _, f := range facts {
			key := fmt.Sprint(f)
			if f.Payment != nil && f.Payment.Succeeded {
				key = f.Payment.PaymentID
			} else if f.Refund != nil {
				key = f.Refund.RefundID
			}
			announcedTwice = announcedTwice || seen[key]
			seen[key] = true
		}
		for range rng.IntN(3) {
			facts = append(facts, facts[rng.IntN(len(facts))])
		}
		want, _ := applyAll(facts)
		shuffled := slices.Clone(facts)
		rand.New(rand.NewPCG(seed2, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got, _ := applyAll(shuffled)
		compare := diff
		if announcedTwice {
			compare = factDiff
		}
		if d := compare(want, got); d != "" {
			t.Errorf("%v vs %v:%s", facts, shuffled, d)
		}
		if got.Status != orders.Derive(got) {
			t.Errorf("status %q, derived %q", got.Status, orders.Derive(got))
		}
	})
}
