package ops_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ops"
	"github.com/altafinex-webhooks/receiver/internal/sqsqueue"
)

// fillDLQ puts n events on the dead-letter queue, as SQS would after
// exhausted retries, and returns body by event id.
func fillDLQ(t *testing.T, e env, n int) map[string]string {
	t.Helper()
	dlq := sqsqueue.New(e.sqs, e.dlqURL)
	bodies := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("evt_dead%02d", i)
		m := eventrecord.Message{
			EventID: id, Type: "payment.failed", ReceivedAt: baseT0.Add(time.Duration(i) * time.Second),
			Body: fmt.Appendf(nil, "{\n  \"id\": %q, \"n\": %d }\r\n", id, i), Replay: i%2 == 1,
		}
		if err := dlq.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		bodies[id] = string(m.Body)
	}
	return bodies
}

func TestPeek(t *testing.T) {
	e := newEnv(t)
	want := fillDLQ(t, e, 3)
	d := &ops.DLQ{Client: e.sqs, URL: e.dlqURL, QueueURL: e.url}
	for round := 1; round <= 2; round++ { // peeking twice sees the same messages: nothing consumed
		msgs, err := d.Peek(context.Background(), 0)
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		ids := map[string]bool{}
		for _, m := range msgs {
			ids[m.EventID] = true
			if m.Type != "payment.failed" || m.BodyBytes != len(want[m.EventID]) || m.ReceiveCount != round || m.SentAt.IsZero() || m.Problem != "" {
				t.Errorf("round %d: %+v: want type, body size %d, receive count %d, sent time", round, m, len(want[m.EventID]), round)
			}
		}
		if !maps.Equal(ids, map[string]bool{"evt_dead00": true, "evt_dead01": true, "evt_dead02": true}) {
			t.Errorf("round %d: peeked %v, want the 3 events once each", round, ids)
		}
	}
	if msgs, err := d.Peek(context.Background(), 2); err != nil || len(msgs) != 2 {
		t.Errorf("Peek max 2: %d messages, %v", len(msgs), err)
	}
	// Still all there, visible.
	if got := drain(t, e.sqs, e.dlqURL); len(got) != 3 {
		t.Errorf("after peeks the DLQ holds %d visible messages, want 3", len(got))
	}
}

func TestRedriveByHand(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		manual bool
		max    int
		want   int // moved
	}{
		{name: "moto has no move task: falls back", n: 12, want: 12},
		{name: "manual", n: 3, manual: true, want: 3},
		{name: "bounded", n: 5, manual: true, max: 2, want: 2},
		{name: "empty", n: 0, manual: true, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			bodies := fillDLQ(t, e, tc.n)
			before := map[string]map[string]string{}
			for _, m := range drain(t, e.sqs, e.dlqURL) {
				before[aws.ToString(m.Body)] = attrs(m)
				// make them visible again for the redrive
				if _, err := e.sqs.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(e.dlqURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
			progress := 0
			d := &ops.DLQ{Client: e.sqs, URL: e.dlqURL, QueueURL: e.url}
			res, err := d.Redrive(context.Background(), ops.RedriveOptions{Manual: tc.manual, Max: tc.max, Progress: func(n int) { progress = n }})
			if err != nil {
				t.Fatalf("Redrive: %v", err)
			}
			if res.Method != ops.ByHand || res.Moved != int64(tc.want) || progress != tc.want || (res.Fallback != "") == tc.manual {
				t.Errorf("result %+v, progress %d: want %d moved by hand, fallback noted %v", res, progress, tc.want, !tc.manual)
			}
			moved := drain(t, e.sqs, e.url)
			if len(moved) != tc.want {
				t.Fatalf("main queue holds %d messages, want %d", len(moved), tc.want)
			}
			seen := map[string]bool{}
			for _, m := range moved {
				body := aws.ToString(m.Body)
				if seen[body] {
					t.Errorf("message %q moved twice", body)
				}
				seen[body] = true
				wantAttrs, ok := before[body]
				if !ok {
					t.Errorf("moved body %q was not in the DLQ", body)
					continue
				}
				if got := attrs(m); !maps.Equal(got, wantAttrs) {
					t.Errorf("attributes changed:\n got %v\nwant %v", got, wantAttrs)
				}
				id := attrs(m)[eventrecord.AttrEventID][len("String:"):]
				if got := rawBody(t, m); bodies[id] != got {
					t.Errorf("%s: body %q, want %q", id, got, bodies[id])
				}
			}
			if left := drain(t, e.sqs, e.dlqURL); len(left) != tc.n-tc.want {
				t.Errorf("DLQ holds %d messages, want %d", len(left), tc.n-tc.want)
			}
		})
	}
}

// fakeMoveSQS stands in for an SQS endpoint that has StartMessageMoveTask,
// which moto_server lacks: only the calls the move task path makes.
type fakeMoveSQS struct {
	ops.SQSAPI // nil: any other call panics
	start      func() (*sqs.StartMessageMoveTaskOutput, error)
	list       []types.ListMessageMoveTasksResultEntry // one answer per call; the last repeats
	lists      int
}

func (f *fakeMoveSQS) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:1:" + aws.ToString(in.QueueUrl)}}, nil
}

