package awsprice

import (
	"math"
	"testing"
)

// deployment is a round-numbered stack for hand-worked bills.
var deployment = Deployment{
	IngestMB: 128, IngestBilledMs: 20,
	ProcessorMB: 256, ProcessorBilledMs1: 40, ProcessorBilledMs10: 130,
	IngestLogBytes: 500, ProcessorLogBytesPerInvocation: 200, ProcessorLogBytesPerRecord: 300, PlatformLogBytes: 0,
	Tracing:        true,
	EventItemBytes: 400, OrderItemBytes: 500,
	Alarms: 8, Dashboards: 1, Metrics: 12, Secrets: 1, Mappings: 1,
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %.6f, want %.6f", what, got, want)
	}
}

func line(lines []Line, name string) float64 {
	for _, l := range lines {
		if l.Name == name {
			return l.Dollars
		}
	}
	return math.NaN()
}

func TestPerMillionByHand(t *testing.T) {
	// Batches of 10, default front. Per million events:
	//   API: $1.00. Lambda requests: 1.1 M × $0.20 = $0.22.
	//   Duration: 1 M × 0.020 s × 0.125 GB = 2,500 GB-s; 0.1 M × 0.130 s ×
	//   0.25 GB = 3,250 GB-s; 5,750 × $0.0000133334 = $0.07666705.
	//   SQS: 1 M + 0.2 M = 1.2 M × $0.40 = $0.48. DynamoDB: 4 M × $0.625 =
	//   $2.50. EventBridge $1.00. Logs: (800 B × 1 M + 200 B × 0.1 M) /
	//   2^30 GB × $0.50 = 0.76368 GB × $0.50 = $0.38184. X-Ray: 1.1 M traces
	//   × $5 = $5.50.
	lines := deployment.PerMillion(10)
	near(t, "API", line(lines, "API Gateway HTTP API requests"), 1.00)
	near(t, "Lambda requests", line(lines, "Lambda requests"), 0.22)
	near(t, "Lambda duration", line(lines, "Lambda duration"), 5750*0.0000133334)
	near(t, "SQS", line(lines, "SQS requests"), 0.48)
	near(t, "DynamoDB", line(lines, "DynamoDB writes"), 2.50)
	near(t, "EventBridge", line(lines, "EventBridge domain events"), 1.00)
	near(t, "Logs", line(lines, "CloudWatch Logs ingestion"), (800e6+200e5)/(1<<30)*0.5)
	near(t, "X-Ray", line(lines, "X-Ray traces"), 5.50)

	url := deployment
	url.FunctionURL = true
	if got := line(url.PerMillion(10), "API Gateway HTTP API requests"); !math.IsNaN(got) {
		t.Errorf("function URL front pays API Gateway: $%.2f", got)
	}
	near(t, "function URL saves the API's $1.00", Sum(deployment.PerMillion(10))-Sum(url.PerMillion(10)), 1.00)
}

