package awsprice

import "math"

// Deployment is one stack's configuration and measured costs per event:
// what the bill is computed from.
type Deployment struct {
	FunctionURL bool // the function-URL front: no API Gateway request charge

	IngestMB       int
	IngestBilledMs float64 // mean billed duration of one ingest invocation
	ProcessorMB    int
	// ProcessorBilledMs is the mean billed duration of a processor
	// invocation with a batch of one and of ten records; other batch
	// sizes are interpolated (the records of a batch run concurrently).
	ProcessorBilledMs1, ProcessorBilledMs10 float64

	// Log bytes CloudWatch Logs ingests: the function's own JSON lines
	// per ingest invocation, per processor invocation (its batch line)
	// and per processor record, plus the Lambda platform's lines per
	// invocation of either function.
	IngestLogBytes, ProcessorLogBytesPerInvocation, ProcessorLogBytesPerRecord, PlatformLogBytes float64

	Tracing bool // X-Ray Active on both functions

	// Stored bytes per event, DynamoDB's 100-byte item overhead included:
	// the event record (kept DedupeTtl, 30 days) and the order (kept).
	EventItemBytes, OrderItemBytes float64

	// The email path: the share of events that email a customer (each
	// a job on the email queue, sent by the processor function through
	// its second event source mapping), the sender's mean billed duration
	// per invocation with a batch of one job and of ten (a batch of ten
	// is paced: 9 waits at the sender's rate), and its JSON log bytes per
	// email. Zero EmailsPerEvent: no email path.
	EmailsPerEvent                    float64
	SenderBilledMs1, SenderBilledMs10 float64
	SenderLogBytesPerEmail            float64

	// Fixed observability: standard alarms, dashboards, and the custom
	// metrics (name and dimension set) a healthy deployment emits in a
	// month.
	Alarms, Dashboards, Metrics int
	Secrets                     int
	// Mappings is the number of SQS event source mappings, each long
	// polling an idle queue (IdleReceivesPerMonth).
	Mappings int
}

// Line is one item of a bill.
type Line struct {
	Name    string
	Dollars float64
}

// Sum adds the lines.
func Sum(lines []Line) float64 {
	var s float64
	for _, l := range lines {
		s += l.Dollars
	}
	return s
}

// BatchAt is the mean number of records per processor invocation at
// events a month: with a one-second batching window, the first record
// waits for those that arrive within the second, at most ten.
func BatchAt(events float64) float64 {
	return math.Min(10, 1+events/SecondsPerMonth)
}

func (d Deployment) processorMs(batch float64) float64 {
	return d.ProcessorBilledMs1 + (d.ProcessorBilledMs10-d.ProcessorBilledMs1)*(batch-1)/9
}

func (d Deployment) senderMs(batch float64) float64 {
	return d.SenderBilledMs1 + (d.SenderBilledMs10-d.SenderBilledMs1)*(batch-1)/9
}

// volumes are the month's counts of everything billed per use.
type volumes struct {
	apiRequests, lambdaRequests, gbSeconds, sqsRequests, wru, busEvents, logGB, traces float64
}

// volumes counts a month of events, the processor's batches holding
// batch records and the sender's emailBatch jobs.
func (d Deployment) volumes(events, batch, emailBatch float64) volumes {
	procInv := events / batch
	emails := events * d.EmailsPerEvent
	sendInv := emails / emailBatch
	v := volumes{
		lambdaRequests: events + procInv + sendInv,
		gbSeconds: events*GBSeconds(d.IngestBilledMs, d.IngestMB) + procInv*GBSeconds(d.processorMs(batch), d.ProcessorMB) +
			sendInv*GBSeconds(d.senderMs(emailBatch), d.ProcessorMB),
		// One send per event and per email job; per invocation of
		// either mapping one receive and one batched delete.
		sqsRequests: events + emails + 2*procInv + 2*sendInv,
		// Ingest's put, the claim, the order update, the final status;
		// the email's claim and its SENT record.
		wru:       4*events + 2*emails,
		busEvents: events,
		logGB: (events*(d.IngestLogBytes+d.PlatformLogBytes+d.ProcessorLogBytesPerRecord) +
			procInv*(d.ProcessorLogBytesPerInvocation+d.PlatformLogBytes) +
			emails*d.SenderLogBytesPerEmail + sendInv*(d.ProcessorLogBytesPerInvocation+d.PlatformLogBytes)) / (1 << 30),
	}
	if !d.FunctionURL {
		v.apiRequests = events
	}
	if d.Tracing {
		// The processor function's invocations, of both mappings, share
		// one sampling rule.
		v.traces = traced(events) + traced(procInv+sendInv)
	}
	return v
}

