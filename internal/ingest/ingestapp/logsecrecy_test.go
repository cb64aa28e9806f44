package ingestapp_test

import (
	"strings"
	"testing"
)

// secondSecret is configured beside secret, as during a rotation.
const secondSecret = "whsec_9c1e7a3b5d2f4068a1b3c5d7e9f02468"

// minLeak is the shortest run of a secret or signature that counts as a leak.
const minLeak = 16

// leakWindows returns every run of minLeak bytes of s (all of s when it is
// shorter, unless it is too short to mean anything), so that a log holding
// any 16 consecutive characters of a secret or a signature is caught, not
// only one holding its prefix.
func leakWindows(set map[string]string, s, what string) {
	if len(s) < minLeak {
		return
	}
	for i := 0; i+minLeak <= len(s); i++ {
		set[s[i:i+minLeak]] = what
	}
}

// signatureValues returns the value of every pair of a signature header
// other than t: the v1 values, and v0 or whatever else was sent.
func signatureValues(header string) []string {
	var out []string
	for pair := range strings.SplitSeq(header, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && key != "t" {
			out = append(out, val)
		}
	}
	return out
}

// TestLogsHoldNoSecretOrSignature runs every bad-input case, signature
// failures and errors included, through the wired handler and scans all it
// wrote, the JSON log and the EMF metric lines alike, for the configured
// secrets and for the signatures of every header sent.
func TestLogsHoldNoSecretOrSignature(t *testing.T) {
	s := newStack(t, map[string]string{"WEBHOOK_SECRETS": secret + "," + secondSecret})
	cases := badInputCases(t, s)
	runCases(t, s, cases)

	forbidden := map[string]string{}
	for _, sec := range []string{secret, secondSecret} {
		leakWindows(forbidden, sec, "a configured secret")
		leakWindows(forbidden, strings.TrimPrefix(sec, "whsec_"), "a configured secret")
	}
	sent := 0
	for _, tc := range cases {
		for k, v := range tc.ev.Headers {
			if !strings.EqualFold(k, "x-altafinex-signature") {
				continue
			}
			for _, val := range signatureValues(v) {
				leakWindows(forbidden, val, "a signature sent in case "+tc.name)
				sent++
			}
		}
	}
	if sent < 20 {
		t.Fatalf("only %d signature values collected from the cases", sent)
	}

	out := s.logs.String()
	// The scan must see both streams, or it proves nothing.
	if n := strings.Count(out, `"msg":"webhook delivery"`); n != len(cases) {
		t.Fatalf("%d delivery log lines for %d cases", n, len(cases))
	}
	if !strings.Contains(out, `"_aws"`) || !strings.Contains(out, `"SignatureFailure":1`) {
		t.Fatal("the EMF lines are missing from the captured output")
	}
	for i := 0; i+minLeak <= len(out); i++ {
		if what, ok := forbidden[out[i:i+minLeak]]; ok {
			line := out[strings.LastIndexByte(out[:i], '\n')+1:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Fatalf("the log holds 16+ characters of %s at offset %d:\n%s", what, i, line)
		}
	}
}
