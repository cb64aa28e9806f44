package rie

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// The queue settings of template.yaml's EventsQueue.
const (
	maxReceiveCount = 5
	visibility      = 180 * time.Second
)

// EnvFile is the content of events/env.json: each function's environment by
// its logical id in template.yaml, as `sam local invoke --env-vars` reads it.
type EnvFile map[string]map[string]string

// ReadEnvFile reads an EnvFile.
func ReadEnvFile(name string) (EnvFile, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var f EnvFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// ForEmulator returns a copy of env pointed at the AWS emulator at
// endpoint: AWS_ENDPOINT_URL, the static credentials test/test and region
// us-east-1.
func ForEmulator(env map[string]string, endpoint string) map[string]string {
	out := maps.Clone(env)
	if out == nil {
		out = map[string]string{}
	}
	out["AWS_ENDPOINT_URL"] = endpoint
	out["AWS_ACCESS_KEY_ID"] = "test"
	out["AWS_SECRET_ACCESS_KEY"] = "test"
	out["AWS_REGION"] = Region
	out["AWS_DEFAULT_REGION"] = Region
	return out
}

// DLQName is the dead-letter queue of the queue called queue:
// webhook-events-queue has webhook-events-dlq.
func DLQName(queue string) string {
	return strings.TrimSuffix(queue, "-queue") + "-dlq"
}

// CreateResources creates, on the AWS endpoint cfg points at, what env
// names: the events table (EVENTS_TABLE), the orders table (ORDERS_TABLE)
// and its refunds table (REFUNDS_TABLE, else ORDERS_TABLE-refunds), and the
// queue named by the last path element of QUEUE_URL with its
// dead-letter queue (DLQName), with the template's redrive policy and
// visibility timeout. Existing ones are kept. It returns a copy of env whose
// QUEUE_URL is the URL the emulator gave the queue.
func CreateResources(ctx context.Context, cfg aws.Config, env map[string]string) (map[string]string, error) {
	out := maps.Clone(env)
	db := dynamodb.NewFromConfig(cfg)
	if name := env["EVENTS_TABLE"]; name != "" {
		if err := ddbevents.CreateTable(ctx, db, name); err != nil {
			return nil, err
		}
	}
	if name := env["ORDERS_TABLE"]; name != "" {
		if err := ddborders.CreateTable(ctx, db, name); err != nil {
			return nil, err
		}
	}
	if name := env["REFUNDS_TABLE"]; name != "" {
		if err := ddborders.CreateRefundsTable(ctx, db, name); err != nil {
			return nil, err
		}
	}
	if raw := env["QUEUE_URL"]; raw != "" {
		u, err := url.Parse(raw)
		if err != nil || path.Base(u.Path) == "/" || path.Base(u.Path) == "." {
			return nil, fmt.Errorf("QUEUE_URL %q names no queue", raw)
		}
		name := path.Base(u.Path)
		qURL, _, err := sqsqueue.CreateQueues(ctx, sqs.NewFromConfig(cfg), name, DLQName(name), maxReceiveCount, visibility)
		if err != nil {
			return nil, err
		}
		out["QUEUE_URL"] = qURL
	}
	return out, nil
}
