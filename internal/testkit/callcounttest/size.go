package callcounttest

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// WriteUnitBytes is the item size one DynamoDB write request unit covers.
const WriteUnitBytes = 1024

// ItemSize returns the size of a DynamoDB item by DynamoDB's rules
// (Developer Guide, "DynamoDB item sizes and formats"): per attribute, the
// UTF-8 length of its name plus the size of its value, where
//   - a string is its UTF-8 length, a binary its raw length;
//   - a number is 1 byte per two significant digits plus 1 (leading and
//     trailing zeros trimmed);
//   - a Boolean or null is 1 byte;
//   - a list or map is 3 bytes plus its elements, each element 1 more byte
//     (a map element also counts its key);
//   - a set is the sum of its elements.
//
// The figure is DynamoDB's own approximation: it decides write request
// units (one per started WriteUnitBytes) and the 400 KB limit.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// WriteUnits returns the write request units one write of item consumes
// on an on-demand table: one per started KB, at least one.
func WriteUnits(item map[string]types.AttributeValue) int {
	return max(1, (ItemSize(item)+WriteUnitBytes-1)/WriteUnitBytes)
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + valueSize(e)
		}
		return n
	default:
		return 0
	}
}

// numberSize is 1 byte per two significant digits, rounded up, plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := strings.Replace(mant, ".", "", 1)
	digits = strings.TrimLeft(digits, "0")
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return 1 + 1 // zero: one digit
	}
	return (len(digits)+1)/2 + 1
}
