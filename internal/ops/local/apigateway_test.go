package local_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/ingest/apigw"
	"github.com/altafinex-webhooks/receiver/internal/ops/local"
)

// receiver is an ingest.Receiver that records the request it is given and
// answers res.
type receiver struct {
	got ingest.Request
	res ingest.Result
}

func (r *receiver) Receive(_ context.Context, req ingest.Request) ingest.Result {
	r.got = req
	return r.res
}

// A request over HTTP reaches the ingest adapter as API Gateway would hand
// it over (a body that is not UTF-8 base64-encoded and decoded back byte
// for byte, headers found, the source IP), and the answer comes back.
func TestAPIGatewayConvertsRequestAndAnswer(t *testing.T) {
	rec := &receiver{res: ingest.Result{Outcome: ingest.Accepted, EventID: "evt_1"}}
	h := &apigw.Handler{Receiver: rec}
	srv := httptest.NewServer(local.APIGateway(h.Handle, 64))
	t.Cleanup(srv.Close)
	body := "{\"id\":\"evt_1\",\"x\":\"\xff\"}"
	req, _ := http.NewRequest("POST", srv.URL+"/api/webhooks/payment", strings.NewReader(body))
	req.Header.Set("X-Altafinex-Signature", "t=1,v1=ab")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(out), "accepted") {
		t.Fatalf("answer %d %s", resp.StatusCode, out)
	}
	if string(rec.got.Body) != body || rec.got.Signature != "t=1,v1=ab" || rec.got.Method != "POST" || rec.got.SourceIP != "127.0.0.1" {
		t.Errorf("the handler saw %+v", rec.got)
	}
}
