package tokenizer

import "unicode/utf8"

// byteToRune is GPT-2's byte-level alphabet: every byte is shown as a
// printable code point so that BPE symbols are text. Printable Latin-1
// bytes stand for themselves; the other 68 bytes map, in order, to U+0100
// onwards.
var byteToRune = func() (t [256]rune) {
	n := rune(0)
	for b := range 256 {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

// byteLevel returns the byte-level form of s: each byte as its alphabet
// code point.
func byteLevel(s string) string {
	buf := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, byteToRune[s[i]])
	}
	return string(buf)
}
