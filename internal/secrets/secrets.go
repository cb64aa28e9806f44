// Package secrets provides the webhook signing secrets: from a plain list
// for local runs, or from AWS Secrets Manager in a deployment, cached and
// refreshed on a schedule so that a rotation applies without a redeploy.
package secrets

import (
	"context"
	"encoding/json"
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

// PlaceholderKey marks the value a stack's secret holds until the
// provider's signing secret is put into it: template.yaml generates
// {"not_configured": "…", "placeholder": "<random>"} (the random part keeps
// it unguessable even to code that did not know the mark). Such a value is
// no signing secret: Manager reports nothing configured.
const PlaceholderKey = "not_configured"

// IsPlaceholder reports whether value is the stack's placeholder: a JSON
// object with the PlaceholderKey member. It never returns the value.
func IsPlaceholder(value string) bool {
	v := strings.TrimSpace(value)
	if !strings.HasPrefix(v, "{") {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(v), &m) != nil {
		return false
	}
	_, ok := m[PlaceholderKey]
	return ok
}

// NotConfiguredRefresh is how often Manager reads the secret again while
// it holds the placeholder, so that the first secret put into it is in use
// within seconds (the rest of the time, Refresh applies).
const NotConfiguredRefresh = 10 * time.Second

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
// fetch fails. While AWSCURRENT holds the stack's placeholder (see
// IsPlaceholder) nothing is configured: Secrets returns no secret and no
// error, and reads the value again every NotConfiguredRefresh.
type Manager struct {
	Client  GetSecretValueAPI
	ID      string           // secret name or ARN
	Refresh time.Duration    // 0: DefaultRefresh
	Now     func() time.Time // nil: time.Now
	// OnRefreshError is called when a scheduled refresh fails and the
	// cached value is kept. nil: ignored.
	OnRefreshError func(error)

	mu      sync.Mutex
	loaded  bool     // a value was read (cached is nil while nothing is configured)
	cached  [][]byte //
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
	m.loaded, m.cached, m.fetched = true, v, m.now()
	m.mu.Unlock()
	return nil
}

// Secrets returns the cached secrets, refreshing them first when they are
// older than Refresh. It returns no secret and a nil error while nothing is
// configured (the stack's placeholder). The refresh is one GetSecretValue round trip (two with
// an AWSPREVIOUS version) every few minutes per warm instance: the price of
// picking up a rotation without a redeploy.
func (m *Manager) Secrets(ctx context.Context) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	period := m.refresh()
	if m.cached == nil {
		period = NotConfiguredRefresh
	}
	if m.loaded && now.Sub(m.fetched) < period {
		return m.cached, nil
	}
	v, err := m.fetch(ctx)
	if err != nil {
		if !m.loaded {
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
	m.loaded, m.cached, m.fetched = true, v, now
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
	if IsPlaceholder(cur) {
		return nil, nil // nothing configured yet
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
	case IsPlaceholder(prev.value):
		// The placeholder the first secret replaced: no secret.
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
