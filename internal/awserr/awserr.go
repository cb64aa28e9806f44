// Package awserr classifies errors from the AWS SDK as transient (a later
// retry may succeed) or permanent (no retry can fix the request), in one
// place, for the processor's outcome rules.
//
// Transient: throttling, request timeouts, 5xx and other server faults,
// network and connection errors, context cancellation and deadlines, and
// the operational errors an operator fixes without touching the event:
// access denied, bad or expired credentials, a missing table, bus or
// configuration set, sending paused, an unverified MAIL FROM domain. Treating those as transient keeps the
// message on the queue and, once its retries run out, in the dead-letter
// queue, where its alarm fires and a redrive replays it.
//
// Permanent: any other error that the service attributes to the request
// itself (a client fault or a 4xx status), such as a validation error, a
// message SES rejects, or a conditional check that failed and so describes
// an impossible state.
//
// DynamoDB's TransactionCanceledException is a client fault whatever the
// cause, so it is classified by its cancellation reasons, one per item of
// the transaction: a reason a moment can lift (TransactionConflict,
// another transaction writing the item; ThrottlingError,
// ProvisionedThroughputExceeded, or any code not known to be permanent)
// makes it transient; it is permanent only when every reason that is not
// None is known to be permanent (ConditionalCheckFailed, ValidationError,
// ItemCollectionSizeLimitExceeded). Without reasons it is transient.
// IsThrottle reads the same reasons: a canceled transaction is a quota's
// when one of them is a throttle's and none is permanent.
//
// Anything unrecognised is transient: a retry is safe, a wrong FAILED is not.
package awserr

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Class is the classification of an error.
type Class int

// The classes of errors.
const (
	// Transient errors may go away on a retry.
	Transient Class = iota
	// Permanent errors do not.
	Permanent
)

func (c Class) String() string {
	if c == Permanent {
		return "permanent"
	}
	return "transient"
}

// transientCodes are API error codes that a retry, or an operator's fix of
// the deployment, can make succeed, in addition to the SDK's throttle and
// retryable codes.
var transientCodes = map[string]bool{
	"InternalServerError":          true,
	"InternalFailure":              true,
	"InternalError":                true,
	"ServiceUnavailable":           true,
	"ServiceUnavailableException":  true,
	"TransactionConflictException": true,
	"RequestTimeout":               true,
	"RequestTimeoutException":      true,
	// Permissions and credentials.
	"AccessDenied":                true,
	"AccessDeniedException":       true,
	"UnrecognizedClientException": true,
	"InvalidClientTokenId":        true,
	"ExpiredToken":                true,
	"ExpiredTokenException":       true,
	"RequestExpired":              true,
	"InvalidSignatureException":   true,
	"SignatureDoesNotMatch":       true,
	"IncompleteSignature":         true,
	"MissingAuthenticationToken":  true,
	"KMSAccessDeniedException":    true,
	// Resources of the deployment.
	"ResourceNotFoundException": true,
	"NotFoundException":         true,
	"ResourceInUseException":    true,
	"SendingPausedException":    true,
	"AccountSuspendedException": true,
	// SES configuration the operator fixes: the custom MAIL FROM domain
	// is not verified (yet). The same email goes out once it is.
	"MailFromDomainNotVerifiedException": true,
	"MailFromDomainNotVerified":          true,
}

