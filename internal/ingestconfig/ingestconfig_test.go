package ingestconfig_test

import (
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ingestconfig"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := ingestconfig.Load(env(map[string]string{
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
	c, err := ingestconfig.Load(env(map[string]string{
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
	_, err := ingestconfig.Load(env(map[string]string{
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
	_, err := ingestconfig.Load(env(map[string]string{
		"EVENTS_TABLE": "t", "QUEUE_URL": "q", "WEBHOOK_SECRETS": "whsec_topsecret", "WEBHOOK_SECRET_ID": "id",
	}))
	if err == nil {
		t.Fatal("want an error for two secret sources")
	}
	if strings.Contains(err.Error(), "whsec_topsecret") {
		t.Fatalf("error leaks the secret: %v", err)
	}
}
