package tokenizer

import (
	"slices"
	"testing"
)

func seq(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// TestTruncateLongestFirst pins HF's LongestFirst split (tokenizers'
// truncation.rs) on lengths already capped as Encode caps them.
func TestTruncateLongestFirst(t *testing.T) {
	tests := []struct {
		a, b, limit  int
		pair         bool
		wantA, wantB int
	}{
		{10, 0, 5, false, 5, 0},
		{3, 0, 5, false, 3, 0},
		{10, 0, 0, false, 0, 0},
		{3, 4, 7, true, 3, 4},  // fits
		{2, 8, 7, true, 2, 5},  // only the longer is cut
		{8, 2, 7, true, 5, 2},  // ... whichever it is
		{4, 4, 7, true, 3, 4},  // both cut: the second gets the odd one when equal
		{8, 4, 7, true, 4, 3},  // the longer gets the odd one
		{4, 8, 7, true, 3, 4},  //
		{8, 8, 7, true, 3, 4},  //
		{6, 4, 6, true, 3, 3},  // shorter over half the budget: both cut
		{0, 30, 5, true, 0, 5}, // empty first
		{30, 0, 5, true, 5, 0}, // empty second
		{9, 9, 0, true, 0, 0},  // no room at all
		{9, 3, 3, true, 2, 1},  // shorter over the budget
	}
	for _, tt := range tests {
		var b []int32
		if tt.pair {
			b = seq(tt.b)
		}
		a2, b2 := truncateLongestFirst(seq(tt.a), b, tt.limit)
		if len(a2) != tt.wantA || len(b2) != tt.wantB {
			t.Errorf("truncate(%d, %d, limit %d) = %d, %d; want %d, %d", tt.a, tt.b, tt.limit, len(a2), len(b2), tt.wantA, tt.wantB)
		}
	}
}

func TestEncodeLayout(t *testing.T) {
	bert := loadShared(t, "testdata/bert-base-uncased")
	roberta := loadShared(t, "testdata/roberta-base")
	tests := []struct {
		name    string
		tok     *Tokenizer
		a, b    string
		hasPair bool
		maxLen  int
		ids     []int32
		typeIDs []int32
	}{
		{"bert single", bert, "hello", "", false, 0, []int32{101, 7592, 102}, []int32{0, 0, 0}},
		{"bert pair", bert, "hello", "world", true, 0, []int32{101, 7592, 102, 2088, 102}, []int32{0, 0, 0, 1, 1}},
		{"bert empty pair", bert, "hello", "", true, 0, []int32{101, 7592, 102, 102}, []int32{0, 0, 0, 1}},
		{"bert no room", bert, "hello", "world", true, 2, []int32{101, 102, 102}, []int32{0, 0, 1}},
		{"roberta pair", roberta, "hello", "world", true, 0, []int32{0, 42891, 2, 2, 8331, 2}, []int32{0, 0, 0, 0, 0, 0}},
		{"roberta empty", roberta, "", "", false, 0, []int32{0, 2}, []int32{0, 0}},
	}
	for _, tt := range tests {
		enc := tt.tok.Encode(tt.a, tt.b, tt.hasPair, tt.maxLen)
		if !slices.Equal(enc.InputIDs, tt.ids) || !slices.Equal(enc.TokenTypeIDs, tt.typeIDs) {
			t.Errorf("%s: ids %v types %v, want %v %v", tt.name, enc.InputIDs, enc.TokenTypeIDs, tt.ids, tt.typeIDs)
		}
		for _, m := range enc.AttentionMask {
			if m != 1 {
				t.Errorf("%s: attention mask %v, want all ones", tt.name, enc.AttentionMask)
				break
			}
		}
	}
}

func TestPadBatch(t *testing.T) {
	encs := []Encoding{
		{InputIDs: []int32{0, 5, 2}, TokenTypeIDs: []int32{0, 0, 0}, AttentionMask: []int32{1, 1, 1}},
		{InputIDs: []int32{0, 5, 6, 7, 2}, TokenTypeIDs: []int32{0, 0, 0, 1, 1}, AttentionMask: []int32{1, 1, 1, 1, 1}},
		{InputIDs: []int32{0, 2}, TokenTypeIDs: []int32{0, 0}, AttentionMask: []int32{1, 1}},
	}
	b := PadBatch(encs, 1)
	want := Batch{
		InputIDs:      []int32{0, 5, 2, 1, 1, 0, 5, 6, 7, 2, 0, 2, 1, 1, 1},
		TokenTypeIDs:  []int32{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0},
		AttentionMask: []int32{1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},
		Batch:         3,
		SeqLen:        5,
	}
	if b.Batch != want.Batch || b.SeqLen != want.SeqLen || !slices.Equal(b.InputIDs, want.InputIDs) ||
		!slices.Equal(b.TokenTypeIDs, want.TokenTypeIDs) || !slices.Equal(b.AttentionMask, want.AttentionMask) {
		t.Errorf("PadBatch = %+v\nwant %+v", b, want)
	}
	if e := PadBatch(nil, 0); e.Batch != 0 || e.SeqLen != 0 || len(e.InputIDs) != 0 {
		t.Errorf("PadBatch(nil) = %+v", e)
	}
}

// TestInvalidUTF8 pins what HF cannot show: each bad byte reads as U+FFFD,
// which BERT's cleaning drops and byte-level BPE encodes.
func TestInvalidUTF8(t *testing.T) {
	bert := loadShared(t, "testdata/bert-base-uncased")
	if got, want := bert.Tokenize("a\xffb"), bert.Tokenize("a\uFFFDb"); !slices.Equal(got, want) {
		t.Errorf("bert: %v, want %v", got, want)
	}
	roberta := loadShared(t, "testdata/roberta-base")
	if got, want := roberta.IDs("a\xff\xfeb"), roberta.IDs("a\uFFFD\uFFFDb"); !slices.Equal(got, want) {
		t.Errorf("roberta: %v, want %v", got, want)
	}
}
