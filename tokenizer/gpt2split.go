package tokenizer

import "unicode/utf8"

// GPT-2's pre-tokenisation pattern, which RoBERTa's ByteLevel pre-tokenizer
// uses:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// Go's regexp has no look-ahead, so gpt2Piece implements the pattern's
// leftmost-first semantics by hand. The matches tile the input: every
// character belongs to exactly one piece.

// gpt2Piece returns the end of the piece that starts at s[i:].
func gpt2Piece(s string, i int) int {
	r, size := decodeRune(s, i)
	if r == '\'' {
		if n := contraction(s[i+1:]); n > 0 {
			return i + 1 + n
		}
	}
	if r == ' ' && i+size < len(s) {
		// " ?X+": the optional space joins a run of letters, numbers or
		// other characters that follows it.
		next, _ := decodeRune(s, i+size)
		if c := gpt2Class(next); c != classSpace {
			return runEnd(s, i+size, c)
		}
	}
	c := gpt2Class(r)
	if c != classSpace {
		return runEnd(s, i, c)
	}
	// A whitespace run. "\s+(?!\S)" takes it all at the end of the input,
	// and otherwise all but its last character (which then starts the next
	// piece, joining a word if it is a space); a run of one character
	// before non-space falls through to "\s+".
	end, last := i, i
	for end < len(s) {
		r, n := decodeRune(s, end)
		if gpt2Class(r) != classSpace {
			break
		}
		last = end
		end += n
	}
	if end == len(s) || last == i {
		return end
	}
	return last
}

// contraction returns the length of the contraction suffix ('s, 't, 're,
// 've, 'm, 'll, 'd, case-sensitive) that s starts with after the
// apostrophe, or 0.
func contraction(s string) int {
	if len(s) == 0 {
		return 0
	}
	switch s[0] {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) > 1 && s[1] == 'e' {
			return 2
		}
	case 'l':
		if len(s) > 1 && s[1] == 'l' {
			return 2
		}
	}
	return 0
}

// runEnd returns the end of the run of class c characters starting at i.
func runEnd(s string, i int, c uint8) int {
	for i < len(s) {
		r, n := decodeRune(s, i)
		if gpt2Class(r) != c {
			break
		}
		i += n
	}
	return i
}

func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}
