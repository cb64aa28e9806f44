// Command webhookctl is the operator's tool for the Altafinex webhook
// receiver: it signs and verifies X-Altafinex-Signature headers, and (in
// the subcommands listed by its usage text) runs the receiver locally and
// inspects, replays and redrives events.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit codes shared by every subcommand.
const (
	exitOK    = 0 // success (for verify: the signature is valid)
	exitFail  = 1 // the command ran and the answer is negative
	exitUsage = 2 // bad flags or arguments, or unreadable input
)

const usageText = `webhookctl: operate the Altafinex webhook receiver.

Usage:
  webhookctl <command> [flags]

Commands:
  verify   check an X-Altafinex-Signature header against a body on stdin
  sign     print an X-Altafinex-Signature header for a body on stdin
  local    run the receiver on this machine against an AWS emulator
  send     sign and POST a realistic test event (or a file) to a webhook URL
  connect  store a deployed stack's signing secret (from stdin), print its URL, send a test event
  events   show an event's record (get ID) or list events, newest first (list)
  orders   show an order and its timeline (get ID) or list orders (list)
  replay   put FAILED (or IGNORED) events back on the queue (by id, or --status)
  dlq      peek at the dead-letter queue, or redrive it to the events queue (--email: the email queue's)

Run "webhookctl <command> -h" for a command's flags. Secrets come from
--secret flags, else from WEBHOOK_SECRETS (comma-separated), else from the
state file of the running local stack (make run). Secrets are never printed.
`

// run dispatches to a subcommand and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "verify":
		return runVerify(rest, stdin, stdout, stderr)
	case "sign":
		return runSign(rest, stdin, stdout, stderr)
	case "local":
		return runLocal(rest, stdin, stdout, stderr)
	case "send":
		return runSend(rest, stdin, stdout, stderr)
	case "connect":
		return runConnect(rest, stdin, stdout, stderr)
	case "events":
		return runEvents(rest, stdin, stdout, stderr)
	case "orders":
		return runOrders(rest, stdin, stdout, stderr)
	case "replay":
		return runReplay(rest, stdin, stdout, stderr)
	case "dlq":
		return runDLQ(rest, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		fmt.Fprintf(stderr, "webhookctl: unknown command %q\n\n%s", cmd, usageText)
		return exitUsage
	}
}
