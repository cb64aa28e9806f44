package ingestapp_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := ingestapp.Load(env(map[string]string{
		"EVENTS_TABLE": "webhook-events", "QUEUE_URL": "http://127.0.0.1:1/q", "WEBHOOK_SECRETS": "whsec_a, whsec_b",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tolerance != 300*time.Second || c.MaxBody != 256<<10 || c.TTL != 720*time.Hour || c.Lease != 30*time.Second || c.Livemode {
		t.Errorf("defaults: %+v", c)
	}
	if len(c.Types) != 3 || len(c.Secrets) != 2 || string(c.Secrets[1]) != "whsec_b" {
		t.Errorf("types %v secrets %d", c.Types, len(c.Secrets))
	}
}

func TestLoadValues(t *testing.T) {
	c, err := ingestapp.Load(env(map[string]string{
		"EVENTS_TABLE": "t", "QUEUE_URL": "q", "WEBHOOK_SECRET_ID": "arn:aws:secretsmanager:us-east-1:1:secret:x",
		"SIGNATURE_TOLERANCE": "120s", "MAX_BODY_BYTES": "1024", "SUBSCRIBED_EVENT_TYPES": "payment.succeeded",
		"LIVE_MODE": "true", "DEDUPE_TTL": "96h", "DEDUPE_LEASE": "10s", "ALLOWED_SOURCE_CIDRS": "203.0.113.7/24, 2001:db8::/32",
		"LOG_LEVEL": "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tolerance != 2*time.Minute || c.MaxBody != 1024 || !c.Livemode || c.TTL != 96*time.Hour || c.Lease != 10*time.Second {
		t.Errorf("values: %+v", c)
	}
	if len(c.AllowedNets) != 2 || c.AllowedNets[0].String() != "203.0.113.0/24" {
		t.Errorf("AllowedNets = %v", c.AllowedNets)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := ingestapp.Load(env(map[string]string{
		"SIGNATURE_TOLERANCE": "soon", "MAX_BODY_BYTES": "-1", "LIVE_MODE": "maybe", "DEDUPE_TTL": "1h",
		"ALLOWED_SOURCE_CIDRS": "10.0.0.300/8", "LOG_LEVEL": "loud",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"EVENTS_TABLE", "QUEUE_URL", "WEBHOOK_SECRET_ID or WEBHOOK_SECRETS", "SIGNATURE_TOLERANCE", "MAX_BODY_BYTES", "LIVE_MODE", "DEDUPE_TTL", "ALLOWED_SOURCE_CIDRS", "LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestLoadNeverEchoesSecrets(t *testing.T) {
	_, err := ingestapp.Load(env(map[string]string{
		"EVENTS_TABLE": "t", "QUEUE_URL": "q", "WEBHOOK_SECRETS": "whsec_topsecret", "WEBHOOK_SECRET_ID": "id",
	}))
	if err == nil {
		t.Fatal("want an error for two secret sources")
	}
	if strings.Contains(err.Error(), "whsec_topsecret") {
		t.Fatalf("error leaks the secret: %v", err)
	}
}

// MAX_BODY_BYTES stops at the largest body every path can carry and store:
// 393,216 bytes (docs/architecture.md derives it). The template's MaxValue
// says the same (TestTemplateMaxBodyBytes).
func TestLoadMaxBodyLimit(t *testing.T) {
	base := map[string]string{"EVENTS_TABLE": "t", "QUEUE_URL": "q", "WEBHOOK_SECRETS": "whsec_a"}
	tests := []struct {
		value   string
		wantErr bool
	}{
		{"393216", false},
		{"393217", true},
		{"1000000", true}, // the template's old MaxValue
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			m := map[string]string{"MAX_BODY_BYTES": tc.value}
			for k, v := range base {
				m[k] = v
			}
			c, err := ingestapp.Load(env(m))
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "MAX_BODY_BYTES: "+tc.value+" is over 393216") {
					t.Fatalf("Load: got %v, want MAX_BODY_BYTES refused with the limit named", err)
				}
				return
			}
			if err != nil || c.MaxBody != 393216 {
				t.Fatalf("Load: %v, MaxBody %d", err, c.MaxBody)
			}
		})
	}
}

// template.yaml's Tuning value for MaxBodyBytes is one Load accepts, and
// its note names the largest allowed (a mapping value has no MaxValue: an
// operator's edit above the limit is refused at the function's start, with
// the message TestLoadMaxBodyLimit checks).
func TestTemplateMaxBodyBytes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "MaxBodyBytes:") {
			line = strings.TrimSpace(l)
			break
		}
	}
	if line == "" {
		t.Fatal("no MaxBodyBytes value in template.yaml's Tuning mapping")
	}
	value, note, _ := strings.Cut(strings.TrimPrefix(line, "MaxBodyBytes:"), "#")
	value = strings.Trim(strings.TrimSpace(value), `"`)
	limit := strconv.Itoa(eventrecord.MaxBodyBytes)
	if !strings.Contains(note, "at most "+limit) {
		t.Errorf("the template's note %q does not name the limit %s", note, limit)
	}
	c, err := ingestapp.Load(env(map[string]string{
		"EVENTS_TABLE": "events", "QUEUE_URL": "http://127.0.0.1/q", "WEBHOOK_SECRETS": "whsec_x", "MAX_BODY_BYTES": value,
	}))
	if err != nil || strconv.Itoa(c.MaxBody) != value {
		t.Fatalf("Load of the template's MAX_BODY_BYTES %s: %v (MaxBody %d)", value, err, c.MaxBody)
	}
}
