package local

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
)

// Invoke calls a Lambda handler the way the Lambda runtime does: it
// marshals in, invokes handle through lambda.NewHandler(handle) (the entry
// point lambda.Start(handle) runs in the deployment) and unmarshals the
// response into an Out. The local stack and the tests call the handlers
// through it so that aws-lambda-go's decoding of the event and encoding of
// the response are exercised too, with typed events on their side. An error
// from handle is returned as it is.
//
// Each call builds its own lambda.Handler: its Invoke returns a slice of a
// pooled buffer that it has already put back for the next invocation, so
// one Handler must not be invoked concurrently. The Lambda runtime never
// does; the local stack and the chaos test do.
func Invoke[In, Out any](ctx context.Context, handle func(context.Context, In) (Out, error), in In) (Out, error) {
	var out Out
	payload, err := json.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("invoke: encode the event: %w", err)
	}
	resp, err := lambda.NewHandler(handle).Invoke(ctx, payload)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(resp, &out); err != nil {
		return out, fmt.Errorf("invoke: decode the response: %w", err)
	}
	return out, nil
}
