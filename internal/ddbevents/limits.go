package ddbevents

import (
	"unicode/utf8"

	"github.com/altafinex-webhooks/receiver/internal/eventrecord"
)

// The sizes that keep every record storable. A record that keeps its body
// is one DynamoDB item; DynamoDB refuses items over 400 KB.
const (
	// ItemLimit is the item size every record stays under: DynamoDB's
	// documented 400 KB read as 400,000 bytes, below both what AWS
	// accepts (409,600) and what moto_server enforces (405,000).
	ItemLimit = 400_000
	// MetadataBytes bounds everything in an item but its body: attribute
	// names and values, counted as DynamoDB counts them (a number at most
	// 21 bytes, a list 3 bytes plus 1 per element). The fixed attributes
	// take at most about 3,000 bytes (the longest key, a MismatchKey, 327;
	// the type 255; the error MaxErrorBytes; the notes MaxNotes of
	// MaxNoteBytes), which leaves about 3.7 KB for the names of completed
	// steps.
	MetadataBytes = ItemLimit - eventrecord.MaxBodyBytes // 6,784
	// MaxErrorBytes is the longest error text a record keeps; a longer
	// one is clipped at a character boundary and ends in "…".
	MaxErrorBytes = 1024
	// MaxNotes and MaxNoteBytes bound the notes a record keeps: the first
	// MaxNotes, each clipped like an error to MaxNoteBytes.
	MaxNotes     = 5
	MaxNoteBytes = 200
)

// clipError returns s clipped to at most MaxErrorBytes bytes, cut at a
// UTF-8 character boundary and ending in "…" when it was cut.
func clipError(s string) string { return clip(s, MaxErrorBytes) }

// clipNotes returns the first MaxNotes of notes, each clipped to
// MaxNoteBytes.
func clipNotes(notes []string) []string {
	out := make([]string, 0, min(len(notes), MaxNotes))
	for _, n := range notes[:min(len(notes), MaxNotes)] {
		out = append(out, clip(n, MaxNoteBytes))
	}
	return out
}

// clip returns s clipped to at most limit bytes, cut at a UTF-8 character
// boundary and ending in "…" when it was cut.
func clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
