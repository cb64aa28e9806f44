package oracle_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest/oracle"
)

// TestImportsOnlyTheStandardLibrary keeps the oracle independent of the code
// under test: no package of this module, nor any other, only the standard
// library.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s: the oracle may use the standard library only", f, path)
			}
		}
	}
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func pay(evt, id string, sec int, amount int64, cur string) oracle.Fact {
	return oracle.Fact{EventID: evt, Kind: oracle.Succeeded, Created: at(sec), OrderID: "o", PaymentID: id, PaymentCreated: at(sec - 1), Amount: amount, Currency: cur}
}

func fail(evt string, sec int) oracle.Fact {
	return oracle.Fact{EventID: evt, Kind: oracle.Failed, Created: at(sec), OrderID: "o", PaymentID: "p_" + evt, Amount: 100, Currency: "usd"}
}

func ref(evt, id, payment string, sec int, amount int64, cur string) oracle.Fact {
	return oracle.Fact{EventID: evt, Kind: oracle.Refunded, Created: at(sec), OrderID: "o", PaymentID: payment, RefundID: id, Amount: amount, Currency: cur}
}

func TestExpect(t *testing.T) {
	tests := []struct {
		name      string
		facts     []oracle.Fact
		status    string
		paymentID string
		refunded  int64
		anomalies []string
		eff       oracle.Effects
	}{
		{"nothing", nil, "", "", 0, nil, oracle.Effects{}},
		{"paid", []oracle.Fact{pay("e1", "p1", 10, 100, "usd")}, "PAID", "p1", 0, nil, oracle.Effects{Paid: true}},
		{"announced twice", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"), pay("e2", "p1", 20, 100, "usd")}, "PAID", "p1", 0, nil, oracle.Effects{Paid: true}},
		{"double charge shows the earliest payment", []oracle.Fact{pay("e2", "p2", 20, 100, "usd"), pay("e1", "p1", 10, 100, "usd")},
			"PAID", "p1", 0, []string{"double_charge"}, oracle.Effects{Paid: true}},
		{"failures: the latest, ties by id", []oracle.Fact{fail("e1", 10), fail("e3", 20), fail("e2", 20)}, "PAYMENT_FAILED", "p_e3", 0, nil,
			oracle.Effects{FinalFailure: "e3", Failures: []string{"e1", "e2", "e3"}}},
		{"a stale failure", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"), fail("e2", 20)}, "PAID", "p1", 0, nil, oracle.Effects{Paid: true, Failures: []string{"e2"}}},
		{"refunds once per id", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"), ref("r1", "re1", "p1", 20, 30, "usd"), ref("r2", "re1", "p1", 30, 30, "usd")},
			"PARTIALLY_REFUNDED", "p1", 30, nil, oracle.Effects{Paid: true, Refunds: []string{"re1"}}},
		{"refund before payment only", []oracle.Fact{fail("e0", 5), ref("r1", "re1", "p1", 20, 30, "eur")}, "REFUND_RECEIVED", "", 30, nil,
			oracle.Effects{Refunds: []string{"re1"}, Failures: []string{"e0"}}},
		{"a refund in another currency", []oracle.Fact{ref("r1", "re1", "p1", 20, 30, "eur"), pay("e1", "p1", 10, 100, "usd")}, "PAID", "p1", 0,
			[]string{"currency_mismatch"}, oracle.Effects{Paid: true, Refunds: []string{"re1"}}},
		{"an over-refund", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"), ref("r1", "re1", "p1", 20, 999, "usd")}, "REFUNDED", "p1", 999,
			[]string{"over_refund"}, oracle.Effects{Paid: true, Refunds: []string{"re1"}}},
		{"a foreign refund", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"), ref("r1", "re1", "px", 20, 50, "usd")}, "PAID", "p1", 0,
			[]string{"foreign_refund"}, oracle.Effects{Paid: true, Refunds: []string{"re1"}}},
		{"one refund id, two amounts: the earliest-created counts", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"),
			ref("r2", "re1", "p1", 30, 100, "usd"), ref("r1", "re1", "p1", 20, 30, "usd"), ref("r3", "re1", "p1", 40, 30, "usd")},
			"PARTIALLY_REFUNDED", "p1", 30, []string{"refund_conflict"}, oracle.Effects{Paid: true, Refunds: []string{"re1"}}},
		{"one refund id, two amounts, created together: the smaller event id counts", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"),
			ref("rb", "re1", "p1", 20, 30, "usd"), ref("ra", "re1", "p1", 20, 100, "usd")},
			"REFUNDED", "p1", 100, []string{"refund_conflict"}, oracle.Effects{Paid: true, Refunds: []string{"re1"}}},
		{"one refund id, another payment", []oracle.Fact{pay("e1", "p1", 10, 100, "usd"),
			ref("r1", "re1", "p1", 20, 30, "usd"), ref("r2", "re1", "px", 30, 30, "usd")},
			"PARTIALLY_REFUNDED", "p1", 30, []string{"refund_conflict"}, oracle.Effects{Paid: true, Refunds: []string{"re1"}}},
		{"everything at once", []oracle.Fact{fail("e0", 5), pay("e1", "p1", 10, 100, "usd"), pay("e2", "p2", 15, 100, "eur"),
			ref("r1", "re1", "p1", 20, 150, "usd"), ref("r2", "re2", "px", 20, 10, "usd")}, "REFUNDED", "p1", 150,
			[]string{"double_charge", "currency_mismatch", "over_refund", "foreign_refund"},
			oracle.Effects{Paid: true, Refunds: []string{"re1", "re2"}, Failures: []string{"e0"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, eff := oracle.Expect(tc.facts)
			if o.Status != tc.status || o.PaymentID != tc.paymentID || o.RefundedTotal != tc.refunded || !slices.Equal(o.Anomalies, tc.anomalies) {
				t.Errorf("order %+v; want %s, payment %q, refunded %d, anomalies %v", o, tc.status, tc.paymentID, tc.refunded, tc.anomalies)
			}
			if eff.Paid != tc.eff.Paid || eff.FinalFailure != tc.eff.FinalFailure || !slices.Equal(eff.Refunds, tc.eff.Refunds) ||
				!slices.Equal(eff.Failures, tc.eff.Failures) {
				t.Errorf("effects %+v, want %+v", eff, tc.eff)
			}
		})
	}
}

func TestVouchesFor(t *testing.T) {
	o, _ := oracle.Expect([]oracle.Fact{pay("e1", "p1", 10, 100, "usd"), ref("r1", "re1", "p1", 20, 30, "usd")})
	if !oracle.VouchesFor(o, []string{"p1"}, "p1", "USD") {
		t.Error("a plain refund is vouched for")
	}
	for _, c := range [][2]string{{"px", "usd"}, {"p1", "eur"}} {
		if oracle.VouchesFor(o, []string{"p1"}, c[0], c[1]) {
			t.Errorf("refund of %s in %s vouched for", c[0], c[1])
		}
	}
	over, _ := oracle.Expect([]oracle.Fact{pay("e1", "p1", 10, 100, "usd"), ref("r1", "re1", "p1", 20, 300, "usd")})
	if oracle.VouchesFor(over, []string{"p1"}, "p1", "usd") {
		t.Error("an over-refund vouched for")
	}
}
