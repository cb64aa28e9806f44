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
	"text/tabwriter"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
)

// runLocal runs the whole receiver on this machine until interrupted.
func runLocal(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return localCmd(ctx, args, osEnv(stdin, stdout, stderr))
}

// localCmd runs the local stack until ctx is done. While it serves, the
// state file (env.statePath) says where it is and holds its secret, so
// that the other commands need no flag; it is removed on the way out.
func localCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	var secrets secretFlags
	addr := fs.String("addr", local.DefaultAddr, "address of the HTTP front (loopback)")
	endpoint := fs.String("endpoint", env.getenv(endpointEnv), "AWS emulator endpoint; empty: start moto_server")
	visibility := fs.Duration("visibility", 30*time.Second, "queue visibility timeout: how long a failed record waits before its retry")
	fs.Var(&secrets, "secret", "signing secret (repeatable); default $"+secretsEnv+", else one is generated")
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "Usage: webhookctl local [--addr 127.0.0.1:3000] [--endpoint URL]")
		fmt.Fprintln(env.stderr, "\nThe signing secret comes from $"+secretsEnv+" (e.g. the Altafinex dashboard's, for a tunnel),")
		fmt.Fprintln(env.stderr, "else one is generated; either way the other commands read it from the state file.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	keys, err := resolveSecrets(secrets, env.getenv)
	if err != nil && !errors.Is(err, errNoSecret) {
		fmt.Fprintln(env.stderr, "webhookctl local:", err)
		return exitUsage
	}
	pid := os.Getpid()
	var stateErr error
	written := false
	err = local.Run(ctx, local.Options{
		Addr:       *addr,
		Endpoint:   *endpoint,
		Secrets:    keys,
		Visibility: *visibility,
		Getenv:     env.getenv,
		Log:        slog.New(slog.NewJSONHandler(env.stderr, nil)),
		Out:        env.stdout,
		Ready: func(st local.Stack) {
			if env.statePath != "" {
				stateErr = local.WriteState(env.statePath, stateOf(st, pid))
				written = stateErr == nil
			}
			nextSteps(env.stdout, st, env.statePath, stateErr)
		},
	})
	if written {
		if rerr := local.RemoveState(env.statePath, pid); rerr != nil {
			fmt.Fprintln(env.stderr, "webhookctl local:", rerr)
		}
	}
	if err != nil {
		fmt.Fprintln(env.stderr, "webhookctl local:", err)
		return exitFail
	}
	return exitOK
}

func stateOf(st local.Stack, pid int) local.State {
	s := local.State{
		PID: pid, WebhookURL: st.URL + local.WebhookPath, Endpoint: st.Endpoint, Region: st.AWS.Region,
		EventsTable: st.EventsTable, OrdersTable: st.OrdersTable, QueueURL: st.QueueURL, DLQURL: st.DLQURL,
		EmailQueueURL: st.EmailQueueURL, EmailDLQURL: st.EmailDLQURL,
	}
	if len(st.Secrets) > 0 {
		s.Secret = string(st.Secrets[0])
	}
	return s
}

// nextSteps prints the commands to try next; each runs as printed, from
// the repository root, in another shell.
func nextSteps(w io.Writer, st local.Stack, statePath string, stateErr error) {
	const ctl = "go run ./cmd/webhookctl"
	if statePath == "" || stateErr != nil {
		fmt.Fprintf(w, "  state file    none (%v): give the other commands --endpoint and --secret\n", stateErr)
	} else {
		fmt.Fprintf(w, "  state file    %s (where the other commands find this stack; removed on exit)\n", statePath)
	}
	order := testevents.NewID("ord_")[:12]
	fmt.Fprintln(w, "\nTry next, in another shell at the repository root:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range [][2]string{
		{"send", "a signed payment.succeeded, as the provider's test button sends it"},
		{"send --scenario refund --order " + order, "a failed payment, its success and a partial refund, shuffled"},
		{"orders get " + order, "that order and the events that made it"},
		{"events list", "every event, newest first"},
		{"orders list", "every order"},
	} {
		fmt.Fprintf(tw, "  %s %s\t# %s\n", ctl, l[0], l[1])
	}
	_ = tw.Flush()
	fmt.Fprintf(w, `
Or with curl:
  body=events/payloads/payment.succeeded.json
  curl -sS %s -H "Content-Type: application/json" \
    -H "X-Altafinex-Signature: $(%s sign < $body)" --data-binary @$body

Press Ctrl-C to stop.
`, st.URL+local.WebhookPath, ctl)
}
