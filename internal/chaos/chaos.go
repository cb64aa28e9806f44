// Package chaos holds the pieces of the chaos test, which proves the two
// promises of the design under faults: nothing answered 2xx is lost, and no
// event's effects are applied twice.
//
// The test (chaos_test.go) wires the real ingest and processor code to
// moto_server through toxiproxy, and this package provides what it drives
// them with:
//
//   - Generate builds a random set of orders and their payment and refund
//     events, and Expected computes each order's final state from them with
//     the orders package (the model);
//   - Provider delivers the events like Altafinex does: shuffled, concurrent,
//     some twice, every non-2xx answer retried with bounded backoff;
//   - Network puts toxiproxy proxies between the functions and the emulator
//     and toggles latency, timeouts, resets and refused connections;
//   - Recorder wraps the processor's handlers, events table, orders table,
//     mailer and publisher (through processorapp's options) to record every
//     attempt and every real email and domain event, and to inject crashes
//     before and after a send.
//
// Run the small version with `go test ./internal/chaos/`, the full one with
// `make chaos` (CHAOS_EVENTS events).
package chaos
