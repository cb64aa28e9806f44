package metrics_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

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

// legacyLine is the line Put wrote before it was hand-built: a map
// marshalled by encoding/json. Put must write the same bytes.
func legacyLine(ns, function string, ts int64, name string, value float64, unit string, dims ...metrics.Dim) []byte {
	if ns == "" {
		ns = metrics.DefaultNamespace
	}
	sets := [][]string{{"Function"}}
	line := map[string]any{"Function": function, name: value}
	for _, d := range dims {
		sets = append(sets, []string{"Function", d.Name})
		line[d.Name] = d.Value
	}
	line["_aws"] = map[string]any{
		"Timestamp": ts,
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  ns,
			"Dimensions": sets,
			"Metrics":    []any{map[string]string{"Name": name, "Unit": unit}},
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return nil
	}
	return append(b, '\n')
}

func TestPutMatchesEncodingJSON(t *testing.T) {
	type call struct {
		ns, function, name string
		value              float64
		unit               string
		dims               []metrics.Dim
	}
	tests := []struct {
		name string
		call call
	}{
		{"count", call{"", "ingest", "Accepted", 1, metrics.Count, nil}},
		{"latency", call{"Custom", "processor", "ProcessingLatency", 12.345, metrics.Milliseconds, nil}},
		{"one dim", call{"", "ingest", "SignatureFailure", 1, metrics.Count, []metrics.Dim{{"Reason", "signature_mismatch"}}}},
		{"two dims", call{"", "ingest", "M", 3, metrics.Count, []metrics.Dim{{"Zeta", "z"}, {"Alpha", "a"}}}},
		{"many dims", call{"", "ingest", "M", 3, metrics.Count, []metrics.Dim{{"D5", "5"}, {"D4", "4"}, {"D3", "3"}, {"D2", "2"}, {"D1", "1"}, {"D0", "0"}}}},
		{"repeated dim", call{"", "ingest", "M", 1, metrics.Count, []metrics.Dim{{"Reason", "a"}, {"Reason", "b"}}}},
		{"metric named Function", call{"", "ingest", "Function", 1, metrics.Count, nil}},
		{"dim named like metric", call{"", "ingest", "M", 1, metrics.Count, []metrics.Dim{{"M", "dim wins"}}}},
		{"dim named _aws", call{"", "ingest", "M", 1, metrics.Count, []metrics.Dim{{"_aws", "directive wins"}}}},
		{"lowercase sorts after _aws", call{"", "ingest", "accepted", 1, metrics.Count, []metrics.Dim{{"reason", "x"}}}},
		{"escapes", call{`n"s\`, "in\ngest<&>", "a\"b\\c\x01", 1, "u\u2028\u2029", []metrics.Dim{{"\xff\xfe", "v\t\b\f\r"}}}},
		{"empty strings", call{"", "", "", 0, "", []metrics.Dim{{"", ""}}}},
		{"negative zero", call{"", "f", "M", math.Copysign(0, -1), metrics.Count, nil}},
		{"tiny", call{"", "f", "M", 1e-7, metrics.Count, nil}},
		{"small", call{"", "f", "M", 0.000001, metrics.Count, nil}},
		{"huge", call{"", "f", "M", 1e21, metrics.Count, nil}},
		{"big", call{"", "f", "M", 123456789012345678901, metrics.Count, nil}},
		{"negative", call{"", "f", "M", -2.5e-300, metrics.Count, nil}},
		{"max", call{"", "f", "M", math.MaxFloat64, metrics.Count, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.call
			var buf bytes.Buffer
			e := &metrics.EMF{W: &buf, Namespace: c.ns, Function: c.function, Now: func() time.Time { return time.UnixMilli(1795795500123) }}
			e.Put(c.name, c.value, c.unit, c.dims...)
			// Put leaves out a dimension with an empty name or value.
			var kept []metrics.Dim
			for _, d := range c.dims {
				if d.Name != "" && d.Value != "" {
					kept = append(kept, d)
				}
			}
			want := legacyLine(c.ns, c.function, 1795795500123, c.name, c.value, c.unit, kept...)
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("Put wrote\n%s\nencoding/json writes\n%s", buf.Bytes(), want)
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

func TestPutReusesNoStaleBytes(t *testing.T) {
	var buf bytes.Buffer
	e := &metrics.EMF{W: &buf, Function: "ingest"}
	e.Count("AVeryLongMetricNameThatMakesTheFirstLineLonger", metrics.Dim{Name: "Reason", Value: strings.Repeat("r", 100)})
	e.Count("Short")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", buf.String())
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Errorf("invalid line %q", l)
		}
	}
	if strings.Contains(lines[1], "AVeryLong") || !strings.Contains(lines[1], `"Short":1`) {
		t.Errorf("second line %q", lines[1])
	}
}

func FuzzPutMatchesEncodingJSON(f *testing.F) {
	f.Add("ns", "ingest", "SignatureFailure", 1.0, "Count", "Reason", "signature_mismatch")
	f.Add(`n"s`, "in\\gest", "a\u2028b", 1e-7, "<&>", "\xff", "\x00")
	f.Add("", "", "Function", math.Copysign(0, -1), "", "_aws", "_aws")
	f.Fuzz(func(t *testing.T, ns, function, name string, value float64, unit, dimName, dimValue string) {
		var buf bytes.Buffer
		e := &metrics.EMF{W: &buf, Namespace: ns, Function: function, Now: func() time.Time { return time.UnixMilli(1795795500123) }}
		dim := metrics.Dim{Name: dimName, Value: dimValue}
		e.Put(name, value, unit, dim)
		want := legacyLine(ns, function, 1795795500123, name, value, unit, dim)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("Put wrote\n%s\nencoding/json writes\n%s", buf.Bytes(), want)
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
