package model

import (
	"strings"
	"testing"
)

// TestBadBatch: malformed batches are errors that say what is wrong, not
// panics or garbage.
func TestBadBatch(t *testing.T) {
	c := tinyConfig("bert", "gelu", 2)
	m := randomModel(t, c, PreTraining, 1)
	ws := m.NewWorkspace(4, 6, 0)
	for _, tc := range []struct {
		name  string
		spoil func(b *Batch)
		want  string
	}{
		{"token id", func(b *Batch) { b.InputIDs[3] = int32(c.VocabSize) }, "outside vocab_size"},
		{"token type", func(b *Batch) { b.TokenTypeIDs[2] = 2 }, "outside type_vocab_size"},
		{"masked-LM label", func(b *Batch) { b.MLMLabels[1] = -5 }, "masked-LM label -5"},
		{"short masked-LM labels", func(b *Batch) { b.MLMLabels = b.MLMLabels[:5] }, "5 masked-LM labels"},
		{"next-sentence label", func(b *Batch) { b.NextSentenceLabels[2] = 2 }, "next-sentence label 2 of sequence 2"},
		{"short next-sentence labels", func(b *Batch) { b.NextSentenceLabels = b.NextSentenceLabels[:3] }, "3 next-sentence labels for 4"},
		{"too long", func(b *Batch) { b.T = 7 }, "exceeds the workspace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := randomBatch(c, 4, 6, 2, PreTraining)
			tc.spoil(b)
			if _, err := m.Forward(ws, b, Pass{}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
