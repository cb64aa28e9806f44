package processorapp_test

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/process/handlers"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sesmail"
)

// TestHooks checks that every hook is handed the dependency New builds,
// once, and that what it returns is used.
func TestHooks(t *testing.T) {
	tests := []struct {
		name                      string
		sender, bus               string
		wantMailer, wantPublisher string
	}{
		{"with a sender and a bus", "payments@example.com", "orders", fmt.Sprintf("%T", &sesmail.Mailer{}), fmt.Sprintf("%T", &ebpublish.Publisher{})},
		{"without", "", "", fmt.Sprintf("%T", &sesmail.LogMailer{}), fmt.Sprintf("%T", ebpublish.Nop{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			note := func(what string, v any) { got = append(got, fmt.Sprintf("%s %T", what, v)) }
			cfg := processorapp.Config{EventsTable: "events", OrdersTable: "orders", SenderEmail: tc.sender, EventBusName: tc.bus}
			h := processorapp.NewWithTestHooks(cfg, aws.Config{Region: "us-east-1"}, slog.New(slog.DiscardHandler), io.Discard, processorapp.TestHooks{
				Events:    func(e process.Events) process.Events { note("events", e); return e },
				Orders:    func(o handlers.Orders) handlers.Orders { note("orders", o); return o },
				Mailer:    func(m handlers.Mailer) handlers.Mailer { note("mailer", m); return m },
				Publisher: func(p handlers.Publisher) handlers.Publisher { note("publisher", p); return p },
				Handlers: func(r process.Registry) process.Registry {
					note("registry", r)
					for _, typ := range []string{handlers.TypePaymentSucceeded, handlers.TypePaymentFailed, handlers.TypeRefundCompleted} {
						if r[typ] == nil {
							t.Errorf("registry without %s", typ)
						}
					}
					return r
				},
			})
			if h == nil {
				t.Fatal("New returned nil")
			}
			want := []string{
				fmt.Sprintf("events %T", &ddbevents.Table{}),
				fmt.Sprintf("orders %T", &ddborders.Store{}),
				"mailer " + tc.wantMailer,
				"publisher " + tc.wantPublisher,
				fmt.Sprintf("registry %T", process.Registry{}),
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("wrappers saw\n  %v\nwant\n  %v", got, want)
			}
		})
	}
}
