package quotatest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/testkit/quotatest"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// passed answers every request it is handed with 200, and counts them.
type passed struct{ n int }

func (p *passed) Do(req *http.Request) (*http.Response, error) {
	p.n++
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

// request is a request of op as the SDK sends it: SES v2's SendEmail by its
// path, EventBridge's PutEvents by its target header, anything else
// (an SQS SendMessage) neither.
func request(t *testing.T, op string) *http.Request {
	t.Helper()
	u, target := "http://127.0.0.1:1/", ""
	switch op {
	case quotatest.SESSendEmail:
		u += "v2/email/outbound-emails"
	case quotatest.EventBridgePutEvents:
		target = "AWSEvents.PutEvents"
	default:
		target = "AmazonSQS.SendMessage"
	}
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	return req
}

// The window of each operation: at most its limit in any second, the
// requests above answered by the quota and not passed on; a second later
// the window has slid; an operation without a limit, and one that is not
// quota'd, always pass.
func TestWindow(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	q := quotatest.New(quotatest.Limits{quotatest.SESSendEmail: 3})
	q.Now = clock.Now
	next := &passed{}
	c := q.Client(next)
	steps := []struct {
		name    string
		advance time.Duration
		op      string
		wantOK  bool
	}{
		{"1st", 0, quotatest.SESSendEmail, true},
		{"2nd", 0, quotatest.SESSendEmail, true},
		{"3rd, 400 ms later", 400 * time.Millisecond, quotatest.SESSendEmail, true},
		{"4th within the second", 0, quotatest.SESSendEmail, false},
		{"no limit on PutEvents", 0, quotatest.EventBridgePutEvents, true},
		{"not quota'd", 0, "sqs", true},
		{"5th, 999 ms after the first", 599 * time.Millisecond, quotatest.SESSendEmail, false},
		{"6th, a second after the first two: they left the window", time.Millisecond, quotatest.SESSendEmail, true},
		{"7th", 0, quotatest.SESSendEmail, true},
		{"8th: the 3rd and the 6th and 7th fill it", 0, quotatest.SESSendEmail, false},
		{"9th, a second after the 3rd", 400 * time.Millisecond, quotatest.SESSendEmail, true},
	}
	wantPassed, wantAdmitted, wantThrottled := 0, 0, 0
	for _, s := range steps {
		clock.Advance(s.advance)
		resp, err := c.Do(request(t, s.op))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := resp.StatusCode == http.StatusOK; got != s.wantOK {
			t.Errorf("%s: status %d, want passed=%v", s.name, resp.StatusCode, s.wantOK)
		}
		if s.wantOK {
			wantPassed++
		}
		if s.op == quotatest.SESSendEmail {
			if s.wantOK {
				wantAdmitted++
			} else {
				wantThrottled++
			}
		}
	}
	if next.n != wantPassed {
		t.Errorf("%d requests passed on, want %d", next.n, wantPassed)
	}
	if a, th := q.Admitted(quotatest.SESSendEmail), q.Throttled(quotatest.SESSendEmail); a != wantAdmitted || th != wantThrottled {
		t.Errorf("SendEmail admitted %d, throttled %d; want %d, %d", a, th, wantAdmitted, wantThrottled)
	}
	if a, th := q.Admitted(quotatest.EventBridgePutEvents), q.Throttled(quotatest.EventBridgePutEvents); a != 1 || th != 0 {
		t.Errorf("PutEvents admitted %d, throttled %d; want 1, 0", a, th)
	}
}

// Through the real SDK against moto: the requests within the quota reach
// the emulator, those above it come back as the service's throttling
// error, which the SDK reads as ThrottlingException and awserr.IsThrottle
// sees as a quota; other calls of the same client pass.
func TestThrottlesAsTheServices(t *testing.T) {
	ctx := context.Background()
	setup := motoserver.TestConfig(t)
	domain := strings.ToLower(strings.ReplaceAll(motoserver.UniqueName(t, "q"), "_", "-")) + ".example.com"
	sender := "orders@" + domain
	if _, err := sesv2.NewFromConfig(setup).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(domain)}); err != nil {
		t.Fatal(err)
	}
	bus := motoserver.UniqueName(t, "bus")
	if _, err := eventbridge.NewFromConfig(setup).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatal(err)
	}
	const limit = 2
	q := quotatest.New(quotatest.Limits{quotatest.SESSendEmail: limit, quotatest.EventBridgePutEvents: limit})
	// A clock that stands still: the window never slides during the test.
	at := time.Now()
	q.Now = func() time.Time { return at }
	cfg := setup.Copy()
	cfg.HTTPClient = q.Client(cfg.HTTPClient)
	oneTry := func(o *sesv2.Options) { o.RetryMaxAttempts = 1 }
	ses := sesv2.NewFromConfig(cfg, oneTry)
	eb := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.RetryMaxAttempts = 1 })

	checkThrottle := func(t *testing.T, what string, err error) {
		t.Helper()
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" || !awserr.IsThrottle(err) || awserr.IsPermanent(err) {
			t.Errorf("%s: %v, want a ThrottlingException that awserr sees as a transient quota", what, err)
		}
	}
	t.Run("SES SendEmail", func(t *testing.T) {
		for i := range limit + 2 {
			_, err := ses.SendEmail(ctx, &sesv2.SendEmailInput{
				FromEmailAddress: aws.String(sender),
				Destination:      &sestypes.Destination{ToAddresses: []string{fmt.Sprintf("buyer-%d@example.org", i)}},
				Content: &sestypes.EmailContent{Simple: &sestypes.Message{
					Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}},
				}},
			})
			if i < limit && err != nil {
				t.Errorf("send %d within the quota: %v", i, err)
			}
			if i >= limit {
				checkThrottle(t, fmt.Sprintf("send %d above the quota", i), err)
			}
		}
		if got := sesSent(t, sender); got != limit {
			t.Errorf("moto holds %d emails from %s, want the %d within the quota", got, sender, limit)
		}
		if a, th := q.Admitted(quotatest.SESSendEmail), q.Throttled(quotatest.SESSendEmail); a != limit || th != 2 {
			t.Errorf("admitted %d, throttled %d; want %d, 2", a, th, limit)
		}
		// Not a send: not quota'd.
		if _, err := ses.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("other." + domain)}); err != nil {
			t.Errorf("CreateEmailIdentity above the send quota: %v", err)
		}
	})
	t.Run("EventBridge PutEvents", func(t *testing.T) {
		for i := range limit + 1 {
			_, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
				EventBusName: aws.String(bus), Source: aws.String("quotatest"), DetailType: aws.String("Test"), Detail: aws.String(`{"n":1}`),
			}}})
			if i < limit && err != nil {
				t.Errorf("PutEvents %d within the quota: %v", i, err)
			}
			if i >= limit {
				checkThrottle(t, fmt.Sprintf("PutEvents %d above the quota", i), err)
			}
		}
		if _, err := eb.DescribeEventBus(ctx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)}); err != nil {
			t.Errorf("DescribeEventBus above the PutEvents quota: %v", err)
		}
	})
	t.Run("other services pass", func(t *testing.T) {
		client := sqs.NewFromConfig(cfg)
		for range limit + 2 {
			if _, err := client.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
				t.Fatalf("ListQueues: %v", err)
			}
		}
	})
}

// sesSent counts the emails moto's SES holds from sender.
func sesSent(t *testing.T, sender string) int {
	t.Helper()
	resp, err := http.Get(strings.TrimRight(motoserver.Endpoint(), "/") + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var data struct {
		SES struct {
			Message []struct {
				Source string `json:"source"`
			} `json:"Message"`
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range data.SES.Message {
		if m.Source == sender {
			n++
		}
	}
	return n
}
