package signature_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const (
	secretA  = "whsec_test_a"
	secretB  = "whsec_test_b"
	signedAt = 1795795495
)

var testBody = []byte(`{"id":"evt_1","type":"payment.succeeded"}`)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		want    signature.Header
		wantErr error
	}{
		{name: "plain", header: "t=1795795495,v1=ab", want: signature.Header{Timestamp: 1795795495, RawTimestamp: "1795795495", V1: []string{"ab"}}},
		{name: "trailing comma", header: "t=1,v1=ab,", want: signature.Header{Timestamp: 1, RawTimestamp: "1", V1: []string{"ab"}}},
		{name: "empty pairs everywhere", header: ",, t=1 ,, v1=ab ,,", want: signature.Header{Timestamp: 1, RawTimestamp: "1", V1: []string{"ab"}}},
		{name: "tabs around pairs", header: "\tt=1\t,\tv1=ab\t", want: signature.Header{Timestamp: 1, RawTimestamp: "1", V1: []string{"ab"}}},
		{name: "several v1 in order", header: "v1=b,t=2,v1=a", want: signature.Header{Timestamp: 2, RawTimestamp: "2", V1: []string{"b", "a"}}},
		{name: "other keys ignored", header: "t=1,v0=x,v2=y,foo=bar,=z,v1=ab", want: signature.Header{Timestamp: 1, RawTimestamp: "1", V1: []string{"ab"}}},
		{name: "empty v1 counts as present", header: "t=1,v1=", want: signature.Header{Timestamp: 1, RawTimestamp: "1", V1: []string{""}}},
		{name: "leading zeros kept raw", header: "t=0007,v1=ab", want: signature.Header{Timestamp: 7, RawTimestamp: "0007", V1: []string{"ab"}}},
		{name: "largest int64", header: "t=9223372036854775807,v1=ab", want: signature.Header{Timestamp: math.MaxInt64, RawTimestamp: "9223372036854775807", V1: []string{"ab"}}},
		{name: "value keeps later equals signs", header: "t=1,v1=a=b", want: signature.Header{Timestamp: 1, RawTimestamp: "1", V1: []string{"a=b"}}},

		{name: "empty", header: "", wantErr: signature.ErrMissingHeader},
		{name: "white space only", header: " \t\r\n ", wantErr: signature.ErrMissingHeader},
		{name: "only commas", header: ",,", wantErr: signature.ErrMalformedHeader},
		{name: "t overflows int64", header: "t=9223372036854775808,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t far beyond int64", header: "t=99999999999999999999999,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t with plus sign", header: "t=+1,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t negative", header: "t=-1,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t empty", header: "t=,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t with inner space", header: "t= 1,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t with underscore", header: "t=1_000,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t in hex", header: "t=0x10,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "t with non-ASCII digit", header: "t=１,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "space before equals is another key", header: "t =1,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "keys are case-sensitive: T", header: "T=1,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "keys are case-sensitive: V1", header: "t=1,V1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "pair without equals", header: "t=1,v1=ab,garbage", wantErr: signature.ErrMalformedHeader},
		{name: "two t", header: "t=1,t=1,v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "no v1", header: "t=1", wantErr: signature.ErrMalformedHeader},
		{name: "no t", header: "v1=ab", wantErr: signature.ErrMalformedHeader},
		{name: "semicolons are not separators", header: "t=1;v1=ab", wantErr: signature.ErrMalformedHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signature.ParseHeader(tc.header)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				var verr *signature.VerifyError
				if !errors.As(err, &verr) || verr.Detail == "" {
					t.Errorf("err %#v: want a *VerifyError with a detail", err)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// fixedClock returns a clock stopped at Unix second s.
func fixedClock(s int64) func() time.Time {
	return func() time.Time { return time.Unix(s, 0) }
}

func secrets(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func TestVerifyTolerance(t *testing.T) {
	header := signature.Sign([]byte(secretA), time.Unix(signedAt, 0), testBody)
	tests := []struct {
		name      string
		tolerance time.Duration
		now       int64
		wantErr   error
		wantAge   time.Duration
	}{
		{name: "same second", now: signedAt},
		{name: "default: exactly 300s old", now: signedAt + 300},
		{name: "default: 301s old", now: signedAt + 301, wantErr: signature.ErrTimestampOutOfTolerance, wantAge: 301 * time.Second},
		{name: "default: exactly 300s ahead", now: signedAt - 300},
		{name: "default: 301s ahead", now: signedAt - 301, wantErr: signature.ErrTimestampOutOfTolerance, wantAge: -301 * time.Second},
		{name: "negative tolerance means default", tolerance: -time.Second, now: signedAt + 300},
		{name: "10s: exactly 10s old", tolerance: 10 * time.Second, now: signedAt + 10},
		{name: "10s: 11s old", tolerance: 10 * time.Second, now: signedAt + 11, wantErr: signature.ErrTimestampOutOfTolerance, wantAge: 11 * time.Second},
		{name: "10s: 11s ahead", tolerance: 10 * time.Second, now: signedAt - 11, wantErr: signature.ErrTimestampOutOfTolerance, wantAge: -11 * time.Second},
		{name: "10.5s: 10s old", tolerance: 10500 * time.Millisecond, now: signedAt + 10},
		{name: "10.5s: 11s old", tolerance: 10500 * time.Millisecond, now: signedAt + 11, wantErr: signature.ErrTimestampOutOfTolerance, wantAge: 11 * time.Second},
		{name: "clock before 1970", now: -5, wantErr: signature.ErrTimestampOutOfTolerance, wantAge: -(signedAt + 5) * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &signature.Verifier{Secrets: secrets(secretA), Tolerance: tc.tolerance, Now: fixedClock(tc.now)}
			err := v.Verify(header, testBody)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil {
				return
			}
			var verr *signature.VerifyError
			if !errors.As(err, &verr) {
				t.Fatalf("error %T is not a *VerifyError", err)
			}
			if verr.Age != tc.wantAge || verr.Timestamp != signedAt {
				t.Errorf("age, timestamp: got %v, %d, want %v, %d", verr.Age, verr.Timestamp, tc.wantAge, int64(signedAt))
			}
		})
	}
}

func TestVerifyTimestampExtremes(t *testing.T) {
	tests := []struct {
		name    string
		t       string
		now     int64
		wantAge time.Duration
	}{
		{name: "t is the largest int64", t: "9223372036854775807", now: signedAt, wantAge: math.MinInt64},
		{name: "t is zero, clock far ahead", t: "0", now: math.MaxInt64 / 2, wantAge: math.MaxInt64},
		{name: "t is large, clock far behind", t: "9223372036854775807", now: math.MinInt64 / 2, wantAge: math.MinInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &signature.Verifier{Secrets: secrets(secretA), Now: fixedClock(tc.now)}
			err := v.Verify("t="+tc.t+",v1=00", testBody)
			var verr *signature.VerifyError
			if !errors.As(err, &verr) || !errors.Is(err, signature.ErrTimestampOutOfTolerance) {
				t.Fatalf("got %v, want %v", err, signature.ErrTimestampOutOfTolerance)
			}
			if verr.Age != tc.wantAge {
				t.Errorf("age: got %v, want %v", verr.Age, tc.wantAge)
			}
		})
	}
}

func TestVerifySecrets(t *testing.T) {
	at := time.Unix(signedAt, 0)
	signedA := signature.Sign([]byte(secretA), at, testBody)
	signedAB := signature.SignAll(secrets(secretA, secretB), at, testBody)
	tests := []struct {
		name      string
		secrets   [][]byte
		header    string
		body      []byte
		wantErr   error
		wantTried int
	}{
		{name: "one secret matches", secrets: secrets(secretA), header: signedA},
		{name: "second of two secrets matches", secrets: secrets(secretB, secretA), header: signedA},
		{name: "second v1 matches", secrets: secrets(secretB), header: signedAB},
		{name: "wrong secret", secrets: secrets(secretB), header: signedA, wantErr: signature.ErrSignatureMismatch, wantTried: 1},
		{name: "two v1 against two wrong secrets", secrets: secrets("x", "y"), header: signedAB, wantErr: signature.ErrSignatureMismatch, wantTried: 4},
		{name: "tampered body", secrets: secrets(secretA), header: signedA, body: append([]byte(nil), testBody[1:]...), wantErr: signature.ErrSignatureMismatch, wantTried: 1},
		{name: "no secrets", header: signedA, wantErr: signature.ErrSignatureMismatch},
		{name: "empty secret is never used", secrets: secrets(""), header: signature.Sign(nil, at, testBody), wantErr: signature.ErrSignatureMismatch},
		{name: "empty secret skipped, next one used", secrets: secrets("", secretA), header: signedA},
		{name: "v1 that is not hex", secrets: secrets(secretA), header: "t=1795795495,v1=zz", wantErr: signature.ErrSignatureMismatch, wantTried: 1},
		{name: "v1 with 65 digits", secrets: secrets(secretA), header: signedA + "0", wantErr: signature.ErrSignatureMismatch, wantTried: 1},
		{name: "uppercase v1", secrets: secrets(secretA), header: "t=1795795495,v1=" + strings.ToUpper(strings.TrimPrefix(signedA, "t=1795795495,v1="))},
		{name: "many v1, last matches", secrets: secrets(secretA), header: "t=1795795495,v1=0,v1=1,v1=2,v1=3,v1=4,v1=5" + strings.TrimPrefix(signedA, "t=1795795495")},
		{name: "t with leading zero is another payload", secrets: secrets(secretA), header: "t=0" + strings.TrimPrefix(signedA, "t="), wantErr: signature.ErrSignatureMismatch, wantTried: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == nil {
				body = testBody
			}
			v := &signature.Verifier{Secrets: tc.secrets, Now: fixedClock(signedAt)}
			err := v.Verify(tc.header, body)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil {
				return
			}
			var verr *signature.VerifyError
			if !errors.As(err, &verr) {
				t.Fatalf("error %T is not a *VerifyError", err)
			}
			if verr.Tried != tc.wantTried {
				t.Errorf("tried: got %d, want %d", verr.Tried, tc.wantTried)
			}
			for _, s := range tc.secrets {
				if len(s) > 0 && strings.Contains(err.Error(), string(s)) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestVerifyDefaultClock(t *testing.T) {
	v := &signature.Verifier{Secrets: secrets(secretA)}
	if err := v.Verify(signature.Sign([]byte(secretA), time.Now(), testBody), testBody); err != nil {
		t.Errorf("signed now: got %v, want valid", err)
	}
	err := v.Verify(signature.Sign([]byte(secretA), time.Now().Add(-time.Hour), testBody), testBody)
	if !errors.Is(err, signature.ErrTimestampOutOfTolerance) {
		t.Errorf("signed an hour ago: got %v, want %v", err, signature.ErrTimestampOutOfTolerance)
	}
}

func TestSignRoundTrip(t *testing.T) {
	at := time.Unix(signedAt, 999_000_000) // truncated to the second
	tests := []struct {
		name    string
		secrets [][]byte
		body    []byte
	}{
		{name: "one secret", secrets: secrets(secretA), body: testBody},
		{name: "two secrets", secrets: secrets(secretA, secretB), body: testBody},
		{name: "empty body", secrets: secrets(secretA), body: nil},
		{name: "binary body", secrets: secrets(secretA), body: []byte{0xff, 0x00, '\n', 0xfe}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			header := signature.SignAll(tc.secrets, at, tc.body)
			h, err := signature.ParseHeader(header)
			if err != nil {
				t.Fatalf("ParseHeader(%q): %v", header, err)
			}
			if h.Timestamp != signedAt || h.RawTimestamp != "1795795495" || len(h.V1) != len(tc.secrets) {
				t.Fatalf("parsed %+v, want t=%d and %d v1", h, signedAt, len(tc.secrets))
			}
			for _, v1 := range h.V1 {
				if len(v1) != 64 || strings.ToLower(v1) != v1 {
					t.Errorf("v1 %q: want 64 lower-case hex digits", v1)
				}
			}
			for _, s := range tc.secrets {
				v := &signature.Verifier{Secrets: [][]byte{s}, Now: fixedClock(signedAt)}
				if err := v.Verify(header, tc.body); err != nil {
					t.Errorf("verify under %q: %v", s, err)
				}
			}
			if single := signature.Sign(tc.secrets[0], at, tc.body); !strings.HasPrefix(header, single) {
				t.Errorf("Sign = %q is not the start of SignAll = %q", single, header)
			}
		})
	}
}

func TestOutcome(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "valid"},
		{signature.ErrMissingHeader, "missing_header"},
		{signature.ErrMalformedHeader, "malformed_header"},
		{signature.ErrTimestampOutOfTolerance, "timestamp_out_of_tolerance"},
		{signature.ErrSignatureMismatch, "signature_mismatch"},
		{&signature.VerifyError{Reason: signature.ErrSignatureMismatch}, "signature_mismatch"},
		{errors.New("boom"), "error"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := signature.Outcome(tc.err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDescribeAge(t *testing.T) {
	tests := []struct {
		age, tolerance time.Duration
		want           string
	}{
		{301 * time.Second, 300 * time.Second, "signed 301s ago (tolerance 300s)"},
		{-301 * time.Second, 300 * time.Second, "signed 301s in the future (tolerance 300s)"},
		{0, 300 * time.Second, "signed just now (tolerance 300s)"},
		{11 * time.Second, 10500 * time.Millisecond, "signed 11s ago (tolerance 10.5s)"},
		{math.MinInt64, 300 * time.Second, "signed more than 9223372036s in the future (tolerance 300s)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := signature.DescribeAge(tc.age, tc.tolerance); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
