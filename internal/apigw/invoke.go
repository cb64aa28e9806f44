package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/altafinex-webhooks/receiver/internal/jsontext"
)

// Invocation is what the receiver reads from an API Gateway payload-2.0
// event (HTTP API, or a Lambda function URL, which sends the same format).
type Invocation struct {
	RequestID       string
	Method          string
	SourceIP        string
	Signature       string // the X-Altafinex-Signature header, found in any case
	Body            []byte // as delivered: still base64 when IsBase64Encoded
	IsBase64Encoded bool
}

// FromEvent takes the fields the receiver reads from a decoded event.
func FromEvent(ev events.APIGatewayV2HTTPRequest) Invocation {
	return Invocation{
		RequestID:       ev.RequestContext.RequestID,
		Method:          ev.RequestContext.HTTP.Method,
		SourceIP:        ev.RequestContext.HTTP.SourceIP,
		Signature:       Header(ev.Headers, signatureKey),
		Body:            []byte(ev.Body),
		IsBase64Encoded: ev.IsBase64Encoded,
	}
}

// ErrUnsupported is DecodeInvocation's answer to an event it does not read
// the way encoding/json would (not valid JSON, a field of another type, a
// key it would have to unescape or case-fold beyond ASCII). Invoke then
// decodes it with encoding/json instead.
var ErrUnsupported = errors.New("apigw: invocation outside the fast decoder's subset")

// DecodeInvocation reads the fields of Invocation from the invocation bytes
// the Lambda runtime hands over, in one pass and without reflection. Where
// it succeeds, the result is what json.Unmarshal into
// events.APIGatewayV2HTTPRequest followed by FromEvent gives (keys matched
// case-insensitively, the last of a repeated key winning, null leaving a
// field as it was); FuzzDecodeInvocationMatchesEncodingJSON checks this.
// Members it does not read are validated as JSON but not type-checked
// against the event struct.
func DecodeInvocation(payload []byte) (Invocation, error) {
	var d invocationDecoder
	i, err := d.object(payload, jsontext.SkipSpace(payload, 0), 1, inEvent)
	if err != nil {
		return Invocation{}, ErrUnsupported
	}
	if jsontext.SkipSpace(payload, i) != len(payload) {
		return Invocation{}, ErrUnsupported
	}
	inv := d.inv
	inv.Signature = d.exactSig
	if !d.hasExact {
		inv.Signature = d.foldSig
	}
	return inv, nil
}

// invocationDecoder holds the fields found so far. The signature header is
// kept twice because Header prefers the lower-case key API Gateway sends
// over any other spelling.
type invocationDecoder struct {
	inv               Invocation
	exactSig, foldSig string
	hasExact          bool
}

// The objects whose members the decoder reads.
type objectKind int

const (
	inEvent objectKind = iota
	inRequestContext
	inHTTP
	inHeaders
)

// object reads the members of the object at b[i] as its kind says and
// returns the offset after it; JSON null stands for no object. A key that
// needs unescaping is refused (no API Gateway key does); keys are matched
// with bytes.EqualFold, as encoding/json matches them to fields.
func (d *invocationDecoder) object(b []byte, i, depth int, kind objectKind) (int, error) {
	if jsontext.HasLiteral(b, i, "null") && kind != inEvent {
		return i + 4, nil
	}
	return jsontext.Members(b, i, func(key []byte, esc bool, i int) (int, error) {
		switch {
		case esc:
			return i, ErrUnsupported
		case kind == inEvent:
			return d.eventMember(b, key, i, depth)
		case kind == inRequestContext:
			return d.requestContextMember(b, key, i, depth)
		case kind == inHTTP:
			return d.httpMember(b, key, i, depth)
		default:
			return d.header(b, key, i)
		}
	})
}

func (d *invocationDecoder) eventMember(b, key []byte, i, depth int) (int, error) {
	switch {
	case bytes.EqualFold(key, []byte("body")):
		if jsontext.HasLiteral(b, i, "null") {
			return i + 4, nil
		}
		if i >= len(b) || b[i] != '"' {
			return i, ErrUnsupported
		}
		// The body is most of the payload: room for the rest of it is room for the body.
		body, end, err := jsontext.AppendStringContent(make([]byte, 0, len(b)-i), b, i)
		if err != nil {
			return i, err
		}
		d.inv.Body = body
		return end, nil
	case bytes.EqualFold(key, []byte("isBase64Encoded")):
		switch {
		case jsontext.HasLiteral(b, i, "true"):
			d.inv.IsBase64Encoded = true
			return i + 4, nil
		case jsontext.HasLiteral(b, i, "false"):
			d.inv.IsBase64Encoded = false
			return i + 5, nil
		case jsontext.HasLiteral(b, i, "null"):
			return i + 4, nil
		}
		return i, ErrUnsupported
	case bytes.EqualFold(key, []byte("headers")):
		return d.object(b, i, depth+1, inHeaders)
	case bytes.EqualFold(key, []byte("requestContext")):
		return d.object(b, i, depth+1, inRequestContext)
	}
	return jsontext.SkipValue(b, i, depth)
}

