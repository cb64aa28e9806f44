package jsontext

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// naiveSpecial is special byte by byte.
func naiveSpecial(x uint64) bool {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	for _, c := range b {
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return true
		}
	}
	return false
}

func TestSpecialMatchesBytewise(t *testing.T) {
	t.Run("each byte at each position", func(t *testing.T) {
		for pos := range 8 {
			for v := range 256 {
				b := []byte("aaaaaaaa")
				b[pos] = byte(v)
				x := binary.LittleEndian.Uint64(b)
				if got, want := special(x) != 0, naiveSpecial(x); got != want {
					t.Fatalf("special(%q) = %t, want %t", b, got, want)
				}
			}
		}
	})
	t.Run("random words", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		alphabet := []byte{0x00, 0x1f, 0x20, 0x21, '"', '#', '[', '\\', ']', 0x7f, 0x80, 0xff, 'a'}
		for range 200000 {
			var b [8]byte
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			x := binary.LittleEndian.Uint64(b[:])
			if got, want := special(x) != 0, naiveSpecial(x); got != want {
				t.Fatalf("special(%q) = %t, want %t", b, got, want)
			}
		}
	})
}
