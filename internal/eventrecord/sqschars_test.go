package eventrecord_test

import (
	"errors"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// The boundaries of every range of SQS's rule, as the SQS API reference
// lists it for SendMessage's MessageBody: #x9 | #xA | #xD | #x20 to #xD7FF
// | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func TestSQSAllowedBoundaries(t *testing.T) {
	tests := []struct {
		r    rune
		want bool
	}{
		{0x0, false}, {0x1, false}, {0x8, false},
		{0x9, true}, {0xA, true}, {0xB, false}, {0xC, false}, {0xD, true}, {0xE, false},
		{0x1F, false}, {0x20, true}, {0x7F, true}, {0x9F, true},
		{0xD7FF, true}, {0xD800, false}, {0xDFFF, false}, {0xE000, true},
		{0xFFFD, true}, {0xFFFE, false}, {0xFFFF, false},
		{0x10000, true}, {0x10FFFF, true}, {0x110000, false}, {-1, false},
	}
	for _, tc := range tests {
		if got := eventrecord.SQSAllowed(tc.r); got != tc.want {
			t.Errorf("SQSAllowed(%U) = %v, want %v", tc.r, got, tc.want)
		}
	}
}

func TestCheckSQSText(t *testing.T) {
	tests := []struct {
		name string
		s    string
		ok   bool
	}{
		{"empty", "", true},
		{"ascii id", "evt_3PqL8fA1x9Kd2mZ0", true},
		{"tab, LF, CR", "a\tb\nc\rd", true},
		{"accents and emoji", "Renée 🧾 �", true},
		{"NUL", "evt_\x00", false},
		{"U+0001", "evt_\u0001", false},
		{"U+FFFF", "{\"note\":\"\uffff\"}", false},
		{"U+FFFE", "\ufffe", false},
		{"invalid UTF-8", "Ren\xe9e", false},
		{"encoded surrogate", "\xed\xa0\x80", false},
		{"U+FFFD written out is fine", "\xef\xbf\xbd", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := eventrecord.CheckSQSText(tc.s)
			if tc.ok && err != nil {
				t.Fatalf("CheckSQSText(%q) = %v, want nil", tc.s, err)
			}
			if !tc.ok && !errors.Is(err, eventrecord.ErrNotSQSText) {
				t.Fatalf("CheckSQSText(%q) = %v, want ErrNotSQSText", tc.s, err)
			}
		})
	}
}
