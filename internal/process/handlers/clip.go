package handlers

import "unicode/utf8"

// clipTo returns s cut to max characters, the last one "…" when it was cut:
// the first max-1 characters of s, then "…". Bytes that are not UTF-8 count
// one character each. The emails (MaxEmailFieldRunes) and the domain events
// (MaxDetailTextRunes, MaxDetailIDRunes, MaxDetailOrderIDRunes) cut the
// payload's texts with it. max must be at least 1.
func clipTo(s string, max int) string {
	n := 0
	for i := range s {
		if n == max-1 {
			if utf8.RuneCountInString(s[i:]) > 1 {
				return s[:i] + "…"
			}
			return s
		}
		n++
	}
	return s
}
