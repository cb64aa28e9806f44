package bench_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// secret is the signing secret every implementation is keyed with. The
// Standard Webhooks library base64-decodes its secret, so it gets the
// base64 of the same bytes.
const secret = "whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d"

// sizes are the bodies measured: a typical event, and a large one.
var sizes = []struct {
	name string
	n    int
}{
	{"2KB", 2 << 10},
	{"64KB", 64 << 10},
}

// body returns n bytes of JSON-looking text.
func body(n int) []byte {
	unit := []byte(`{"a":"0123456789abcdef0123456789"}`)
	return bytes.Repeat(unit, n/len(unit)+1)[:n]
}

// BenchmarkVerify measures one valid verification of a body per
// implementation. raw_hmac is the floor every implementation must pay: one
// HMAC-SHA256 of t, ".", body. The others verify a header signed moments
// ago against the real clock, each with its own API and scheme.
func BenchmarkVerify(b *testing.B) {
	for _, sz := range sizes {
		payload := body(sz.n)
		now := time.Now()
		ts := strconv.FormatInt(now.Unix(), 10)

		b.Run(sz.name+"/raw_hmac", func(b *testing.B) {
			key := []byte(secret)
			prefix := []byte(ts + ".")
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				m := hmac.New(sha256.New, key)
				m.Write(prefix)
				m.Write(payload)
				_ = m.Sum(nil)
			}
		})

		b.Run(sz.name+"/receiver", func(b *testing.B) {
			header := signature.Sign([]byte(secret), now, payload)
			v := &signature.Verifier{Secrets: [][]byte{[]byte(secret)}}
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := v.Verify(header, payload); err != nil {
					b.Fatal(err)
				}
			}
		})

		b.Run(sz.name+"/stripe", func(b *testing.B) {
			// The same t=…,v1=… scheme: the receiver's header is a valid
			// Stripe-Signature value.
			header := signature.Sign([]byte(secret), now, payload)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := webhook.ValidatePayload(payload, header, secret); err != nil {
					b.Fatal(err)
				}
			}
		})

		b.Run(sz.name+"/standardwebhooks", func(b *testing.B) {
			wh, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte(secret)))
			if err != nil {
				b.Fatal(err)
			}
			sig, err := wh.Sign("msg_2mZ0", now, payload)
			if err != nil {
				b.Fatal(err)
			}
			h := http.Header{}
			h.Set("webhook-id", "msg_2mZ0")
			h.Set("webhook-timestamp", ts)
			h.Set("webhook-signature", sig)
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := wh.Verify(payload, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPeersAgree checks that each benchmarked call accepts its valid
// header and refuses a tampered body, so that the benchmark compares
// verifications that really verify.
func TestPeersAgree(t *testing.T) {
	payload := body(2 << 10)
	tampered := append(bytes.Clone(payload[:len(payload)-1]), 'x')
	now := time.Now()
	header := signature.Sign([]byte(secret), now, payload)
	v := &signature.Verifier{Secrets: [][]byte{[]byte(secret)}}
	wh, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte(secret)))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wh.Sign("msg_1", now, payload)
	if err != nil {
		t.Fatal(err)
	}
	swh := http.Header{}
	swh.Set("webhook-id", "msg_1")
	swh.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	swh.Set("webhook-signature", sig)

	cases := []struct {
		name   string
		verify func(body []byte) error
	}{
		{"receiver", func(b []byte) error { return v.Verify(header, b) }},
		{"stripe", func(b []byte) error { return webhook.ValidatePayload(b, header, secret) }},
		{"standardwebhooks", func(b []byte) error { return wh.Verify(b, swh) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.verify(payload); err != nil {
				t.Errorf("valid body refused: %v", err)
			}
			if err := tc.verify(tampered); err == nil {
				t.Error("tampered body accepted")
			}
		})
	}
}
