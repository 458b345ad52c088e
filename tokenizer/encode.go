package tokenizer

// Encoding is one model input: ids with special tokens, segment ids and the
// attention mask, all of one length.
type Encoding struct {
	InputIDs      []int32
	TokenTypeIDs  []int32
	AttentionMask []int32
}

// Encode tokenises a sequence, or a pair of them when hasPair is set, adds
// the special tokens and truncates to maxLen ids in all, as transformers'
// tokenizer(text, pair, truncation=True, max_length=maxLen) does:
//
//	BERT:    [CLS] A [SEP] B [SEP]       token types 0…0 1…1
//	RoBERTa: <s> A </s></s> B </s>       token types all 0
//
// Truncation is HF's longest_first. maxLen <= 0 means DefaultMaxSeqLength,
// and maxLen never exceeds the model's own limit (MaxLength) when known. If
// maxLen leaves no room beyond the special tokens, the texts are dropped and
// the special tokens alone are returned.
func (t *Tokenizer) Encode(text, pair string, hasPair bool, maxLen int) Encoding {
	if maxLen <= 0 {
		maxLen = DefaultMaxSeqLength
	}
	if t.maxLength > 0 && maxLen > t.maxLength {
		maxLen = t.maxLength
	}
	// HF stops tokenising each text at the first word boundary at or past
	// maxLen tokens, before truncating; the lengths it then compares are
	// those capped ones, so the cap changes how a pair is split.
	sc := t.getScratch()
	defer t.scratch.Put(sc)
	sc.a = t.appendIDsWith(sc, sc.a[:0], text, maxLen)
	a, b := sc.a, []int32(nil)
	added := 2
	if hasPair {
		sc.b = t.appendIDsWith(sc, sc.b[:0], pair, maxLen)
		b = sc.b
		added = 3
		if t.robertaPairs {
			added = 4
		}
	}
	a, b = truncateLongestFirst(a, b, max(maxLen-added, 0))

	// One allocation holds all three rows.
	n := len(a) + len(b) + added
	buf := make([]int32, 3*n)
	enc := Encoding{
		InputIDs:      buf[0:0:n],
		TokenTypeIDs:  buf[n : 2*n : 2*n],
		AttentionMask: buf[2*n : 3*n : 3*n],
	}
	ids := append(enc.InputIDs, t.cls)
	ids = append(ids, a...)
	ids = append(ids, t.sep)
	if hasPair {
		if t.robertaPairs {
			ids = append(ids, t.sep)
		} else {
			for i := len(ids); i < n; i++ {
				enc.TokenTypeIDs[i] = 1
			}
		}
		ids = append(ids, b...)
		ids = append(ids, t.sep)
	}
	enc.InputIDs = ids
	for i := range enc.AttentionMask {
		enc.AttentionMask[i] = 1
	}
	return enc
}

// truncateLongestFirst cuts a and b to at most limit ids together the way HF
// tokenizers' LongestFirst does: if the shorter sequence fits in half the
// budget, only the longer one is cut, to what the shorter leaves; otherwise
// both are cut to half, the odd id going to the longer one (to the second
// when they are equally long).
func truncateLongestFirst(a, b []int32, limit int) ([]int32, []int32) {
	if len(a)+len(b) <= limit {
		return a, b
	}
	if b == nil {
		return a[:limit], b
	}
	short := min(len(a), len(b))
	switch {
	case 2*short <= limit && len(a) > len(b):
		return a[:limit-len(b)], b
	case 2*short <= limit:
		return a, b[:limit-len(a)]
	case len(a) > len(b):
		return a[:limit-limit/2], b[:limit/2]
	}
	return a[:limit/2], b[:limit-limit/2]
}
