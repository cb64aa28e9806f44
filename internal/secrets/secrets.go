// Package secrets provides the webhook signing secrets: from a plain list
// for local runs, or from AWS Secrets Manager in a deployment, cached and
// refreshed on a schedule so that a rotation applies without a redeploy.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// ErrEmpty reports a secret value with no secret in it.
var ErrEmpty = errors.New("no signing secret in value")

// Split parses a comma-separated list of secrets, trimming white space
// around each and dropping empty entries.
func Split(value string) ([][]byte, error) {
	var out [][]byte
	for _, s := range strings.Split(value, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, []byte(s))
		}
	}
	if len(out) == 0 {
		return nil, ErrEmpty
	}
	return out, nil
}

// Static is a fixed list of secrets, for local runs and tests.
type Static [][]byte

// Secrets returns the list.
func (s Static) Secrets(context.Context) ([][]byte, error) { return s, nil }

// GetSecretValueAPI is the one Secrets Manager call Manager needs.
type GetSecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// DefaultRefresh is how often Manager reads the secret again.
const DefaultRefresh = 5 * time.Minute

// Manager reads the signing secrets from one Secrets Manager secret. Both
// the AWSCURRENT and the AWSPREVIOUS version are accepted, and each version's
// value may itself hold up to two comma-separated secrets, so a rotation in
// either style keeps old signatures valid until it completes.
//
// The value is fetched by Load at cold start and cached; Secrets fetches it
// again once Refresh has passed, and keeps the last good value when that
// fetch fails.
type Manager struct {
	Client  GetSecretValueAPI
	ID      string           // secret name or ARN
	Refresh time.Duration    // 0: DefaultRefresh
	Now     func() time.Time // nil: time.Now
	// OnRefreshError is called when a scheduled refresh fails and the
	// cached value is kept. nil: ignored.
	OnRefreshError func(error)

	mu      sync.Mutex
	cached  [][]byte
	fetched time.Time
}

// Load fetches the secret now. Call it once at start-up: a deployment that
// cannot read its secret should fail its cold start, not every request.
func (m *Manager) Load(ctx context.Context) error {
	v, err := m.fetch(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.cached, m.fetched = v, m.now()
	m.mu.Unlock()
	return nil
}

// Secrets returns the cached secrets, refreshing them first when they are
// older than Refresh. The refresh is one GetSecretValue round trip (two with
// an AWSPREVIOUS version) every few minutes per warm instance: the price of
// picking up a rotation without a redeploy.
func (m *Manager) Secrets(ctx context.Context) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.cached != nil && now.Sub(m.fetched) < m.refresh() {
		return m.cached, nil
	}
	v, err := m.fetch(ctx)
	if err != nil {
		if m.cached == nil {
			return nil, err
		}
		// Keep the last good value; try again after another period rather
		// than on every request.
		m.fetched = now
		if m.OnRefreshError != nil {
			m.OnRefreshError(err)
		}
		return m.cached, nil
	}
	m.cached, m.fetched = v, now
	return v, nil
}

func (m *Manager) fetch(ctx context.Context) ([][]byte, error) {
	// The two versions are read at once: at a cold start this is the only
	// network call before the first request, so its latency is init time.
	type answer struct {
		value string
		err   error
	}
	prevc := make(chan answer, 1)
	go func() {
		v, err := m.version(ctx, "AWSPREVIOUS")
		prevc <- answer{v, err}
	}()
	cur, err := m.version(ctx, "AWSCURRENT")
	prev := <-prevc
	if err != nil {
		return nil, err
	}
	out, err := Split(cur)
	if err != nil {
		return nil, fmt.Errorf("secret %s AWSCURRENT: %w", m.ID, err)
	}
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(prev.err, &nf):
		// No previous version: the secret was never rotated.
	case prev.err != nil:
		return nil, prev.err
	default:
		if more, err := Split(prev.value); err == nil {
			out = appendNew(out, more)
		}
	}
	return out, nil
}

func (m *Manager) version(ctx context.Context, stage string) (string, error) {
	out, err := m.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(m.ID),
		VersionStage: aws.String(stage),
	})
	if err != nil {
		return "", fmt.Errorf("get secret %s %s: %w", m.ID, stage, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s %s: %w (binary secrets are not supported)", m.ID, stage, ErrEmpty)
	}
	return *out.SecretString, nil
}

func appendNew(dst, src [][]byte) [][]byte {
	for _, s := range src {
		dup := false
		for _, d := range dst {
			if string(d) == string(s) {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, s)
		}
	}
	return dst
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) refresh() time.Duration {
	if m.Refresh > 0 {
		return m.Refresh
	}
	return DefaultRefresh
}
