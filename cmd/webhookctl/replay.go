package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

const replayUsage = `Usage: webhookctl replay EVENT_ID... [deployment flags]
       webhookctl replay --status FAILED [--since 24h] [--yes] [deployment flags]

Puts FAILED events back on the events queue: each record is set to RETRYING
(only if it is still FAILED) and its stored body is sent as it was received,
marked as a replay. No signature window applies: this is an operator's
action. An event in any other status is left alone and nothing is sent
("already processed, not replayed"); a FAILED record without a body cannot
be replayed. With --status FAILED every FAILED event updated within --since
is replayed, after a confirmation on stdin unless --yes.

Exit status: 0 every event replayed, 1 any not replayed or an error, 2 usage error.

` + stackFlagsHelp + `
Flags:
`

// runReplay is the replay subcommand.
func runReplay(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return replayCmd(context.Background(), args, osEnv(stdin, stdout, stderr))
}

func replayCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	var sf stackFlags
	sf.register(fs)
	status := fs.String("status", "", "replay every event in this status (only FAILED)")
	since := fs.String("since", "", "with --status: updated within this long (24h, 90m, 7d; default: any time)")
	yes := fs.Bool("yes", false, "with --status: do not ask for confirmation")
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
	case !bulk && (*since != "" || *yes):
		return usageError(fs, env.stderr, errors.New("--since and --yes go with --status"))
	}
	now := env.now()
	if bulk {
		st, err := ops.ParseStatus(*status)
		if err != nil {
			return usageError(fs, env.stderr, err)
		}
		if st != eventrecord.Failed {
			return usageError(fs, env.stderr, fmt.Errorf("--status %s: only FAILED events can be replayed", st))
		}
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
	r := &ops.Replayer{Store: table, Queue: sqsqueue.New(sqs.NewFromConfig(cfg), res.QueueURL), Now: env.now}

	if bulk {
		recs, err := table.List(ctx, eventrecord.Failed, from)
		if err != nil {
			return fail(env.stderr, "replay", err)
		}
		if len(recs) == 0 {
			fmt.Fprintf(env.stderr, "no FAILED events%s: nothing to replay\n", sinceText(from))
			if sf.json {
				return printJSON(env, []ops.ReplayResult{})
			}
			return exitOK
		}
		if !*yes && !confirm(env, fmt.Sprintf("Replay %d FAILED event(s)%s? [y/N] ", len(recs), sinceText(from))) {
			fmt.Fprintln(env.stderr, "not replayed")
			return exitFail
		}
		ids = make([]string, len(recs))
		for i, rec := range recs {
			ids[i] = rec.EventID
		}
	}

	prog := progress{w: env.stderr, verb: "replayed", total: len(ids)}
	var results []ops.ReplayResult
	notReplayed := 0
	for i, id := range ids {
		out, err := r.Replay(ctx, id)
		if err != nil {
			notReplayed++
			fmt.Fprintf(env.stderr, "webhookctl replay: %v\n", err)
			out.Outcome = "error"
		} else if out.Outcome != ops.Replayed {
			notReplayed++
		}
		results = append(results, out)
		if !sf.json && err == nil {
			fmt.Fprintf(env.stdout, "%s  %s\n", id, out.Text())
		}
		prog.step(i + 1)
	}
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
