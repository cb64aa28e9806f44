// Command processor is the SQS-triggered Lambda that applies queued webhook
// events: claim, dispatch to the handler of the event's type, record the
// outcome, report batch item failures. All logic is in internal/; this is
// wiring.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := processorapp.Load(os.Getenv)
	if err != nil {
		log.Error("invalid configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	log = slog.New(sqsbatch.LogHandler(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel})))
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(processorapp.New(cfg, awsCfg, log, os.Stdout).Handle)
}
