// Command mkevents writes the event files of events/ and runs a function's
// bootstrap with one of them, as `sam local invoke` does, without Docker.
//
//	mkevents [write]   re-sign the ingest events with the current time (make events)
//	mkevents setup     create the tables and queues events/env.json names on an AWS emulator
//	mkevents invoke    run a bootstrap under aws-lambda-rie with an event (make invoke)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
	"github.com/altafinex-webhooks/receiver/internal/ops/rie"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const usage = `mkevents: the event files of events/, and local invocations without Docker.

Usage:
  mkevents [write] [-dir events] [-out events/signed] [-secret S]
      Write events/signed/ingest-*.json (signed now with S, default the
      local test secret; git ignores them) and events/processor-sqs.json
      (the same bytes every time) from events/payloads/. Signed events go
      stale after 300 s: run it again (make events).
  mkevents http [-secret S] BODY
      Print the API Gateway event that delivers the file BODY, signed now.
  mkevents sqs BODY
      Print the SQS event that hands the file BODY (an event envelope) to
      the processor, as ingest would have queued it now.
  mkevents setup [-env events/env.json] [-endpoint URL]
      Create the tables and queues env.json names on the AWS emulator at URL
      (default $AWS_ENDPOINT_URL), e.g. before sam local invoke.
  mkevents invoke -function ingest|processor -event FILE [-bootstrap B] [-rie R] [-env events/env.json]
      Run bootstrap B under aws-lambda-rie R with the function's section of
      env.json, against $AWS_ENDPOINT_URL or a moto_server started for the
      run, POST FILE to it and print the function's log and its response
      (make invoke).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var usageErr usageError
	switch {
	case errors.As(err, &usageErr):
		fmt.Fprintf(os.Stderr, "mkevents: %v\n\n%s", err, usage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "mkevents: %v\n", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "write"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "write":
		return runWrite(args, stdout)
	case "http", "sqs":
		return runOne(cmd, args, stdout)
	case "setup":
		return runSetup(ctx, args, stdout)
	case "invoke":
		return runInvoke(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q", cmd)}
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// badSecret signs ingest-bad-signature.json: not the configured secret, so
// ingest answers 401 signature_mismatch while the timestamp is fresh.
const badSecret = "whsec_not_the_configured_secret_0000"

func runWrite(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("write", flag.ContinueOnError)
	dir := fs.String("dir", "events", "the events directory (payloads are read from its payloads/)")
	out := fs.String("out", filepath.Join("events", "signed"), "where the signed ingest events go (git ignores it)")
	secret := fs.String("secret", rie.LocalSecret, "signing secret of the ingest events")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	now := time.Now()
	bodies := map[string][]byte{}
	for _, typ := range []string{envelope.TypePaymentSucceeded, envelope.TypePaymentFailed, envelope.TypeRefundCompleted} {
		body, err := os.ReadFile(filepath.Join(*dir, "payloads", typ+".json"))
		if err != nil {
			return err
		}
		bodies[typ] = body
		ev, err := rie.HTTPEvent(body, signature.Sign([]byte(*secret), now, body), now)
		if err != nil {
			return err
		}
		if err := write(stdout, filepath.Join(*out, "ingest-"+strings.ReplaceAll(typ, ".", "-")+".json"), ev); err != nil {
			return err
		}
	}
	body := bodies[envelope.TypePaymentSucceeded]
	ev, err := rie.HTTPEvent(body, signature.Sign([]byte(badSecret), now, body), now)
	if err != nil {
		return err
	}
	if err := write(stdout, filepath.Join(*out, "ingest-bad-signature.json"), ev); err != nil {
		return err
	}
	ev, err = rie.FunctionURLEvent(body, signature.Sign([]byte(*secret), now, body), now)
	if err != nil {
		return err
	}
	if err := write(stdout, filepath.Join(*out, "ingest-function-url.json"), ev); err != nil {
		return err
	}
	var env envelopeFields
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("payment.succeeded payload: %w", err)
	}
	// Received a second after the event was created: the file stays the same
	// bytes from run to run.
	ev, err = rie.SQSEvent(body, env.ID, env.Type, time.Unix(env.Created+1, 0), 1)
	if err != nil {
		return err
	}
	return write(stdout, filepath.Join(*dir, "processor-sqs.json"), ev)
}

// envelopeFields are what the SQS message attributes need from a body.
type envelopeFields struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
}

func runOne(cmd string, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	secret := fs.String("secret", rie.LocalSecret, "signing secret (http)")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("%s takes one body file", cmd)}
	}
	body, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	now := time.Now()
	var ev []byte
	if cmd == "http" {
		ev, err = rie.HTTPEvent(body, signature.Sign([]byte(*secret), now, body), now)
	} else {
		var env envelopeFields
		if err := json.Unmarshal(body, &env); err != nil || env.ID == "" {
			return fmt.Errorf("%s: not an event envelope with an id (%v)", fs.Arg(0), err)
		}
		ev, err = rie.SQSEvent(body, env.ID, env.Type, now, 1)
	}
	if err != nil {
		return err
	}
	_, err = stdout.Write(ev)
	return err
}

func write(stdout io.Writer, name string, b []byte) error {
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(stdout, name)
	return nil
}

func runSetup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	envFile := fs.String("env", "events/env.json", "the functions' environments")
	endpoint := fs.String("endpoint", motoserver.Endpoint(), "AWS emulator endpoint")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *endpoint == "" {
		return usageError{errors.New("no -endpoint and no AWS_ENDPOINT_URL")}
	}
	envs, err := rie.ReadEnvFile(*envFile)
	if err != nil {
		return err
	}
	cfg, err := motoserver.AWSConfig(ctx, *endpoint)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(envs))
	for name := range envs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		env, err := rie.CreateResources(ctx, cfg, envs[name])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(stdout, "%s: EVENTS_TABLE=%s ORDERS_TABLE=%s QUEUE_URL=%s\n", name, env["EVENTS_TABLE"], env["ORDERS_TABLE"], env["QUEUE_URL"])
	}
	return nil
}

// function is what template.yaml says of a function that the emulator
// needs: its logical id, timeout and memory.
type function struct {
	logicalID string
	timeout   time.Duration
	memoryMB  int
}

func lookup(name string) (function, bool) {
	switch name {
	case "ingest":
		return function{"IngestFunction", 10 * time.Second, 1769}, true
	case "processor":
		return function{"ProcessorFunction", 30 * time.Second, 512}, true
	}
	return function{}, false
}

func runInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	name := fs.String("function", "", "ingest or processor")
	eventFile := fs.String("event", "", "the event to send")
	envFile := fs.String("env", "events/env.json", "the functions' environments")
	rieBin := fs.String("rie", "bin/aws-lambda-rie", "aws-lambda-rie")
	boot := fs.String("bootstrap", "", "the function's bootstrap (default build/local/<function>/bootstrap)")
	verbose := fs.Bool("v", false, "also print the emulator's own log lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	fn, ok := lookup(*name)
	if !ok {
		return usageError{fmt.Errorf("-function %q: want ingest or processor", *name)}
	}
	if *eventFile == "" {
		return usageError{errors.New("-event is required")}
	}
	if *boot == "" {
		*boot = filepath.Join("build", "local", *name, "bootstrap")
	}
	event, err := os.ReadFile(*eventFile)
	if err != nil {
		return err
	}
	warnStale(stderr, event)
	envs, err := rie.ReadEnvFile(*envFile)
	if err != nil {
		return err
	}
	env, ok := envs[fn.logicalID]
	if !ok {
		return fmt.Errorf("%s has no %s section", *envFile, fn.logicalID)
	}

	endpoint, stopEmulator, err := motoserver.Ensure(ctx, motoserver.Endpoint(), stderr)
	if err != nil {
		return err
	}
	defer stopEmulator()
	cfg, err := motoserver.AWSConfig(ctx, endpoint)
	if err != nil {
		return err
	}
	env, err = rie.CreateResources(ctx, cfg, rie.ForEmulator(env, endpoint))
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "invoking %s (%s) with %s under %s, AWS endpoint %s\n", fn.logicalID, *boot, *eventFile, *rieBin, endpoint)
	out := io.Writer(stderr)
	if !*verbose {
		out = &dropLines{w: stderr, marker: []byte(" (rapid) ")}
	}
	emu, err := rie.Start(ctx, rie.Function{
		RIE: *rieBin, Bootstrap: *boot, Env: env,
		Name: fn.logicalID, Timeout: fn.timeout, MemoryMB: fn.memoryMB,
		Output: out,
	})
	if err != nil {
		return err
	}
	ictx, cancel := context.WithTimeout(ctx, fn.timeout+10*time.Second)
	resp, err := emu.Invoke(ictx, event)
	cancel()
	emu.Stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", resp)
	return nil
}

// warnStale tells when an API Gateway event's signature is older than the
// default tolerance: ingest will answer 401 until `make events` re-signs it.
func warnStale(stderr io.Writer, event []byte) {
	var ev struct {
		Headers map[string]string `json:"headers"`
	}
	if json.Unmarshal(event, &ev) != nil || ev.Headers == nil {
		return
	}
	h, err := signature.ParseHeader(ev.Headers[strings.ToLower(signature.HeaderName)])
	if err != nil {
		return
	}
	if age := time.Since(time.Unix(h.Timestamp, 0)); age > signature.DefaultTolerance {
		fmt.Fprintf(stderr, "warning: the event was signed %s ago (tolerance %s): ingest answers 401; run `make events` to re-sign it\n",
			age.Round(time.Second), signature.DefaultTolerance)
	}
}

// dropLines passes on the lines written to it that do not contain marker:
// the function's log and the START/END/REPORT lines, not the emulator's
// own log. A last line without a newline is dropped.
type dropLines struct {
	w      io.Writer
	marker []byte
	buf    []byte
}

func (d *dropLines) Write(p []byte) (int, error) {
	d.buf = append(d.buf, p...)
	for {
		i := bytes.IndexByte(d.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := d.buf[:i+1]
		if !bytes.Contains(line, d.marker) {
			if _, err := d.w.Write(line); err != nil {
				return len(p), err
			}
		}
		d.buf = d.buf[i+1:]
	}
}
