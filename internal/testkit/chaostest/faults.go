package chaostest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// ErrUnknownProxy is returned for a proxy name Network does not have.
var ErrUnknownProxy = errors.New("no such proxy")

// Network is an in-process toxiproxy with one proxy per AWS service,
// listening on 127.0.0.1, and the faults it can toggle on each.
type Network struct {
	server  *toxiproxy.ApiServer
	mu      sync.Mutex
	proxies map[string]*toxiproxy.Proxy
	counts  map[string]int
}

// NewNetwork returns a Network with no proxies.
func NewNetwork() *Network {
	return &Network{
		server:  toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop()),
		proxies: map[string]*toxiproxy.Proxy{},
		counts:  map[string]int{},
	}
}

// AddProxy starts a proxy called name on a free port of 127.0.0.1 in front
// of the HTTP endpoint upstream (http://host:port) and returns its
// endpoint URL.
func (n *Network) AddProxy(name, upstream string) (string, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("proxy %s: upstream %q is not an http://host:port URL", name, upstream)
	}
	p := toxiproxy.NewProxy(n.server, name, "127.0.0.1:0", u.Host)
	if err := p.Start(); err != nil {
		return "", fmt.Errorf("start proxy %s: %w", name, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proxies[name] = p
	return "http://" + p.Listen, nil
}

// Close stops every proxy.
func (n *Network) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.proxies {
		p.Stop()
	}
}

func (n *Network) proxy(name string) (*toxiproxy.Proxy, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.proxies[name]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownProxy, name)
	}
	return p, nil
}

// Toxic is one toxiproxy toxic, as its JSON API describes it.
type Toxic struct {
	Name       string           `json:"name"`
	Type       string           `json:"type"` // latency, timeout, reset_peer, …
	Stream     string           `json:"stream"`
	Toxicity   float32          `json:"toxicity"`
	Attributes map[string]int64 `json:"attributes"`
}

// Fault is what a phase does to one proxy: add toxics, or refuse every
// connection (Disabled) by stopping the proxy.
type Fault struct {
	Proxy    string
	Toxics   []Toxic
	Disabled bool
}

// Kind names the fault for the figures: "<proxy> <toxic types>" or
// "<proxy> disabled".
func (f Fault) Kind() string {
	if f.Disabled {
		return f.Proxy + " disabled"
	}
	var types []string
	for _, t := range f.Toxics {
		types = append(types, t.Type+"/"+t.Stream)
	}
	return f.Proxy + " " + strings.Join(types, "+")
}

// Apply starts the fault and counts it.
func (n *Network) Apply(f Fault) error {
	p, err := n.proxy(f.Proxy)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.counts[f.Kind()]++
	n.mu.Unlock()
	if f.Disabled {
		p.Stop()
		return nil
	}
	for _, t := range f.Toxics {
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(string(b))); err != nil {
			return fmt.Errorf("proxy %s: add toxic %s: %w", f.Proxy, t.Name, err)
		}
	}
	return nil
}

// Heal removes every toxic and restarts every stopped proxy.
func (n *Network) Heal() error {
	n.mu.Lock()
	ps := make([]*toxiproxy.Proxy, 0, len(n.proxies))
	for _, p := range n.proxies {
		ps = append(ps, p)
	}
	n.mu.Unlock()
	var errs []error
	for _, p := range ps {
		p.Toxics.ResetToxics(context.Background())
		if err := p.Start(); err != nil && !errors.Is(err, toxiproxy.ErrProxyAlreadyStarted) {
			errs = append(errs, fmt.Errorf("restart proxy %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ResetCounts forgets the faults applied so far.
func (n *Network) ResetCounts() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.counts = map[string]int{}
}

// Counts returns how many times each kind of fault was applied.
func (n *Network) Counts() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]int, len(n.counts))
	for k, v := range n.counts {
		out[k] = v
	}
	return out
}

// Phase is a set of faults held for a while.
type Phase struct {
	Faults []Fault
}

// StandardPhases returns the fault schedule of the chaos test for the
// proxies called ddb, sqs, ses and eb: latency, timeouts, resets (of
// requests, and of responses after the request was served) and refused
// connections, each on DynamoDB and SES together, then on SQS and
// EventBridge together, each followed by a calm phase; then mixes on all
// four.
func StandardPhases(ddb, sqs, ses, eb string) []Phase {
	// 50 to 200 ms on every answer.
	latency := Toxic{Name: "latency", Type: "latency", Stream: "downstream", Toxicity: 1,
		Attributes: map[string]int64{"latency": 125, "jitter": 75}}
	// A third of the connections swallow requests and close after 300 ms.
	timeout := Toxic{Name: "timeout", Type: "timeout", Stream: "upstream", Toxicity: 0.3,
		Attributes: map[string]int64{"timeout": 300}}
	// A third of the connections are reset as a request goes out.
	resetReq := Toxic{Name: "reset_up", Type: "reset_peer", Stream: "upstream", Toxicity: 0.3,
		Attributes: map[string]int64{"timeout": 0}}
	// A reset on the way back: the request was served, its answer is lost.
	resetResp := Toxic{Name: "reset_down", Type: "reset_peer", Stream: "downstream", Toxicity: 0.3,
		Attributes: map[string]int64{"timeout": 0}}
	var out []Phase
	for _, f := range []Fault{
		{Toxics: []Toxic{latency}},
		{Toxics: []Toxic{resetResp}},
		{Toxics: []Toxic{timeout}},
		{Toxics: []Toxic{resetReq}},
		{Disabled: true},
	} {
		for _, pair := range [][2]string{{ddb, ses}, {sqs, eb}} {
			a, b := f, f
			a.Proxy, b.Proxy = pair[0], pair[1]
			out = append(out, Phase{Faults: []Fault{a, b}}, Phase{})
		}
	}
	out = append(out,
		Phase{Faults: []Fault{
			{Proxy: ddb, Toxics: []Toxic{latency, resetResp}}, {Proxy: sqs, Toxics: []Toxic{latency}},
			{Proxy: ses, Toxics: []Toxic{latency}}, {Proxy: eb, Toxics: []Toxic{latency, resetResp}},
		}},
		Phase{},
		Phase{Faults: []Fault{
			{Proxy: ddb, Toxics: []Toxic{resetResp}}, {Proxy: sqs, Toxics: []Toxic{resetResp}},
			{Proxy: ses, Toxics: []Toxic{resetResp}}, {Proxy: eb, Toxics: []Toxic{resetResp}},
		}},
		Phase{},
	)
	return out
}

// Kinds returns every fault kind phases apply, once each.
func Kinds(phases []Phase) []string {
	seen := map[string]bool{}
	var out []string
	for _, ph := range phases {
		for _, f := range ph.Faults {
			if k := f.Kind(); !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// RunPhases applies phases one after the other, each for hold, healing
// the network between them. After one full cycle it stops as soon as done
// reports true (checked after each phase), cycling again until then, or
// until ctx ends. It leaves the network healed.
func (n *Network) RunPhases(ctx context.Context, phases []Phase, hold time.Duration, done func() bool) error {
	defer func() { _ = n.Heal() }()
	for cycle := 0; ; cycle++ {
		for _, ph := range phases {
			if ctx.Err() != nil || (cycle > 0 && done()) {
				return nil
			}
			for _, f := range ph.Faults {
				if err := n.Apply(f); err != nil {
					return err
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(hold):
			}
			if err := n.Heal(); err != nil {
				return err
			}
		}
		if done() {
			return nil
		}
	}
}

// FormatCounts renders counts one per line, sorted by name.
func FormatCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "    %-40s %d\n", k, counts[k])
	}
	return b.String()
}
