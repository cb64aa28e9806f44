package callcounttest_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/altafinex-webhooks/receiver/internal/testkit/callcounttest"
)

func TestItemSize(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	tests := []struct {
		name string
		item map[string]types.AttributeValue
		want int
	}{
		{"empty", nil, 0},
		{"string", map[string]types.AttributeValue{"id": s("evt_1")}, 2 + 5},
		{"UTF-8 string", map[string]types.AttributeValue{"n": s("Renée")}, 1 + 6},
		{"number, trailing zeros of an integer trimmed", map[string]types.AttributeValue{"ttl": n("1795795500")}, 3 + 4 + 1},
		{"number, 10 digits", map[string]types.AttributeValue{"ttl": n("1795795501")}, 3 + 5 + 1},
		{"number, odd digits", map[string]types.AttributeValue{"a": n("12345")}, 1 + 3 + 1},
		{"number, zeros trimmed", map[string]types.AttributeValue{"a": n("-000120.500")}, 1 + 2 + 1},
		{"number zero", map[string]types.AttributeValue{"a": n("0")}, 1 + 1 + 1},
		{"binary", map[string]types.AttributeValue{"body": &types.AttributeValueMemberB{Value: make([]byte, 100)}}, 4 + 100},
		{"bool and null", map[string]types.AttributeValue{"ok": &types.AttributeValueMemberBOOL{Value: true}, "x": &types.AttributeValueMemberNULL{Value: true}}, 2 + 1 + 1 + 1},
		{"string set", map[string]types.AttributeValue{"ss": &types.AttributeValueMemberSS{Value: []string{"ab", "cde"}}}, 2 + 5},
		{"number set", map[string]types.AttributeValue{"ns": &types.AttributeValueMemberNS{Value: []string{"1", "123"}}}, 2 + 2 + 3},
		{"binary set", map[string]types.AttributeValue{"bs": &types.AttributeValueMemberBS{Value: [][]byte{{1, 2}, {3}}}}, 2 + 3},
		{"empty list", map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{}}, 1 + 3},
		{"list", map[string]types.AttributeValue{"steps": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("order"), s("email")}}}, 5 + 3 + (1 + 5) + (1 + 5)},
		{"map", map[string]types.AttributeValue{"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": n("7"), "kk": s("v")}}}, 1 + 3 + (1 + 1 + 2) + (1 + 2 + 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := callcounttest.ItemSize(tc.item); got != tc.want {
				t.Errorf("ItemSize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestWriteUnits(t *testing.T) {
	tests := []struct {
		bytes, want int
	}{
		{0, 1}, {1, 1}, {1024, 1}, {1025, 2}, {3000, 3},
	}
	for _, tc := range tests {
		// "b" (1 byte) + a binary value: bytes in all.
		item := map[string]types.AttributeValue{"b": &types.AttributeValueMemberB{Value: make([]byte, max(0, tc.bytes-1))}}
		if tc.bytes == 0 {
			item = nil
		}
		if got := callcounttest.WriteUnits(item); got != tc.want {
			t.Errorf("WriteUnits(%d bytes) = %d, want %d", callcounttest.ItemSize(item), got, tc.want)
		}
	}
}
