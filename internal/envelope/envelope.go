// Package envelope parses the routing fields of an Altafinex event envelope:
// id, type, created and livemode, and nothing else. The body stays opaque
// bytes; the processor parses data.object itself.
//
// Parse is on the ingest hot path, so it is a single-pass scanner over the
// body that validates all of it as strict JSON (RFC 8259) and UTF-8 while
// picking out the four top-level fields, with one allocation on success.
package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/altafinex-webhooks/receiver/internal/jsontext"
)

// ErrInvalid is the cause of every parse failure: the body is not a valid
// event envelope. A validly signed body that fails here is a permanent
// failure, not something a retry can fix.
var ErrInvalid = errors.New("invalid envelope")

const (
	// maxFieldLen is the longest id or type Parse accepts, in bytes after
	// unescaping.
	maxFieldLen = 255
)

// Envelope holds the fields the receiver routes on.
type Envelope struct {
	ID       string
	Type     string
	Created  int64 // Unix seconds
	Livemode bool

	// Object is the raw JSON of data.object, a slice of the parsed body
	// (nil when the body has no data object with a non-null object
	// member), so the processor decodes the payload without scanning the
	// body again. As with encoding/json, the keys data and object are
	// matched case-insensitively and the last of a repeated one wins.
	Object []byte
}

// The routing fields, as bits of a seen-set.
const (
	fieldID = 1 << iota
	fieldType
	fieldCreated
	fieldLivemode
	allFields = fieldID | fieldType | fieldCreated | fieldLivemode
)

// Parse reads the routing fields of body. The whole body must be one JSON
// object (RFC 8259, valid UTF-8, objects and arrays nested at most 64 deep
// counting the top-level object, nothing but whitespace after it) whose
// top level has a non-empty string id and type of at most 255 bytes after
// unescaping, a positive integer created and a boolean livemode. Other
// fields, at any depth, are validated and ignored. A routing field that
// appears twice, however its key is escaped, is refused, because two JSON
// parsers could then disagree on which event this is. Errors wrap
// ErrInvalid and come with the zero Envelope.
func Parse(body []byte) (Envelope, error) {
	env, err := parse(body)
	if err != nil {
		if se := (*jsontext.SyntaxError)(nil); errors.As(err, &se) {
			err = fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return Envelope{}, err
	}
	return env, nil
}

func parse(body []byte) (Envelope, error) {
	var env Envelope
	// buf holds the unescaped id, then type, so that both strings come
	// from one allocation.
	var buf [2 * maxFieldLen]byte
	var idLen, typeLen int
	seen := 0

	i := jsontext.SkipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return env, invalid("body is not a JSON object", i)
	}
	i, err := jsontext.Members(body, i, func(key []byte, esc bool, i int) (int, error) {
		f := routingField(key, esc)
		if f != 0 && seen&f != 0 {
			return i, fmt.Errorf("%w: duplicate key %q", ErrInvalid, fieldName(f))
		}
		seen |= f
		var err error
		switch f {
		case fieldID:
			idLen, i, err = stringField(body, i, buf[:maxFieldLen], "id")
		case fieldType:
			typeLen, i, err = stringField(body, i, buf[maxFieldLen:], "type")
		case fieldCreated:
			env.Created, i, err = createdField(body, i)
		case fieldLivemode:
			env.Livemode, i, err = boolField(body, i, "livemode")
		case 0:
			if isKey(key, esc, "data") {
				return dataField(body, i, &env.Object)
			}
			return jsontext.SkipValue(body, i, 1)
		}
		return i, err
	})
	if err != nil {
		return env, err
	}
	if i = jsontext.SkipSpace(body, i); i != len(body) {
		return env, invalid("data after the JSON object", i)
	}
	if seen != allFields {
		return env, fmt.Errorf("%w: missing %q", ErrInvalid, fieldName(allFields&^seen))
	}
	copy(buf[idLen:], buf[maxFieldLen:maxFieldLen+typeLen])
	s := string(buf[:idLen+typeLen])
	env.ID, env.Type = s[:idLen], s[idLen:]
	return env, nil
}

