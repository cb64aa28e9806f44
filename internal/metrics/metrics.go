// Package metrics writes CloudWatch metrics in the Embedded Metric Format:
// one JSON line on stdout per call, which the Lambda log pipeline turns into
// metrics with no agent and no PutMetricData round trip.
//
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// DefaultNamespace is the CloudWatch namespace when none is configured.
const DefaultNamespace = "AltafinexWebhooks"

// Units used by the receiver's metrics.
const (
	Count        = "Count"
	Milliseconds = "Milliseconds"
)

// EMF emits metrics with the dimension Function=<function> and, for metrics
// given an extra dimension, Function+<name>.
type EMF struct {
	W         io.Writer
	Namespace string
	Function  string           // value of the Function dimension, e.g. "ingest"
	Now       func() time.Time // nil: time.Now

	mu sync.Mutex // serialises lines written by concurrent records
}

// Dim is one extra dimension of a metric.
type Dim struct{ Name, Value string }

// Put writes one metric value. With a Dim, the value is also published
// under the dimension set {Function, dim.Name}.
func (e *EMF) Put(name string, value float64, unit string, dims ...Dim) {
	if e == nil || e.W == nil {
		return
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	ns := e.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	sets := [][]string{{"Function"}}
	line := map[string]any{"Function": e.Function, name: value}
	for _, d := range dims {
		sets = append(sets, []string{"Function", d.Name})
		line[d.Name] = d.Value
	}
	line["_aws"] = map[string]any{
		"Timestamp": now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  ns,
			"Dimensions": sets,
			"Metrics":    []any{map[string]string{"Name": name, "Unit": unit}},
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	_, _ = e.W.Write(b)
	e.mu.Unlock()
}

// Count adds one to a counter.
func (e *EMF) Count(name string, dims ...Dim) { e.Put(name, 1, Count, dims...) }
