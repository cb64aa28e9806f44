// Package envelope parses the routing fields of an Altafinex event envelope:
// id, type, created and livemode, and nothing else. The body stays opaque
// bytes; the processor parses data.object itself.
package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ErrInvalid is the cause of every parse failure: the body is not a valid
// event envelope. A validly signed body that fails here is a permanent
// failure, not something a retry can fix.
var ErrInvalid = errors.New("invalid envelope")

// Envelope holds the fields the receiver routes on.
type Envelope struct {
	ID       string
	Type     string
	Created  int64 // Unix seconds
	Livemode bool
}

// Parse reads the routing fields of body. It requires a JSON object with a
// non-empty string id and type, a positive integer created and a boolean
// livemode; unknown fields are ignored. A routing field that appears twice
// is refused, because two JSON parsers could then disagree on which event
// this is. Errors wrap ErrInvalid.
func Parse(body []byte) (Envelope, error) {
	var env Envelope
	if !utf8.Valid(body) {
		return env, fmt.Errorf("%w: body is not valid UTF-8", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return env, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return env, fmt.Errorf("%w: body is not a JSON object", ErrInvalid)
	}
	seen := make(map[string]bool, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return env, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		key, _ := tok.(string)
		switch key {
		case "id", "type", "created", "livemode":
			if seen[key] {
				return env, fmt.Errorf("%w: duplicate key %q", ErrInvalid, key)
			}
			seen[key] = true
			if err := decodeField(dec, key, &env); err != nil {
				return env, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return env, fmt.Errorf("%w: %v", ErrInvalid, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return env, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return env, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	for _, k := range [...]string{"id", "type", "created", "livemode"} {
		if !seen[k] {
			return env, fmt.Errorf("%w: missing %q", ErrInvalid, k)
		}
	}
	return env, nil
}

func decodeField(dec *json.Decoder, key string, env *Envelope) error {
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, key, err)
	}
	switch key {
	case "id", "type":
		s, ok := v.(string)
		if !ok || s == "" || len(s) > 255 {
			return fmt.Errorf("%w: %s must be a non-empty string of at most 255 bytes", ErrInvalid, key)
		}
		if key == "id" {
			env.ID = s
		} else {
			env.Type = s
		}
	case "created":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%w: created must be a number", ErrInvalid)
		}
		c, err := n.Int64()
		if err != nil || c <= 0 {
			return fmt.Errorf("%w: created must be a positive integer", ErrInvalid)
		}
		env.Created = c
	case "livemode":
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%w: livemode must be a boolean", ErrInvalid)
		}
		env.Livemode = b
	}
	return nil
}
