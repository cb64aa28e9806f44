package ddbevents

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		rec  eventrecord.Record
		want eventrecord.Record // zero: same as rec
	}{
		{
			name: "every field",
			rec: eventrecord.Record{
				EventID:     "evt_3PqL8fA1x9Kd2mZ0",
				Status:      eventrecord.Failed,
				Type:        "payment.succeeded",
				Created:     t0.Add(-time.Hour),
				Livemode:    true,
				PayloadHash: strings.Repeat("ab", 32),
				Token:       "tok-1",
				LeaseUntil:  t0.Add(30*time.Second + 123*time.Millisecond),
				ExpiresAt:   t0.Add(30 * 24 * time.Hour),
				ReceivedAt:  t0.Add(5 * time.Millisecond),
				UpdatedAt:   t0.Add(7 * time.Millisecond),
				Attempts:    3,
				Steps:       []string{"order_updated", "email_sent"},
				Notes:       []string{"email_undeliverable: SES MessageRejected", "double_charge: 2 payments"},
				Error:       "no metadata.order_id",
				Body:        []byte(`{"id":"evt_3PqL8fA1x9Kd2mZ0"}`),
				DurationMS:  42,
			},
		},
		{
			name: "only the key",
			rec:  eventrecord.Record{EventID: "evt_1"},
		},
		{
			name: "received, no lease, livemode false",
			rec: eventrecord.Record{
				EventID: "evt_2", Status: eventrecord.Received, Type: "refund.completed",
				Created: t0, PayloadHash: "00", Token: "t", ExpiresAt: t0, ReceivedAt: t0, UpdatedAt: t0,
			},
		},
		{
			name: "body dropped outside FAILED and REJECTED",
			rec:  eventrecord.Record{EventID: "evt_3", Status: eventrecord.Processed, Body: []byte("x")},
			want: eventrecord.Record{EventID: "evt_3", Status: eventrecord.Processed},
		},
		{
			name: "rejected keeps its body",
			rec:  eventrecord.Record{EventID: "sha256:00", Status: eventrecord.Rejected, Body: []byte{0xff, 0x00}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want.EventID == "" {
				want = tc.rec
			}
			got, err := decode(encode(tc.rec))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !recordsEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestEncodeOmitsZeroAttributes(t *testing.T) {
	it := encode(eventrecord.Record{EventID: "evt_1", Status: eventrecord.Received})
	if len(it) != 2 {
		t.Errorf("encode of id and status: got attributes %v, want only event_id and status", reflect.ValueOf(it).MapKeys())
	}
}

func TestDecodeRejectsWrongTypes(t *testing.T) {
	tests := []struct {
		name string
		it   item
	}{
		{"malformed number", item{attrEventID: str("e"), attrAttempts: &types.AttributeValueMemberN{Value: "1.5"}}},
		{"livemode as string", item{attrEventID: str("e"), attrLivemode: str("true")}},
		{"created as string", item{attrEventID: str("e"), attrCreated: str("1795795200")}},
		{"steps not a list", item{attrEventID: str("e"), attrSteps: &types.AttributeValueMemberBOOL{Value: true}}},
		{"notes not a list", item{attrEventID: str("e"), attrNotes: str("x")}},
		{"body as string", item{attrEventID: str("e"), attrBody: str("x")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decode(tc.it); err == nil {
				t.Error("decode: want an error, got none")
			}
		})
	}
}

// TestDecodeReadsNumbersAsStrings: attributevalue reads an N where a
// string is expected as its digits. A status written so is then one this
// version does not know, which ingest fails closed on (503).
func TestDecodeReadsNumbersAsStrings(t *testing.T) {
	got, err := decode(item{attrEventID: str("e"), attrStatus: num(1), attrSteps: &types.AttributeValueMemberL{Value: []types.AttributeValue{num(2)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "1" || !slices.Equal(got.Steps, []string{"2"}) {
		t.Errorf("decode = status %q steps %q, want \"1\" and [\"2\"]", got.Status, got.Steps)
	}
}

func TestExprNames(t *testing.T) {
	got := exprNames("SET #status = :s, #steps = :x REMOVE #lease", "#token = :t AND #status = :p")
	want := map[string]string{"#status": "status", "#steps": "steps", "#lease": "lease_until_ms", "#token": "token"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exprNames: got %v, want %v", got, want)
	}
}

// recordsEqual compares records with time.Time.Equal and nil-safe slices.
func recordsEqual(a, b eventrecord.Record) bool {
	times := func(r eventrecord.Record) []time.Time {
		return []time.Time{r.Created, r.LeaseUntil, r.ExpiresAt, r.ReceivedAt, r.UpdatedAt}
	}
	ta, tb := times(a), times(b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	return a.EventID == b.EventID && a.Status == b.Status && a.Type == b.Type &&
		a.Livemode == b.Livemode && a.PayloadHash == b.PayloadHash && a.Token == b.Token &&
		a.Attempts == b.Attempts && strings.Join(a.Steps, "\x00") == strings.Join(b.Steps, "\x00") &&
		len(a.Steps) == len(b.Steps) && strings.Join(a.Notes, "\x00") == strings.Join(b.Notes, "\x00") && len(a.Notes) == len(b.Notes) &&
		a.Error == b.Error && string(a.Body) == string(b.Body) &&
		a.DurationMS == b.DurationMS
}
