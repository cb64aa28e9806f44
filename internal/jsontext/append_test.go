package jsontext_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/jsontext"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "evt_1", `q"b\s`, "<a&b>", "\b\f\n\r\t\x00\x1f", "é€😀", "\u2028\u2029", "bad \xff utf-8"} {
		want, _ := json.Marshal(s)
		if got := jsontext.AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, 1, -1, 0.5, 1e-7, 123456789, 1e21, 1e20, -2.5e-9, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, _ := json.Marshal(f)
		if got := jsontext.AppendFloat(nil, f); string(got) != string(want) {
			t.Errorf("AppendFloat(%g) = %s, want %s", f, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\"b<\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsontext.AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
