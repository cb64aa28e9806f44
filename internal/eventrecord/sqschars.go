package eventrecord

// SQS's rule for the characters of a message body and of a String message
// attribute value: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
// #x10000-#x10FFFF, in valid UTF-8. SQS refuses a message with any other
// character (a raw U+FFFF inside a JSON string is valid JSON and still
// refused); moto_server does not check this, so the receiver checks it
// itself wherever it produces such a value.

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrNotSQSText is the cause of every CheckSQSText failure: SQS would
// refuse the text.
var ErrNotSQSText = errors.New("not a valid SQS string")

// SQSAllowed reports whether SQS accepts r in a message body or a String
// attribute value.
func SQSAllowed(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// CheckSQSText returns nil when SQS accepts s as a message body or a String
// attribute value: valid UTF-8 made only of characters SQSAllowed accepts. Otherwise
// the error, wrapping ErrNotSQSText, names the first offending character and
// its byte offset. An empty s passes: whether a value may be empty is the
// caller's rule (SQS refuses empty bodies and attribute values).
func CheckSQSText(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrNotSQSText, i)
			}
		}
		if !SQSAllowed(r) {
			return fmt.Errorf("%w: character %U at byte %d", ErrNotSQSText, r, i)
		}
	}
	return nil
}
