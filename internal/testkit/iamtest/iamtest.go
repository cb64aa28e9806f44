// Package iamtest runs the functions' tests under the exact IAM policies
// template.yaml gives them, so that a call outside a policy fails a test
// here instead of a deployment on AWS, and a policy cannot grow without a
// test using what it grants.
//
// RunTests (a TestMain) starts moto_server with IAM enforced and a proxy in
// front of it. The tests' own set-up and checks run with an admin's keys
// (the process's AWS_ACCESS_KEY_ID); a function gets the keys of an IAM
// user carrying its policy, as SAM translates it (Function, or ManagedPolicy
// for a managed policy of the template):
//
//	func TestMain(m *testing.M) { os.Exit(iamtest.RunTests(m)) }
//
//	cfg := iamtest.Function(t, "IngestFunction", getenv).Config(t)
//
// The policy is resolved with the template's default parameters and what
// the function's environment names: EVENTS_TABLE=events-x binds
// EventsTable, whose ARN then appears in the statements. Every call made
// with a function's keys is checked twice: by moto_server, which matches
// actions (and SQS resources), and by the proxy, which evaluates the
// template's statements themselves (resources of every service, condition
// keys such as ses:FromAddress). A call outside the policy is refused with
// a 403, as on AWS, and fails the test that made it, naming the action and
// the resource. See docs/least-privilege.md.
package iamtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// Option changes what RunTests checks.
type Option func(*options)

type options struct {
	exercised []string
	exempt    map[string]string // principal + " " + action → why no test can use it
}

// CheckExercised makes RunTests fail the package when, after a complete
// run (no -run or -skip), some action of a principal's own policies was
// never allowed to any of its calls: the reverse check, by which a policy
// cannot silently grow. AWS managed policies are reported, not required.
func CheckExercised(principals ...string) Option {
	return func(o *options) { o.exercised = append(o.exercised, principals...) }
}

// NotExercisable lets the reverse check of a principal pass without a test
// using action, for a reason the report prints: something the emulator
// cannot do (moto_server has no SQS message move tasks).
func NotExercisable(principal, action, reason string) Option {
	return func(o *options) {
		if o.exempt == nil {
			o.exempt = map[string]string{}
		}
		o.exempt[principal+" "+action] = reason
	}
}

// RunTests is a TestMain for packages whose tests run functions under their
// template policies. It translates template.yaml (the module root's), starts
// moto_server with IAM enforced and the harness's proxy, points
// AWS_ENDPOINT_URL at the proxy with the admin's keys in AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY, runs the tests, and then fails the package on
// a denial no test reported and on the reverse checks asked for. It always
// starts its own emulator (AWS_ENDPOINT_URL is ignored): the harness has to
// control it. Whatever is missing (python3 with the SAM translator,
// moto_server) fails the package with a clear message.
func RunTests(m *testing.M, opts ...Option) int {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "FAIL: iamtest: "+format+"\n", args...)
		return 1
	}
	root, err := moduleRoot()
	if err != nil {
		return fail("%v", err)
	}
	tpl, err := Translate(ctx, filepath.Join(root, "template.yaml"))
	if err != nil {
		return fail("%v", err)
	}
	for _, p := range o.exercised {
		if !slices.Contains(tpl.Principals(), p) {
			return fail("CheckExercised(%q): not a function or managed policy of template.yaml (%v)", p, tpl.Principals())
		}
	}
	srv, err := motoserver.Start(ctx, nil)
	if err != nil {
		return fail("these tests need moto_server and it could not be started: %v", err)
	}
	defer srv.Stop()
	h, err := startHarness(ctx, tpl, srv)
	if err != nil {
		return fail("%v", err)
	}
	defer h.close()
	adminKeys, err := h.admin.Credentials.Retrieve(ctx)
	if err != nil {
		return fail("%v", err)
	}
	os.Setenv(motoserver.EndpointEnv, h.url)
	os.Setenv("AWS_ACCESS_KEY_ID", adminKeys.AccessKeyID)
	os.Setenv("AWS_SECRET_ACCESS_KEY", adminKeys.SecretAccessKey)
	os.Setenv("AWS_REGION", Region)

	code := m.Run()
	if late := h.unreported(); len(late) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: iamtest: calls outside their policy, made after their test ended:")
		for _, d := range late {
			fmt.Fprintf(os.Stderr, "  %s (test %s)\n", d, d.Test)
		}
		code = 1
	}
	if len(o.exercised) > 0 {
		if !completeRun() {
			fmt.Fprintln(os.Stderr, "iamtest: -run or -skip given: the reverse check of", o.exercised, "needs the whole package and was not made")
		} else if !h.reportExercised(os.Stderr, o.exercised, o.exempt) {
			code = 1
		}
	}
	return code
}

// completeRun reports whether every test of the package was asked for.
func completeRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

