package processorapp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
)

// The environment variables the processor reads.
const (
	EnvEventsTable      = "EVENTS_TABLE"
	EnvOrdersTable      = "ORDERS_TABLE"
	EnvRefundsTable     = "REFUNDS_TABLE"
	EnvSenderEmail      = "SENDER_EMAIL"
	EnvEventBusName     = "EVENT_BUS_NAME"
	EnvRetryURLTemplate = "RETRY_URL_TEMPLATE"
	EnvProcessingLease  = "PROCESSING_LEASE"
	EnvMaxConcurrency   = "MAX_CONCURRENCY"
	EnvEventTTL         = "EVENT_TTL"
	EnvLogLevel         = "LOG_LEVEL"
	EnvNamespace        = "METRICS_NAMESPACE"
	// The events queue, where a throttled event is deferred.
	EnvEventsQueueURL = "EVENTS_QUEUE_URL"
	// The email queue: the processor queues emails on it and serves it
	// through a second event source mapping.
	EnvEmailQueueURL          = "EMAIL_QUEUE_URL"
	EnvEmailQueueARN          = "EMAIL_QUEUE_ARN"
	EnvEmailSendRate          = "EMAIL_SEND_RATE"
	EnvEmailSenderConcurrency = "EMAIL_SENDER_CONCURRENCY"
)

// Defaults of the optional settings.
const (
	DefaultRetryURLTemplate = handlers.DefaultRetryURLTemplate
	DefaultProcessingLease  = 2 * time.Minute
	DefaultMaxConcurrency   = 10
	DefaultEventTTL         = 720 * time.Hour
	// DefaultEmailSendRate is a new SES production account's sending
	// rate, emails a second.
	DefaultEmailSendRate = 14.0
	// DefaultEmailSenderConcurrency is the email mapping's maximum
	// concurrency: 2, the least Lambda accepts.
	DefaultEmailSenderConcurrency = 2
)

// Bounds of the settings.
const (
	// MaxProcessingLease is Lambda's longest timeout: a lease beyond it
	// outlives any invocation.
	MaxProcessingLease = 15 * time.Minute
	// MinEventTTL is the provider's retry window (3 days): a record must
	// outlive the retries of its event, or a late retry is applied again.
	MinEventTTL       = 72 * time.Hour
	MaxMaxConcurrency = 1000
	// MaxEmailSendRate is far above any SES account's rate: a value
	// beyond it is a typo.
	MaxEmailSendRate = 10000.0
)

// ErrInvalidConfig is the cause of every error Load returns.
var ErrInvalidConfig = errors.New("invalid processor configuration")

// Config is the processor's configuration.
type Config struct {
	EventsTable string
	OrdersTable string
	// RefundsTable holds one item per refund applied; empty in the
	// environment: OrdersTable + "-refunds" (the name ddborders.CreateTable
	// gives it in local runs and tests).
	RefundsTable string
	// SenderEmail is the SES sender; empty: emails are only logged.
	SenderEmail string
	// EventBusName is the EventBridge bus; empty: no domain events.
	EventBusName string
	// RetryURLTemplate is the failure notice's retry link; {order_id} is
	// replaced by the order id.
	RetryURLTemplate string
	ProcessingLease  time.Duration
	MaxConcurrency   int
	EventTTL         time.Duration
	LogLevel         slog.Level
	// Namespace is the CloudWatch namespace of the EMF metrics.
	Namespace string
	// EventsQueueURL is the events queue; empty: a throttled event is
	// retried through the queue's receives instead of deferred.
	EventsQueueURL string
	// EmailQueueURL and EmailQueueARN are the email queue; empty: emails
	// are sent inline by the email step (local runs without the queue;
	// the template always sets them).
	EmailQueueURL string
	EmailQueueARN string
	// EmailSendRate is the SES account's sending rate the senders share,
	// emails a second; EmailSenderConcurrency the most senders at once
	// (the email mapping's maximum concurrency). Each sender paces itself
	// to EmailSendRate / EmailSenderConcurrency.
	EmailSendRate          float64
	EmailSenderConcurrency int
}

// EmailQueued reports whether emails go through the email queue.
func (c Config) EmailQueued() bool { return c.EmailQueueURL != "" }

// SenderRate is the pace of one email sender: its share of the rate.
func (c Config) SenderRate() float64 {
	return c.EmailSendRate / float64(max(c.EmailSenderConcurrency, 1))
}

