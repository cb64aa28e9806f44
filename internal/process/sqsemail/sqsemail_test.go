package sqsemail_test

import (
	"testing"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/process/emailjob"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsemail"
)

// A job comes back from its message as it went: the deferral's count,
// stamp and token included (SQS's time is the receiver's to add).
func TestEncodeDecode(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	email := handlers.Email{To: "buyer@example.org", Subject: "Order ord_1: payment confirmed", Text: "t", HTML: "<p>t</p>",
		Template: "payment_confirmation", OrderID: "ord_1", EventID: "evt_1"}
	tests := []struct {
		name string
		job  emailjob.Job
	}{
		{"new", emailjob.Job{EventID: "evt_1", Email: email, QueuedAt: t0}},
		{"deferred", emailjob.Job{EventID: "evt_1", Email: email, QueuedAt: t0, Deferrals: 3, RequeuedAt: t0.Add(time.Minute), Token: "tok"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, err := sqsemail.Encode(tc.job)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sqsemail.Decode(body, eventrecord.BodyBase64)
			if err != nil {
				t.Fatal(err)
			}
			if got.EventID != tc.job.EventID || got.Email != tc.job.Email || !got.QueuedAt.Equal(tc.job.QueuedAt) ||
				got.Deferrals != tc.job.Deferrals || !got.RequeuedAt.Equal(tc.job.RequeuedAt) || got.Token != tc.job.Token || !got.SentAt.IsZero() {
				t.Errorf("decoded %+v\nwant %+v", got, tc.job)
			}
		})
	}
}
