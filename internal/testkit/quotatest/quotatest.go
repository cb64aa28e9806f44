// Package quotatest emulates AWS quotas for tests, which moto_server does
// not have: an HTTP client, put in the functions' aws.Config, that answers
// SES's and EventBridge's throttling errors, as the services do, to the
// requests above N a second, and passes the others on. Test-only.
//
//	q := quotatest.New(quotatest.Limits{SESSendEmail: 10})
//	cfg.HTTPClient = q.Client(cfg.HTTPClient)
package quotatest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// The operations a quota applies to.
const (
	SESSendEmail         = "ses:SendEmail"
	EventBridgePutEvents = "events:PutEvents"
)

// Limits are the quotas, requests a second by operation; 0 or absent: no
// quota.
type Limits map[string]float64

// Quotas counts the requests of every client it made, in a sliding
// one-second window per operation, and throttles those above the limit.
// Safe for concurrent use.
type Quotas struct {
	limits Limits
	// Now is the clock of the windows (time.Now when nil): set it before
	// the first request.
	Now func() time.Time

	mu        sync.Mutex
	window    map[string][]time.Time // admitted requests of the last second
	admitted  map[string]int
	throttled map[string]int
}

// New returns the quotas of limits, on the wall clock (the SDK's requests
// happen on it) unless Now is set.
func New(limits Limits) *Quotas {
	return &Quotas{limits: limits, window: map[string][]time.Time{},
		admitted: map[string]int{}, throttled: map[string]int{}}
}

// Client returns an HTTP client for an aws.Config that applies the quotas
// in front of next (the SDK's default client when nil).
func (q *Quotas) Client(next aws.HTTPClient) aws.HTTPClient {
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	return client{q: q, next: next}
}

// Admitted and Throttled return how many requests of op were passed on and
// answered with a throttling error.
func (q *Quotas) Admitted(op string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.admitted[op]
}

// Throttled: see Admitted.
func (q *Quotas) Throttled(op string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.throttled[op]
}

// admit reports whether a request of op may go now, and counts it.
func (q *Quotas) admit(op string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	limit := q.limits[op]
	if limit <= 0 {
		q.admitted[op]++
		return true
	}
	now := time.Now()
	if q.Now != nil {
		now = q.Now()
	}
	w := q.window[op]
	for len(w) > 0 && now.Sub(w[0]) >= time.Second {
		w = w[1:]
	}
	if float64(len(w)) >= limit {
		q.window[op] = w
		q.throttled[op]++
		return false
	}
	q.window[op] = append(w, now)
	q.admitted[op]++
	return true
}

// operation names the quota'd operation of req, or "".
func operation(req *http.Request) string {
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/v2/email/outbound-emails"):
		return SESSendEmail
	case req.Header.Get("X-Amz-Target") == "AWSEvents.PutEvents":
		return EventBridgePutEvents
	}
	return ""
}

type client struct {
	q    *Quotas
	next aws.HTTPClient
}

func (c client) Do(req *http.Request) (*http.Response, error) {
	op := operation(req)
	if op == "" || c.q.admit(op) {
		return c.next.Do(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return throttle(req, op), nil
}

// throttle is the service's answer to a request over its quota: SES v2
// (REST JSON) answers ThrottlingException "Maximum sending rate exceeded"
// with 429; EventBridge (JSON 1.1) answers ThrottlingException with 400.
func throttle(req *http.Request, op string) *http.Response {
	h := http.Header{}
	status, body := http.StatusBadRequest, `{"__type":"ThrottlingException","message":"Rate exceeded"}`
	h.Set("Content-Type", "application/x-amz-json-1.1")
	if op == SESSendEmail {
		status, body = http.StatusTooManyRequests, `{"message":"Maximum sending rate exceeded."}`
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Errortype", "ThrottlingException")
	}
	h.Set("X-Amzn-Requestid", "quotatest-throttled")
	return &http.Response{
		Status: http.StatusText(status), StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewBufferString(body)), ContentLength: int64(len(body)), Request: req,
	}
}