// fieldName names the lowest routing field set in f.
func fieldName(f int) string {
	switch {
	case f&fieldID != 0:
		return "id"
	case f&fieldType != 0:
		return "type"
	case f&fieldCreated != 0:
		return "created"
	default:
		return "livemode"
	}
}

func invalid(reason string, offset int) error {
	return fmt.Errorf("%w: %s at offset %d", ErrInvalid, reason, offset)
}

// routingField returns the bit of the routing field that the key with the
// validated, still escaped content raw names, or 0.
func routingField(raw []byte, esc bool) int {
	var kb [8]byte
	if esc {
		n, ok := jsontext.Unescape(kb[:], raw)
		if !ok {
			return 0 // longer than any routing key
		}
		raw = kb[:n]
	}
	switch string(raw) {
	case "id":
		return fieldID
	case "type":
		return fieldType
	case "created":
		return fieldCreated
	case "livemode":
		return fieldLivemode
	}
	return 0
}

// isKey reports whether the validated, still escaped key content raw is
// name, matched case-insensitively as encoding/json matches struct fields.
func isKey(raw []byte, esc bool, name string) bool {
	var kb [8]byte
	if esc {
		n, ok := jsontext.Unescape(kb[:], raw)
		if !ok {
			return false // longer than any name asked for
		}
		raw = kb[:n]
	}
	return bytes.EqualFold(raw, []byte(name))
}

// dataField reads the value of a top-level data member at b[i], setting
// *object to the raw data.object when data is an object that has one
// (null clears it), and returns the offset after the value.
func dataField(b []byte, i int, object *[]byte) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return jsontext.SkipValue(b, i, 1)
	}
	return jsontext.Members(b, i, func(key []byte, esc bool, i int) (int, error) {
		end, err := jsontext.SkipValue(b, i, 2)
		if err == nil && isKey(key, esc, "object") {
			*object = b[i:end:end]
			if string(*object) == "null" {
				*object = nil
			}
		}
		return end, err
	})
}

// stringField reads the string value at b[i] unescaped into dst, which
// bounds its length, and returns its length and the offset after it.
func stringField(b []byte, i int, dst []byte, name string) (int, int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, i, fmt.Errorf("%w: %s must be a non-empty string of at most %d bytes", ErrInvalid, name, maxFieldLen)
	}
	end, esc, err := jsontext.ScanString(b, i)
	if err != nil {
		return 0, i, err
	}
	raw := b[i+1 : end-1]
	n, ok := len(raw), len(raw) <= len(dst)
	if esc {
		n, ok = jsontext.Unescape(dst, raw)
	} else if ok {
		copy(dst, raw)
	}
	if !ok || n == 0 {
		return 0, i, fmt.Errorf("%w: %s must be a non-empty string of at most %d bytes", ErrInvalid, name, maxFieldLen)
	}
	return n, end, nil
}

// createdField reads the positive integer at b[i]: digits only, no sign,
// fraction or exponent, fitting an int64.
func createdField(b []byte, i int) (int64, int, error) {
	end, err := jsontext.ScanNumber(b, i)
	if err != nil {
		return 0, i, fmt.Errorf("%w: created must be a positive integer", ErrInvalid)
	}
	var n int64
	for _, c := range b[i:end] {
		if c < '0' || c > '9' {
			return 0, i, fmt.Errorf("%w: created must be a positive integer", ErrInvalid)
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, i, fmt.Errorf("%w: created overflows int64", ErrInvalid)
		}
		n = n*10 + d
	}
	if n <= 0 {
		return 0, i, fmt.Errorf("%w: created must be a positive integer", ErrInvalid)
	}
	return n, end, nil
}

// boolField reads the literal true or false at b[i].
func boolField(b []byte, i int, name string) (bool, int, error) {
	if jsontext.HasLiteral(b, i, "true") {
		return true, i + 4, nil
	}
	if jsontext.HasLiteral(b, i, "false") {
		return false, i + 5, nil
	}
	return false, i, fmt.Errorf("%w: %s must be a boolean", ErrInvalid, name)
}
