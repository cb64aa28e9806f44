package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
)

const eventsUsage = `Usage: webhookctl events get EVENT_ID [--json] [deployment flags]
       webhookctl events list [--status S[,S…] | --stranded] [--type T] [--order ID] [--since 24h] [--limit N] [--json] [deployment flags]

get shows one event's record: status, type, attempts, completed steps,
times, last error, stored body size, and its customer email's delivery
(SENDING, SENT or UNDELIVERABLE, the sender's tries, when, why not). list shows the events of every status
(or --status), newest update first, the newest --limit of all that match:
it pages through the whole table, and its last line says how many matched.
--order keeps the events of one order (those its item names, and stored
bodies that name it). --stranded keeps the replays that may never have sent
their message (RETRYING with the body, no processor holding them, for 5
minutes): "webhookctl replay ID" sends them.

Exit status: 0 shown, 1 not found or AWS error, 2 usage error.

` + stackFlagsHelp + `
Flags:
`

// runEvents is the events subcommand.
func runEvents(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return eventsCmd(context.Background(), args, osEnv(stdin, stdout, stderr))
}

func eventsCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	var sf stackFlags
	sf.register(fs)
	status := fs.String("status", "", "list: only these statuses, comma-separated (default: every status)")
	typ := fs.String("type", "", "list: only this event type, e.g. payment.succeeded")
	order := fs.String("order", "", "list: only the events of this order (metadata.order_id)")
	since := fs.String("since", "", "list: updated within this long (24h, 90m, 7d; default: any time)")
	limit := fs.Int("limit", ops.DefaultLimit, "list: show at most this many, the newest")
	stranded := fs.Bool("stranded", false, "list: only the stranded replays (RETRYING with a body, no processor on them): replay them again")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), eventsUsage)
		fs.PrintDefaults()
	}
	pos, code := parseInterleaved(fs, args, env.stderr)
	if code >= 0 {
		return code
	}
	if len(pos) == 0 {
		return usageError(fs, env.stderr, errors.New("want get EVENT_ID or list"))
	}
	now := env.now()
	switch pos[0] {
	case "get":
		if len(pos) != 2 {
			return usageError(fs, env.stderr, errors.New("get takes one EVENT_ID"))
		}
		table, err := eventsTable(ctx, &sf, env)
		if err != nil {
			return fail(env.stderr, "events", err)
		}
		v, err := ops.GetEvent(ctx, table, pos[1], now)
		if errors.Is(err, ops.ErrNotFound) {
			fmt.Fprintf(env.stderr, "webhookctl events: no event %s in table %s\n", pos[1], table.Name())
			return exitFail
		}
		if err != nil {
			return fail(env.stderr, "events", err)
		}
		if sf.json {
			return printJSON(env, v)
		}
		printEvent(env.stdout, v, now)
		return exitOK
	case "list":
		if len(pos) != 1 {
			return usageError(fs, env.stderr, fmt.Errorf("list takes no arguments, got %q", pos[1]))
		}
		statuses, err := ops.ParseStatuses(*status)
		if err != nil {
			return usageError(fs, env.stderr, err)
		}
		if *limit < 1 {
			return usageError(fs, env.stderr, fmt.Errorf("--limit %d: want at least 1", *limit))
		}
		from, err := parseSince(*since, now)
		if err != nil {
			return usageError(fs, env.stderr, err)
		}
		f := ops.EventFilter{Statuses: statuses, Type: *typ, Since: from, Order: *order, Stranded: *stranded, Limit: *limit}
		need := ops.NeedEventsTable
		if f.Order != "" {
			need |= ops.NeedOrdersTable
		}
		cfg, res, err := sf.connect(ctx, env, need)
		if err != nil {
			return fail(env.stderr, "events", err)
		}
		db := dynamodb.NewFromConfig(cfg)
		if f.Order != "" {
			v, err := ops.GetOrder(ctx, db, res.OrdersTable, ddbevents.New(db, res.EventsTable), f.Order)
			switch {
			case errors.Is(err, ops.ErrOrderNotFound):
				// No item: only stored bodies can name the order.
			case err != nil:
				return fail(env.stderr, "events", err)
			default:
				for _, e := range v.Timeline {
					f.OrderEvents = append(f.OrderEvents, e.EventID)
				}
			}
		}
		list, err := ops.ListAll(ctx, ddbevents.New(db, res.EventsTable), f, now)
		if err != nil {
			return fail(env.stderr, "events", err)
		}
		if sf.json {
			return printJSON(env, list)
		}
		printEventList(env.stdout, list.Events)
		fmt.Fprintf(env.stderr, "%d of %d event(s) (%s), newest first%s\n", len(list.Events), list.Matched, f, moreText(len(list.Events), list.Matched))
		return exitOK
	default:
		return usageError(fs, env.stderr, fmt.Errorf("unknown events command %q: want get or list", pos[0]))
	}
}

