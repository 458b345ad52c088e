package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of HF's added vocabulary: text matched verbatim in
// the input before any model runs, such as [MASK] or <s>.
type addedToken struct {
	Content    string
	ID         int32
	SingleWord bool // only match as a whole word
	LStrip     bool // also swallow whitespace on the left
	RStrip     bool // also swallow whitespace on the right
	Normalized bool // match against normalised rather than raw text
	Special    bool
}

// addedVocab finds added tokens in text with the leftmost-longest rule of
// HF's AddedVocabulary.
type addedVocab struct {
	tokens []addedToken
	raw    matcher // tokens with Normalized false, matched on raw text
	norm   matcher // tokens with Normalized true, matched on normalised text
}

type matcher struct {
	patterns []string // longest first
	tokens   []*addedToken
	first    [256]bool // possible first bytes, to skip most positions fast
}

// build prepares the matchers; normalize maps a normalised token's content
// to the form it takes in normalised text.
func (a *addedVocab) build(normalize func(string) string) {
	a.raw, a.norm = matcher{}, matcher{}
	for i := range a.tokens {
		tok := &a.tokens[i]
		if tok.Content == "" {
			continue
		}
		if tok.Normalized {
			a.norm.add(normalize(tok.Content), tok)
		} else {
			a.raw.add(tok.Content, tok)
		}
	}
}

func (m *matcher) add(pattern string, tok *addedToken) {
	if pattern == "" {
		return
	}
	i := sort.Search(len(m.patterns), func(i int) bool { return len(m.patterns[i]) < len(pattern) })
	m.patterns = append(m.patterns[:i], append([]string{pattern}, m.patterns[i:]...)...)
	m.tokens = append(m.tokens[:i], append([]*addedToken{tok}, m.tokens[i:]...)...)
	m.first[pattern[0]] = true
}

// next finds the first added token in s at or after from. It returns the
// span the token covers (widened by LStrip/RStrip, never back before from)
// and the token's id.
func (m *matcher) next(s string, from int) (start, stop int, id int32, ok bool) {
	if len(m.patterns) == 0 {
		return 0, 0, 0, false
	}
	for i := from; i < len(s); i++ {
		if !m.first[s[i]] {
			continue
		}
		for k, p := range m.patterns {
			if !strings.HasPrefix(s[i:], p) {
				continue
			}
			tok, end := m.tokens[k], i+len(p)
			if tok.SingleWord && (endsWithWord(s[:i]) || startsWithWord(s[end:])) {
				// HF drops this match and searches on after it.
				i = end - 1
				break
			}
			start, stop = i, end
			if tok.LStrip {
				for start > from {
					r, n := utf8.DecodeLastRuneInString(s[from:start])
					if !isWhiteSpace(r) {
						break
					}
					start -= n
				}
			}
			if tok.RStrip {
				for stop < len(s) {
					r, n := utf8.DecodeRuneInString(s[stop:])
					if !isWhiteSpace(r) {
						break
					}
					stop += n
				}
			}
			return start, stop, tok.ID, true
		}
	}
	return 0, 0, 0, false
}

func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func endsWithWord(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isWordChar(r)
}

func startsWithWord(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && isWordChar(r)
}
