// Package warm_test profiles a warm invocation of each function end to
// end, as the Lambda runs it: the invocation bytes through the handler
// that functions/<name> gives lambda.Start (wired by ingestapp and
// processorapp with a real SDK configuration), every AWS call made by the
// real SDK (serialisation, SigV4, HTTP) to moto_server behind a toxiproxy
// that adds 5 ms to each answer, the JSON log line and the EMF line
// formatted as in production (written to io.Discard).
//
//	go test -run '^$' -bench . -benchtime 400x -cpuprofile /tmp/warm.prof ./warm
//	go tool pprof -top -cum -ignore 'toxiproxy|motoserver' /tmp/warm.prof
//
// The proxy runs in this process: leave its frames out of the profile
// (-ignore) to see the function's own CPU.
package warm_test

import (
	"os"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }
