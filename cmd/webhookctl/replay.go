package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

const replayUsage = `Usage: webhookctl replay EVENT_ID... [--ignored] [--yes] [deployment flags]
       webhookctl replay --status FAILED|IGNORED [--since 24h] [--yes] [deployment flags]

Puts events back on the events queue: each record is set to RETRYING and its
stored body is sent as it was received, marked as a replay. No signature
window applies: this is an operator's action. Replayed are FAILED events,
RETRYING ones that hold their body and that no processor holds (a replay
that was interrupted or whose send failed: "events list --stranded" lists
them; running replay again is safe, an event is applied once), and, with
--ignored (or --status IGNORED), IGNORED events. Any other event is left
alone and nothing is sent ("already processed, not replayed").

IGNORED events were not processed because their livemode or type did not
match the deployment. The processor applies a replayed event whatever its
livemode or type: replay them only once the deployment's Mode (or
SubscribedEventTypes) is right for them. Replaying IGNORED events, and any
--status run, asks for a confirmation on stdin unless --yes.

An interrupt (Ctrl-C) stops after the event being replayed: its reset, send
and rollback always run to their end.

Exit status: 0 every event replayed, 1 any not replayed or an error, 2 usage error.

` + stackFlagsHelp + `
Flags:
`

// ignoredWarning is the confirmation's text for IGNORED events.
const ignoredWarning = "The processor applies a replayed event whatever its livemode or type: replay IGNORED events only once the deployment's Mode (or SubscribedEventTypes) is right for them.\n"

// runReplay is the replay subcommand. An interrupt cancels its context:
// the replay in progress finishes, no other starts.
func runReplay(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return replayCmd(ctx, args, osEnv(stdin, stdout, stderr))
}

func replayCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var sf stackFlags
	sf.register(fs)
	status := fs.String("status", "", "replay every event in this status (FAILED or IGNORED)")
	since := fs.String("since", "", "with --status: updated within this long (24h, 90m, 7d; default: any time)")
	ignored := fs.Bool("ignored", false, "also replay IGNORED events (asks for a confirmation unless --yes)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), replayUsage)
		fs.PrintDefaults()
	}
	ids, code := parseInterleaved(fs, args, env.stderr)
	if code >= 0 {
		return code
	}
	bulk := *status != ""
	switch {
	case bulk && len(ids) > 0:
		return usageError(fs, env.stderr, errors.New("give event ids or --status, not both"))
	case !bulk && len(ids) == 0:
		return usageError(fs, env.stderr, errors.New("give event ids, or --status FAILED"))
	case !bulk && *since != "":
		return usageError(fs, env.stderr, errors.New("--since goes with --status"))
	}
	now := env.now()
	var st eventrecord.Status
	if bulk {
		var err error
		if st, err = replayableStatus(*status); err != nil {
			return usageError(fs, env.stderr, err)
		}
		*ignored = *ignored || st == eventrecord.Ignored
	}
	from, err := parseSince(*since, now)
	if err != nil {
		return usageError(fs, env.stderr, err)
	}
	cfg, res, err := sf.connect(ctx, env, ops.NeedEventsTable|ops.NeedQueue)
	if err != nil {
		return fail(env.stderr, "replay", err)
	}
	table := ddbevents.New(dynamodb.NewFromConfig(cfg), res.EventsTable)
	r := &ops.Replayer{Store: table, Queue: sqsqueue.New(sqs.NewFromConfig(cfg), res.QueueURL), Ignored: *ignored, Now: env.now}

	if bulk {
		all, err := table.List(ctx, st, from)
		if err != nil {
			return fail(env.stderr, "replay", err)
		}
		// Refused bodies (sha256:… keys: a body that was not an envelope,
		// or one that came under a stored event's id) are kept for
		// investigation, never replayed.
		recs := slices.DeleteFunc(all, func(r eventrecord.Record) bool { return eventrecord.IsBodyKey(r.EventID) })
		if len(recs) == 0 {
			fmt.Fprintf(env.stderr, "no %s events%s: nothing to replay\n", st, sinceText(from))
			if sf.json {
				return printJSON(env, []ops.ReplayResult{})
			}
			return exitOK
		}
		warning := ""
		if st == eventrecord.Ignored {
			warning = ignoredWarning
		}
		if !*yes && !confirm(env, fmt.Sprintf("%sReplay %d %s event(s)%s? [y/N] ", warning, len(recs), st, sinceText(from))) {
			fmt.Fprintln(env.stderr, "not replayed")
			return exitFail
		}
		ids = make([]string, len(recs))
		for i, rec := range recs {
			ids[i] = rec.EventID
		}
	} else if *ignored && !*yes && !confirm(env, fmt.Sprintf("%sReplay %d event(s), IGNORED ones included? [y/N] ", ignoredWarning, len(ids))) {
		fmt.Fprintln(env.stderr, "not replayed")
		return exitFail
	}

	results, notReplayed := replayAll(ctx, env, r, ids, sf.json)
	if sf.json {
		if code := printJSON(env, results); code != exitOK {
			return code
		}
	}
	fmt.Fprintf(env.stderr, "%d of %d event(s) replayed\n", len(ids)-notReplayed, len(ids))
	if notReplayed > 0 {
		return exitFail
	}
	return exitOK
}

// confirm asks question on stderr and reads the answer from stdin: yes
// only for y or yes.
func confirm(env cmdEnv, question string) bool {
	fmt.Fprint(env.stderr, question)
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(env.stderr)
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// replayableStatus parses --status: FAILED or IGNORED, the statuses whose
// records keep a body to replay.
func replayableStatus(s string) (eventrecord.Status, error) {
	st, err := ops.ParseStatus(s)
	if err != nil {
		return "", err
	}
	if st != eventrecord.Failed && st != eventrecord.Ignored {
		return "", fmt.Errorf("--status %s: only FAILED and IGNORED events can be replayed", st)
	}
	return st, nil
}

// replayAll replays ids one after the other until ctx ends, printing each
// outcome unless asJSON, and returns the results and how many were not
// replayed.
func replayAll(ctx context.Context, env cmdEnv, r *ops.Replayer, ids []string, asJSON bool) ([]ops.ReplayResult, int) {
	prog := progress{w: env.stderr, verb: "replayed", total: len(ids)}
	var results []ops.ReplayResult
	notReplayed := 0
	for i, id := range ids {
		if ctx.Err() != nil {
			fmt.Fprintf(env.stderr, "webhookctl replay: interrupted: %d event(s) not tried\n", len(ids)-i)
			notReplayed += len(ids) - i
			break
		}
		out, err := r.Replay(ctx, id)
		if err != nil {
			notReplayed++
			fmt.Fprintf(env.stderr, "webhookctl replay: %v\n", err)
			out.Outcome = "error"
		} else if out.Outcome != ops.Replayed {
			notReplayed++
		}
		results = append(results, out)
		if !asJSON && err == nil {
			fmt.Fprintf(env.stdout, "%s  %s\n", id, out.Text())
		}
		prog.step(i + 1)
	}
	return results, notReplayed
}
