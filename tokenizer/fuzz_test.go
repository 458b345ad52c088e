package tokenizer

import (
	"sync"
	"testing"
)

var (
	fuzzOnce sync.Once
	fuzzToks []*Tokenizer
	fuzzErr  error
)

func fuzzTokenizers(t *testing.T) []*Tokenizer {
	fuzzOnce.Do(func() {
		for _, dir := range []string{"testdata/bert-base-uncased", "testdata/bert-base-cased", "testdata/roberta-base"} {
			tok, err := Load(dir)
			if err != nil {
				fuzzErr = err
				return
			}
			fuzzToks = append(fuzzToks, tok)
		}
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzToks
}

// FuzzEncode checks that no input panics and that every encoding is well
// formed: ids in the vocabulary, rows of one length, the length limit kept.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello, world!", "a\xffb\xc3", "\xed\xa0\x80", "İ\u0301ǅ", "<mask> [MASK]", " \t\n", "'s'll", "中文😀"} {
		f.Add(s, "pair", true, 8)
		f.Add(s, "", false, 3)
	}
	f.Fuzz(func(t *testing.T, text, pair string, hasPair bool, maxLen int) {
		maxLen = maxLen%600 - 50 // include zero and negative limits
		for _, tok := range fuzzTokenizers(t) {
			enc := tok.Encode(text, pair, hasPair, maxLen)
			n := len(enc.InputIDs)
			if len(enc.TokenTypeIDs) != n || len(enc.AttentionMask) != n {
				t.Fatalf("%s: rows of lengths %d, %d, %d", tok.Kind(), n, len(enc.TokenTypeIDs), len(enc.AttentionMask))
			}
			limit := maxLen
			if limit <= 0 {
				limit = DefaultMaxSeqLength
			}
			if n > max(limit, 4) {
				t.Fatalf("%s: %d ids for max length %d", tok.Kind(), n, limit)
			}
			for _, id := range enc.InputIDs {
				if tok.Token(id) == "" {
					t.Fatalf("%s: id %d is not in the vocabulary", tok.Kind(), id)
				}
			}
			for _, id := range tok.IDs(text) {
				if tok.Token(id) == "" {
					t.Fatalf("%s: id %d is not in the vocabulary", tok.Kind(), id)
				}
			}
		}
	})
}
