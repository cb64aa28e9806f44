// Package apigw adapts API Gateway HTTP API (payload format 2.0) requests
// to the ingest service and its results back to HTTP answers, and logs and
// counts each delivery. The mapping from outcome to status code lives here,
// in one table.
package apigw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// answer is how one outcome is told to the client and counted.
type answer struct {
	status int
	field  string // "status" for 2xx answers, "error" otherwise
	metric string
	level  slog.Level
	public ingest.Outcome // the outcome the client is told; "": the real one
}

var answers = map[ingest.Outcome]answer{
	ingest.Accepted:         {http.StatusOK, "status", "Accepted", slog.LevelInfo, ""},
	ingest.Duplicate:        {http.StatusOK, "status", "Duplicate", slog.LevelInfo, ""},
	ingest.Ignored:          {http.StatusOK, "status", "Ignored", slog.LevelInfo, ""},
	ingest.Rejected:         {http.StatusOK, "status", "Rejected", slog.LevelError, ""},
	ingest.PayloadMismatch:  {http.StatusOK, "status", "PayloadMismatch", slog.LevelError, ""},
	ingest.InFlight:         {http.StatusConflict, "error", "InFlight", slog.LevelWarn, ""},
	ingest.InvalidSignature: {http.StatusUnauthorized, "error", "SignatureFailure", slog.LevelWarn, ""},
	// Counted apart from SignatureFailure (its own alarm), told as one.
	ingest.NoSecret:         {http.StatusUnauthorized, "error", "SigningSecretNotConfigured", slog.LevelError, ingest.InvalidSignature},
	ingest.PayloadTooLarge:  {http.StatusRequestEntityTooLarge, "error", "PayloadTooLarge", slog.LevelWarn, ""},
	ingest.MethodNotAllowed: {http.StatusMethodNotAllowed, "error", "BadRequest", slog.LevelWarn, ""},
	ingest.Forbidden:        {http.StatusForbidden, "error", "Forbidden", slog.LevelWarn, ""},
	ingest.BadRequest:       {http.StatusBadRequest, "error", "BadRequest", slog.LevelWarn, ""},
	ingest.Unavailable:      {http.StatusServiceUnavailable, "error", "Unavailable", slog.LevelError, ""},
}

// Receiver is what the handler calls; *ingest.Service implements it.
type Receiver interface {
	Receive(ctx context.Context, req ingest.Request) ingest.Result
}

// Handler is the ingest Lambda's handler.
type Handler struct {
	Receiver Receiver
	Log      *slog.Logger
	Metrics  *metrics.EMF     // nil: no metrics
	Now      func() time.Time // nil: time.Now
}

// Handle serves one API Gateway payload-2.0 request (HTTP API, or a Lambda
// function URL, which sends the same format). It never returns an error:
// every failure is an HTTP answer, so API Gateway never turns one into a
// bare 500. The Lambda calls it through lambda.Start(h.Handle), which
// decodes the invocation and encodes the response with encoding/json; the
// local stack and the tests call it through lambda.NewHandler(h.Handle),
// the same code.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	start := now()
	req, err := Request(ev)
	var res ingest.Result
	if err != nil {
		res = ingest.Result{Outcome: ingest.BadRequest, Reason: err.Error()}
	} else {
		res = h.Receiver.Receive(ctx, req)
	}
	a, ok := answers[res.Outcome]
	if !ok {
		a = answers[ingest.Unavailable]
	}
	h.observe(ctx, ev.RequestContext.RequestID, res, a, now().Sub(start))
	body, err := json.Marshal(answerFor(a, res))
	if err != nil { // three strings: json.Marshal cannot fail
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("apigw: encode the answer: %w", err)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: a.status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(append(body, '\n')),
	}, nil
}

func (h *Handler) observe(ctx context.Context, requestID string, res ingest.Result, a answer, d time.Duration) {
	level := a.level
	if res.Outcome == ingest.Ignored && res.Reason == ingest.IgnoredLivemode {
		// A deployment of the other mode may be discarding payments.
		level = slog.LevelError
	}
	if h.Log != nil {
		attrs := []slog.Attr{
			slog.String("request_id", requestID),
			slog.String("event_id", res.EventID),
			slog.String("event_type", res.EventType),
			slog.String("outcome", string(res.Outcome)),
			slog.Int("status", a.status),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		}
		if res.Reason != "" {
			attrs = append(attrs, slog.String("reason", res.Reason))
		}
		if res.Err != nil {
			attrs = append(attrs, slog.String("error", res.Err.Error()))
		}
		h.Log.LogAttrs(ctx, level, "webhook delivery", attrs...)
	}
	switch res.Outcome {
	case ingest.InvalidSignature, ingest.Ignored:
		// Both reasons are a handful of fixed codes: a metric dimension.
		h.Metrics.Count(a.metric, metrics.Dim{Name: "Reason", Value: res.Reason})
		return
	}
	h.Metrics.Count(a.metric)
}

// answerFor is the JSON answer for a result: {"status": …} for 2xx,
// {"error": …} otherwise, with the event id on 2xx answers. Details stay in
// the log.
func answerFor(a answer, res ingest.Result) answerBody {
	var body answerBody
	told := res.Outcome
	if a.public != "" {
		told = a.public
	}
	if a.field == "status" {
		body.Status = string(told)
	} else {
		body.Error = string(told)
	}
	if a.status < 300 {
		body.EventID = res.EventID
	}
	return body
}

type answerBody struct {
	EventID string `json:"event_id,omitempty"`
	Status  string `json:"status,omitempty"`
	Error   string `json:"error,omitempty"`
}

// signatureKey is the header's name as API Gateway delivers it.
var signatureKey = strings.ToLower(signature.HeaderName)

// ErrBadBase64 is Request's error for a body API Gateway marked base64
// that is not.
var ErrBadBase64 = errors.New("body is not valid base64")

// Request turns the event into an ingest request: the body base64-decoded
// when API Gateway encoded it, the signature header found in any case.
func Request(ev events.APIGatewayV2HTTPRequest) (ingest.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return ingest.Request{}, ErrBadBase64
		}
	}
	return ingest.Request{
		Method:    ev.RequestContext.HTTP.Method,
		Body:      body,
		Signature: Header(ev.Headers, signatureKey),
		SourceIP:  ev.RequestContext.HTTP.SourceIP,
	}, nil
}

// Header looks name up in API Gateway's header map, whatever the case of
// its keys; a lower-case name takes the fast path, as HTTP APIs deliver
// header names lower-cased. API Gateway joins repeated headers with
// commas, which the signature scheme's list syntax absorbs.
func Header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
