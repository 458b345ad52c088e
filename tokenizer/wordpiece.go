package tokenizer

import "unicode/utf8"

// wordPiece is HF's WordPiece model: greedy longest-match-first over the
// vocabulary, continuation pieces carrying a prefix ("##").
type wordPiece struct {
	vocab    map[string]int32
	prefix   string
	maxChars int   // longer words become unk without being looked at
	unk      int32 // id of the unknown token
}

// appendIDs appends the ids of one word's pieces. A word that cannot be
// covered completely becomes a single unk, as in HF.
func (w *wordPiece) appendIDs(dst []int32, word string, sc *scratch) []int32 {
	if len(word) > w.maxChars && utf8.RuneCountInString(word) > w.maxChars {
		return append(dst, w.unk)
	}
	first := len(dst)
	for pos := 0; pos < len(word); {
		end := len(word)
		id := int32(-1)
		for end > pos {
			var ok bool
			if pos == 0 {
				id, ok = w.vocab[word[:end]]
			} else {
				sc.key = append(append(sc.key[:0], w.prefix...), word[pos:end]...)
				id, ok = w.vocab[string(sc.key)] // the compiler does not allocate here
			}
			if ok {
				break
			}
			id = -1
			_, size := utf8.DecodeLastRuneInString(word[pos:end])
			end -= size
		}
		if id < 0 {
			return append(dst[:first], w.unk)
		}
		dst = append(dst, id)
		pos = end
	}
	return dst
}

// appendBertWords runs HF's BertPreTokenizer over normalised text (split on
// whitespace, isolate each punctuation character) and appends the WordPiece
// ids of every word.
func (w *wordPiece) appendBertWords(dst []int32, text string, sc *scratch) []int32 {
	start := -1
	for i := 0; i < len(text) && len(dst) < sc.stop; {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		switch {
		case isWhiteSpace(r):
			if start >= 0 {
				dst = w.appendIDs(dst, text[start:i], sc)
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				dst = w.appendIDs(dst, text[start:i], sc)
				start = -1
				if len(dst) >= sc.stop {
					return dst
				}
			}
			dst = w.appendIDs(dst, text[i:i+size], sc)
		default:
			if start < 0 {
				start = i
			}
		}
		i += size
	}
	if start >= 0 {
		dst = w.appendIDs(dst, text[start:], sc)
	}
	return dst
}
