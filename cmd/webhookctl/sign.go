package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const signUsage = `Usage: webhookctl sign [--secret S [--secret S2 ...]] [--at UNIX_SECONDS] < body

Prints the X-Altafinex-Signature header value (one line) for the raw body
read from stdin, byte for byte: t, then one v1 per secret, in order.

Exit status: 0 signed, 2 usage error or unreadable input.

Flags:
`

// runSign is the sign subcommand.
func runSign(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := osEnv(stdin, stdout, stderr)
	return signCmd(args, stdin, stdout, stderr, withLocalSecret(os.Getenv, env), time.Now)
}

func signCmd(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, now func() time.Time) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	var secretList secretFlags
	fs.Var(&secretList, "secret", "signing secret, whole string with its whsec_ prefix; repeat to sign with several (default: $"+secretsEnv+", else the running local stack's)")
	at := fs.String("at", "", "sign as of this Unix time in seconds (default: the clock)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), signUsage)
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	secrets, err := resolveSecrets(secretList, getenv)
	if err != nil {
		return usageError(fs, stderr, err)
	}
	when, err := parseAt(*at, now)
	if err != nil {
		return usageError(fs, stderr, err)
	}
	if when.Unix() < 0 {
		return usageError(fs, stderr, fmt.Errorf("--at %s: a signing time before 1970 gives a malformed header", *at))
	}
	body, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "webhookctl sign: read body from stdin: %v\n", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, signature.SignAll(secrets, when, body))
	return exitOK
}
