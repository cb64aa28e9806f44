package chaostest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest/oracle"
)

// published is one domain event as the bus's rule delivered it.
type published struct {
	DetailType string          `json:"detail-type"`
	Detail     handlers.Detail `json:"detail"`
}

// drainer empties the bus's queue while the run goes on (moto's SQS slows
// as a queue grows) and keeps what it read.
type drainer struct {
	stopping atomic.Bool
	done     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	got      []published
	errs     []error
	client   *sqs.Client
	url      string
}

func startDrain(client *sqs.Client, url string) *drainer {
	d := &drainer{done: make(chan struct{}), client: client, url: url}
	go func() {
		defer close(d.done)
		// Short polls, paced: moto's long polls cost it CPU that the
		// functions under test need.
		for !d.stopping.Load() {
			if d.batch(0) == 0 {
				time.Sleep(500 * time.Millisecond)
			}
		}
	}()
	return d
}

// batch receives and deletes one batch, waiting up to wait seconds; it
// reports how many messages it read. Its calls are never cancelled half
// way, so a message is read and deleted, or left for the next batch.
func (d *drainer) batch(wait int32) int {
	ctx := context.Background()
	out, err := d.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(d.url), MaxNumberOfMessages: 10, WaitTimeSeconds: wait})
	if err != nil {
		d.mu.Lock()
		d.errs = append(d.errs, err)
		d.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
		return 0
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range out.Messages {
		var p published
		err := json.Unmarshal([]byte(aws.ToString(m.Body)), &p)
		d.mu.Lock()
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("delivered event %s: %w", aws.ToString(m.Body), err))
		} else {
			d.got = append(d.got, p)
		}
		d.mu.Unlock()
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if len(del) > 0 {
		if _, err := d.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(d.url), Entries: del}); err != nil {
			d.mu.Lock()
			d.errs = append(d.errs, err)
			d.mu.Unlock()
		}
	}
	return len(out.Messages)
}

