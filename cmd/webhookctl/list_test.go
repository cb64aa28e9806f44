package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
)

// seeded is one record the listing tests put, with what they expect of it.
type seeded struct {
	id      string
	status  eventrecord.Status
	typ     string
	updated time.Time // the record's last update
	body    string    // stored only for FAILED
}

// putAt walks a record to s.status through the table's own writes, its
// last one at s.updated.
func putAt(t *testing.T, e awsEnv, s seeded) {
	t.Helper()
	ctx := context.Background()
	at := s.updated.Add(-2 * time.Second)
	rec := eventrecord.Record{
		EventID: s.id, Status: eventrecord.Received, Type: s.typ, Created: at.Add(-time.Minute), PayloadHash: "aa",
		Token: "ingest", LeaseUntil: at.Add(30 * time.Second), ExpiresAt: at.Add(30 * 24 * time.Hour), ReceivedAt: at, UpdatedAt: at,
	}
	if err := e.table.Reserve(ctx, rec, at); err != nil {
		t.Fatal(err)
	}
	if s.status == eventrecord.Received {
		return
	}
	rec.Token, rec.Status = "proc", eventrecord.Processing
	if _, err := e.table.Claim(ctx, rec, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if s.status == eventrecord.Processing {
		return
	}
	rec.Status, rec.Body = s.status, []byte(s.body)
	if s.status != eventrecord.Processed {
		rec.Error = "boom"
	}
	if err := e.table.Finish(ctx, rec, s.updated); err != nil {
		t.Fatal(err)
	}
}

// ordersTable creates an orders table for the test and returns its store
// and name.
func ordersTable(t *testing.T) (*ddborders.Store, *dynamodb.Client, string) {
	t.Helper()
	ddb := dynamodb.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "orders")
	if err := ddborders.CreateTable(context.Background(), ddb, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name + ddborders.RefundsTableSuffix)})
	})
	return ddborders.New(ddb, name), ddb, name
}

// listIDs runs events list with args and returns the ids it printed, in
// order, and what it said on stderr.
func listIDs(t *testing.T, e awsEnv, extra []string, args ...string) ([]string, string) {
	t.Helper()
	r := runCmd(t, eventsCmd, "", opsNow, append(append([]string{"list", "--json"}, args...), append(e.flags(), extra...)...)...)
	if r.code != exitOK {
		t.Fatalf("events list %q: exit %d\n%s", args, r.code, r.stderr)
	}
	var l ops.EventList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, v := range l.Events {
		ids = append(ids, v.EventID)
	}
	r = runCmd(t, eventsCmd, "", opsNow, append(append([]string{"list"}, args...), append(e.flags(), extra...)...)...)
	return ids, r.stderr
}

