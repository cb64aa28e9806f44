// Package metrics writes CloudWatch metrics in the Embedded Metric Format:
// one JSON line on stdout per call, which the Lambda log pipeline turns into
// metrics with no agent and no PutMetricData round trip.
//
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/jsontext"
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

	mu  sync.Mutex // serialises lines written by concurrent records
	buf []byte     // the line being written, reused under mu
}

// Dim is one extra dimension of a metric.
type Dim struct{ Name, Value string }

// maxKeptBuf bounds the line buffer an EMF keeps between calls.
const maxKeptBuf = 4 << 10

// Put writes one metric value. With a Dim, the value is also published
// under the dimension set {Function, dim.Name}. A Dim with an empty name or
// value is left out (CloudWatch may drop a line with an empty dimension
// value, and the metric with it). A NaN or infinite value, which JSON
// cannot carry, writes nothing.
//
// The line is the one encoding/json would write for the equivalent map:
// members sorted by key, a later member replacing an earlier one with the
// same key, strings escaped alike. It is built by hand into a reused
// buffer, because Put runs on every delivery.
func (e *EMF) Put(name string, value float64, unit string, dims ...Dim) {
	if e == nil || e.W == nil || math.IsInf(value, 0) || math.IsNaN(value) {
		return
	}
	for i, d := range dims {
		if d.Name == "" || d.Value == "" {
			// Rare: copy the others rather than filter in place, which
			// would change the caller's slice.
			kept := make([]Dim, 0, len(dims)-1)
			for _, d := range dims[i:] {
				if d.Name != "" && d.Value != "" {
					kept = append(kept, d)
				}
			}
			dims = append(dims[:i:i], kept...)
			break
		}
	}
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	ns := e.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	var stack [4]member
	members := append(stack[:0], member{key: "Function", str: e.Function})
	members = setMember(members, member{key: name, kind: metricValue})
	for _, d := range dims {
		members = setMember(members, member{key: d.Name, str: d.Value})
	}
	members = setMember(members, member{key: "_aws", kind: awsDirective})
	sortMembers(members)
	ts := now().UnixMilli()

	e.mu.Lock()
	defer e.mu.Unlock()
	b := append(e.buf[:0], '{')
	for i, m := range members {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, m.key)
		b = append(b, ':')
		switch m.kind {
		case stringValue:
			b = jsontext.AppendString(b, m.str)
		case metricValue:
			b = jsontext.AppendFloat(b, value)
		case awsDirective:
			b = appendDirective(b, ts, ns, name, unit, dims)
		}
	}
	b = append(b, '}', '\n')
	_, _ = e.W.Write(b)
	if cap(b) <= maxKeptBuf {
		e.buf = b[:0]
	} else {
		e.buf = nil
	}
}

// Count adds one to a counter.
func (e *EMF) Count(name string, dims ...Dim) { e.Put(name, 1, Count, dims...) }

// memberKind says what a top-level member of the line holds.
type memberKind uint8

const (
	stringValue  memberKind = iota // str
	metricValue                    // the metric's value
	awsDirective                   // the _aws metadata
)

// member is one top-level member of the line.
type member struct {
	key  string
	str  string
	kind memberKind
}

// setMember adds m to ms, replacing a member with the same key, as an
// assignment to a map would.
func setMember(ms []member, m member) []member {
	for i := range ms {
		if ms[i].key == m.key {
			ms[i] = m
			return ms
		}
	}
	return append(ms, m)
}

// sortMembers sorts ms by key, as encoding/json sorts map keys.
func sortMembers(ms []member) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].key < ms[j-1].key; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// appendDirective appends the _aws object: the timestamp and one metric
// directive with the dimension sets {Function} and {Function, dim.Name}
// for each dim.
func appendDirective(b []byte, ts int64, ns, name, unit string, dims []Dim) []byte {
	b = append(b, `{"CloudWatchMetrics":[{"Dimensions":[["Function"]`...)
	for _, d := range dims {
		b = append(b, `,["Function",`...)
		b = jsontext.AppendString(b, d.Name)
		b = append(b, ']')
	}
	b = append(b, `],"Metrics":[{"Name":`...)
	b = jsontext.AppendString(b, name)
	b = append(b, `,"Unit":`...)
	b = jsontext.AppendString(b, unit)
	b = append(b, `}],"Namespace":`...)
	b = jsontext.AppendString(b, ns)
	b = append(b, `}],"Timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '}')
}
