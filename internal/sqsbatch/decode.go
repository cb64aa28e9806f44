package sqsbatch

import (
	"bytes"
	"errors"

	"github.com/aws/aws-lambda-go/events"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
	"github.com/altafinex-webhooks/receiver/internal/jsontext"
)

// Record is what the handler reads from one SQS record: the message id,
// which names the record in the batch item failures, and the queue message.
type Record struct {
	MessageID string
	Message   eventrecord.Message
}

// FromEvent takes the records the handler reads from a decoded event.
func FromEvent(ev events.SQSEvent) []Record {
	recs := make([]Record, len(ev.Records))
	for i, r := range ev.Records {
		recs[i] = Record{MessageID: r.MessageId, Message: Message(r)}
	}
	return recs
}

// ErrUnsupported is DecodeBatch's answer to an event it does not read the
// way encoding/json would (not valid JSON, a field it reads of another
// type, an escaped key, nesting deeper than jsontext.MaxDepth). Invoke then
// decodes it with encoding/json instead.
var ErrUnsupported = errors.New("sqsbatch: invocation outside the fast decoder's subset")

// DecodeBatch reads the records of an SQS event from the invocation bytes
// the Lambda runtime hands over, in one pass and without reflection. Where
// it succeeds, the result is what json.Unmarshal into events.SQSEvent
// followed by FromEvent gives: struct fields matched case-insensitively
// (bytes.EqualFold) and attribute names exactly, the last of a repeated
// key winning, null leaving a string as it was and emptying an attribute
// map or the record list, a repeated attribute map merging, and a repeated
// record list decoded over the records already there, as encoding/json
// reuses a slice's elements. FuzzDecodeBatchMatchesEncodingJSON checks
// this. Members it does not read are validated as JSON but not
// type-checked against the event struct.
//
// The bodies share one buffer, and the ids and attributes one string.
func DecodeBatch(payload []byte) ([]Record, error) {
	var d batchDecoder
	i, err := d.event(payload, jsontext.SkipSpace(payload, 0))
	if err != nil || jsontext.SkipSpace(payload, i) != len(payload) {
		return nil, ErrUnsupported
	}
	strs := string(d.strs)
	recs := make([]Record, d.n)
	for k, r := range d.recs[:d.n] {
		body := r.body
		if body == nil {
			body = []byte{} // as []byte of an empty string
		}
		recs[k] = Record{
			MessageID: r.messageID.of(strs),
			Message: message(body, r.attrs[attrEventID].of(strs), r.attrs[attrType].of(strs),
				r.attrs[attrReceivedAt].of(strs), r.attrs[attrReplay].of(strs), r.attrs[attrBodyEncoding].of(strs)),
		}
	}
	return recs, nil
}

// span locates a decoded string in batchDecoder.strs.
type span struct{ start, end int }

func (s span) of(strs string) string { return strs[s.start:s.end] }

// The message attributes the handler reads, as indexes of rawRecord.attrs.
const (
	attrEventID = iota
	attrType
	attrReceivedAt
	attrReplay
	attrBodyEncoding
	numAttrs
)

var attrNames = [numAttrs]string{
	attrEventID:      eventrecord.AttrEventID,
	attrType:         eventrecord.AttrType,
	attrReceivedAt:   eventrecord.AttrReceivedAt,
	attrReplay:       eventrecord.AttrReplay,
	attrBodyEncoding: eventrecord.AttrBodyEncoding,
}

// rawRecord is one record as decoded so far. An attribute that is missing,
// null or without a string value is the empty span, as Message reads them
// all as "".
type rawRecord struct {
	messageID span
	body      []byte
	attrs     [numAttrs]span
}

// batchDecoder holds the records found so far. recs keeps every element a
// record list decoded since the list was last emptied and n says how many
// the list holds: encoding/json decodes a repeated list into the slice it
// already has, truncated, so a longer repeat finds the old elements again.
type batchDecoder struct {
	recs  []rawRecord
	n     int
	strs  []byte // the ids and attribute values, one after the other
	arena []byte // the bodies, one after the other
}

// The depths of the containers the decoder walks into, counting the event
// as 1, for jsontext.SkipValue.
const (
	depthEvent = 1 + iota
	depthRecords
	depthRecord
	depthAttributes
	depthAttribute
)

// members walks the object at b[i], calling member with each key (which
// must need no unescaping) and the offset of its value, and returns the
// offset after the object.
func members(b []byte, i int, member func(key []byte, i int) (int, error)) (int, error) {
	return jsontext.Members(b, i, func(key []byte, esc bool, i int) (int, error) {
		if esc {
			return i, ErrUnsupported
		}
		return member(key, i)
	})
}

// event reads the SQS event at b[i]: of its members, only Records.
func (d *batchDecoder) event(b []byte, i int) (int, error) {
	return members(b, i, func(key []byte, i int) (int, error) {
		if bytes.EqualFold(key, []byte("Records")) {
			return d.records(b, i)
		}
		return jsontext.SkipValue(b, i, depthEvent)
	})
}

