package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
	"github.com/altafinex-webhooks/receiver/internal/testkit/bustest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/iamtest"
	"github.com/altafinex-webhooks/receiver/internal/testkit/quotatest"
)

// A flash sale: a burst of payments at several times the SES sending rate
// through the whole local stack, with the quota emulated in front of moto
// (quotatest). `make test` runs a small one; `make flashsale` sets
// FLASHSALE_EVENTS=2000. The figures are logged (and printed with
// FLASHSALE_EVENTS), never asserted: they are the emulator's.
func TestFlashSale(t *testing.T) {
	events, full := 100, false
	if v := os.Getenv("FLASHSALE_EVENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			t.Fatalf("FLASHSALE_EVENTS=%q: want 1..10000", v)
		}
		events, full = n, true
	}
	// The emulated SES quota, N a second, to which the senders are
	// configured: below what the processor manages on one emulator (about
	// 5 to 10 events a second), so that the emails, not the emulator, are
	// what waits.
	const sesRate = 4
	cases := []struct {
		name   string
		limits quotatest.Limits
	}{
		// EventBridge's quota below the burst's rate too: domain events
		// are deferred, never dead-lettered.
		{"SES and EventBridge throttled", quotatest.Limits{quotatest.SESSendEmail: sesRate, quotatest.EventBridgePutEvents: 5}},
		{"SES throttled", quotatest.Limits{quotatest.SESSendEmail: sesRate}},
		// EventBridge alone: orders are applied at once, domain events
		// deferred until the quota lets them through, emails unhindered.
		{"EventBridge throttled", quotatest.Limits{quotatest.EventBridgePutEvents: 5}},
	}
	if !full {
		cases = cases[:1] // make test: one small sale
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flashSale(t, events, sesRate, tc.limits)
		})
	}
}