func TestEmailPathByHand(t *testing.T) {
	// Every event emails its customer; the sender bills 50 ms for a job
	// alone, 1,400 ms for a paced batch of ten. Per million events in
	// batches of 10, on top of TestPerMillionByHand's:
	//   Lambda requests: 0.1 M more, 1.2 M × $0.20 = $0.24.
	//   Duration: 0.1 M × 1.4 s × 0.25 GB = 35,000 GB-s more: 40,750.
	//   SQS: 1 M job sends, 0.1 M receives and 0.1 M deletes more: 2.4 M ×
	//   $0.40 = $0.96. DynamoDB: 2 WRU an email, 6 M × $0.625 = $3.75.
	//   Logs: 100 B an email and 200 B a sender invocation more: 940e6 B.
	//   X-Ray: 1.2 M traces, $6.00.
	d := deployment
	d.EmailsPerEvent, d.SenderBilledMs1, d.SenderBilledMs10, d.SenderLogBytesPerEmail = 1, 50, 1400, 100
	lines := d.PerMillion(10)
	near(t, "Lambda requests", line(lines, "Lambda requests"), 0.24)
	near(t, "Lambda duration", line(lines, "Lambda duration"), 40750*0.0000133334)
	near(t, "SQS", line(lines, "SQS requests"), 0.96)
	near(t, "DynamoDB", line(lines, "DynamoDB writes"), 3.75)
	near(t, "Logs", line(lines, "CloudWatch Logs ingestion"), 940e6/(1<<30)*0.5)
	near(t, "X-Ray", line(lines, "X-Ray traces"), 6.00)
	near(t, "EventBridge unchanged", line(lines, "EventBridge domain events"), 1.00)

	// Half the events email, at 10 k a month: the sender's batches are
	// of 1 + 5,000 / 2,592,000 jobs, billed 50 ms + 1,350 ms × that
	// excess / 9.
	d.EmailsPerEvent = 0.5
	v := d.volumes(10_000, BatchAt(10_000), BatchAt(5_000))
	sendBatch := 1 + 5_000.0/SecondsPerMonth
	procBatch := 1 + 10_000.0/SecondsPerMonth
	near(t, "requests at 10k", v.lambdaRequests, 10_000+10_000/procBatch+5_000/sendBatch)
	near(t, "sender GB-s at 10k", v.gbSeconds-10_000*0.020*0.125-10_000/procBatch*(0.040+0.090*(procBatch-1)/9)*0.25,
		5_000/sendBatch*(0.050+1.350*(sendBatch-1)/9)*0.25)

	// Two mappings: 1,296,000 idle receives, 296,000 over the free million.
	d.Mappings = 2
	near(t, "two mappings' idle receives", line(d.Fixed(true), "SQS idle receives of the event source mappings"), 296_000*0.40/1e6)
}

func TestFixedByHand(t *testing.T) {
	// Without free tiers: $0.40 + 8 × $0.10 + $3.00 + 12 × $0.30 + 648,000
	// × $0.40 / M = 0.40 + 0.80 + 3.00 + 3.60 + 0.2592 = $8.0592. With
	// them: 8 alarms and 1 dashboard are free, 2 metrics of 12 are paid
	// ($0.60), the idle receives fit in the free million: $1.00.
	near(t, "fixed without free tiers", Sum(deployment.Fixed(false)), 8.0592)
	near(t, "fixed with free tiers", Sum(deployment.Fixed(true)), 1.00)
}

func TestMonthFreeTiers(t *testing.T) {
	// 10,000 events: batches of 1.0039; everything but API Gateway,
	// DynamoDB writes, EventBridge, the secret and its calls fits in the
	// free allowances.
	fixed, usage := deployment.Month(10_000, true)
	for _, name := range []string{"Lambda requests", "Lambda duration", "SQS requests", "CloudWatch Logs ingestion", "X-Ray traces", "DynamoDB storage (after a year)"} {
		if got := line(usage, name); got != 0 {
			t.Errorf("%s = $%.4f at 10k events, want 0 (free)", name, got)
		}
	}
	near(t, "API", line(usage, "API Gateway HTTP API requests"), 0.01)
	near(t, "DynamoDB writes", line(usage, "DynamoDB writes"), 0.025)
	// PITR has no free tier: (10k × 400 + 12 × 10k × 500) B = 64 MB.
	near(t, "PITR", line(usage, "DynamoDB point-in-time recovery (after a year)"), 64e6/(1<<30)*0.20)
	near(t, "Secrets calls", line(usage, "Secrets Manager calls"), 20_000*0.05/10_000)
	near(t, "fixed", Sum(fixed), 1.00)

	// SQS: the idle 648,000 receives take the free million first. At 1 M
	// events, batches of 1.3858: 1 M sends + 2 × 721,604 = 2,443,207
	// requests; 2,443,207 + 648,000 − 1,000,000 are paid.
	_, usage = deployment.Month(1e6, true)
	procInv := 1e6 / (1 + 1e6/SecondsPerMonth)
	near(t, "SQS at 1 M", line(usage, "SQS requests"), (1e6+2*procInv+648_000-1e6)*0.40/1e6)
}

func TestBatchAndTracing(t *testing.T) {
	near(t, "batch at 10k a month", BatchAt(10_000), 1+10_000.0/2_592_000)
	near(t, "batch at 100 M a month", BatchAt(100e6), 10)
	// Under one invocation a second, every one is traced; at 10 a second,
	// 1 + 0.05 × 9 = 1.45 a second.
	near(t, "traced at 1 M", traced(1e6), 1e6)
	near(t, "traced at 10/s", traced(10*SecondsPerMonth), 1.45*SecondsPerMonth)
}
