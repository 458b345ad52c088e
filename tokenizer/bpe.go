package tokenizer

// bytePairs is HF's BPE model over GPT-2's byte-level alphabet.
type bytePairs struct {
	merges  map[uint64]merge // keyed by pairKey(left, right)
	byteIDs [256]int32       // id of each byte's alphabet symbol; -1 if the vocabulary lacks it
	cache   *wordCache
}

// merge is one line of merges.txt: its rank (the line's order, lower merges
// first) and the id of the merged symbol.
type merge struct {
	rank, id int32
}

func pairKey(left, right int32) uint64 {
	return uint64(uint32(left))<<32 | uint64(uint32(right))
}

// appendIDs appends the ids of one pre-tokenised piece (raw UTF-8 bytes).
//
// BPE applies the lowest-ranked merge among adjacent symbols, the leftmost
// on a tie, until none applies. Short pieces, nearly all of them, are
// scanned directly; long ones go through a heap as in HF, which keeps a
// 20 kB run without spaces linear-logarithmic instead of quadratic.
func (b *bytePairs) appendIDs(dst []int32, piece string, sc *scratch) []int32 {
	if ids, ok := b.cache.get(piece); ok {
		return append(dst, ids...)
	}
	syms := sc.syms[:0]
	for i := 0; i < len(piece); i++ {
		// Like HF without an unk token, a byte missing from the
		// vocabulary is skipped.
		if id := b.byteIDs[piece[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	if len(syms) <= 32 {
		syms = b.mergeScan(syms)
	} else {
		syms = b.mergeHeap(syms, sc)
	}
	sc.syms = syms
	b.cache.put(piece, syms)
	return append(dst, syms...)
}

func (b *bytePairs) mergeScan(syms []int32) []int32 {
	for len(syms) > 1 {
		best, bestMerge := -1, merge{}
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := b.merges[pairKey(syms[i], syms[i+1])]; ok && (best < 0 || m.rank < bestMerge.rank) {
				best, bestMerge = i, m
			}
		}
		if best < 0 {
			break
		}
		syms[best] = bestMerge.id
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	return syms
}

// candidate is a possible merge of the symbol at pos with the next live one.
type candidate struct {
	rank, pos, id int32
}

func (c candidate) less(d candidate) bool {
	return c.rank < d.rank || c.rank == d.rank && c.pos < d.pos
}

// mergeHeap merges in place over a linked list of symbols, taking merges
// from a min-heap of candidates and skipping those made stale by earlier
// merges.
func (b *bytePairs) mergeHeap(syms []int32, sc *scratch) []int32 {
	n := len(syms)
	next := make([]int32, n) // -1 ends the list; -2 marks a merged-away symbol
	prev := make([]int32, n)
	for i := range n {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	h := sc.heap[:0]
	push := func(pos int32) {
		r := next[pos]
		if r < 0 {
			return
		}
		if m, ok := b.merges[pairKey(syms[pos], syms[r])]; ok {
			h = heapPush(h, candidate{m.rank, pos, m.id})
		}
	}
	for i := range n - 1 {
		push(int32(i))
	}
	for len(h) > 0 {
		var c candidate
		c, h = heapPop(h)
		r := next[c.pos]
		if r < 0 {
			continue // merged away, or nothing to its right any more
		}
		if m, ok := b.merges[pairKey(syms[c.pos], syms[r])]; !ok || m.id != c.id || m.rank != c.rank {
			continue // a neighbour changed since this was queued
		}
		syms[c.pos] = c.id
		next[c.pos] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = c.pos
		}
		next[r] = -2
		if p := prev[c.pos]; p >= 0 {
			push(p)
		}
		push(c.pos)
	}
	sc.heap = h
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

func heapPush(h []candidate, c candidate) []candidate {
	h = append(h, c)
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h[i].less(h[parent]) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
	return h
}

func heapPop(h []candidate) (candidate, []candidate) {
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, small := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].less(h[small]) {
			small = l
		}
		if r < len(h) && h[r].less(h[small]) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	return top, h
}
