// Package processorapp builds the processor's SQS batch handler from its
// configuration: the AWS clients, the stores, the effects and the handler
// registry. The Lambda's main and the local stack share it, so both run the
// same code.
package processorapp

import (
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/altafinex-webhooks/receiver/internal/awserr"
	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/ebpublish"
	"github.com/altafinex-webhooks/receiver/internal/handlers"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/process"
	"github.com/altafinex-webhooks/receiver/internal/processorconfig"
	"github.com/altafinex-webhooks/receiver/internal/sesmail"
	"github.com/altafinex-webhooks/receiver/internal/sqsbatch"
)

var (
	_ process.Events     = (*ddbevents.Table)(nil)
	_ handlers.Orders    = (*ddborders.Store)(nil)
	_ handlers.Mailer    = (*sesmail.Mailer)(nil)
	_ handlers.Publisher = (*ebpublish.Publisher)(nil)
)

// New builds the handler. Without a sender, emails are logged; without a
// bus, no domain events are published. Metrics go to metricsOut (stdout in
// Lambda). Nothing here makes a network call.
func New(cfg processorconfig.Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) *sqsbatch.Handler {
	ddb := dynamodb.NewFromConfig(awsCfg)
	var mailer handlers.Mailer = &sesmail.LogMailer{Logger: log}
	if cfg.SenderEmail != "" {
		mailer = sesmail.New(sesv2.NewFromConfig(awsCfg), cfg.SenderEmail)
	}
	var publisher handlers.Publisher = ebpublish.Nop{}
	if cfg.EventBusName != "" {
		publisher = ebpublish.New(eventbridge.NewFromConfig(awsCfg), cfg.EventBusName)
	}
	proc := &process.Processor{
		Events: ddbevents.New(ddb, cfg.EventsTable),
		Handlers: handlers.Default(handlers.Deps{
			Orders:           ddborders.New(ddb, cfg.OrdersTable),
			Mailer:           mailer,
			Publisher:        publisher,
			RetryURLTemplate: cfg.RetryURLTemplate,
			Logger:           log,
		}),
		Lease:          cfg.ProcessingLease,
		TTL:            cfg.EventTTL,
		MaxConcurrency: cfg.MaxConcurrency,
		IsPermanent:    awserr.IsPermanent,
		Logger:         log,
	}
	h := sqsbatch.New(proc, log)
	h.Metrics = &metrics.EMF{W: metricsOut, Namespace: cfg.Namespace, Function: "processor"}
	return h
}
