package ddbevents

import (
	"fmt"
	"strconv"
	"time"

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

// decode turns an item back into a Record. Absent attributes leave the zero
// value; an attribute of the wrong type or a malformed number is an error.
func decode(it item) (eventrecord.Record, error) {
	var r eventrecord.Record
	var err error
	getS := func(name string) string {
		v, ok := it[name]
		if !ok || err != nil {
			return ""
		}
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			err = fmt.Errorf("attribute %s: want S, got %T", name, v)
			return ""
		}
		return s.Value
	}
	getN := func(name string) (int64, bool) {
		v, ok := it[name]
		if !ok || err != nil {
			return 0, false
		}
		n, ok := v.(*types.AttributeValueMemberN)
		if !ok {
			err = fmt.Errorf("attribute %s: want N, got %T", name, v)
			return 0, false
		}
		i, perr := strconv.ParseInt(n.Value, 10, 64)
		if perr != nil {
			err = fmt.Errorf("attribute %s: %w", name, perr)
			return 0, false
		}
		return i, true
	}
	getL := func(name string) []string {
		v, ok := it[name]
		if !ok || err != nil {
			return nil
		}
		l, ok := v.(*types.AttributeValueMemberL)
		if !ok {
			err = fmt.Errorf("attribute %s: want L, got %T", name, v)
			return nil
		}
		out := make([]string, 0, len(l.Value))
		for i, e := range l.Value {
			s, ok := e.(*types.AttributeValueMemberS)
			if !ok {
				err = fmt.Errorf("attribute %s[%d]: want S, got %T", name, i, e)
				return nil
			}
			out = append(out, s.Value)
		}
		return out
	}
	secs := func(name string) time.Time {
		if n, ok := getN(name); ok {
			return time.Unix(n, 0).UTC()
		}
		return time.Time{}
	}
	millis := func(name string) time.Time {
		if n, ok := getN(name); ok {
			return time.UnixMilli(n).UTC()
		}
		return time.Time{}
	}

	r.EventID = getS(attrEventID)
	r.Status = eventrecord.Status(getS(attrStatus))
	r.Type = getS(attrType)
	r.Created = secs(attrCreated)
	if v, ok := it[attrLivemode]; ok && err == nil {
		b, ok := v.(*types.AttributeValueMemberBOOL)
		if !ok {
			err = fmt.Errorf("attribute %s: want BOOL, got %T", attrLivemode, v)
		} else {
			r.Livemode = b.Value
		}
	}
	r.PayloadHash = getS(attrPayloadHash)
	r.Token = getS(attrToken)
	r.LeaseUntil = millis(attrLeaseUntilMS)
	r.ExpiresAt = secs(attrExpiresAt)
	r.ReceivedAt = millis(attrReceivedAtMS)
	r.UpdatedAt = millis(attrUpdatedAtMS)
	if n, ok := getN(attrAttempts); ok {
		r.Attempts = int(n)
	}
	r.Steps = getL(attrSteps)
	r.Notes = getL(attrNotes)
	r.Error = getS(attrError)
	if v, ok := it[attrBody]; ok && err == nil {
		b, ok := v.(*types.AttributeValueMemberB)
		if !ok {
			err = fmt.Errorf("attribute %s: want B, got %T", attrBody, v)
		} else {
			r.Body = b.Value
		}
	}
	if n, ok := getN(attrDurationMS); ok {
		r.DurationMS = n
	}
	r.Email = eventrecord.EmailDelivery{
		Status:     eventrecord.EmailStatus(getS(attrEmailStatus)),
		Template:   getS(attrEmailTemplate),
		Token:      getS(attrEmailToken),
		LeaseUntil: millis(attrEmailLeaseMS),
		At:         millis(attrEmailAtMS),
		Error:      getS(attrEmailError),
	}
	if n, ok := getN(attrEmailAttempts); ok {
		r.Email.Attempts = int(n)
	}
	if err != nil {
		return eventrecord.Record{}, fmt.Errorf("decode event record %q: %w", r.EventID, err)
	}
	return r, nil
}