// events list: every status by default, newest update first, at most
// --limit, filtered by --status (several), --type, --order and --since,
// and it pages through the whole table. The expectations are worked out by
// hand from the seeded records.
func TestEventsList(t *testing.T) {
	e := newAWSEnv(t, emulator(t))
	store, _, ordersName := ordersTable(t)
	orderFlags := []string{"--orders-table", ordersName}
	min := func(m int) time.Time { return opsT0.Add(time.Duration(m) * time.Minute) }
	const ps, pf, rc = "payment.succeeded", "payment.failed", "refund.completed"
	recs := []seeded{
		{"evt_a", eventrecord.Processed, ps, min(1), ""},
		{"evt_b", eventrecord.Failed, pf, min(2), `{"data":{"object":{"metadata":{"order_id":"ord_x"}}}}`},
		{"evt_c", eventrecord.Retrying, rc, min(3), ""},
		{"evt_d", eventrecord.Processed, rc, min(4), ""},
		{"evt_e", eventrecord.Received, ps, min(5), ""},
		{"evt_f", eventrecord.Failed, ps, min(6), `{"data":{"object":{"metadata":{"order_id":"ord_other"}}}}`},
		{"evt_g", eventrecord.Processed, ps, min(40), ""},
		{"evt_h", eventrecord.Processed, pf, min(50), ""},
	}
	for _, r := range recs {
		putAt(t, e, r)
	}
	// ord_x was changed by evt_a and evt_d; evt_b (FAILED) names it in its body.
	ctx := context.Background()
	if _, err := store.ApplyPayment(ctx, "ord_x", orders.Payment{EventID: "evt_a", EventCreated: min(0), PaymentID: "pay_1", Succeeded: true, Amount: 500, Currency: "usd"}, min(1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.ApplyRefund(ctx, "ord_x", orders.Refund{EventID: "evt_d", EventCreated: min(3), RefundID: "re_1", PaymentID: "pay_1", Amount: 100, Currency: "usd"}, min(4)); err != nil {
		t.Fatal(err)
	}

	// The commands run under the template's OperatorPolicy.
	asOperatorWithOrders(t, e, ordersName)
	tests := []struct {
		name string
		args []string
		want []string
		note string // in stderr
	}{
		{"default: every status, newest first", nil, []string{"evt_h", "evt_g", "evt_f", "evt_e", "evt_d", "evt_c", "evt_b", "evt_a"}, "8 of 8 event(s) (all)"},
		{"limit", []string{"--limit", "3"}, []string{"evt_h", "evt_g", "evt_f"}, "3 of 8 event(s) (all), newest first; --limit 8 shows them all"},
		{"one status", []string{"--status", "processed"}, []string{"evt_h", "evt_g", "evt_d", "evt_a"}, "status PROCESSED"},
		{"two statuses", []string{"--status", "FAILED,retrying"}, []string{"evt_f", "evt_c", "evt_b"}, "status FAILED or RETRYING"},
		{"type", []string{"--type", rc}, []string{"evt_d", "evt_c"}, "type refund.completed"},
		{"type and status", []string{"--type", ps, "--status", "PROCESSED", "--limit", "1"}, []string{"evt_g"}, "1 of 2"},
		{"order: its item's ids and the bodies naming it", []string{"--order", "ord_x"}, []string{"evt_d", "evt_b", "evt_a"}, "order ord_x"},
		{"an order with no item: bodies only", []string{"--order", "ord_other"}, []string{"evt_f"}, "1 of 1"},
		{"since", []string{"--since", "30m"}, []string{"evt_h", "evt_g"}, "updated since 2026-11-27T12:30:00Z"},
		{"nothing matches", []string{"--type", "payment.disputed"}, []string{}, "0 of 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, stderr := listIDs(t, e, orderFlags, tc.args...)
			if !slices.Equal(got, tc.want) {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
			if !strings.Contains(stderr, tc.note) {
				t.Errorf("stderr %q lacks %q", stderr, tc.note)
			}
		})
	}
}

// ListAll reads every page of a scan: with pages of two records, the eight
// records and the newest-first order are the same.
func TestListAllPagesThroughTheTable(t *testing.T) {
	e := newAWSEnv(t, emulator(t))
	var want []string
	for i := range 9 {
		id := "evt_" + string(rune('a'+i))
		putAt(t, e, seeded{id, eventrecord.Processed, "payment.succeeded", opsT0.Add(time.Duration(i) * time.Minute), ""})
		want = append([]string{id}, want...)
	}
	counter := &scanCounter{next: http.DefaultClient}
	cfg := motoserver.TestConfig(t)
	cfg.HTTPClient = counter
	pages := &pagedScanner{table: ddbevents.New(dynamodb.NewFromConfig(cfg), e.table.Name()), size: 2}
	l, err := ops.ListAll(context.Background(), pages, ops.EventFilter{Limit: 4}, opsNow)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range l.Events {
		got = append(got, v.EventID)
	}
	if !slices.Equal(got, want[:4]) || l.Matched != 9 {
		t.Errorf("ids %v (matched %d), want %v (matched 9)", got, l.Matched, want[:4])
	}
	if n := counter.scans.Load(); n < 5 {
		t.Errorf("%d Scan calls, want at least 5 pages of two records", n)
	}
}

// pagedScanner scans its table in pages of size records.
type pagedScanner struct {
	table *ddbevents.Table
	size  int32
}

func (p *pagedScanner) Scan(ctx context.Context, f ddbevents.ScanFilter, fn func(eventrecord.Record) error) error {
	f.PageSize = p.size
	return p.table.Scan(ctx, f, fn)
}

// scanCounter counts the DynamoDB Scan calls sent through it.
type scanCounter struct {
	next  *http.Client
	scans atomic.Int64
}

func (c *scanCounter) Do(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".Scan") {
		c.scans.Add(1)
	}
	return c.next.Do(r)
}

// The order view: fields, refunds, anomalies shown as stored, and the
// timeline from the events table, oldest first; list by status and by
// anomaly.
func TestOrdersView(t *testing.T) {
	e := newAWSEnv(t, emulator(t))
	store, _, ordersName := ordersTable(t)
	flags := append(e.flags(), "--orders-table", ordersName)
	ctx := context.Background()
	min := func(m int) time.Time { return opsT0.Add(time.Duration(m) * time.Minute) }
	putAt(t, e, seeded{"evt_fail", eventrecord.Processed, "payment.failed", min(1), ""})
	putAt(t, e, seeded{"evt_pay", eventrecord.Processed, "payment.succeeded", min(2), ""})
	// evt_re's record is gone (its TTL passed and DynamoDB deleted it).
	apply := []func() error{
		func() error {
			_, err := store.ApplyPayment(ctx, "ord_v", orders.Payment{EventID: "evt_fail", EventCreated: min(0), PaymentID: "pay_0", Amount: 4999, Currency: "usd", FailureCode: "card_declined", FailureMessage: "declined"}, min(1))
			return err
		},
		func() error {
			_, err := store.ApplyPayment(ctx, "ord_v", orders.Payment{EventID: "evt_pay", EventCreated: min(1), PaymentID: "pay_1", Succeeded: true, Amount: 4999, Currency: "usd", CustomerEmail: "a@example.com", CustomerName: "Ann"}, min(2))
			return err
		},
		func() error {
			_, _, err := store.ApplyRefund(ctx, "ord_v", orders.Refund{EventID: "evt_re", EventCreated: min(2), RefundID: "re_1", PaymentID: "pay_1", Amount: 1500, Currency: "usd"}, min(3))
			return err
		},
		func() error {
			_, err := store.ApplyPayment(ctx, "ord_w", orders.Payment{EventID: "evt_w", EventCreated: min(0), PaymentID: "pay_w", Succeeded: true, Amount: 100, Currency: "eur"}, min(1))
			return err
		},
	}
	for _, f := range apply {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	// A second payment of ord_w: the store records a double charge.
	if _, err := store.ApplyPayment(ctx, "ord_w", orders.Payment{EventID: "evt_w2", EventCreated: min(1), PaymentID: "pay_w2", Succeeded: true, Amount: 100, Currency: "eur"}, min(2)); err != nil {
		t.Fatal(err)
	}

	// The commands run under the template's OperatorPolicy.
	asOperatorWithOrders(t, e, ordersName)
	r := runCmd(t, ordersCmd, "", opsNow, append([]string{"get", "ord_v"}, flags...)...)
	if r.code != exitOK {
		t.Fatalf("orders get: exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{
		"status     PARTIALLY_REFUNDED", "amount     49.99 USD", "payment    pay_1", "customer   Ann <a@example.com>",
		"pay_1  49.99 USD  (evt_pay)", "refunded   15.00 USD", "pay_1  15.00 USD  (1 refund(s))", "anomalies  none", "timeline (3 event(s), oldest first)",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("orders get lacks %q:\n%s", w, r.stdout)
		}
	}
	r = runCmd(t, ordersCmd, "", opsNow, append([]string{"get", "ord_v", "--json"}, flags...)...)
	var v ops.OrderView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatal(err)
	}
	type step struct {
		id     string
		found  bool
		status eventrecord.Status
	}
	var got []step
	for _, e := range v.Timeline {
		got = append(got, step{e.EventID, e.Found, e.Status})
	}
	want := []step{{"evt_fail", true, eventrecord.Processed}, {"evt_pay", true, eventrecord.Processed}, {"evt_re", false, ""}}
	if !slices.Equal(got, want) {
		t.Errorf("timeline %v, want %v", got, want)
	}

	r = runCmd(t, ordersCmd, "", opsNow, append([]string{"get", "ord_w"}, flags...)...)
	if !strings.Contains(r.stdout, `anomalies  [{"detail":`) || !strings.Contains(r.stdout, `"kind":"double_charge"}]`) {
		t.Errorf("orders get ord_w does not show its anomaly:\n%s", r.stdout)
	}
	if r := runCmd(t, ordersCmd, "", opsNow, append([]string{"get", "ord_none"}, flags...)...); r.code != exitFail {
		t.Errorf("orders get ord_none: exit %d, want %d", r.code, exitFail)
	}

	listed := func(args ...string) []string {
		t.Helper()
		r := runCmd(t, ordersCmd, "", opsNow, append(append([]string{"list", "--json"}, args...), flags...)...)
		if r.code != exitOK {
			t.Fatalf("orders list %q: exit %d\n%s", args, r.code, r.stderr)
		}
		var l ops.OrderList
		if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, o := range l.Orders {
			ids = append(ids, o.OrderID)
		}
		return ids
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"ord_v", "ord_w"}}, // ord_v updated last (min 3)
		{[]string{"--status", "paid"}, []string{"ord_w"}},
		{[]string{"--status", "PARTIALLY_REFUNDED,REFUNDED"}, []string{"ord_v"}},
		{[]string{"--anomaly"}, []string{"ord_w"}},
		{[]string{"--anomaly=double_charge"}, []string{"ord_w"}},
		{[]string{"--anomaly=over_refund"}, []string{}},
		{[]string{"--limit", "1"}, []string{"ord_v"}},
	} {
		if got := listed(tc.args...); !slices.Equal(got, tc.want) {
			t.Errorf("orders list %q: %v, want %v", tc.args, got, tc.want)
		}
	}
}

// asOperatorWithOrders is asOperator with the orders table named too.
func asOperatorWithOrders(t *testing.T, e awsEnv, ordersTable string) {
	t.Helper()
	keys := iamtest.ManagedPolicy(t, "OperatorPolicy", map[string]string{
		"EventsTable": e.table.Name(), "EventsQueue": e.url, "EventsDLQ": e.dlqURL, "OrdersTable": ordersTable,
	})
	t.Setenv("AWS_ACCESS_KEY_ID", keys.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", keys.SecretAccessKey)
}
