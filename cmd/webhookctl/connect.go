package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/term"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const connectUsage = `Usage: webhookctl connect --stack NAME [--function-url] [--wait 6m] [--no-test] < secret

Connects a deployed stack to Altafinex, as the dashboard's "Save & Test":
  1. reads the endpoint's signing secret (whsec_…) from standard input: at a
     terminal it asks for it and does not echo it; never give it as a flag;
  2. stores it in the stack's secret (output WebhookSecretArn; the value it
     replaces, the stack's placeholder or an earlier secret, stays accepted
     as AWSPREVIOUS until the next put);
  3. prints the WebhookUrl to paste into the Altafinex dashboard;
  4. signs a test event (payment.succeeded, livemode false, a fresh order)
     with it, sends it to that URL, and shows its record until PROCESSED.
A stack in live mode (Mode=live) gets no test event: it would be a real
order. A 401 right after storing the secret means the function has not read
it yet; the event is sent again until --wait has passed.

Exit status: 0 connected (the test event PROCESSED, or none sent), 1 not,
2 usage error.

Flags:
`

// maxSecretLen bounds what is read from standard input.
const maxSecretLen = 4096

// runConnect is the connect subcommand.
func runConnect(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return connectCmd(context.Background(), args, osEnv(stdin, stdout, stderr))
}

func connectCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("connect", flag.ContinueOnError)
	var sf stackFlags
	fs.StringVar(&sf.stack, "stack", "", "the deployed stack (required)")
	fs.StringVar(&sf.endpoint, "endpoint", "", "AWS endpoint (default: the SDK's)")
	fs.StringVar(&sf.region, "region", "", "AWS region (default: the SDK's configuration)")
	functionURL := fs.Bool("function-url", false, "use the FunctionWebhookUrl output (FunctionUrl=Enabled) instead of WebhookUrl")
	wait := fs.Duration("wait", 6*time.Minute, "how long to wait for the test event to be PROCESSED (a warm function reads a replaced secret within 5 minutes)")
	retry := fs.Duration("retry", 5*time.Second, "how long to wait before sending the test event again after a 401")
	poll := fs.Duration("poll", time.Second, "how often to read the test event's record")
	noTest := fs.Bool("no-test", false, "store the secret and print the URL, send no test event")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), connectUsage)
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args, env.stderr); code >= 0 {
		return code
	}
	switch {
	case sf.stack == "":
		return usageError(fs, env.stderr, errors.New("--stack NAME is required (the secret is read from standard input)"))
	case *wait <= 0 || *retry <= 0 || *poll <= 0:
		return usageError(fs, env.stderr, errors.New("--wait, --retry and --poll want positive durations"))
	}
	secret, err := readSecret(env)
	if err != nil {
		return usageError(fs, env.stderr, err)
	}

	cfg, res, err := sf.connect(ctx, env, ops.NeedEventsTable)
	if err != nil {
		return fail(env.stderr, "connect", err)
	}
	info, err := ops.DescribeStack(ctx, cloudformation.NewFromConfig(cfg), sf.stack)
	if err != nil {
		return fail(env.stderr, "connect", err)
	}
	urlKey := ops.OutputWebhookURL
	if *functionURL {
		urlKey = ops.OutputFunctionWebhookURL
	}
	url, arn := info.Outputs[urlKey], info.Outputs[ops.OutputSecretARN]
	if url == "" || arn == "" {
		return fail(env.stderr, "connect", fmt.Errorf("stack %s has no %s or %s output (is it this project's template?)", sf.stack, urlKey, ops.OutputSecretARN))
	}

	if err := storeSecret(ctx, env, secretsmanager.NewFromConfig(cfg), arn, secret); err != nil {
		return fail(env.stderr, "connect", err)
	}
	fmt.Fprintf(env.stdout, "Webhook URL, to paste into the Altafinex dashboard (endpoint settings):\n  %s\n", url)

	if *noTest {
		return exitOK
	}
	if strings.EqualFold(info.Parameters[ops.ParamMode], "live") {
		fmt.Fprintln(env.stdout, "Live stack (Mode=live): no test event sent, it would be a real order. Test a stack in test mode first.")
		return exitOK
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded, Order: testevents.NewID("ord_connect_")[:20]}, env.now())
	if err != nil {
		return fail(env.stderr, "connect", err)
	}
	fmt.Fprintf(env.stdout, "Test event %s (payment.succeeded, test mode), as the dashboard's test button sends it:\n", ev.ID)
	if !sendUntilAccepted(wctx, env, url, []byte(secret), ev.Body, *retry) {
		fmt.Fprintf(env.stderr, "webhookctl connect: the test event was not accepted within %s\n", *wait)
		return exitFail
	}
	table := ddbevents.New(dynamodb.NewFromConfig(cfg), res.EventsTable)
	if !watch(wctx, env, table, ev.ID, *poll) {
		return exitFail
	}
	fmt.Fprintf(env.stdout, "Connected: a signed event reached %s. (webhookctl events get %s --stack %s)\n", eventrecord.Processed, ev.ID, sf.stack)
	return exitOK
}

// readSecret reads the signing secret from standard input: at a terminal
// it asks for it without echo, otherwise it takes the first line.
func readSecret(env cmdEnv) (string, error) {
	var raw string
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.stderr, "Signing secret of the endpoint, from the Altafinex dashboard (whsec_…, not shown): ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", fmt.Errorf("read the secret: %w", err)
		}
		raw = string(b)
	} else {
		line, err := bufio.NewReader(io.LimitReader(env.stdin, maxSecretLen)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the secret from standard input: %w", err)
		}
		raw = line
	}
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", errors.New("no secret on standard input: pipe or type the whsec_… value from the Altafinex dashboard")
	case !strings.HasPrefix(s, "whsec_") || len(s) <= len("whsec_"):
		return "", errors.New("that is not a signing secret: it starts with whsec_ (copy it whole from the Altafinex dashboard)")
	case strings.ContainsAny(s, ", \t"):
		return "", errors.New("one secret, without commas or spaces")
	}
	return s, nil
}

// storeSecret puts secret into the stack's secret (a new AWSCURRENT
// version; the value it replaces becomes AWSPREVIOUS). It never reads the
// secret: an operator needs no right to see it.
func storeSecret(ctx context.Context, env cmdEnv, sm *secretsmanager.Client, arn, secret string) error {
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(secret)}); err != nil {
		return fmt.Errorf("store the signing secret in %s: %w", arn, err)
	}
	fmt.Fprintf(env.stdout, "Signing secret stored in %s.\n", arn)
	return nil
}

// sendUntilAccepted posts the signed body, again after retry while the
// answer is 401 (the function has not read the new secret yet), until it
// is 2xx or ctx ends.
func sendUntilAccepted(ctx context.Context, env cmdEnv, url string, secret, body []byte, retry time.Duration) bool {
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		status, answer, err := post(ctx, client, url, signature.Sign(secret, env.now(), body), body)
		switch {
		case err != nil:
			fmt.Fprintf(env.stdout, "  no answer: %v\n", err)
		case status >= 200 && status < 300:
			fmt.Fprintf(env.stdout, "  sent: %d %s\n", status, answer)
			return true
		case status == http.StatusUnauthorized:
			fmt.Fprintf(env.stdout, "  sent: %d %s: the function has not read the new secret yet; again in %s\n", status, answer, retry)
		default:
			fmt.Fprintf(env.stdout, "  sent: %d %s; again in %s\n", status, answer, retry)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(retry):
		}
	}
}

// watch reads the event's record every poll and prints each status it
// goes through, until PROCESSED (true), another final status or ctx's end
// (false).
func watch(ctx context.Context, env cmdEnv, table *ddbevents.Table, eventID string, poll time.Duration) bool {
	last := eventrecord.Status("")
	for {
		r, err := table.Get(ctx, eventID)
		switch {
		case errors.Is(err, ddbevents.ErrNotFound):
		case err != nil && ctx.Err() == nil:
			fmt.Fprintf(env.stderr, "webhookctl connect: read the event's record: %v\n", err)
			return false
		case err == nil && r.Status != last:
			last = r.Status
			line := "  " + string(r.Status)
			if r.Status == eventrecord.Processed && r.DurationMS > 0 {
				line += fmt.Sprintf(" (processing took %d ms)", r.DurationMS)
			}
			if r.Error != "" {
				line += ": " + r.Error
			}
			fmt.Fprintln(env.stdout, line)
			if r.Status == eventrecord.Processed {
				return true
			}
			if r.Status.Terminal() {
				fmt.Fprintf(env.stderr, "webhookctl connect: the test event ended %s (webhookctl events get %s)\n", r.Status, eventID)
				return false
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(env.stderr, "webhookctl connect: the test event is still %s: is the processor running? (webhookctl events get %s)\n", orNone(last), eventID)
			return false
		case <-time.After(poll):
		}
	}
}

func orNone(s eventrecord.Status) string {
	if s == "" {
		return "without a record"
	}
	return string(s)
}
