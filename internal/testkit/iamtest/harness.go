package iamtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/altafinex-webhooks/receiver/internal/ops/motoserver"
)

// controlPrefix is the path under which the proxy serves the harness's own
// API; every other path goes to moto_server.
const controlPrefix = "/_iamtest/"

// Denial is a call a principal made outside its policy.
type Denial struct {
	Principal string   `json:"principal"`
	Test      string   `json:"test"`
	Action    string   `json:"action"`
	Resources []string `json:"resources"`
	// By says who refused it: "template.yaml" (the harness, which
	// evaluates the template's own statements) or "moto_server".
	By     string `json:"by"`
	Detail string `json:"detail,omitempty"`
}

func (d Denial) String() string {
	res := strings.Join(d.Resources, ", ")
	if res == "" {
		res = "*"
	}
	switch {
	case d.By == "moto_server":
		return fmt.Sprintf("%s called %s on %s: moto_server refused it under the policy of template.yaml (%s)", d.Principal, d.Action, res, d.Detail)
	case d.Detail != "":
		return fmt.Sprintf("%s made a call outside what iamtest can check: %s", d.Principal, d.Detail)
	default:
		return fmt.Sprintf("%s called %s on %s, which its policy in template.yaml does not allow", d.Principal, d.Action, res)
	}
}

// session is one IAM user the harness made for one test.
type session struct {
	principal string
	test      string
	policy    Policy
	denials   []Denial
	reported  int
}

// harness is a proxy in front of an IAM-enforcing moto_server. Calls signed
// with the admin key pass through; calls signed with a principal's key are
// evaluated against the principal's statements first (resources and
// conditions included, which moto does not check), refused with a 403 when
// outside them, and recorded either way.
type harness struct {
	tpl      *Template
	upstream string // moto_server (through motoserver's DynamoDB-serialising proxy)
	adminKey string
	admin    aws.Config // admin credentials, straight to upstream
	iam      *iam.Client
	sm       *secretsmanager.Client
	proxy    *httputil.ReverseProxy
	server   *http.Server
	url      string

	mu        sync.Mutex
	sessions  map[string]*session          // by access key id
	exercised map[string]map[string]string // principal → ActionRef.String() → first test
	users     int
}

// adminPolicy lets the harness's own user do anything: the tests' set-up
// and checks run with it.
const adminPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// startHarness makes srv enforce IAM and starts the proxy in front of it.
// Before it does, moto serves unsigned requests: the admin user is made
// then.
func startHarness(ctx context.Context, tpl *Template, srv *motoserver.Server) (*harness, error) {
	h := &harness{tpl: tpl, upstream: srv.URL, sessions: map[string]*session{}, exercised: map[string]map[string]string{}}
	anon, err := motoserver.AWSConfig(ctx, srv.URL)
	if err != nil {
		return nil, err
	}
	key, err := createUser(ctx, iam.NewFromConfig(anon), "iamtest-admin", map[string]string{"admin": adminPolicy})
	if err != nil {
		return nil, fmt.Errorf("create the admin user: %w", err)
	}
	if err := enforceIAM(ctx, srv.Direct); err != nil {
		return nil, err
	}
	h.adminKey = key.AccessKeyID
	h.admin = anon.Copy()
	h.admin.Credentials = credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")
	h.iam = iam.NewFromConfig(h.admin)
	h.sm = secretsmanager.NewFromConfig(h.admin)

	target, err := url.Parse(srv.URL)
	if err != nil {
		return nil, err
	}
	h.proxy = httputil.NewSingleHostReverseProxy(target)
	h.proxy.ErrorLog = log.New(io.Discard, "", 0) // clients that give up mid-call (faults) are no news
	h.proxy.ModifyResponse = h.watchResponse
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the iamtest proxy: %w", err)
	}
	h.url = "http://" + ln.Addr().String()
	h.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.server.Serve(ln) }()
	return h, nil
}

// enforceIAM switches a running moto_server to authorize every later
// request against the caller's IAM policies.
func enforceIAM(ctx context.Context, direct string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(direct, "/")+"/moto-api/reset-auth", strings.NewReader("0"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("enable IAM in moto_server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("enable IAM in moto_server: %s: %s", resp.Status, b)
	}
	return nil
}

// Keys are the access keys of an IAM user of the harness's moto_server.
type Keys struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	User            string `json:"user"`
}

// createUser makes an IAM user with inline policies (name → document) and
// returns its keys.
func createUser(ctx context.Context, client *iam.Client, name string, policies map[string]string) (Keys, error) {
	if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		return Keys{}, err
	}
	names := make([]string, 0, len(policies))
	for n := range policies {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if _, err := client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{
			UserName: aws.String(name), PolicyName: aws.String(n), PolicyDocument: aws.String(policies[n]),
		}); err != nil {
			return Keys{}, fmt.Errorf("policy %s: %w", n, err)
		}
	}
	out, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return Keys{}, err
	}
	return Keys{AccessKeyID: aws.ToString(out.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey), User: name}, nil
}

func (h *harness) close() {
	if h.server != nil {
		_ = h.server.Close()
	}
}

// SecretARN implements Lookups with the admin's keys.
func (h *harness) SecretARN(ctx context.Context, id string) (string, error) {
	out, err := h.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ARN), nil
}

