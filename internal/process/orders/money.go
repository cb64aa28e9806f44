package orders

import (
	"strconv"
	"strings"
)

// minorDigits returns how many decimal digits the minor unit of currency (a
// lower-case ISO 4217 code) has: 0 for the zero-decimal currencies, 3 for
// the three-decimal ones, 2 for every other.
func minorDigits(currency string) int {
	switch currency {
	case "bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "mga", "pyg",
		"rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf":
		return 0
	case "bhd", "iqd", "jod", "kwd", "lyd", "omr", "tnd":
		return 3
	default:
		return 2
	}
}

// FormatAmount renders an amount in minor units for people, with the
// currency's number of decimals and its upper-case code: 4999 "usd" is
// "49.99 USD", 500 "jpy" is "500 JPY", 1500 "kwd" is "1.500 KWD".
func FormatAmount(minor int64, currency string) string {
	code := strings.ToLower(strings.TrimSpace(currency))
	digits := minorDigits(code)
	sign := ""
	// Work on the magnitude as uint64, so math.MinInt64 does not overflow.
	mag := uint64(minor)
	if minor < 0 {
		sign, mag = "-", -mag
	}
	s := strconv.FormatUint(mag, 10)
	if digits > 0 {
		if len(s) <= digits {
			s = strings.Repeat("0", digits-len(s)+1) + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	return sign + s + " " + strings.ToUpper(code)
}
