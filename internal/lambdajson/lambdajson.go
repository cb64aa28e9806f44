// Package lambdajson calls a Lambda handler the way the Lambda runtime
// does: the event as JSON bytes in, the response's JSON bytes out. The
// local stack and the tests use it with lambda.NewHandler(h.Handle), the
// entry point lambda.Start(h.Handle) runs in the deployment, so that
// aws-lambda-go's decoding of the event and encoding of the response are
// exercised too, with typed events on their side.
package lambdajson

import (
	"context"
	"encoding/json"
	"fmt"
)

// Handler is the entry point the runtime calls: lambda.Handler, as
// lambda.NewHandler returns it.
type Handler interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Call marshals in, invokes h with it and unmarshals the response into an
// Out. An error from h is returned as it is.
func Call[In, Out any](ctx context.Context, h Handler, in In) (Out, error) {
	var out Out
	payload, err := json.Marshal(in)
	if err != nil {
		return out, fmt.Errorf("lambdajson: encode the event: %w", err)
	}
	resp, err := h.Invoke(ctx, payload)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(resp, &out); err != nil {
		return out, fmt.Errorf("lambdajson: decode the response: %w", err)
	}
	return out, nil
}
