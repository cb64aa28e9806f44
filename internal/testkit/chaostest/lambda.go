package chaostest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ErrFrozen is what every AWS call of an invocation gets once the
// invocation's deadline has passed: Lambda freezes the sandbox then, and
// nothing the attempt still does reaches the outside world.
var ErrFrozen = errors.New("chaos: the Lambda sandbox is frozen (the invocation's deadline passed)")

type freezeKey struct{}

// WithFreeze returns ctx carrying at, the moment the simulated Lambda
// freezes the invocation. The value survives context.WithoutCancel, as the
// freeze does.
func WithFreeze(ctx context.Context, at time.Time) context.Context {
	return context.WithValue(ctx, freezeKey{}, at)
}

// FreezeTime returns the freeze time ctx carries.
func FreezeTime(ctx context.Context) (time.Time, bool) {
	at, ok := ctx.Value(freezeKey{}).(time.Time)
	return at, ok
}

// HTTPClient is the functions' HTTP client in the chaos test: it refuses
// every request made after the freeze time of its context (ErrFrozen), and
// records each request of a send the Recorder watches (how many the SDK
// made, and what came back).
type HTTPClient struct {
	Next aws.HTTPClient
}

var _ aws.HTTPClient = HTTPClient{}

// Do sends req through Next, unless its invocation is frozen.
func (c HTTPClient) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if at, ok := FreezeTime(ctx); ok && !time.Now().Before(at) {
		recordHTTP(ctx, 0, ErrFrozen)
		return nil, ErrFrozen
	}
	resp, err := c.Next.Do(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	recordHTTP(ctx, status, err)
	return resp, err
}
