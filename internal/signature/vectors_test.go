package signature_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// vector is one entry of testdata/signature-vectors.json, a copy of the
// contract's test vectors.
type vector struct {
	Name             string   `json:"name"`
	Secrets          []string `json:"secrets"`
	Now              int64    `json:"now"`
	ToleranceSeconds int64    `json:"tolerance_seconds"`
	Header           string   `json:"header"`
	Expect           string   `json:"expect"`
	Body             *string  `json:"body"`
	BodyBase64       *string  `json:"body_base64"`
}

// loadVectors reads the vectors from testdata and decodes their bodies.
func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "signature-vectors.json"))
	if err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	var file struct {
		Header  string   `json:"header"`
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		tb.Fatalf("decode vectors: %v", err)
	}
	if file.Header != signature.HeaderName {
		tb.Fatalf("vectors are for header %q, package uses %q", file.Header, signature.HeaderName)
	}
	if len(file.Vectors) < 20 {
		tb.Fatalf("only %d vectors in testdata, want the whole spec set", len(file.Vectors))
	}
	return file.Vectors
}

// body returns the vector's raw body bytes.
func (v vector) body(tb testing.TB) []byte {
	tb.Helper()
	switch {
	case v.Body != nil && v.BodyBase64 == nil:
		return []byte(*v.Body)
	case v.BodyBase64 != nil && v.Body == nil:
		b, err := base64.StdEncoding.DecodeString(*v.BodyBase64)
		if err != nil {
			tb.Fatalf("vector %q: body_base64: %v", v.Name, err)
		}
		return b
	}
	tb.Fatalf("vector %q: want exactly one of body and body_base64", v.Name)
	return nil
}

func (v vector) verifier() *signature.Verifier {
	secrets := make([][]byte, len(v.Secrets))
	for i, s := range v.Secrets {
		secrets[i] = []byte(s)
	}
	now := time.Unix(v.Now, 0)
	return &signature.Verifier{
		Secrets:   secrets,
		Tolerance: time.Duration(v.ToleranceSeconds) * time.Second,
		Now:       func() time.Time { return now },
	}
}

// expectedErr maps an "expect" value of the vectors to the sentinel.
func expectedErr(tb testing.TB, expect string) error {
	tb.Helper()
	switch expect {
	case "valid":
		return nil
	case "missing_header":
		return signature.ErrMissingHeader
	case "malformed_header":
		return signature.ErrMalformedHeader
	case "timestamp_out_of_tolerance":
		return signature.ErrTimestampOutOfTolerance
	case "signature_mismatch":
		return signature.ErrSignatureMismatch
	}
	tb.Fatalf("unknown expected outcome %q", expect)
	return nil
}

func TestVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			want := expectedErr(t, v.Expect)
			err := v.verifier().Verify(v.Header, v.body(t))
			if want == nil {
				if err != nil {
					t.Fatalf("Verify: got %v, want valid", err)
				}
			} else if !errors.Is(err, want) {
				t.Fatalf("Verify: got %v, want %v", err, want)
			}
			if got := signature.Outcome(err); got != v.Expect {
				t.Errorf("Outcome: got %q, want %q", got, v.Expect)
			}
			if err == nil {
				return
			}
			var verr *signature.VerifyError
			if !errors.As(err, &verr) {
				t.Fatalf("error %T is not a *VerifyError", err)
			}
			assertNoSecrets(t, err.Error(), v)
		})
	}
}

// assertNoSecrets fails when msg reveals a secret or a signature.
func assertNoSecrets(t *testing.T, msg string, v vector) {
	t.Helper()
	for _, s := range v.Secrets {
		if strings.Contains(msg, s) {
			t.Errorf("message %q reveals a secret", msg)
		}
	}
	for _, pair := range strings.Split(v.Header, ",") {
		if val, ok := strings.CutPrefix(strings.TrimSpace(pair), "v1="); ok && len(val) > 8 && strings.Contains(msg, val) {
			t.Errorf("message %q reveals a signature", msg)
		}
	}
}
