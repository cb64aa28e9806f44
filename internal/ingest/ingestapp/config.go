package ingestapp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// Config is the ingest function's configuration.
type Config struct {
	EventsTable   string         // EVENTS_TABLE, required
	QueueURL      string         // QUEUE_URL, required
	SecretID      string         // WEBHOOK_SECRET_ID: Secrets Manager name or ARN
	Secrets       [][]byte       // WEBHOOK_SECRETS: comma-separated, for local runs only
	SecretRefresh time.Duration  // SECRET_REFRESH, default 5m
	Tolerance     time.Duration  // SIGNATURE_TOLERANCE, default 300s
	MaxBody       int            // MAX_BODY_BYTES, default 262144, at most eventrecord.MaxBodyBytes (393216)
	Types         []string       // SUBSCRIBED_EVENT_TYPES, default the spec's three
	Livemode      bool           // LIVE_MODE, default false (test events)
	TTL           time.Duration  // DEDUPE_TTL, default 720h
	Lease         time.Duration  // DEDUPE_LEASE, default 30s
	AllowedNets   []netip.Prefix // ALLOWED_SOURCE_CIDRS, default empty: any source
	Namespace     string         // METRICS_NAMESPACE, default AltafinexWebhooks
	LogLevel      slog.Level     // LOG_LEVEL, default INFO
}

// Load reads the configuration through getenv (os.Getenv in main, a map in
// tests) and reports every problem at once.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		EventsTable:   r.required("EVENTS_TABLE"),
		QueueURL:      r.required("QUEUE_URL"),
		SecretID:      strings.TrimSpace(getenv("WEBHOOK_SECRET_ID")),
		SecretRefresh: r.duration("SECRET_REFRESH", secrets.DefaultRefresh),
		Tolerance:     r.duration("SIGNATURE_TOLERANCE", signature.DefaultTolerance),
		MaxBody:       r.positiveInt("MAX_BODY_BYTES", ingest.DefaultMaxBody),
		Types:         r.list("SUBSCRIBED_EVENT_TYPES", ingest.DefaultTypes),
		Livemode:      r.boolean("LIVE_MODE", false),
		TTL:           r.duration("DEDUPE_TTL", ingest.DefaultTTL),
		Lease:         r.duration("DEDUPE_LEASE", ingest.DefaultLease),
		AllowedNets:   r.prefixes("ALLOWED_SOURCE_CIDRS"),
		Namespace:     r.str("METRICS_NAMESPACE", metrics.DefaultNamespace),
		LogLevel:      r.level("LOG_LEVEL"),
	}
	if v := getenv("WEBHOOK_SECRETS"); strings.TrimSpace(v) != "" {
		s, err := secrets.Split(v)
		if err != nil {
			r.fail("WEBHOOK_SECRETS: %v", err)
		}
		c.Secrets = s
	}
	switch {
	case c.SecretID == "" && c.Secrets == nil:
		r.fail("WEBHOOK_SECRET_ID or WEBHOOK_SECRETS: one is required")
	case c.SecretID != "" && c.Secrets != nil:
		r.fail("WEBHOOK_SECRET_ID and WEBHOOK_SECRETS: set only one")
	}
	if c.MaxBody > eventrecord.MaxBodyBytes {
		r.fail("MAX_BODY_BYTES: %d is over %d, the largest body every path can carry and store (a record that keeps a body is one DynamoDB item of at most 400 KB; see docs/architecture.md, Limits)", c.MaxBody, eventrecord.MaxBodyBytes)
	}
	if c.Tolerance > 0 && c.Tolerance < time.Second {
		r.fail("SIGNATURE_TOLERANCE: %s is under a second", c.Tolerance)
	}
	if c.TTL > 0 && c.TTL < 72*time.Hour {
		r.fail("DEDUPE_TTL: %s is shorter than the provider's 3-day retry window", c.TTL)
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("ingest configuration: %w", err)
	}
	return c, nil
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

func (r *reader) required(name string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		r.fail("%s is required", name)
	}
	return v
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail("%s: %q is not a positive duration such as 300s or 5m", name, v)
		return def
	}
	return d
}

func (r *reader) positiveInt(name string, def int) int {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail("%s: %q is not a positive integer", name, v)
		return def
	}
	return n
}

func (r *reader) boolean(name string, def bool) bool {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail("%s: %q is not true or false", name, v)
		return def
	}
	return b
}

func (r *reader) list(name string, def []string) []string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		r.fail("%s: %q names no event type", name, v)
		return def
	}
	return out
}

func (r *reader) prefixes(name string) []netip.Prefix {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return nil
	}
	var out []netip.Prefix
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			r.fail("%s: %q is not a CIDR such as 203.0.113.0/24", name, s)
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

func (r *reader) level(name string) slog.Level {
	var l slog.Level
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		if err := l.UnmarshalText([]byte(v)); err != nil {
			r.fail("%s: %q is not DEBUG, INFO, WARN or ERROR", name, v)
		}
	}
	return l
}
