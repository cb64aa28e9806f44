// Command ingest is the API Gateway Lambda that receives Altafinex webhooks:
// verify, dedupe, enqueue, answer. All logic is in internal/; this is wiring.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := ingestapp.Load(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	log = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("load AWS configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	h, err := ingestapp.New(ctx, cfg, awsCfg, log, os.Stdout)
	if err != nil {
		log.Error("start ingest", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
