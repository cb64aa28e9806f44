// Package envelope parses the routing fields of an Altafinex event envelope:
// id, type, created and livemode, and nothing else. The body stays opaque
// bytes; the processor parses data.object itself.
//
// Parse is on the ingest hot path, so it is a single-pass scanner over the
// body that validates all of it as strict JSON (RFC 8259) and UTF-8 while
// picking out the four top-level fields, with one allocation on success.
package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalid is the cause of every parse failure: the body is not a valid
// event envelope. A validly signed body that fails here is a permanent
// failure, not something a retry can fix.
var ErrInvalid = errors.New("invalid envelope")

const (
	// maxDepth is the deepest nesting of objects and arrays Parse accepts;
	// the top-level object is depth 1.
	maxDepth = 64
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

	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return env, invalid("body is not a JSON object", i)
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		i++
	} else {
		for {
			if i >= len(body) || body[i] != '"' {
				return env, invalid("expected a string key", i)
			}
			end, esc, err := scanString(body, i)
			if err != nil {
				return env, err
			}
			f := routingField(body[i+1:end-1], esc)
			i = skipSpace(body, end)
			if i >= len(body) || body[i] != ':' {
				return env, invalid("expected a colon", i)
			}
			i = skipSpace(body, i+1)
			if f != 0 && seen&f != 0 {
				return env, fmt.Errorf("%w: duplicate key %q", ErrInvalid, fieldName(f))
			}
			seen |= f
			switch f {
			case fieldID:
				idLen, i, err = stringField(body, i, buf[:maxFieldLen], "id")
			case fieldType:
				typeLen, i, err = stringField(body, i, buf[maxFieldLen:], "type")
			case fieldCreated:
				env.Created, i, err = createdField(body, i)
			case fieldLivemode:
				env.Livemode, i, err = boolField(body, i, "livemode")
			default:
				i, err = skipValue(body, i, 1)
			}
			if err != nil {
				return env, err
			}
			i = skipSpace(body, i)
			if i < len(body) && body[i] == ',' {
				i = skipSpace(body, i+1)
				continue
			}
			if i < len(body) && body[i] == '}' {
				i++
				break
			}
			return env, invalid("expected a comma or a closing brace", i)
		}
	}
	if i = skipSpace(body, i); i != len(body) {
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
		n, ok := unescape(kb[:], raw)
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

// stringField reads the string value at b[i] unescaped into dst, which
// bounds its length, and returns its length and the offset after it.
func stringField(b []byte, i int, dst []byte, name string) (int, int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, i, fmt.Errorf("%w: %s must be a non-empty string of at most %d bytes", ErrInvalid, name, maxFieldLen)
	}
	end, esc, err := scanString(b, i)
	if err != nil {
		return 0, i, err
	}
	raw := b[i+1 : end-1]
	n, ok := len(raw), len(raw) <= len(dst)
	if esc {
		n, ok = unescape(dst, raw)
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
	end, err := scanNumber(b, i)
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
	if hasLiteral(b, i, "true") {
		return true, i + 4, nil
	}
	if hasLiteral(b, i, "false") {
		return false, i + 5, nil
	}
	return false, i, fmt.Errorf("%w: %s must be a boolean", ErrInvalid, name)
}

func hasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue validates the JSON value at b[i], inside containers nested
// depth deep, and returns the offset after it.
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, invalid("unexpected end of input", i)
	}
	switch b[i] {
	case '"':
		end, _, err := scanString(b, i)
		return end, err
	case '{':
		return skipContainer(b, i, depth, '}')
	case '[':
		return skipContainer(b, i, depth, ']')
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		return scanNumber(b, i)
	}
}

// skipContainer validates the object or array opening at b[i] and returns
// the offset after its closing byte.
func skipContainer(b []byte, i, depth int, closing byte) (int, error) {
	depth++
	if depth > maxDepth {
		return i, invalid("nested too deeply", i)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, nil
	}
	var err error
	for {
		if closing == '}' {
			if i >= len(b) || b[i] != '"' {
				return i, invalid("expected a string key", i)
			}
			if i, _, err = scanString(b, i); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, invalid("expected a colon", i)
			}
			i = skipSpace(b, i+1)
		}
		if i, err = skipValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return i, invalid("unexpected end of input", i)
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closing:
			return i + 1, nil
		default:
			return i, invalid("expected a comma or a closing bracket", i)
		}
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if !hasLiteral(b, i, lit) {
		return i, invalid("invalid literal", i)
	}
	return i + len(lit), nil
}

// scanNumber validates the number at b[i] against the RFC 8259 grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the offset
// after it.
func scanNumber(b []byte, i int) (int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return start, invalid("invalid value", i)
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return start, invalid("invalid number", j)
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return start, invalid("invalid number", j)
		}
		i = j
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special reports, as a non-zero value, whether any byte of the eight in x
// needs a closer look inside a string: a quote, a backslash, a control
// character or a non-ASCII byte. When no byte of x has its high bit set,
// each subtraction sets some high bit exactly when some byte is below the
// subtrahend (a borrow can only start at such a byte), so the test is
// exact; when one has, the result is non-zero anyway.
func special(x uint64) uint64 {
	q := x ^ (ones * '"')  // zero bytes where x has a quote
	s := x ^ (ones * '\\') // zero bytes where x has a backslash
	return ((q - ones) | (s - ones) | (x - ones*0x20) | x) & highs
}

// scanString validates the string opening at b[i] and returns the offset
// after its closing quote and whether it contains escapes.
func scanString(b []byte, i int) (int, bool, error) {
	start := i
	i++
	esc := false
	for {
		for len(b)-i >= 8 && special(binary.LittleEndian.Uint64(b[i:])) == 0 {
			i += 8
		}
		if i >= len(b) {
			return i, esc, invalid("unterminated string", start)
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return i, esc, invalid("unterminated string", start)
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || hex4(b[i+2:i+6]) < 0 {
					return i, esc, invalid("invalid \\u escape", i)
				}
				i += 6
			default:
				return i, esc, invalid("invalid escape", i)
			}
		case c < 0x20:
			return i, esc, invalid("control character in string", i)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, esc, invalid("invalid UTF-8", i)
			}
			i += size
		}
	}
}

// hex4 decodes four hex digits, or returns -1.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape writes the validated string content raw, unescaped, into dst
// and returns its length, or false if it does not fit. Like encoding/json,
// it turns a \u escape of an unpaired surrogate into U+FFFD.
func unescape(dst, raw []byte) (int, bool) {
	n := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '\\' {
			switch raw[i+1] {
			case 'u':
				r := hex4(raw[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if len(raw)-i >= 6 && raw[i] == '\\' && raw[i+1] == 'u' {
						r2 = hex4(raw[i+2:])
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				if utf8.RuneLen(r) > len(dst)-n {
					return n, false
				}
				n += utf8.EncodeRune(dst[n:], r)
				continue
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			default: // '"', '\\', '/'
				c = raw[i+1]
			}
			i += 2
		} else {
			i++
		}
		if n >= len(dst) {
			return n, false
		}
		dst[n] = c
		n++
	}
	return n, true
}
