package signature_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// benchBody is a 2 KB body, the size of a typical event.
func benchBody() []byte {
	return bytes.Repeat([]byte(`{"a":"0123456789abcdef0123456789"}`), 2048/32)[:2048]
}

// BenchmarkHMACSHA256_2KB is the floor: one HMAC-SHA256 of t, ".", body.
func BenchmarkHMACSHA256_2KB(b *testing.B) {
	body := benchBody()
	secret := []byte(secretA)
	prefix := []byte("1795795495.")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		mac := hmac.New(sha256.New, secret)
		mac.Write(prefix)
		mac.Write(body)
		mac.Sum(nil)
	}
}

// BenchmarkVerify_2KB is a whole valid verification of the same body.
func BenchmarkVerify_2KB(b *testing.B) {
	body := benchBody()
	header := signature.Sign([]byte(secretA), time.Unix(signedAt, 0), body)
	v := &signature.Verifier{Secrets: secrets(secretA), Now: fixedClock(signedAt)}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := v.Verify(header, body); err != nil {
			b.Fatal(err)
		}
	}
}
