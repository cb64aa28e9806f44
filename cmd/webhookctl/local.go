package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/local"
)

// runLocal runs the whole receiver on this machine until interrupted.
func runLocal(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var secrets secretFlags
	addr := fs.String("addr", local.DefaultAddr, "address of the HTTP front (loopback)")
	endpoint := fs.String("endpoint", os.Getenv("AWS_ENDPOINT_URL"), "AWS emulator endpoint; empty: start moto_server")
	visibility := fs.Duration("visibility", 30*time.Second, "queue visibility timeout: how long a failed record waits before its retry")
	fs.Var(&secrets, "secret", "signing secret (repeatable); default WEBHOOK_SECRETS, else one is generated")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: webhookctl local [--addr 127.0.0.1:3000] [--secret S]… [--endpoint URL]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	keys, err := resolveSecrets(secrets, os.Getenv)
	if err != nil && !errors.Is(err, errNoSecret) {
		fmt.Fprintln(stderr, "webhookctl local:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = local.Run(ctx, local.Options{
		Addr:       *addr,
		Endpoint:   *endpoint,
		Secrets:    keys,
		Visibility: *visibility,
		Log:        slog.New(slog.NewJSONHandler(stderr, nil)),
		Out:        stdout,
	})
	if err != nil {
		fmt.Fprintln(stderr, "webhookctl local:", err)
		return exitFail
	}
	return exitOK
}
