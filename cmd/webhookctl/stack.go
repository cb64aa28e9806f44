package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
)

// cmdEnv is what the send and operator commands take from the process;
// tests give their own.
type cmdEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
	// statePath is the state file of "webhookctl local"; empty: none.
	statePath string
}

func osEnv(stdin io.Reader, stdout, stderr io.Writer) cmdEnv {
	path, _ := local.StatePath() // no cache directory: no state file
	return cmdEnv{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now, statePath: path}
}

// localState reads the state file of a running "webhookctl local". It
// returns an error wrapping local.ErrNoState when there is none (a
// stale file counts as none, and the error says so).
func (env cmdEnv) localState() (local.State, error) {
	if env.statePath == "" {
		return local.State{}, local.ErrNoState
	}
	s, err := local.ReadState(env.statePath, local.ProcessAlive)
	if errors.Is(err, local.ErrStaleState) {
		return local.State{}, fmt.Errorf("%w (%w)", local.ErrNoState, err)
	}
	return s, err
}

// endpointEnv names the variable through which the SDK reaches an emulator.
const endpointEnv = "AWS_ENDPOINT_URL"

// localRegion is the region used against the local emulator when none is
// configured.
const localRegion = "us-east-1"

// errUsage marks an error the user fixes by changing the command line.
var errUsage = errors.New("usage")

// stackFlags are the flags that say which deployment an operator command
// works on.
type stackFlags struct {
	stack    string
	endpoint string
	region   string
	table    string
	orders   string
	queueURL string
	dlqURL   string
	// emailQueueURL and emailDLQURL are registered by dlq only
	// (registerEmail).
	emailQueueURL string
	emailDLQURL   string
	json          bool
}

const stackFlagsHelp = `Which deployment: --stack NAME reads the resources from the outputs of the
CloudFormation stack (EventsTableName, OrdersTableName, EventsQueueUrl,
EventsDLQUrl; for dlq --email, EmailQueueUrl and EmailDLQUrl). Without it,
the local stack: the one "webhookctl local" (make run) is running, found
through its state file; or, at --endpoint or $AWS_ENDPOINT_URL, the local
names (tables webhook-events and orders, queues webhook-events-queue,
webhook-events-dlq, webhook-emails-queue and webhook-emails-dlq). --table,
--orders-table, --queue-url and --dlq-url (and dlq's --email-queue-url and
--email-dlq-url) override any of them. AWS credentials, region and
profile come from the usual SDK configuration.
`

func (f *stackFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.stack, "stack", "", "CloudFormation stack of a deployment (default: the local stack)")
	fs.StringVar(&f.endpoint, "endpoint", "", "AWS endpoint, e.g. the local emulator (default: $"+endpointEnv+")")
	fs.StringVar(&f.region, "region", "", "AWS region (default: the SDK's configuration)")
	fs.StringVar(&f.table, "table", "", "events table name (overrides the stack's)")
	fs.StringVar(&f.orders, "orders-table", "", "orders table name (overrides the stack's)")
	fs.StringVar(&f.queueURL, "queue-url", "", "events queue URL (overrides the stack's)")
	fs.StringVar(&f.dlqURL, "dlq-url", "", "dead-letter queue URL (overrides the stack's)")
	fs.BoolVar(&f.json, "json", false, "print JSON for scripts instead of text")
}

// registerEmail adds the flags that override the email queues' URLs.
func (f *stackFlags) registerEmail(fs *flag.FlagSet) {
	fs.StringVar(&f.emailQueueURL, "email-queue-url", "", "email queue URL (overrides the stack's)")
	fs.StringVar(&f.emailDLQURL, "email-dlq-url", "", "email dead-letter queue URL (overrides the stack's)")
}