func flashSale(t *testing.T, n int, sesRate float64, limits quotatest.Limits) {
	ctx := context.Background()
	setup := motoserver.TestConfig(t)
	prefix := strings.ToLower(strings.TrimPrefix(motoserver.UniqueName(t, "x"), "x-"))
	domain := prefix + ".flash.example.com"
	sender := "orders@" + domain
	if _, err := sesv2.NewFromConfig(setup).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)}); err != nil {
		t.Fatal(err)
	}
	bus := motoserver.UniqueName(t, "bus")
	busQueue := bustest.ToQueue(t, ctx, eventbridge.NewFromConfig(setup), sqs.NewFromConfig(setup), bus)
	quotas := quotatest.New(limits)
	env := map[string]string{
		"SENDER_EMAIL": sender, "EVENT_BUS_NAME": bus,
		"EMAIL_SEND_RATE": fmt.Sprint(sesRate), "MAX_CONCURRENCY": "10",
	}
	st, _ := startLocalWith(t, func(o *local.Options) {
		o.Getenv = func(k string) string { return env[k] }
		o.Visibility = 30 * time.Second
		o.EmailQueue, o.EmailDLQ = motoserver.UniqueName(t, "eq"), motoserver.UniqueName(t, "edlq")
		o.EventPollers = 3
		// Each function under its template policy, behind the quotas.
		o.FunctionAWS = func(function string, env func(string) string) (aws.Config, error) {
			keys, err := iamtest.FunctionKeys(t, function, env)
			if err != nil {
				return aws.Config{}, err
			}
			cfg, err := keys.AWSConfig()
			cfg.HTTPClient = quotas.Client(cfg.HTTPClient)
			return cfg, err
		}
	})

	// The burst: n payments, each its own order and customer, sent by 8
	// workers as fast as the stack takes them.
	type sale struct{ eventID, orderID, to string }
	sales := make([]sale, n)
	bodies := make([][]byte, n)
	for i := range sales {
		ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded, Order: fmt.Sprintf("ord_%s_%d", prefix, i)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		to := fmt.Sprintf("buyer-%d@%s.example.org", i, prefix)
		bodies[i] = []byte(strings.Replace(string(ev.Body), `"test.customer@example.com"`, `"`+to+`"`, 1))
		sales[i] = sale{ev.ID, fmt.Sprintf("ord_%s_%d", prefix, i), to}
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				for try := 0; ; try++ {
					code, answer := sendSigned(t, st, bodies[i])
					if code == 200 && (answer["status"] == "accepted" || answer["status"] == "duplicate") {
						break
					}
					if try == 5 {
						t.Errorf("event %d answered %d %v", i, code, answer)
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)

	// Orders and domain events, then the emails: each waited for, bounded.
	deadline := time.Now().Add(2*time.Minute + time.Duration(float64(n)/sesRate*3*float64(time.Second)))
	evTable := ddbevents.New(dynamodb.NewFromConfig(st.AWS), st.EventsTable)
	processed := func() int {
		c := 0
		_ = evTable.Scan(ctx, ddbevents.ScanFilter{}, func(r eventrecord.Record) error {
			if r.Status == eventrecord.Processed {
				c++
			}
			return nil
		})
		return c
	}
	published := map[string]int{}
	// readBus drains the bus's queue: at most every event twice over per
	// call (the loop's bound; a later call takes what is left).
	readBus := func() {
		for range n/5 + 10 {
			out, err := sqs.NewFromConfig(setup).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(busQueue), MaxNumberOfMessages: 10})
			if err != nil || len(out.Messages) == 0 {
				return
			}
			for _, m := range out.Messages {
				var e struct {
					Detail struct {
						Order struct {
							OrderID string `json:"order_id"`
						} `json:"order"`
					} `json:"detail"`
				}
				if json.Unmarshal([]byte(aws.ToString(m.Body)), &e) == nil {
					published[e.Detail.Order.OrderID]++
				}
				_, _ = sqs.NewFromConfig(setup).DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(busQueue), ReceiptHandle: m.ReceiptHandle})
			}
		}
	}
	for processed() < n || len(published) < n {
		readBus()
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d of %d events processed, %d of %d orders announced", time.Since(start), processed(), n, len(published), n)
		}
		// A scan of the events table is a load on the one emulator the
		// stack runs on: every 2 s, the figures' resolution.
		time.Sleep(2 * time.Second)
	}
	ordersDone := time.Since(start)
	sentByOrdersDone := quotas.Admitted(quotatest.SESSendEmail)
	// The wait watches the sends the quota let through to SES and the email
	// queue (cheap); moto's record of the emails, which the checks below
	// read, is a dump of the emulator's whole state, slow at this size.
	for {
		if quotas.Admitted(quotatest.SESSendEmail) >= n && queueIdle(t, setup, st.EmailQueueURL) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d of %d emails let through to SES", time.Since(start), quotas.Admitted(quotatest.SESSendEmail), n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	emailsDone := time.Since(start)
	readBus()
	store := ddborders.New(dynamodb.NewFromConfig(st.AWS), st.OrdersTable)

	// 0 in the dead-letter queues; every order applied and announced;
	// every email sent once.
	dlq, emailDLQ := queueCount(t, setup, st.DLQURL), queueCount(t, setup, st.EmailDLQURL)
	if dlq != 0 || emailDLQ != 0 {
		t.Errorf("%d messages in the events DLQ, %d in the email DLQ; want 0 and 0", dlq, emailDLQ)
	}
	got := sesTo(t, sender)
	dupEvents, domainEvents, emails, paid := 0, 0, 0, 0
	for _, s := range sales {
		if got[s.to] != 1 {
			t.Errorf("%s (%s) got %d emails, want 1", s.to, s.eventID, got[s.to])
		}
		emails += got[s.to]
		if published[s.orderID] < 1 {
			t.Errorf("order %s: no OrderPaid", s.orderID)
		}
		domainEvents += published[s.orderID]
		dupEvents += max(0, published[s.orderID]-1)
		o, err := store.Get(ctx, s.orderID)
		if err != nil || o.Status != orders.Paid {
			t.Errorf("order %s: %v, status %q; want PAID", s.orderID, err, o.Status)
			continue
		}
		paid++
	}
	throttled, sent := quotas.Throttled(quotatest.SESSendEmail), quotas.Admitted(quotatest.SESSendEmail)
	if throttled > sent/5 {
		t.Errorf("%d throttled sends for %d emails: the senders do not pace themselves", throttled, sent)
	}
	summary := fmt.Sprintf("flash sale, %s: %d events accepted in %s (%.0f/s); %d orders PAID, %d domain events published (%d duplicates), all by %s after the first; "+
		"emails: %d sent (%d once each) in %s, emails/N = %.0f s at N = %v/s (%d sent by the time the orders were done, the rest at %.1f/s); SES throttled %d of %d sends; EventBridge throttled %d of %d PutEvents; DLQ %d, email DLQ %d",
		t.Name(), n, accepted.Round(time.Millisecond), float64(n)/accepted.Seconds(), paid, domainEvents, dupEvents, ordersDone.Round(time.Millisecond),
		emails, countOnce(got), emailsDone.Round(time.Millisecond), float64(n)/sesRate, sesRate,
		sentByOrdersDone, float64(sent-sentByOrdersDone)/max(time.Millisecond, emailsDone-ordersDone).Seconds(), throttled, sent+throttled,
		quotas.Throttled(quotatest.EventBridgePutEvents), quotas.Admitted(quotatest.EventBridgePutEvents)+quotas.Throttled(quotatest.EventBridgePutEvents), dlq, emailDLQ)
	t.Log(summary)
	if os.Getenv("FLASHSALE_EVENTS") != "" {
		fmt.Println(summary)
	}
}

// countOnce counts the recipients of exactly one email.
func countOnce(to map[string]int) int {
	c := 0
	for _, k := range to {
		if k == 1 {
			c++
		}
	}
	return c
}

// sesTo counts the emails moto's SES holds from sender, by recipient.
func sesTo(t *testing.T, sender string) map[string]int {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Minute} // a dump of the whole emulator
	resp, err := client.Get(strings.TrimRight(motoserver.Endpoint(), "/") + "/moto-api/data.json")
	if err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []struct {
				Source      string `json:"source"`
				Destination struct {
					ToAddresses []string `json:"ToAddresses"`
				} `json:"destinations"`
			} `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatalf("moto data.json: %v", err)
	}
	out := map[string]int{}
	for _, m := range data.SES.Message {
		if m.Source == sender {
			for _, to := range m.Destination.ToAddresses {
				out[to]++
			}
		}
	}
	return out
}

func queueAttrs(t *testing.T, cfg aws.Config, url string) map[string]string {
	t.Helper()
	out, err := sqs.NewFromConfig(cfg).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes
}

// queueIdle reports whether url holds no message, visible, in flight or
// delayed.
func queueIdle(t *testing.T, cfg aws.Config, url string) bool {
	for _, v := range queueAttrs(t, cfg, url) {
		if v != "0" {
			return false
		}
	}
	return true
}

func queueCount(t *testing.T, cfg aws.Config, url string) int {
	n := 0
	for _, v := range queueAttrs(t, cfg, url) {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n
}
