package envelope_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
)

// refMaxDepth is the nesting limit Parse documents: the top-level object
// is depth 1.
const refMaxDepth = 64

// referenceParse is the contract of Parse written with encoding/json, for
// differential fuzzing: strict JSON, valid UTF-8, bounded depth, one
// top-level object whose routing fields appear exactly once with the right
// types.
func referenceParse(body []byte) (envelope.Envelope, bool) {
	var env envelope.Envelope
	if !utf8.Valid(body) || !json.Valid(body) || nestingDepth(body) > refMaxDepth {
		return env, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return env, false
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return env, false
		}
		key := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return env, false
		}
		switch key {
		case "id", "type", "created", "livemode":
			if _, dup := fields[key]; dup {
				return env, false
			}
			fields[key] = raw
		}
	}
	var ok bool
	if env.ID, ok = refString(fields["id"]); !ok {
		return env, false
	}
	if env.Type, ok = refString(fields["type"]); !ok {
		return env, false
	}
	var created any
	d := json.NewDecoder(bytes.NewReader(fields["created"]))
	d.UseNumber()
	if err := d.Decode(&created); err != nil {
		return env, false
	}
	n, isNum := created.(json.Number)
	if !isNum {
		return env, false
	}
	c, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || c <= 0 {
		return env, false
	}
	env.Created = c
	var live any
	if err := json.Unmarshal(fields["livemode"], &live); err != nil {
		return env, false
	}
	if env.Livemode, ok = live.(bool); !ok {
		return env, false
	}
	// data.object as the processor read it before Parse returned it.
	var data struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &data) // a type error still decodes the rest
	if len(data.Data.Object) > 0 && string(data.Data.Object) != "null" {
		env.Object = data.Data.Object
	}
	return env, true
}

func sameEnvelope(a, b envelope.Envelope) bool {
	return a.ID == b.ID && a.Type == b.Type && a.Created == b.Created && a.Livemode == b.Livemode &&
		bytes.Equal(a.Object, b.Object) && (a.Object == nil) == (b.Object == nil)
}

func refString(raw json.RawMessage) (string, bool) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false
	}
	s, ok := v.(string)
	return s, ok && s != "" && len(s) <= 255
}

// nestingDepth is the deepest nesting of objects and arrays in body, which
// must be valid JSON.
func nestingDepth(body []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range body {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

func TestReferenceParseAgreesOnSamples(t *testing.T) {
	for _, body := range differentialSeeds(t) {
		got, gotErr := envelope.Parse(body)
		want, ok := referenceParse(body)
		if (gotErr == nil) != ok || ok && !sameEnvelope(got, want) {
			t.Errorf("body %q: Parse = %+v, %v; reference = %+v, %t", body, got, gotErr, want, ok)
		}
	}
}

func differentialSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var seeds [][]byte
	for _, name := range []string{"payment.succeeded.json", "payment.failed.json", "refund.completed.json"} {
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, body)
	}
	tail := `"type":"t","created":1,"livemode":false`
	for _, s := range []string{
		`{"id":"evt\u005f1",` + tail + `}`,
		`{"\u0069d":"evt_1",` + tail + `}`,
		`{"id":"evt_1","\u0069d":"evt_2",` + tail + `}`,
		`{"i\u0064":"evt_1","typ\u0065":"t","cr\u0065ated":1,"livem\u006fde":true}`,
		`{"id":"evt_\ud83d\ude00",` + tail + `}`,
		`{"id":"evt_\ud83d",` + tail + `}`,
		`{"id":"\udc00\ud800\u0041",` + tail + `}`,
		`{"id":"a\"\\\/\b\f\n\r\t",` + tail + `}`,
		`{"data":{"id":"x","id":"y"},"id":"evt_1",` + tail + `}`,
		`{"x":1,"x":2,"ID":"no","id":"evt_1",` + tail + `}`,
		`{"id":"evt_1",` + tail + `,"d":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`,
		`{"id":"evt_1",` + tail + `,"d":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
		`{"id":"evt_1",` + tail + `,"d":` + strings.Repeat(`{"[":`, 63) + `"]]]"` + strings.Repeat("}", 63) + `}`,
		`{"id":"evt_1","type":"t","created":1e3,"livemode":false}`,
		`{"id":"evt_1","type":"t","created":-0,"livemode":false}`,
		`{"id":"evt_1","type":"t","created":01,"livemode":false}`,
		`{"id":"evt_1","type":"t","created":1.0,"livemode":false}`,
		`{"id":"evt_1","type":"t","created":9223372036854775807,"livemode":true}`,
		`{"id":"evt_1","type":"t","created":9223372036854775808,"livemode":true}`,
		`{"id":"evt_1",` + tail + `,"n":[-0,0.5,-1.25e+10,1E-3,01]}`,
		`{"id":"evt_1",` + tail + `,"n":[-0,0.5,-1.25e+10,1E-3,1e]}`,
		`{"id":"evt_1",` + tail + `,"n":[true,false,null,tru]}`,
		`{"id":"` + strings.Repeat(`\u00e9`, 127) + `",` + tail + `}`,
		`{"id":"` + strings.Repeat(`\u00e9`, 128) + `",` + tail + `}`,
		`{"id":null,` + tail + `}`,
		`{"id":"",` + tail + `}`,
		`{"id":"evt_1",` + tail + `} `,
		`{"id":"evt_1",` + tail + `} x`,
		` {"id":"evt_1",` + tail + `,"s":"\u0000\u001f"}`,
		"{\"id\":\"evt_1\"," + tail + ",\"s\":\"\x1f\"}",
		"{\"id\":\"evt_\xff\"," + tail + "}",
		"{\"id\":\"evt_\xed\xa0\x80\"," + tail + "}",
		`{"id":"evt_1",` + tail + `,}`,
		`{}`,
		`[]`,
		``,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// FuzzParseMatchesEncodingJSON checks Parse against referenceParse, built
// on encoding/json: both must accept the same bodies and extract the same
// fields.
func FuzzParseMatchesEncodingJSON(f *testing.F) {
	for _, body := range differentialSeeds(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := envelope.Parse(body)
		want, ok := referenceParse(body)
		if err != nil && !errors.Is(err, envelope.ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		if (err == nil) != ok {
			t.Fatalf("Parse error = %v, reference accepts = %t", err, ok)
		}
		if ok && !sameEnvelope(got, want) {
			t.Fatalf("Parse = %+v, reference = %+v", got, want)
		}
	})
}
