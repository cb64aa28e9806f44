// Package process is the processor's domain: it claims each queued webhook
// event in the events table, dispatches it on its type to one registered
// Handler, and records the outcome.
//
// # Claim
//
// Every message is claimed first (status PROCESSING, a random token and a
// lease). A record that is already PROCESSED, FAILED, IGNORED or REJECTED is
// a duplicate delivery and is acknowledged without effect; one that another
// delivery holds under a live lease is reported failed, so that SQS brings it
// back after the visibility timeout. A missing record (a replayed or
// redriven message whose record expired) is created by the claim.
//
// # Steps
//
// A handler runs its effects as named steps through Steps.Run ("order",
// "email", "event" for the built-in handlers). Steps completed by an earlier
// attempt of the same event (the claimed record's Steps) are skipped. On the
// happy path nothing is written between the claim and the final status: the
// final write carries the completed steps. When a step fails after earlier
// steps completed, the RETRYING (or FAILED) record carries the steps that did
// complete, so that the retry resumes after the last completed step and, for
// instance, does not send the email twice. One write (the final status)
// records both, rather than a separate checkpoint after each step: a
// checkpoint would cost a write per step on every event, and it would not
// close the window it is meant to close (a crash between a send and its
// checkpoint still repeats the send). What does close the window that
// matters, a final write lost after the effects, is that the handler stops
// FinishMargin before the invocation's deadline and that the final write is
// tried again (it is conditioned on the attempt's token, so a repeat is
// safe).
//
// # Notes
//
// A handler records a problem it got past with Steps.Note (an email that can
// never be sent, an anomaly of the order): the note is kept on the event
// record, logged, and returned in the Result for the adapter to count.
//
// # Panics
//
// A panic in a handler is recovered: it is that record's transient failure
// (RETRYING, ErrPanic, the stack in the log), with the steps completed before
// it recorded; the other records of the batch finish normally.
//
// # Outcomes
//
//   - success: PROCESSED with the time taken; the message is acknowledged.
//   - transient error (anything not known to be permanent: throttling,
//     timeouts, 5xx, network errors): RETRYING with the error; the message
//     is reported failed and comes back; after maxReceiveCount deliveries SQS
//     moves it to the dead-letter queue.
//   - permanent error (an error marked with Permanent, such as a payload
//     that does not parse or has no metadata.order_id, or one that the
//     processor's IsPermanent classifier recognises): FAILED with the reason
//     and the raw body; the message is acknowledged and the record stays for
//     a replay once the cause is fixed.
//   - an event type with no registered handler: acknowledged and recorded
//     FAILED (ErrNoHandler) with its body, so that it can be replayed once a
//     handler exists. (Ingest only queues subscribed types, so this is a
//     deployment whose subscription list and handlers disagree.)
//   - a message whose body is not an event envelope and whose attributes do
//     not name the event: recorded FAILED under the body's SHA-256
//     ("sha256:<hex>"), acknowledged.
//   - the final write itself fails, every try: the message is reported
//     failed; the lease expires and a redelivery claims the event again.
//
// Records of one batch are processed concurrently, at most MaxConcurrency at
// a time.
package process
