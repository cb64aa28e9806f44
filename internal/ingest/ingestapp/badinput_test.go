package ingestapp_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/ingest"
	"github.com/altafinex-webhooks/receiver/internal/signature"
)

// effect is what one delivery must leave behind in the table and the queue.
type effect int

const (
	writesNothing  effect = iota // no record, no message
	writesRejected               // one REJECTED record keyed sha256:<hash of the body>
	writesIgnored                // one IGNORED record keyed by the event id, with the body
	writesAccepted               // one RECEIVED record and one message
)

// badCase is one delivery and the answer and effects it must have.
type badCase struct {
	name   string
	ev     events.APIGatewayV2HTTPRequest
	status int
	field  string // "status" or "error"
	value  string // the outcome named in the answer
	effect effect
	body   []byte // the decoded body: what a REJECTED record holds
	id     string // the event id of an IGNORED or accepted event
}

// setField returns the sample body with key set to the raw JSON value raw;
// an empty raw removes the key.
func setField(t *testing.T, body []byte, key, raw string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// badInputCases is the table of bad (and a few good) deliveries. Signed
// cases are signed with secret at s.now unless the case is about the
// signature.
func badInputCases(t *testing.T, s *stack) []badCase {
	t.Helper()
	base := sample(t, "payment.succeeded.json")
	now := s.now
	sign := func(b []byte) string { return signature.Sign([]byte(secret), now, b) }
	hdr := func(v string) map[string]string {
		return map[string]string{"x-altafinex-signature": v, "content-type": "application/json"}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	good := sign(base)
	v1 := good[strings.Index(good, "v1=")+3:]
	sha1v1 := func() string {
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(base)
		return hex.EncodeToString(m.Sum(nil))
	}()

	// post builds a POST of body with the signature header value sig.
	post := func(body []byte, sig string) events.APIGatewayV2HTTPRequest {
		return s.request(body, hdr(sig))
	}
	signed := func(body []byte) events.APIGatewayV2HTTPRequest { return post(body, sign(body)) }
	withMethod := func(ev events.APIGatewayV2HTTPRequest, m string) events.APIGatewayV2HTTPRequest {
		ev.RequestContext.HTTP.Method = m
		ev.RouteKey = m + " /api/webhooks/payment"
		return ev
	}
	b64 := func(ev events.APIGatewayV2HTTPRequest, encoded string) events.APIGatewayV2HTTPRequest {
		ev.Body, ev.IsBase64Encoded = encoded, true
		return ev
	}
	unauthorized := func(name string, header map[string]string) badCase {
		return badCase{name: name, ev: s.request(base, header), status: 401, field: "error", value: string(ingest.InvalidSignature)}
	}
	rejected := func(name string, body []byte, ev events.APIGatewayV2HTTPRequest) badCase {
		return badCase{name: name, ev: ev, status: 200, field: "status", value: string(ingest.Rejected), effect: writesRejected, body: body}
	}
	rejectedSigned := func(name string, body []byte) badCase { return rejected(name, body, signed(body)) }

	huge := []byte(`{"pad":"` + strings.Repeat("x", ingest.DefaultMaxBody+1-len(`{"pad":""}`)) + `"}`)
	deep := []byte(`{"id":"evt_deep","type":"payment.succeeded","created":1795795200,"livemode":false,"data":` +
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
	notUTF8 := bytes.Replace(setField(t, base, "id", `"evt_latin1"`), []byte("Jane Doe"), []byte("Ren\xe9e Doe"), 1)
	dupID := []byte(`{"id":"evt_a","id":"evt_b","type":"payment.succeeded","created":1795795200,"livemode":false}`)
	bom := append([]byte("\xef\xbb\xbf"), setField(t, base, "id", `"evt_bom"`)...)
	unknownType := setField(t, setField(t, base, "id", `"evt_unknown_type"`), "type", `"payment.disputed"`)
	live := setField(t, setField(t, base, "id", `"evt_live"`), "livemode", "true")
	control := setField(t, base, "id", `"evt_control"`)
	uffff := bytes.Replace(setField(t, base, "id", `"evt_uffff"`), []byte("Jane Doe"), []byte("Jane \uffff Doe"), 1)
	if !bytes.Contains(uffff, []byte("\xef\xbf\xbf")) {
		t.Fatal("the U+FFFF body holds no raw U+FFFF")
	}
	nul := bytes.Replace(setField(t, base, "id", `"evt_nul"`), []byte("Jane Doe"), []byte(`Jane \u0000 Doe`), 1)
	enormous := "t=" + ts + ",v1=" + strings.Repeat("a", 1<<20)
	manyV1 := "t=" + ts + strings.Repeat(",v1="+strings.Repeat("0", 64), 10000)

	return []badCase{
		// Methods: refused before anything else.
		{name: "GET", ev: withMethod(signed(base), "GET"), status: 405, field: "error", value: string(ingest.MethodNotAllowed)},
		{name: "PUT", ev: withMethod(signed(base), "PUT"), status: 405, field: "error", value: string(ingest.MethodNotAllowed)},
		{name: "DELETE", ev: withMethod(signed(base), "DELETE"), status: 405, field: "error", value: string(ingest.MethodNotAllowed)},
		{name: "lower-case post", ev: withMethod(signed(base), "post"), status: 405, field: "error", value: string(ingest.MethodNotAllowed)},

		// No body.
		{name: "no body, unsigned", ev: s.request(nil, map[string]string{"content-type": "application/json"}), status: 401, field: "error", value: string(ingest.InvalidSignature)},
		rejectedSigned("no body, signed", []byte{}),

		// Size.
		{name: "body one byte over the limit", ev: signed(huge), status: 413, field: "error", value: string(ingest.PayloadTooLarge)},
		{name: "body one byte over the limit, unsigned", ev: s.request(huge, nil), status: 413, field: "error", value: string(ingest.PayloadTooLarge)},

		// Signed bodies that are not an envelope.
		rejectedSigned("truncated JSON", base[:len(base)-10]),
		rejectedSigned("JSON array", []byte(`[{"id":"evt_1","type":"payment.succeeded","created":1795795200,"livemode":false}]`)),
		rejectedSigned("JSON string", []byte(`"evt_3PqL8fA1x9Kd2mZ0"`)),
		rejectedSigned("JSON number", []byte(`42`)),
		rejectedSigned("JSON null", []byte(`null`)),
		rejectedSigned("missing id", setField(t, base, "id", "")),
		rejectedSigned("empty id", setField(t, base, "id", `""`)),
		rejectedSigned("missing type", setField(t, base, "type", "")),
		rejectedSigned("empty type", setField(t, base, "type", `""`)),
		rejectedSigned("type not a string", setField(t, base, "type", `42`)),
		rejectedSigned("id not a string", setField(t, base, "id", `{"v":"evt_1"}`)),
		rejectedSigned("id too long", setField(t, base, "id", `"evt_`+strings.Repeat("x", 252)+`"`)),
		rejectedSigned("created as a string", setField(t, base, "created", `"1795795200"`)),
		rejectedSigned("created negative", setField(t, base, "created", `-1`)),
		rejectedSigned("created a fraction", setField(t, base, "created", `1795795200.5`)),
		rejectedSigned("livemode as a string", setField(t, base, "livemode", `"false"`)),
		rejected("invalid UTF-8, base64 as API Gateway sends it", notUTF8, b64(signed(notUTF8), base64.StdEncoding.EncodeToString(notUTF8))),
		rejectedSigned("duplicate id keys", dupID),
		rejectedSigned("100k nested brackets", deep),
		rejectedSigned("byte order mark", bom),
		rejectedSigned("data after the object", append(setField(t, base, "id", `"evt_trailing"`), []byte(`{}`)...)),

		// Header injection.
		unauthorized("CR LF and a header in the signature value", hdr(good+"\r\nx-injected: 1")),
		unauthorized("a second t", hdr("t="+ts+","+good)),
		unauthorized("NUL in the value", hdr("t="+ts+"\x00,v1="+v1)),
		unauthorized("NUL inside v1", hdr("t="+ts+",v1="+v1[:32]+"\x00"+v1[33:])),
		unauthorized("enormous header", hdr(enormous)),
		unauthorized("10000 v1 entries, none matching", hdr(manyV1)),

		// Signature defects.
		unauthorized("signature missing", map[string]string{"content-type": "application/json"}),
		unauthorized("signature empty", hdr("")),
		unauthorized("signature white space", hdr("  \t ")),
		unauthorized("signature malformed", hdr("garbage")),
		unauthorized("signature without t", hdr("v1="+v1)),
		unauthorized("signature 301 s old", hdr(signature.Sign([]byte(secret), now.Add(-301*time.Second), base))),
		unauthorized("signature 301 s in the future", hdr(signature.Sign([]byte(secret), now.Add(301*time.Second), base))),
		unauthorized("signature with the wrong secret", hdr(signature.Sign([]byte("whsec_00000000000000000000000000000000"), now, base))),
		unauthorized("v1 truncated to 63 hex", hdr("t="+ts+",v1="+v1[:63])),
		unauthorized("v1 of SHA-1 length", hdr("t="+ts+",v1="+sha1v1)),
		unauthorized("v0 only", hdr("t="+ts+",v0="+v1)),
		unauthorized("replay of a delivery signed 10 minutes ago", hdr(signature.Sign([]byte(secret), now.Add(-10*time.Minute), base))),

		// Base64 bodies.
		{name: "base64 without its padding", ev: b64(signed([]byte("{}")), "e30"), status: 400, field: "error", value: string(ingest.BadRequest)},
		{name: "base64 with extra padding", ev: b64(signed(base), base64.StdEncoding.EncodeToString(base)+"===="), status: 400, field: "error", value: string(ingest.BadRequest)},
		{name: "isBase64Encoded with plain JSON", ev: b64(signed(base), string(base)), status: 400, field: "error", value: string(ingest.BadRequest)},

		// Valid envelopes the deployment does not process.
		{name: "unknown event type", ev: signed(unknownType), status: 200, field: "status", value: string(ingest.Ignored), effect: writesIgnored, id: "evt_unknown_type", body: unknownType},
		{name: "livemode true in test mode", ev: signed(live), status: 200, field: "status", value: string(ingest.Ignored), effect: writesIgnored, id: "evt_live", body: live},

		// Envelopes whose id or type SQS or the events table cannot carry.
		rejectedSigned("id with a control character", setField(t, base, "id", `"evt_\u0001"`)),
		rejectedSigned("id with U+FFFF", setField(t, base, "id", `"evt_\uffff"`)),
		rejectedSigned("id with a line feed", setField(t, base, "id", `"evt_\n"`)),
		rejectedSigned("id in the key space of kept bodies", setField(t, base, "id", `"sha256:0123"`)),
		rejectedSigned("type with U+FFFE", setField(t, base, "type", `"payment.succeeded\ufffe"`)),

		// A body SQS refuses as a raw message body is carried byte for byte.
		{name: "U+FFFF inside a string of the body", ev: signed(uffff), status: 200, field: "status", value: string(ingest.Accepted), effect: writesAccepted, id: "evt_uffff", body: uffff},
		{name: "escaped NUL inside a string of the body", ev: signed(nul), status: 200, field: "status", value: string(ingest.Accepted), effect: writesAccepted, id: "evt_nul", body: nul},

		// The control: the same checks see a good delivery go through.
		{name: "control: good delivery", ev: signed(control), status: 200, field: "status", value: string(ingest.Accepted), effect: writesAccepted, id: "evt_control", body: control},
	}
}

// check delivers tc and checks the answer, the queue and the table.
func (s *stack) check(tc badCase) {
	t := s.t
	t.Helper()
	before := s.itemCount()
	resp := s.deliver(tc.ev)

	want := map[string]string{tc.field: tc.value}
	switch tc.effect {
	case writesRejected:
		want["event_id"] = "sha256:" + sha256Hex(tc.body)
	case writesIgnored, writesAccepted:
		want["event_id"] = tc.id
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatalf("answer %d is not a JSON object of strings: %q", resp.StatusCode, resp.Body)
	}
	if resp.StatusCode != tc.status || !maps.Equal(got, want) {
		t.Fatalf("answer = %d %s, want %d %v", resp.StatusCode, strings.TrimSpace(resp.Body), tc.status, want)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}

	msgs := s.messages()
	wantMsgs, wantItems := 0, 0
	switch tc.effect {
	case writesRejected, writesIgnored:
		wantItems = 1
	case writesAccepted:
		wantMsgs, wantItems = 1, 1
	}
	if len(msgs) != wantMsgs {
		t.Fatalf("%d messages enqueued, want %d", len(msgs), wantMsgs)
	}
	if wantMsgs == 1 && !bytes.Equal(rawBody(t, msgs[0]), tc.body) {
		t.Errorf("queued body differs from the raw body")
	}
	if n := s.itemCount() - before; n != wantItems {
		t.Fatalf("%d records written, want %d", n, wantItems)
	}
	switch tc.effect {
	case writesRejected:
		rec := s.record(want["event_id"])
		if rec.Status != eventrecord.Rejected || !bytes.Equal(rec.Body, tc.body) || rec.Error == "" {
			t.Errorf("record = status %s, error %q, %d body bytes; want REJECTED with the reason and the %d body bytes", rec.Status, rec.Error, len(rec.Body), len(tc.body))
		}
	case writesIgnored:
		if rec := s.record(tc.id); rec.Status != eventrecord.Ignored || !bytes.Equal(rec.Body, tc.body) {
			t.Errorf("record = status %s with %d body bytes, want IGNORED with the %d body bytes", rec.Status, len(rec.Body), len(tc.body))
		}
	case writesAccepted:
		if rec := s.record(tc.id); rec.Status != eventrecord.Received {
			t.Errorf("record status %s, want RECEIVED", rec.Status)
		}
	}
}

// runCases runs every case as a subtest against s.
func runCases(t *testing.T, s *stack, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub := *s
			sub.t = t
			sub.check(tc)
		})
	}
}

func TestBadInput(t *testing.T) {
	s := newStack(t, nil)
	cases := badInputCases(t, s)
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	runCases(t, s, cases)
}
