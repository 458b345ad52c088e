package pretrain

import (
	"math/rand/v2"

	"github.com/subtune/subtune/model"
)

// Masker applies DataCollatorForLanguageModeling's masking.
type Masker struct {
	Prob              float64 // mlm_probability, 0.15
	MaskID            int32
	PadID             int32 // fills sequences shorter than the batch (line-by-line)
	VocabSize         int
	Special           map[int32]bool // never masked ([CLS], [SEP], [PAD])
	MaxMaskedPerBatch int            // workspace bound; extra picks are left unmasked
	// SegmentSep, when not zero, gives every token after a sequence's first
	// SegmentSep token type 1, so a [CLS] A [SEP] B [SEP] line gets BERT's
	// segment ids (padding stays 0). Line-by-line only: in blocks of
	// concatenated lines a [SEP] ends a line, not a segment.
	SegmentSep int32
}

// Mask fills b.InputIDs and b.MLMLabels from the sequences, with the random
// choices drawn from rng. Sequences shorter than b.T are padded on the right
// and their padding is neither attended to nor predicted.
func (mk *Masker) Mask(b *model.Batch, blocks [][]uint16, rng *rand.Rand) {
	T := b.T
	masked := 0
	for s, blk := range blocks {
		segment := int32(0)
		for t := 0; t < T; t++ {
			i := s*T + t
			b.MLMLabels[i] = model.IgnoreIndex
			if t >= len(blk) {
				b.InputIDs[i], b.AttentionMask[i], b.TokenTypeIDs[i] = mk.PadID, 0, 0
				continue
			}
			id := int32(blk[t])
			b.TokenTypeIDs[i] = segment
			if mk.SegmentSep != 0 && id == mk.SegmentSep {
				segment = 1 // the separator itself still belongs to segment A
			}
			b.InputIDs[i] = id
			b.AttentionMask[i] = 1
			// Draw every random number whether or not it is used, so the
			// stream stays aligned and masks depend only on the seed.
			pick, kind, random := rng.Float64(), rng.Float64(), int32(rng.IntN(mk.VocabSize))
			if mk.Special[id] || pick >= mk.Prob || masked >= mk.MaxMaskedPerBatch {
				continue
			}
			masked++
			b.MLMLabels[i] = id
			switch {
			case kind < 0.8:
				b.InputIDs[i] = mk.MaskID
			case kind < 0.9:
				b.InputIDs[i] = random
			}
		}
	}
}
