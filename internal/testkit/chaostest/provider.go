package chaostest

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// HandleFunc is the ingest function as the provider reaches it: an API
// Gateway HTTP API (payload 2.0) handler.
type HandleFunc func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Defaults of the Provider's settings.
const (
	DefaultWorkers       = 8
	DefaultDuplicateRate = 0.10
	DefaultMaxAttempts   = 50
	DefaultBaseBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff    = 2 * time.Second
	DefaultCallTimeout   = 5 * time.Second
)

// Provider delivers events the way Altafinex does: in a shuffled order,
// several at once, some of them twice (possibly at the same moment), and
// every non-2xx answer retried with exponential backoff, up to a bounded
// number of attempts. Each attempt is signed at the time it is sent.
type Provider struct {
	Handle HandleFunc
	Secret []byte
	// Workers is how many requests are in flight at most.
	Workers int
	// DuplicateRate is the share of events delivered a second time; half
	// of those duplicates start at the same moment as the first delivery.
	DuplicateRate float64
	// MaxAttempts bounds the attempts of one delivery.
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait before a retry: doubled
	// after each failure, capped, jittered down by up to half.
	BaseBackoff, MaxBackoff time.Duration
	// CallTimeout bounds one request, like API Gateway's timeout.
	CallTimeout time.Duration
	// Spread paces the first attempts evenly over this long (zero: all at
	// once), so that the deliveries meet every phase of a fault schedule.
	Spread time.Duration
	// Seed seeds the shuffle, duplicates and jitter.
	Seed uint64
	// Hold, when set, is asked before each delivery starts (retries are
	// not held): while it reports true the deliveries wait. The chaos test
	// holds them while the processor's queue is long, since the emulator's
	// SQS slows with the length of the queue.
	Hold func() bool
	// PoisonFirst starts the poison events' deliveries first, so that
	// their way to the dead-letter queue (every receive the queue allows)
	// overlaps the other deliveries instead of trailing them.
	PoisonFirst bool
}

// Report is what the provider saw.
type Report struct {
	Events     int // distinct events
	Deliveries int // delivery chains: one per event plus the duplicates
	Duplicates int // of which duplicates
	Requests   int // requests sent, retries included
	// Non2xx counts the answers that were not 2xx, by status code; status
	// 0 counts handler errors (the Lambda failed instead of answering).
	Non2xx map[int]int
	// Answers2xx counts the 2xx answers by the status their body names
	// (accepted, duplicate, …).
	Answers2xx map[string]int
	// Accepted holds the events answered 2xx at least once.
	Accepted map[string]bool
	// GaveUp lists the event ids of the deliveries that ran out of
	// attempts or time without a 2xx answer.
	GaveUp   []string
	Duration time.Duration
}

// NonOK returns the number of non-2xx answers.
func (r Report) NonOK() int {
	n := 0
	for _, c := range r.Non2xx {
		n += c
	}
	return n
}

type chain struct {
	ev      *Event
	attempt int
}

