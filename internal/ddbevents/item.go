package ddbevents

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// Attribute names of an events table item.
const (
	attrEventID      = "event_id"       // S, the key
	attrStatus       = "status"         // S
	attrType         = "type"           // S
	attrCreated      = "created"        // N, Unix seconds
	attrLivemode     = "livemode"       // BOOL
	attrPayloadHash  = "payload_sha256" // S, hex
	attrToken        = "token"          // S
	attrLeaseUntilMS = "lease_until_ms" // N, Unix ms; absent when no lease
	attrExpiresAt    = "expires_at"     // N, Unix seconds: the table's TTL attribute
	attrReceivedAtMS = "received_at_ms" // N, Unix ms
	attrUpdatedAtMS  = "updated_at_ms"  // N, Unix ms
	attrAttempts     = "attempts"       // N
	attrSteps        = "steps"          // L of S
	attrNotes        = "notes"          // L of S
	attrError        = "error"          // S
	attrBody         = "body"           // B: FAILED, REJECTED, IGNORED; RETRYING while a replay is on its way
	attrDurationMS   = "duration_ms"    // N
	// The customer email's delivery (eventrecord.EmailDelivery), written
	// by the email sender only (ClaimEmail, FinishEmail).
	attrEmailStatus   = "email_status"         // S
	attrEmailTemplate = "email_template"       // S
	attrEmailToken    = "email_token"          // S
	attrEmailLeaseMS  = "email_lease_until_ms" // N, Unix ms; while SENDING
	attrEmailAtMS     = "email_at_ms"          // N, Unix ms
	attrEmailError    = "email_error"          // S, at most MaxNoteBytes: why UNDELIVERABLE
	attrEmailAttempts = "email_attempts"       // N: the sender's claims, each a try of the send
)

// item is one events table item as the SDK sees it.
type item = map[string]types.AttributeValue

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func stringList(ss []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ss))
	for i, s := range ss {
		l[i] = str(s)
	}
	return &types.AttributeValueMemberL{Value: l}
}

// keepsBody reports whether records in status s may store the raw body
// (RETRYING only between a replay's Reset and the processor's end of it).
func keepsBody(s eventrecord.Status) bool {
	switch s {
	case eventrecord.Failed, eventrecord.Rejected, eventrecord.Ignored, eventrecord.Retrying:
		return true
	}
	return false
}

// encode turns r into an item, omitting empty and zero attributes. The body
// is written only for FAILED, REJECTED and IGNORED records, which keeps
// every other item under 1 KB; the error is clipped to MaxErrorBytes.
func encode(r eventrecord.Record) item {
	it := item{attrEventID: str(r.EventID)}
	setS := func(name, v string) {
		if v != "" {
			it[name] = str(v)
		}
	}
	setN := func(name string, v int64) {
		if v != 0 {
			it[name] = num(v)
		}
	}
	setS(attrStatus, string(r.Status))
	setS(attrType, r.Type)
	if !r.Created.IsZero() {
		it[attrCreated] = num(r.Created.Unix())
	}
	if r.Livemode {
		it[attrLivemode] = &types.AttributeValueMemberBOOL{Value: true}
	}
	setS(attrPayloadHash, r.PayloadHash)
	setS(attrToken, r.Token)
	if !r.LeaseUntil.IsZero() {
		it[attrLeaseUntilMS] = num(r.LeaseUntil.UnixMilli())
	}
	if !r.ExpiresAt.IsZero() {
		it[attrExpiresAt] = num(r.ExpiresAt.Unix())
	}
	if !r.ReceivedAt.IsZero() {
		it[attrReceivedAtMS] = num(r.ReceivedAt.UnixMilli())
	}
	if !r.UpdatedAt.IsZero() {
		it[attrUpdatedAtMS] = num(r.UpdatedAt.UnixMilli())
	}
	setN(attrAttempts, int64(r.Attempts))
	if len(r.Steps) > 0 {
		it[attrSteps] = stringList(r.Steps)
	}
	if notes := clipNotes(r.Notes); len(notes) > 0 {
		it[attrNotes] = stringList(notes)
	}
	setS(attrError, clipError(r.Error))
	if len(r.Body) > 0 && keepsBody(r.Status) {
		it[attrBody] = &types.AttributeValueMemberB{Value: r.Body}
	}
	setN(attrDurationMS, r.DurationMS)
	return it
}

