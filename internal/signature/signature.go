// Package signature verifies and produces the X-Altafinex-Signature header
// that authenticates an Altafinex webhook request.
//
// The header is a list of key=value pairs: one t (the Unix second at which
// the provider signed) and one or more v1 (hex HMAC-SHA256 of t, ".", and
// the raw body, keyed with the endpoint's signing secret). A Verifier checks
// the header against every configured secret and the clock; Sign and SignAll
// produce a header, as the provider (or a test tool) does.
//
// Every failure is a *VerifyError that wraps one of the sentinels
// ErrMissingHeader, ErrMalformedHeader, ErrTimestampOutOfTolerance and
// ErrSignatureMismatch, checked in that order; Outcome names the result the
// way the contract does. Errors never contain a secret or a signature.
package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// HeaderName is the HTTP header that carries the signature. Header names
// are case-insensitive; API Gateway HTTP APIs deliver it lower-cased.
const HeaderName = "X-Altafinex-Signature"

// DefaultTolerance is how far the signing time may be from now, in either
// direction, when a Verifier sets no Tolerance.
const DefaultTolerance = 300 * time.Second

// OutcomeValid is the outcome name of a request that passed every check.
const OutcomeValid = "valid"

// The outcomes of a failed verification, in the order they are checked.
// Their messages are the contract's outcome names.
var (
	// ErrMissingHeader: the header is absent, empty, or only white space.
	ErrMissingHeader = errors.New("missing_header")
	// ErrMalformedHeader: no t, more than one t, a t that is not decimal
	// digits or overflows int64, a pair without "=", or no v1 at all.
	ErrMalformedHeader = errors.New("malformed_header")
	// ErrTimestampOutOfTolerance: t is further than the tolerance from now.
	ErrTimestampOutOfTolerance = errors.New("timestamp_out_of_tolerance")
	// ErrSignatureMismatch: no v1 matches under any configured secret.
	ErrSignatureMismatch = errors.New("signature_mismatch")
)

// Outcome returns the contract's name for the result of Verify: "valid"
// for nil, the sentinel's name for an error wrapping one of the sentinels,
// and "error" for anything else.
func Outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeValid
	case errors.Is(err, ErrMissingHeader):
		return ErrMissingHeader.Error()
	case errors.Is(err, ErrMalformedHeader):
		return ErrMalformedHeader.Error()
	case errors.Is(err, ErrTimestampOutOfTolerance):
		return ErrTimestampOutOfTolerance.Error()
	case errors.Is(err, ErrSignatureMismatch):
		return ErrSignatureMismatch.Error()
	default:
		return "error"
	}
}

// VerifyError explains why a header was refused. It unwraps to Reason, so
// errors.Is(err, ErrSignatureMismatch) and the like work. It holds no
// secret and no signature, so it is safe to log.
type VerifyError struct {
	// Reason is one of the package's sentinels.
	Reason error
	// Timestamp is the header's t, when it could be parsed.
	Timestamp int64
	// Age is now minus t (negative when t is in the future), set once the
	// clock has been checked; it saturates at the limits of time.Duration.
	Age time.Duration
	// Tried is the number of comparisons made: v1 entries × secrets.
	Tried int
	// Detail says in words which check failed.
	Detail string
}

// Error returns the outcome name followed by the detail.
func (e *VerifyError) Error() string {
	if e.Detail == "" {
		return "signature: " + e.Reason.Error()
	}
	return "signature: " + e.Reason.Error() + ": " + e.Detail
}

// Unwrap returns Reason.
func (e *VerifyError) Unwrap() error { return e.Reason }

// Header is a parsed signature header.
type Header struct {
	// Timestamp is t as a number.
	Timestamp int64
	// RawTimestamp is t exactly as it appears in the header; it is what
	// the signed payload starts with.
	RawTimestamp string
	// V1 holds every v1 value in order, not validated: a value that is not
	// 64 hex digits simply never matches.
	V1 []string
}

// ParseHeader parses a signature header value. On failure the error is a
// *VerifyError whose Reason is ErrMissingHeader or ErrMalformedHeader.
func ParseHeader(v string) (Header, error) {
	h, detail, reason := parseHeader(v, nil)
	if reason != nil {
		return Header{}, &VerifyError{Reason: reason, Detail: detail}
	}
	return h, nil
}

