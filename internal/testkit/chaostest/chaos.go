// Package chaostest holds the pieces of the chaos test, which proves the
// promises of the design under faults: nothing answered 2xx is lost, no
// event's effects are applied twice, and every effect reaches the outside
// world once, or more than once for a reason named and counted.
//
// The test (chaos_test.go, check_test.go) wires the real ingest and
// processor code, each under its IAM policy from template.yaml, to
// moto_server through toxiproxy, as deployed: the processor queues each
// customer email on the email queue, and serves that queue too through a
// second event source mapping (two pollers, each invocation in a sandbox
// of its own, pacing its SES requests), so that the emails the emulator's
// SES received are the sender's. This package provides what it drives and
// watches them with:
//
//   - Generate builds a random set of orders and their payment and refund
//     events, with every contradiction the design names (a payment announced
//     twice, a double charge, refund ids shared by two events, mixed
//     currencies, over-refunds, refunds of a foreign payment, equal created
//     times) and a few poison events whose handler panics until they are
//     dead-lettered; each event carries its fact for the oracle (package
//     oracle, the test's own model of the rules, which imports none of the
//     code under test);
//   - Provider delivers the events like Altafinex does: shuffled, concurrent,
//     some twice, every non-2xx answer retried with bounded backoff;
//   - Network puts toxiproxy proxies between the functions and DynamoDB,
//     SQS, SES and EventBridge, and toggles latency, timeouts, resets and
//     refused connections;
//   - HTTPClient is the functions' HTTP client: it plays Lambda's freeze
//     (nothing an invocation does after its deadline leaves the sandbox)
//     and records every request of a send;
//   - Recorder wraps the processor's handlers, events table, mailer (the
//     email queue) and publisher, and the email sender's SES mailer and
//     email deliveries (through processorapp's options), to record every
//     attempt, send, claim and SENT write, and injects faults on a fixed
//     schedule into each path: failures before a send, crashes after one,
//     panics, hangs until the handler's deadline and past the Lambda
//     deadline, and on the sender's SES requests permanent rejections and
//     throttles;
//   - Explain names the cause of each extra delivery of an effect,
//     the email sender's three among them.
//
// Run the small version with `go test ./internal/chaos/`, the full one with
// `make chaos` (CHAOS_EVENTS events).
package chaostest