// Load reads the configuration through getenv (os.Getenv in main) and
// validates every value. The error wraps ErrInvalidConfig and lists every problem.
func Load(getenv func(string) string) (Config, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }

	c := Config{
		EventsTable:      get(EnvEventsTable),
		OrdersTable:      get(EnvOrdersTable),
		RefundsTable:     get(EnvRefundsTable),
		SenderEmail:      get(EnvSenderEmail),
		EventBusName:     get(EnvEventBusName),
		RetryURLTemplate: get(EnvRetryURLTemplate),
		ProcessingLease:  DefaultProcessingLease,
		MaxConcurrency:   DefaultMaxConcurrency,
		EventTTL:         DefaultEventTTL,
		LogLevel:         slog.LevelInfo,
		Namespace:        get(EnvNamespace),
		EventsQueueURL:   get(EnvEventsQueueURL),
		EmailQueueURL:    get(EnvEmailQueueURL),
		EmailQueueARN:    get(EnvEmailQueueARN),

		EmailSendRate:          DefaultEmailSendRate,
		EmailSenderConcurrency: DefaultEmailSenderConcurrency,
	}
	for _, req := range []struct{ name, value string }{
		{EnvEventsTable, c.EventsTable},
		{EnvOrdersTable, c.OrdersTable},
	} {
		if req.value == "" {
			bad("%s is required", req.name)
		}
	}
	if c.RefundsTable == "" && c.OrdersTable != "" {
		c.RefundsTable = c.OrdersTable + "-refunds"
	}
	if c.SenderEmail != "" {
		if a, err := mail.ParseAddress(c.SenderEmail); err != nil {
			bad("%s %q is not an email address: %v", EnvSenderEmail, c.SenderEmail, err)
		} else if a.Name == "" && a.Address != c.SenderEmail {
			bad("%s %q is not a plain email address", EnvSenderEmail, c.SenderEmail)
		}
	}
	if c.RetryURLTemplate == "" {
		c.RetryURLTemplate = DefaultRetryURLTemplate
	} else if err := checkRetryURL(c.RetryURLTemplate); err != nil {
		bad("%s %q: %v", EnvRetryURLTemplate, c.RetryURLTemplate, err)
	}
	if v := get(EnvProcessingLease); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("%s %q is not a duration such as 2m: %v", EnvProcessingLease, v, err)
		case d <= 0 || d > MaxProcessingLease:
			bad("%s %s must be above 0 and at most %s", EnvProcessingLease, d, MaxProcessingLease)
		default:
			c.ProcessingLease = d
		}
	}
	if v := get(EnvMaxConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad("%s %q is not an integer", EnvMaxConcurrency, v)
		case n < 1 || n > MaxMaxConcurrency:
			bad("%s %d must be between 1 and %d", EnvMaxConcurrency, n, MaxMaxConcurrency)
		default:
			c.MaxConcurrency = n
		}
	}
	if v := get(EnvEventTTL); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("%s %q is not a duration such as 720h: %v", EnvEventTTL, v, err)
		case d < MinEventTTL:
			bad("%s %s must be at least %s, the provider's retry window", EnvEventTTL, d, MinEventTTL)
		default:
			c.EventTTL = d
		}
	}
	if v := get(EnvLogLevel); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			bad("%s %q is not one of DEBUG, INFO, WARN, ERROR", EnvLogLevel, v)
		}
	}
	if (c.EmailQueueURL == "") != (c.EmailQueueARN == "") {
		bad("%s and %s go together: set both or neither", EnvEmailQueueURL, EnvEmailQueueARN)
	} else if c.EmailQueueARN != "" && !strings.HasPrefix(c.EmailQueueARN, "arn:") {
		bad("%s %q is not an ARN", EnvEmailQueueARN, c.EmailQueueARN)
	}
	if v := get(EnvEmailSendRate); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil:
			bad("%s %q is not a number", EnvEmailSendRate, v)
		case !(f > 0 && f <= MaxEmailSendRate):
			bad("%s %v must be above 0 and at most %v emails a second", EnvEmailSendRate, f, MaxEmailSendRate)
		default:
			c.EmailSendRate = f
		}
	}
	if v := get(EnvEmailSenderConcurrency); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad("%s %q is not an integer", EnvEmailSenderConcurrency, v)
		case n < 1 || n > MaxMaxConcurrency:
			bad("%s %d must be between 1 and %d", EnvEmailSenderConcurrency, n, MaxMaxConcurrency)
		default:
			c.EmailSenderConcurrency = n
		}
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
	}
	return c, nil
}

func checkRetryURL(tmpl string) error {
	if !strings.Contains(tmpl, "{order_id}") {
		return errors.New("must contain {order_id}")
	}
	u, err := url.Parse(strings.ReplaceAll(tmpl, "{order_id}", "ord_1"))
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}
