package tokenizer

// Batch is a padded batch of encodings, each field row-major with Batch rows
// of SeqLen columns.
type Batch struct {
	InputIDs      []int32
	TokenTypeIDs  []int32
	AttentionMask []int32
	Batch, SeqLen int
}

// PadBatch pads encs on the right to the longest among them (dynamic
// padding, as transformers' DataCollatorWithPadding): padID for input ids,
// 0 for token types and attention.
func PadBatch(encs []Encoding, padID int32) Batch {
	seqLen := 0
	for _, e := range encs {
		seqLen = max(seqLen, len(e.InputIDs))
	}
	b := Batch{
		InputIDs:      make([]int32, len(encs)*seqLen),
		TokenTypeIDs:  make([]int32, len(encs)*seqLen),
		AttentionMask: make([]int32, len(encs)*seqLen),
		Batch:         len(encs),
		SeqLen:        seqLen,
	}
	for i, e := range encs {
		row := b.InputIDs[i*seqLen : (i+1)*seqLen]
		n := copy(row, e.InputIDs)
		for j := n; j < seqLen; j++ {
			row[j] = padID
		}
		copy(b.TokenTypeIDs[i*seqLen:(i+1)*seqLen], e.TokenTypeIDs)
		copy(b.AttentionMask[i*seqLen:(i+1)*seqLen], e.AttentionMask)
	}
	return b
}
