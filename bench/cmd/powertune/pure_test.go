package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestQuota(t *testing.T) {
	// quota = MB/1769 × period, rounded, at least 1,000 µs; worked by hand.
	tests := []struct {
		mb, period, want int
	}{
		{128, 100000, 7236},   // 12,800,000 / 1769 = 7235.73
		{256, 100000, 14471},  // 14471.45
		{512, 100000, 28943},  // 28942.91
		{1024, 100000, 57886}, // 57885.81
		{1769, 100000, 100000},
		{128, 10000, 1000}, // 723.6 is under the kernel's minimum
		{128, 20000, 1447}, // 1447.15
	}
	for _, tc := range tests {
		if got := quotaUS(tc.mb, tc.period); got != tc.want {
			t.Errorf("quotaUS(%d, %d) = %d, want %d", tc.mb, tc.period, got, tc.want)
		}
	}
	if got := share(3538); got != 1 {
		t.Errorf("share(3538) = %v, want 1 (one quota models one vCPU at most)", got)
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("128, 256,1769")
	if err != nil || len(got) != 3 || got[0] != 128 || got[1] != 256 || got[2] != 1769 {
		t.Fatalf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "64", "abc", "1770", "128,,256"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q): no error", bad)
		}
	}
}

func TestParseReports(t *testing.T) {
	// Lines as aws-lambda-rie prints them (internal/lambda/rie/handlers.go),
	// interleaved with the function's own output.
	out := "START RequestId: ingest-128-0-0001 Version: $LATEST\n" +
		`{"level":"INFO","msg":"webhook delivery"}` + "\n" +
		"END RequestId: ingest-128-0-0001\n" +
		"REPORT RequestId: ingest-128-0-0001\tInit Duration: 0.02 ms\tDuration: 412.57 ms\tBilled Duration: 413 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n" +
		"START RequestId: ingest-128-0-0002 Version: $LATEST\n" +
		"REPORT RequestId: ingest-128-0-0002\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n" +
		"REPORT RequestId: truncated\tDuration: 3"
	got, err := parseReports(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]invokeReport{
		"ingest-128-0-0001": {Duration: 412570 * time.Microsecond, Billed: 413 * time.Millisecond},
		"ingest-128-0-0002": {Duration: 12 * time.Millisecond, Billed: 13 * time.Millisecond},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d reports, want %d: %v", len(got), len(want), got)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: got %+v, want %+v", id, got[id], w)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	// A /proc/PID/stat line whose command name holds a space and a ')';
	// utime (field 14) = 250 ticks, stime (15) = 31.
	line := "4242 (boot) strap) S 4200 4242 4200 0 -1 4194560 1543 0 0 0 250 31 0 0 20 0 7 0 123456 0 0\n"
	got, err := parseStatCPU(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 281 * 10 * time.Millisecond; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseStatCPU("4242 (x) S 1 2"); err == nil {
		t.Error("short line: no error")
	}
}

func TestParseCgroupFile(t *testing.T) {
	file := "9:name=systemd:/\n4:memory:/process_api/a6f0\n2:cpuacct:/\n1:cpu:/powertune-77-ingest-128\n0::/\n"
	if got, err := parseCgroupFile(file, "cpu"); err != nil || got != "/powertune-77-ingest-128" {
		t.Errorf("cpu: %q, %v", got, err)
	}
	if got, err := parseCgroupFile("3:cpu,cpuacct:/g\n", "cpu"); err != nil || got != "/g" {
		t.Errorf("joined controllers: %q, %v", got, err)
	}
	if _, err := parseCgroupFile("0::/\n", "cpu"); err == nil {
		t.Error("no cpu controller: no error")
	}
}

func TestParseCPUStat(t *testing.T) {
	got, err := parseCPUStat("nr_periods 40\nnr_throttled 12\nthrottled_time 912000000\nnr_bursts 0\nburst_time 0\n")
	if err != nil {
		t.Fatal(err)
	}
	want := throttling{Periods: 40, Throttled: 12, ThrottledTime: 912 * time.Millisecond}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if d := got.sub(throttling{Periods: 10, Throttled: 2, ThrottledTime: time.Millisecond}); d != (throttling{30, 10, 911 * time.Millisecond}) {
		t.Errorf("sub = %+v", d)
	}
}

func TestChoose(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	tests := []struct {
		name   string
		cs     []candidate
		wantMB int
		wantOK bool
	}{
		{"the cheapest within 10 % of the best p99", []candidate{
			{MB: 128, P99: ms(30), Cold: ms(90), Cost: 0.25},
			{MB: 256, P99: ms(21), Cold: ms(60), Cost: 0.27},
			{MB: 512, P99: ms(20), Cold: ms(40), Cost: 0.33},
		}, 256, true},
		{"10 % exactly is within", []candidate{
			{MB: 128, P99: ms(22), Cold: ms(90), Cost: 0.25},
			{MB: 1769, P99: ms(20), Cold: ms(30), Cost: 0.80},
		}, 128, true},
		{"a cold start of 100 ms or more rules a size out", []candidate{
			{MB: 128, P99: ms(20), Cold: ms(100), Cost: 0.25},
			{MB: 256, P99: ms(20.5), Cold: ms(99), Cost: 0.27},
		}, 256, true},
		{"none meets both", []candidate{
			{MB: 128, P99: ms(50), Cold: ms(50), Cost: 0.25},
			{MB: 256, P99: ms(20), Cold: ms(150), Cost: 0.27},
		}, 0, false},
		{"equal cost: the smaller size", []candidate{
			{MB: 256, P99: ms(20), Cold: ms(50), Cost: 0.25},
			{MB: 128, P99: ms(20), Cold: ms(50), Cost: 0.25},
		}, 128, true},
		{"empty", nil, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pick, _, ok := choose(tc.cs)
			if ok != tc.wantOK || (ok && pick.MB != tc.wantMB) {
				t.Errorf("choose = %d MB, %v; want %d MB, %v", pick.MB, ok, tc.wantMB, tc.wantOK)
			}
		})
	}
}

