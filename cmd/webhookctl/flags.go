package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// secretsEnv names the variable that holds comma-separated secrets when no
// --secret flag is given.
const secretsEnv = "WEBHOOK_SECRETS"

// errNoSecret reports that neither --secret nor WEBHOOK_SECRETS gave one.
var errNoSecret = fmt.Errorf("no secret: give --secret, set %s, or start the local stack (make run), whose secret the commands find in its state file", secretsEnv)

// withLocalSecret returns getenv, except that an empty WEBHOOK_SECRETS
// reads as the secret of the running local stack (its state file), when
// there is one.
func withLocalSecret(getenv func(string) string, env cmdEnv) func(string) string {
	return func(k string) string {
		v := getenv(k)
		if k != secretsEnv || strings.TrimSpace(v) != "" {
			return v
		}
		if st, err := env.localState(); err == nil {
			return st.Secret
		}
		return v
	}
}

// secretFlags collects repeated --secret flags. It never shows a value:
// the flag package prints String() in its help and Set's errors quote the
// value, so neither may reveal a secret.
type secretFlags []string

func (s *secretFlags) String() string { return "" }

func (s *secretFlags) Set(v string) error {
	if v == "" {
		return errors.New("empty secret")
	}
	*s = append(*s, v)
	return nil
}

// resolveSecrets returns the --secret values, or else the non-empty
// entries of WEBHOOK_SECRETS, as HMAC keys.
func resolveSecrets(flags secretFlags, getenv func(string) string) ([][]byte, error) {
	list := []string(flags)
	if len(list) == 0 {
		for _, s := range strings.Split(getenv(secretsEnv), ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
	}
	if len(list) == 0 {
		return nil, errNoSecret
	}
	out := make([][]byte, len(list))
	for i, s := range list {
		out[i] = []byte(s)
	}
	return out, nil
}

// parseAt reads --at: decimal Unix seconds, or now when empty.
func parseAt(s string, now func() time.Time) (time.Time, error) {
	if s == "" {
		return now(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want Unix seconds in decimal", s)
	}
	return time.Unix(n, 0), nil
}

// parseFlags parses args into fs, which must have no positional
// arguments. It returns -1 to go on, or the exit code to stop with.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "webhookctl %s: unexpected argument %q (the body is read from stdin)\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage
	}
	return -1
}

// usageError prints a usage problem and returns exitUsage.
func usageError(fs *flag.FlagSet, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "webhookctl %s: %v\n", fs.Name(), err)
	fs.Usage()
	return exitUsage
}
