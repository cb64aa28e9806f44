package metrics_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/altafinex-webhooks/receiver/internal/metrics"
)

func TestPutWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	e := &metrics.EMF{W: &buf, Function: "ingest", Now: func() time.Time { return time.UnixMilli(1795795500123) }}
	e.Count("SignatureFailure", metrics.Dim{Name: "Reason", Value: "signature_mismatch"})

	var got struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Function         string
		Reason           string
		SignatureFailure float64
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if got.AWS.Timestamp != 1795795500123 || got.Function != "ingest" || got.Reason != "signature_mismatch" || got.SignatureFailure != 1 {
		t.Errorf("unexpected line: %s", buf.String())
	}
	d := got.AWS.CloudWatchMetrics[0]
	if d.Namespace != metrics.DefaultNamespace || len(d.Dimensions) != 2 || d.Dimensions[1][1] != "Reason" || d.Metrics[0].Name != "SignatureFailure" || d.Metrics[0].Unit != "Count" {
		t.Errorf("unexpected directive: %+v", d)
	}
}

func TestNilEMFIsSilent(t *testing.T) {
	var e *metrics.EMF
	e.Count("Accepted") // must not panic
	var buf bytes.Buffer
	(&metrics.EMF{W: &buf}).Put("ProcessingLatency", 12, metrics.Milliseconds)
	if buf.Len() == 0 {
		t.Fatal("EMF with a writer wrote nothing")
	}
}

func TestPutEscapesNamesAndValues(t *testing.T) {
	tests := []struct {
		name     string
		function string
		ns       string
		metric   string
		unit     string
		dim      metrics.Dim
	}{
		{"quotes", `in"gest`, `Name"space`, `Sig"nature`, `Co"unt`, metrics.Dim{Name: `Rea"son`, Value: `"quoted"`}},
		{"backslashes", `in\gest`, `Name\space`, `Sig\nature`, `Count\`, metrics.Dim{Name: `Rea\son`, Value: `C:\path\`}},
		{"both", `\"`, `"\`, `\\"\\"`, `\u0041`, metrics.Dim{Name: `"\"`, Value: `\"\"`}},
		{"control and html", "in\ngest\x00", "ns\t<&>", "a\x1fb", "\r", metrics.Dim{Name: "d\b\f", Value: "v<script>&\u2028\u2029"}},
		{"unicode", "ïngest", "名前空間", "Ünit😀", "Count", metrics.Dim{Name: "Grund", Value: "Signatur ungültig"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := &metrics.EMF{W: &buf, Namespace: tc.ns, Function: tc.function, Now: func() time.Time { return time.UnixMilli(1795795500123) }}
			e.Put(tc.metric, 2.5, tc.unit, tc.dim)
			if !bytes.HasSuffix(buf.Bytes(), []byte("}\n")) || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("not one line: %q", buf.String())
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("not JSON: %v: %s", err, buf.String())
			}
			if line["Function"] != tc.function || line[tc.metric] != 2.5 || line[tc.dim.Name] != tc.dim.Value {
				t.Errorf("members wrong: %s", buf.String())
			}
			var got struct {
				AWS struct {
					Timestamp         int64
					CloudWatchMetrics []struct {
						Namespace  string
						Dimensions [][]string
						Metrics    []struct{ Name, Unit string }
					}
				} `json:"_aws"`
			}
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			d := got.AWS.CloudWatchMetrics
			if got.AWS.Timestamp != 1795795500123 || len(d) != 1 || d[0].Namespace != tc.ns ||
				len(d[0].Dimensions) != 2 || d[0].Dimensions[1][0] != "Function" || d[0].Dimensions[1][1] != tc.dim.Name ||
				len(d[0].Metrics) != 1 || d[0].Metrics[0].Name != tc.metric || d[0].Metrics[0].Unit != tc.unit {
				t.Errorf("directive wrong: %s", buf.String())
			}
		})
	}
}

// line is what CloudWatch reads from an EMF line: the directive, and the
// other members by name.
type line struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	}
	Members map[string]any
}

// readLine parses out as exactly one EMF line, as the EMF specification
// describes it.
func readLine(t *testing.T, out []byte) line {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("}\n")) || bytes.Count(out, []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", out)
	}
	var l line
	if err := json.Unmarshal(out, &l.Members); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, out)
	}
	raw, err := json.Marshal(l.Members["_aws"])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &l.AWS); err != nil {
		t.Fatalf("_aws: %v: %s", err, out)
	}
	if len(l.AWS.CloudWatchMetrics) != 1 || len(l.AWS.CloudWatchMetrics[0].Metrics) != 1 {
		t.Fatalf("want one metric directive: %s", out)
	}
	return l
}