// parseHeader parses v, appending the v1 values to v1 so that a caller can
// offer stack space. On failure it returns the sentinel and a detail.
func parseHeader(v string, v1 []string) (h Header, detail string, reason error) {
	if strings.TrimSpace(v) == "" {
		if v == "" {
			return Header{}, "the header is empty", ErrMissingHeader
		}
		return Header{}, "the header is only white space", ErrMissingHeader
	}
	h.V1 = v1
	seenT := false
	rest := v
	for n := 1; ; n++ {
		pair, tail, more := strings.Cut(rest, ",")
		if pair = strings.TrimSpace(pair); pair != "" {
			key, val, ok := strings.Cut(pair, "=")
			if !ok {
				return Header{}, "pair " + strconv.Itoa(n) + ` has no "="`, ErrMalformedHeader
			}
			switch key {
			case "t":
				if seenT {
					return Header{}, `more than one "t"`, ErrMalformedHeader
				}
				seenT = true
				ts, problem := parseTimestamp(val)
				if problem != "" {
					return Header{}, problem, ErrMalformedHeader
				}
				h.Timestamp, h.RawTimestamp = ts, val
			case "v1":
				h.V1 = append(h.V1, val)
			}
		}
		if !more {
			break
		}
		rest = tail
	}
	if !seenT {
		return Header{}, `no "t"`, ErrMalformedHeader
	}
	if len(h.V1) == 0 {
		return Header{}, `no "v1"`, ErrMalformedHeader
	}
	return h, "", nil
}

// parseTimestamp reads t: decimal digits only, fitting an int64. It
// returns a description of the problem, or "".
func parseTimestamp(s string) (int64, string) {
	if s == "" {
		return 0, `"t" is empty`
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, `"t" is not decimal digits`
		}
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, `"t" overflows a 64-bit integer`
		}
		n = n*10 + d
	}
	return n, ""
}

