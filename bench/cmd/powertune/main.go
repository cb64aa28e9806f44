// Command powertune does on this machine what AWS Lambda Power Tuning does
// on AWS: for each memory size it runs each function's built bootstrap
// under aws-lambda-rie with the CPU share Lambda gives that size, and
// reports what a merchant waits for and pays. The functions are ingest,
// the processor serving the events queue, and the sender: the processor's
// bootstrap serving the email queue (paced SES sends).
//
// The share is a cgroup v1 cpu group (cpu.cfs_quota_us = MB/1769 ×
// cpu.cfs_period_us) holding the bootstrap alone: the emulator is handed a
// wrapper script that writes its own PID into the group's cgroup.procs and
// execs the real bootstrap, so the emulator, moto_server, the latency proxy
// and this program (the load driver) keep whole cores. The tool checks
// that the process in the group is the real bootstrap, a child of the
// emulator, and refuses to report a figure otherwise. Every AWS call goes
// through an in-process toxiproxy that adds -latency (default 5 ms, a
// DynamoDB or SQS call in-region) to each answer from moto_server.
//
// Per size it reports: cold start (exec to the first "next invocation"
// request against a Runtime API of its own, the emulator's Init Duration
// being unusable; the first invocation under the emulator; and the init at
// full CPU followed by the first invocation under the share), warm
// Duration p50 and p99 over a bounded number of invocations, the mean
// billed duration, the bootstrap's CPU per invocation (from
// /proc/PID/stat) apart from the emulator's, the group's throttled
// periods, and the Lambda cost per million events.
//
//	go run ./cmd/powertune -rie ../bin/aws-lambda-rie   # as root; see make powertune
//
// The choice's cold start is by default the one with the init at full CPU:
// Lambda runs a function's init faster than its handler at sizes under
// about 3 GB (measured by Luc van Donkersgoed, "Lambda Cold Starts and
// Bootstrap Code", 2022; AWS does not document it), so an init throttled to
// the size's share is the worst case, not the expected one. The tool moves
// the bootstrap into the group when it asks for its first event. Both
// figures are in the table; -init-throttled chooses by the worst case.
//
// Loopback only. It removes every group it made, on errors and on Ctrl-C
// too, and exits non-zero (3) when no group can be made.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/testkit/chaostest"
)

// options are the command's flags.
type options struct {
	root      string
	rie       string
	sizes     []int
	functions []string
	latency   time.Duration
	warm      int
	warmup    int
	colds     int
	// throttledInit makes the choice use the cold start with the init
	// under the size's share too (the worst case) instead of at full CPU.
	throttledInit bool
	batch         int
	periodUS      int
	cgroupRoot    string
	budget        time.Duration
	out           string
	cpuprofile    string
}

func main() {
	var o options
	var sizes, functions string
	flag.StringVar(&o.root, "root", "..", "the receiver module's root")
	flag.StringVar(&o.rie, "rie", "../bin/aws-lambda-rie", "path of aws-lambda-rie (make rie installs it)")
	flag.StringVar(&sizes, "sizes", "128,256,512,1024,1769", "memory sizes in MB")
	flag.StringVar(&functions, "functions", "ingest,processor", "functions to tune: ingest, processor (the events queue), sender (the processor serving the email queue)")
	flag.DurationVar(&o.latency, "latency", 5*time.Millisecond, "latency added to each AWS call's answer (whole milliseconds)")
	flag.IntVar(&o.warm, "warm", 200, "measured warm invocations per size (1..2000)")
	flag.IntVar(&o.warmup, "warmup", 5, "unmeasured warm invocations after the cold ones")
	flag.IntVar(&o.colds, "colds", 5, "cold starts per size, of each kind (1..50)")
	flag.BoolVar(&o.throttledInit, "init-throttled", false, "choose by the cold start with the init under the size's CPU share as well (worst case), not at full CPU")
	flag.IntVar(&o.batch, "batch", 10, "processor and sender records per invocation (the template's BatchSize of each mapping)")
	flag.IntVar(&o.periodUS, "period", 100000, "cpu.cfs_period_us of each group")
	flag.StringVar(&o.cgroupRoot, "cgroup", "/sys/fs/cgroup/cpu", "cgroup v1 cpu controller mount")
	flag.DurationVar(&o.budget, "budget", 3*time.Minute, "longest a size's warm invocations may take")
	flag.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "run cmd/profboot (the same wiring, with a CPU profile of the measured warm invocations) instead of each function's bootstrap, writing DIR/<function>-<MB>.pprof; its figures carry the profiler's cost")
	flag.Parse()

	var err error
	if o.sizes, err = parseSizes(sizes); err != nil {
		usage(err)
	}
	if o.functions, err = parseFunctions(functions); err != nil {
		usage(err)
	}
	switch {
	case o.warm < 1 || o.warm > 2000:
		usage(errors.New("-warm must be 1..2000"))
	case o.colds < 1 || o.colds > 50:
		usage(errors.New("-colds must be 1..50"))
	case o.batch < 1 || o.batch > 10:
		usage(errors.New("-batch must be 1..10"))
	case o.latency < 0 || o.latency%time.Millisecond != 0:
		usage(errors.New("-latency must be whole milliseconds (toxiproxy's unit)"))
	case o.periodUS < 1000 || o.periodUS > 1000000:
		usage(errors.New("-period must be 1000..1000000 µs"))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := 0
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "powertune:", err)
		code = 1
		if errors.Is(err, ErrNoCgroup) {
			code = 3
		}
	}
	stop()
	os.Exit(code)
}

