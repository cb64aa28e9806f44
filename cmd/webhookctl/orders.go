package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/altafinex-webhooks/receiver/internal/ddbevents"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

const ordersUsage = `Usage: webhookctl orders get ORDER_ID [--json] [deployment flags]
       webhookctl orders list [--status S[,S…]] [--anomaly[=KIND]] [--limit N] [--json] [deployment flags]

get shows an order as the orders table holds it (status, amounts, payment,
refunds, anomalies) and its timeline: every event the order item names,
with its status and times from the events table. list shows the most
recently updated orders (--limit of all that match; the table is read
whole), of --status, or with anomalies (--anomaly; --anomaly=KIND only
those that mention KIND).

Exit status: 0 shown, 1 not found or AWS error, 2 usage error.

` + stackFlagsHelp + `
Flags:
`

// anomalyFlag is --anomaly: alone it means any anomaly, --anomaly=KIND
// one kind.
type anomalyFlag struct {
	set  bool
	kind string
}

func (a *anomalyFlag) String() string   { return a.kind }
func (a *anomalyFlag) IsBoolFlag() bool { return true }
func (a *anomalyFlag) Set(v string) error {
	a.set = true
	switch v {
	case "true":
		a.kind = ""
	case "false":
		a.set = false
	default:
		a.kind = v
	}
	return nil
}

// runOrders is the orders subcommand.
func runOrders(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return ordersCmd(context.Background(), args, osEnv(stdin, stdout, stderr))
}

func ordersCmd(ctx context.Context, args []string, env cmdEnv) int {
	fs := flag.NewFlagSet("orders", flag.ContinueOnError)
	var sf stackFlags
	sf.register(fs)
	status := fs.String("status", "", "list: only these order statuses, comma-separated (default: every status)")
	var anomaly anomalyFlag
	fs.Var(&anomaly, "anomaly", "list: only orders with anomalies (--anomaly=KIND: that kind)")
	limit := fs.Int("limit", ops.DefaultLimit, "list: show at most this many, the most recently updated")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), ordersUsage)
		fs.PrintDefaults()
	}
	pos, code := parseInterleaved(fs, args, env.stderr)
	if code >= 0 {
		return code
	}
	if len(pos) == 0 {
		return usageError(fs, env.stderr, errors.New("want get ORDER_ID or list"))
	}
	switch pos[0] {
	case "get":
		if len(pos) != 2 {
			return usageError(fs, env.stderr, errors.New("get takes one ORDER_ID"))
		}
		cfg, res, err := sf.connect(ctx, env, ops.NeedEventsTable|ops.NeedOrdersTable)
		if err != nil {
			return fail(env.stderr, "orders", err)
		}
		db := dynamodb.NewFromConfig(cfg)
		v, err := ops.GetOrder(ctx, db, res.OrdersTable, ddbevents.New(db, res.EventsTable), pos[1])
		if errors.Is(err, ops.ErrOrderNotFound) {
			fmt.Fprintf(env.stderr, "webhookctl orders: no order %s in table %s (events list --order %s shows events that name it but changed no order)\n", pos[1], res.OrdersTable, pos[1])
			return exitFail
		}
		if err != nil {
			return fail(env.stderr, "orders", err)
		}
		if sf.json {
			return printJSON(env, v)
		}
		printOrder(env.stdout, v)
		return exitOK
	case "list":
		if len(pos) != 1 {
			return usageError(fs, env.stderr, fmt.Errorf("list takes no arguments, got %q", pos[1]))
		}
		statuses, err := ops.ParseOrderStatuses(*status)
		if err != nil {
			return usageError(fs, env.stderr, err)
		}
		if *limit < 1 {
			return usageError(fs, env.stderr, fmt.Errorf("--limit %d: want at least 1", *limit))
		}
		cfg, res, err := sf.connect(ctx, env, ops.NeedOrdersTable)
		if err != nil {
			return fail(env.stderr, "orders", err)
		}
		f := ops.OrderFilter{Statuses: statuses, Anomaly: anomaly.set, AnomalyKind: anomaly.kind, Limit: *limit}
		list, err := ops.ListOrders(ctx, dynamodb.NewFromConfig(cfg), res.OrdersTable, f)
		if err != nil {
			return fail(env.stderr, "orders", err)
		}
		if sf.json {
			return printJSON(env, list)
		}
		printOrderList(env.stdout, list.Orders)
		what := "all"
		if len(statuses) > 0 {
			what = "status " + strings.ToUpper(strings.ReplaceAll(*status, ",", " or "))
		}
		if anomaly.set {
			what += ", with anomalies"
			if anomaly.kind != "" {
				what += " mentioning " + anomaly.kind
			}
		}
		fmt.Fprintf(env.stderr, "%d of %d order(s) (%s), most recently updated first%s\n", len(list.Orders), list.Matched, what, moreText(len(list.Orders), list.Matched))
		return exitOK
	default:
		return usageError(fs, env.stderr, fmt.Errorf("unknown orders command %q: want get or list", pos[0]))
	}
}

