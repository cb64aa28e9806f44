// Command load measures the local receiver's throughput and latency, and
// the same for the emulator it waits on, so that the project's overhead
// shows as a ratio rather than as moto_server's absolute speed.
//
// It starts moto_server and `webhookctl local` on loopback, and for each
// concurrency level drives three targets in turn:
//   - `webhookctl local`'s HTTP front with freshly signed events, each with a
//     unique id: the whole local stack, whose processor consumes the queue
//     (and uses moto) at the same time;
//   - the same HTTP front and ingest handler run in this process by
//     internal/ops/local with NoProcessor, on a table and queue of its own: the
//     ingest path alone;
//   - moto directly, with the pair of calls ingest makes per event: a
//     conditional DynamoDB PutItem of a similar item and an SQS SendMessage
//     of the body with its attributes, on that same table and queue.
//
// Each run is bounded by -duration and -max requests; the queues are
// purged before each run, because moto's SendMessage slows as a queue grows.
//
//	go run ./cmd/load -levels 1,8,32 -duration 10s -max 600
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/bench/internal/stats"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const secret = "whsec_load_benchmark_only_00000000"

func main() {
	root := flag.String("root", "..", "the receiver module's root")
	levels := flag.String("levels", "1,8,32", "comma-separated concurrency levels")
	duration := flag.Duration("duration", 10*time.Second, "longest run per level and target")
	maxReq := flag.Int("max", 600, "most requests per level and target")
	flag.Parse()
	var conc []int
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			fmt.Fprintf(os.Stderr, "load: bad level %q (1..256)\n", f)
			os.Exit(2)
		}
		conc = append(conc, n)
	}
	if *duration <= 0 || *duration > 2*time.Minute || *maxReq < 1 || *maxReq > 100000 {
		fmt.Fprintln(os.Stderr, "load: -duration must be in (0, 2m] and -max in [1, 100000]")
		os.Exit(2)
	}
	if err := run(context.Background(), *root, conc, *duration, *maxReq); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root string, levels []int, duration time.Duration, maxReq int) error {
	srv, err := motoserver.Start(ctx, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()

	tmp, err := os.MkdirTemp("", "load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "webhookctl")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/webhookctl")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build webhookctl: %w\n%s", err, b)
	}
	port, err := motoserver.FreePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	stop, err := startLocal(ctx, bin, addr, srv.URL)
	if err != nil {
		return err
	}
	defer stop()

	// The motoserver proxy logs requests cut short at shutdown; they are
	// not results.
	log.SetOutput(io.Discard)

	cfg, err := motoserver.AWSConfig(ctx, srv.URL)
	if err != nil {
		return err
	}
	sqsClient := sqs.NewFromConfig(cfg)
	q, err := sqsClient.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(local.DefaultQueue)})
	if err != nil {
		return fmt.Errorf("queue of the local stack: %w", err)
	}
	fullQueue := aws.ToString(q.QueueUrl)

	ingestOnly, err := startIngestOnly(ctx, srv.URL)
	if err != nil {
		return err
	}
	defer ingestOnly.stop()
	b := &backend{ddb: dynamodb.NewFromConfig(cfg), sqs: sqsClient, table: ingestOnly.st.EventsTable, queueURL: ingestOnly.st.QueueURL}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	targets := []target{
		&receiver{client: client, url: "http://" + addr + local.WebhookPath, label: "webhookctl local (ingest+processor)"},
		&receiver{client: client, url: ingestOnly.st.URL + local.WebhookPath, label: "local HTTP front, ingest only"},
		b,
	}

	// Warm every path (moto's first calls are slow), unmeasured.
	for _, t := range targets {
		if r := drive(ctx, t, 4, 5*time.Second, 40); r.errs > 0 {
			return fmt.Errorf("warm-up of %s: %d errors, first: %v", t.name(), r.errs, r.firstErr)
		}
	}

	fmt.Printf("loopback load: %s per run at most, %d requests per run at most, queues purged before each run\n", duration, maxReq)
	fmt.Printf("%-6s %-46s %7s %6s %9s %9s %9s\n", "conc.", "target", "ok", "errors", "req/s", "p50 ms", "p99 ms")
	for _, c := range levels {
		res := make([]result, len(targets))
		for i, t := range targets {
			for _, u := range []string{fullQueue, ingestOnly.st.QueueURL} {
				if _, err := sqsClient.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(u)}); err != nil {
					return fmt.Errorf("purge %s: %w", u, err)
				}
			}
			res[i] = drive(ctx, t, c, duration, maxReq)
			r := res[i]
			fmt.Printf("%-6d %-46s %7d %6d %9.1f %9.2f %9.2f\n", c, t.name(), r.ok, r.errs, r.rate(),
				stats.Ms(stats.Median(r.lat)), stats.Ms(stats.Percentile(r.lat, 99)))
			if r.firstErr != nil {
				fmt.Printf("%-6s   first error: %v\n", "", r.firstErr)
			}
		}
		back := res[len(res)-1]
		for i := range len(res) - 1 {
			fmt.Printf("%-6d %-46s %7s %6s %8.2fx %8.2fx %8.2fx\n", c, "  "+targets[i].name()+" ÷ moto", "", "",
				res[i].rate()/back.rate(),
				float64(stats.Median(res[i].lat))/float64(stats.Median(back.lat)),
				float64(stats.Percentile(res[i].lat, 99))/float64(stats.Percentile(back.lat, 99)))
		}
	}
	return nil
}