// Deliver sends every event of evs until it is answered 2xx, or its
// attempts run out, or ctx ends; it returns when no delivery is left.
func (p *Provider) Deliver(ctx context.Context, evs []Event) Report {
	start := time.Now()
	rng := mrand.New(mrand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
	var rngMu sync.Mutex
	jitter := func(d time.Duration) time.Duration {
		rngMu.Lock()
		defer rngMu.Unlock()
		return d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
	}

	// The chains in the order they start: shuffled, each duplicate either
	// right behind its original (both start at once) or anywhere.
	originals := make([]*chain, len(evs))
	for i := range evs {
		originals[i] = &chain{ev: &evs[i]}
	}
	rng.Shuffle(len(originals), func(i, j int) { originals[i], originals[j] = originals[j], originals[i] })
	order := make([]*chain, 0, len(evs)+len(evs)/5)
	var loose []*chain
	for _, c := range originals {
		order = append(order, c)
		if rng.Float64() >= p.dupRate() {
			continue
		}
		if dup := (&chain{ev: c.ev}); rng.IntN(2) == 0 {
			order = append(order, dup)
		} else {
			loose = append(loose, dup)
		}
	}
	dups := len(order) - len(originals) + len(loose)
	for _, d := range loose {
		at := rng.IntN(len(order) + 1)
		order = append(order[:at], append([]*chain{d}, order[at:]...)...)
	}

	if p.PoisonFirst {
		slices.SortStableFunc(order, func(a, b *chain) int {
			switch {
			case a.ev.Poison == b.ev.Poison:
				return 0
			case a.ev.Poison:
				return -1
			}
			return 1
		})
	}

	rep := Report{
		Events: len(evs), Deliveries: len(order), Duplicates: dups,
		Non2xx: map[int]int{}, Answers2xx: map[string]int{}, Accepted: map[string]bool{},
	}
	var mu sync.Mutex
	var requests atomic.Int64
	work := make(chan *chain, len(order)) // each chain is queued at most once at a time
	go func() {
		for i, c := range order {
			if p.Spread > 0 {
				at := start.Add(p.Spread * time.Duration(i) / time.Duration(len(order)))
				select {
				case <-ctx.Done():
				case <-time.After(time.Until(at)):
				}
			}
			for p.Hold != nil && ctx.Err() == nil && p.Hold() {
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
			work <- c
		}
	}()
	var pending sync.WaitGroup
	pending.Add(len(order))
	finish := func(c *chain, ok bool) {
		if !ok {
			mu.Lock()
			rep.GaveUp = append(rep.GaveUp, c.ev.ID)
			mu.Unlock()
		}
		pending.Done()
	}
	var workers sync.WaitGroup
	for range p.workers() {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for c := range work {
				if ctx.Err() != nil {
					finish(c, false)
					continue
				}
				c.attempt++
				requests.Add(1)
				status, outcome := p.send(ctx, c)
				mu.Lock()
				if status >= 200 && status < 300 {
					rep.Answers2xx[outcome]++
					rep.Accepted[c.ev.ID] = true
				} else {
					rep.Non2xx[status]++
				}
				mu.Unlock()
				switch {
				case status >= 200 && status < 300:
					finish(c, true)
				case c.attempt >= p.maxAttempts():
					finish(c, false)
				default:
					wait := jitter(min(p.base()<<min(c.attempt-1, 20), p.maxBackoff()))
					time.AfterFunc(wait, func() { work <- c })
				}
			}
		}()
	}
	pending.Wait()
	close(work)
	workers.Wait()
	rep.Requests = int(requests.Load())
	rep.Duration = time.Since(start)
	return rep
}

// send makes one attempt of c and returns the status code (0 when the
// handler returned an error) and, for a 2xx, the status its body names.
func (p *Provider) send(ctx context.Context, c *chain) (int, string) {
	body := c.ev.Body
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /api/webhooks/payment", RawPath: "/api/webhooks/payment",
		Headers: map[string]string{
			"content-type":          "application/json",
			"user-agent":            "Altafinex-Webhooks/1.0 (chaos)",
			"x-altafinex-signature": signature.Sign(p.Secret, time.Now(), body),
		},
		Body: string(body),
	}
	req.RequestContext.RequestID = fmt.Sprintf("chaos-%s-%d", c.ev.ID, c.attempt)
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.HTTP.Path = "/api/webhooks/payment"
	req.RequestContext.HTTP.SourceIP = "127.0.0.1"
	cctx, cancel := context.WithTimeout(ctx, p.callTimeout())
	defer cancel()
	resp, err := p.Handle(cctx, req)
	if err != nil {
		return 0, ""
	}
	var answer struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(resp.Body), &answer)
	return resp.StatusCode, answer.Status
}

func (p *Provider) workers() int {
	if p.Workers < 1 {
		return DefaultWorkers
	}
	return p.Workers
}

func (p *Provider) dupRate() float64 {
	if p.DuplicateRate <= 0 {
		return 0
	}
	return p.DuplicateRate
}

func (p *Provider) maxAttempts() int {
	if p.MaxAttempts < 1 {
		return DefaultMaxAttempts
	}
	return p.MaxAttempts
}

func (p *Provider) base() time.Duration {
	if p.BaseBackoff <= 0 {
		return DefaultBaseBackoff
	}
	return p.BaseBackoff
}

func (p *Provider) maxBackoff() time.Duration {
	if p.MaxBackoff <= 0 {
		return DefaultMaxBackoff
	}
	return p.MaxBackoff
}

func (p *Provider) callTimeout() time.Duration {
	if p.CallTimeout <= 0 {
		return DefaultCallTimeout
	}
	return p.CallTimeout
}
