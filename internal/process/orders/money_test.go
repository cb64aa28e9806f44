package orders_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/altafinex-webhooks/receiver/internal/process/orders"
)

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{4999, "usd", "49.99 USD"},
		{12900, "eur", "129.00 EUR"},
		{5, "usd", "0.05 USD"},
		{0, "usd", "0.00 USD"},
		{-150, "gbp", "-1.50 GBP"},
		{500, "jpy", "500 JPY"},
		{12000, "krw", "12000 KRW"},
		{0, "jpy", "0 JPY"},
		{1500, "kwd", "1.500 KWD"},
		{7, "bhd", "0.007 BHD"},
		{123456, "jod", "123.456 JOD"},
		{1000, "omr", "1.000 OMR"},
		{42, "tnd", "0.042 TND"},
		{4999, "USD", "49.99 USD"},
		{math.MinInt64, "usd", "-92233720368547758.08 USD"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := orders.FormatAmount(tc.minor, tc.currency); got != tc.want {
				t.Errorf("FormatAmount(%d, %q): want %q, got %q", tc.minor, tc.currency, tc.want, got)
			}
		})
	}
}

func ExampleFormatAmount() {
	fmt.Println(orders.FormatAmount(4999, "usd"))
	fmt.Println(orders.FormatAmount(500, "jpy"))
	fmt.Println(orders.FormatAmount(1500, "kwd"))
	// Output:
	// 49.99 USD
	// 500 JPY
	// 1.500 KWD
}
