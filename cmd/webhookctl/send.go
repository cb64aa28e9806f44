package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
	"github.com/altafinex-webhooks/receiver/internal/ops/testevents"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const sendUsage = `Usage: webhookctl send [--url URL --secret S] [--type TYPE] [event flags] [--repeat N]
       webhookctl send --file BODY.json [--url URL --secret S]
       webhookctl send --scenario refund [--seed N] [--url URL --secret S]

Signs a webhook event with a fresh timestamp and POSTs it, like the
provider's test button, then prints the order it names and each answer's
status and body. Without --url and --secret it goes to the local stack that
"webhookctl local" (make run) is running, signed with its secret.

By default it builds a realistic event of --type (fresh evt_ id, created
now, a customer at example.com); --order, --payment, --amount (minor units),
--currency and --livemode shape it, and tie several events to one order.
--file sends a body byte for byte instead. --repeat N sends the same event
(same id, a new signature each time) N times: a duplicate delivery test.
--scenario refund sends, in a shuffled order, a payment.failed, a
payment.succeeded and a partial refund.completed for one order; --seed
repeats an order.

Exit status: 0 every answer 2xx, 1 any other answer or no answer, 2 usage error.

Flags:
`

// runSend is the send subcommand.
func runSend(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return sendCmd(context.Background(), args, osEnv(stdin, stdout, stderr))
}

// outgoing is one event to send.
type outgoing struct {
	id, typ string
	body    []byte
}

func sendCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	var secretList secretFlags
	defaultURL := "http://" + local.DefaultAddr + local.WebhookPath
	st, stateErr := env.localState()
	if stateErr == nil {
		defaultURL = st.WebhookURL
	}
	url := fs.String("url", defaultURL, "the webhook endpoint (default: the running local stack's)")
	fs.Var(&secretList, "secret", "signing secret (repeatable; default: $"+secretsEnv+", else the local stack's, for its URL)")
	typ := fs.String("type", testevents.PaymentSucceeded, "event type: "+strings.Join(testevents.Types(), ", "))
	order := fs.String("order", "", "metadata.order_id, ord_… (default: a fresh one)")
	payment := fs.String("payment", "", "payment id, pay_… (default: a fresh one); a refund's payment_id")
	amount := fs.Int64("amount", testevents.DefaultAmount, "amount in the currency's minor unit (a refund's amount for refund.completed)")
	currency := fs.String("currency", testevents.DefaultCurrency, "lower-case ISO 4217 currency")
	livemode := fs.Bool("livemode", false, "mark the event live (default: a test event)")
	file := fs.String("file", "", "send this file's bytes as the body instead of a built event")
	repeat := fs.Int("repeat", 1, "send each event this many times, same id, new signature")
	scenario := fs.String("scenario", "", "send a canned sequence: "+strings.Join(testevents.Scenarios(), ", "))
	seed := fs.Uint64("seed", 0, "seed of the scenario's shuffle (default: random, printed)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up on an answer after this long, as the provider does")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sendUsage)
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args, env.stderr); code >= 0 {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	getenv := env.getenv
	if stateErr == nil && *url == st.WebhookURL {
		// The local stack's own secret, and only for its own URL.
		getenv = withLocalSecret(getenv, env)
	}
	secrets, err := resolveSecrets(secretList, getenv)
	if err != nil {
		return usageError(fs, env.stderr, err)
	}
	if err := checkSendFlags(set, *repeat, *timeout, *file != "", *scenario != ""); err != nil {
		return usageError(fs, env.stderr, err)
	}

	now := env.now()
	if *file == "" && *order == "" {
		// Named here, so it can be printed: the id to look the order up by.
		*order = testevents.NewID("ord_")[:12]
	}
	var events []outgoing
	switch {
	case *file != "":
		body, err := os.ReadFile(*file)
		if err != nil {
			fmt.Fprintf(env.stderr, "webhookctl send: %v\n", err)
			return exitUsage
		}
		ev := outgoing{id: "(unparsed)", body: body}
		if e, err := envelope.Parse(body); err == nil {
			ev.id, ev.typ = e.ID, e.Type
		}
		events = append(events, ev)
	default:
		if *scenario != "" && !set["seed"] {
			var b [8]byte
			_, _ = rand.Read(b[:])
			*seed = binary.LittleEndian.Uint64(b[:]) >> 1
		}
		opts := testevents.Options{Type: *typ, Order: *order, Payment: *payment, Amount: *amount, Currency: *currency, Livemode: *livemode}
		if events, err = buildEvents(opts, *scenario, *seed, now); err != nil {
			return usageError(fs, env.stderr, err)
		}
		if *scenario != "" {
			fmt.Fprintf(env.stderr, "scenario %s, seed %d (--seed %d repeats this order)\n", *scenario, *seed, *seed)
		}
	}

	if *file == "" {
		fmt.Fprintf(env.stdout, "order %s (webhookctl orders get %s)\n", *order, *order)
	}
	total := len(events) * *repeat
	failed := postAll(ctx, env, &http.Client{Timeout: *timeout}, *url, secrets, events, *repeat)
	if failed > 0 {
		fmt.Fprintf(env.stderr, "webhookctl send: %d of %d requests not answered 2xx\n", failed, total)
		return exitFail
	}
	return exitOK
}

