package eventrecord_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

func TestCheckEventID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"evt_3PqL8fA1x9Kd2mZ0", true},
		{"évt-ü 1", true},
		{strings.Repeat("e", 255), true},
		{strings.Repeat("e", 256), false},
		{"", false},
		{"evt_\u0001", false},
		{"evt_\t", false},
		{"evt_\u0085", false}, // C1 control: SQS takes it, the id rule does not
		{"evt_\uffff", false},
		{"evt_\xff", false},
		{"sha256:0123", false},
		{"evt_sha256:0123", true},
	}
	for _, tc := range tests {
		err := eventrecord.CheckEventID(tc.id)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, eventrecord.ErrBadRoutingField)) {
			t.Errorf("CheckEventID(%q) = %v, want ok %v", tc.id, err, tc.ok)
		}
	}
	if err := eventrecord.CheckType("sha256:x"); err != nil {
		t.Errorf("CheckType refuses the body key prefix: %v", err)
	}
}

func TestBodyEncodingRoundTrip(t *testing.T) {
	for _, raw := range [][]byte{[]byte("{}"), []byte("{\"n\":\"\uffff\x00\xe9\"}"), bytes.Repeat([]byte{0xff}, 1000)} {
		enc := eventrecord.EncodeBody(raw)
		got, err := eventrecord.DecodeBody([]byte(enc), eventrecord.BodyBase64)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("round trip of %q: got %q, %v", raw, got, err)
		}
		if len(enc) != 4*((len(raw)+2)/3) {
			t.Errorf("encoded %d bytes as %d, want 4*ceil(n/3)", len(raw), len(enc))
		}
	}
	if got, err := eventrecord.DecodeBody([]byte("{}"), ""); err != nil || string(got) != "{}" {
		t.Errorf("no encoding: got %q, %v; want the body itself", got, err)
	}
	for _, enc := range []string{"gzip", "BASE64"} {
		if _, err := eventrecord.DecodeBody([]byte("e30="), enc); !errors.Is(err, eventrecord.ErrBodyEncoding) {
			t.Errorf("encoding %q: got %v, want ErrBodyEncoding", enc, err)
		}
	}
	if len(eventrecord.EncodeBody(make([]byte, eventrecord.MaxBodyBytes))) != 512<<10 {
		t.Error("the largest body does not encode to 512 KiB")
	}
}
