// Package ingestapp is the ingest function's wiring: Load reads and
// validates its configuration from the environment, once, at start-up, and
// New builds the handler from it: the AWS clients, the secret source, the
// service and the API Gateway adapter. The Lambda's main and the local
// stack share it, so both run the same code.
package ingestapp

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/ingest/apigw"
	"github.com/altafinex-webhooks/receiver/internal/metrics"
	"github.com/altafinex-webhooks/receiver/internal/secrets"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

var (
	_ ingest.Store        = (*ddbevents.Table)(nil)
	_ ingest.Queue        = (*sqsqueue.Queue)(nil)
	_ ingest.SecretSource = (*secrets.Manager)(nil)
	_ ingest.SecretSource = secrets.Static(nil)
)

// MetricsFunction is the Function dimension of the ingest function's
// metrics, as template.yaml's alarms and dashboard name it.
const MetricsFunction = "ingest"

// New builds the handler. With a Secrets Manager secret it fetches the
// secret once now, so a deployment that cannot read it fails its cold start.
// Metrics go to metricsOut (stdout in Lambda).
func New(ctx context.Context, cfg Config, awsCfg aws.Config, log *slog.Logger, metricsOut io.Writer) (*apigw.Handler, error) {
	var src ingest.SecretSource = secrets.Static(cfg.Secrets)
	if cfg.SecretID != "" {
		m := &secrets.Manager{
			Client:  secretsmanager.NewFromConfig(awsCfg),
			ID:      cfg.SecretID,
			Refresh: cfg.SecretRefresh,
			OnRefreshError: func(err error) {
				log.Warn("secret refresh failed; keeping the cached secrets", slog.String("error", err.Error()))
			},
		}
		if err := m.Load(ctx); err != nil {
			return nil, fmt.Errorf("load signing secret: %w", err)
		}
		src = m
	}
	svc := &ingest.Service{
		Store:       ddbevents.New(dynamodb.NewFromConfig(awsCfg), cfg.EventsTable),
		Queue:       sqsqueue.New(sqs.NewFromConfig(awsCfg), cfg.QueueURL),
		Secrets:     src,
		Tolerance:   cfg.Tolerance,
		MaxBody:     cfg.MaxBody,
		Types:       cfg.Types,
		Livemode:    cfg.Livemode,
		TTL:         cfg.TTL,
		Lease:       cfg.Lease,
		AllowedNets: cfg.AllowedNets,
	}
	return &apigw.Handler{
		Receiver: svc,
		Log:      log,
		Metrics:  &metrics.EMF{W: metricsOut, Namespace: cfg.Namespace, Function: MetricsFunction},
	}, nil
}
