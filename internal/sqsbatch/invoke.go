package sqsbatch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/altafinex-webhooks/receiver/internal/jsontext"
)

// Invoke serves one Lambda invocation from its raw bytes, so that the
// Lambda runtime hands them over without decoding them by reflection first
// (lambda.Start uses a lambda.Handler as it is). An event DecodeBatch does
// not read goes through encoding/json; only one that is not an SQS event
// at all returns an error, as the runtime's own decoding would. The
// response is Handle's, written by AppendResponse.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	recs, err := DecodeBatch(payload)
	if err != nil {
		var ev events.SQSEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("sqsbatch: decode the invocation as an SQS event: %w", err)
		}
		recs = FromEvent(ev)
		// Lambda never sends such an event: say so, in case its format
		// has changed.
		h.log.LogAttrs(ctx, slog.LevelWarn, "invocation outside the fast decoder, decoded with encoding/json",
			slog.Int("records", len(recs)))
	}
	failed := h.process(ctx, recs)
	return AppendResponse(make([]byte, 0, 32+64*len(failed)), failed), nil
}

var _ lambda.Handler = (*Handler)(nil)

// AppendResponse appends the events.SQSEventResponse that names the
// records of message ids failed as batch item failures, as json.Marshal
// writes it, without reflection: no failure is an empty list, not null.
func AppendResponse(dst []byte, failed []string) []byte {
	dst = append(dst, `{"batchItemFailures":[`...)
	for i, id := range failed {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"itemIdentifier":`...)
		dst = jsontext.AppendString(dst, id)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}