// traced is how many of a month's invocations of one function X-Ray's
// default rule records: the first each second and 5 % of the rest.
func traced(invocations float64) float64 {
	rate := invocations / SecondsPerMonth
	if rate <= 1 {
		return invocations
	}
	return (1 + 0.05*(rate-1)) * SecondsPerMonth
}

// PerMillion is the bill of a million events handled in batches of
// batch, without free tiers and fixed costs; X-Ray as at low volume,
// every invocation traced.
func (d Deployment) PerMillion(batch float64) []Line {
	v := d.volumes(1e6, batch, batch)
	if d.Tracing {
		v.traces = 1e6 + 1e6/batch + 1e6*d.EmailsPerEvent/batch
	}
	return d.usage(v, false, 0)
}

// usage prices a month's volumes; with free, the always-free allowances
// are taken off first (the idle receives count against SQS's).
func (d Deployment) usage(v volumes, free bool, idleReceives float64) []Line {
	allow := func(used, allowance float64) float64 {
		if !free {
			return used
		}
		return math.Max(0, used-allowance)
	}
	var lines []Line
	if !d.FunctionURL {
		lines = append(lines, Line{"API Gateway HTTP API requests", v.apiRequests * HTTPAPIPerRequest})
	}
	lines = append(lines,
		Line{"Lambda requests", allow(v.lambdaRequests, LambdaFreeReqs) * LambdaPerRequest},
		Line{"Lambda duration", allow(v.gbSeconds, LambdaFreeGBSec) * LambdaArmPerGBSec},
		Line{"SQS requests", sqsCharged(v.sqsRequests, idleReceives, free) * SQSPerRequest},
		Line{"DynamoDB writes", v.wru * DynamoPerWRU},
		Line{"EventBridge domain events", v.busEvents * EventBridgePerEvent},
		Line{"CloudWatch Logs ingestion", allow(v.logGB, FreeLogsGB) * LogsPerGB},
	)
	if d.Tracing {
		lines = append(lines, Line{"X-Ray traces", allow(v.traces, XRayFreeTraces) * XRayPerTrace})
	}
	return lines
}

// sqsCharged is how many of requests are paid for: with free, the
// allowance goes to the idle receives first (Fixed prices what they
// exceed it by), then to these.
func sqsCharged(requests, idle float64, free bool) float64 {
	if !free {
		return requests
	}
	return math.Max(0, requests+idle-SQSFreeReqs) - math.Max(0, idle-SQSFreeReqs)
}

// Fixed is what the stack costs a month at any volume: the secret, the
// alarms, the dashboard, the custom metrics and the event source
// mapping's idle receives; with free, after the always-free allowances.
func (d Deployment) Fixed(free bool) []Line {
	over := func(n, allowance int) float64 {
		if !free {
			return float64(n)
		}
		return float64(max(0, n-allowance))
	}
	idleReceives := float64(d.Mappings * IdleReceivesPerMonth)
	idle := idleReceives * SQSPerRequest
	if free {
		idle = math.Max(0, idleReceives-SQSFreeReqs) * SQSPerRequest
	}
	return []Line{
		{"Secrets Manager secret", float64(d.Secrets) * SecretPerMonth},
		{"CloudWatch alarms", over(d.Alarms, FreeAlarms) * AlarmPerMonth},
		{"CloudWatch dashboard", over(d.Dashboards, FreeDashboards) * DashboardPerMonth},
		{"Custom metrics (EMF)", over(d.Metrics, FreeMetrics) * MetricPerMonth},
		{"SQS idle receives of the event source mappings", idle},
	}
}

// Month is the whole bill for events a month: the fixed part, the
// usage (idle receives counted once, in Fixed), storage after a year at
// this volume, and Secrets Manager's calls (two at every cold start,
// bounded by two warm instances refreshing every five minutes).
func (d Deployment) Month(events float64, free bool) (fixed, usage []Line) {
	fixed = d.Fixed(free)
	batch := BatchAt(events)
	idle := 0.0
	if free {
		idle = float64(d.Mappings * IdleReceivesPerMonth) // they use the free allowance first
	}
	usage = d.usage(d.volumes(events, batch, BatchAt(events*d.EmailsPerEvent)), free, idle)
	// Storage: event records live 30 days; orders stay (a year's worth).
	gb := (events*d.EventItemBytes + 12*events*d.OrderItemBytes) / (1 << 30)
	stored := gb
	if free {
		stored = math.Max(0, gb-DynamoFreeGB)
	}
	usage = append(usage,
		Line{"DynamoDB storage (after a year)", stored * DynamoPerGBMonth},
		Line{"DynamoDB point-in-time recovery (after a year)", gb * DynamoPITRPerGBMonth},
		Line{"Secrets Manager calls", math.Min(2*events, 2*2*12*24*30) * SecretPerCall},
	)
	return fixed, usage
}