func (f *fakeMoveSQS) StartMessageMoveTask(_ context.Context, in *sqs.StartMessageMoveTaskInput, _ ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error) {
	if aws.ToString(in.SourceArn) != "arn:aws:sqs:us-east-1:1:dlq" || aws.ToString(in.DestinationArn) != "arn:aws:sqs:us-east-1:1:main" {
		return nil, fmt.Errorf("unexpected ARNs %s → %s", aws.ToString(in.SourceArn), aws.ToString(in.DestinationArn))
	}
	return f.start()
}

func (f *fakeMoveSQS) ListMessageMoveTasks(context.Context, *sqs.ListMessageMoveTasksInput, ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error) {
	e := f.list[min(f.lists, len(f.list)-1)]
	f.lists++
	return &sqs.ListMessageMoveTasksOutput{Results: []types.ListMessageMoveTasksResultEntry{e}}, nil
}

func TestRedriveMoveTask(t *testing.T) {
	started := func() (*sqs.StartMessageMoveTaskOutput, error) {
		return &sqs.StartMessageMoveTaskOutput{TaskHandle: aws.String("h1")}, nil
	}
	running := types.ListMessageMoveTasksResultEntry{TaskHandle: aws.String("h1"), Status: aws.String("RUNNING"), ApproximateNumberOfMessagesMoved: 3}
	tests := []struct {
		name        string
		list        []types.ListMessageMoveTasksResultEntry
		wait        time.Duration
		wantMoved   int64
		wantRunning bool
		wantErr     error
	}{
		{name: "completes", list: []types.ListMessageMoveTasksResultEntry{running, {Status: aws.String("COMPLETED"), ApproximateNumberOfMessagesMoved: 7}}, wait: time.Minute, wantMoved: 7},
		{name: "still running when the wait ends", list: []types.ListMessageMoveTasksResultEntry{running}, wait: time.Millisecond, wantMoved: 3, wantRunning: true},
		{name: "fails", list: []types.ListMessageMoveTasksResultEntry{{Status: aws.String("FAILED"), FailureReason: aws.String("AccessDenied")}}, wait: time.Minute, wantErr: ops.ErrMoveTaskFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeMoveSQS{start: started, list: tc.list}
			d := &ops.DLQ{Client: f, URL: "dlq", QueueURL: "main", TaskPoll: time.Millisecond}
			res, err := d.Redrive(context.Background(), ops.RedriveOptions{TaskWait: tc.wait})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Redrive: got %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			if res.Method != ops.MoveTask || res.TaskHandle != "h1" || res.Moved != tc.wantMoved || res.Running != tc.wantRunning {
				t.Errorf("got %+v: want move task h1, %d moved, running %v", res, tc.wantMoved, tc.wantRunning)
			}
		})
	}
}

// An error from StartMessageMoveTask that is not "unsupported" (access
// denied, say) is reported, not papered over by a manual move.
func TestRedriveMoveTaskError(t *testing.T) {
	denied := errors.New("AccessDenied")
	f := &fakeMoveSQS{start: func() (*sqs.StartMessageMoveTaskOutput, error) { return nil, denied }}
	d := &ops.DLQ{Client: f, URL: "dlq", QueueURL: "main"}
	if _, err := d.Redrive(context.Background(), ops.RedriveOptions{}); !errors.Is(err, denied) || errors.Is(err, ops.ErrMoveTaskUnsupported) {
		t.Errorf("got %v, want the access error", err)
	}
}

// Issue 11, item 3, the DLQ's side: a message carrying the largest body
// (eventrecord.MaxBodyBytes, base64 on the queue) exhausts its receives,
// moves to the dead-letter queue, is peeked at its decoded size and
// redriven back byte for byte.
func TestLargestBodyThroughTheDLQ(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte{0xff, '{', 0x00}, eventrecord.MaxBodyBytes/3)
	if len(body) != eventrecord.MaxBodyBytes {
		t.Fatalf("body of %d bytes", len(body))
	}
	if err := e.queue.Send(ctx, eventrecord.Message{EventID: "evt_big", Type: "payment.failed", ReceivedAt: baseT0, Body: body}); err != nil {
		t.Fatal(err)
	}
	// Receive it until SQS's redrive policy (maxReceiveCount 5) moves it.
	for range 10 {
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url), MaxNumberOfMessages: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		if _, err := e.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(e.url), ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0,
		}); err != nil {
			t.Fatal(err)
		}
	}
	d := &ops.DLQ{Client: e.sqs, URL: e.dlqURL, QueueURL: e.url}
	peeked, err := d.Peek(ctx, 0)
	if err != nil || len(peeked) != 1 || peeked[0].EventID != "evt_big" || peeked[0].BodyBytes != eventrecord.MaxBodyBytes || peeked[0].Problem != "" {
		t.Fatalf("Peek: %+v, %v; want evt_big with a body of %d bytes", peeked, err, eventrecord.MaxBodyBytes)
	}
	if res, err := d.Redrive(ctx, ops.RedriveOptions{Manual: true}); err != nil || res.Moved != 1 {
		t.Fatalf("Redrive: %+v, %v", res, err)
	}
	moved := drain(t, e.sqs, e.url)
	if len(moved) != 1 || rawBody(t, moved[0]) != string(body) {
		t.Fatalf("%d messages back on the queue, want the body byte for byte", len(moved))
	}
}