// records reads the record list at b[i] as encoding/json decodes it into
// a slice: null or [] empties it, the elements of a list are decoded over
// those the slice still has in its backing array.
func (d *batchDecoder) records(b []byte, i int) (int, error) {
	if jsontext.HasLiteral(b, i, "null") {
		d.recs, d.n = d.recs[:0], 0
		return i + 4, nil
	}
	if i >= len(b) || b[i] != '[' {
		return i, ErrUnsupported
	}
	i = jsontext.SkipSpace(b, i+1)
	n := 0
	if i < len(b) && b[i] == ']' {
		d.recs, d.n = d.recs[:0], 0
		return i + 1, nil
	}
	if d.recs == nil {
		d.recs = make([]rawRecord, 0, 10) // an event source mapping's default batch
	}
	for {
		if n == len(d.recs) {
			d.recs = append(d.recs, rawRecord{})
		}
		var err error
		if i, err = d.record(b, i, &d.recs[n]); err != nil {
			return i, err
		}
		n++
		i = jsontext.SkipSpace(b, i)
		if i >= len(b) {
			return i, ErrUnsupported
		}
		switch b[i] {
		case ',':
			i = jsontext.SkipSpace(b, i+1)
		case ']':
			d.n = n
			return i + 1, nil
		default:
			return i, ErrUnsupported
		}
	}
}

// record reads the record at b[i] into r; null leaves r as it was.
func (d *batchDecoder) record(b []byte, i int, r *rawRecord) (int, error) {
	if jsontext.HasLiteral(b, i, "null") {
		return i + 4, nil
	}
	return members(b, i, func(key []byte, i int) (int, error) {
		switch {
		case bytes.EqualFold(key, []byte("messageId")):
			return d.str(b, i, &r.messageID)
		case bytes.EqualFold(key, []byte("body")):
			return d.body(b, i, &r.body)
		case bytes.EqualFold(key, []byte("messageAttributes")):
			return d.attributes(b, i, &r.attrs)
		}
		return jsontext.SkipValue(b, i, depthRecord)
	})
}

// attributes reads the attribute map at b[i] into attrs: null empties the
// map, an object sets the attributes it names (exactly: map keys are not
// case-folded) and keeps the others.
func (d *batchDecoder) attributes(b []byte, i int, attrs *[numAttrs]span) (int, error) {
	if jsontext.HasLiteral(b, i, "null") {
		*attrs = [numAttrs]span{}
		return i + 4, nil
	}
	return members(b, i, func(key []byte, i int) (int, error) {
		for k, name := range attrNames {
			if string(key) == name {
				return d.attribute(b, i, &attrs[k])
			}
		}
		return jsontext.SkipValue(b, i, depthAttributes)
	})
}

// attribute reads the string value of the attribute at b[i] into dst. The
// attribute is decoded afresh, as encoding/json decodes a map's element:
// null or an attribute without a string value is the empty span.
func (d *batchDecoder) attribute(b []byte, i int, dst *span) (int, error) {
	*dst = span{}
	if jsontext.HasLiteral(b, i, "null") {
		return i + 4, nil
	}
	return members(b, i, func(key []byte, i int) (int, error) {
		if !bytes.EqualFold(key, []byte("stringValue")) {
			return jsontext.SkipValue(b, i, depthAttribute)
		}
		if jsontext.HasLiteral(b, i, "null") { // a nil *string
			*dst = span{}
			return i + 4, nil
		}
		return d.str(b, i, dst)
	})
}

// str appends the string at b[i] to d.strs and points dst at it; null
// leaves dst as it was.
func (d *batchDecoder) str(b []byte, i int, dst *span) (int, error) {
	if jsontext.HasLiteral(b, i, "null") {
		return i + 4, nil
	}
	if i >= len(b) || b[i] != '"' {
		return i, ErrUnsupported
	}
	end, esc, err := jsontext.ScanString(b, i)
	if err != nil {
		return i, err
	}
	if d.strs == nil {
		d.strs = make([]byte, 0, 512)
	}
	start := len(d.strs)
	if raw := b[i+1 : end-1]; esc {
		d.strs = jsontext.AppendUnescaped(d.strs, raw)
	} else {
		d.strs = append(d.strs, raw...)
	}
	*dst = span{start, len(d.strs)}
	return end, nil
}

// body unescapes the string at b[i] into the bodies' buffer and points dst
// at it; null leaves dst as it was. A string's content is no longer than
// its JSON, so a buffer with room for the rest of the payload holds every
// body of the batch.
func (d *batchDecoder) body(b []byte, i int, dst *[]byte) (int, error) {
	if jsontext.HasLiteral(b, i, "null") {
		return i + 4, nil
	}
	if i >= len(b) || b[i] != '"' {
		return i, ErrUnsupported
	}
	if d.arena == nil {
		d.arena = make([]byte, 0, len(b)-i)
	}
	start := len(d.arena)
	arena, end, err := jsontext.AppendStringContent(d.arena, b, i)
	if err != nil {
		return i, err
	}
	d.arena = arena
	*dst = arena[start:len(arena):len(arena)]
	return end, nil
}
