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
	"unicode/utf8"
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
// under the dimension set {Function, dim.Name}. A NaN or infinite value,
// which JSON cannot carry, writes nothing.
//
// The line is the one encoding/json would write for the equivalent map:
// members sorted by key, a later member replacing an earlier one with the
// same key, strings escaped alike. It is built by hand into a reused
// buffer, because Put runs on every delivery.
func (e *EMF) Put(name string, value float64, unit string, dims ...Dim) {
	if e == nil || e.W == nil || math.IsInf(value, 0) || math.IsNaN(value) {
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
		b = appendString(b, m.key)
		b = append(b, ':')
		switch m.kind {
		case stringValue:
			b = appendString(b, m.str)
		case metricValue:
			b = appendFloat(b, value)
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
		b = appendString(b, d.Name)
		b = append(b, ']')
	}
	b = append(b, `],"Metrics":[{"Name":`...)
	b = appendString(b, name)
	b = append(b, `,"Unit":`...)
	b = appendString(b, unit)
	b = append(b, `}],"Namespace":`...)
	b = appendString(b, ns)
	b = append(b, `}],"Timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, '}')
}

// appendFloat appends f as encoding/json writes a float64: like ES6
// number-to-string, plain notation between 1e-6 and 1e21 and exponent
// notation without a padded exponent outside.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 becomes e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendString appends s as a JSON string escaped as encoding/json escapes
// it: quotes, backslashes and control characters, also <, > and &, U+2028
// and U+2029; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
