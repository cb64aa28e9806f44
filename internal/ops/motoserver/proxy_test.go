package motoserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestProxyHoldsDynamoDBUntilAnswered is the regression test of the proxy
// that let the next DynamoDB request in as soon as a client gave up: moto
// still applied the abandoned request (a transaction, with its rollback by
// whole-table copies), and two writes ran at once, one of them lost. The
// upstream here takes 200 ms per request; clients give up after 20 ms; the
// upstream must never see two DynamoDB requests at once.
func TestProxyHoldsDynamoDBUntilAnswered(t *testing.T) {
	var inside, most atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inside.Add(1)
		defer inside.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
		_, _ = w.Write([]byte("{}"))
	}))
	t.Cleanup(upstream.Close)
	s := &Server{Direct: upstream.URL}
	if err := s.startProxy(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.proxy.Close() })

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader("{}"))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("X-Amz-Target", "DynamoDB_20120810.TransactWriteItems")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Second) // let the abandoned requests run out upstream
	if m := most.Load(); m != 1 {
		t.Errorf("the upstream ran %d DynamoDB requests at once, want 1", m)
	}
}
