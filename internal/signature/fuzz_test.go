package signature_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

func FuzzParseHeader(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Header)
	}
	f.Add(" , t=0001 ,v1=,v0=x,")
	f.Add("t=9223372036854775808,v1=00")
	f.Fuzz(func(t *testing.T, header string) {
		h, err := signature.ParseHeader(header)
		if err != nil {
			blank := strings.TrimSpace(header) == ""
			switch {
			case blank && !errors.Is(err, signature.ErrMissingHeader):
				t.Fatalf("blank header %q: got %v, want %v", header, err, signature.ErrMissingHeader)
			case !blank && !errors.Is(err, signature.ErrMalformedHeader):
				t.Fatalf("header %q: got %v, want %v", header, err, signature.ErrMalformedHeader)
			}
			return
		}
		if len(h.V1) == 0 {
			t.Fatalf("header %q parsed without a v1", header)
		}
		n, perr := strconv.ParseInt(h.RawTimestamp, 10, 64)
		if perr != nil || n != h.Timestamp || n < 0 || strings.TrimLeft(h.RawTimestamp, "0123456789") != "" {
			t.Fatalf("header %q: raw t %q does not give t %d", header, h.RawTimestamp, h.Timestamp)
		}
		if !strings.Contains(header, "t="+h.RawTimestamp) {
			t.Fatalf("header %q: raw t %q is not in the header", header, h.RawTimestamp)
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Header, v.body(f), v.Now)
	}
	f.Fuzz(func(t *testing.T, header string, body []byte, now int64) {
		v := &signature.Verifier{Secrets: secrets("whsec_5f0d2c8e9b7a4e1f8c3d6a2b9e0f7c1d", secretA), Now: fixedClock(now)}
		err := v.Verify(header, body)
		if _, perr := signature.ParseHeader(header); perr != nil {
			if signature.Outcome(err) != signature.Outcome(perr) {
				t.Fatalf("Verify says %v, ParseHeader says %v", err, perr)
			}
		} else if err != nil && !errors.Is(err, signature.ErrTimestampOutOfTolerance) && !errors.Is(err, signature.ErrSignatureMismatch) {
			t.Fatalf("parsable header %q: unexpected %v", header, err)
		}
		if err != nil && signature.Outcome(err) == "error" {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if now < 0 {
			return // Sign's t must not be before 1970.
		}
		signed := signature.Sign([]byte(secretA), time.Unix(now, 0), body)
		if err := v.Verify(signed, body); err != nil {
			t.Fatalf("own signature at %d: %v", now, err)
		}
	})
}