func TestMakeGroupRefusesWithoutController(t *testing.T) {
	// A directory that is not a cgroup v1 cpu mount: no group, ErrNoCgroup.
	_, err := makeGroup(t.TempDir(), "powertune-test", 100000, 7236)
	if !errors.Is(err, ErrNoCgroup) {
		t.Fatalf("err = %v, want ErrNoCgroup", err)
	}
	if !strings.Contains(err.Error(), "cpu.cfs_quota_us") {
		t.Errorf("error does not say what is missing: %v", err)
	}
}

func TestJSONBytes(t *testing.T) {
	out := "START RequestId: a Version: $LATEST\n" +
		`{"msg":"x"}` + "\n" + // 12 bytes with its newline
		"END RequestId: a\n" +
		`{"_aws":{}}` + "\n" + // 12
		"REPORT RequestId: a\tDuration: 1.00 ms\n" +
		`{"tail":1}` // 10, no newline yet
	if got := jsonBytes(out); got != 34 {
		t.Errorf("jsonBytes = %d, want 34", got)
	}
}

func TestParseSchedstat(t *testing.T) {
	if got, err := parseSchedstat("31234567 2000 14\n"); err != nil || got != 31234567*time.Nanosecond {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := parseSchedstat("\n"); err == nil {
		t.Error("empty: no error")
	}
}

func TestLambdaRecord(t *testing.T) {
	// A message as ReceiveMessage returns it; the record as Lambda's SQS
	// event source hands it over (its field names in aws-lambda-go's
	// events.SQSMessage), with the source ARN of the mapping's queue.
	m := sqstypes.Message{
		MessageId: aws.String("m-1"), ReceiptHandle: aws.String("rh-1"), Body: aws.String("Ym9keQ=="), MD5OfBody: aws.String("md5"),
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1795795200000"},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"event_id": {DataType: aws.String("String"), StringValue: aws.String("evt_1")},
			"blob":     {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2}},
		},
	}
	const arn = "arn:aws:sqs:us-east-1:123456789012:webhook-email-queue"
	r := lambdaRecord(m, arn)
	if r.MessageId != "m-1" || r.ReceiptHandle != "rh-1" || r.Body != "Ym9keQ==" || r.Md5OfBody != "md5" {
		t.Errorf("message fields: %+v", r)
	}
	if r.EventSource != "aws:sqs" || r.EventSourceARN != arn || r.AWSRegion != "us-east-1" {
		t.Errorf("source: %q %q %q", r.EventSource, r.EventSourceARN, r.AWSRegion)
	}
	if r.Attributes["SentTimestamp"] != "1795795200000" || r.Attributes["ApproximateReceiveCount"] != "1" {
		t.Errorf("attributes: %v", r.Attributes)
	}
	if a := r.MessageAttributes["event_id"]; a.DataType != "String" || a.StringValue == nil || *a.StringValue != "evt_1" {
		t.Errorf("event_id attribute: %+v", a)
	}
	if a := r.MessageAttributes["blob"]; a.DataType != "Binary" || string(a.BinaryValue) != "\x01\x02" {
		t.Errorf("blob attribute: %+v", a)
	}
}

