package sqsqueue_test

import (
	"fmt"

	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// A processor turns the SQS record it receives back into a Message.
func ExampleFromSQS() {
	m, err := sqsqueue.FromSQS(`{"id":"evt_1"}`, map[string]string{
		"event_id":    "evt_1",
		"event_type":  "payment.succeeded",
		"received_at": "1795795200123",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.EventID, m.Type, m.ReceivedAt.UnixMilli(), m.Replay, string(m.Body))
	// Output: evt_1 payment.succeeded 1795795200123 false {"id":"evt_1"}
}
