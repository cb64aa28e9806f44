package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/altafinex-webhooks/receiver/internal/signature"
)

const verifyUsage = `Usage: webhookctl verify --secret S [--secret S2 ...] --header VALUE [--tolerance 300s] [--at UNIX_SECONDS] < body

Checks an X-Altafinex-Signature header against the raw body read from stdin
(byte for byte, nothing trimmed). Prints the outcome (valid, missing_header,
malformed_header, timestamp_out_of_tolerance, signature_mismatch) as the
first word, then what was checked. A pasted "X-Altafinex-Signature: ..."
line is accepted as the header value.

Exit status: 0 valid, 1 not valid, 2 usage error or unreadable input.

Flags:
`

// runVerify is the verify subcommand.
func runVerify(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := osEnv(stdin, stdout, stderr)
	return verifyCmd(args, stdin, stdout, stderr, withLocalSecret(os.Getenv, env), time.Now)
}

func verifyCmd(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, now func() time.Time) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var secretList secretFlags
	fs.Var(&secretList, "secret", "signing secret, whole string with its whsec_ prefix; repeat for a rotation (default: $"+secretsEnv+", else the running local stack's)")
	header := fs.String("header", "", "the "+signature.HeaderName+" header value (required; may be empty)")
	tolerance := fs.Duration("tolerance", signature.DefaultTolerance, "how far the signing time may be from now")
	at := fs.String("at", "", "verify as if now were this Unix time in seconds (default: the clock)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), verifyUsage)
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	headerGiven := false
	fs.Visit(func(f *flag.Flag) { headerGiven = headerGiven || f.Name == "header" })
	if !headerGiven {
		return usageError(fs, stderr, errors.New("--header is required (give --header '' to test a missing header)"))
	}
	if *tolerance <= 0 {
		return usageError(fs, stderr, fmt.Errorf("--tolerance %v: want a positive duration", *tolerance))
	}
	secrets, err := resolveSecrets(secretList, getenv)
	if err != nil {
		return usageError(fs, stderr, err)
	}
	when, err := parseAt(*at, now)
	if err != nil {
		return usageError(fs, stderr, err)
	}
	body, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "webhookctl verify: read body from stdin: %v\n", err)
		return exitUsage
	}

	value := stripHeaderName(*header)
	v := &signature.Verifier{Secrets: secrets, Tolerance: *tolerance, Now: func() time.Time { return when }}
	err = v.Verify(value, body)
	fmt.Fprintln(stdout, signature.Outcome(err))
	if err == nil {
		explainValid(stdout, value, body, v, when)
		return exitOK
	}
	explainFailure(stdout, err, *tolerance)
	return exitFail
}

// stripHeaderName removes a leading "X-Altafinex-Signature:" (any case),
// as left by pasting a whole header line.
func stripHeaderName(v string) string {
	trimmed := strings.TrimSpace(v)
	name := signature.HeaderName + ":"
	if len(trimmed) >= len(name) && strings.EqualFold(trimmed[:len(name)], name) {
		return trimmed[len(name):]
	}
	return v
}

// explainFailure prints which check failed and what was known by then.
func explainFailure(w io.Writer, err error, tolerance time.Duration) {
	var verr *signature.VerifyError
	if !errors.As(err, &verr) {
		fmt.Fprintln(w, err)
		return
	}
	switch {
	case errors.Is(err, signature.ErrMissingHeader):
		fmt.Fprintln(w, verr.Detail)
	case errors.Is(err, signature.ErrMalformedHeader):
		fmt.Fprintf(w, "the header does not parse: %s\n", verr.Detail)
	case errors.Is(err, signature.ErrTimestampOutOfTolerance):
		fmt.Fprintf(w, "t=%d: %s\n", verr.Timestamp, verr.Detail)
		fmt.Fprintln(w, "the signature was not checked")
	case errors.Is(err, signature.ErrSignatureMismatch):
		fmt.Fprintln(w, verr.Detail)
		fmt.Fprintf(w, "t=%d: %s\n", verr.Timestamp, signature.DescribeAge(verr.Age, tolerance))
	default:
		fmt.Fprintln(w, verr.Detail)
	}
}

// explainValid prints which secret and which v1 entry matched, found by
// verifying each pair on its own, and the signature's age.
func explainValid(w io.Writer, value string, body []byte, v *signature.Verifier, when time.Time) {
	h, err := signature.ParseHeader(value)
	if err != nil { // cannot happen: Verify accepted it
		return
	}
	fmt.Fprintf(w, "t=%d: %s\n", h.Timestamp, signature.DescribeAge(time.Duration(when.Unix()-h.Timestamp)*time.Second, v.Tolerance))
	for i, secret := range v.Secrets {
		for j, v1 := range h.V1 {
			one := &signature.Verifier{Secrets: [][]byte{secret}, Tolerance: v.Tolerance, Now: v.Now}
			if one.Verify("t="+h.RawTimestamp+",v1="+v1, body) == nil {
				fmt.Fprintf(w, "v1 entry %d of %d matches under secret %d of %d\n", j+1, len(h.V1), i+1, len(v.Secrets))
				return
			}
		}
	}
}