// Classify returns the class of err. A nil error is Transient; use
// IsPermanent to ask the question the processor asks.
func Classify(err error) Class {
	if err == nil {
		return Transient
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || isNetwork(err) {
		return Transient
	}
	var canceled *ddbtypes.TransactionCanceledException
	if errors.As(err, &canceled) {
		return classifyCancellation(canceled.CancellationReasons)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code := apiErr.ErrorCode()
		if _, ok := retry.DefaultThrottleErrorCodes[code]; ok {
			return Transient
		}
		if _, ok := retry.DefaultRetryableErrorCodes[code]; ok {
			return Transient
		}
		if transientCodes[code] {
			return Transient
		}
		switch apiErr.ErrorFault() {
		case smithy.FaultServer:
			return Transient
		case smithy.FaultClient:
			return Permanent
		}
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) {
		status := respErr.HTTPStatusCode()
		switch {
		case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout,
			status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
			return Transient
		case status >= 500:
			return Transient
		case status >= 400 && apiErr != nil:
			// The service named the request's fault: a 4xx with an
			// error code the lists above do not know.
			return Permanent
		}
	}
	return Transient
}

// permanentReasons are the cancellation reasons of a DynamoDB transaction
// that a retry of the same transaction meets again.
var permanentReasons = map[string]bool{
	"ConditionalCheckFailed":          true,
	"ValidationError":                 true,
	"ItemCollectionSizeLimitExceeded": true,
}

// throttleReasons are the cancellation reasons of a DynamoDB transaction
// that a quota gave: the throughput of the table or the account.
var throttleReasons = map[string]bool{
	"ThrottlingError":               true,
	"ProvisionedThroughputExceeded": true,
	"RequestLimitExceeded":          true,
}

// cancellation is what a canceled transaction's reasons say.
type cancellation struct {
	permanent bool // a reason a retry meets again (permanentReasons)
	throttled bool // a quota's reason (throttleReasons)
	passing   bool // any other reason that is not None: a moment lifts it
}

// readCancellation sorts a canceled transaction's reasons (see the
// package doc): Classify and IsThrottle both read them here.
func readCancellation(reasons []ddbtypes.CancellationReason) cancellation {
	var c cancellation
	for _, r := range reasons {
		switch code := aws.ToString(r.Code); {
		case code == "" || code == "None":
		case permanentReasons[code]:
			c.permanent = true
		case throttleReasons[code]:
			c.throttled = true
		default:
			c.passing = true // TransactionConflict, a code not known yet, …
		}
	}
	return c
}

// classifyCancellation classifies a canceled transaction by its reasons
// (see the package doc): transient when any reason is one a moment lifts,
// or when there is none; permanent when every reason that is not None is
// permanent.
func classifyCancellation(reasons []ddbtypes.CancellationReason) Class {
	c := readCancellation(reasons)
	if c.permanent && !c.throttled && !c.passing {
		return Permanent
	}
	return Transient
}

// IsPermanent reports whether err is known to be permanent. It is false for
// nil.
func IsPermanent(err error) bool {
	return err != nil && Classify(err) == Permanent
}

// IsTransient reports whether err is not nil and not known to be permanent.
func IsTransient(err error) bool {
	return err != nil && Classify(err) == Transient
}

// isNetwork reports a connection-level failure: refused, reset, timed out,
// cut short.
func isNetwork(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	return retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

// coded is an error that names its AWS error code: every smithy.APIError,
// and the per-entry errors of batch APIs that answer 200 with failed
// entries (EventBridge PutEvents' ErrorCode).
type coded interface{ ErrorCode() string }

// IsThrottle reports whether err is a downstream quota being hit: an AWS
// error whose code is one of the SDK's throttling codes (ThrottlingException,
// which SES answers for "Maximum sending rate exceeded" and "Daily message
// quota exceeded", TooManyRequestsException, DynamoDB's
// ProvisionedThroughputExceededException and RequestLimitExceeded, …), or
// an HTTP 429 without a code; or DynamoDB's TransactionCanceledException
// (its code is not a throttle's) whose cancellation reasons include a
// quota's (ThrottlingError, ProvisionedThroughputExceeded,
// RequestLimitExceeded) and none a retry meets again
// (ConditionalCheckFailed, …): DynamoDB throttling a transaction answers
// that way. A throttled effect is deferred, not failed: the quota frees up
// by itself.
func IsThrottle(err error) bool {
	if err == nil {
		return false
	}
	var canceled *ddbtypes.TransactionCanceledException
	if errors.As(err, &canceled) {
		c := readCancellation(canceled.CancellationReasons)
		return c.throttled && !c.permanent
	}
	var c coded
	if errors.As(err, &c) {
		if _, ok := retry.DefaultThrottleErrorCodes[c.ErrorCode()]; ok {
			return true
		}
	}
	var respErr *smithyhttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusTooManyRequests
}
