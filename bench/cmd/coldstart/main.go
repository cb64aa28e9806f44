// Command coldstart measures the ingest function's cold start on this
// machine under the AWS Lambda Runtime Interface Emulator, and the size of
// its Lambda builds.
//
// For each scenario it starts aws-lambda-rie with a fresh bootstrap process
// -runs times and sends one signed API Gateway event to each; it reports
// the medians of (a) emulator start to first response, (b) invoke to first
// response (process start, init and the first request, which makes the
// first DynamoDB PutItem and SQS SendMessage), (c) the emulator's Init
// Duration, and (d) one warm invoke after it. The scenarios: secrets from
// WEBHOOK_SECRETS; from Secrets Manager (WEBHOOK_SECRET_ID) on moto; and
// the same with every Secrets Manager call delayed by -delay through a
// loopback proxy, which shows what the fetch at init costs.
//
//	go run ./cmd/coldstart -rie ../bin/aws-lambda-rie -runs 20
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/altafinex-webhooks/receiver/bench/internal/runtimeapi"
	"github.com/altafinex-webhooks/receiver/bench/internal/stats"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const secret = "whsec_coldstart_benchmark_only_0000"

func main() {
	root := flag.String("root", "..", "the receiver module's root")
	riePath := flag.String("rie", "../bin/aws-lambda-rie", "path of aws-lambda-rie (make rie installs it)")
	runs := flag.Int("runs", 20, "cold starts per scenario")
	delay := flag.Duration("delay", 50*time.Millisecond, "delay added to each Secrets Manager call in the delayed scenario")
	memory := flag.Int("memory", 1769, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE (the template's ingest MemorySize)")
	sizesOnly := flag.Bool("sizes", false, "print the bootstrap sizes only")
	flag.Parse()
	if *sizesOnly {
		tmp, err := os.MkdirTemp("", "coldstart-")
		if err == nil {
			err = printSizes(context.Background(), *root, tmp)
			os.RemoveAll(tmp)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "coldstart:", err)
			os.Exit(1)
		}
		return
	}
	if *runs < 1 || *runs > 200 {
		fmt.Fprintln(os.Stderr, "coldstart: -runs must be 1..200")
		os.Exit(2)
	}
	if err := run(context.Background(), *root, *riePath, *runs, *delay, *memory); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, root, riePath string, runs int, delay time.Duration, memory int) error {
	tmp, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if err := printSizes(ctx, root, tmp); err != nil {
		return err
	}

	boot := filepath.Join(tmp, "host", "bootstrap")
	if err := rie.BuildBootstrap(ctx, root, "ingest", boot); err != nil {
		return err
	}
	srv, err := motoserver.Start(ctx, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	cfg, err := motoserver.AWSConfig(ctx, srv.URL)
	if err != nil {
		return err
	}
	env, err := rie.CreateResources(ctx, cfg, map[string]string{
		"EVENTS_TABLE": "coldstart-events",
		"QUEUE_URL":    srv.URL + "/123456789012/coldstart-queue",
		"LOG_LEVEL":    "WARN",
	})
	if err != nil {
		return err
	}
	env = rie.ForEmulator(env, srv.URL)
	const secretID = "coldstart/webhook-secret"
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(secretID), SecretString: aws.String(secret),
	}); err != nil {
		return fmt.Errorf("create secret: %w", err)
	}
	proxy, err := startDelayProxy(srv.Direct, delay)
	if err != nil {
		return err
	}
	defer proxy.Close()

	with := func(kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	scenarios := []struct {
		name string
		env  map[string]string
	}{
		{"WEBHOOK_SECRETS (no fetch)", with("WEBHOOK_SECRETS", secret)},
		{"WEBHOOK_SECRET_ID, moto direct", with("WEBHOOK_SECRET_ID", secretID)},
		{fmt.Sprintf("WEBHOOK_SECRET_ID, +%s per call", delay), with("WEBHOOK_SECRET_ID", secretID,
			"AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://"+proxy.Addr)},
	}
	fmt.Printf("\ncold starts: %d per scenario, fresh process each, memory %d MB, moto_server on loopback; medians in ms\n", runs, memory)
	fmt.Println("  RIE: under aws-lambda-rie; start→resp from starting the emulator, invoke→resp from sending the first event;")
	fmt.Println("       Duration as the emulator reports it (this emulator folds init into the first invoke's Duration, and its")
	fmt.Println("       own \"Init Duration\" stays near 0); warm: a second invoke, as the client sees it")
	fmt.Println("  own API: bootstrap started directly against this program's Runtime API: init is exec → first")
	fmt.Println("       \"next invocation\" request (what Lambda bills as Init Duration), first is that event → its response")
	fmt.Printf("%-34s %10s %10s %9s %9s %9s | %9s %9s %9s\n", "scenario", "start→resp", "invoke→resp", "Duration", "RIE Init", "warm",
		"init", "max init", "first")
	var base time.Duration
	for i, sc := range scenarios {
		// One unmeasured start of each kind warms moto and the page cache.
		if _, err := coldStart(ctx, riePath, boot, sc.env, memory); err != nil {
			return fmt.Errorf("%s: warm-up: %w", sc.name, err)
		}
		if _, err := coldStartDirect(ctx, boot, sc.env, memory); err != nil {
			return fmt.Errorf("%s: warm-up: %w", sc.name, err)
		}
		var total, first, initD, dur, warm, own, ownFirst []time.Duration
		for range runs {
			m, err := coldStart(ctx, riePath, boot, sc.env, memory)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			total, first, initD, dur, warm = append(total, m.total), append(first, m.first), append(initD, m.init), append(dur, m.dur), append(warm, m.warm)
			d, err := coldStartDirect(ctx, boot, sc.env, memory)
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			own, ownFirst = append(own, d.Init), append(ownFirst, d.First)
		}
		med := func(v []time.Duration) float64 { return stats.Ms(stats.Median(v)) }
		fmt.Printf("%-34s %10.2f %10.2f %9.2f %9.2f %9.2f | %9.2f %9.2f %9.2f\n", sc.name,
			med(total), med(first), med(dur), med(initD), med(warm), med(own), stats.Ms(stats.Percentile(own, 100)), med(ownFirst))
		if i == 0 {
			base = stats.Median(own)
		} else {
			fmt.Printf("%-34s %10s %10s %9s %9s %9s | %+9.2f\n", "  init over no fetch", "", "", "", "", "", stats.Ms(stats.Median(own)-base))
		}
	}
	return nil
}

// measurement is one cold start.
type measurement struct {
	total time.Duration // emulator process start → first response
	first time.Duration // invoke sent → first response
	init  time.Duration // the emulator's Init Duration
	dur   time.Duration // the emulator's Duration of the first invoke
	warm  time.Duration // a second invoke, warm, as the client sees it
	warmD time.Duration // the emulator's Duration of the warm invoke
}

var (
	initRe   = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)
	reportRe = regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`)
)

// ms parses a decimal number of milliseconds.
func ms(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond)), err
}

func coldStart(ctx context.Context, riePath, boot string, env map[string]string, memory int) (measurement, error) {
	var m measurement
	ev1, err := event()
	if err != nil {
		return m, err
	}
	ev2, err := event()
	if err != nil {
		return m, err
	}
	out := &runtimeapi.SyncBuffer{}
	start := time.Now()
	emu, err := rie.Start(ctx, rie.Function{
		RIE: riePath, Bootstrap: boot, Env: env, Name: "IngestFunction",
		Timeout: 10 * time.Second, MemoryMB: memory, Output: out,
	})
	if err != nil {
		return m, err
	}
	defer emu.Stop()
	sent := time.Now()
	resp, err := emu.Invoke(ctx, ev1)
	done := time.Now()
	if err != nil {
		return m, err
	}
	if err := accepted(resp); err != nil {
		return m, fmt.Errorf("%w\n%s", err, out.String())
	}
	m.total, m.first = done.Sub(start), done.Sub(sent)
	w0 := time.Now()
	resp, err = emu.Invoke(ctx, ev2)
	m.warm = time.Since(w0)
	if err != nil {
		return m, err
	}
	if err := accepted(resp); err != nil {
		return m, err
	}
	// The REPORT lines may follow the responses.
	for range 100 {
		text := out.String()
		sm, reports := initRe.FindStringSubmatch(text), reportRe.FindAllStringSubmatch(text, -1)
		if sm != nil && len(reports) == 2 {
			if m.init, err = ms(sm[1]); err != nil {
				return m, err
			}
			if m.dur, err = ms(reports[0][1]); err != nil {
				return m, err
			}
			if m.warmD, err = ms(reports[1][1]); err != nil {
				return m, err
			}
			return m, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return m, fmt.Errorf("no Init Duration and two REPORT lines in the emulator's output:\n%s", out.String())
}

// event returns an API Gateway event delivering a fresh, freshly signed
// payment.succeeded event.
func event() ([]byte, error) {
	now := time.Now()
	ev, err := testevents.Build(testevents.Options{Type: testevents.PaymentSucceeded}, now)
	if err != nil {
		return nil, err
	}
	return rie.HTTPEvent(ev.Body, signature.Sign([]byte(secret), now, ev.Body), now)
}

// accepted checks an API Gateway response for 200 "accepted".
func accepted(resp []byte) error {
	var r struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(resp, &r); err != nil || r.StatusCode != http.StatusOK || !bytes.Contains([]byte(r.Body), []byte(`"accepted"`)) {
		return fmt.Errorf("function did not accept the event: %s", resp)
	}
	return nil
}

// delayProxy forwards to a target after sleeping.
type delayProxy struct {
	Addr string
	srv  *http.Server
}

func (p *delayProxy) Close() { _ = p.srv.Close() }

func startDelayProxy(target string, delay time.Duration) (*delayProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &delayProxy{Addr: ln.Addr().String(), srv: &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(delay)
			rp.ServeHTTP(w, r)
		}),
	}}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "delay proxy:", err)
		}
	}()
	return p, nil
}

// printSizes builds both Lambda bootstraps as the Makefile's build does
// (stripped, -tags lambda.norpc, -trimpath) for arm64 and amd64 and prints
// the binary and zip sizes, in bytes, MiB and MB: a "10 MB" limit reads
// differently in each.
func printSizes(ctx context.Context, root, tmp string) error {
	fmt.Println("bootstrap sizes (go build -tags lambda.norpc -trimpath -ldflags='-s -w', CGO_ENABLED=0)")
	fmt.Printf("%-10s %-14s %14s %12s %10s %14s\n", "function", "GOARCH", "binary bytes", "MiB", "MB", "zip (deflate)")
	for _, fn := range []string{"ingest", "processor"} {
		for _, arch := range []string{"arm64", "amd64"} {
			out := filepath.Join(tmp, fn+"-"+arch, "bootstrap")
			cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./functions/"+fn)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("build %s %s: %w\n%s", fn, arch, err, b)
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			z, err := zipSize(out)
			if err != nil {
				return err
			}
			fmt.Printf("%-10s %-14s %14d %8.2f MiB %7.2f MB %10.2f MiB\n", fn, "linux/"+arch, fi.Size(), mib(fi.Size()), float64(fi.Size())/1e6, mib(z))
		}
	}
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// zipSize is the size of a deployment zip holding only the file.
func zipSize(name string) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("bootstrap")
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}
