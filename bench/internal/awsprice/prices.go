package awsprice

// List prices in us-east-1 beyond Lambda's (lambda.go), in dollars, and
// the always-free allowances that never expire. Each names where it was
// read and when; AWS's own pricing pages render their tables client-side,
// so where a stored copy of the AWS page lacked the number, two or more
// dated third-party pages that agree are named instead.
const (
	// $1.00 per million HTTP API requests (first 300 million a month).
	// AWS whitepaper "Best Practices for Designing Amazon API Gateway
	// Private APIs", cost optimization (read 2026-11-27). Its free tier
	// lasts 12 months only: not applied.
	HTTPAPIPerRequest = 1.00 / 1e6

	// $0.40 per million standard-queue requests (each 64 KB of payload is
	// one request); 1 million requests a month free, always. cloudburn.io
	// "Amazon SQS Pricing" (March 2026); unanswered.io SQS pricing guide
	// (read 2026-12-03).
	SQSPerRequest = 0.40 / 1e6
	SQSFreeReqs   = 1_000_000

	// $0.625 per million on-demand write request units (since the cut of
	// 1 November 2024). airbyte.com (July 2025), jusdb.com (August 2025).
	// On-demand writes have no free tier (the 25 WCU of the free tier are
	// provisioned capacity).
	DynamoPerWRU = 0.625 / 1e6
	// $0.25 per GB-month of table storage, first 25 GB a month free,
	// always: aws.amazon.com/dynamodb/pricing (stored copy, read
	// 2026-12-03). Point-in-time recovery (both tables have it): $0.20 per
	// GB-month of table size, no free tier: finops.com.py "DynamoDB
	// backups" (read 2026-12-03).
	DynamoPerGBMonth     = 0.25
	DynamoFreeGB         = 25
	DynamoPITRPerGBMonth = 0.20

	// $1.00 per million custom events put on a bus (64 KB each).
	// cloudburn.io (March 2026), factualminds.com (June 2026); the
	// CloudWatch free tier covers "all events except custom events".
	EventBridgePerEvent = 1.00 / 1e6

	// CloudWatch. Custom metrics $0.30 per metric a month (first 10,000):
	// c3x.dev "CloudWatch custom metrics cost" and
	// cal53.calculator.city (read 2026-12-03). Standard-resolution alarms
	// $0.10 per alarm metric a month, dashboards $3.00 a month: c3x.dev;
	// factualminds.com "Amazon CloudWatch Pricing" (2026-06-13). Logs
	// $0.50 per GB ingested: factualminds.com (2026-06-13), duckbillgroup
	// (2025). Always free (aws.amazon.com/cloudwatch/pricing, stored copy,
	// read 2026-12-03): 10 metrics, 10 standard alarm metrics, 3
	// dashboards of up to 50 metrics, 5 GB of log data.
	MetricPerMonth    = 0.30
	AlarmPerMonth     = 0.10
	DashboardPerMonth = 3.00
	LogsPerGB         = 0.50
	FreeMetrics       = 10
	FreeAlarms        = 10
	FreeDashboards    = 3
	FreeLogsGB        = 5

	// Secrets Manager: $0.40 per secret a month, $0.05 per 10,000 API
	// calls; only a 30-day trial is free. hivebook.wiki "AWS Secrets
	// Manager" (read 2026-12-03), and the same figures in
	// docs/performance.md's earlier check.
	SecretPerMonth = 0.40
	SecretPerCall  = 0.05 / 10_000

	// X-Ray: $5.00 per million traces recorded, 100,000 a month free,
	// always. aws.amazon.com/xray/pricing (de and cn copies, read
	// 2026-11-27).
	XRayPerTrace   = 5.00 / 1e6
	XRayFreeTraces = 100_000
)

// IdleReceivesPerMonth is what Lambda's SQS event source mapping asks of
// an empty queue: five pollers long-polling 20 s each, about 15
// ReceiveMessage calls a minute, observed in CloudWatch's
// NumberOfEmptyReceives by users (getlift/lift#132, 2021-11-09: "an
// average of 15 empty receives a minute"; cityofaustin/atd-data-tech#9383,
// 2022-06-06: about 10). 15 × 60 × 24 × 30 = 648,000.
const IdleReceivesPerMonth = 15 * 60 * 24 * 30

// SecondsPerMonth is a 30-day month.
const SecondsPerMonth = 30 * 24 * 3600
