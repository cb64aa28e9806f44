package envelope_test

import (
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
)

// body2KB is a realistic 2 KB payment.succeeded envelope, the same shape as
// the ingest handler benchmark's.
func body2KB(b *testing.B) []byte {
	b.Helper()
	head := `{"id":"evt_3PqL8fA1x9Kd2mZ0","object":"event","type":"payment.succeeded","created":1795795200,"livemode":false,"api_version":"2026-06-01","data":{"object":{"id":"pay_7Hc2Vb9QeL4sT1","object":"payment","amount":4999,"currency":"usd","status":"succeeded","customer":{"email":"jane.doe@example.com","name":"Jane Doe"},"metadata":{"order_id":"ord_1001"},"description":"`
	tail := `"}}}`
	return []byte(head + strings.Repeat("x", 2048-len(head)-len(tail)) + tail)
}

func BenchmarkParse_2KB(b *testing.B) {
	body := body2KB(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		env, err := envelope.Parse(body)
		if err != nil || env.Created != 1795795200 {
			b.Fatalf("Parse = %+v, %v", env, err)
		}
	}
}
