package jsontext_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/jsontext"
)

// unescapeBoth decodes the JSON string literal lit with both unescapers,
// after checking that ScanString accepts all of it.
func unescapeBoth(t testing.TB, lit string) (appended, bounded string, ok bool) {
	t.Helper()
	b := []byte(lit)
	if len(b) == 0 || b[0] != '"' {
		return "", "", false
	}
	end, _, err := jsontext.ScanString(b, 0)
	merged, mergedEnd, mergedErr := jsontext.AppendStringContent([]byte("pre"), b, 0)
	if (err != nil) != (mergedErr != nil) || (err == nil && mergedEnd != end) {
		t.Fatalf("%q: ScanString = %d, %v; AppendStringContent = %d, %v", lit, end, err, mergedEnd, mergedErr)
	}
	if err != nil || end != len(b) {
		return "", "", false
	}
	raw := b[1 : end-1]
	dst := make([]byte, 4*len(raw)+4)
	n, fit := jsontext.Unescape(dst, raw)
	if !fit {
		t.Fatalf("Unescape(%q) did not fit in %d bytes", raw, len(dst))
	}
	appendedRaw := string(jsontext.AppendUnescaped(nil, raw))
	if string(merged) != "pre"+appendedRaw {
		t.Fatalf("%q: AppendStringContent %q, AppendUnescaped %q", lit, merged, appendedRaw)
	}
	return appendedRaw, string(dst[:n]), true
}

func TestUnescapeMatchesEncodingJSON(t *testing.T) {
	tests := []string{
		`""`,
		`"plain"`,
		`"{\"id\":\"evt_1\",\n\t\"x\":\"a\\b\/c\"}"`,
		`"\b\f\n\r\t"`,
		`"caf\u00e9 \u20ac \ud83d\ude00"`,
		`"lone high \ud83d then text"`,
		`"lone low \ude00"`,
		`"high then high \ud83d\ud83d"`,
		`"é€😀 raw UTF-8"`,
		`"` + strings.Repeat(`ab\"`, 700) + `"`,
	}
	for _, lit := range tests {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("encoding/json refuses %s: %v", lit, err)
		}
		appended, bounded, ok := unescapeBoth(t, lit)
		if !ok {
			t.Fatalf("ScanString refuses %s", lit)
		}
		if appended != want || bounded != want {
			t.Errorf("%s: AppendUnescaped %q, Unescape %q, want %q", lit, appended, bounded, want)
		}
	}
}

func TestUnescapeReportsOverflow(t *testing.T) {
	dst := make([]byte, 3)
	if _, ok := jsontext.Unescape(dst, []byte(`abcd`)); ok {
		t.Error("4 bytes fit in 3")
	}
	if _, ok := jsontext.Unescape(dst, []byte(`ab\u20ac`)); ok {
		t.Error("a 3-byte rune fit after 2 bytes in 3")
	}
	if n, ok := jsontext.Unescape(dst, []byte(`a\nb`)); !ok || string(dst[:n]) != "a\nb" {
		t.Errorf("Unescape = %q, %t", dst[:n], ok)
	}
}

func TestSkipValueRefusesWhatJSONRefuses(t *testing.T) {
	tests := []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `-`, `1.`, `"\x"`, "\"\x01\"", "\"\xff\"", `tru`, `{"a":1 "b":2}`,
		strings.Repeat("[", jsontext.MaxDepth+1) + strings.Repeat("]", jsontext.MaxDepth+1)}
	for _, in := range tests {
		_, err := jsontext.SkipValue([]byte(in), 0, 0)
		var se *jsontext.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("SkipValue(%q) = %v, want a *SyntaxError", in, err)
		}
	}
	for _, in := range []string{`{}`, `[]`, `{"a":[1,-2.5e3,true,false,null,"x"]}`, strings.Repeat("[", jsontext.MaxDepth) + strings.Repeat("]", jsontext.MaxDepth)} {
		if end, err := jsontext.SkipValue([]byte(in), 0, 0); err != nil || end != len(in) {
			t.Errorf("SkipValue(%q) = %d, %v", in, end, err)
		}
	}
}

// FuzzUnescape checks both unescapers against encoding/json on every
// string literal ScanString accepts, and that ScanString accepts only what
// encoding/json accepts.
func FuzzUnescape(f *testing.F) {
	for _, s := range []string{`"a\"b"`, `"\ud83d\ude00"`, `"\ud83d"`, `"é"`, `"\/\b\f\n\r\t"`, "\"\xff\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		appended, bounded, ok := unescapeBoth(t, lit)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("ScanString accepts %q, encoding/json refuses it: %v", lit, err)
		}
		if appended != want || bounded != want {
			t.Fatalf("%q: AppendUnescaped %q, Unescape %q, want %q", lit, appended, bounded, want)
		}
	})
}

func TestMembers(t *testing.T) {
	type kv struct {
		key   string
		esc   bool
		value string
	}
	tests := []struct {
		in   string
		want []kv
		ok   bool
	}{
		{`{}`, nil, true},
		{` { "a" : 1 , "b\u0063":[true, {"x":null}] ,"":"s" } `[1:], []kv{{"a", false, "1"}, {`b\u0063`, true, `[true, {"x":null}]`}, {"", false, `"s"`}}, true},
		{`[]`, nil, false},
		{`{"a" 1}`, nil, false},
		{`{"a":1,}`, []kv{{"a", false, "1"}}, false},
		{`{"a":1 "b":2}`, []kv{{"a", false, "1"}}, false},
		{`{"a":1`, []kv{{"a", false, "1"}}, false},
		{`{a:1}`, nil, false},
		{`{"a":}`, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			b := []byte(tc.in)
			var got []kv
			end, err := jsontext.Members(b, 0, func(key []byte, esc bool, i int) (int, error) {
				end, err := jsontext.SkipValue(b, i, 1)
				if err == nil {
					got = append(got, kv{string(key), esc, string(b[i:end])})
				}
				return end, err
			})
			if (err == nil) != tc.ok {
				t.Fatalf("Members = %d, %v; want ok %t", end, err, tc.ok)
			}
			if tc.ok && jsontext.SkipSpace(b, end) != len(b) {
				t.Errorf("Members ended at %d of %d", end, len(b))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("members %+v, want %+v", got, tc.want)
			}
			for k := range got {
				if got[k] != tc.want[k] {
					t.Errorf("member %d = %+v, want %+v", k, got[k], tc.want[k])
				}
			}
		})
	}
	stop := errors.New("stop")
	if _, err := jsontext.Members([]byte(`{"a":1}`), 0, func([]byte, bool, int) (int, error) { return 0, stop }); !errors.Is(err, stop) {
		t.Errorf("member's error: %v", err)
	}
}
