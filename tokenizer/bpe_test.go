package tokenizer

import (
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestGPT2Pieces pins the pre-tokenisation pattern's semantics, look-ahead
// included. The expected pieces are what HF's ByteLevel pre-tokenizer gives.
func TestGPT2Pieces(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a   ", []string{"a", "   "}},
		{"a \t b", []string{"a", " \t", " b"}},
		{"a\tb", []string{"a", "\t", "b"}},
		{"a\t\tb", []string{"a", "\t", "\t", "b"}},
		{" ", []string{" "}},
		{"I'm you're we'VE 'll", []string{"I", "'m", " you", "'re", " we", "'", "VE", " '", "ll"}},
		{"x's!'s", []string{"x", "'s", "!'", "s"}},
		{"abc123 45 !?x", []string{"abc", "123", " 45", " !?", "x"}},
		{"½² ٣४", []string{"½²", " ٣४"}},
		{"été 中文", []string{"été", " 中文"}},
		{" \n", []string{" \n"}},
		{"x \ny", []string{"x", " ", "\n", "y"}},
	}
	for _, tt := range tests {
		var got []string
		for i := 0; i < len(tt.in); {
			end := gpt2Piece(tt.in, i)
			got = append(got, tt.in[i:end])
			i = end
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("pieces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMergeHeapMatchesScan checks the two merge loops against each other.
func TestMergeHeapMatchesScan(t *testing.T) {
	tok := loadShared(t, "testdata/roberta-base")
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "e", "r", "t", "h", "in", "the", "ing", "é", "1", "0", "!", "x", "z"}
	sc := new(scratch)
	for range 300 {
		var sb strings.Builder
		for range 1 + r.IntN(80) {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		var syms []int32
		for _, c := range []byte(sb.String()) {
			syms = append(syms, tok.bpe.byteIDs[c])
		}
		scan := tok.bpe.mergeScan(slices.Clone(syms))
		heap := tok.bpe.mergeHeap(slices.Clone(syms), sc)
		if !slices.Equal(scan, heap) {
			t.Fatalf("%q: scan %v, heap %v", sb.String(), scan, heap)
		}
	}
}

// TestConcurrent tokenises from many goroutines at once (run with -race).
func TestConcurrent(t *testing.T) {
	for _, dir := range []string{"testdata/bert-base-uncased", "testdata/roberta-base"} {
		tok := loadShared(t, dir)
		lines := readGolden(t, path.Base(dir)+".jsonl")[:200]
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range lines {
					l := lines[(i+g*25)%len(lines)]
					if l.Pair != nil {
						continue
					}
					if ids := tok.IDs(l.Input); !slices.Equal(ids, l.PieceIDs) {
						t.Errorf("%s: %q: %v, want %v", dir, l.Input, ids, l.PieceIDs)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