// stop ends the background drain, drains what is left and returns every
// domain event delivered, and the errors met. It can be called more than
// once.
func (d *drainer) stop() ([]published, []error) {
	d.once.Do(func() {
		d.stopping.Store(true)
		<-d.done
		for empty := 0; empty < 2; {
			if d.batch(0) == 0 {
				empty++
			} else {
				empty = 0
			}
		}
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.got), slices.Clone(d.errs)
}

// checks holds the figures of the verification.
type checks struct {
	lost, doubleApplied, wrongOrders int
	extraRecords                     int
	effects, emails, domainEvents    int
	duplicates                       map[chaostest.Cause]int
	missing, unexpected              int
	attempts, redriven               int
	undeliverable                    int
	// The email path: jobs moved back from the email DLQ, SES requests
	// the sender made, and emails whose record stayed SENDING (sent, the
	// SENT write lost, no copy of the job since).
	emailsRedriven, sesSends, emailsSending int
	// drain is how long the queues took to quiesce once the faults ended
	// (quietFor included), redrain the same after the redrive.
	drain, redrain time.Duration
	// anomalies counts the orders whose end state holds each anomaly
	// kind, as the oracle decides it (and the table was checked against).
	anomalies map[string]int
}

// orderItem is an order item as stored, read attribute by attribute (not
// through ddborders: the check reads what the merchant's systems read).
type orderItem struct {
	status, paymentID, currency, paymentEventID string
	amount, paidTotal, refundedTotal            int64
	refundCount                                 int
	anomalies                                   []string
	paid, failed                                bool
}

func readOrder(item map[string]ddbtypes.AttributeValue) orderItem {
	s := func(k string) string {
		if v, ok := item[k].(*ddbtypes.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	n := func(k string) int64 {
		if v, ok := item[k].(*ddbtypes.AttributeValueMemberN); ok {
			x, _ := strconv.ParseInt(v.Value, 10, 64)
			return x
		}
		return 0
	}
	o := orderItem{
		status: s("status"), paymentID: s("payment_id"), currency: s("currency"), paymentEventID: s("payment_event_id"),
		amount: n("amount"), paidTotal: n("paid_total"), refundedTotal: n("refunded_total"), refundCount: int(n("refund_count")),
	}
	_, o.paid = item["paid_at_ms"]
	_, o.failed = item["failed_at_ms"]
	if l, ok := item["anomalies"].(*ddbtypes.AttributeValueMemberL); ok {
		for _, a := range l.Value {
			if m, ok := a.(*ddbtypes.AttributeValueMemberM); ok {
				if k, ok := m.Value["kind"].(*ddbtypes.AttributeValueMemberS); ok {
					o.anomalies = append(o.anomalies, k.Value)
				}
			}
		}
	}
	return o
}

// orderDiff compares a stored order with the oracle's; money reports a
// difference in what was paid or refunded (an effect applied twice or not
// at all).
func orderDiff(got orderItem, want oracle.Order) (d string, money bool) {
	var diffs []string
	check := func(name string, g, w any) bool {
		if fmt.Sprint(g) != fmt.Sprint(w) {
			diffs = append(diffs, fmt.Sprintf("%s %v, want %v", name, g, w))
			return true
		}
		return false
	}
	m1 := check("paid_total", got.paidTotal, want.PaidTotal)
	m2 := check("refunded_total", got.refundedTotal, want.RefundedTotal)
	m3 := check("refund_count", got.refundCount, want.RefundCount)
	check("status", got.status, want.Status)
	check("payment_id", got.paymentID, want.PaymentID)
	check("amount", got.amount, want.Amount)
	check("currency", got.currency, want.Currency)
	check("paid", got.paid, want.Paid)
	check("failed", got.failed, want.Failed)
	check("anomalies", got.anomalies, want.Anomalies)
	if want.Failed {
		check("payment_event_id", got.paymentEventID, want.FailureEventID)
	}
	return strings.Join(diffs, "; "), m1 || m2 || m3
}

func (r *rig) check(t *testing.T, ctx context.Context, ords []chaostest.Order, rep chaostest.Report, pub []published) *checks {
	t.Helper()
	c := &checks{duplicates: map[chaostest.Cause]int{}, anomalies: map[string]int{}}
	evs := chaostest.Events(ords)
	if len(rep.GaveUp) > 0 {
		t.Errorf("%d deliveries were never answered 2xx within %d attempts: %s", len(rep.GaveUp), chaostest.DefaultMaxAttempts, firstN(rep.GaveUp, 10))
	}
	for status, n := range rep.Answers2xx {
		if status != "accepted" && status != "duplicate" {
			t.Errorf("%d answers 2xx %q: a valid event must be accepted or a duplicate", n, status)
		}
	}

	// 1. Nothing answered 2xx is lost: one PROCESSED record per event.
	// (One scan of each table: the run has ended, nothing writes.)
	records := map[string]eventrecord.Record{}
	err := ddbevents.New(r.ddb, r.eventsTable).Scan(ctx, ddbevents.ScanFilter{}, func(rec eventrecord.Record) error {
		records[rec.EventID] = rec
		return nil
	})
	if err != nil {
		t.Fatalf("scan the events table: %v", err)
	}
	for _, e := range evs {
		if !rep.Accepted[e.ID] {
			continue
		}
		rec, ok := records[e.ID]
		switch {
		case !ok:
			c.lost++
			t.Errorf("LOST: event %s (%s, order %s) answered 2xx has no record", e.ID, e.Type, e.OrderID)
		case rec.Status != eventrecord.Processed:
			c.lost++
			t.Errorf("LOST: event %s (%s, order %s) answered 2xx is %s after the drain: attempts %d, steps %v, error %q",
				e.ID, e.Type, e.OrderID, rec.Status, rec.Attempts, rec.Steps, rec.Error)
		}
		if rec.Email.Status == eventrecord.EmailUndeliverable || strings.Contains(strings.Join(rec.Notes, "\n"), handlers.KindEmailUndeliverable) {
			c.undeliverable++
		}
	}
	// An email the sender still holds SENDING after the drain was sent
	// (its SENT write lost) and its job acknowledged; one that never
	// reached SES would be an email lost.
	sesDelivered := map[string]bool{}
	for _, s := range r.rec.Sends() {
		if s.Path == chaostest.PathSender {
			c.sesSends++
			if s.MayHaveReached() {
				sesDelivered[s.EventID] = true
			}
		}
	}
	for id, rec := range records {
		if rec.Email.Status != eventrecord.EmailSending {
			continue
		}
		c.emailsSending++
		if !sesDelivered[id] {
			t.Errorf("LOST email: event %s's email is SENDING after the drain (%d tries, lease until %s) and never reached SES", id, rec.Email.Attempts, rec.Email.LeaseUntil)
		}
	}
	if n := len(records); n != len(evs) {
		c.extraRecords = n - len(evs)
		t.Errorf("events table holds %d records for %d events", n, len(evs))
	}

	// 2. No order change applied twice: every order is the oracle's, and
	// holds one refund item per refund id.
	refundItems := map[string][]string{}
	for _, it := range scanAll(t, ctx, r.ddb, r.ordersTable+ddborders.RefundsTableSuffix) {
		o, _ := it["order_id"].(*ddbtypes.AttributeValueMemberS)
		id, _ := it["refund_id"].(*ddbtypes.AttributeValueMemberS)
		if o != nil && id != nil {
			refundItems[o.Value] = append(refundItems[o.Value], id.Value)
		}
	}
	orderItems := map[string]map[string]ddbtypes.AttributeValue{}
	for _, it := range scanAll(t, ctx, r.ddb, r.ordersTable) {
		if id, ok := it["order_id"].(*ddbtypes.AttributeValueMemberS); ok {
			orderItems[id.Value] = it
		}
	}
	expected := map[string]oracle.Effects{}
	states := map[string]oracle.Order{}
	for _, o := range ords {
		want, eff := oracle.Expect(o.Facts())
		expected[o.ID], states[o.ID] = eff, want
		for _, a := range want.Anomalies {
			c.anomalies[a]++
		}
		item := orderItems[o.ID]
		ids := refundItems[o.ID]
		sort.Strings(ids)
		d, money := orderDiff(readOrder(item), want)
		if !slices.Equal(ids, eff.Refunds) {
			d, money = d+fmt.Sprintf("; refund items %v, want %v", ids, eff.Refunds), true
		}
		switch {
		case money:
			c.doubleApplied++
			t.Errorf("DOUBLE-APPLIED or missing on order %s: %s\n  item %v\n  events %s", o.ID, d, item, r.describeOrder(ctx, t, o))
		case d != "":
			c.wrongOrders++
			t.Errorf("order %s differs from the oracle: %s", o.ID, d)
		}
	}

	// 3. Effects: what the emulator received, against what each order
	// owes; every duplicate has a named cause.
	received := map[string]int{}
	for _, p := range pub {
		received[chaostest.EventKey(p.DetailType, p.Detail)]++
		c.domainEvents++
	}
	for _, m := range sesMessages(t, r.ep, r.sender) {
		order, _, _ := strings.Cut(strings.TrimPrefix(m.Subject, "Order "), ":")
		received[chaostest.EmailKey(order, m.Subject, m.Body)]++
		c.emails++
	}
	sends := map[string][]chaostest.Send{}
	for _, s := range r.rec.Sends() {
		sends[s.Key] = append(sends[s.Key], s)
	}
	attempts := r.rec.Attempts()
	for _, as := range attempts {
		c.attempts += len(as)
	}
	type due struct{ want, min int }
	owed := map[string]due{}
	delivered := func(key string) (events []string, rejected bool) {
		for _, s := range sends[key] {
			if s.Delivered() && !slices.Contains(events, s.EventID) {
				events = append(events, s.EventID)
			}
			rejected = rejected || s.Result == chaostest.InjectReject
		}
		return events, rejected
	}
	publishedFailures := map[string]bool{}
	for _, p := range pub {
		if p.DetailType == handlers.DetailOrderPaymentFailed {
			publishedFailures[p.Detail.SourceEventID] = true
		}
	}
	for _, o := range ords {
		eff, st := expected[o.ID], states[o.ID]
		if eff.Paid {
			owed["event "+handlers.DetailOrderPaid+" "+o.ID] = due{1, 1}
			key := "email confirmation " + o.ID
			evs, rejected := delivered(key)
			owed[key] = due{min(1, len(evs)), b2i(!rejected)}
		}
		for _, id := range eff.Refunds {
			owed["event "+handlers.DetailOrderRefunded+" "+o.ID+" "+id] = due{1, 1}
			key := "email refund " + o.ID + " " + id
			evs, rejected := delivered(key)
			must := !rejected && refundVouched(pub, o.ID, id, st)
			owed[key] = due{min(1, len(evs)), b2i(must)}
		}
		for _, id := range eff.Failures {
			key := "event " + handlers.DetailOrderPaymentFailed + " " + id
			evs, _ := delivered(key)
			if id == eff.FinalFailure {
				owed[key] = due{1, 1}
			} else {
				owed[key] = due{min(1, len(evs)), 0}
			}
		}
		if len(eff.Failures) > 0 {
			key := "email failure " + o.ID
			evs, rejected := delivered(key)
			for _, id := range evs {
				if !publishedFailures[id] {
					t.Errorf("failure notice of %s sent, but its OrderPaymentFailed never reached the bus", id)
				}
			}
			owed[key] = due{len(evs), b2i(eff.FinalFailure != "" && !rejected)}
		}
	}
	keys := map[string]bool{}
	for k := range owed {
		keys[k] = true
	}
	for k := range received {
		keys[k] = true
	}
	for key := range keys {
		d, got := owed[key], received[key]
		if _, known := owed[key]; !known {
			c.unexpected += got
			t.Errorf("UNEXPECTED: %s reached the emulator %d times; the oracle owes nothing of the kind (sends %s)", key, got, describeSends(sends[key]))
			continue
		}
		c.effects++
		if got < d.min {
			c.missing++
			t.Errorf("MISSING: %s reached the emulator %d times, want at least %d (sends %s)", key, got, d.min, describeSends(sends[key]))
		}
		for _, cause := range chaostest.Explain(got, d.want, sends[key], attempts) {
			c.duplicates[cause]++
			if cause == chaostest.CauseUnexplained {
				t.Errorf("DUPLICATE without a cause: %s reached the emulator %d times, %d due (sends %s; attempts %s)",
					key, got, d.want, describeSends(sends[key]), describeAttempts(attempts, sends[key]))
			}
		}
	}
	return c
}

// describeOrder tells what became of each event of o: its record and the
// attempts the recorder saw.
func (r *rig) describeOrder(ctx context.Context, t *testing.T, o chaostest.Order) string {
	t.Helper()
	table := ddbevents.New(r.ddb, r.eventsTable)
	all := r.rec.Attempts()
	var b strings.Builder
	for _, e := range o.Events {
		rec, err := table.Get(ctx, e.ID)
		fmt.Fprintf(&b, "\n    %s %s %+v: %s attempts %d steps %v notes %v err %q (%v); ", e.ID, e.Type, e.Fact, rec.Status, rec.Attempts, rec.Steps, rec.Notes, rec.Error, err)
		for _, a := range all[e.ID] {
			fmt.Fprintf(&b, "[#%d injected=%v err=%q", a.N, a.Injected, a.HandlerErr)
			if a.Finish != nil {
				fmt.Fprintf(&b, " finish=%s steps=%v err=%q", a.Finish.Status, a.Finish.Steps, a.Finish.Err)
			}
			b.WriteString("] ")
		}
	}
	return b.String()
}

// refundVouched reports whether the refund's notice was owed to the
// customer: the oracle vouches for the refund in the order's end state and
// in the state the delivered OrderRefunded reported.
func refundVouched(pub []published, orderID, refundID string, end oracle.Order) bool {
	for _, p := range pub {
		if p.DetailType != handlers.DetailOrderRefunded || p.Detail.Refund == nil || p.Detail.Refund.RefundID != refundID || p.Detail.Order.OrderID != orderID {
			continue
		}
		r, o := p.Detail.Refund, p.Detail.Order
		var payments []string
		for _, pd := range o.Payments {
			payments = append(payments, pd.PaymentID)
		}
		then := oracle.Order{Paid: len(payments) > 0, Currency: o.Currency, PaidTotal: o.PaidTotal, RefundedTotal: o.RefundedTotal}
		endPayments := payments // the payment ids the order ended with are a superset
		return oracle.VouchesFor(then, payments, r.PaymentID, r.Currency) && oracle.VouchesFor(end, append(endPayments, end.PaymentID), r.PaymentID, r.Currency)
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func describeSends(ss []chaostest.Send) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "[%s #%d %s %q http=%d] ", s.EventID, s.Attempt, s.Result, s.Err, len(s.HTTP))
	}
	return b.String()
}

func describeAttempts(all map[string][]chaostest.Attempt, ss []chaostest.Send) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, s := range ss {
		if seen[s.EventID] {
			continue
		}
		seen[s.EventID] = true
		for _, a := range all[s.EventID] {
			fmt.Fprintf(&b, "[%s #%d injected=%v err=%q", a.EventID, a.N, a.Injected, a.HandlerErr)
			if a.Finish != nil {
				fmt.Fprintf(&b, " finish=%s steps=%v err=%q", a.Finish.Status, a.Finish.Steps, a.Finish.Err)
			}
			b.WriteString("] ")
		}
	}
	return b.String()
}

func firstN(ss []string, n int) string {
	if len(ss) > n {
		return strings.Join(ss[:n], ", ") + ", …"
	}
	return strings.Join(ss, ", ")
}

func scanAll(t *testing.T, ctx context.Context, client *dynamodb.Client, table string) []map[string]ddbtypes.AttributeValue {
	t.Helper()
	var out []map[string]ddbtypes.AttributeValue
	var start map[string]ddbtypes.AttributeValue
	for range 10000 {
		page, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		out = append(out, page.Items...)
		if len(page.LastEvaluatedKey) == 0 {
			return out
		}
		start = page.LastEvaluatedKey
	}
	t.Fatalf("scan %s did not end", table)
	return nil
}

// sesMessage is one email as moto's data.json shows it (the HTML part).
type sesMessage struct {
	Source  string `json:"source"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// sesMessages returns the emails moto's SES holds from sender.
func sesMessages(t *testing.T, endpoint, sender string) []sesMessage {
	t.Helper()
	resp, err := http.Get(strings.TrimRight(endpoint, "/") + "/moto-api/data.json")
	if err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []sesMessage `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	var out []sesMessage
	for _, m := range data.SES.Message {
		if m.Source == sender {
			out = append(out, m)
		}
	}
	return out
}

// checkMinimums fails a run in which some kind of fault was not injected,
// or injected far less than the run's size calls for: a run where
// injection silently stopped proves nothing.
func (c *checks) checkMinimums(t *testing.T, r *rig, phases []chaostest.Phase, poison []string, events int) {
	t.Helper()
	net := r.network.Counts()
	for _, k := range chaostest.Kinds(phases) {
		if net[k] < 1 {
			t.Errorf("network fault %q was never applied", k)
		}
	}
	injected := r.rec.Injected()
	sched := chaostest.DefaultSchedule()
	for k, every := range sched.Every {
		// About one send per event reaches the mailer or the bus, most of
		// them while injection is on (it stops with the deliveries, and
		// the processor lags behind): a quarter of that, per the
		// schedule, and at least once.
		want := max(1, events/(4*every))
		if k == chaostest.InjectReject || k == chaostest.InjectThrottle {
			want = max(1, want/3) // the sender's only: emails are fewer than sends
		}
		if injected[k] < want {
			t.Errorf("fault %q injected %d times, want at least %d", k, injected[k], want)
		}
	}
	if injected[chaostest.InjectPoison] < len(poison) {
		t.Errorf("poison events panicked %d times, want at least %d", injected[chaostest.InjectPoison], len(poison))
	}
	refused := 0
	for k, n := range r.rec.Claims() {
		if strings.HasPrefix(k, "refused") {
			refused += n
		}
	}
	if refused < 1 {
		t.Errorf("no claim was refused: no redelivery met a finished or held event")
	}
	if c.redriven < len(poison) {
		t.Errorf("%d messages redriven from the DLQ, want at least the %d poison events", c.redriven, len(poison))
	}
	// The email sender's path had each of its faults, as often as the
	// schedule puts them on the SES requests made while injecting, and
	// enough of those for every kind to come up.
	onSender, sesCounted := r.rec.InjectedOn(chaostest.PathSender)
	if sesCounted < minSenderSends {
		t.Errorf("%d SES requests while injecting, want at least %d: the sender's faults did not all come up", sesCounted, minSenderSends)
	}
	// A crash after the send or a kill past the deadline follows only a
	// send that went through: those whose send failed are counted apart.
	notFollowed := r.rec.NotFollowed(chaostest.PathSender)
	afterSend := 0
	for _, k := range chaostest.PathKinds(chaostest.PathSender) {
		want := sched.Scheduled(k, sesCounted)
		if k == chaostest.InjectCrashAfter || k == chaostest.InjectKill {
			afterSend += want - onSender[k]
			continue
		}
		if onSender[k] < want {
			t.Errorf("sender: fault %q injected %d times into %d SES requests, want %d", k, onSender[k], sesCounted, want)
		}
	}
	if afterSend != notFollowed {
		t.Errorf("sender: %d faults due after a send were not injected, %d of them after a failed send: want the same", afterSend, notFollowed)
	}
	emailRefused := 0
	for k, n := range r.rec.EmailClaims() {
		if strings.HasPrefix(k, "refused") {
			emailRefused += n
		}
	}
	if emailRefused < 1 {
		t.Errorf("no email claim was refused: no second copy of a job met a sent or held email")
	}
	if r.timeouts.Load() < 1 {
		t.Errorf("no invocation reached the Lambda deadline")
	}
}

func (c *checks) summary(s settings, rep chaostest.Report, r *rig, faulty, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos run (seed %d)\n", s.seed)
	fmt.Fprintf(&b, "  events                %d\n", rep.Events)
	fmt.Fprintf(&b, "  deliveries            %d (%d duplicates), %d requests\n", rep.Deliveries, rep.Duplicates, rep.Requests)
	fmt.Fprintf(&b, "  2xx answers           %v\n", rep.Answers2xx)
	fmt.Fprintf(&b, "  non-2xx answers       %d %v\n", rep.NonOK(), rep.Non2xx)
	fmt.Fprintf(&b, "  never accepted        %d\n", len(rep.GaveUp))
	fmt.Fprintf(&b, "  network faults applied (phases of %s):\n%s", phaseHold, chaostest.FormatCounts(r.network.Counts()))
	onProc, procCounted := r.rec.InjectedOn(chaostest.PathProcessor)
	onSender, sesCounted := r.rec.InjectedOn(chaostest.PathSender)
	fmt.Fprintf(&b, "  processor faults injected (into %d of its sends):\n%s", procCounted, chaostest.FormatCounts(onProc))
	fmt.Fprintf(&b, "  email sender faults injected (into %d of its SES requests):\n%s", sesCounted, chaostest.FormatCounts(onSender))
	fmt.Fprintf(&b, "  processor claims:\n%s", chaostest.FormatCounts(r.rec.Claims()))
	fmt.Fprintf(&b, "  email sender claims:\n%s", chaostest.FormatCounts(r.rec.EmailClaims()))
	fmt.Fprintf(&b, "  SES requests          %d\n", c.sesSends)
	fmt.Fprintf(&b, "  handler attempts      %d\n", c.attempts)
	fmt.Fprintf(&b, "  Lambda timeouts       %d\n", r.timeouts.Load())
	fmt.Fprintf(&b, "  redriven from DLQ     %d; from the email DLQ %d\n", c.redriven, c.emailsRedriven)
	fmt.Fprintf(&b, "  LOST                  %d\n", c.lost)
	fmt.Fprintf(&b, "  DOUBLE-APPLIED        %d (orders differing otherwise: %d)\n", c.doubleApplied, c.wrongOrders)
	fmt.Fprintf(&b, "  effects checked       %d (emails received %d, domain events %d)\n", c.effects, c.emails, c.domainEvents)
	fmt.Fprintf(&b, "  missing effects       %d, unexpected %d\n", c.missing, c.unexpected)
	fmt.Fprintf(&b, "  duplicate effects     %s\n", causes(c.duplicates))
	fmt.Fprintf(&b, "  emails undeliverable  %d (recorded on their events)\n", c.undeliverable)
	fmt.Fprintf(&b, "  orders with anomalies (the oracle's, checked):\n%s", chaostest.FormatCounts(c.anomalies))
	fmt.Fprintf(&b, "  emails left SENDING   %d (sent; the SENT write lost)\n", c.emailsSending)
	fmt.Fprintf(&b, "  delivery              %s; faults for %s; drain %s, after the redrive %s; total %s\n", rep.Duration.Round(time.Millisecond),
		faulty.Round(time.Millisecond), c.drain.Round(time.Millisecond), c.redrain.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	return b.String()
}

func causes(m map[chaostest.Cause]int) string {
	total := 0
	keys := make([]string, 0, len(m))
	for k, v := range m {
		total += v
		keys = append(keys, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(keys)
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(keys, "; "))
}