// connect loads the AWS configuration and finds the resources need names.
// Errors wrapping errUsage are the user's to fix.
func (f *stackFlags) connect(ctx context.Context, env cmdEnv, need ops.Need) (aws.Config, ops.Resources, error) {
	override := ops.Resources{
		EventsTable: f.table, OrdersTable: f.orders, QueueURL: f.queueURL, DLQURL: f.dlqURL,
		EmailQueueURL: f.emailQueueURL, EmailDLQURL: f.emailDLQURL,
	}
	endpoint := f.endpoint
	if endpoint == "" {
		endpoint = env.getenv(endpointEnv)
	}
	isLocal := f.stack == ""
	region := f.region
	if isLocal && endpoint == "" {
		st, err := env.localState()
		if err == nil {
			// The running local stack: its emulator and its resources,
			// each still overridden by its flag.
			endpoint = st.Endpoint
			override = ops.Resources{
				EventsTable: st.EventsTable, OrdersTable: st.OrdersTable, QueueURL: st.QueueURL, DLQURL: st.DLQURL,
				EmailQueueURL: st.EmailQueueURL, EmailDLQURL: st.EmailDLQURL,
			}.Merge(override)
			if region == "" {
				region = st.Region
			}
		} else if override.Check(need) != nil {
			return aws.Config{}, ops.Resources{}, fmt.Errorf("%w: no local stack found (%v): start one with \"make run\", or give --stack NAME for a deployed stack, or --endpoint (or $%s)", errUsage, err, endpointEnv)
		}
	}
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if isLocal && endpoint != "" && env.getenv("AWS_ACCESS_KEY_ID") == "" && env.getenv("AWS_PROFILE") == "" {
		// The emulator takes any credentials; do not go looking for real ones.
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, ops.Resources{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	switch {
	case f.endpoint != "":
		cfg.BaseEndpoint = aws.String(f.endpoint)
	case isLocal && endpoint != "":
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	if cfg.Region == "" {
		if !isLocal {
			return aws.Config{}, ops.Resources{}, fmt.Errorf("%w: no AWS region configured: give --region or set AWS_REGION", errUsage)
		}
		cfg.Region = localRegion
	}
	var res ops.Resources
	if isLocal {
		names := ops.LocalNames{
			EventsTable: local.DefaultEventsTable, Queue: local.DefaultQueue, DLQ: local.DefaultDLQ, OrdersTable: local.DefaultOrdersTable,
			EmailQueue: local.DefaultEmailQueue, EmailDLQ: local.DefaultEmailDLQ,
		}
		res, err = ops.LocalResources(ctx, sqs.NewFromConfig(cfg), names, override, need)
		if errors.Is(err, ops.ErrQueueNotFound) {
			err = fmt.Errorf("%w (is \"webhookctl local\" running against %s?)", err, endpoint)
		}
	} else {
		res, err = ops.StackResources(ctx, cloudformation.NewFromConfig(cfg), f.stack)
		res = res.Merge(override)
	}
	if err != nil {
		return aws.Config{}, ops.Resources{}, err
	}
	if err := res.Check(need); err != nil {
		return aws.Config{}, ops.Resources{}, fmt.Errorf("%w (give the flag for it)", err)
	}
	return cfg, res, nil
}

// parseInterleaved parses args into fs, allowing flags after positional
// arguments ("replay evt_1 --yes"), and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, int) {
	fs.SetOutput(stderr)
	var pos []string
	for range len(args) + 1 {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, -1
}

// parseSince reads --since: a Go duration (90m, 24h) or a number of days
// (7d), counted back from now; empty means no bound (the zero time).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" || s == "0" {
		return time.Time{}, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("--since %q: want a duration such as 24h, 90m or 7d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("--since %q: want a duration such as 24h, 90m or 7d", s)
		}
	}
	return now.Add(-d), nil
}

// fail prints err for command name and returns the exit code it deserves.
func fail(stderr io.Writer, name string, err error) int {
	if errors.Is(err, errUsage) {
		fmt.Fprintf(stderr, "webhookctl %s: %s\n", name, strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return exitUsage
	}
	fmt.Fprintf(stderr, "webhookctl %s: %v\n", name, err)
	return exitFail
}

// progress prints "verb n/total" on stderr every tenth of a run of more
// than ten, and at its end.
type progress struct {
	w     io.Writer
	verb  string
	total int
}

func (p progress) step(n int) {
	if p.total <= 10 {
		return
	}
	every := max(p.total/10, 10)
	if n%every == 0 || n == p.total {
		fmt.Fprintf(p.w, "%s %d/%d\n", p.verb, n, p.total)
	}
}
