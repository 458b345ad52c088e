package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The character classes below follow HuggingFace tokenizers exactly rather
// than Go's unicode package: HF's Rust dependencies carry other Unicode
// versions than Go does, and matching HF to the token means matching their
// tables too. unicode_tables.go holds those tables; testdata/gen/tables.js
// regenerates it by probing HF itself.

// lowerRun maps code points Lo, Lo+Stride, ..., Hi to c+Delta.
type lowerRun struct {
	Lo, Hi rune
	Stride rune
	Delta  rune
}

// isWhiteSpace reports the Unicode White_Space property, which is what
// Rust's char::is_whitespace tests. The property has been stable since
// Unicode 6.3, so hard-coding it ties us to no Unicode version.
func isWhiteSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// isBertRemoved reports whether BertNormalizer's clean_text drops r.
func isBertRemoved(r rune) bool {
	if r < 0x80 {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7F
	}
	return unicode.Is(hfRemoved, r)
}

// isBertPunct reports whether BertPreTokenizer splits r off as punctuation:
// ASCII punctuation (which includes symbols such as $ + < = > ^ ` | ~) or a
// Unicode punctuation category.
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return r >= '!' && r <= '/' || r >= ':' && r <= '@' || r >= '[' && r <= '`' || r >= '{' && r <= '~'
	}
	return unicode.Is(hfPunct, r)
}

// isChinese reports whether BertNormalizer puts spaces around r.
func isChinese(r rune) bool {
	return r >= 0x3400 && unicode.Is(hfChinese, r)
}

// isNonspacingMark reports whether strip_accents drops r after NFD.
func isNonspacingMark(r rune) bool {
	return r >= 0x300 && unicode.Is(hfMark, r)
}

// appendLower appends the lowercase form of r as Rust's char::to_lowercase
// produces it (one code point, or two for U+0130).
func appendLower(dst []byte, r rune) []byte {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	}
	if s, ok := hfLowerMulti[r]; ok {
		return append(dst, s...)
	}
	return utf8.AppendRune(dst, lowerRune(r))
}

func lowerRune(r rune) rune {
	lo, hi := 0, len(hfLower)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		run := hfLower[m]
		switch {
		case r < run.Lo:
			hi = m
		case r > run.Hi:
			lo = m + 1
		default:
			if (r-run.Lo)%run.Stride == 0 {
				return r + run.Delta
			}
			return r
		}
	}
	return r
}

// Byte-level pre-tokenizer classes (see gpt2split.go).
const (
	classOther = iota
	classLetter
	classNumber
	classSpace
)

var asciiClass = func() (t [128]uint8) {
	for r := range rune(128) {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			t[r] = classLetter
		case '0' <= r && r <= '9':
			t[r] = classNumber
		case isWhiteSpace(r):
			t[r] = classSpace
		}
	}
	return t
}()

// gpt2Class classifies r as the GPT-2 pattern's \p{L}, \p{N} and \s see it.
func gpt2Class(r rune) uint8 {
	if r < 0x80 {
		return asciiClass[r]
	}
	switch {
	case isWhiteSpace(r):
		return classSpace
	case unicode.Is(hfLetter, r):
		return classLetter
	case unicode.Is(hfNumber, r):
		return classNumber
	}
	return classOther
}
