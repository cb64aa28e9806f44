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
//
// An EMF must not be copied after first use.
type EMF struct {
	W         io.Writer
	Namespace string
	Function  string           // value of the Function dimension, e.g. "ingest"
	Now       func() time.Time // nil: time.Now

	mu sync.Mutex // serialises lines written by concurrent records
}

// Dim is one extra dimension of a metric.
type Dim struct{ Name, Value string }

// directive is the _aws member of a line: what CloudWatch reads the
// line's other members as.
type directive struct {
	Timestamp         int64          `json:"Timestamp"` // Unix ms
	CloudWatchMetrics []metricsBlock `json:"CloudWatchMetrics"`
}

type metricsBlock struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"` // dimension sets, each a list of member names
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Put writes one metric value as one line. With a Dim, the value is also
// published under the dimension set {Function, dim.Name}. A Dim with an
// empty name or value is left out (CloudWatch may drop a line with an
// empty dimension value, and the metric with it). A NaN or infinite value,
// which JSON cannot carry, writes nothing.
//
// The metric, the Function dimension and each Dim are members of one JSON
// object, keyed by name; should two share a name (none of the receiver's
// do), the one named later in this order wins, and the _aws directive wins
// over all.
func (e *EMF) Put(name string, value float64, unit string, dims ...Dim) {
	if e == nil || e.W == nil {
		return
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	block := metricsBlock{
		Namespace:  e.Namespace,
		Dimensions: [][]string{{"Function"}},
		Metrics:    []definition{{Name: name, Unit: unit}},
	}
	if block.Namespace == "" {
		block.Namespace = DefaultNamespace
	}
	line := map[string]any{"Function": e.Function, name: value}
	for _, d := range dims {
		if d.Name == "" || d.Value == "" {
			continue
		}
		block.Dimensions = append(block.Dimensions, []string{"Function", d.Name})
		line[d.Name] = d.Value
	}
	line["_aws"] = directive{Timestamp: now().UnixMilli(), CloudWatchMetrics: []metricsBlock{block}}
	b, err := json.Marshal(line)
	if err != nil { // a NaN or infinite value
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.W.Write(append(b, '\n'))
}

// Count adds one to a counter.
func (e *EMF) Count(name string, dims ...Dim) { e.Put(name, 1, Count, dims...) }
