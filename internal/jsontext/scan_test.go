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
