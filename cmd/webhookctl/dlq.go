package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/ops"
)

const dlqUsage = `Usage: webhookctl dlq peek [--max N] [--json] [deployment flags]
       webhookctl dlq redrive [--max N] [--manual] [--wait 2m] [--json] [deployment flags]

peek lists the dead-letter queue's messages without consuming them (each is
received for a moment and made visible again; that counts as a receive):
event id, type, receive count, when it was sent.

redrive moves the dead letters back to the events queue for another try. It
uses SQS's message move task where the endpoint has one, and otherwise moves
them itself: send to the events queue with the same body and attributes,
then delete from the dead-letter queue, so that nothing is lost (a crash in
between leaves a copy that the processor drops). It prints the count moved.

Exit status: 0 done, 1 AWS error, 2 usage error.

` + stackFlagsHelp + `
Flags:
`

// runDLQ is the dlq subcommand.
func runDLQ(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return dlqCmd(context.Background(), args, osEnv(stdin, stdout, stderr))
}

func dlqCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	var sf stackFlags
	sf.register(fs)
	max := fs.Int("max", ops.DefaultMaxMessages, "at most this many messages")
	manual := fs.Bool("manual", false, "redrive: move the messages one by one, without a message move task")
	wait := fs.Duration("wait", ops.DefaultTaskWait, "redrive: how long to wait for a message move task to finish")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), dlqUsage)
		fs.PrintDefaults()
	}
	pos, code := parseInterleaved(fs, args, env.stderr)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return usageError(fs, env.stderr, errors.New("want peek or redrive"))
	}
	if *max < 1 {
		return usageError(fs, env.stderr, fmt.Errorf("--max %d: want at least 1", *max))
	}
	switch pos[0] {
	case "peek":
		cfg, res, err := sf.connect(ctx, env, ops.NeedDLQ)
		if err != nil {
			return fail(env.stderr, "dlq", err)
		}
		d := &ops.DLQ{Client: sqs.NewFromConfig(cfg), URL: res.DLQURL}
		msgs, err := d.Peek(ctx, *max)
		if err != nil {
			return fail(env.stderr, "dlq", err)
		}
		if sf.json {
			if msgs == nil {
				msgs = []ops.DLQMessage{}
			}
			return printJSON(env, msgs)
		}
		printDLQ(env.stdout, msgs)
		fmt.Fprintf(env.stderr, "%d message(s) in %s (peeking counts as a receive)\n", len(msgs), res.DLQURL)
		return exitOK
	case "redrive":
		cfg, res, err := sf.connect(ctx, env, ops.NeedQueue|ops.NeedDLQ)
		if err != nil {
			return fail(env.stderr, "dlq", err)
		}
		d := &ops.DLQ{Client: sqs.NewFromConfig(cfg), URL: res.DLQURL, QueueURL: res.QueueURL}
		o := ops.RedriveOptions{Max: *max, Manual: *manual, TaskWait: *wait}
		if !sf.json {
			o.Progress = func(n int) {
				if n%10 == 0 {
					fmt.Fprintf(env.stderr, "moved %d\n", n)
				}
			}
		}
		out, err := d.Redrive(ctx, o)
		if err != nil {
			fmt.Fprintf(env.stderr, "webhookctl dlq: %v (%d moved before the error)\n", err, out.Moved)
			return exitFail
		}
		if sf.json {
			return printJSON(env, out)
		}
		fmt.Fprintln(env.stdout, redriveText(out))
		return exitOK
	default:
		return usageError(fs, env.stderr, fmt.Errorf("unknown dlq command %q: want peek or redrive", pos[0]))
	}
}

func redriveText(r ops.RedriveResult) string {
	switch {
	case r.Method == ops.MoveTask && r.Running:
		return fmt.Sprintf("message move task %s still running: %d moved so far", r.TaskHandle, r.Moved)
	case r.Method == ops.MoveTask:
		return fmt.Sprintf("moved %d message(s) to the events queue (SQS message move task)", r.Moved)
	case r.Fallback != "":
		return fmt.Sprintf("moved %d message(s) to the events queue (one by one: %s)", r.Moved, r.Fallback)
	default:
		return fmt.Sprintf("moved %d message(s) to the events queue (one by one)", r.Moved)
	}
}

func printDLQ(w io.Writer, msgs []ops.DLQMessage) {
	if len(msgs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tTYPE\tRECEIVES\tSENT\tBYTES\tREPLAY\tMESSAGE ID")
	for _, m := range msgs {
		id, typ := m.EventID, m.Type
		if id == "" {
			id = "?"
		}
		if typ == "" {
			typ = "?"
		}
		sent := "-"
		if !m.SentAt.IsZero() {
			sent = m.SentAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%v\t%s\n", id, typ, m.ReceiveCount, sent, m.BodyBytes, m.Replay, m.MessageID)
	}
	_ = tw.Flush()
}