// inProcess is a local stack run by this program.
type inProcess struct {
	st   local.Stack
	stop func()
}

// startIngestOnly runs internal/ops/local's HTTP front and ingest handler, with
// no processor, on a table and queue of its own.
func startIngestOnly(ctx context.Context, endpoint string) (*inProcess, error) {
	port, err := motoserver.FreePort()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan local.Stack, 1)
	done := make(chan error, 1)
	go func() {
		done <- local.Run(ctx, local.Options{
			Addr: "127.0.0.1:" + strconv.Itoa(port), Endpoint: endpoint, Secrets: [][]byte{[]byte(secret)},
			EventsTable: "load-events", Queue: "load-queue", DLQ: "load-dlq", OrdersTable: "load-orders",
			NoProcessor: true, Getenv: func(string) string { return "" },
			Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Out: io.Discard,
			Ready: func(st local.Stack) { ready <- st },
		})
	}()
	select {
	case st := <-ready:
		return &inProcess{st: st, stop: func() { cancel(); <-done }}, nil
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("in-process local stack: %w", err)
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		return nil, fmt.Errorf("in-process local stack not ready after 30 s")
	}
}

// startLocal runs `webhookctl local` and waits for /healthz; stop ends it
// by its PID.
func startLocal(ctx context.Context, bin, addr, endpoint string) (stop func(), err error) {
	logs := &capped{max: 64 << 10}
	cmd := exec.Command(bin, "local", "--addr", addr, "--secret", secret, "--endpoint", endpoint)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "LOG_LEVEL=WARN")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start webhookctl local: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("webhookctl local exited: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
	}
	stop()
	return nil, fmt.Errorf("webhookctl local not healthy after 30 s\n%s", logs.String())
}

// target is one thing to drive: one call is one event.
type target interface {
	name() string
	call(ctx context.Context) error
}

// receiver posts freshly signed events to the local HTTP front.
type receiver struct {
	client *http.Client
	url    string
	label  string
}

func (r *receiver) name() string { return r.label }

func (r *receiver) call(ctx context.Context) error {
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded}, time.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(ev.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signature.HeaderName, signature.Sign([]byte(secret), time.Now(), ev.Body))
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"accepted"`)) {
		return fmt.Errorf("answer %d %s", resp.StatusCode, body)
	}
	return nil
}

// backend makes the two calls ingest makes per event, straight to moto.
type backend struct {
	ddb      *dynamodb.Client
	sqs      *sqs.Client
	table    string
	queueURL string
}

func (b *backend) name() string { return "moto direct (PutItem + SendMessage)" }

func (b *backend) call(ctx context.Context) error {
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded}, time.Now())
	if err != nil {
		return err
	}
	now := time.Now()
	sum := sha256.Sum256(ev.Body)
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	s := func(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
	n := func(v int64) ddbtypes.AttributeValue {
		return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	// An item shaped like ingest's RECEIVED record (about 270 bytes).
	item := map[string]ddbtypes.AttributeValue{
		"event_id": s(ev.ID), "status": s("RECEIVED"), "event_type": s(ev.Type),
		"token": s(hex.EncodeToString(tok[:])), "lease_until": n(now.Add(30 * time.Second).UnixMilli()),
		"payload_sha256": s(hex.EncodeToString(sum[:])), "ttl": n(now.Add(720 * time.Hour).Unix()),
		"received_at": n(now.UnixMilli()), "updated_at": n(now.UnixMilli()), "created": n(now.Unix()),
		"livemode": &ddbtypes.AttributeValueMemberBOOL{Value: false}, "attempts": n(0),
	}
	if _, err := b.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(b.table), Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(event_id)"),
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	}); err != nil {
		return err
	}
	str := func(v string) sqstypes.MessageAttributeValue {
		return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	_, err = b.sqs.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(b.queueURL), MessageBody: aws.String(string(ev.Body)),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"event_id": str(ev.ID), "event_type": str(ev.Type),
			"received_at": {DataType: aws.String("Number"), StringValue: aws.String(strconv.FormatInt(now.UnixMilli(), 10))},
		},
	})
	return err
}

// result is one run.
type result struct {
	ok, errs int
	firstErr error
	lat      []time.Duration
	elapsed  time.Duration
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

// drive calls t from conc workers until duration has passed or maxReq
// calls have started.
func drive(ctx context.Context, t target, conc int, duration time.Duration, maxReq int) result {
	ctx, cancel := context.WithTimeout(ctx, duration+30*time.Second)
	defer cancel()
	var (
		started  atomic.Int64
		mu       sync.Mutex
		res      result
		wg       sync.WaitGroup
		deadline = time.Now().Add(duration)
	)
	begin := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			var ok, errs int
			var first error
			for time.Now().Before(deadline) && started.Add(1) <= int64(maxReq) {
				t0 := time.Now()
				err := t.call(ctx)
				d := time.Since(t0)
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				ok++
				lat = append(lat, d)
			}
			mu.Lock()
			defer mu.Unlock()
			res.ok, res.errs = res.ok+ok, res.errs+errs
			res.lat = append(res.lat, lat...)
			if res.firstErr == nil {
				res.firstErr = first
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(begin)
	return res
}

// capped keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}
