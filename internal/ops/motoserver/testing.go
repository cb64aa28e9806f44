package motoserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The helpers in this file are for tests only. They take the two small
// interfaces below rather than *testing.M and testing.TB (which satisfy
// them), so that package testing is not linked into the programs that use
// the rest of this package to run the emulator (webhookctl's local stack,
// mkevents): the linker drops these unused functions, and testing's flags
// and init never reach them.

// M is what RunTests needs of a *testing.M.
type M interface{ Run() int }

// TB is what TestConfig and UniqueName need of a testing.TB.
type TB interface {
	Helper()
	Fatal(args ...any)
	Name() string
}

// RunTests is a TestMain for packages whose tests need the emulator:
//
//	func TestMain(m *testing.M) { os.Exit(motoserver.RunTests(m)) }
//
// It reuses the emulator named by AWS_ENDPOINT_URL when one answers there;
// otherwise it starts moto_server on a free loopback port, sets
// AWS_ENDPOINT_URL and test credentials for the package's tests, and stops
// it afterwards. When no emulator can be had it fails the package with a
// clear message: tests never skip silently.
func RunTests(m M) int {
	ctx := context.Background()
	if ep := Endpoint(); ep != "" {
		if err := Ping(ctx, ep); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: AWS_ENDPOINT_URL=%s does not answer as moto_server: %v\n", ep, err)
			return 1
		}
		setTestEnv(ep)
		return m.Run()
	}
	srv, err := Start(ctx, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: these tests need moto_server and it could not be started: %v\n", err)
		return 1
	}
	defer srv.Stop()
	setTestEnv(srv.URL)
	return m.Run()
}

func setTestEnv(endpoint string) {
	os.Setenv(EndpointEnv, endpoint)
	os.Setenv("AWS_ACCESS_KEY_ID", "test")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	os.Setenv("AWS_REGION", Region)
}

// TestConfig returns an SDK configuration for the package's emulator, with
// the keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. It fails the
// test when RunTests did not set one up.
func TestConfig(t TB) aws.Config {
	t.Helper()
	ep := Endpoint()
	if ep == "" {
		t.Fatal("AWS_ENDPOINT_URL is not set: call motoserver.RunTests from TestMain")
	}
	cfg, err := AWSConfig(context.Background(), ep)
	if err != nil {
		t.Fatal(err)
	}
	// The keys the package's TestMain set up: test/test here, an admin's
	// under iamtest.RunTests (moto_server enforcing IAM).
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	}
	return cfg
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// UniqueName returns a table or queue name unique to this test, so tests
// sharing one emulator do not see each other's data.
func UniqueName(t TB, prefix string) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return strings.Trim(fmt.Sprintf("%s-%s-%s", prefix, name, hex.EncodeToString(b[:])), "-")
}