func TestPutLines(t *testing.T) {
	type call struct {
		ns, function, name string
		value              float64
		unit               string
		dims               []metrics.Dim
	}
	tests := []struct {
		name     string
		call     call
		wantNS   string
		wantDims [][]string
	}{
		{"count", call{"", "ingest", "Accepted", 1, metrics.Count, nil}, metrics.DefaultNamespace, [][]string{{"Function"}}},
		{"latency", call{"Custom", "processor", "ProcessingLatency", 12.345, metrics.Milliseconds, nil}, "Custom", [][]string{{"Function"}}},
		{"one dim", call{"", "ingest", "SignatureFailure", 1, metrics.Count, []metrics.Dim{{"Reason", "signature_mismatch"}}}, metrics.DefaultNamespace, [][]string{{"Function"}, {"Function", "Reason"}}},
		{"two dims in order", call{"", "ingest", "M", 3, metrics.Count, []metrics.Dim{{"Zeta", "z"}, {"Alpha", "a"}}}, metrics.DefaultNamespace, [][]string{{"Function"}, {"Function", "Zeta"}, {"Function", "Alpha"}}},
		{"escapes", call{`n"s\`, "in\ngest<&>", "a\"b\\c\x01", 1, "u\u2028\u2029", []metrics.Dim{{"d\t", "v\t\b\f\r"}}}, `n"s\`, [][]string{{"Function"}, {"Function", "d\t"}}},
		{"negative zero", call{"", "f", "M", math.Copysign(0, -1), metrics.Count, nil}, metrics.DefaultNamespace, [][]string{{"Function"}}},
		{"tiny", call{"", "f", "M", 1e-7, metrics.Count, nil}, metrics.DefaultNamespace, [][]string{{"Function"}}},
		{"huge", call{"", "f", "M", 1e21, metrics.Count, nil}, metrics.DefaultNamespace, [][]string{{"Function"}}},
		{"max", call{"", "f", "M", math.MaxFloat64, metrics.Count, nil}, metrics.DefaultNamespace, [][]string{{"Function"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.call
			var buf bytes.Buffer
			e := &metrics.EMF{W: &buf, Namespace: c.ns, Function: c.function, Now: func() time.Time { return time.UnixMilli(1795795500123) }}
			e.Put(c.name, c.value, c.unit, c.dims...)
			l := readLine(t, buf.Bytes())
			d := l.AWS.CloudWatchMetrics[0]
			if l.AWS.Timestamp != 1795795500123 || d.Namespace != tc.wantNS || !reflect.DeepEqual(d.Dimensions, tc.wantDims) ||
				d.Metrics[0].Name != c.name || d.Metrics[0].Unit != c.unit {
				t.Errorf("directive %+v, want namespace %q, dimensions %v, metric %q in %q", l.AWS, tc.wantNS, tc.wantDims, c.name, c.unit)
			}
			if l.Members["Function"] != c.function || l.Members[c.name] != c.value {
				t.Errorf("members %v, want Function %q and %q: %v", l.Members, c.function, c.name, c.value)
			}
			for _, dim := range c.dims {
				if l.Members[dim.Name] != dim.Value {
					t.Errorf("member %q = %v, want %q", dim.Name, l.Members[dim.Name], dim.Value)
				}
			}
		})
	}
}

func TestPutSkipsValuesJSONCannotCarry(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		var buf bytes.Buffer
		(&metrics.EMF{W: &buf}).Put("M", v, metrics.Count)
		if buf.Len() != 0 {
			t.Errorf("Put(%v) wrote %s", v, buf.String())
		}
	}
}

// FuzzPut: whatever the names and the value, Put writes nothing (a value
// JSON cannot carry) or one EMF line that names the metric.
func FuzzPut(f *testing.F) {
	f.Add("ns", "ingest", "SignatureFailure", 1.0, "Count", "Reason", "signature_mismatch")
	f.Add(`n"s`, "in\\gest", "a\u2028b", 1e-7, "<&>", "\xff", "\x00")
	f.Add("", "", "M", math.Copysign(0, -1), "", "Reason", "")
	f.Fuzz(func(t *testing.T, ns, function, name string, value float64, unit, dimName, dimValue string) {
		valid := true
		for _, s := range []string{ns, function, name, unit, dimName, dimValue} {
			valid = valid && utf8.ValidString(s)
		}
		if !valid || name == "Function" || name == "_aws" || dimName == name || dimName == "_aws" {
			return // a name JSON cannot carry as given, or one that collides with another member
		}
		var buf bytes.Buffer
		e := &metrics.EMF{W: &buf, Namespace: ns, Function: function, Now: func() time.Time { return time.UnixMilli(1795795500123) }}
		e.Put(name, value, unit, metrics.Dim{Name: dimName, Value: dimValue})
		if math.IsNaN(value) || math.IsInf(value, 0) {
			if buf.Len() != 0 {
				t.Fatalf("Put(%v) wrote %s", value, buf.String())
			}
			return
		}
		l := readLine(t, buf.Bytes())
		if m := l.AWS.CloudWatchMetrics[0].Metrics[0]; m.Name != name || m.Unit != unit || l.Members[name] != value {
			t.Fatalf("line %s does not carry %q = %v in %q", buf.Bytes(), name, value, unit)
		}
	})
}

func TestPutConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	e := &metrics.EMF{W: &buf, Function: "ingest"}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				e.Count("Accepted", metrics.Dim{Name: "Worker", Value: strings.Repeat("w", i*20)})
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("want 400 lines, got %d", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("invalid line %q", l)
		}
	}
}

// TestPutLeavesOutEmptyDimensions: a dimension with an empty value would
// make CloudWatch drop the line; it is left out, the metric is kept.
func TestPutLeavesOutEmptyDimensions(t *testing.T) {
	var buf bytes.Buffer
	e := &metrics.EMF{W: &buf, Function: "processor"}
	dims := []metrics.Dim{{Name: "EventType", Value: ""}, {Name: "Kind", Value: "double_charge"}, {Name: "", Value: "x"}}
	e.Count("OrderAnomaly", dims...)
	var got struct {
		AWS struct {
			CloudWatchMetrics []struct{ Dimensions [][]string }
		} `json:"_aws"`
		EventType *string
		Kind      string
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if d := got.AWS.CloudWatchMetrics[0].Dimensions; fmt.Sprint(d) != "[[Function] [Function Kind]]" || got.EventType != nil || got.Kind != "double_charge" {
		t.Errorf("line %s", buf.String())
	}
	if dims[0].Value != "" || dims[1].Name != "Kind" || len(dims) != 3 {
		t.Errorf("the caller's dimensions changed: %v", dims)
	}
}