// ServeHTTP is the proxy: the control API, or a call to moto_server.
func (h *harness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		h.control(w, r)
		return
	}
	s, ok := parseAuth(r.Header)
	h.mu.Lock()
	sess := h.sessions[s.KeyID]
	h.mu.Unlock()
	if !ok || sess == nil {
		h.proxy.ServeHTTP(w, r) // the admin, or unsigned: moto decides
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	call, free, err := describe(r.Context(), r, body, s, h)
	if err != nil {
		h.deny(w, sess, Denial{Action: s.Service + ":?", By: "template.yaml", Detail: err.Error()})
		return
	}
	if !free {
		d := sess.policy.Evaluate(call)
		if !d.Allowed {
			h.deny(w, sess, Denial{Action: call.Action, Resources: d.Refused, By: "template.yaml"})
			return
		}
		h.noteExercised(sess, d.Matched)
	}
	h.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callKey{}, callNote{sess: sess, call: call})))
}

type callKey struct{}

type callNote struct {
	sess *session
	call Call
}

// watchResponse records moto_server's own refusals of a principal's calls.
func (h *harness) watchResponse(resp *http.Response) error {
	note, ok := resp.Request.Context().Value(callKey{}).(callNote)
	if !ok || resp.StatusCode != http.StatusForbidden {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return err
	}
	h.record(note.sess, Denial{Action: note.call.Action, Resources: note.call.Resources, By: "moto_server", Detail: motoMessage(body)})
	return nil
}

// motoMessage extracts the message of moto's XML error.
func motoMessage(body []byte) string {
	s := string(body)
	if _, rest, ok := strings.Cut(s, "<Message>"); ok {
		msg, _, _ := strings.Cut(rest, "</Message>")
		return msg
	}
	return strings.TrimSpace(s)
}

// deny answers a refused call as AWS would (403 AccessDeniedException) and
// records it.
func (h *harness) deny(w http.ResponseWriter, sess *session, d Denial) {
	d = h.record(sess, d)
	body, _ := json.Marshal(map[string]string{"__type": "AccessDeniedException", "message": d.String()})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
	// DynamoDB's clients check the body against this checksum.
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(body)
}

func (h *harness) record(sess *session, d Denial) Denial {
	h.mu.Lock()
	defer h.mu.Unlock()
	d.Principal, d.Test = sess.principal, sess.test
	sess.denials = append(sess.denials, d)
	return d
}

func (h *harness) noteExercised(sess *session, refs []ActionRef) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.exercised[sess.principal]
	if m == nil {
		m = map[string]string{}
		h.exercised[sess.principal] = m
	}
	for _, ref := range refs {
		if _, seen := m[ref.String()]; !seen {
			m[ref.String()] = sess.test
		}
	}
}

// keysRequest asks the control API for a principal's keys.
type keysRequest struct {
	Principal string            `json:"principal"`
	Test      string            `json:"test"`
	Env       map[string]string `json:"env,omitempty"`  // a function's environment
	Refs      map[string]string `json:"refs,omitempty"` // logical id → Ref value
}

// control serves the harness's API:
//
//	GET  /_iamtest/variables?principal=F  the environment variables of function F
//	POST /_iamtest/keys                     keys carrying a principal's policy (keysRequest)
//	GET  /_iamtest/denials?key=K            the denials of key K not reported yet
func (h *harness) control(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, err error) { http.Error(w, err.Error(), code) }
	switch strings.TrimPrefix(r.URL.Path, controlPrefix) {
	case "variables":
		vars, err := h.tpl.Variables(r.URL.Query().Get("principal"))
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		names := make([]string, 0, len(vars))
		for n := range vars {
			names = append(names, n)
		}
		slices.Sort(names)
		writeJSON(w, names)
	case "keys":
		var req keysRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		keys, err := h.newKeys(r.Context(), req)
		if err != nil {
			fail(http.StatusBadRequest, err)
			return
		}
		writeJSON(w, keys)
	case "denials":
		writeJSON(w, h.takeDenials(r.URL.Query().Get("key")))
	default:
		fail(http.StatusNotFound, errors.New("no such iamtest call"))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// newKeys resolves a principal's policy under the request's bindings and
// makes an IAM user carrying it.
func (h *harness) newKeys(ctx context.Context, req keysRequest) (Keys, error) {
	res := newResolver(ctx, h.tpl, h)
	for id, v := range req.Refs {
		if err := res.bind(id, v); err != nil {
			return Keys{}, err
		}
	}
	if req.Env != nil {
		vars, err := h.tpl.Variables(req.Principal)
		if err != nil {
			return Keys{}, err
		}
		if err := res.bindEnv(vars, func(k string) string { return req.Env[k] }); err != nil {
			return Keys{}, fmt.Errorf("%s's environment: %w", req.Principal, err)
		}
	}
	pol, err := res.policy(req.Principal)
	if err != nil {
		return Keys{}, err
	}
	doc, err := motoDocument(pol.Statements)
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", req.Principal, err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return Keys{}, err
	}
	h.mu.Lock()
	h.users++
	name := fmt.Sprintf("iamtest-%d-%s", h.users, req.Principal)
	h.mu.Unlock()
	if len(name) > 64 {
		name = name[:64]
	}
	keys, err := createUser(ctx, h.iam, name, map[string]string{req.Principal: string(b)})
	if err != nil {
		return Keys{}, fmt.Errorf("create the IAM user of %s: %w", req.Principal, err)
	}
	h.mu.Lock()
	h.sessions[keys.AccessKeyID] = &session{principal: req.Principal, test: req.Test, policy: pol}
	h.mu.Unlock()
	return keys, nil
}

func (h *harness) takeDenials(key string) []Denial {
	h.mu.Lock()
	defer h.mu.Unlock()
	sess := h.sessions[key]
	if sess == nil {
		return nil
	}
	out := slices.Clone(sess.denials[sess.reported:])
	sess.reported = len(sess.denials)
	return out
}

// unreported returns the denials no test has reported (they came after
// their test ended).
func (h *harness) unreported() []Denial {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Denial
	for _, s := range h.sessions {
		out = append(out, s.denials[s.reported:]...)
	}
	return out
}
