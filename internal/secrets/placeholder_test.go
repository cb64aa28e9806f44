package secrets_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
)

// placeholder is what template.yaml's GenerateSecretString makes:
// SecretStringTemplate plus a random GenerateStringKey member.
const placeholder = `{"not_configured":"put the Altafinex signing secret here: webhookctl connect --stack NAME","placeholder":"q8ZkT2bW9xLmN4vR7cYp1sDfGh3jK6aE0uIoP5tQ"}`

func TestIsPlaceholder(t *testing.T) {
	tests := []struct {
		value string
		want  bool
	}{
		{placeholder, true},
		{"  " + placeholder + "\n", true},
		{`{"not_configured":""}`, true},
		{"whsec_a", false},
		{"whsec_a,whsec_b", false},
		{"q8ZkT2bW9xLmN4vR7cYp1sDfGh3jK6aE0uIoP5tQ", false}, // the old bare random placeholder: a (wrong) secret
		{`{"placeholder":"x"}`, false},
		{`{"not_configured"`, false},
		{"", false},
	}
	for _, tc := range tests {
		if got := secrets.IsPlaceholder(tc.value); got != tc.want {
			t.Errorf("IsPlaceholder(%q) = %v, want %v", tc.value, got, tc.want)
		}
	}
}

// A stack's secret that still holds its placeholder: the cold start
// succeeds, nothing is configured (no secret, no error), the value is read
// again every NotConfiguredRefresh, and the first secret put into it is
// used alone (the placeholder, now AWSPREVIOUS, is no secret).
func TestManagerPlaceholderThenFirstSecret(t *testing.T) {
	ctx := context.Background()
	client := secretsmanager.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "webhook-secret")
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(placeholder)}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	now := time.Unix(1795795500, 0)
	fc := &flaky{GetSecretValueAPI: client}
	m := &secrets.Manager{Client: fc, ID: name, Refresh: 5 * time.Minute, Now: func() time.Time { return now }}
	if err := m.Load(ctx); err != nil {
		t.Fatalf("Load with the placeholder: %v", err)
	}
	assertSecrets(t, m)
	calls := fc.calls.Load()
	assertSecrets(t, m)
	if got := fc.calls.Load(); got != calls {
		t.Errorf("read again within NotConfiguredRefresh: %d calls, want %d", got, calls)
	}

	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("whsec_first")}); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	now = now.Add(secrets.NotConfiguredRefresh)
	assertSecrets(t, m, "whsec_first") // not the placeholder, now AWSPREVIOUS

	// Configured: the ordinary refresh period applies again.
	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("whsec_second")}); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	now = now.Add(secrets.NotConfiguredRefresh)
	assertSecrets(t, m, "whsec_first")
	now = now.Add(5 * time.Minute)
	assertSecrets(t, m, "whsec_second", "whsec_first")
}

// The placeholder template.yaml generates is the one IsPlaceholder knows:
// its SecretStringTemplate plus the random GenerateStringKey member, as
// Secrets Manager builds it.
func TestTemplatePlaceholderIsRecognized(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := regexp.MustCompile(`(?m)^\s+SecretStringTemplate: '(.*)'$`).FindSubmatch(raw)
	key := regexp.MustCompile(`(?m)^\s+GenerateStringKey: (\w+)$`).FindSubmatch(raw)
	if tmpl == nil || key == nil {
		t.Fatal("template.yaml's WebhookSecret has no SecretStringTemplate and GenerateStringKey")
	}
	var m map[string]string
	if err := json.Unmarshal(tmpl[1], &m); err != nil {
		t.Fatalf("SecretStringTemplate is not a JSON object: %v", err)
	}
	m[string(key[1])] = "q8ZkT2bW9xLmN4vR7cYp1sDfGh3jK6aE0uIoP5tQ"
	generated, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !secrets.IsPlaceholder(string(generated)) {
		t.Errorf("IsPlaceholder(%s) = false: ingest would take the placeholder for a secret", generated)
	}
}
