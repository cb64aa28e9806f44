package motoserver_test

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }

func TestEmulatorAnswersSQS(t *testing.T) {
	ctx := context.Background()
	client := sqs.NewFromConfig(motoserver.TestConfig(t))
	name := motoserver.UniqueName(t, "q")
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	if aws.ToString(out.QueueUrl) == "" {
		t.Fatal("CreateQueue returned no URL")
	}
}

func TestStartAndStop(t *testing.T) {
	ctx := context.Background()
	srv, err := motoserver.Start(ctx, nil)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := motoserver.Ping(ctx, srv.URL); err != nil {
		t.Fatalf("Ping after Start: %v", err)
	}
	if err := motoserver.Reset(ctx, srv.URL); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	srv.Stop()
	if err := motoserver.Ping(ctx, srv.URL); err == nil {
		t.Fatal("Ping after Stop: want an error, got none")
	}
}

func TestStartWithoutMotoOnPath(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := motoserver.Start(context.Background(), nil)
	if err != motoserver.ErrNotInstalled {
		t.Fatalf("Start with empty PATH: got %v, want ErrNotInstalled", err)
	}
}