// Verifier checks signature headers. Its zero value refuses everything:
// set Secrets. A Verifier is safe for concurrent use once set up.
type Verifier struct {
	// Secrets are the endpoint's signing secrets (two during a rotation),
	// each the whole secret string, "whsec_" prefix included, as bytes.
	// Empty secrets are skipped: a zero-length HMAC key would let anyone
	// sign.
	Secrets [][]byte
	// Tolerance is how far t may be from now, in either direction. Zero
	// or negative means DefaultTolerance.
	Tolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// sigLen is the size of an HMAC-SHA256.
const sigLen = sha256.Size

// Verify checks header (the X-Altafinex-Signature value) against the raw
// request body. It returns nil when the header is valid, else a
// *VerifyError wrapping the sentinel of the first check that failed.
func (v *Verifier) Verify(header string, body []byte) error {
	var v1Space [4]string
	h, detail, reason := parseHeader(header, v1Space[:0])
	if reason != nil {
		return &VerifyError{Reason: reason, Detail: detail}
	}

	tolerance := v.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	age := ageSeconds(now().Unix(), h.Timestamp)
	if limit := int64(tolerance / time.Second); age > limit || age < -limit {
		return &VerifyError{
			Reason:    ErrTimestampOutOfTolerance,
			Timestamp: h.Timestamp,
			Age:       secondsDuration(age),
			Detail:    DescribeAge(secondsDuration(age), tolerance),
		}
	}

	// Decode each v1 once; the ones that are not 64 hex digits are left
	// out (they can match nothing) but still counted as tried.
	var sigSpace [4][sigLen]byte
	sigs := sigSpace[:0]
	for _, s := range h.V1 {
		var d [sigLen]byte
		if decodeHex(&d, s) {
			sigs = append(sigs, d)
		}
	}

	// The signed payload is t, ".", body: written to the HMAC in pieces
	// so the body is never copied. One buffer holds the "t." prefix and
	// the computed sum (both escape into the hash.Hash interface).
	buf := make([]byte, 32+sigLen)
	prefix := append(buf[:0:32], h.RawTimestamp...)
	prefix = append(prefix, '.')
	sum := buf[32:32]
	secrets := 0
	for _, secret := range v.Secrets {
		if len(secret) == 0 {
			continue
		}
		secrets++
		mac := hmac.New(sha256.New, secret)
		mac.Write(prefix)
		mac.Write(body)
		got := mac.Sum(sum)
		for i := range sigs {
			if hmac.Equal(got, sigs[i][:]) {
				return nil
			}
		}
	}
	return &VerifyError{
		Reason:    ErrSignatureMismatch,
		Timestamp: h.Timestamp,
		Age:       secondsDuration(age),
		Tried:     len(h.V1) * secrets,
		Detail:    mismatchDetail(len(h.V1), len(h.V1)-len(sigs), secrets),
	}
}

// ageSeconds returns now − t, saturating instead of overflowing (t ≥ 0).
func ageSeconds(now, t int64) int64 {
	if now < math.MinInt64+t {
		return math.MinInt64
	}
	return now - t
}

// secondsDuration converts seconds to a Duration, saturating.
func secondsDuration(s int64) time.Duration {
	const limit = int64(math.MaxInt64 / time.Second)
	switch {
	case s > limit:
		return math.MaxInt64
	case s < -limit:
		return math.MinInt64
	}
	return time.Duration(s) * time.Second
}

// decodeHex decodes a 64-digit hex string of either case into d. It
// reports false, leaving d unspecified, for anything else.
func decodeHex(d *[sigLen]byte, s string) bool {
	if len(s) != 2*sigLen {
		return false
	}
	for i := range d {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		d[i] = hi<<4 | lo
	}
	return true
}

// fromHex returns the value of one hex digit of either case.
func fromHex(c byte) (byte, bool) {
	if d := c - '0'; d < 10 {
		return d, true
	}
	if d := c | 0x20 - 'a'; d < 6 { // c|0x20 lower-cases a letter
		return d + 10, true
	}
	return 0, false
}

// DescribeAge says in words how old a signature is against the tolerance,
// e.g. "signed 301s ago (tolerance 300s)" or "signed 5s in the future
// (tolerance 300s)". age is now minus t, as in VerifyError.Age.
func DescribeAge(age, tolerance time.Duration) string {
	switch {
	case age < 0:
		return "signed " + formatSeconds(-age) + " in the future (tolerance " + formatSeconds(tolerance) + ")"
	case age == 0:
		return "signed just now (tolerance " + formatSeconds(tolerance) + ")"
	}
	return "signed " + formatSeconds(age) + " ago (tolerance " + formatSeconds(tolerance) + ")"
}

// formatSeconds writes whole seconds as "301s", anything else as
// Duration.String does. A saturated duration is shown as a bound.
func formatSeconds(d time.Duration) string {
	switch {
	case d == math.MaxInt64 || d == math.MinInt64:
		return "more than " + strconv.FormatInt(int64(math.MaxInt64/time.Second), 10) + "s"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

func mismatchDetail(entries, notHex, secrets int) string {
	if secrets == 0 {
		return "no secret is configured"
	}
	var b strings.Builder
	b.WriteString("no v1 matched: tried ")
	b.WriteString(plural(entries, "v1 entry", "v1 entries"))
	b.WriteString(" against ")
	b.WriteString(plural(secrets, "secret", "secrets"))
	if notHex > 0 {
		b.WriteString("; ")
		b.WriteString(strconv.Itoa(notHex))
		b.WriteString(" of them not 64 hex digits")
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Sign returns the header value that signs body with secret at time t
// (truncated to the second): "t=…,v1=…". t must not be before 1970, or
// the header is malformed.
func Sign(secret []byte, t time.Time, body []byte) string {
	return SignAll([][]byte{secret}, t, body)
}

// SignAll returns a header value with one v1 per secret, in order, as the
// provider sends during a secret rotation.
func SignAll(secrets [][]byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.Grow(len("t=") + len(ts) + len(secrets)*(len(",v1=")+2*sigLen))
	b.WriteString("t=")
	b.WriteString(ts)
	var sum [sigLen]byte
	var hexSum [2 * sigLen]byte
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		hex.Encode(hexSum[:], mac.Sum(sum[:0]))
		b.WriteString(",v1=")
		b.Write(hexSum[:])
	}
	return b.String()
}