func eventsTable(ctx context.Context, sf *stackFlags, env cmdEnv) (*ddbevents.Table, error) {
	cfg, res, err := sf.connect(ctx, env, ops.NeedEventsTable)
	if err != nil {
		return nil, err
	}
	return ddbevents.New(dynamodb.NewFromConfig(cfg), res.EventsTable), nil
}

func sinceText(from time.Time) string {
	if from.IsZero() {
		return ""
	}
	return " updated since " + from.UTC().Format(time.RFC3339)
}

// moreText says how to see the rest when a listing shows fewer than matched.
func moreText(shown, matched int) string {
	if shown >= matched {
		return ""
	}
	return fmt.Sprintf("; --limit %d shows them all", matched)
}

func printJSON(env cmdEnv, v any) int {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(env.stderr, "webhookctl: write JSON: %v\n", err)
		return exitFail
	}
	return exitOK
}

func timeText(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339Nano)
}

// emailRows are the rows of an email's delivery: its status, the
// sender's attempts, and the time it ended, the lease of a SENDING one, or
// why it cannot be delivered.
func emailRows(e ops.EmailView, now time.Time) [][2]string {
	status := string(e.Status)
	if e.Template != "" {
		status += " (" + e.Template + ")"
	}
	switch {
	case e.Status == eventrecord.EmailSending && e.LeaseUntil != nil && now.Before(*e.LeaseUntil):
		status += ": a sender holds it; it may have reached SES"
	case e.Status == eventrecord.EmailSending:
		status += ": its claim ended; sent without its SENT record, or its job is still to come back"
	}
	rows := [][2]string{{"email", status}, {"email tries", fmt.Sprint(e.Attempts)}}
	if e.Status == eventrecord.EmailSending {
		rows = append(rows, [2]string{"email lease", timeText(e.LeaseUntil)})
	} else {
		rows = append(rows, [2]string{"email at", timeText(e.At)})
	}
	if e.Error != "" {
		rows = append(rows, [2]string{"email error", e.Error})
	}
	return rows
}

func printEvent(w io.Writer, v ops.EventView, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	status := string(v.Status)
	switch {
	case v.Stranded:
		status += " (stranded: a replay may never have sent it; webhookctl replay " + v.EventID + ")"
	case v.Replayable && v.Status == eventrecord.Ignored:
		status += " (replayable once the deployment should apply it: webhookctl replay --ignored " + v.EventID + ")"
	case v.Replayable && v.Status != eventrecord.Retrying:
		status += " (replayable: webhookctl replay " + v.EventID + ")"
	case v.Status == eventrecord.Failed && v.BodyBytes == 0:
		status += " (no body kept: cannot be replayed)"
	case eventrecord.IsBodyKey(v.EventID):
		status += " (a refused body, kept for investigation)"
	}
	if v.Expired {
		status += " (TTL passed, awaiting deletion)"
	}
	steps := strings.Join(v.Steps, ", ")
	if steps == "" {
		steps = "-"
	}
	rows := [][2]string{
		{"event", v.EventID},
		{"status", status},
		{"type", v.Type},
		{"created", timeText(v.Created)},
		{"livemode", fmt.Sprint(v.Livemode)},
		{"attempts", fmt.Sprint(v.Attempts)},
		{"steps", steps},
		{"received", timeText(v.ReceivedAt)},
		{"updated", timeText(v.UpdatedAt)},
		{"lease until", timeText(v.LeaseUntil)},
		{"expires", timeText(v.ExpiresAt)},
	}
	if v.DurationMS > 0 {
		rows = append(rows, [2]string{"duration", fmt.Sprintf("%d ms", v.DurationMS)})
	}
	for _, n := range v.ProcessorNotes {
		rows = append(rows, [2]string{"note", n})
	}
	if e := v.Email; e != nil {
		rows = append(rows, emailRows(*e, now)...)
	}
	if v.Error != "" {
		rows = append(rows, [2]string{"error", v.Error})
	}
	rows = append(rows, [2]string{"body", fmt.Sprintf("%d bytes", v.BodyBytes)})
	if v.PayloadHash != "" {
		rows = append(rows, [2]string{"sha256", v.PayloadHash})
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	_ = tw.Flush()
}

func printEventList(w io.Writer, views []ops.EventView) {
	if len(views) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tSTATUS\tTYPE\tATTEMPTS\tUPDATED\tBODY\tNOTE\tERROR")
	for _, v := range views {
		errText := v.Error
		if r := []rune(errText); len(r) > 60 {
			errText = string(r[:57]) + "..."
		}
		if errText == "" {
			errText = "-"
		}
		updated := "-"
		if v.UpdatedAt != nil {
			updated = v.UpdatedAt.Format(time.RFC3339)
		}
		note := strings.Join(v.Notes(), ",")
		if note == "" {
			note = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", v.EventID, v.Status, v.Type, v.Attempts, updated, v.BodyBytes, note, errText)
	}
	_ = tw.Flush()
}
