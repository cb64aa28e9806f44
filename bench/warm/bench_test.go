package warm_test

import (
	"context"
	"runtime/pprof"
	"testing"
)

// labelled runs f with the pprof label function=name. Goroutines started
// under it (the HTTP transport's dials and connection loops) inherit the
// label, the in-process proxies' goroutines do not: profile the function
// alone with -tagfocus function=name.
func labelled(name string, f func(ctx context.Context)) {
	pprof.Do(context.Background(), pprof.Labels("function", name), f)
}

// BenchmarkIngestWarm is one warm ingest invocation: a signed
// payment.succeeded in, 200 accepted out, one PutItem and one SendMessage
// through the latency proxy.
func BenchmarkIngestWarm(b *testing.B) {
	r := newRig(b)
	evs := make([][]byte, b.N+1)
	for i := range evs {
		evs[i] = ingestEvent(b)
	}
	labelled("ingest", func(ctx context.Context) { ingestLoop(b, r, ctx, evs) })
}

func ingestLoop(b *testing.B, r *rig, ctx context.Context, evs [][]byte) {
	// One unmeasured invocation opens the connections, as the cold one
	// does on Lambda.
	if resp, err := r.ingest.Invoke(ctx, evs[b.N]); err != nil || accepted(resp) != nil {
		b.Fatalf("warm-up: %v %s", err, resp)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		resp, err := r.ingest.Invoke(ctx, evs[i])
		if err != nil {
			b.Fatal(err)
		}
		if err := accepted(resp); err != nil {
			b.Fatal(err)
		}
		if i%25 == 24 {
			b.StopTimer()
			r.purge(b)
			b.StartTimer()
		}
	}
}

// BenchmarkProcessorWarm is one warm processor invocation with a batch of
// ten fresh payment.succeeded records: per record a claim, an order
// update, an email, a domain event and the final write.
func BenchmarkProcessorWarm(b *testing.B) {
	const size = 10
	r := newRig(b)
	batches := r.batches(b, b.N+1, size)
	labelled("processor", func(ctx context.Context) { processorLoop(b, r, ctx, batches, size) })
}

func processorLoop(b *testing.B, r *rig, ctx context.Context, batches [][]byte, size int) {
	if resp, err := r.processor.Invoke(ctx, batches[b.N]); err != nil || processed(resp, size) != nil {
		b.Fatalf("warm-up: %v %s", err, resp)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		resp, err := r.processor.Invoke(ctx, batches[i])
		if err != nil {
			b.Fatal(err)
		}
		if err := processed(resp, size); err != nil {
			b.Fatal(err)
		}
	}
}
