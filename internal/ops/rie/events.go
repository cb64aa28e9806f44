package rie

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// LocalSecret signs the checked-in ingest events and is the
// WEBHOOK_SECRETS of events/env.json. It is for local runs only: never
// configure it on a deployed stack.
const LocalSecret = "whsec_local_development_only_0000"

// Fixed parts of the events, as a deployed stack in us-east-1 would see them.
const (
	WebhookPath = "/api/webhooks/payment"
	RouteKey    = "POST " + WebhookPath
	AccountID   = "123456789012"
	Region      = "us-east-1"
	apiID       = "a1b2c3d4e5"
	sourceIP    = "203.0.113.10"
	userAgent   = "Altafinex-Webhooks/1.0"
	queueARN    = "arn:aws:sqs:" + Region + ":" + AccountID + ":webhook-events-queue"
)

// The API Gateway HTTP API payload format 2.0, field order as AWS documents it.
type httpEvent struct {
	Version         string            `json:"version"`
	RouteKey        string            `json:"routeKey"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Headers         map[string]string `json:"headers"`
	RequestContext  httpContext       `json:"requestContext"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

type httpContext struct {
	AccountID    string       `json:"accountId"`
	APIID        string       `json:"apiId"`
	DomainName   string       `json:"domainName"`
	DomainPrefix string       `json:"domainPrefix"`
	HTTP         httpDescribe `json:"http"`
	RequestID    string       `json:"requestId"`
	RouteKey     string       `json:"routeKey"`
	Stage        string       `json:"stage"`
	Time         string       `json:"time"`
	TimeEpoch    int64        `json:"timeEpoch"`
}

type httpDescribe struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// HTTPEvent returns the API Gateway HTTP API (payload format 2.0) event
// that delivers body to POST /api/webhooks/payment with the signature header
// value signature, received at t. The body is kept byte for byte; headers
// are lower-cased as API Gateway delivers them. The output is indented JSON
// ending in a newline, the same bytes for the same arguments.
func HTTPEvent(body []byte, signature string, t time.Time) ([]byte, error) {
	t = t.UTC()
	sum := sha256.Sum256(append([]byte(strconv.FormatInt(t.UnixMilli(), 10)), body...))
	domain := apiID + ".execute-api." + Region + ".amazonaws.com"
	ev := httpEvent{
		Version:  "2.0",
		RouteKey: RouteKey,
		RawPath:  WebhookPath,
		Headers: map[string]string{
			"accept":                "*/*",
			"content-length":        strconv.Itoa(len(body)),
			"content-type":          "application/json",
			"host":                  domain,
			"user-agent":            userAgent,
			"x-altafinex-signature": signature,
			"x-amzn-trace-id":       fmt.Sprintf("Root=1-%08x-%x", t.Unix(), sum[:12]),
			"x-forwarded-for":       sourceIP,
			"x-forwarded-port":      "443",
			"x-forwarded-proto":     "https",
		},
		RequestContext: httpContext{
			AccountID:    AccountID,
			APIID:        apiID,
			DomainName:   domain,
			DomainPrefix: apiID,
			HTTP: httpDescribe{
				Method: "POST", Path: WebhookPath, Protocol: "HTTP/1.1", SourceIP: sourceIP, UserAgent: userAgent,
			},
			RequestID: base64.StdEncoding.EncodeToString(sum[12:22]),
			RouteKey:  RouteKey,
			Stage:     "$default",
			Time:      t.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: t.UnixMilli(),
		},
		Body: string(body),
	}
	return encode(ev)
}

// FunctionURLEvent is HTTPEvent as a Lambda function URL delivers it
// (template.yaml's FunctionUrl=Enabled): the same payload format 2.0 with
// the values a URL gives: "$default" as route key and stage, "anonymous"
// as account (AuthType NONE), the URL's host.
func FunctionURLEvent(body []byte, signature string, t time.Time) ([]byte, error) {
	b, err := HTTPEvent(body, signature, t)
	if err != nil {
		return nil, err
	}
	var ev httpEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, err
	}
	const urlID = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"
	domain := urlID + ".lambda-url." + Region + ".on.aws"
	ev.RouteKey, ev.RequestContext.RouteKey, ev.RequestContext.Stage = "$default", "$default", "$default"
	ev.RequestContext.AccountID = "anonymous"
	ev.RequestContext.APIID, ev.RequestContext.DomainPrefix, ev.RequestContext.DomainName = urlID, urlID, domain
	ev.Headers["host"] = domain
	return encode(ev)
}

// The Lambda SQS event, field order as Lambda sends it.
type sqsEvent struct {
	Records []sqsRecord `json:"Records"`
}

type sqsRecord struct {
	MessageID         string                  `json:"messageId"`
	ReceiptHandle     string                  `json:"receiptHandle"`
	Body              string                  `json:"body"`
	Attributes        map[string]string       `json:"attributes"`
	MessageAttributes map[string]sqsAttribute `json:"messageAttributes"`
	MD5OfBody         string                  `json:"md5OfBody"`
	EventSource       string                  `json:"eventSource"`
	EventSourceARN    string                  `json:"eventSourceARN"`
	AWSRegion         string                  `json:"awsRegion"`
}

type sqsAttribute struct {
	StringValue      string   `json:"stringValue"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// SQSEvent returns the Lambda SQS event that hands the processor one
// message as ingest queues it: the body base64-encoded, and the event id,
// type, received time (Unix milliseconds, a Number) and body encoding as
// message attributes, on its receiveCount-th delivery. Same arguments, same
// bytes.
func SQSEvent(body []byte, eventID, eventType string, receivedAt time.Time, receiveCount int) ([]byte, error) {
	sum := sha256.Sum256(body)
	id := hex.EncodeToString(sum[:16])
	msgBody := eventrecord.EncodeBody(body)
	md5sum := md5.Sum([]byte(msgBody))
	sent := strconv.FormatInt(receivedAt.UnixMilli(), 10)
	first := strconv.FormatInt(receivedAt.Add(time.Second).UnixMilli(), 10)
	str := func(v string) sqsAttribute {
		return sqsAttribute{StringValue: v, StringListValues: []string{}, BinaryListValues: []string{}, DataType: "String"}
	}
	received := str(sent)
	received.DataType = "Number"
	ev := sqsEvent{Records: []sqsRecord{{
		MessageID:     id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32],
		ReceiptHandle: "AQEB" + base64.StdEncoding.EncodeToString(sum[:]),
		Body:          msgBody,
		Attributes: map[string]string{
			"ApproximateReceiveCount":          strconv.Itoa(receiveCount),
			"ApproximateFirstReceiveTimestamp": first,
			"SenderId":                         "AROAEXAMPLEINGESTROLE:ingest",
			"SentTimestamp":                    sent,
		},
		MessageAttributes: map[string]sqsAttribute{
			eventrecord.AttrEventID:      str(eventID),
			eventrecord.AttrType:         str(eventType),
			eventrecord.AttrReceivedAt:   received,
			eventrecord.AttrBodyEncoding: str(eventrecord.BodyBase64),
		},
		MD5OfBody:      hex.EncodeToString(md5sum[:]),
		EventSource:    "aws:sqs",
		EventSourceARN: queueARN,
		AWSRegion:      Region,
	}}}
	return encode(ev)
}

// encode writes v as two-space indented JSON with a final newline, without
// HTML escaping, so the files diff line by line.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return b.Bytes(), nil
}
