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
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/ops"
)

const dlqUsage = `Usage: webhookctl dlq peek [--email] [--max N] [--json] [deployment flags]
       webhookctl dlq redrive [--email] [--max N] [--manual] [--wait 2m] [--json] [deployment flags]

There are two dead-letter queues: the events queue's (the default) and,
with --email, the email queue's, where customer emails go that failed for
good or were deferred for about a day.

peek lists a dead-letter queue's messages without consuming them (each is
received for a moment and made visible again; that counts as a receive):
for an event, its id, type, receive count, when it was sent; for an email
job, its event's id, the email's template, receive count, when it was sent,
when it was first queued and how often it was deferred. It never shows a
body: neither the event's payload nor the email's recipient or text.

redrive moves the dead letters back to their queue (the events queue, or
with --email the email queue) for another try. It uses SQS's message move
task where the endpoint has one, and otherwise moves them itself: send to
the queue with the same body and attributes, then delete from the
dead-letter queue, so that nothing is lost (a crash in between leaves a
copy that the processor, or the email sender, drops). It prints the count
moved. A redriven email is sent once: a job whose email went out meanwhile
is acknowledged without a send.

Exit status: 0 done, 1 AWS error, 2 usage error.

` + stackFlagsHelp + `
Flags:
`

// runDLQ is the dlq subcommand.
func runDLQ(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return dlqCmd(context.Background(), args, osEnv(stdin, stdout, stderr))
}

// dlqTarget is one dead-letter queue and its source queue, as the dlq
// command names and finds them.
type dlqTarget struct {
	queueName string   // how the output names the source queue
	queue     ops.Need // the source queue
	dlq       ops.Need // the dead-letter queue
	urls      func(ops.Resources) (queue, dlq string)
	describe  func(types.Message) ops.DLQMessage
	print     func(io.Writer, []ops.DLQMessage)
}

// dlqTargetOf is the email queue's dead-letter queue when email is set,
// else the events queue's.
func dlqTargetOf(email bool) dlqTarget {
	if email {
		return dlqTarget{
			queueName: "the email queue", queue: ops.NeedEmailQueue, dlq: ops.NeedEmailDLQ,
			urls:     func(r ops.Resources) (string, string) { return r.EmailQueueURL, r.EmailDLQURL },
			describe: ops.DescribeEmailJob, print: printEmailDLQ,
		}
	}
	return dlqTarget{
		queueName: "the events queue", queue: ops.NeedQueue, dlq: ops.NeedDLQ,
		urls:     func(r ops.Resources) (string, string) { return r.QueueURL, r.DLQURL },
		describe: ops.DescribeEvent, print: printDLQ,
	}
}

func dlqCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	var sf stackFlags
	sf.register(fs)
	sf.registerEmail(fs)
	email := fs.Bool("email", false, "the email queue's dead-letter queue instead of the events queue's")
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
	if !*email && (sf.emailQueueURL != "" || sf.emailDLQURL != "") {
		return usageError(fs, env.stderr, errors.New("--email-queue-url and --email-dlq-url go with --email"))
	}
	target := dlqTargetOf(*email)
	switch pos[0] {
	case "peek":
		cfg, res, err := sf.connect(ctx, env, target.dlq)
		if err != nil {
			return fail(env.stderr, "dlq", err)
		}
		_, dlqURL := target.urls(res)
		d := &ops.DLQ{Client: sqs.NewFromConfig(cfg), URL: dlqURL, Describe: target.describe}
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
		target.print(env.stdout, msgs)
		fmt.Fprintf(env.stderr, "%d message(s) in %s (peeking counts as a receive)\n", len(msgs), dlqURL)
		return exitOK
	case "redrive":
		cfg, res, err := sf.connect(ctx, env, target.queue|target.dlq)
		if err != nil {
			return fail(env.stderr, "dlq", err)
		}
		queueURL, dlqURL := target.urls(res)
		d := &ops.DLQ{Client: sqs.NewFromConfig(cfg), URL: dlqURL, QueueURL: queueURL}
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
		fmt.Fprintln(env.stdout, redriveText(out, target.queueName))
		return exitOK
	default:
		return usageError(fs, env.stderr, fmt.Errorf("unknown dlq command %q: want peek or redrive", pos[0]))
	}
}

// redriveText reports r, a redrive to queue ("the events queue").
func redriveText(r ops.RedriveResult, queue string) string {
	switch {
	case r.Method == ops.MoveTask && r.Running:
		return fmt.Sprintf("message move task %s still running: %d moved so far", r.TaskHandle, r.Moved)
	case r.Method == ops.MoveTask:
		return fmt.Sprintf("moved %d message(s) to %s (SQS message move task)", r.Moved, queue)
	case r.Fallback != "":
		return fmt.Sprintf("moved %d message(s) to %s (one by one: %s)", r.Moved, queue, r.Fallback)
	default:
		return fmt.Sprintf("moved %d message(s) to %s (one by one)", r.Moved, queue)
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
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%v\t%s\n", id, typ, m.ReceiveCount, timeOrDash(m.SentAt), m.BodyBytes, m.Replay, m.MessageID)
	}
	_ = tw.Flush()
}

// printEmailDLQ prints the email jobs of the email dead-letter queue: no
// recipient, subject or text, as the sender's log shows none.
func printEmailDLQ(w io.Writer, msgs []ops.DLQMessage) {
	if len(msgs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tTEMPLATE\tRECEIVES\tSENT\tQUEUED\tDEFERRALS\tBYTES\tMESSAGE ID")
	for _, m := range msgs {
		id, tmpl := m.EventID, m.Template
		if id == "" {
			id = "?"
		}
		if tmpl == "" {
			tmpl = "?"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\t%d\t%s\n", id, tmpl, m.ReceiveCount, timeOrDash(m.SentAt), timeOrDash(m.QueuedAt), m.Deferrals, m.BodyBytes, m.MessageID)
	}
	_ = tw.Flush()
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
