package ingestapp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// A new stack's secret holds the template's placeholder until the
// provider's secret is put into it. Every delivery is then answered as a
// signature failure (401 invalid_signature: nothing can be verified), but
// logged and counted as "no signing secret configured"
// (SigningSecretNotConfigured, which template.yaml alarms on), never as a
// SignatureFailure; the log holds no part of the placeholder. Once the
// secret is put, the same delivery is accepted.
func TestNoSigningSecretConfigured(t *testing.T) {
	ctx := context.Background()
	awsCfg := motoserver.TestConfig(t)
	sm := secretsmanager.NewFromConfig(awsCfg)
	const generated = "Zr4Tq8WbN2mX6vLc9YpK3sHd7Fj1Ga5E"
	placeholder := `{"not_configured":"put the Altafinex signing secret here: webhookctl connect --stack NAME","placeholder":"` + generated + `"}`
	name := motoserver.UniqueName(t, "webhook-secret")
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(placeholder)})
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, map[string]string{"WEBHOOK_SECRETS": "", "WEBHOOK_SECRET_ID": aws.ToString(out.ARN)})

	body := withID(t, sample(t, "payment.succeeded.json"), "evt_nosecret")
	resp := s.send(body)
	if resp.StatusCode != 401 || strings.TrimSpace(resp.Body) != `{"error":"invalid_signature"}` {
		t.Fatalf("answer %d %s, want 401 {\"error\":\"invalid_signature\"}", resp.StatusCode, resp.Body)
	}
	logs := s.logs.String()
	for _, want := range []string{`"outcome":"no_signing_secret"`, `"reason":"no signing secret configured`, `"SigningSecretNotConfigured":1`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, `"SignatureFailure"`) {
		t.Errorf("counted as a signature failure too:\n%s", logs)
	}
	if strings.Contains(logs, generated[:16]) || strings.Contains(logs, generated[16:]) {
		t.Errorf("the placeholder's value is in the log:\n%s", logs)
	}
	if n := s.itemCount(); n != 0 {
		t.Errorf("%d records written for an unverifiable delivery", n)
	}

	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: out.ARN, SecretString: aws.String(secret)}); err != nil {
		t.Fatal(err)
	}
	s.build(awsCfg) // a cold start; a warm one reads it within NotConfiguredRefresh (secrets' test)
	if resp := s.send(body); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"accepted"`) {
		t.Fatalf("after the secret was put: %d %s, want 200 accepted", resp.StatusCode, resp.Body)
	}
}
