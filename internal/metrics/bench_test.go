package metrics_test

import (
	"io"
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/metrics"
)

func BenchmarkPut(b *testing.B) {
	now := time.UnixMilli(1795795500123)
	e := &metrics.EMF{W: io.Discard, Function: "ingest", Now: func() time.Time { return now }}
	b.Run("NoDim", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.Count("Accepted")
		}
	})
	b.Run("OneDim", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.Count("SignatureFailure", metrics.Dim{Name: "Reason", Value: "signature_mismatch"})
		}
	})
}
