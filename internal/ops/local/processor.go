package local

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
	"github.com/altafinex-webhooks/receiver/internal/process/ddborders"
	"github.com/altafinex-webhooks/receiver/internal/process/processorapp"
	"github.com/altafinex-webhooks/receiver/internal/process/sqsbatch"
)

// startProcessor creates the orders table and runs the processor behind a
// poller that does what Lambda's SQS event source mapping does. After each
// batch it logs the orders the batch touched, as the table now holds them.
func startProcessor(ctx context.Context, st Stack, env func(string) string, o Options) (stop func(), err error) {
	if o.NoProcessor {
		return func() {}, nil
	}
	ddb := dynamodb.NewFromConfig(st.AWS)
	if err := ddborders.CreateTable(ctx, ddb, st.OrdersTable); err != nil {
		return nil, err
	}
	cfg, err := processorapp.Load(env)
	if err != nil {
		return nil, err
	}
	fnAWS, err := o.functionAWS(ProcessorFunction, env, st.AWS)
	if err != nil {
		return nil, err
	}
	log := o.Log.With("function", "processor")
	h := processorapp.New(cfg, fnAWS, log, io.Discard)
	orders := ddborders.New(ddb, st.OrdersTable)
	handle := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		// Through the entry point lambda.Start(h.Handle) runs: the event
		// as JSON bytes in, the response's bytes out.
		resp, err := Invoke(ctx, h.Handle, ev)
		logOrders(ctx, log, orders, ev)
		return resp, err
	}
	pollers := []*Poller{}
	for range o.EventPollers {
		p, err := NewPoller(ctx, sqs.NewFromConfig(fnAWS), st.QueueURL, handle)
		if err != nil {
			return nil, err
		}
		p.Logger = log
		pollers = append(pollers, p)
	}
	// The email mapping: up to EMAIL_SENDER_CONCURRENCY invocations at
	// once, each in a sandbox of its own (its own processor, whose sender
	// paces itself to its share of the rate).
	for range cfg.EmailSenderConcurrency {
		if !cfg.EmailQueued() {
			break
		}
		sandbox := processorapp.New(cfg, fnAWS, log, io.Discard)
		ep, err := NewPoller(ctx, sqs.NewFromConfig(fnAWS), st.EmailQueueURL,
			func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				return Invoke(ctx, sandbox.Handle, ev)
			})
		if err != nil {
			return nil, err
		}
		ep.Logger = log
		if o.EmailBatchSize > 0 {
			ep.BatchSize = o.EmailBatchSize
		}
		pollers = append(pollers, ep)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, p := range pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil {
				log.Error("poller stopped", slog.String("error", err.Error()))
			}
		}()
	}
	return func() { cancel(); wg.Wait() }, nil
}

// logOrders prints the state of each order a batch named: what a merchant
// trying the receiver wants to see after a signed curl.
func logOrders(ctx context.Context, log *slog.Logger, orders *ddborders.Store, ev events.SQSEvent) {
	seen := map[string]bool{}
	for _, r := range ev.Records {
		id := envelope.OrderID(sqsbatch.Message(r).Body)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		o, err := orders.Get(ctx, id)
		if err != nil {
			continue
		}
		log.Info("order",
			slog.String("order_id", o.ID), slog.String("status", string(o.Status)),
			slog.Int64("amount", o.Amount), slog.String("currency", o.Currency),
			slog.Int64("refunded_total", o.RefundedTotal), slog.String("last_event_id", o.LastEventID))
	}
}
