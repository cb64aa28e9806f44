package testevents_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

var idPattern = regexp.MustCompile(`^evt_[0-9A-Za-z]{16}$`)

// keyPaths lists every object key path in a JSON document ("data.object.id").
func keyPaths(t *testing.T, body []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, body)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, sub := range m {
			p := prefix + k
			out = append(out, p)
			walk(p+".", sub)
		}
	}
	walk("", v)
	sort.Strings(out)
	return out
}

// field reads a dotted path from a JSON document.
func field(t *testing.T, body []byte, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %s", path, p)
		}
		v = m[p]
	}
	return v
}

func TestBuildMatchesSpecSamples(t *testing.T) {
	for _, typ := range testevents.Types() {
		t.Run(typ, func(t *testing.T) {
			sample, err := os.ReadFile(filepath.Join("testdata", typ+".json"))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := testevents.Build(testevents.Options{Type: typ}, now)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got, want := keyPaths(t, ev.Body), keyPaths(t, sample); !slices.Equal(got, want) {
				t.Errorf("fields differ from the spec sample:\n got %v\nwant %v", got, want)
			}
			env, err := envelope.Parse(ev.Body)
			if err != nil {
				t.Fatalf("envelope.Parse: %v", err)
			}
			if env.ID != ev.ID || env.Type != typ || env.Created != now.Unix() || env.Livemode || ev.Type != typ {
				t.Errorf("envelope %+v, event id %s: want id %s, type %s, created %d, test mode", env, ev.ID, ev.ID, typ, now.Unix())
			}
			if !idPattern.MatchString(ev.ID) {
				t.Errorf("id %q does not look like evt_ and 16 alphanumerics", ev.ID)
			}
		})
	}
}

func TestBuildOptions(t *testing.T) {
	o := testevents.Options{
		Type: testevents.RefundCompleted, Order: "ord_42", Payment: "pay_42", Refund: "re_42",
		Amount: 1200, Currency: "eur", Livemode: true, Created: now.Add(-time.Hour),
	}
	ev, err := testevents.Build(o, now)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"livemode"}, true},
		{[]string{"created"}, float64(now.Add(-time.Hour).Unix())},
		{[]string{"data", "object", "id"}, "re_42"},
		{[]string{"data", "object", "payment_id"}, "pay_42"},
		{[]string{"data", "object", "amount"}, float64(1200)},
		{[]string{"data", "object", "currency"}, "eur"},
		{[]string{"data", "object", "metadata", "order_id"}, "ord_42"},
	}
	for _, c := range checks {
		if got := field(t, ev.Body, c.path...); got != c.want {
			t.Errorf("%v: got %v, want %v", c.path, got, c.want)
		}
	}
	again, err := testevents.Build(o, now)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == ev.ID {
		t.Errorf("two builds share id %s", ev.ID)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name string
		o    testevents.Options
		want error
	}{
		{"unknown type", testevents.Options{Type: "charge.disputed"}, testevents.ErrUnknownType},
		{"empty type", testevents.Options{}, testevents.ErrUnknownType},
		{"negative amount", testevents.Options{Type: testevents.PaymentSucceeded, Amount: -1}, testevents.ErrBadOption},
		{"upper-case currency", testevents.Options{Type: testevents.PaymentSucceeded, Currency: "USD"}, testevents.ErrBadOption},
		{"long currency", testevents.Options{Type: testevents.PaymentSucceeded, Currency: "usdt"}, testevents.ErrBadOption},
		{"order prefix", testevents.Options{Type: testevents.PaymentSucceeded, Order: "1001"}, testevents.ErrBadOption},
		{"payment prefix", testevents.Options{Type: testevents.PaymentFailed, Payment: "ch_1"}, testevents.ErrBadOption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := testevents.Build(tc.o, now); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestScenarioRefund(t *testing.T) {
	o := testevents.Options{Order: "ord_7", Payment: "pay_7", Amount: 3000}
	order := func(seed uint64) []string {
		t.Helper()
		evs, err := testevents.Scenario("refund", o, now, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		ids := map[string]bool{}
		for _, ev := range evs {
			types = append(types, ev.Type)
			ids[ev.ID] = true
			if got := field(t, ev.Body, "data", "object", "metadata", "order_id"); got != "ord_7" {
				t.Errorf("%s: order %v, want ord_7", ev.Type, got)
			}
			pay := field(t, ev.Body, "data", "object", "id")
			amount := field(t, ev.Body, "data", "object", "amount")
			if ev.Type == testevents.RefundCompleted {
				pay = field(t, ev.Body, "data", "object", "payment_id")
				if amount != float64(1000) {
					t.Errorf("refund amount %v, want a third: 1000", amount)
				}
			} else if amount != float64(3000) {
				t.Errorf("%s amount %v, want 3000", ev.Type, amount)
			}
			if pay != "pay_7" {
				t.Errorf("%s: payment %v, want pay_7", ev.Type, pay)
			}
		}
		if len(ids) != 3 {
			t.Errorf("want 3 distinct ids, got %v", ids)
		}
		got := slices.Sorted(slices.Values(types))
		if want := []string{testevents.PaymentFailed, testevents.PaymentSucceeded, testevents.RefundCompleted}; !slices.Equal(got, want) {
			t.Errorf("types %v, want %v", got, want)
		}
		return types
	}
	if a, b := order(1), order(1); !slices.Equal(a, b) {
		t.Errorf("same seed, different orders: %v and %v", a, b)
	}
	// Some seed must shuffle: 20 seeds all in the created order would mean
	// no shuffle at all.
	shuffled := false
	for seed := uint64(0); seed < 20 && !shuffled; seed++ {
		shuffled = !slices.Equal(order(seed), []string{testevents.PaymentFailed, testevents.PaymentSucceeded, testevents.RefundCompleted})
	}
	if !shuffled {
		t.Error("20 seeds, never shuffled")
	}
	if _, err := testevents.Scenario("chargeback", o, now, nil); !errors.Is(err, testevents.ErrUnknownScenario) {
		t.Errorf("unknown scenario: got %v, want ErrUnknownScenario", err)
	}
}
