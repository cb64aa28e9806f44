package secrets_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

func TestSplit(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr error
	}{
		{"whsec_a", []string{"whsec_a"}, nil},
		{" whsec_a , whsec_b ", []string{"whsec_a", "whsec_b"}, nil},
		{"whsec_a,,", []string{"whsec_a"}, nil},
		{"", nil, secrets.ErrEmpty},
		{" , ", nil, secrets.ErrEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := secrets.Split(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(asStrings(got), tc.want) {
				t.Errorf("got %q, want %q", asStrings(got), tc.want)
			}
		})
	}
}

// flaky wraps the real client and fails while fail is set.
type flaky struct {
	secrets.GetSecretValueAPI
	fail  atomic.Bool
	calls atomic.Int32
}

func (f *flaky) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return nil, errors.New("injected: secrets manager unreachable")
	}
	return f.GetSecretValueAPI.GetSecretValue(ctx, in, opts...)
}

func TestManagerRotation(t *testing.T) {
	ctx := context.Background()
	client := secretsmanager.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "webhook-secret")
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("whsec_old")}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	now := time.Unix(1795795500, 0)
	fc := &flaky{GetSecretValueAPI: client}
	var refreshErrs int
	m := &secrets.Manager{Client: fc, ID: name, Refresh: 5 * time.Minute, Now: func() time.Time { return now },
		OnRefreshError: func(error) { refreshErrs++ }}
	if err := m.Load(ctx); err != nil {
		t.Fatalf("Load: %v", err)
	}
	assertSecrets(t, m, "whsec_old")

	if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String("whsec_new")}); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	now = now.Add(time.Minute)
	assertSecrets(t, m, "whsec_old") // cached until the refresh period passes

	now = now.Add(5 * time.Minute)
	assertSecrets(t, m, "whsec_new", "whsec_old") // AWSCURRENT and AWSPREVIOUS

	fc.fail.Store(true)
	now = now.Add(6 * time.Minute)
	assertSecrets(t, m, "whsec_new", "whsec_old") // last good value kept
	if refreshErrs != 1 {
		t.Errorf("OnRefreshError called %d times, want 1", refreshErrs)
	}
	calls := fc.calls.Load()
	assertSecrets(t, m, "whsec_new", "whsec_old")
	if got := fc.calls.Load(); got != calls {
		t.Errorf("a failed refresh is retried on every request: %d calls, want %d", got, calls)
	}
}

func TestManagerCommaSeparatedValue(t *testing.T) {
	ctx := context.Background()
	client := secretsmanager.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "webhook-secret")
	if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("whsec_new, whsec_old")}); err != nil {
		t.Fatal(err)
	}
	m := &secrets.Manager{Client: client, ID: name}
	if err := m.Load(ctx); err != nil {
		t.Fatal(err)
	}
	assertSecrets(t, m, "whsec_new", "whsec_old")
}

func TestManagerLoadFails(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{"missing secret", ""},
		{"empty value", " , "},
	}
	ctx := context.Background()
	client := secretsmanager.NewFromConfig(motoserver.TestConfig(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := motoserver.UniqueName(t, "webhook-secret")
			if tc.value != "" {
				if _, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(tc.value)}); err != nil {
					t.Fatal(err)
				}
			}
			m := &secrets.Manager{Client: client, ID: name}
			if err := m.Load(ctx); err == nil {
				t.Fatal("Load: want an error, got none")
			}
			if _, err := m.Secrets(ctx); err == nil {
				t.Fatal("Secrets without a loaded value: want an error, got none")
			}
		})
	}
}

func assertSecrets(t *testing.T, m *secrets.Manager, want ...string) {
	t.Helper()
	got, err := m.Secrets(context.Background())
	if err != nil {
		t.Fatalf("Secrets: %v", err)
	}
	if !slices.Equal(asStrings(got), want) {
		t.Fatalf("Secrets = %q, want %q", asStrings(got), want)
	}
}

func asStrings(b [][]byte) []string {
	var out []string
	for _, s := range b {
		out = append(out, string(s))
	}
	return out
}
