package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// golden is one line of testdata/golden/*.jsonl, written by
// testdata/gen/gen.js with HuggingFace tokenizers.
type golden struct {
	Input         string   `json:"input"`
	Pair          *string  `json:"pair"`
	MaxLength     int      `json:"max_length"`
	Tokens        []string `json:"tokens"`
	IDs           []int32  `json:"ids"`
	TokenTypeIDs  []int32  `json:"token_type_ids"`
	AttentionMask []int32  `json:"attention_mask"`
	Pieces        []string `json:"pieces"`    // single inputs only: no specials, no truncation
	PieceIDs      []int32  `json:"piece_ids"` // ditto
}

func readGolden(t *testing.T, name string) []golden {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var g golden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("%s:%d: %v", name, len(out)+1, err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// vocabOnly copies a tokenizer folder's vocabulary files (not tokenizer.json)
// into a temporary folder, to test loading without tokenizer.json.
func vocabOnly(t *testing.T, dir string, names ...string) string {
	t.Helper()
	tmp := t.TempDir()
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name   string
		dir    func(t *testing.T) string
		golden string
		kind   string
	}{
		{"bert-base-uncased/tokenizer.json", func(*testing.T) string { return "testdata/bert-base-uncased" }, "bert-base-uncased.jsonl", KindWordPiece},
		{"bert-base-uncased/vocab.txt", func(t *testing.T) string { return vocabOnly(t, "testdata/bert-base-uncased", "vocab.txt") }, "bert-base-uncased.jsonl", KindWordPiece},
		{"bert-base-cased/vocab.txt", func(*testing.T) string { return "testdata/bert-base-cased" }, "bert-base-cased.jsonl", KindWordPiece},
		{"roberta-base/vocab.json", func(*testing.T) string { return "testdata/roberta-base" }, "roberta-base.jsonl", KindBPE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := tt.dir(t)
			var tok *Tokenizer
			if strings.HasPrefix(dir, "testdata/") {
				tok = loadShared(t, dir)
			} else {
				var err error
				if tok, err = Load(dir); err != nil {
					t.Fatal(err)
				}
			}
			if tok.Kind() != tt.kind {
				t.Fatalf("Kind() = %q, want %q", tok.Kind(), tt.kind)
			}
			lines := readGolden(t, tt.golden)
			if len(lines) < 500 {
				t.Fatalf("%s has %d lines, want at least 500", tt.golden, len(lines))
			}
			failures := 0
			for i, g := range lines {
				if !checkGolden(t, tok, i+1, g) {
					failures++
				}
				if failures >= 10 {
					t.Fatal("too many failures")
				}
			}
		})
	}
}

// checkGolden compares one golden line, reporting the first difference.
func checkGolden(t *testing.T, tok *Tokenizer, line int, g golden) bool {
	t.Helper()
	pair := ""
	if g.Pair != nil {
		pair = *g.Pair
	}
	enc := tok.Encode(g.Input, pair, g.Pair != nil, g.MaxLength)
	ok := true
	report := func(what string, got, want any) {
		t.Errorf("line %d %q/%q max %d: %s\n got %v\nwant %v", line, g.Input, pair, g.MaxLength, what, got, want)
		ok = false
	}
	if !slices.Equal(enc.InputIDs, g.IDs) {
		report("input ids", tokensOf(tok, enc.InputIDs), g.Tokens)
		return false
	}
	if !slices.Equal(enc.TokenTypeIDs, g.TokenTypeIDs) {
		report("token type ids", enc.TokenTypeIDs, g.TokenTypeIDs)
	}
	if !slices.Equal(enc.AttentionMask, g.AttentionMask) {
		report("attention mask", enc.AttentionMask, g.AttentionMask)
	}
	if got := tokensOf(tok, enc.InputIDs); !sameTokens(tok, enc.InputIDs, got, g.Tokens) {
		report("tokens", got, g.Tokens)
	}
	if g.Pair == nil {
		if ids := tok.IDs(g.Input); !slices.Equal(ids, g.PieceIDs) {
			report("IDs", ids, g.PieceIDs)
		}
		if got := tok.Tokenize(g.Input); !sameTokens(tok, g.PieceIDs, got, g.Pieces) {
			report("Tokenize", got, g.Pieces)
		}
	}
	return ok
}

func tokensOf(tok *Tokenizer, ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = tok.Token(id)
	}
	return out
}

// sameTokens compares token strings. HF reports an added token that
// swallowed whitespace (RoBERTa's <mask>) with that whitespace; Tokenize
// reports the vocabulary entry.
func sameTokens(tok *Tokenizer, ids []int32, got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && !(tok.isAdded(ids[i]) && got[i] == strings.TrimSpace(want[i])) {
			return false
		}
	}
	return true
}
