// Package local runs the whole receiver on one machine with no AWS account
// and no Docker (`webhookctl local`, `make run`): moto_server for the AWS
// services, the ingest handler behind an HTTP server that stands for API
// Gateway (APIGateway), and the processor fed by a Poller that does what
// Lambda's SQS event source mapping does; both handlers are called through
// Invoke, as JSON bytes, the way the Lambda runtime calls them. The
// handlers are the same code the Lambda functions run. The running stack
// leaves a state file (WriteState, ReadState) so the other webhookctl
// commands find it.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ingest/ingestapp"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// Default names of the local resources.
const (
	DefaultAddr        = "127.0.0.1:3000"
	DefaultEventsTable = "webhook-events"
	DefaultQueue       = "webhook-events-queue"
	DefaultDLQ         = "webhook-events-dlq"
	DefaultOrdersTable = "orders"
	DefaultEmailQueue  = "webhook-emails-queue"
	DefaultEmailDLQ    = "webhook-emails-dlq"
	WebhookPath        = "/api/webhooks/payment"
	// MaxReceiveCount matches the template's redrive policy.
	MaxReceiveCount = 5
)

// Options configure Run. Zero values take the defaults above.
type Options struct {
	Addr     string
	Endpoint string   // AWS endpoint; empty: start moto_server
	Secrets  [][]byte // empty: one is generated (see Stack.SecretGenerated)
	// SecretID, when set, makes ingest read its secret from this Secrets
	// Manager secret, as in a deployment, instead of Secrets.
	SecretID    string
	EventsTable string
	Queue       string
	DLQ         string
	OrdersTable string
	// EmailQueue and EmailDLQ name the email queue and its dead-letter
	// queue; EmailPollers is how many pollers serve it, standing for the
	// email mapping's maximum concurrency (the processor's
	// EMAIL_SENDER_CONCURRENCY; default 2), each with a processor of its
	// own, as each concurrent Lambda invocation has its own sandbox.
	EmailQueue   string
	EmailDLQ     string
	EmailPollers int
	// EventPollers is how many pollers serve the events queue, standing
	// for the events mapping's concurrency (default 1).
	EventPollers int
	// EmailBatchSize is the email pollers' batch size (the email
	// mapping's BatchSize, 1 to 10; default 10).
	EmailBatchSize int
	// Visibility is the queue's visibility timeout: how long a failed
	// record waits before it is tried again. Default 30 s.
	Visibility time.Duration
	// Getenv supplies the rest of the functions' configuration (LIVE_MODE,
	// SUBSCRIBED_EVENT_TYPES, …); nil: os.Getenv.
	Getenv func(string) string
	Log    *slog.Logger // JSON log of both functions; nil: stderr
	Out    io.Writer    // the human banner; nil: stdout
	// Ready, when set, is called with the server's base URL once it serves.
	Ready func(Stack)
	// NoProcessor leaves the queue alone: only the ingest path runs.
	NoProcessor bool
	// AWS is the SDK configuration of the set-up (tables, queues) and of
	// Stack.AWS; nil: motoserver.AWSConfig for the endpoint.
	AWS *aws.Config
	// FunctionAWS, when set, returns the SDK configuration a function runs
	// with: function is its logical id in template.yaml (IngestFunction,
	// ProcessorFunction; the processor's poller, standing for the event
	// source mapping, polls with the processor's, as the mapping polls
	// with the function's role), env its environment. Nil: both use the
	// set-up's. Tests give each function the keys of its template policy.
	FunctionAWS func(function string, env func(string) string) (aws.Config, error)
}

// The functions' logical ids in template.yaml, as FunctionAWS names them.
const (
	IngestFunction    = "IngestFunction"
	ProcessorFunction = "ProcessorFunction"
)

// functionAWS returns the configuration function runs with.
func (o *Options) functionAWS(function string, env func(string) string, setup aws.Config) (aws.Config, error) {
	if o.FunctionAWS == nil {
		return setup, nil
	}
	cfg, err := o.FunctionAWS(function, env)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration of %s: %w", function, err)
	}
	return cfg, nil
}

// Stack describes the running local stack.
type Stack struct {
	URL         string // base URL of the HTTP front, e.g. http://127.0.0.1:3000
	Endpoint    string // the AWS emulator
	AWS         aws.Config
	EventsTable string
	OrdersTable string
	QueueURL    string
	DLQURL      string
	// EmailQueueURL and EmailDLQURL are the email queue and its DLQ.
	EmailQueueURL string
	EmailDLQURL   string
	Secrets       [][]byte
	// SecretGenerated is true when no secret was given and Run made one.
	SecretGenerated bool
}

