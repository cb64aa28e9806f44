// Package sqsbatch adapts the processor to Lambda's SQS event source
// mapping with ReportBatchItemFailures: it turns an events.SQSEvent into
// queue messages, processes them, and answers an events.SQSEventResponse
// that names exactly the records to deliver again. The Lambda runtime
// calls Handle through lambda.Start(h.Handle): aws-lambda-go decodes the
// invocation and encodes the response with encoding/json.
//
// The handler's error is always nil: one record's failure never makes the
// whole batch retry, and every record's outcome is in the response.
package sqsbatch

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
)

// Processor processes the messages of one batch and returns their results
// in the same order (*process.Processor).
type Processor interface {
	ProcessBatch(ctx context.Context, msgs []eventrecord.Message) []process.Result
}

var _ Processor = (*process.Processor)(nil)

// Names of the metrics the handler counts, one per outcome, plus the
// processing latency of processed events.
var outcomeMetrics = map[process.Outcome]string{
	process.OutcomeProcessed: "Processed",
	process.OutcomeDuplicate: "ProcessorDuplicate",
	process.OutcomeInFlight:  "ProcessorInFlight",
	process.OutcomeRetrying:  "Retried",
	process.OutcomeFailed:    "Failed",
}

// Names of the handler's other metrics.
const (
	// MetricLatency is the processing time of a processed event, in ms.
	MetricLatency = "ProcessingLatency"
	// MetricPanic counts records whose handler panicked.
	MetricPanic = "ProcessorPanic"
)

// Handler is the processor function's Lambda handler.
type Handler struct {
	proc Processor
	log  *slog.Logger
	// Metrics receives a count per outcome (Processed, Retried, Failed,
	// ProcessorDuplicate, ProcessorInFlight), ProcessorPanic, one count per
	// note the handlers wrote under the note's Metric (dimension Kind:
	// EmailUndeliverable, OrderAnomaly; rare, so their per-kind metrics
	// cost nothing until they happen) and ProcessingLatency; the outcome
	// counts and panics with the dimension Function alone; nil: no metrics.
	Metrics *metrics.EMF
	// Defer, when set, may take over each record to retry (see
	// Deferrer): a deferred record is acknowledged and counted Deferred
	// instead of Retried.
	Defer Deferrer
}

// New returns the handler of batches for proc; log receives one summary
// line per batch (slog.Default when nil).
func New(proc Processor, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{proc: proc, log: log}
}

// Handle processes one batch and reports the records to retry as batch item
// failures, by message id, in the batch's order; no failure is an empty
// list. The error is always nil: one record's failure never makes the
// whole batch retry.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	msgs := make([]eventrecord.Message, len(ev.Records))
	for i, r := range ev.Records {
		msgs[i] = Message(r)
	}
	results := h.proc.ProcessBatch(ctx, msgs)
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	deferred := 0
	counts := map[process.Outcome]int{}
	for i, r := range ev.Records {
		// A result missing for a record cannot be told apart from a
		// failure: retry it.
		if i < len(results) && results[i].Outcome.Retry() && h.Defer != nil && h.Defer.Defer(ctx, msgs[i], results[i]) {
			deferred++
			h.count(results[i], true)
			continue
		}
		if i >= len(results) || results[i].Outcome.Retry() {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
		}
		if i < len(results) {
			counts[results[i].Outcome]++
			h.count(results[i], false)
		}
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "batch done",
		slog.Int("records", len(ev.Records)),
		slog.Int("retry", len(resp.BatchItemFailures)),
		slog.Int("deferred", deferred),
		slog.Int(string(process.OutcomeProcessed), counts[process.OutcomeProcessed]),
		slog.Int(string(process.OutcomeDuplicate), counts[process.OutcomeDuplicate]),
		slog.Int(string(process.OutcomeFailed), counts[process.OutcomeFailed]),
		slog.Int(string(process.OutcomeRetrying), counts[process.OutcomeRetrying]),
		slog.Int(string(process.OutcomeInFlight), counts[process.OutcomeInFlight]))
	return resp, nil
}

// count counts r's outcome (Deferred instead when deferred), panic and
// notes.
func (h *Handler) count(r process.Result, deferred bool) {
	if h.Metrics == nil {
		return
	}
	if deferred {
		h.Metrics.Count(MetricDeferred)
	}
	// The outcome counts and panics carry the dimension Function only:
	// each extra dimension set is another custom metric at $0.30 a month
	// per event type, the largest part of a small deployment's fixed bill
	// that no alarm or dashboard widget reads (docs/performance.md, "The
	// bill"). The event type is on the record's log line.
	if name, ok := outcomeMetrics[r.Outcome]; ok && !deferred {
		h.Metrics.Count(name)
	}
	if errors.Is(r.Err, process.ErrPanic) {
		h.Metrics.Count(MetricPanic)
	}
	for _, n := range r.Notes {
		if n.Metric != "" {
			h.Metrics.Count(n.Metric, metrics.Dim{Name: "Kind", Value: n.Kind})
		}
	}
	if r.Outcome == process.OutcomeProcessed {
		h.Metrics.Put(MetricLatency, float64(r.Duration.Milliseconds()), metrics.Milliseconds)
	}
}

// Message reads the queue message out of an SQS record: the body, decoded
// as its body_encoding attribute says (base64 from this version, the raw
// body from earlier ones), the event id, type, received time, replay
// flag and a deferral's times from the message attributes, and when SQS
// took the message (the SentTimestamp system attribute). Missing or malformed attributes are
// left zero; the processor then routes on the body. A body that does not
// decode is kept as it came: the processor records it FAILED, body kept.
func Message(r events.SQSMessage) eventrecord.Message {
	body := []byte(r.Body)
	if raw, err := eventrecord.DecodeBody(body, attr(r, eventrecord.AttrBodyEncoding)); err == nil {
		body = raw
	}
	m := eventrecord.Message{
		EventID: attr(r, eventrecord.AttrEventID),
		Type:    attr(r, eventrecord.AttrType),
		Body:    body,
		Replay:  attr(r, eventrecord.AttrReplay) == "true",
	}
	m.ReceivedAt = unixMS(attr(r, eventrecord.AttrReceivedAt))
	m.DeferredSince = unixMS(attr(r, eventrecord.AttrDeferredSince))
	m.DeferredUntil = unixMS(attr(r, eventrecord.AttrDeferredUntil))
	m.SentAt = unixMS(r.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)])
	return m
}

// unixMS is the time of s, Unix milliseconds; zero when s is not a
// positive integer.
func unixMS(s string) time.Time {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

func attr(r events.SQSMessage, name string) string {
	a, ok := r.MessageAttributes[name]
	if !ok || a.StringValue == nil {
		return ""
	}
	return *a.StringValue
}

// LogHandler wraps next so that every record logged with a context from a
// Lambda invocation carries the invocation's aws_request_id.
func LogHandler(next slog.Handler) slog.Handler { return requestIDHandler{next} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("aws_request_id", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
