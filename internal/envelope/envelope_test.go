package envelope_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			if got != tc.want {
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
	if got != want {
		t.Errorf("Parse = %+v, want %+v", got, want)
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
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := envelope.Parse(body)
		if err != nil {
			if !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if env.ID == "" || env.Type == "" || env.Created <= 0 {
			t.Fatalf("accepted an envelope without routing fields: %+v", env)
		}
	})
}
