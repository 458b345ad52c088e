package pretrain

import (
	"math/rand/v2"
	"sort"
)

// pairSampler makes BERT's next-sentence-prediction inputs from corpus
// lines (paragraphs): [CLS] A [SEP] B [SEP], where B is the line after A
// in its document (label 0, "is next") or, half of the time, a random line
// of another document (label 1), as create_pretraining_data.py and
// TextDatasetForNextSentencePrediction do with segments of sentences.
type pairSampler struct {
	lines  [][]uint16 // [CLS] … [SEP] each
	doc    []int      // document of each line
	maxLen int
}

func newPairSampler(lines [][]uint16, docStarts []int, maxLen int) *pairSampler {
	p := &pairSampler{lines: lines, doc: make([]int, len(lines)), maxLen: maxLen}
	for i := range lines {
		// The document is the last start at or before line i.
		p.doc[i] = sort.SearchInts(docStarts, i+1) - 1
	}
	return p
}

// anchors returns the lines that can be a first segment: those followed by
// another line of their document.
func (p *pairSampler) anchors() []int {
	var a []int
	for i := 0; i+1 < len(p.lines); i++ {
		if p.doc[i] == p.doc[i+1] {
			a = append(a, i)
		}
	}
	return a
}

// pair writes into buf the input whose first segment is line a and returns
// it with its label. The longer segment is cut from its end until the pair
// fits maxLen.
func (p *pairSampler) pair(buf []uint16, a int, rng *rand.Rand) ([]uint16, int32) {
	// Draw both numbers always, so the stream depends only on the seed.
	random, pick := rng.Float64() < 0.5, rng.IntN(len(p.lines))
	b, label := a+1, int32(0)
	if random {
		// A uniform line of another document: step past a's own document
		// rather than redraw, so one draw is always enough.
		for p.doc[pick] == p.doc[a] {
			pick = (pick + 1) % len(p.lines)
		}
		b, label = pick, 1
	}
	sa, sb := p.lines[a], p.lines[b]
	ta, tb := sa[1:len(sa)-1], sb[1:len(sb)-1] // without [CLS] and [SEP]
	for len(ta)+len(tb)+3 > p.maxLen {
		if len(ta) > len(tb) {
			ta = ta[:len(ta)-1]
		} else {
			tb = tb[:len(tb)-1]
		}
	}
	cls, sep := sa[0], sa[len(sa)-1]
	buf = append(buf[:0], cls)
	buf = append(buf, ta...)
	buf = append(buf, sep)
	buf = append(buf, tb...)
	return append(buf, sep), label
}
