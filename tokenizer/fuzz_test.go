package tokenizer

import (
	"sync"
	"testing"
)

// shared caches the tokenizers in testdata: loading roberta-base's merges
// takes a while, and Tokenizers are safe to share.
var shared sync.Map // dir → func() (*Tokenizer, error)

func loadShared(t testing.TB, dir string) *Tokenizer {
	t.Helper()
	f, _ := shared.LoadOrStore(dir, sync.OnceValues(func() (*Tokenizer, error) { return Load(dir) }))
	tok, err := f.(func() (*Tokenizer, error))()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func fuzzTokenizers(t *testing.T) []*Tokenizer {
	var toks []*Tokenizer
	for _, dir := range []string{"testdata/bert-base-uncased", "testdata/bert-base-cased", "testdata/roberta-base"} {
		toks = append(toks, loadShared(t, dir))
	}
	return toks
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