// checkSendFlags refuses the combinations of send's flags that make no
// sense; set names the flags given.
func checkSendFlags(set map[string]bool, repeat int, timeout time.Duration, file, scenario bool) error {
	switch {
	case repeat < 1 || repeat > 10000:
		return fmt.Errorf("--repeat %d: want 1 to 10000", repeat)
	case timeout <= 0:
		return fmt.Errorf("--timeout %s: want a positive duration", timeout)
	case file && scenario:
		return errors.New("--file and --scenario exclude each other")
	case set["seed"] && !scenario:
		return errors.New("--seed only applies to --scenario")
	case set["type"] && scenario:
		return errors.New("--scenario sends its own event types; leave out --type")
	}
	if file {
		for _, name := range []string{"type", "order", "payment", "amount", "currency", "livemode"} {
			if set[name] {
				return fmt.Errorf("--%s shapes a built event; --file sends the file as it is", name)
			}
		}
	}
	return nil
}

// buildEvents builds the event opts describe, or the scenario's events,
// shuffled by seed.
func buildEvents(opts testevents.Options, scenario string, seed uint64, now time.Time) ([]outgoing, error) {
	if scenario == "" {
		e, err := testevents.Build(opts, now)
		if err != nil {
			return nil, err
		}
		return []outgoing{{id: e.ID, typ: e.Type, body: e.Body}}, nil
	}
	evs, err := testevents.Scenario(scenario, opts, now, mrand.New(mrand.NewPCG(seed, seed)))
	if err != nil {
		return nil, err
	}
	out := make([]outgoing, len(evs))
	for i, e := range evs {
		out[i] = outgoing{id: e.ID, typ: e.Type, body: e.Body}
	}
	return out, nil
}

// postAll posts each event repeat times, each time freshly signed, prints
// each answer, and returns how many were not answered 2xx.
func postAll(ctx context.Context, env cmdEnv, client *http.Client, url string, secrets [][]byte, events []outgoing, repeat int) int {
	prog := progress{w: env.stderr, verb: "sent", total: len(events) * repeat}
	failed, n := 0, 0
	for _, ev := range events {
		for range repeat {
			n++
			status, answer, err := post(ctx, client, url, signature.SignAll(secrets, env.now(), ev.body), ev.body)
			label := strings.TrimSpace(ev.id + " " + ev.typ)
			switch {
			case err != nil:
				failed++
				fmt.Fprintf(env.stdout, "%s  no answer: %v\n", label, err)
			default:
				if status < 200 || status > 299 {
					failed++
				}
				fmt.Fprintf(env.stdout, "%s  %d %s\n", label, status, answer)
			}
			prog.step(n)
		}
	}
	return failed
}

// maxAnswer bounds how much of an answer is read and shown.
const maxAnswer = 64 << 10

// post sends one signed delivery and returns the answer's status and body
// (trimmed, on one line).
func post(ctx context.Context, client *http.Client, url, header string, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "webhookctl-send")
	req.Header.Set(signature.HeaderName, header)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("status %d, reading the answer: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, strings.Join(strings.Fields(string(answer)), " "), nil
}