// reportExercised writes, for each principal, which test first exercised
// each action of its policies, and the actions none did. It returns false
// when some action of the principal's own policies was never exercised.
func (h *harness) reportExercised(w io.Writer, principals []string, exempt map[string]string) bool {
	ok := true
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range principals {
		actions, err := h.tpl.Actions(p)
		if err != nil {
			fmt.Fprintf(w, "FAIL: iamtest: %v\n", err)
			ok = false
			continue
		}
		seen := h.exercised[p]
		var missing []string
		fmt.Fprintf(w, "iamtest: %s: the actions of its policies and the first test that used each:\n", p)
		for _, a := range actions {
			test, used := seen[a.String()]
			if why, ok := exempt[p+" "+a.Action]; !used && ok {
				test, used = "(not exercisable: "+why+")", true
			}
			if !used {
				missing = append(missing, a.String())
				test = "NOT EXERCISED"
			}
			fmt.Fprintf(w, "  %-60s %s\n", a, test)
		}
		managed, err := h.tpl.AWSManaged(p)
		if err != nil {
			fmt.Fprintf(w, "FAIL: iamtest: %v\n", err)
			ok = false
		}
		for _, name := range managed {
			for _, s := range awsManagedStatements(name) {
				for _, a := range s.Actions {
					ref := ActionRef{Policy: s.Policy, Sid: s.Sid, Action: a}
					test, used := seen[ref.String()]
					if !used {
						test = "(AWS managed: used by the Lambda service)"
					}
					fmt.Fprintf(w, "  %-60s %s\n", ref, test)
				}
			}
		}
		if len(missing) > 0 {
			ok = false
			fmt.Fprintf(w, "FAIL: iamtest: %s: no test exercised %s: take them out of template.yaml, or test what needs them\n", p, strings.Join(missing, "; "))
		}
	}
	return ok
}

// moduleRoot finds the directory of go.mod above the working directory
// (a test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Function returns the keys of a new IAM user carrying the policy of a
// function of template.yaml (its logical id, e.g. "IngestFunction"),
// resolved against what the function's environment names (getenv: its
// variables, as the function will read them). The test fails, naming the
// action and the resource, for every call made with them outside the
// policy. Call it from the test's goroutine; FunctionKeys from any.
func Function(t testing.TB, function string, getenv func(string) string) Keys {
	t.Helper()
	k, err := FunctionKeys(t, function, getenv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FunctionKeys is Function for goroutines other than the test's: it
// returns its error instead of ending the test.
func FunctionKeys(t testing.TB, function string, getenv func(string) string) (Keys, error) {
	var names []string
	if err := control(http.MethodGet, "variables?principal="+url.QueryEscape(function), nil, &names); err != nil {
		return Keys{}, err
	}
	env := map[string]string{}
	for _, n := range names {
		if v := getenv(n); v != "" {
			env[n] = v
		}
	}
	return newKeys(t, keysRequest{Principal: function, Env: env})
}

// ManagedPolicy returns the keys of a new IAM user carrying a managed
// policy of template.yaml (an AWS::IAM::ManagedPolicy's logical id),
// resolved with refs: the Ref value of each resource it names (a table's
// name, a queue's URL) and any parameter or pseudo parameter
// (AWS::StackName) to set. Calls outside it fail the test as Function's do.
func ManagedPolicy(t testing.TB, policy string, refs map[string]string) Keys {
	t.Helper()
	k, err := newKeys(t, keysRequest{Principal: policy, Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newKeys asks the harness for keys and registers the report of their
// denials at the end of the test.
func newKeys(t testing.TB, req keysRequest) (Keys, error) {
	req.Test = t.Name()
	body, err := json.Marshal(req)
	if err != nil {
		return Keys{}, err
	}
	var keys Keys
	if err := control(http.MethodPost, "keys", body, &keys); err != nil {
		return Keys{}, err
	}
	t.Cleanup(func() {
		var denials []Denial
		if err := control(http.MethodGet, "denials?key="+url.QueryEscape(keys.AccessKeyID), nil, &denials); err != nil {
			t.Error(err)
		}
		for _, d := range denials {
			t.Errorf("iamtest: %s", d)
		}
	})
	return keys, nil
}

// control calls the harness's API at AWS_ENDPOINT_URL.
func control(method, path string, body []byte, into any) error {
	ep := motoserver.Endpoint()
	if ep == "" {
		return errors.New("iamtest: AWS_ENDPOINT_URL is not set: call iamtest.RunTests from TestMain")
	}
	req, err := http.NewRequest(method, strings.TrimRight(ep, "/")+controlPrefix+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("iamtest: %w (is iamtest.RunTests the package's TestMain?)", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("iamtest: %s: %s (is iamtest.RunTests the package's TestMain?)", resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("iamtest: %s: %w", path, err)
	}
	return nil
}

// Config returns an SDK configuration that signs with the keys and reaches
// the harness (AWS_ENDPOINT_URL), like motoserver.TestConfig. Per-service
// endpoint variables (AWS_ENDPOINT_URL_SQS, …) still win.
func (k Keys) Config(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := k.AWSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// AWSConfig is Config for goroutines other than the test's.
func (k Keys) AWSConfig() (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, "")),
	)
	if err != nil {
		return aws.Config{}, err
	}
	cfg.BaseEndpoint = aws.String(motoserver.Endpoint())
	return cfg, nil
}

// Env returns a copy of env in which a process (a bootstrap under the
// Runtime Interface Emulator) signs with the keys and reaches the harness.
func (k Keys) Env(env map[string]string) map[string]string {
	out := maps.Clone(env)
	if out == nil {
		out = map[string]string{}
	}
	out[motoserver.EndpointEnv] = motoserver.Endpoint()
	out["AWS_ACCESS_KEY_ID"] = k.AccessKeyID
	out["AWS_SECRET_ACCESS_KEY"] = k.SecretAccessKey
	out["AWS_REGION"] = Region
	out["AWS_DEFAULT_REGION"] = Region
	delete(out, "AWS_SESSION_TOKEN")
	return out
}
