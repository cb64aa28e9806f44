package processorapp_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := processorapp.Load(env(map[string]string{"EVENTS_TABLE": "events", "ORDERS_TABLE": "orders"}))
	if err != nil {
		t.Fatal(err)
	}
	want := processorapp.Config{
		EventsTable:      "events",
		OrdersTable:      "orders",
		RefundsTable:     "orders-refunds",
		RetryURLTemplate: "https://shop.example.com/orders/{order_id}/pay",
		ProcessingLease:  2 * time.Minute,
		MaxConcurrency:   10,
		EventTTL:         720 * time.Hour,
		LogLevel:         slog.LevelInfo,

		EmailSendRate:          14,
		EmailSenderConcurrency: 2,
	}
	if c != want {
		t.Errorf("want %+v\ngot  %+v", want, c)
	}
}

func TestLoadAll(t *testing.T) {
	c, err := processorapp.Load(env(map[string]string{
		"EVENTS_TABLE":       "events",
		"ORDERS_TABLE":       "orders",
		"REFUNDS_TABLE":      "stack-refunds",
		"SENDER_EMAIL":       "shop@example.com",
		"EVENT_BUS_NAME":     "orders-bus",
		"RETRY_URL_TEMPLATE": "https://pay.example.org/retry?order={order_id}",
		"PROCESSING_LEASE":   "90s",
		"MAX_CONCURRENCY":    "4",
		"EVENT_TTL":          "1000h",
		"LOG_LEVEL":          "debug",

		"EVENTS_QUEUE_URL":         "https://sqs.eu-west-1.amazonaws.com/123456789012/events",
		"EMAIL_QUEUE_URL":          "https://sqs.eu-west-1.amazonaws.com/123456789012/emails",
		"EMAIL_QUEUE_ARN":          "arn:aws:sqs:eu-west-1:123456789012:emails",
		"EMAIL_SEND_RATE":          "50",
		"EMAIL_SENDER_CONCURRENCY": "4",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SenderEmail != "shop@example.com" || c.EventBusName != "orders-bus" || c.RefundsTable != "stack-refunds" ||
		c.RetryURLTemplate != "https://pay.example.org/retry?order={order_id}" ||
		c.ProcessingLease != 90*time.Second || c.MaxConcurrency != 4 || c.EventTTL != 1000*time.Hour ||
		c.LogLevel != slog.LevelDebug {
		t.Errorf("got %+v", c)
	}
	if !c.EmailQueued() || c.EventsQueueURL == "" || c.EmailQueueARN != "arn:aws:sqs:eu-west-1:123456789012:emails" ||
		c.EmailSendRate != 50 || c.EmailSenderConcurrency != 4 || c.SenderRate() != 12.5 {
		t.Errorf("email settings: got %+v, sender rate %v", c, c.SenderRate())
	}
}

func TestLoadProblems(t *testing.T) {
	base := map[string]string{"EVENTS_TABLE": "events", "ORDERS_TABLE": "orders"}
	tests := []struct {
		name string
		set  map[string]string
		want []string // every fragment must be in the one error
	}{
		{"tables missing", map[string]string{"EVENTS_TABLE": "", "ORDERS_TABLE": " "},
			[]string{"EVENTS_TABLE is required", "ORDERS_TABLE is required"}},
		{"bad sender", map[string]string{"SENDER_EMAIL": "not-an-address"}, []string{"SENDER_EMAIL"}},
		{"retry url without order id", map[string]string{"RETRY_URL_TEMPLATE": "https://shop.example.com/pay"}, []string{"{order_id}"}},
		{"relative retry url", map[string]string{"RETRY_URL_TEMPLATE": "/orders/{order_id}"}, []string{"absolute"}},
		{"bad lease", map[string]string{"PROCESSING_LEASE": "soon"}, []string{"PROCESSING_LEASE"}},
		{"lease too long", map[string]string{"PROCESSING_LEASE": "16m"}, []string{"PROCESSING_LEASE"}},
		{"zero concurrency", map[string]string{"MAX_CONCURRENCY": "0"}, []string{"MAX_CONCURRENCY"}},
		{"ttl shorter than the retry window", map[string]string{"EVENT_TTL": "24h"}, []string{"EVENT_TTL"}},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		{"email queue url without arn", map[string]string{"EMAIL_QUEUE_URL": "http://q"}, []string{"EMAIL_QUEUE_ARN"}},
		{"email queue arn not an arn", map[string]string{"EMAIL_QUEUE_URL": "http://q", "EMAIL_QUEUE_ARN": "emails"}, []string{"EMAIL_QUEUE_ARN"}},
		{"zero send rate", map[string]string{"EMAIL_SEND_RATE": "0"}, []string{"EMAIL_SEND_RATE"}},
		{"send rate not a number", map[string]string{"EMAIL_SEND_RATE": "fast"}, []string{"EMAIL_SEND_RATE"}},
		{"send rate a typo", map[string]string{"EMAIL_SEND_RATE": "140000"}, []string{"EMAIL_SEND_RATE"}},
		{"zero senders", map[string]string{"EMAIL_SENDER_CONCURRENCY": "0"}, []string{"EMAIL_SENDER_CONCURRENCY"}},
		{"everything at once", map[string]string{"EVENTS_TABLE": "", "MAX_CONCURRENCY": "x", "EVENT_TTL": "y", "LOG_LEVEL": "z"},
			[]string{"EVENTS_TABLE", "MAX_CONCURRENCY", "EVENT_TTL", "LOG_LEVEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tc.set {
				m[k] = v
			}
			_, err := processorapp.Load(env(m))
			if !errors.Is(err, processorapp.ErrInvalidConfig) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
