// Package jsontext holds the receiver's hand-written JSON primitives, for
// the hot paths where encoding/json's reflection costs more than the work:
// a single-pass scanner that validates strict JSON (RFC 8259) and UTF-8
// without building values, so a caller picks out the few fields it needs
// and skips the rest (internal/envelope for the event body, internal/apigw
// for the Lambda invocation), and appenders that write strings and numbers
// exactly as encoding/json does (internal/metrics, internal/apigw).
package jsontext

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays SkipValue accepts,
// counting the container the caller is in as depth 1.
const MaxDepth = 64

// SyntaxError says where and why the input is not valid JSON.
type SyntaxError struct {
	Reason string
	Offset int
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at offset %d", e.Reason, e.Offset)
}

func invalid(reason string, offset int) error {
	return &SyntaxError{Reason: reason, Offset: offset}
}

// HasLiteral reports whether b holds lit at offset i.
func HasLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// SkipSpace returns the offset of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
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

// SkipValue validates the JSON value at b[i], inside containers nested
// depth deep, and returns the offset after it.
func SkipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, invalid("unexpected end of input", i)
	}
	switch b[i] {
	case '"':
		end, _, err := ScanString(b, i)
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
		return ScanNumber(b, i)
	}
}

// skipContainer validates the object or array opening at b[i] and returns
// the offset after its closing byte.
func skipContainer(b []byte, i, depth int, closing byte) (int, error) {
	depth++
	if depth > MaxDepth {
		return i, invalid("nested too deeply", i)
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == closing {
		return i + 1, nil
	}
	var err error
	for {
		if closing == '}' {
			if i >= len(b) || b[i] != '"' {
				return i, invalid("expected a string key", i)
			}
			if i, _, err = ScanString(b, i); err != nil {
				return i, err
			}
			i = SkipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, invalid("expected a colon", i)
			}
			i = SkipSpace(b, i+1)
		}
		if i, err = SkipValue(b, i, depth); err != nil {
			return i, err
		}
		i = SkipSpace(b, i)
		if i >= len(b) {
			return i, invalid("unexpected end of input", i)
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case closing:
			return i + 1, nil
		default:
			return i, invalid("expected a comma or a closing bracket", i)
		}
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if !HasLiteral(b, i, lit) {
		return i, invalid("invalid literal", i)
	}
	return i + len(lit), nil
}

// ScanNumber validates the number at b[i] against the RFC 8259 grammar,
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the offset
// after it.
func ScanNumber(b []byte, i int) (int, error) {
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

// ScanString validates the string opening at b[i] and returns the offset
// after its closing quote and whether it contains escapes.
func ScanString(b []byte, i int) (int, bool, error) {
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

// Unescape writes the validated string content raw, unescaped, into dst
// and returns its length, or false if it does not fit. Like encoding/json,
// it turns a \u escape of an unpaired surrogate into U+FFFD.
func Unescape(dst, raw []byte) (int, bool) {
	n := 0
	for len(raw) > 0 {
		c := raw[0]
		switch {
		case c != '\\':
			raw = raw[1:]
		case raw[1] != 'u':
			c = simpleEscape(raw[1])
			raw = raw[2:]
		default:
			var r rune
			r, raw = unicodeEscape(raw)
			if utf8.RuneLen(r) > len(dst)-n {
				return n, false
			}
			n += utf8.EncodeRune(dst[n:], r)
			continue
		}
		if n >= len(dst) {
			return n, false
		}
		dst[n] = c
		n++
	}
	return n, true
}

// AppendUnescaped appends the validated string content raw (what lies
// between the quotes of a string ScanString accepted), unescaped, to dst.
// It copies the runs between backslashes whole, so a long string with few
// escapes costs little more than a copy. Unpaired surrogates become U+FFFD,
// as with encoding/json.
func AppendUnescaped(dst, raw []byte) []byte {
	for {
		k := bytes.IndexByte(raw, '\\')
		if k < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:k]...)
		raw = raw[k:]
		if raw[1] != 'u' {
			dst = append(dst, simpleEscape(raw[1]))
			raw = raw[2:]
			continue
		}
		var r rune
		r, raw = unicodeEscape(raw)
		dst = utf8.AppendRune(dst, r)
	}
}

// simpleEscape is the byte a one-letter escape (\" \\ \/ \b \f \n \r \t)
// stands for.
func simpleEscape(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	default: // '"', '\\', '/'
		return c
	}
}

// unicodeEscape decodes the validated \uXXXX escape at the start of raw,
// with the low half that follows a high surrogate, and returns the rune
// (U+FFFD for an unpaired surrogate) and the rest of raw.
func unicodeEscape(raw []byte) (rune, []byte) {
	r := hex4(raw[2:])
	raw = raw[6:]
	if !utf16.IsSurrogate(r) {
		return r, raw
	}
	r2 := rune(-1)
	if len(raw) >= 6 && raw[0] == '\\' && raw[1] == 'u' {
		r2 = hex4(raw[2:])
	}
	if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
		return d, raw[6:]
	}
	return utf8.RuneError, raw
}

// AppendStringContent validates the string opening at b[i], as ScanString does,
// and appends its content, unescaped as AppendUnescaped does, to dst, in
// one pass. It returns dst and the offset after the closing quote.
func AppendStringContent(dst, b []byte, i int) ([]byte, int, error) {
	start := i
	i++
	run := i
	for {
		for len(b)-i >= 8 && special(binary.LittleEndian.Uint64(b[i:])) == 0 {
			i += 8
		}
		if i >= len(b) {
			return dst, i, invalid("unterminated string", start)
		}
		switch c := b[i]; {
		case c == '"':
			return append(dst, b[run:i]...), i + 1, nil
		case c == '\\':
			dst = append(dst, b[run:i]...)
			if i+1 >= len(b) {
				return dst, i, invalid("unterminated string", start)
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				dst = append(dst, simpleEscape(e))
				i += 2
			case 'u':
				if len(b)-i < 6 || hex4(b[i+2:i+6]) < 0 {
					return dst, i, invalid("invalid \\u escape", i)
				}
				r, rest := unicodeEscape(b[i:])
				dst = utf8.AppendRune(dst, r)
				i = len(b) - len(rest)
			default:
				return dst, i, invalid("invalid escape", i)
			}
			run = i
		case c < 0x20:
			return dst, i, invalid("control character in string", i)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, i, invalid("invalid UTF-8", i)
			}
			i += size
		}
	}
}

// Members walks the object opening at b[i]: for each member it calls
// member with the key's still escaped content, whether it holds escapes,
// and the offset of the value, and member returns the offset after the
// value. Members returns the offset after the object, or the first error,
// member's or a *SyntaxError.
func Members(b []byte, i int, member func(key []byte, esc bool, i int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return i, invalid("expected an object", i)
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, invalid("expected a string key", i)
		}
		end, esc, err := ScanString(b, i)
		if err != nil {
			return i, err
		}
		key := b[i+1 : end-1]
		i = SkipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return i, invalid("expected a colon", i)
		}
		if i, err = member(key, esc, SkipSpace(b, i+1)); err != nil {
			return i, err
		}
		i = SkipSpace(b, i)
		if i >= len(b) {
			return i, invalid("unexpected end of input", i)
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, invalid("expected a comma or a closing brace", i)
		}
	}
}