func (d *invocationDecoder) requestContextMember(b, key []byte, i, depth int) (int, error) {
	switch {
	case bytes.EqualFold(key, []byte("requestId")):
		return stringValue(b, i, &d.inv.RequestID)
	case bytes.EqualFold(key, []byte("http")):
		return d.object(b, i, depth+1, inHTTP)
	}
	return jsontext.SkipValue(b, i, depth)
}

func (d *invocationDecoder) httpMember(b, key []byte, i, depth int) (int, error) {
	switch {
	case bytes.EqualFold(key, []byte("method")):
		return stringValue(b, i, &d.inv.Method)
	case bytes.EqualFold(key, []byte("sourceIp")):
		return stringValue(b, i, &d.inv.SourceIP)
	}
	return jsontext.SkipValue(b, i, depth)
}

// header reads one header. Only strings (or null, which a map[string]string
// stores as "") are headers; the signature is kept, the rest validated.
func (d *invocationDecoder) header(b, key []byte, i int) (int, error) {
	if jsontext.HasLiteral(b, i, "null") {
		i += 4
		if bytes.EqualFold(key, []byte(signatureKey)) {
			d.setSignature(key, "")
		}
		return i, nil
	}
	if i >= len(b) || b[i] != '"' {
		return i, ErrUnsupported
	}
	if !bytes.EqualFold(key, []byte(signatureKey)) {
		end, _, err := jsontext.ScanString(b, i)
		return end, err
	}
	var v string
	end, err := stringValue(b, i, &v)
	if err == nil {
		d.setSignature(key, v)
	}
	return end, err
}

func (d *invocationDecoder) setSignature(key []byte, v string) {
	if string(key) == signatureKey {
		d.exactSig, d.hasExact = v, true
		return
	}
	d.foldSig = v
}

// stringValue stores the string at b[i] in dst (null leaves dst as it was)
// and returns the offset after it.
func stringValue(b []byte, i int, dst *string) (int, error) {
	if jsontext.HasLiteral(b, i, "null") {
		return i + 4, nil
	}
	if i >= len(b) || b[i] != '"' {
		return i, ErrUnsupported
	}
	end, esc, err := jsontext.ScanString(b, i)
	if err != nil {
		return i, err
	}
	raw := b[i+1 : end-1]
	if esc {
		raw = jsontext.AppendUnescaped(make([]byte, 0, len(raw)), raw)
	}
	*dst = string(raw)
	return end, nil
}

// Invoke serves one Lambda invocation from its raw bytes, so that the
// Lambda runtime hands them over without decoding them by reflection
// first (lambda.Start uses a lambda.Handler as it is). An event the fast
// decoder does not read goes through encoding/json; only one that is not
// an API Gateway event at all returns an error.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	inv, err := DecodeInvocation(payload)
	if err != nil {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("apigw: decode the invocation as an API Gateway event: %w", err)
		}
		inv = FromEvent(ev)
		// API Gateway never sends such an event: say so, once per request,
		// in case its format has changed.
		if h.Log != nil {
			h.Log.LogAttrs(ctx, slog.LevelWarn, "invocation outside the fast decoder, decoded with encoding/json",
				slog.String("request_id", inv.RequestID))
		}
	}
	status, body := h.serve(ctx, inv)
	return AppendResponse(make([]byte, 0, 160), status, body), nil
}

var _ lambda.Handler = (*Handler)(nil)

// AppendResponse appends the API Gateway response for an answer as JSON:
// what json.Marshal of Response's events.APIGatewayV2HTTPResponse carries,
// written without reflection.
func AppendResponse(dst []byte, status int, body answerBody) []byte {
	inner := appendAnswer(make([]byte, 0, 96), body)
	dst = append(dst, `{"statusCode":`...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, `,"headers":{"Content-Type":"application/json"},"body":`...)
	dst = jsontext.AppendString(dst, string(inner))
	return append(dst, '}')
}