// Run starts the stack and serves until ctx is done.
func Run(ctx context.Context, o Options) error {
	generated := len(o.Secrets) == 0 && o.SecretID == ""
	o.defaults()
	endpoint, stopEmulator, err := motoserver.Ensure(ctx, o.Endpoint, o.Out)
	if err != nil {
		return err
	}
	defer stopEmulator()
	var awsCfg aws.Config
	if o.AWS != nil {
		awsCfg = *o.AWS
	} else if awsCfg, err = motoserver.AWSConfig(ctx, endpoint); err != nil {
		return err
	}
	st := Stack{Endpoint: endpoint, AWS: awsCfg, EventsTable: o.EventsTable, OrdersTable: o.OrdersTable, Secrets: o.Secrets, SecretGenerated: generated}
	if err := ddbevents.CreateTable(ctx, dynamodb.NewFromConfig(awsCfg), o.EventsTable); err != nil {
		return err
	}
	sqsClient := sqs.NewFromConfig(awsCfg)
	st.QueueURL, st.DLQURL, err = sqsqueue.CreateQueues(ctx, sqsClient, o.Queue, o.DLQ, MaxReceiveCount, o.Visibility)
	if err != nil {
		return err
	}
	st.EmailQueueURL, st.EmailDLQURL, err = sqsqueue.CreateQueues(ctx, sqsClient, o.EmailQueue, o.EmailDLQ, MaxReceiveCount, o.Visibility)
	if err != nil {
		return err
	}
	emailARN, err := sqsqueue.QueueARN(ctx, sqsClient, st.EmailQueueURL)
	if err != nil {
		return err
	}

	fixed := map[string]string{
		"EVENTS_TABLE":      o.EventsTable,
		"QUEUE_URL":         st.QueueURL,
		"WEBHOOK_SECRETS":   joinSecrets(o.Secrets),
		"WEBHOOK_SECRET_ID": "",
		"ORDERS_TABLE":      o.OrdersTable,
		// ddborders.CreateTable makes the refunds table under this name.
		"REFUNDS_TABLE": o.OrdersTable + ddborders.RefundsTableSuffix,
		// The processor defers throttled events on the events queue, and
		// queues emails on the email queue, which it serves too.
		"EVENTS_QUEUE_URL":         st.QueueURL,
		"EMAIL_QUEUE_URL":          st.EmailQueueURL,
		"EMAIL_QUEUE_ARN":          emailARN,
		"EMAIL_SENDER_CONCURRENCY": strconv.Itoa(o.EmailPollers),
	}
	if o.SecretID != "" {
		fixed["WEBHOOK_SECRETS"], fixed["WEBHOOK_SECRET_ID"] = "", o.SecretID
		st.Secrets = nil
	}
	env := overlay(o.Getenv, fixed)
	icfg, err := ingestapp.Load(env)
	if err != nil {
		return err
	}
	ingestAWS, err := o.functionAWS(IngestFunction, env, awsCfg)
	if err != nil {
		return err
	}
	ingest, err := ingestapp.New(ctx, icfg, ingestAWS, o.Log.With("function", "ingest"), io.Discard)
	if err != nil {
		return err
	}
	stopProcessor, err := startProcessor(ctx, st, env, o)
	if err != nil {
		return err
	}
	defer stopProcessor()

	mux := Front(APIGateway(ingest.Handle, icfg.MaxBody))
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	st.URL = "http://" + ln.Addr().String()
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 15 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- server.Serve(ln) }()
	banner(o.Out, st)
	if o.Ready != nil {
		o.Ready(st)
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.EventsTable == "" {
		o.EventsTable = DefaultEventsTable
	}
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.DLQ == "" {
		o.DLQ = DefaultDLQ
	}
	if o.OrdersTable == "" {
		o.OrdersTable = DefaultOrdersTable
	}
	if o.EmailQueue == "" {
		o.EmailQueue = DefaultEmailQueue
	}
	if o.EmailDLQ == "" {
		o.EmailDLQ = DefaultEmailDLQ
	}
	if o.EmailPollers <= 0 {
		o.EmailPollers = 2
	}
	if o.EventPollers <= 0 {
		o.EventPollers = 1
	}
	if o.Visibility <= 0 {
		o.Visibility = 30 * time.Second
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if len(o.Secrets) == 0 && o.SecretID == "" {
		o.Secrets = [][]byte{[]byte(NewSecret())}
	}
}

// NewSecret returns a fresh random signing secret, whsec_ and 32 hex digits.
func NewSecret() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + hex.EncodeToString(b[:])
}

func joinSecrets(s [][]byte) string {
	out := ""
	for i, b := range s {
		if i > 0 {
			out += ","
		}
		out += string(b)
	}
	return out
}

// overlay reads fixed values first, then getenv.
func overlay(getenv func(string) string, fixed map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := fixed[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// banner describes the running stack. It never shows a secret: the
// caller (webhookctl local) says where the commands find it.
func banner(w io.Writer, st Stack) {
	secret := "given to this run"
	switch {
	case st.SecretGenerated:
		secret = "generated for this run"
	case len(st.Secrets) == 0:
		secret = "read from Secrets Manager"
	}
	fmt.Fprintf(w, `
Altafinex webhook receiver, running locally
  webhook URL   %s%s
  AWS emulator  %s  (tables %s, %s; queue %s)
  secret        %s (not shown)
`, st.URL, WebhookPath, st.Endpoint, st.EventsTable, st.OrdersTable, st.QueueURL, secret)
}

// NotFoundBody is what API Gateway's HTTP API answers, with 404, to a
// method and path no route matches.
const NotFoundBody = `{"message":"Not Found"}`

// Front routes requests as the template's HTTP API does: one route, POST
// WebhookPath, to ingest; any other method or path gets API Gateway's own
// 404 {"message":"Not Found"} and never reaches the function. GET /healthz
// is the one local-only path (a readiness probe for scripts).
func Front(ingest http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST "+WebhookPath, ingest)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	// "/" matches every request the patterns above do not, whatever its
	// method, so ServeMux never answers its own 405.
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, NotFoundBody)
	})
	return mux
}
