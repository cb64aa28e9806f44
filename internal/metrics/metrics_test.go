package metrics_test

import (
	"bytes"
	"encoding/json"
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