// stored is an events table item as attributevalue decodes it: the
// attribute names and types of the constants above. A missing attribute
// stays zero; one of another type fails the decode.
type stored struct {
	EventID      string   `dynamodbav:"event_id"`
	Status       string   `dynamodbav:"status"`
	Type         string   `dynamodbav:"type"`
	Created      int64    `dynamodbav:"created"` // Unix seconds
	Livemode     bool     `dynamodbav:"livemode"`
	PayloadHash  string   `dynamodbav:"payload_sha256"`
	Token        string   `dynamodbav:"token"`
	LeaseUntilMS int64    `dynamodbav:"lease_until_ms"`
	ExpiresAt    int64    `dynamodbav:"expires_at"` // Unix seconds
	ReceivedAtMS int64    `dynamodbav:"received_at_ms"`
	UpdatedAtMS  int64    `dynamodbav:"updated_at_ms"`
	Attempts     int      `dynamodbav:"attempts"`
	Steps        []string `dynamodbav:"steps"`
	Notes        []string `dynamodbav:"notes"`
	Error        string   `dynamodbav:"error"`
	Body         []byte   `dynamodbav:"body"`
	DurationMS   int64    `dynamodbav:"duration_ms"`

	EmailStatus   string `dynamodbav:"email_status"`
	EmailTemplate string `dynamodbav:"email_template"`
	EmailToken    string `dynamodbav:"email_token"`
	EmailLeaseMS  int64  `dynamodbav:"email_lease_until_ms"`
	EmailAtMS     int64  `dynamodbav:"email_at_ms"`
	EmailError    string `dynamodbav:"email_error"`
	EmailAttempts int    `dynamodbav:"email_attempts"`
}

// decode turns an item back into a Record. Absent attributes leave the zero
// value; an attribute of the wrong type or a malformed number is an error.
func decode(it item) (eventrecord.Record, error) {
	var s stored
	if err := attributevalue.UnmarshalMap(it, &s); err != nil {
		id, _ := it[attrEventID].(*types.AttributeValueMemberS)
		if id == nil {
			id = &types.AttributeValueMemberS{}
		}
		return eventrecord.Record{}, fmt.Errorf("decode event record %q: %w", id.Value, err)
	}
	// encode writes no time attribute for the zero time.
	secs := func(n int64) time.Time {
		if n == 0 {
			return time.Time{}
		}
		return time.Unix(n, 0).UTC()
	}
	millis := func(n int64) time.Time {
		if n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n).UTC()
	}
	return eventrecord.Record{
		EventID:     s.EventID,
		Status:      eventrecord.Status(s.Status),
		Type:        s.Type,
		Created:     secs(s.Created),
		Livemode:    s.Livemode,
		PayloadHash: s.PayloadHash,
		Token:       s.Token,
		LeaseUntil:  millis(s.LeaseUntilMS),
		ExpiresAt:   secs(s.ExpiresAt),
		ReceivedAt:  millis(s.ReceivedAtMS),
		UpdatedAt:   millis(s.UpdatedAtMS),
		Attempts:    s.Attempts,
		Steps:       s.Steps,
		Notes:       s.Notes,
		Error:       s.Error,
		Body:        s.Body,
		DurationMS:  s.DurationMS,
		Email: eventrecord.EmailDelivery{
			Status:     eventrecord.EmailStatus(s.EmailStatus),
			Template:   s.EmailTemplate,
			Token:      s.EmailToken,
			LeaseUntil: millis(s.EmailLeaseMS),
			At:         millis(s.EmailAtMS),
			Error:      s.EmailError,
			Attempts:   s.EmailAttempts,
		},
	}, nil
}