func usage(err error) {
	fmt.Fprintln(os.Stderr, "powertune:", err)
	flag.Usage()
	os.Exit(2)
}

// parseSizes reads a comma-separated list of memory sizes in MB, each
// within Lambda's 128..10240.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 128 || n > 10240 {
			return nil, fmt.Errorf("-sizes: %q is not a memory size in MB (128..10240)", f)
		}
		if n > fullCPUMB {
			return nil, fmt.Errorf("-sizes: %d MB is over %d MB, where Lambda gives a second vCPU, which one quota does not model", n, fullCPUMB)
		}
		out = append(out, n)
	}
	return out, nil
}

// bootstrapOf names the function folder whose bootstrap serves function
// fn of the report: the sender is the processor's bootstrap. ok is false
// for an unknown function.
func bootstrapOf(fn string) (folder string, ok bool) {
	switch fn {
	case "ingest", "processor":
		return fn, true
	case "sender":
		return "processor", true
	}
	return "", false
}

// parseFunctions reads a comma-separated list of the functions to tune.
func parseFunctions(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if _, ok := bootstrapOf(f); !ok {
			return nil, fmt.Errorf("-functions: %q is not ingest, processor or sender", f)
		}
		out = append(out, f)
	}
	return out, nil
}

// run measures every function at every size and prints the report.
func run(ctx context.Context, o options, stdout io.Writer) (err error) {
	gs := &groups{root: o.cgroupRoot, owner: os.Getpid()}
	gs.removeStale()
	defer func() {
		if rerr := gs.removeAll(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	// Fail before building anything if no group can be made.
	probe, err := gs.make("probe", 128, o.periodUS)
	if err != nil {
		return err
	}
	if err := probe.remove(nil); err != nil {
		return err
	}
	gs.made = gs.made[:0]

	riePath, err := filepath.Abs(o.rie)
	if err != nil {
		return err
	}
	if _, err := os.Stat(riePath); err != nil {
		return fmt.Errorf("aws-lambda-rie: %w (make rie)", err)
	}
	tmp, err := os.MkdirTemp("", "powertune-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	boots := map[string]string{}
	for _, fn := range o.functions {
		boots[fn] = filepath.Join(tmp, fn, "bootstrap")
		folder, _ := bootstrapOf(fn)
		dir, pkg := o.root, "./functions/"+folder
		if o.cpuprofile != "" {
			dir, pkg = ".", "./cmd/profboot" // run from bench/
		}
		if err := buildBootstrap(ctx, dir, pkg, boots[fn]); err != nil {
			return err
		}
	}
	if o.cpuprofile != "" {
		if o.cpuprofile, err = filepath.Abs(o.cpuprofile); err != nil {
			return err
		}
		if err := os.MkdirAll(o.cpuprofile, 0o755); err != nil {
			return err
		}
	}
	// Only this run's bootstraps may be ended by removeAll.
	gs.owned = func(pid int) bool {
		p, err := exe(pid)
		if err != nil {
			return false
		}
		for _, b := range boots {
			if p == b {
				return true
			}
		}
		return false
	}

	srv, err := motoserver.Start(ctx, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	fx, err := newFixture(ctx, srv.URL)
	if err != nil {
		return err
	}
	proxy := chaostest.NewNetwork()
	defer proxy.Close()
	endpoint, err := proxy.AddProxy("aws", srv.URL)
	if err != nil {
		return err
	}
	if o.latency > 0 {
		if err := proxy.Apply(chaostest.Fault{Proxy: "aws", Toxics: []chaostest.Toxic{{
			Name: "latency", Type: "latency", Stream: "downstream", Toxicity: 1,
			Attributes: map[string]int64{"latency": o.latency.Milliseconds()},
		}}}); err != nil {
			return err
		}
	}

	rep := &report{opts: o, machine: machine(), started: time.Now().UTC()}
	fmt.Fprintf(os.Stderr, "powertune: %s\n", rep.machine)
	for _, fn := range o.functions {
		var w workload
		switch fn {
		case "ingest":
			w = &ingestLoad{fx: fx}
		case "processor":
			w = &processorLoad{fx: fx, size: o.batch}
		case "sender":
			w = &senderLoad{events: processorLoad{fx: fx, size: o.batch}}
		}
		t := rep.table(w)
		for _, mb := range o.sizes {
			fmt.Fprintf(os.Stderr, "powertune: %s at %d MB (load %s)…\n", fn, mb, loadAverage())
			row, err := measure(ctx, o, gs, riePath, boots[fn], w, endpoint, mb)
			if err != nil {
				return fmt.Errorf("%s at %d MB: %w", fn, mb, err)
			}
			t.rows = append(t.rows, row)
		}
	}
	rep.finished = time.Now().UTC()
	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildBootstrap builds the main package pkg of the module in dir as the
// Lambda build does (stripped, -tags lambda.norpc, -trimpath, no cgo) for
// this machine's architecture.
func buildBootstrap(ctx context.Context, dir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// newFixture makes the tables, secret, SES identity and bus on moto.
func newFixture(ctx context.Context, endpoint string) (*fixture, error) {
	cfg, err := motoserver.AWSConfig(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	fx := &fixture{
		aws: cfg, endpoint: endpoint,
		eventsTable: "powertune-events", ordersTable: "powertune-orders",
		secretID: "powertune/webhook-secret", sender: "orders@shop.example.com", bus: "powertune-orders",
	}
	db := dynamodb.NewFromConfig(cfg)
	if err := ddbevents.CreateTable(ctx, db, fx.eventsTable); err != nil {
		return nil, err
	}
	if err := ddborders.CreateTable(ctx, db, fx.ordersTable); err != nil {
		return nil, err
	}
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(fx.secretID), SecretString: aws.String(secret),
	}); err != nil {
		return nil, fmt.Errorf("create secret: %w", err)
	}
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("shop.example.com")}); err != nil {
		return nil, fmt.Errorf("verify the sender's domain: %w", err)
	}
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(fx.bus)}); err != nil {
		return nil, fmt.Errorf("create bus: %w", err)
	}
	return fx, nil
}

// machine describes this machine for the report.
func machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				if _, v, ok := strings.Cut(line, ":"); ok {
					model = strings.TrimSpace(v)
				}
				break
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d CPUs (%s), linux/%s %s, %s, aws-lambda-rie %s, moto_server %s",
		runtime.NumCPU(), model, runtime.GOARCH, kernel, runtime.Version(), rie.RIEVersion, motoVersion())
}

func motoVersion() string {
	out, err := exec.Command("python3", "-c", "import moto; print(moto.__version__)").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// invoker posts events to one emulator with request ids of its own, so
// that each REPORT line can be matched to its invocation.
type invoker struct {
	url    string
	client *http.Client
	seq    int
	prefix string
}

func (iv *invoker) invoke(ctx context.Context, event []byte) (id string, resp []byte, took time.Duration, err error) {
	iv.seq++
	id = fmt.Sprintf("%s-%04d", iv.prefix, iv.seq)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, iv.url, strings.NewReader(string(event)))
	if err != nil {
		return id, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", id)
	start := time.Now()
	r, err := iv.client.Do(req)
	if err != nil {
		return id, nil, 0, fmt.Errorf("invoke: %w", err)
	}
	defer r.Body.Close()
	resp, err = io.ReadAll(r.Body)
	took = time.Since(start)
	if err != nil {
		return id, nil, took, fmt.Errorf("invoke: read response: %w", err)
	}
	if r.StatusCode != http.StatusOK {
		return id, resp, took, fmt.Errorf("invoke: emulator answered %s: %s", r.Status, resp)
	}
	return id, resp, took, nil
}
