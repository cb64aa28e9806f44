package envelope_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/altafinex-webhooks/receiver/internal/envelope"
)

func TestParseSamples(t *testing.T) {
	tests := []struct {
		file string
		want envelope.Envelope
	}{
		{"payment.succeeded.json", envelope.Envelope{ID: "evt_3PqL8fA1x9Kd2mZ0", Type: "payment.succeeded", Created: 1795795200}},
		{"payment.failed.json", envelope.Envelope{ID: "evt_3PqL8gB7w2Rn5yX4", Type: "payment.failed", Created: 1795795260}},
		{"refund.completed.json", envelope.Envelope{ID: "evt_3PqL9hC4v6Tp8zY1", Type: "refund.completed", Created: 1795881600}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := envelope.Parse(body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if routeOf(got) != routeOf(tc.want) {
				t.Errorf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct{ name, body string }{
		{"empty", ``},
		{"not json", `hello`},
		{"truncated", `{"id":"evt_1","type":"payment.succeeded"`},
		{"array", `[{"id":"evt_1"}]`},
		{"string", `"evt_1"`},
		{"null", `null`},
		{"missing id", `{"type":"payment.succeeded","created":1,"livemode":false}`},
		{"empty id", `{"id":"","type":"payment.succeeded","created":1,"livemode":false}`},
		{"numeric id", `{"id":42,"type":"payment.succeeded","created":1,"livemode":false}`},
		{"missing type", `{"id":"evt_1","created":1,"livemode":false}`},
		{"type not a string", `{"id":"evt_1","type":["payment.succeeded"],"created":1,"livemode":false}`},
		{"created string", `{"id":"evt_1","type":"t","created":"1","livemode":false}`},
		{"created fraction", `{"id":"evt_1","type":"t","created":1.5,"livemode":false}`},
		{"created negative", `{"id":"evt_1","type":"t","created":-1,"livemode":false}`},
		{"missing created", `{"id":"evt_1","type":"t","livemode":false}`},
		{"livemode string", `{"id":"evt_1","type":"t","created":1,"livemode":"false"}`},
		{"missing livemode", `{"id":"evt_1","type":"t","created":1}`},
		{"duplicate id", `{"id":"evt_1","id":"evt_2","type":"t","created":1,"livemode":false}`},
		{"trailing data", `{"id":"evt_1","type":"t","created":1,"livemode":false} {}`},
		{"invalid utf-8", "{\"id\":\"evt_\xff\",\"type\":\"t\",\"created\":1,\"livemode\":false}"},
		{"deeply nested", `{"id":"evt_1","type":"t","created":1,"livemode":false,"data":` + deep + `}`},
		{"id too long", `{"id":"` + strings.Repeat("e", 256) + `","type":"t","created":1,"livemode":false}`},
		{"id too long unescaped", `{"id":"` + strings.Repeat(`\u00e9`, 128) + `","type":"t","created":1,"livemode":false}`},
		{"type too long", `{"id":"evt_1","type":"` + strings.Repeat("t", 256) + `","created":1,"livemode":false}`},
		{"empty type", `{"id":"evt_1","type":"","created":1,"livemode":false}`},
		{"null id", `{"id":null,"type":"t","created":1,"livemode":false}`},
		{"duplicate escaped key", `{"id":"evt_1","\u0069d":"evt_2","type":"t","created":1,"livemode":false}`},
		{"duplicate type", `{"id":"evt_1","type":"t","type":"t","created":1,"livemode":false}`},
		{"duplicate created", `{"id":"evt_1","type":"t","created":1,"created":1,"livemode":false}`},
		{"duplicate livemode", `{"id":"evt_1","type":"t","created":1,"livemode":false,"livemode":false}`},
		{"created exponent", `{"id":"evt_1","type":"t","created":1e3,"livemode":false}`},
		{"created minus zero", `{"id":"evt_1","type":"t","created":-0,"livemode":false}`},
		{"created zero", `{"id":"evt_1","type":"t","created":0,"livemode":false}`},
		{"created leading zero", `{"id":"evt_1","type":"t","created":01,"livemode":false}`},
		{"created overflow", `{"id":"evt_1","type":"t","created":9223372036854775808,"livemode":false}`},
		{"created plus", `{"id":"evt_1","type":"t","created":+1,"livemode":false}`},
		{"livemode null", `{"id":"evt_1","type":"t","created":1,"livemode":null}`},
		{"livemode truncated", `{"id":"evt_1","type":"t","created":1,"livemode":tru}`},
		{"number leading zero", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":01}`},
		{"number bare minus", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":-}`},
		{"number trailing dot", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":1.}`},
		{"number leading dot", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":.5}`},
		{"number empty exponent", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":1e+}`},
		{"number hex", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":0x10}`},
		{"NaN", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":NaN}`},
		{"bad literal", `{"id":"evt_1","type":"t","created":1,"livemode":false,"n":nul}`},
		{"capital literal", `{"id":"evt_1","type":"t","created":1,"livemode":False}`},
		{"trailing comma", `{"id":"evt_1","type":"t","created":1,"livemode":false,}`},
		{"trailing comma in array", `{"id":"evt_1","type":"t","created":1,"livemode":false,"a":[1,]}`},
		{"missing comma", `{"id":"evt_1" "type":"t","created":1,"livemode":false}`},
		{"missing colon", `{"id" "evt_1","type":"t","created":1,"livemode":false}`},
		{"unquoted key", `{id:"evt_1","type":"t","created":1,"livemode":false}`},
		{"single quotes", `{'id':'evt_1','type':'t','created':1,'livemode':false}`},
		{"raw control character", "{\"id\":\"evt\t1\",\"type\":\"t\",\"created\":1,\"livemode\":false}"},
		{"raw newline in ignored string", "{\"id\":\"evt_1\",\"type\":\"t\",\"created\":1,\"livemode\":false,\"x\":\"a\nb\"}"},
		{"invalid escape", `{"id":"evt\x31","type":"t","created":1,"livemode":false}`},
		{"short unicode escape", `{"id":"evt\u31","type":"t","created":1,"livemode":false}`},
		{"bad hex escape", `{"id":"evt_1","type":"t","created":1,"livemode":false,"x":"\u12G4"}`},
		{"unterminated string", `{"id":"evt_1","type":"t","created":1,"livemode":false,"x":"abc`},
		{"backslash at end", `{"id":"evt_1","type":"t","created":1,"livemode":false,"x":"abc\`},
		{"invalid utf-8 in nested key", "{\"id\":\"evt_1\",\"type\":\"t\",\"created\":1,\"livemode\":false,\"d\":{\"k\xc3\":1}}"},
		{"utf-8 surrogate", "{\"id\":\"evt_\xed\xa0\x80\",\"type\":\"t\",\"created\":1,\"livemode\":false}"},
		{"overlong utf-8", "{\"id\":\"evt_\xc0\xaf\",\"type\":\"t\",\"created\":1,\"livemode\":false}"},
		{"byte order mark", "\xef\xbb\xbf{\"id\":\"evt_1\",\"type\":\"t\",\"created\":1,\"livemode\":false}"},
		{"non-breaking space", "{\"id\":\"evt_1\",\u00a0\"type\":\"t\",\"created\":1,\"livemode\":false}"},
		{"two objects", `{"id":"evt_1","type":"t","created":1,"livemode":false}{"id":"evt_2"}`},
		{"closing bracket mismatch", `{"id":"evt_1","type":"t","created":1,"livemode":false,"a":[1}]}`},
		{"unclosed object", `{"id":"evt_1","type":"t","created":1,"livemode":false`},
		{"whitespace only", " \n\t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := envelope.Parse([]byte(tc.body))
			if !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("Parse(%.40q) error = %v, want ErrInvalid", tc.body, err)
			}
		})
	}
}

func TestParseIgnoresUnknownFields(t *testing.T) {
	body := `{"extra":{"nested":[1,2,{"id":"not-this"}]},"id":"evt_1","type":"payment.succeeded","created":1795795200,"livemode":true,"data":{}}`
	got, err := envelope.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := envelope.Envelope{ID: "evt_1", Type: "payment.succeeded", Created: 1795795200, Livemode: true}
	if routeOf(got) != routeOf(want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
}

func TestParseValid(t *testing.T) {
	tail := `"type":"t","created":1,"livemode":false`
	tests := []struct {
		name, body string
		want       envelope.Envelope
	}{
		{"escaped value", `{"id":"evt\u005f1",` + tail + `}`, envelope.Envelope{ID: "evt_1", Type: "t", Created: 1}},
		{"short escapes", `{"id":"a\"\\\/\b\f\n\r\t",` + tail + `}`, envelope.Envelope{ID: "a\"\\/\b\f\n\r\t", Type: "t", Created: 1}},
		{"escaped key", `{"\u0069\u0064":"evt_1",` + tail + `}`, envelope.Envelope{ID: "evt_1", Type: "t", Created: 1}},
		{"surrogate pair", `{"id":"evt_\ud83d\ude00",` + tail + `}`, envelope.Envelope{ID: "evt_\U0001F600", Type: "t", Created: 1}},
		{"keys in another case are other members", `{"ID":"no","Id":3,"id ":4,"id":"evt_1",` + tail + `}`, envelope.Envelope{ID: "evt_1", Type: "t", Created: 1}},
		{"raw utf-8", `{"id":"évt_1 😀",` + tail + `}`, envelope.Envelope{ID: "évt_1 😀", Type: "t", Created: 1}},
		{"escaped NUL", `{"id":"evt\u0000",` + tail + `}`, envelope.Envelope{ID: "evt\x00", Type: "t", Created: 1}},
		{"DEL is not a control character", "{\"id\":\"evt\x7f\"," + tail + `}`, envelope.Envelope{ID: "evt\x7f", Type: "t", Created: 1}},
		{"255 bytes", `{"id":"` + strings.Repeat("e", 255) + `",` + tail + `}`, envelope.Envelope{ID: strings.Repeat("e", 255), Type: "t", Created: 1}},
		{"long raw, short unescaped", `{"id":"` + strings.Repeat(`\u0065`, 255) + `",` + tail + `}`, envelope.Envelope{ID: strings.Repeat("e", 255), Type: "t", Created: 1}},
		{"max created", `{"id":"evt_1","type":"t","created":9223372036854775807,"livemode":true}`, envelope.Envelope{ID: "evt_1", Type: "t", Created: 9223372036854775807, Livemode: true}},
		{"whitespace", " \t\r\n{ \"id\" :\n\"evt_1\" , \"type\":\"t\",\"created\" : 1 ,\"livemode\":false } \n", envelope.Envelope{ID: "evt_1", Type: "t", Created: 1}},
		{"every value kind", `{"id":"evt_1",` + tail + `,"a":[],"o":{},"n":[-0,0.5,-1.25e+10,1E-3,2e8],"l":[true,false,null],"s":"","e":{"":""}}`, envelope.Envelope{ID: "evt_1", Type: "t", Created: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envelope.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if routeOf(got) != routeOf(tc.want) {
				t.Errorf("Parse = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"payment.succeeded.json", "payment.failed.json", "refund.completed.json"} {
		body, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Add([]byte(`{"id":"evt_1","id":"evt_2"}`))
	f.Add([]byte(`{"id":"evt_1","type":"t","created":1,"livemode":true,"data":{"object":{"a":1e400,"s":"\ud83d\ude00"}}}`))
	f.Add([]byte("{\"id\":\"evt_1\",\"type\":\"t\",\"created\":1,\"livemode\":false,\"s\":\"\xff\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := envelope.Parse(body)
		if err != nil {
			if !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if routeOf(env) != (routing{}) || env.Object != nil {
				t.Fatalf("error %v came with a non-zero envelope %+v", err, env)
			}
			return
		}
		if env.ID == "" || env.Type == "" || env.Created <= 0 || len(env.ID) > 255 || len(env.Type) > 255 {
			t.Fatalf("accepted an envelope without routing fields: %+v", routeOf(env))
		}
		// What Parse accepts is valid UTF-8 and, data.object included,
		// what encoding/json (the handlers' decoder) reads too.
		if !utf8.Valid(body) || !json.Valid(body) || (env.Object != nil && !json.Valid(env.Object)) {
			t.Fatalf("accepted %q, which encoding/json does not read", body)
		}
		if env.Object != nil && !bytes.Contains(body, env.Object) {
			t.Fatalf("data.object %q is not as the body has it", env.Object)
		}
	})
}

// routing is the comparable part of an Envelope.
type routing struct {
	ID, Type string
	Created  int64
	Livemode bool
}

func routeOf(e envelope.Envelope) routing {
	return routing{e.ID, e.Type, e.Created, e.Livemode}
}

func TestParseObject(t *testing.T) {
	head := `{"id":"evt_1","type":"t","created":1,"livemode":false`
	tests := []struct{ name, body, want string }{
		{"the object", head + `,"data":{"object":{"id":"pay_1","amount":5}}}`, `{"id":"pay_1","amount":5}`},
		{"spaced", head + `,"data" : { "x":[1] , "object" : [ 1, 2 ] } }`, `[ 1, 2 ]`},
		{"escaped keys", head + `,"d\u0061ta":{"obj\u0065ct":true}}`, `true`},
		{"null object", head + `,"data":{"object":null}}`, ``},
		{"no data", head + `}`, ``},
		{"null data", head + `,"data":null}`, ``},
		{"keys in another case are other members", head + `,"DATA":{"object":1},"data":{"Object":2}}`, ``},
		{"huge numbers as written", head + `,"data":{"object":{"amount":123456789012345678901234567890,"f":1e400}}}`, `{"amount":123456789012345678901234567890,"f":1e400}`},
		{"nested object is not it", head + `,"x":{"data":{"object":1}}}`, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envelope.Parse([]byte(tc.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if string(got.Object) != tc.want || (tc.want == "") != (got.Object == nil) {
				t.Errorf("Object = %q, want %q", got.Object, tc.want)
			}
		})
	}
}

// TestParseDecisions pins the four choices the package doc makes: duplicate
// member names, invalid UTF-8, deep nesting and huge numbers. The
// expectations come from the package doc (and docs/signature.md), not from
// what a parser happens to do.
func TestParseDecisions(t *testing.T) {
	head := `{"id":"evt_1","type":"t","created":1,"livemode":false`
	nested := func(n int) string { // n arrays, one in the other
		return strings.Repeat("[", n) + strings.Repeat("]", n)
	}
	tests := []struct {
		name  string
		body  string
		valid bool
	}{
		// Duplicate member names: invalid in any object, at any depth,
		// however the name is escaped; names that differ in case differ.
		{"duplicate id", head + `,"id":"evt_2"}`, false},
		{"duplicate id escaped", head + `,"\u0069d":"evt_2"}`, false},
		{"duplicate unknown member", head + `,"x":1,"x":1}`, false},
		{"duplicate in data.object", head + `,"data":{"object":{"amount":100,"amount":1}}}`, false},
		{"duplicate deep in an array", head + `,"a":[{"k":1},{"k":2,"k":3}]}`, false},
		{"duplicate data", head + `,"data":{"object":{}},"data":null}`, false},
		{"same name in sibling objects", head + `,"a":[{"k":1},{"k":2}],"b":{"k":3}}`, true},
		{"names differing in case", head + `,"ID":"evt_2","Type":"x","amount":1,"Amount":2}`, true},

		// Invalid UTF-8: invalid anywhere, raw or as an escaped lone
		// surrogate, never replaced with U+FFFD.
		{"invalid byte in id", "{\"id\":\"evt_\xff\",\"type\":\"t\",\"created\":1,\"livemode\":false}", false},
		{"invalid byte in an unknown member", head + ",\"note\":\"caf\xe9\"}", false},
		{"invalid byte in a name", head + ",\"k\xc3\":1}", false},
		{"truncated sequence in data.object", head + ",\"data\":{\"object\":{\"name\":\"\xe2\x82\"}}}", false},
		{"encoded surrogate", head + ",\"s\":\"\xed\xa0\x80\"}", false},
		{"overlong encoding", head + ",\"s\":\"\xc0\xaf\"}", false},
		{"escaped lone high surrogate", head + `,"s":"\ud83d"}`, false},
		{"escaped lone low surrogate", head + `,"s":"\ude00"}`, false},
		{"escaped pair", head + `,"s":"\ud83d\ude00"}`, true},
		{"raw non-ASCII", head + `,"s":"Zoë 😀 ￿"}`, true},
		{"escaped U+FFFF", head + `,"s":"\uffff"}`, true},

		// Nesting: up to 10,000 levels counting the top-level object.
		{"10,000 levels", head + `,"d":` + nested(9999) + `}`, true},
		{"10,001 levels", head + `,"d":` + nested(10000) + `}`, false},
		{"10,000 levels in data.object", head + `,"data":{"object":` + nested(9998) + `}}`, true},
		{"10,001 levels in data.object", head + `,"data":{"object":` + nested(9999) + `}}`, false},

		// Numbers: syntax only, at any size, except created.
		{"huge integer elsewhere", head + `,"n":` + strings.Repeat("9", 1000) + `}`, true},
		{"huge exponent elsewhere", head + `,"n":1e400,"m":-1e-400}`, true},
		{"created max int64", `{"id":"evt_1","type":"t","created":9223372036854775807,"livemode":false}`, true},
		{"created over int64", `{"id":"evt_1","type":"t","created":9223372036854775808,"livemode":false}`, false},
		{"created huge", `{"id":"evt_1","type":"t","created":` + strings.Repeat("9", 1000) + `,"livemode":false}`, false},
		{"created exponent", `{"id":"evt_1","type":"t","created":1e3,"livemode":false}`, false},
		{"created fraction zero", `{"id":"evt_1","type":"t","created":1.0,"livemode":false}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := envelope.Parse([]byte(tc.body))
			if tc.valid && err != nil {
				t.Fatalf("Parse: %v, want it accepted", err)
			}
			if !tc.valid && !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("Parse = %+v, %v; want ErrInvalid", routeOf(env), err)
			}
		})
	}
}