func TestParseFunctions(t *testing.T) {
	got, err := parseFunctions("ingest, sender,processor")
	if err != nil || strings.Join(got, ",") != "ingest,sender,processor" {
		t.Fatalf("parseFunctions = %v, %v", got, err)
	}
	for _, bad := range []string{"", "email", "ingest,,sender", "Sender"} {
		if _, err := parseFunctions(bad); err == nil {
			t.Errorf("parseFunctions(%q): no error", bad)
		}
	}
	// The sender is the processor's bootstrap, the same build.
	for fn, want := range map[string]string{"ingest": "ingest", "processor": "processor", "sender": "processor"} {
		if got, ok := bootstrapOf(fn); !ok || got != want {
			t.Errorf("bootstrapOf(%q) = %q, %v; want %q", fn, got, ok, want)
		}
	}
}

func TestSendInterval(t *testing.T) {
	// concurrency / rate seconds, rounded up to the millisecond; by hand.
	tests := []struct {
		rate        float64
		concurrency int
		want        time.Duration
	}{
		{14, 2, 143 * time.Millisecond}, // 142.857
		{14, 1, 72 * time.Millisecond},  // 71.43
		{1, 2, 2 * time.Second},         // the SES sandbox's rate
		{50, 5, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := sendInterval(tc.rate, tc.concurrency); got != tc.want {
			t.Errorf("sendInterval(%v, %d) = %v, want %v", tc.rate, tc.concurrency, got, tc.want)
		}
	}
}

func TestJobEventIDs(t *testing.T) {
	str := func(s string) events.SQSMessageAttribute {
		return events.SQSMessageAttribute{StringValue: &s, DataType: "String"}
	}
	recs := []events.SQSMessage{
		{MessageAttributes: map[string]events.SQSMessageAttribute{"event_id": str("evt_a"), "body_encoding": str("base64")}},
		{MessageAttributes: map[string]events.SQSMessageAttribute{"body_encoding": str("base64")}}, // not a job of an event
		{MessageAttributes: map[string]events.SQSMessageAttribute{"event_id": str("evt_b")}},
	}
	if got := strings.Join(jobEventIDs(recs), ","); got != "evt_a,evt_b" {
		t.Errorf("jobEventIDs = %s, want evt_a,evt_b", got)
	}
}

func TestTableNote(t *testing.T) {
	// The sender's table says what an event is and how it is paced; the
	// others have no note.
	for _, tc := range []struct {
		w    workload
		want string
	}{
		{&senderLoad{events: processorLoad{size: 10}}, "one email job"},
		{&processorLoad{size: 10}, ""},
	} {
		rep := &report{}
		var b strings.Builder
		rep.table(tc.w).markdown(&b)
		md := b.String()
		if !strings.Contains(md, "(batch of 10)") {
			t.Errorf("%s: no batch in %q", tc.w.function(), md)
		}
		if tc.want != "" && !strings.Contains(md, tc.want) {
			t.Errorf("%s: table lacks %q:\n%s", tc.w.function(), tc.want, md)
		}
		if tc.want == "" && strings.Contains(md, "email job") {
			t.Errorf("%s: the sender's note in another table:\n%s", tc.w.function(), md)
		}
	}
}