func printOrder(w io.Writer, v ops.OrderView) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, val)
		}
	}
	row("order", v.OrderID)
	row("status", string(v.Status))
	row("amount", v.Text(v.Amount))
	row("payment", v.PaymentID)
	if v.PaidAt != nil {
		row("paid", timeText(v.PaidAt))
	}
	if v.FailureCode != "" {
		row("failure", v.FailureCode+": "+v.FailureMessage)
		row("failed", timeText(v.FailedAt))
	}
	customer := strings.TrimSpace(v.CustomerName + " <" + v.CustomerEmail + ">")
	if v.CustomerEmail == "" {
		customer = v.CustomerName
	}
	row("customer", customer)
	for _, p := range v.Payments {
		row("  paid", fmt.Sprintf("%s  %s  (%s)", p.PaymentID, orders.FormatAmount(p.Amount, p.Currency), p.EventID))
	}
	if v.ExtraPayments > 0 {
		row("  paid", fmt.Sprintf("%d further payment(s) not listed", v.ExtraPayments))
	}
	row("refunded", v.Text(v.RefundedTotal))
	for _, t := range v.RefundTotals {
		row("  refunds", fmt.Sprintf("%s  %s  (%d refund(s))", t.PaymentID, orders.FormatAmount(t.Amount, t.Currency), t.Count))
	}
	if v.UnsummedRefunds > 0 {
		row("  refunds", fmt.Sprintf("%d further refund(s) of other payments or currencies, not summed", v.UnsummedRefunds))
	}
	if v.Anomalies != nil {
		row("anomalies", compactJSON(v.Anomalies))
	} else {
		row("anomalies", "none")
	}
	for _, k := range sortedKeys(v.Other) {
		row(k, compactJSON(v.Other[k]))
	}
	row("created", timeText(v.CreatedAt))
	row("updated", timeText(v.UpdatedAt))
	_ = tw.Flush()

	fmt.Fprintf(w, "\ntimeline (%d event(s), oldest first)\n", len(v.Timeline))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED\tEVENT ID\tTYPE\tSTATUS\tATTEMPTS\tUPDATED\tERROR")
	for _, e := range v.Timeline {
		if !e.Found {
			fmt.Fprintf(tw, "-\t%s\t-\t(no record: its TTL passed)\t-\t-\t-\n", e.EventID)
			continue
		}
		errText := e.Error
		if errText == "" {
			errText = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", shortTime(e.Created), e.EventID, e.Type, e.Status, e.Attempts, shortTime(e.UpdatedAt), errText)
	}
	_ = tw.Flush()
}

func printOrderList(w io.Writer, vs []ops.OrderView) {
	if len(vs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER ID\tSTATUS\tAMOUNT\tREFUNDED\tUPDATED\tANOMALIES")
	for _, v := range vs {
		anomalies := "-"
		if v.Anomalies != nil {
			anomalies = compactJSON(v.Anomalies)
			if r := []rune(anomalies); len(r) > 60 {
				anomalies = string(r[:57]) + "..."
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.OrderID, v.Status, v.Text(v.Amount), v.Text(v.RefundedTotal), shortTime(v.UpdatedAt), anomalies)
	}
	_ = tw.Flush()
}

func shortTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func compactJSON(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
